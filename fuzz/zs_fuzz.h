/* The libFuzzer entry point every target defines (and standalone_main.c calls). */
#ifndef ZS_FUZZ_H
#define ZS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
