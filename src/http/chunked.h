/*
 * Strict decoder of the chunked transfer coding (RFC 9112 §7.1). http-parser is lenient
 * here: it takes any two bytes after a chunk's data as its CRLF, a bare LF after the last
 * chunk, and blanks after a chunk size; a proxy in front that reads those bytes otherwise
 * would see other requests than we do (smuggling). So the server lets http-parser read the
 * request head only and decodes the body with this.
 *
 * Accepted: chunk-size in hex (leading zeros allowed), chunk extensions after ';' (any
 * visible characters, spaces and tabs up to the CRLF, ignored), CRLF exactly after the size
 * line, after each chunk's data and after the last chunk; trailer fields (token ':' value
 * CRLF, ignored); the final CRLF. Anything else is an error, and the error names it.
 *
 * Pure: no allocation, no I/O; a decoder is a plain struct the caller owns. Any thread.
 */
#ifndef ZS_HTTP_CHUNKED_H
#define ZS_HTTP_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

struct zs_chunked {
    int state;
    uint64_t left;     /* data bytes left in this chunk, or the size being read */
    size_t digits;     /* hex digits of this size (after leading zeros) */
    size_t meta;       /* bytes of extensions and trailers so far (bounded) */
    size_t line;       /* bytes of this trailer line */
    const char *error; /* the reason, once zs_chunked_feed returned ZS_CHUNKED_ERROR */
};

enum zs_chunked_rc {
    ZS_CHUNKED_MORE,  /* everything consumed, the body goes on */
    ZS_CHUNKED_DONE,  /* the body ended: *consumed bytes were its last ones */
    ZS_CHUNKED_ERROR, /* malformed (d->error says how); stop reading this connection */
    ZS_CHUNKED_LIMIT  /* too large: extensions and trailers beyond meta_max bytes, a chunk
                         size beyond 2^60, or on_data refused the bytes */
};

/* RFC 9110 token character (header names, trailer names). */
static inline int zs_http_is_tchar(unsigned char ch)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
        return 1;
    for (const char *e = extra; *e; e++)
        if ((unsigned char)*e == ch)
            return 1;
    return 0;
}

/* Data bytes of the body, in order, as they are decoded; non-zero stops the decoder
 * (zs_chunked_feed returns ZS_CHUNKED_LIMIT). */
typedef int (*zs_chunked_data_fn)(void *ctx, const char *p, size_t n);

void zs_chunked_init(struct zs_chunked *d);

/*
 * Decode p[0..n): body bytes go to on_data; *consumed is set to the bytes read (all of them
 * with ZS_CHUNKED_MORE; up to the end of the body with ZS_CHUNKED_DONE; where it stopped
 * otherwise). meta_max bounds extension and trailer bytes of the whole body. Once DONE or
 * an error is returned the decoder must be initialized again before further use.
 */
enum zs_chunked_rc zs_chunked_feed(struct zs_chunked *d, const char *p, size_t n, size_t meta_max,
                                   zs_chunked_data_fn on_data, void *ctx, size_t *consumed);

#endif
