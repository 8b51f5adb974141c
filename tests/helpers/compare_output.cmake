# Fails when `EXE help-config` differs from the committed DOC (docs/CONFIG.md).
execute_process(COMMAND ${EXE} help-config OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "help-config exited ${rc}")
endif()
file(READ ${DOC} doc)
if(NOT out STREQUAL doc)
  message(FATAL_ERROR "${DOC} is stale: regenerate it with `zerobus-station help-config > docs/CONFIG.md`")
endif()
