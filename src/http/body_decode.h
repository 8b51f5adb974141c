/*
 * Content-Encoding of request bodies: gzip (and x-gzip), deflate (zlib format, or raw
 * deflate as some clients send it), zstd. Streaming decompression into a buffer that
 * stops at a cap: a decompression bomb costs at most max_out bytes (and the time to make
 * them). Pure: no I/O; any thread.
 */
#ifndef ZS_HTTP_BODY_DECODE_H
#define ZS_HTTP_BODY_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/zs_buf.h"
#include "core/zs_err.h"

enum zs_body_coding { ZS_CODING_IDENTITY, ZS_CODING_GZIP, ZS_CODING_DEFLATE, ZS_CODING_ZSTD };

/*
 * The coding a Content-Encoding value names (case-insensitive, blanks around ignored).
 * Returns 0, or -1 for anything else (a list of codings included): 415.
 */
int zs_body_coding_parse(const uint8_t *v, size_t len, enum zs_body_coding *out);

/*
 * Decode in[0..len) into out (reset first; its own max is not the cap: max_out is).
 * Returns ZS_OK; ZS_ELIMIT once more than max_out bytes would be produced (413);
 * ZS_EPARSE for corrupt or truncated data, or bytes after the end of the stream (400);
 * ZS_ENOMEM. *why says which, for the error body.
 */
ZS_MUST_CHECK zs_rc zs_body_decode(enum zs_body_coding coding, const uint8_t *in, size_t len,
                                   size_t max_out, struct zs_buf *out, const char **why);

#endif
