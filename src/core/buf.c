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

zs_rc zs_buf_json_str(struct zs_buf *b, const void *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = s;
    zs_rc rc = zs_buf_append(b, "\"", 1);
    for (size_t i = 0; i < n && rc == ZS_OK; i++) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            rc = zs_buf_append(b, e, 2);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            rc = zs_buf_append(b, e, 6);
        } else {
            rc = zs_buf_append(b, &p[i], 1);
        }
    }
    return rc == ZS_OK ? zs_buf_append(b, "\"", 1) : rc;
}

zs_rc zs_buf_base64(struct zs_buf *b, const void *in, size_t n)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const uint8_t *p = in;
    zs_rc rc = zs_buf_reserve(b, (n + 2) / 3 * 4 + 1);
    if (rc != ZS_OK)
        return rc;
    char *o = (char *)b->data + b->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = t[v >> 18];
        *o++ = t[(v >> 12) & 63];
        *o++ = t[(v >> 6) & 63];
        *o++ = t[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        *o++ = t[v >> 18];
        *o++ = t[(v >> 12) & 63];
        *o++ = i + 1 < n ? t[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o = '\0';
    b->len = (size_t)(o - (char *)b->data);
    return ZS_OK;
}
