/* zs_buf: capped growable buffer. Thread: owner only. */
#include "core/zs_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/zs_mem.h"

void zs_buf_init(struct zs_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void zs_buf_release(struct zs_buf *b)
{
    zs_free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

zs_rc zs_buf_reserve(struct zs_buf *b, size_t more)
{
    size_t need;
    if (__builtin_add_overflow(b->len, more, &need) || need > b->max)
        return ZS_ELIMIT;
    if (need <= b->cap)
        return ZS_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > b->max / 2 ? b->max : cap * 2;
    if (cap > b->max)
        cap = b->max; /* still >= need, which is <= max */
    uint8_t *p = zs_realloc(b->data, cap);
    if (p == NULL)
        return ZS_ENOMEM;
    b->data = p;
    b->cap = cap;
    return ZS_OK;
}

zs_rc zs_buf_append(struct zs_buf *b, const void *p, size_t n)
{
    zs_rc rc = zs_buf_reserve(b, n);
    if (rc != ZS_OK)
        return rc;
    if (n != 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return ZS_OK;
}

zs_rc zs_buf_puts(struct zs_buf *b, const char *s)
{
    return zs_buf_append(b, s, strlen(s));
}

zs_rc zs_buf_printf(struct zs_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return ZS_EINTERNAL;
    zs_rc rc = zs_buf_reserve(b, (size_t)n + 1);
    if (rc != ZS_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return ZS_OK;
}

const char *zs_buf_cstr(struct zs_buf *b)
{
    if (zs_buf_reserve(b, 1) != ZS_OK)
        return NULL;
    b->data[b->len] = '\0';
    return (const char *)b->data;
}

char *zs_put(char *p, const void *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

char *zs_put_u64(char *p, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return zs_put(p, tmp + i, sizeof tmp - i);
}
