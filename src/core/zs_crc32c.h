/*
 * CRC-32C (Castagnoli), as in iSCSI, ext4 and LevelDB: the spool's frame and header check.
 * SSE4.2's crc32 instruction when the CPU has it, else slicing-by-8 tables.
 * Thread: any; pure.
 */
#ifndef ZS_CRC32C_H
#define ZS_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extend crc (0 to start) over n bytes of p. zs_crc32c(0, "123456789", 9) == 0xe3069283. */
uint32_t zs_crc32c(uint32_t crc, const void *p, size_t n);

#endif
