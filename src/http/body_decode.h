/*
 * Content-Encoding of request bodies: gzip (and x-gzip), deflate (zlib format, or raw
 * deflate as some clients send it), zstd. Streaming decompression, piece by piece as the
 * body arrives, into a buffer that stops at a cap: a decompression bomb costs at most
 * max_out bytes (and the time to make them). Pure: no I/O; a decoder is used by one thread
 * at a time.
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
 * A body decoded as it arrives: init, feed each piece of the body as it is read, finish
 * after the last one; release in every case (after an error too). Output is appended to
 * out, never past max_out bytes in all: the compressed bytes are not kept. Returns of
 * init: ZS_OK or ZS_ENOMEM. Of feed and finish: ZS_OK; ZS_ELIMIT once more than max_out
 * bytes would be produced (413); ZS_EPARSE for corrupt data, bytes after the end of the
 * stream, or (finish) a stream that is not over: truncated (400); ZS_ENOMEM. *why says
 * which, for the error body. After an error only release may be called.
 */
struct zs_body_decoder {
    enum zs_body_coding coding;
    size_t max_out;
    int started; /* zlib or zstd state is set up (deflate: at its first byte) */
    int done;    /* gzip/deflate: the end of the stream was read */
    size_t hint; /* zstd: 0 at the end of a frame */
    void *z;     /* z_stream or ZSTD_DCtx */
};

ZS_MUST_CHECK zs_rc zs_body_decoder_init(struct zs_body_decoder *d, enum zs_body_coding coding,
                                         size_t max_out);
ZS_MUST_CHECK zs_rc zs_body_decoder_feed(struct zs_body_decoder *d, const uint8_t *in, size_t len,
                                         struct zs_buf *out, const char **why);
ZS_MUST_CHECK zs_rc zs_body_decoder_finish(struct zs_body_decoder *d, const char **why);
void zs_body_decoder_release(struct zs_body_decoder *d);

/* The whole of in[0..len) at once into out (reset first): init, feed, finish. */
ZS_MUST_CHECK zs_rc zs_body_decode(enum zs_body_coding coding, const uint8_t *in, size_t len,
                                   size_t max_out, struct zs_buf *out, const char **why);

#endif
