/*
 * zs_buf: a growable byte buffer with a ceiling (curl's dynbuf), and zs_slice,
 * a borrowed view into bytes owned elsewhere.
 * A zs_buf owns data; growing past max is ZS_ELIMIT, never an unbounded realloc.
 * Thread: owned by one thread at a time.
 */
#ifndef ZS_BUF_H
#define ZS_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "core/zs_rc.h"

struct zs_slice {
    const uint8_t *ptr; /* borrowed */
    size_t len;
};

struct zs_buf {
    uint8_t *data; /* owned; NULL until first growth */
    size_t len;    /* bytes in use */
    size_t cap;    /* bytes allocated */
    size_t max;    /* ceiling for cap */
};

/* Empty buffer that may grow up to max bytes. Allocates nothing. */
void zs_buf_init(struct zs_buf *b, size_t max);

/* Free the data; the buffer is empty and usable again (same max). */
void zs_buf_release(struct zs_buf *b);

/* Make room for `more` bytes beyond len. ZS_OK, ZS_ELIMIT (past max), ZS_ENOMEM. */
ZS_MUST_CHECK zs_rc zs_buf_reserve(struct zs_buf *b, size_t more);

/* Append n bytes (copied). ZS_OK, ZS_ELIMIT, ZS_ENOMEM; on error b is unchanged. */
ZS_MUST_CHECK zs_rc zs_buf_append(struct zs_buf *b, const void *p, size_t n);

/* Append a NUL-terminated string without its NUL. Same returns as zs_buf_append. */
ZS_MUST_CHECK zs_rc zs_buf_puts(struct zs_buf *b, const char *s);

/* Append printf-formatted text (no NUL counted). Same returns as zs_buf_append. */
ZS_MUST_CHECK zs_rc zs_buf_printf(struct zs_buf *b, const char *fmt, ...) ZS_PRINTF(2, 3);

/* Append s[0..n) as a JSON string: quoted, '"' '\\' and control bytes escaped (other
 * bytes as they are). Same returns as zs_buf_append; on error b may hold part of it. */
ZS_MUST_CHECK zs_rc zs_buf_json_str(struct zs_buf *b, const void *s, size_t n);

/* Append the standard base64 (with '=' padding) of p[0..n), NUL-terminated (the NUL not
 * counted in len). Same returns as zs_buf_append; on error b is unchanged. */
ZS_MUST_CHECK zs_rc zs_buf_base64(struct zs_buf *b, const void *p, size_t n);

/* Ensure data[len] == '\0' (not counted in len) and return data as a C string. NULL on error. */
const char *zs_buf_cstr(struct zs_buf *b);

/*
 * Writing into a fixed array where snprintf costs too much (response heads and bodies on
 * the hot path): the caller has checked the room. Each returns the end of what it wrote.
 */
char *zs_put(char *p, const void *s, size_t n);
#define ZS_PUT_LIT(p, lit) zs_put((p), (lit), sizeof(lit) - 1)
char *zs_put_u64(char *p, uint64_t v); /* decimal, at most 20 bytes */

#endif
