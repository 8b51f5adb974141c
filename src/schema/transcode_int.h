/* Transcoder internals shared with schema compilation (frame sizes). Thread: any. */
#ifndef ZS_TRANSCODE_INT_H
#define ZS_TRANSCODE_INT_H

#include <stddef.h>
#include <stdint.h>

/* Where one field's encoding sits in the output, to restore field-number order. */
struct zs_tc_span {
    uint32_t number;
    uint32_t start; /* offset in the output buffer */
    uint32_t end;
};

/* Scratch for one message frame: the "seen" bitmap plus one span per field, 8-aligned. */
static inline size_t zs_tc__frame_bytes(size_t nfields)
{
    size_t b = ((nfields + 63) / 64) * 8 + nfields * sizeof(struct zs_tc_span);
    return (b + 7) & ~(size_t)7;
}

#endif
