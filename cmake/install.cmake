# cmake --install: the programs, their man pages (made from --help at build time), the
# documentation, an example configuration, the systemd unit; cpack -G DEB packages the same
# (docs/DEPLOY.md). Configure with -DCMAKE_INSTALL_PREFIX=/usr for a system install: the
# configuration then goes to /etc/zerobus-station (GNUInstallDirs maps /usr to /etc).
set(ZS_DOCDIR ${CMAKE_INSTALL_DATAROOTDIR}/doc/zerobus-station)

set(ZS_MAN ${CMAKE_BINARY_DIR}/man)
add_custom_command(
  OUTPUT ${ZS_MAN}/zerobus-station.1 ${ZS_MAN}/zerobus-emulator.1
  COMMAND ${CMAKE_COMMAND} -E make_directory ${ZS_MAN}
  COMMAND sh ${PROJECT_SOURCE_DIR}/scripts/help2man.sh $<TARGET_FILE:zerobus-station>
          zerobus-station 1 ${ZS_MAN}/zerobus-station.1
          "HTTP/JSON gateway to Databricks Zerobus Ingest"
  COMMAND sh ${PROJECT_SOURCE_DIR}/scripts/help2man.sh $<TARGET_FILE:zerobus-emulator>
          zerobus-emulator 1 ${ZS_MAN}/zerobus-emulator.1
          "a local Zerobus Ingest server (gRPC, OAuth, Unity Catalog) for tests and demos"
  DEPENDS zerobus-station zerobus-emulator ${PROJECT_SOURCE_DIR}/scripts/help2man.sh
  COMMENT "man pages from --help" VERBATIM)
add_custom_target(man ALL DEPENDS ${ZS_MAN}/zerobus-station.1 ${ZS_MAN}/zerobus-emulator.1)
install(FILES ${ZS_MAN}/zerobus-station.1 ${ZS_MAN}/zerobus-emulator.1
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

install(FILES README.md docs/ARCHITECTURE.md docs/BENCHMARKS.md docs/CONFIG.md
              docs/DEPLOY.md docs/EMULATOR.md docs/ERRORS.md docs/SPOOL.md docs/TYPES.md
        DESTINATION ${ZS_DOCDIR})
install(FILES examples/config.json examples/rows.ndjson contrib/haproxy.cfg
              contrib/grafana/zerobus-station.json
        DESTINATION ${ZS_DOCDIR}/examples)
install(FILES contrib/systemd/zerobus-station.service
        DESTINATION ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
# The example configuration as the system's, unless one is there (a .deb conffile).
install(FILES examples/config.json DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/zerobus-station)

set(CPACK_PACKAGE_NAME zerobus-station)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "zerobus-station")
set(CPACK_PACKAGE_CONTACT "zerobus-station maintainers <zerobus-station@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "HTTP/JSON gateway to Databricks Zerobus Ingest")
set(CPACK_PACKAGE_DESCRIPTION
    "Devices, apps and services POST JSON; the station validates each record against its\n"
    "Delta table's schema, spools it durably and streams it to Zerobus over persistent gRPC\n"
    "streams. Includes zerobus-emulator, a local Zerobus for tests and demos.")
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/zerobus-station/zerobus-station")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/contrib/debian/conffiles)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
include(CPack)
