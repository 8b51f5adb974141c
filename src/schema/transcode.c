/*
 * JSON → protobuf transcoder (see zs_transcode.h and docs/TYPES.md).
 *
 * A recursive-descent parser whose recursion follows the schema (and VARIANT values),
 * capped by max_json_depth. Each message keeps a frame in the transcoder's scratch:
 * a bitmap of fields seen (duplicates, NOT NULL checks) and the output span of each
 * field, so fields given out of order are put back in field-number order at the end.
 * Length prefixes of nested values are reserved as one byte and widened in place.
 * Thread: the transcoder's owner.
 */
#include "schema/zs_transcode.h"

#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/zs_mem.h"
#include "schema/schema_int.h"
#include "schema/transcode_int.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define COLD __attribute__((cold, noinline))

#define PATH_MAX_DEPTH 256 /* max_json_depth is capped to this by the config */

struct zs_transcoder {
    uint8_t *scratch; /* message frames; sized to the schema before each call */
    size_t scratch_cap;
    struct zs_buf tmp;  /* reordering copies, number text for strtod */
    struct zs_buf keys; /* map keys of open maps, for duplicate detection */
    struct zs_buf keyidx;
};

enum path_kind { P_FIELD, P_INDEX, P_KEY };

struct path_el {
    enum path_kind kind;
    const char *s; /* P_FIELD: name; P_KEY: raw key text (escaped form) */
    size_t len;
    size_t index;
};

struct ctx {
    const uint8_t *p, *end, *start;
    struct zs_buf *out;
    size_t limit; /* out->len may not pass this */
    size_t base;  /* out->len when the record started; spans are relative to it */
    const struct zs_schema *s;
    struct zs_transcoder *tc;
    struct zs_err *err;
    unsigned depth;
    unsigned npath;
    struct path_el path[PATH_MAX_DEPTH + 2];
};

/* ---------------------------------------------------------------- errors */

/* Fixed-size text for error paths; output past the end is dropped. */
struct ptext {
    char s[ZS_ERR_WHERE_MAX];
    size_t n;
};

static void pt_add(struct ptext *t, const char *fmt, ...) ZS_PRINTF(2, 3);
static void pt_add(struct ptext *t, const char *fmt, ...)
{
    if (t->n >= sizeof t->s - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(t->s + t->n, sizeof t->s - t->n, fmt, ap);
    va_end(ap);
    if (w > 0)
        t->n = t->n + (size_t)w < sizeof t->s ? t->n + (size_t)w : sizeof t->s - 1;
}

static void put_path_name(struct ptext *t, const char *s, size_t len, int raw_key)
{
    int ident = len > 0 && !(s[0] >= '0' && s[0] <= '9');
    for (size_t i = 0; i < len && ident; i++) {
        char ch = s[i];
        ident = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                ch == '_';
    }
    if (ident) {
        pt_add(t, ".%.*s", (int)(len > 64 ? 64 : len), s);
        return;
    }
    pt_add(t, "[\"");
    for (size_t i = 0; i < len && i < 64; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' && !raw_key)
            pt_add(t, "\\\"");
        else if (ch < 0x20 || ch == 0x7f)
            pt_add(t, "\\u%04x", ch);
        else
            pt_add(t, "%c", ch);
    }
    pt_add(t, len > 64 ? "...\"]" : "\"]");
}

static COLD zs_rc failv(struct ctx *c, zs_rc code, const char *fmt, va_list ap)
{
    if (c->err == NULL)
        return code;
    struct ptext t = {.n = 0};
    pt_add(&t, "$");
    for (unsigned i = 0; i < c->npath; i++) {
        const struct path_el *e = &c->path[i];
        if (e->kind == P_INDEX)
            pt_add(&t, "[%zu]", e->index);
        else
            put_path_name(&t, e->s, e->len, e->kind == P_KEY);
    }
    zs_err_vset(c->err, code, t.s, fmt, ap);
    return code;
}

static COLD zs_rc fail(struct ctx *c, zs_rc code, const char *fmt, ...) ZS_PRINTF(3, 4);
static COLD zs_rc fail(struct ctx *c, zs_rc code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    zs_rc rc = failv(c, code, fmt, ap);
    va_end(ap);
    return rc;
}

static COLD zs_rc fail_syntax(struct ctx *c, const char *what)
{
    size_t off = (size_t)(c->p - c->start);
    if (c->p >= c->end)
        return fail(c, ZS_EPARSE, "invalid JSON: unexpected end of input, expected %s", what);
    unsigned char ch = *c->p;
    if (ch >= 0x21 && ch < 0x7f)
        return fail(c, ZS_EPARSE, "invalid JSON at byte %zu: expected %s, found '%c'", off, what,
                    ch);
    return fail(c, ZS_EPARSE, "invalid JSON at byte %zu: expected %s, found byte 0x%02x", off, what,
                ch);
}

static const char *json_kind(const uint8_t *p, const uint8_t *end)
{
    if (p >= end)
        return "nothing";
    switch (*p) {
    case '"':
        return "a string";
    case '{':
        return "an object";
    case '[':
        return "an array";
    case 't':
        return (end - p >= 4 && memcmp(p, "true", 4) == 0) ? "a boolean" : "an invalid token";
    case 'f':
        return (end - p >= 5 && memcmp(p, "false", 5) == 0) ? "a boolean" : "an invalid token";
    case 'n':
        return (end - p >= 4 && memcmp(p, "null", 4) == 0) ? "null" : "an invalid token";
    default:
        return (*p == '-' || (*p >= '0' && *p <= '9')) ? "a number" : "an invalid token";
    }
}

static COLD zs_rc fail_type(struct ctx *c, const char *want)
{
    if (strcmp(json_kind(c->p, c->end), "an invalid token") == 0)
        return fail_syntax(c, "a JSON value");
    return fail(c, ZS_ESCHEMA, "expected %s, got %s", want, json_kind(c->p, c->end));
}

/* ---------------------------------------------------------------- output */

/*
 * Writers reserve a little more than they write (at most RESERVE_SLACK bytes), so the
 * running check allows that slack and zs_transcode_at checks the exact size at the end.
 */
#define RESERVE_SLACK 64

static COLD zs_rc fail_too_big(struct ctx *c)
{
    return fail(c, ZS_ELIMIT, "record is larger than max_record_bytes (%zu) once encoded",
                c->s->max_record_bytes);
}

static COLD zs_rc grow(struct ctx *c, size_t n)
{
    struct zs_buf *b = c->out;
    if (b->len + n > c->limit + RESERVE_SLACK)
        return fail_too_big(c);
    zs_rc rc = zs_buf_reserve(b, n);
    if (rc == ZS_ELIMIT)
        return fail(c, ZS_ELIMIT, "encoded records exceed the output buffer (%zu bytes)", b->max);
    if (rc != ZS_OK)
        return fail(c, rc, "out of memory");
    return ZS_OK;
}

static inline zs_rc need(struct ctx *c, size_t n)
{
    struct zs_buf *b = c->out;
    if (likely(b->cap - b->len >= n && b->len + n <= c->limit + RESERVE_SLACK))
        return ZS_OK;
    return grow(c, n);
}

static inline zs_rc put_tag(struct ctx *c, const struct zs_field *f)
{
    zs_rc rc = need(c, sizeof f->tag); /* the copy below is always 5 bytes */
    if (unlikely(rc != ZS_OK))
        return rc;
    memcpy(c->out->data + c->out->len, f->tag, 5);
    c->out->len += f->tag_len;
    return ZS_OK;
}

static inline zs_rc put_varint(struct ctx *c, uint64_t v)
{
    zs_rc rc = need(c, 10);
    if (unlikely(rc != ZS_OK))
        return rc;
    c->out->len += zs_varint_put(c->out->data + c->out->len, v);
    return ZS_OK;
}

static inline zs_rc put_fixed(struct ctx *c, uint64_t v, unsigned n)
{
    zs_rc rc = need(c, 8);
    if (unlikely(rc != ZS_OK))
        return rc;
    uint8_t *d = c->out->data + c->out->len;
    for (unsigned i = 0; i < n; i++)
        d[i] = (uint8_t)(v >> (8 * i));
    c->out->len += n;
    return ZS_OK;
}

/* Reserve a one-byte length prefix; returns its offset through *at. */
static inline zs_rc len_begin(struct ctx *c, size_t *at)
{
    zs_rc rc = need(c, 1);
    if (unlikely(rc != ZS_OK))
        return rc;
    *at = c->out->len++;
    return ZS_OK;
}

/* Write the length of what followed the prefix at `at`, widening it if needed. */
static zs_rc len_end(struct ctx *c, size_t at)
{
    size_t clen = c->out->len - at - 1;
    unsigned vl = zs_varint_len(clen);
    if (vl > 1) {
        zs_rc rc = need(c, vl - 1);
        if (rc != ZS_OK)
            return rc;
        memmove(c->out->data + at + vl, c->out->data + at + 1, clen);
        c->out->len += vl - 1;
    }
    zs_varint_put(c->out->data + at, clen);
    return ZS_OK;
}

/* ---------------------------------------------------------------- lexing */

static inline void skip_ws(struct ctx *c)
{
    const uint8_t *p = c->p, *end = c->end;
    /* JSON blanks are all <= ' ': one compare rejects every other byte. */
    while (p < end && *p <= ' ' && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    c->p = p;
}

static inline int expect(struct ctx *c, char ch)
{
    skip_ws(c);
    if (likely(c->p < c->end && *c->p == ch)) {
        c->p++;
        return 1;
    }
    return 0;
}

static inline int hexval(uint8_t h)
{
    if (h >= '0' && h <= '9')
        return h - '0';
    h |= 0x20;
    if (h >= 'a' && h <= 'f')
        return h - 'a' + 10;
    return -1;
}

static int read_hex4(const uint8_t *p, const uint8_t *end, unsigned *out)
{
    if (end - p < 4)
        return 0;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return 0;
        v = (v << 4) | (unsigned)h;
    }
    *out = v;
    return 1;
}

/* Length of the valid UTF-8 sequence at p (first byte >= 0x80), or 0 if invalid. */
static inline unsigned utf8_seq(const uint8_t *p, const uint8_t *end)
{
    uint8_t b0 = p[0];
    size_t left = (size_t)(end - p);
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        return (left >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
    }
    if (b0 >= 0xE0 && b0 <= 0xEF) {
        if (left < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if (b0 == 0xE0 && p[1] < 0xA0)
            return 0; /* overlong */
        if (b0 == 0xED && p[1] >= 0xA0)
            return 0; /* surrogate */
        return 3;
    }
    if (b0 >= 0xF0 && b0 <= 0xF4) {
        if (left < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if (b0 == 0xF0 && p[1] < 0x90)
            return 0; /* overlong */
        if (b0 == 0xF4 && p[1] >= 0x90)
            return 0; /* > U+10FFFF */
        return 4;
    }
    return 0;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Nonzero if any of the 8 bytes is '"', '\\', < 0x20 or >= 0x80. */
static inline uint64_t special8(uint64_t v)
{
    uint64_t q = v ^ (ONES * '"');
    uint64_t bs = v ^ (ONES * '\\');
    uint64_t lt = v - ONES * 0x20;
    return ((q - ONES) & ~q) | ((bs - ONES) & ~bs) | (lt & ~v) | v;
}

struct jstr {
    const uint8_t *s, *e; /* raw content, between the quotes */
    int escaped;          /* contains backslash escapes */
};

/*
 * Scan a string starting at the opening quote: checks UTF-8, control characters and
 * escapes. Leaves c->p after the closing quote.
 */
static zs_rc scan_string(struct ctx *c, struct jstr *js)
{
    const uint8_t *p = c->p + 1, *end = c->end;
    js->s = p;
    js->escaped = 0;
    for (;;) {
        while (end - p >= 8) {
            uint64_t v;
            memcpy(&v, p, 8);
            uint64_t m = special8(v) & HIGHS;
            if (m != 0) { /* the lowest flagged byte is a true hit (borrows only go up) */
                p += __builtin_ctzll(m) >> 3;
                break;
            }
            p += 8;
        }
        if (p >= end) {
            c->p = p;
            return fail_syntax(c, "'\"' closing the string");
        }
        uint8_t ch = *p;
        if (ch == '"') {
            js->e = p;
            c->p = p + 1;
            return ZS_OK;
        }
        if (ch == '\\') {
            js->escaped = 1;
            if (end - p < 2) {
                c->p = p + 1;
                return fail_syntax(c, "an escape sequence");
            }
            uint8_t e = p[1];
            if (e == 'u') {
                unsigned u;
                if (!read_hex4(p + 2, end, &u)) {
                    c->p = p;
                    return fail(c, ZS_EPARSE, "invalid JSON at byte %zu: bad \\u escape",
                                (size_t)(p - c->start));
                }
                p += 6;
                if (u >= 0xD800 && u <= 0xDBFF) {
                    unsigned lo;
                    if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || !read_hex4(p + 2, end, &lo) ||
                        lo < 0xDC00 || lo > 0xDFFF) {
                        c->p = p;
                        return fail(c, ZS_ESCHEMA,
                                    "string has an unpaired UTF-16 surrogate \\u%04X (byte %zu)", u,
                                    (size_t)(p - c->start));
                    }
                    p += 6;
                } else if (u >= 0xDC00 && u <= 0xDFFF) {
                    c->p = p;
                    return fail(c, ZS_ESCHEMA,
                                "string has an unpaired UTF-16 surrogate \\u%04X (byte %zu)", u,
                                (size_t)(p - c->start));
                }
                continue;
            }
            if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
                e == 't') {
                p += 2;
                continue;
            }
            c->p = p;
            return fail(c, ZS_EPARSE, "invalid JSON at byte %zu: unknown escape '\\%c'",
                        (size_t)(p - c->start), e >= 0x20 && e < 0x7f ? e : '?');
        }
        if (ch < 0x20) {
            c->p = p;
            return fail(c, ZS_EPARSE,
                        "invalid JSON at byte %zu: control character 0x%02x must be escaped",
                        (size_t)(p - c->start), ch);
        }
        if (ch < 0x80) {
            p++;
            continue;
        }
        unsigned n = utf8_seq(p, end);
        if (n == 0) {
            c->p = p;
            return fail(c, ZS_ESCHEMA, "string is not valid UTF-8 (byte %zu)",
                        (size_t)(p - c->start));
        }
        p += n;
    }
}

/* Is the scanned string exactly the unescaped literal lit? */
static inline int jstr_is(const struct jstr *js, const char *lit)
{
    size_t n = strlen(lit);
    return !js->escaped && (size_t)(js->e - js->s) == n && memcmp(js->s, lit, n) == 0;
}

/* Decode a scanned, escaped string into dst (room for e - s bytes); returns bytes written. */
static size_t unescape(const struct jstr *js, uint8_t *dst)
{
    const uint8_t *p = js->s;
    uint8_t *d = dst;
    while (p < js->e) {
        if (*p != '\\') {
            *d++ = *p++;
            continue;
        }
        uint8_t e = p[1];
        p += 2;
        switch (e) {
        case 'b':
            *d++ = '\b';
            break;
        case 'f':
            *d++ = '\f';
            break;
        case 'n':
            *d++ = '\n';
            break;
        case 'r':
            *d++ = '\r';
            break;
        case 't':
            *d++ = '\t';
            break;
        case 'u': {
            unsigned u = 0, lo = 0xDC00; /* validated by scan_string already */
            (void)read_hex4(p, js->e, &u);
            p += 4;
            if (u >= 0xD800 && u <= 0xDBFF) {
                (void)read_hex4(p + 2, js->e, &lo);
                p += 6;
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (u < 0x80) {
                *d++ = (uint8_t)u;
            } else if (u < 0x800) {
                *d++ = (uint8_t)(0xC0 | (u >> 6));
                *d++ = (uint8_t)(0x80 | (u & 0x3F));
            } else if (u < 0x10000) {
                *d++ = (uint8_t)(0xE0 | (u >> 12));
                *d++ = (uint8_t)(0x80 | ((u >> 6) & 0x3F));
                *d++ = (uint8_t)(0x80 | (u & 0x3F));
            } else {
                *d++ = (uint8_t)(0xF0 | (u >> 18));
                *d++ = (uint8_t)(0x80 | ((u >> 12) & 0x3F));
                *d++ = (uint8_t)(0x80 | ((u >> 6) & 0x3F));
                *d++ = (uint8_t)(0x80 | (u & 0x3F));
            }
            break;
        }
        default: /* '"', '\\', '/' */
            *d++ = e;
            break;
        }
    }
    return (size_t)(d - dst);
}

/* Write a length-delimited string value (tag already written). */
static zs_rc put_jstr(struct ctx *c, const struct jstr *js)
{
    size_t raw = (size_t)(js->e - js->s);
    zs_rc rc = need(c, raw + 10);
    if (unlikely(rc != ZS_OK))
        return rc;
    uint8_t *d = c->out->data + c->out->len;
    if (likely(!js->escaped)) {
        unsigned vl = zs_varint_put(d, raw);
        memcpy(d + vl, js->s, raw);
        c->out->len += vl + raw;
        return ZS_OK;
    }
    /* Decoded text is never longer than the raw text: decode after a prefix sized for raw. */
    unsigned vl = zs_varint_len(raw);
    size_t n = unescape(js, d + vl);
    unsigned nl = zs_varint_len(n);
    if (nl < vl)
        memmove(d + nl, d + vl, n);
    zs_varint_put(d, n);
    c->out->len += nl + n;
    return ZS_OK;
}

/* ---------------------------------------------------------------- numbers */

struct jnum {
    const uint8_t *s, *e;             /* whole literal */
    const uint8_t *is, *ie, *fs, *fe; /* integer and fraction digits */
    int neg;
    long exp;      /* exponent, clamped to +-1000000 */
    uint64_t mant; /* the first 19 significant digits (integer and fraction) */
    int sig;       /* significant digits seen (may exceed 19) */
};

static inline void mant_digit(struct jnum *n, unsigned d)
{
    if (n->sig == 0 && d == 0)
        return; /* leading zeros are not significant */
    if (n->sig < 19)
        n->mant = n->mant * 10 + d;
    n->sig++;
}

/* Scan a JSON number at [p, end) strictly; returns 0 if not a valid number. */
static int scan_number_at(const uint8_t *p, const uint8_t *end, struct jnum *n)
{
    n->s = p;
    n->neg = 0;
    n->exp = 0;
    n->mant = 0;
    n->sig = 0;
    if (p < end && *p == '-') {
        n->neg = 1;
        p++;
    }
    n->is = p;
    if (p < end && *p == '0') {
        p++;
    } else if (p < end && *p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9')
            mant_digit(n, (unsigned)(*p++ - '0'));
    } else {
        return 0;
    }
    n->ie = p;
    n->fs = n->fe = p;
    if (p < end && *p == '.') {
        p++;
        n->fs = p;
        while (p < end && *p >= '0' && *p <= '9')
            mant_digit(n, (unsigned)(*p++ - '0'));
        n->fe = p;
        if (n->fe == n->fs)
            return 0;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        if (p >= end || *p < '0' || *p > '9')
            return 0;
        long e = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            if (e < 1000000)
                e = e * 10 + (*p - '0');
            p++;
        }
        n->exp = eneg ? -e : e;
    }
    n->e = p;
    return 1;
}

static zs_rc scan_number(struct ctx *c, struct jnum *n)
{
    if (!scan_number_at(c->p, c->end, n)) {
        return fail_syntax(c, "a number");
    }
    c->p = n->e;
    return ZS_OK;
}

enum { NUM_OK, NUM_FRACTION, NUM_RANGE };

/* Exact integer value of n in [-2^63, 2^63-1]. */
static int num_to_i64(const struct jnum *n, int64_t *out)
{
    size_t il = (size_t)(n->ie - n->is), fl = (size_t)(n->fe - n->fs);
    if (fl == 0 && n->exp == 0 && n->sig <= 18) { /* plain integer: the common case */
        *out = n->neg ? -(int64_t)n->mant : (int64_t)n->mant;
        return NUM_OK;
    }
    size_t total = il + fl;
    long shift = n->exp - (long)fl;  /* value = digits * 10^shift */
    long keep = (long)total + shift; /* digits before the decimal point */
    uint64_t v = 0;
    int nonzero_seen = 0;
    for (size_t i = 0; i < total; i++) {
        uint8_t ch = i < il ? n->is[i] : n->fs[i - il];
        unsigned d = (unsigned)(ch - '0');
        if ((long)i >= keep) {
            if (d != 0)
                return NUM_FRACTION;
            continue;
        }
        if (d != 0)
            nonzero_seen = 1;
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, d, &v))
            return NUM_RANGE;
    }
    for (long i = (long)total; i < keep && nonzero_seen; i++)
        if (__builtin_mul_overflow(v, 10, &v))
            return NUM_RANGE;
    if (n->neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return NUM_RANGE;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return NUM_RANGE;
        *out = (int64_t)v;
    }
    return NUM_OK;
}

static const double pow10_tab[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static zs_rc num_to_double(struct ctx *c, const struct jnum *n, double *out)
{
    /* Clinger's fast path: <= 15 significant digits and |10^k| <= 1e22 is exact. */
    long e = n->exp - (long)(n->fe - n->fs);
    if (n->sig <= 15 && e >= -22 && e <= 22) {
        double v = (double)n->mant;
        v = e >= 0 ? v * pow10_tab[e] : v / pow10_tab[-e];
        *out = n->neg ? -v : v;
        return ZS_OK;
    }
    struct zs_buf *t = &c->tc->tmp;
    t->len = 0;
    if (zs_buf_append(t, n->s, (size_t)(n->e - n->s)) != ZS_OK || zs_buf_cstr(t) == NULL)
        return fail(c, ZS_ENOMEM, "out of memory");
    *out = strtod((const char *)t->data, NULL);
    return ZS_OK;
}

/* ---------------------------------------------------------------- scalars */

static const struct {
    int64_t lo, hi;
} int_range[] = {
    [ZS_TYPE_TINYINT] = {-128, 127},
    [ZS_TYPE_SMALLINT] = {-32768, 32767},
    [ZS_TYPE_INT] = {INT32_MIN, INT32_MAX},
    [ZS_TYPE_BIGINT] = {INT64_MIN, INT64_MAX},
    [ZS_TYPE_DATE] = {INT32_MIN, INT32_MAX},
    [ZS_TYPE_TIMESTAMP] = {INT64_MIN, INT64_MAX},
    [ZS_TYPE_TIMESTAMP_NTZ] = {INT64_MIN, INT64_MAX},
};

/* Integer from a JSON number, or from a string holding one (the original accepted "25"). */
static zs_rc read_int(struct ctx *c, enum zs_type_kind kind, const char *what, int64_t *out)
{
    struct jnum n;
    const uint8_t *at = c->p;
    if (*c->p == '"') {
        struct jstr js;
        zs_rc rc = scan_string(c, &js);
        if (rc != ZS_OK)
            return rc;
        if (js.escaped || !scan_number_at(js.s, js.e, &n) || n.e != js.e) {
            c->p = at;
            return fail(c, ZS_ESCHEMA, "expected %s, got a string that is not a number", what);
        }
    } else if (*c->p == '-' || (*c->p >= '0' && *c->p <= '9')) {
        zs_rc rc = scan_number(c, &n);
        if (rc != ZS_OK)
            return rc;
    } else {
        return fail_type(c, what);
    }
    int64_t v = 0;
    int r = num_to_i64(&n, &v);
    if (r == NUM_FRACTION)
        return fail(c, ZS_ESCHEMA, "expected %s, got %.*s (has a fractional part)", what,
                    (int)(n.e - n.s > 40 ? 40 : n.e - n.s), (const char *)n.s);
    if (r == NUM_RANGE || v < int_range[kind].lo || v > int_range[kind].hi)
        return fail(c, ZS_ESCHEMA, "%.*s is out of range for %s (%lld..%lld)",
                    (int)(n.e - n.s > 40 ? 40 : n.e - n.s), (const char *)n.s,
                    zs_type_kind_name(kind), (long long)int_range[kind].lo,
                    (long long)int_range[kind].hi);
    *out = v;
    return ZS_OK;
}

static int lit(struct ctx *c, const char *word, size_t len)
{
    if ((size_t)(c->end - c->p) >= len && memcmp(c->p, word, len) == 0) {
        c->p += len;
        return 1;
    }
    return 0;
}

static zs_rc read_double(struct ctx *c, enum zs_type_kind kind, double *out)
{
    const char *what = kind == ZS_TYPE_FLOAT ? "a number (FLOAT)" : "a number (DOUBLE)";
    struct jnum n;
    const uint8_t *at = c->p;
    if (*c->p == '"') {
        struct jstr js;
        zs_rc rc = scan_string(c, &js);
        if (rc != ZS_OK)
            return rc;
        if (jstr_is(&js, "NaN") || jstr_is(&js, "Infinity") || jstr_is(&js, "-Infinity")) {
            *out = js.s[0] == 'N' ? NAN : js.s[0] == '-' ? -INFINITY : INFINITY;
            return ZS_OK;
        }
        if (js.escaped || !scan_number_at(js.s, js.e, &n) || n.e != js.e) {
            c->p = at;
            return fail(c, ZS_ESCHEMA,
                        "expected %s, got a string that is not a number, NaN or Infinity", what);
        }
    } else if (*c->p == '-' || (*c->p >= '0' && *c->p <= '9')) {
        zs_rc rc = scan_number(c, &n);
        if (rc != ZS_OK)
            return rc;
    } else {
        return fail_type(c, what);
    }
    zs_rc rc = num_to_double(c, &n, out);
    if (rc != ZS_OK)
        return rc;
    int big = isinf(*out) || (kind == ZS_TYPE_FLOAT && isinf((float)*out));
    if (big)
        return fail(c, ZS_ESCHEMA, "%.*s is out of range for %s",
                    (int)(n.e - n.s > 40 ? 40 : n.e - n.s), (const char *)n.s,
                    zs_type_kind_name(kind));
    return ZS_OK;
}

static zs_rc read_bool(struct ctx *c, int *out)
{
    if (lit(c, "true", 4)) {
        *out = 1;
        return ZS_OK;
    }
    if (lit(c, "false", 5)) {
        *out = 0;
        return ZS_OK;
    }
    const uint8_t *at = c->p;
    if (*c->p == '"') {
        struct jstr js;
        zs_rc rc = scan_string(c, &js);
        if (rc != ZS_OK)
            return rc;
        if (jstr_is(&js, "true") || jstr_is(&js, "false")) {
            *out = js.s[0] == 't';
            return ZS_OK;
        }
        c->p = at;
        return fail(c, ZS_ESCHEMA,
                    "expected a boolean, got a string other than \"true\"/\"false\"");
    }
    if (*c->p == '0' || *c->p == '1') {
        struct jnum n;
        if (scan_number_at(c->p, c->end, &n) && n.e - n.s == 1) {
            *out = *c->p == '1';
            c->p++;
            return ZS_OK;
        }
    }
    return fail_type(c, "a boolean (true or false)");
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits_at(const uint8_t *p, const uint8_t *end, int n, unsigned *out)
{
    if (end - p < n)
        return 0;
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    *out = v;
    return 1;
}

/* "YYYY-MM-DD" at p; returns days since the epoch through *days, 0 on failure. */
static int parse_date(const uint8_t *p, const uint8_t *end, int64_t *days)
{
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y, m, d;
    if (!digits_at(p, end, 4, &y) || end - p < 10 || p[4] != '-' || !digits_at(p + 5, end, 2, &m) ||
        p[7] != '-' || !digits_at(p + 8, end, 2, &d))
        return 0;
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap)
        return 0;
    *days = days_from_civil(y, m, d);
    return 1;
}

static zs_rc read_date(struct ctx *c, int64_t *out)
{
    if (*c->p != '"')
        return read_int(c, ZS_TYPE_DATE, "a date (\"YYYY-MM-DD\" or days since 1970-01-01)", out);
    const uint8_t *at = c->p;
    struct jstr js;
    zs_rc rc = scan_string(c, &js);
    if (rc != ZS_OK)
        return rc;
    if (js.e - js.s != 10 || !parse_date(js.s, js.e, out)) {
        c->p = at;
        return fail(c, ZS_ESCHEMA, "expected a date \"YYYY-MM-DD\" (year 0001..9999), got \"%.*s\"",
                    (int)(js.e - js.s > 40 ? 40 : js.e - js.s), (const char *)js.s);
    }
    return ZS_OK;
}

/* RFC 3339 date-time → microseconds; ntz: no offset allowed (wall-clock value). */
static const char *parse_timestamp(const uint8_t *p, const uint8_t *end, int ntz, int64_t *out)
{
    int64_t days;
    unsigned hh, mi, ss;
    if (!parse_date(p, end, &days))
        return "expected an RFC 3339 date-time (\"2024-05-01T12:30:00Z\") or epoch microseconds";
    p += 10;
    if (p >= end || (*p != 'T' && *p != 't' && *p != ' '))
        return "expected 'T' and a time after the date";
    p++;
    if (!digits_at(p, end, 2, &hh) || end - p < 8 || p[2] != ':' ||
        !digits_at(p + 3, end, 2, &mi) || p[5] != ':' || !digits_at(p + 6, end, 2, &ss))
        return "expected the time as hh:mm:ss";
    if (hh > 23 || mi > 59 || ss > 59)
        return "time of day out of range";
    p += 8;
    int64_t frac_us = 0;
    if (p < end && *p == '.') {
        p++;
        int nd = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            if (nd < 6)
                frac_us = frac_us * 10 + (*p - '0');
            nd++;
            p++;
        }
        if (nd == 0 || nd > 9)
            return "fractional seconds need 1 to 9 digits";
        for (int i = nd; i < 6; i++)
            frac_us *= 10;
    }
    int64_t off_s = 0;
    if (p < end && (*p == 'Z' || *p == 'z')) {
        if (ntz)
            return "TIMESTAMP_NTZ takes a local date-time without 'Z' or offset";
        p++;
    } else if (p < end && (*p == '+' || *p == '-')) {
        if (ntz)
            return "TIMESTAMP_NTZ takes a local date-time without 'Z' or offset";
        int neg = *p == '-';
        unsigned oh, om;
        if (!digits_at(p + 1, end, 2, &oh) || end - p < 6 || p[3] != ':' ||
            !digits_at(p + 4, end, 2, &om) || oh > 23 || om > 59)
            return "UTC offset must be +hh:mm or -hh:mm";
        off_s = (int64_t)(oh * 3600 + om * 60) * (neg ? -1 : 1);
        p += 6;
    } else if (!ntz) {
        return "missing UTC offset: end the date-time with 'Z' or +hh:mm";
    }
    if (p != end)
        return "unexpected text after the date-time";
    int64_t secs = days * 86400 + hh * 3600 + mi * 60 + ss - off_s;
    *out = secs * 1000000 + frac_us;
    return NULL;
}

static zs_rc read_timestamp(struct ctx *c, enum zs_type_kind kind, int64_t *out)
{
    if (*c->p != '"')
        return read_int(c, kind, "a timestamp (RFC 3339 text or epoch microseconds)", out);
    const uint8_t *at = c->p;
    struct jstr js;
    zs_rc rc = scan_string(c, &js);
    if (rc != ZS_OK)
        return rc;
    const char *why = js.escaped ? "escaped characters are not allowed in a timestamp"
                                 : parse_timestamp(js.s, js.e, kind == ZS_TYPE_TIMESTAMP_NTZ, out);
    if (why != NULL) {
        c->p = at;
        return fail(c, ZS_ESCHEMA, "%s: \"%.*s\"", why, (int)(js.e - js.s > 40 ? 40 : js.e - js.s),
                    (const char *)js.s);
    }
    return ZS_OK;
}

static int b64val(uint8_t ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+' || ch == '-')
        return 62;
    if (ch == '/' || ch == '_')
        return 63;
    return -1;
}

/* BINARY: base64 (standard or URL-safe alphabet, padding optional). */
static zs_rc put_base64(struct ctx *c)
{
    const uint8_t *at = c->p;
    if (*c->p != '"')
        return fail_type(c, "a base64 string (BINARY)");
    struct jstr js;
    zs_rc rc = scan_string(c, &js);
    if (rc != ZS_OK)
        return rc;
    size_t l = (size_t)(js.e - js.s);
    while (l > 0 && js.s[l - 1] == '=' && (size_t)(js.e - js.s) - l < 2)
        l--;
    if (js.escaped || l % 4 == 1 || ((size_t)(js.e - js.s) != l && (js.e - js.s) % 4 != 0)) {
        c->p = at;
        return fail(c, ZS_ESCHEMA, "BINARY value is not valid base64");
    }
    size_t outlen = l / 4 * 3 + (l % 4 ? l % 4 - 1 : 0);
    if ((rc = need(c, outlen + 10)) != ZS_OK)
        return rc;
    uint8_t *d = c->out->data + c->out->len;
    d += zs_varint_put(d, outlen);
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < l; i++) {
        int v = b64val(js.s[i]);
        if (v < 0) {
            c->p = at;
            return fail(c, ZS_ESCHEMA, "BINARY value is not valid base64 (character %zu)", i);
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            *d++ = (uint8_t)(acc >> bits);
        }
    }
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
        c->p = at;
        return fail(c, ZS_ESCHEMA, "BINARY value is not valid base64 (non-zero padding bits)");
    }
    c->out->len = (size_t)(d - c->out->data);
    return ZS_OK;
}

/* DECIMAL(p,s): number or numeric string → canonical text with exactly s fraction digits. */
static zs_rc put_decimal(struct ctx *c, const struct zs_type *t)
{
    const uint8_t *at = c->p;
    struct jnum n;
    if (*c->p == '"') {
        struct jstr js;
        zs_rc rc = scan_string(c, &js);
        if (rc != ZS_OK)
            return rc;
        if (js.escaped || !scan_number_at(js.s, js.e, &n) || n.e != js.e) {
            c->p = at;
            return fail(c, ZS_ESCHEMA, "expected a decimal number, got a string that is not one");
        }
    } else if (*c->p == '-' || (*c->p >= '0' && *c->p <= '9')) {
        zs_rc rc = scan_number(c, &n);
        if (rc != ZS_OK)
            return rc;
    } else {
        return fail_type(c, "a decimal number or numeric string");
    }
    size_t il = (size_t)(n.ie - n.is), fl = (size_t)(n.fe - n.fs);
    long total = (long)(il + fl);
    long point = (long)il + n.exp; /* digits before the decimal point */
    /* Significant range: first and last nonzero digit. */
    long first = -1, last = -1;
    for (long i = 0; i < total; i++) {
        uint8_t ch = i < (long)il ? n.is[i] : n.fs[i - (long)il];
        if (ch != '0') {
            if (first < 0)
                first = i;
            last = i;
        }
    }
    unsigned p = t->precision, s = t->scale;
    long int_digits = first < 0 || first >= point ? 0 : point - first;
    long frac_digits = last < 0 || last < point ? 0 : last - point + 1;
    if (frac_digits > (long)s)
        return fail(c, ZS_ESCHEMA,
                    "%.*s has more than %u digits after the point for DECIMAL(%u,%u)",
                    (int)(n.e - n.s > 40 ? 40 : n.e - n.s), (const char *)n.s, s, p, s);
    if (int_digits > (long)(p - s))
        return fail(c, ZS_ESCHEMA,
                    "%.*s has more than %u digits before the point for DECIMAL(%u,%u)",
                    (int)(n.e - n.s > 40 ? 40 : n.e - n.s), (const char *)n.s, p - s, p, s);
    /* Text: [-] int digits (or 0) [. s digits]; at most 1 + 38 + 1 bytes + 10 of prefix. */
    zs_rc rc = need(c, 64);
    if (rc != ZS_OK)
        return rc;
    char txt[48];
    size_t k = 0;
    if (n.neg && first >= 0)
        txt[k++] = '-';
    if (int_digits == 0)
        txt[k++] = '0';
    for (long i = point - int_digits; i < point; i++) {
        long src = i; /* digit index in the literal; outside it is zero */
        txt[k++] =
            (char)(src >= 0 && src < total ? (src < (long)il ? n.is[src] : n.fs[src - (long)il])
                                           : '0');
    }
    if (s > 0) {
        txt[k++] = '.';
        for (long i = point; i < point + (long)s; i++)
            txt[k++] =
                (char)(i >= 0 && i < total ? (i < (long)il ? n.is[i] : n.fs[i - (long)il]) : '0');
    }
    uint8_t *d = c->out->data + c->out->len;
    d += zs_varint_put(d, k);
    memcpy(d, txt, k);
    c->out->len = (size_t)(d + k - c->out->data);
    return ZS_OK;
}

/* ---------------------------------------------------------------- any JSON value */

/* Validate (and with emit, copy compactly) one JSON value of any shape: VARIANT / skipping. */
static zs_rc any_value(struct ctx *c, int emit)
{
    skip_ws(c);
    if (c->p >= c->end)
        return fail_syntax(c, "a JSON value");
    const uint8_t *at = c->p;
    zs_rc rc;
    switch (*c->p) {
    case '{':
    case '[': {
        uint8_t close = *c->p == '{' ? '}' : ']';
        int obj = close == '}';
        if (++c->depth > c->s->max_depth)
            return fail(c, ZS_ELIMIT, "nesting deeper than max_json_depth (%u)", c->s->max_depth);
        c->p++;
        if (emit && (rc = need(c, 1)) == ZS_OK)
            c->out->data[c->out->len++] = *at;
        else if (emit)
            return rc;
        if (!expect(c, (char)close)) {
            for (;;) {
                if (obj) {
                    skip_ws(c);
                    if (c->p >= c->end || *c->p != '"')
                        return fail_syntax(c, "a string key");
                    const uint8_t *ks = c->p;
                    struct jstr js;
                    if ((rc = scan_string(c, &js)) != ZS_OK)
                        return rc;
                    if (!expect(c, ':'))
                        return fail_syntax(c, "':'");
                    if (emit) {
                        size_t kl = (size_t)(c->p - ks - 1);
                        while (ks[kl - 1] != '"')
                            kl--; /* drop blanks before ':' */
                        if ((rc = need(c, kl + 1)) != ZS_OK)
                            return rc;
                        memcpy(c->out->data + c->out->len, ks, kl);
                        c->out->len += kl;
                        c->out->data[c->out->len++] = ':';
                    }
                }
                if ((rc = any_value(c, emit)) != ZS_OK)
                    return rc;
                skip_ws(c);
                if (c->p < c->end && *c->p == ',') {
                    c->p++;
                    if (emit && (rc = need(c, 1)) == ZS_OK)
                        c->out->data[c->out->len++] = ',';
                    else if (emit)
                        return rc;
                    continue;
                }
                if (c->p < c->end && *c->p == close) {
                    c->p++;
                    break;
                }
                return fail_syntax(c, obj ? "',' or '}'" : "',' or ']'");
            }
        }
        if (emit && (rc = need(c, 1)) == ZS_OK)
            c->out->data[c->out->len++] = close;
        else if (emit)
            return rc;
        c->depth--;
        return ZS_OK;
    }
    case '"': {
        struct jstr js;
        if ((rc = scan_string(c, &js)) != ZS_OK)
            return rc;
        break;
    }
    case 't':
        if (!lit(c, "true", 4))
            return fail_syntax(c, "a JSON value");
        break;
    case 'f':
        if (!lit(c, "false", 5))
            return fail_syntax(c, "a JSON value");
        break;
    case 'n':
        if (!lit(c, "null", 4))
            return fail_syntax(c, "a JSON value");
        break;
    default: {
        struct jnum n;
        if ((rc = scan_number(c, &n)) != ZS_OK)
            return rc;
        break;
    }
    }
    if (emit) {
        size_t l = (size_t)(c->p - at);
        if ((rc = need(c, l)) != ZS_OK)
            return rc;
        memcpy(c->out->data + c->out->len, at, l);
        c->out->len += l;
    }
    return ZS_OK;
}

/* ---------------------------------------------------------------- values by type */

static zs_rc parse_object(struct ctx *c, const struct zs_struct *st, uint8_t *frame);

/* Encode the payload of one value of type t (its tag is already written). */
static zs_rc put_value(struct ctx *c, const struct zs_type *t, uint8_t *frame)
{
    zs_rc rc;
    int64_t iv;
    double dv;
    int bv;
    switch (t->kind) {
    case ZS_TYPE_TINYINT:
    case ZS_TYPE_SMALLINT:
    case ZS_TYPE_INT:
    case ZS_TYPE_BIGINT:
        if ((rc = read_int(c, t->kind, "an integer", &iv)) != ZS_OK)
            return rc;
        return put_varint(c, (uint64_t)iv);
    case ZS_TYPE_DATE:
        if ((rc = read_date(c, &iv)) != ZS_OK)
            return rc;
        return put_varint(c, (uint64_t)iv);
    case ZS_TYPE_TIMESTAMP:
    case ZS_TYPE_TIMESTAMP_NTZ:
        if ((rc = read_timestamp(c, t->kind, &iv)) != ZS_OK)
            return rc;
        return put_varint(c, (uint64_t)iv);
    case ZS_TYPE_FLOAT: {
        if ((rc = read_double(c, t->kind, &dv)) != ZS_OK)
            return rc;
        float f = (float)dv;
        uint32_t u;
        memcpy(&u, &f, 4);
        return put_fixed(c, u, 4);
    }
    case ZS_TYPE_DOUBLE: {
        if ((rc = read_double(c, t->kind, &dv)) != ZS_OK)
            return rc;
        uint64_t u;
        memcpy(&u, &dv, 8);
        return put_fixed(c, u, 8);
    }
    case ZS_TYPE_BOOLEAN:
        if ((rc = read_bool(c, &bv)) != ZS_OK)
            return rc;
        return put_varint(c, (uint64_t)bv);
    case ZS_TYPE_STRING: {
        if (*c->p != '"')
            return fail_type(c, "a string");
        struct jstr js;
        if ((rc = scan_string(c, &js)) != ZS_OK)
            return rc;
        return put_jstr(c, &js);
    }
    case ZS_TYPE_BINARY:
        return put_base64(c);
    case ZS_TYPE_DECIMAL:
        return put_decimal(c, t);
    case ZS_TYPE_VARIANT: {
        size_t at;
        if ((rc = len_begin(c, &at)) != ZS_OK || (rc = any_value(c, 1)) != ZS_OK)
            return rc;
        return len_end(c, at);
    }
    case ZS_TYPE_STRUCT: {
        if (*c->p != '{')
            return fail_type(c, "an object");
        size_t at;
        if ((rc = len_begin(c, &at)) != ZS_OK || (rc = parse_object(c, t->st, frame)) != ZS_OK)
            return rc;
        return len_end(c, at);
    }
    case ZS_TYPE_ARRAY:
    case ZS_TYPE_MAP:
        break; /* handled by put_field */
    }
    return fail(c, ZS_EINTERNAL, "unhandled type");
}

static zs_rc enter(struct ctx *c)
{
    if (unlikely(++c->depth > c->s->max_depth))
        return fail(c, ZS_ELIMIT, "nesting deeper than max_json_depth (%u)", c->s->max_depth);
    return ZS_OK;
}

static zs_rc put_array(struct ctx *c, const struct zs_field *f, uint8_t *frame)
{
    if (*c->p != '[')
        return fail_type(c, "an array");
    zs_rc rc = enter(c);
    if (rc != ZS_OK)
        return rc;
    c->p++;
    struct path_el *pe = &c->path[c->npath++];
    pe->kind = P_INDEX;
    pe->index = 0;
    if (!expect(c, ']')) {
        for (;;) {
            skip_ws(c);
            if (c->p >= c->end)
                return fail_syntax(c, "an array element");
            if (*c->p == 'n' && lit(c, "null", 4))
                return fail(c, ZS_ESCHEMA, "null array elements cannot be encoded in protobuf");
            if ((rc = put_tag(c, f)) != ZS_OK || (rc = put_value(c, f->type->elem, frame)) != ZS_OK)
                return rc;
            skip_ws(c);
            if (c->p < c->end && *c->p == ',') {
                c->p++;
                pe->index++;
                continue;
            }
            if (c->p < c->end && *c->p == ']') {
                c->p++;
                break;
            }
            return fail_syntax(c, "',' or ']'");
        }
    }
    c->npath--;
    c->depth--;
    return ZS_OK;
}

/* Map key text (decoded) → protobuf key field 1 of the entry. */
static zs_rc put_map_key(struct ctx *c, const struct zs_type *kt, const struct jstr *js,
                         const uint8_t *kraw)
{
    enum zs_type_kind k = kt->kind;
    zs_rc rc;
    if (k == ZS_TYPE_STRING) {
        if ((rc = need(c, 1)) != ZS_OK)
            return rc;
        c->out->data[c->out->len++] = (1 << 3) | ZS_WT_LEN;
        return put_jstr(c, js);
    }
    if (js->s == js->e)
        return fail(c, ZS_ESCHEMA, "empty map key for %s keys", zs_type_kind_name(k));
    if (k == ZS_TYPE_BOOLEAN && !jstr_is(js, "true") && !jstr_is(js, "false"))
        return fail(c, ZS_ESCHEMA, "map key is not a BOOLEAN (\"true\" or \"false\")");
    if (!js->escaped && k != ZS_TYPE_BOOLEAN && k != ZS_TYPE_DATE && k != ZS_TYPE_TIMESTAMP &&
        k != ZS_TYPE_TIMESTAMP_NTZ && *js->s != '-' && !(*js->s >= '0' && *js->s <= '9'))
        return fail(c, ZS_ESCHEMA, "map key is not an integer (%s keys)", zs_type_kind_name(k));
    /* Non-string keys are parsed from the key text as a JSON value would be. */
    const uint8_t *save_p = c->p, *save_end = c->end;
    int quoted = k == ZS_TYPE_DATE || k == ZS_TYPE_TIMESTAMP || k == ZS_TYPE_TIMESTAMP_NTZ;
    c->p = quoted ? kraw : js->s;
    c->end = quoted ? js->e + 1 : js->e;
    int64_t iv = 0;
    int bv = 0;
    if (js->escaped)
        rc = fail(c, ZS_ESCHEMA, "map key must not contain escapes for %s keys",
                  zs_type_kind_name(k));
    else if (k == ZS_TYPE_BOOLEAN)
        rc = read_bool(c, &bv);
    else if (k == ZS_TYPE_DATE)
        rc = read_date(c, &iv);
    else if (quoted)
        rc = read_timestamp(c, k, &iv);
    else
        rc = read_int(c, k, "an integer map key", &iv);
    if (rc == ZS_OK && c->p != c->end)
        rc = fail(c, ZS_ESCHEMA, "map key is not a valid %s", zs_type_kind_name(k));
    c->p = save_p;
    c->end = save_end;
    if (rc != ZS_OK)
        return rc;
    if ((rc = need(c, 11)) != ZS_OK)
        return rc;
    c->out->data[c->out->len++] = (1 << 3) | ZS_WT_VARINT;
    return put_varint(c, k == ZS_TYPE_BOOLEAN ? (uint64_t)bv : (uint64_t)iv);
}

struct keyref {
    uint32_t off, len;
};

static int keyref_cmp(const void *a, const void *b, void *base)
{
    const struct keyref *x = a, *y = b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return memcmp((const uint8_t *)base + x->off, (const uint8_t *)base + y->off, x->len);
}

static zs_rc put_map(struct ctx *c, const struct zs_field *f, uint8_t *frame)
{
    if (*c->p != '{')
        return fail_type(c, "an object (MAP)");
    zs_rc rc = enter(c);
    if (rc != ZS_OK)
        return rc;
    c->p++;
    struct zs_transcoder *tc = c->tc;
    size_t keys_base = tc->keys.len, idx_base = tc->keyidx.len;
    const struct zs_type *t = f->type;
    uint8_t vtag = (uint8_t)((2 << 3) | zs_schema__wire_type(t->value));
    struct path_el *pe = &c->path[c->npath];
    pe->kind = P_KEY;
    if (!expect(c, '}')) {
        for (;;) {
            skip_ws(c);
            if (c->p >= c->end || *c->p != '"')
                return fail_syntax(c, "a string key");
            const uint8_t *kraw = c->p;
            struct jstr js;
            if ((rc = scan_string(c, &js)) != ZS_OK)
                return rc; /* the path stops at the map: this key is not known yet */
            pe->s = (const char *)js.s;
            pe->len = (size_t)(js.e - js.s);
            c->npath++;
            if (!expect(c, ':'))
                return fail_syntax(c, "':'");
            skip_ws(c);
            if (c->p >= c->end)
                return fail_syntax(c, "a map value");
            if (*c->p == 'n' && lit(c, "null", 4))
                return fail(c, ZS_ESCHEMA, "null map values cannot be encoded in protobuf");
            size_t at, kat;
            if ((rc = put_tag(c, f)) != ZS_OK || (rc = len_begin(c, &at)) != ZS_OK)
                return rc;
            kat = c->out->len;
            if ((rc = put_map_key(c, t->key, &js, kraw)) != ZS_OK)
                return rc;
            /* Remember the encoded key to find duplicates once the map is complete. */
            struct keyref kr = {(uint32_t)(tc->keys.len - keys_base),
                                (uint32_t)(c->out->len - kat)};
            if (zs_buf_append(&tc->keys, c->out->data + kat, kr.len) != ZS_OK ||
                zs_buf_append(&tc->keyidx, &kr, sizeof kr) != ZS_OK)
                return fail(c, ZS_ENOMEM, "out of memory");
            if ((rc = need(c, 1)) != ZS_OK)
                return rc;
            c->out->data[c->out->len++] = vtag;
            if ((rc = put_value(c, t->value, frame)) != ZS_OK || (rc = len_end(c, at)) != ZS_OK)
                return rc;
            c->npath--;
            skip_ws(c);
            if (c->p < c->end && *c->p == ',') {
                c->p++;
                continue;
            }
            if (c->p < c->end && *c->p == '}') {
                c->p++;
                break;
            }
            return fail_syntax(c, "',' or '}'");
        }
    }
    size_t nkeys = (tc->keyidx.len - idx_base) / sizeof(struct keyref);
    if (nkeys > 1) {
        struct keyref *kr = (struct keyref *)(tc->keyidx.data + idx_base);
        qsort_r(kr, nkeys, sizeof *kr, keyref_cmp, tc->keys.data + keys_base);
        for (size_t i = 1; i < nkeys; i++) {
            if (keyref_cmp(&kr[i - 1], &kr[i], tc->keys.data + keys_base) == 0)
                return fail(c, ZS_ESCHEMA, "duplicate map key");
        }
    }
    tc->keys.len = keys_base;
    tc->keyidx.len = idx_base;
    c->depth--;
    return ZS_OK;
}

static inline zs_rc put_field(struct ctx *c, const struct zs_field *f, uint8_t *frame)
{
    switch (f->type->kind) {
    case ZS_TYPE_ARRAY:
        return put_array(c, f, frame);
    case ZS_TYPE_MAP:
        return put_map(c, f, frame);
    default: {
        zs_rc rc = put_tag(c, f);
        return rc != ZS_OK ? rc : put_value(c, f->type, frame);
    }
    }
}

/* Put the fields of a message back in field-number order (only when given out of order). */
static zs_rc reorder(struct ctx *c, struct zs_tc_span *spans, size_t n)
{
    for (size_t i = 1; i < n; i++) { /* insertion sort: n is the number of fields present */
        struct zs_tc_span x = spans[i];
        size_t j = i;
        while (j > 0 && spans[j - 1].number > x.number) {
            spans[j] = spans[j - 1];
            j--;
        }
        spans[j] = x;
    }
    uint32_t lo = UINT32_MAX, hi = 0;
    for (size_t i = 0; i < n; i++) {
        lo = spans[i].start < lo ? spans[i].start : lo;
        hi = spans[i].end > hi ? spans[i].end : hi;
    }
    struct zs_buf *t = &c->tc->tmp;
    t->len = 0;
    if (zs_buf_append(t, c->out->data + c->base + lo, hi - lo) != ZS_OK)
        return fail(c, ZS_ENOMEM, "out of memory");
    uint8_t *d = c->out->data + c->base + lo;
    for (size_t i = 0; i < n; i++) {
        size_t l = spans[i].end - spans[i].start;
        memcpy(d, t->data + (spans[i].start - lo), l);
        d += l;
    }
    return ZS_OK;
}

static COLD zs_rc unknown_key(struct ctx *c, const struct jstr *js)
{
    struct path_el *pe = &c->path[c->npath++];
    pe->kind = P_KEY;
    pe->s = (const char *)js->s;
    pe->len = (size_t)(js->e - js->s);
    return fail(c, ZS_ESCHEMA, "unknown field (not a column of the table)");
}

/* Decode an escaped key into tmp for lookup. */
static const struct zs_field *find_escaped(struct ctx *c, const struct zs_struct *st,
                                           const struct jstr *js)
{
    struct zs_buf *t = &c->tc->tmp;
    t->len = 0;
    if (zs_buf_reserve(t, (size_t)(js->e - js->s)) != ZS_OK)
        return NULL;
    size_t n = unescape(js, t->data);
    return zs_struct_find(st, (const char *)t->data, n);
}

static zs_rc parse_object(struct ctx *c, const struct zs_struct *st, uint8_t *frame)
{
    zs_rc rc = enter(c);
    if (rc != ZS_OK)
        return rc;
    c->p++; /* '{' */
    uint64_t *seen = (uint64_t *)(void *)frame;
    struct zs_tc_span *spans = (struct zs_tc_span *)(void *)(frame + st->nwords * 8);
    uint8_t *child = frame + zs_tc__frame_bytes(st->nfields);
    memset(seen, 0, st->nwords * 8);
    size_t nspans = 0;
    uint32_t last = 0;
    int ordered = 1;
    struct path_el *pe = &c->path[c->npath];
    if (!expect(c, '}')) {
        for (;;) {
            skip_ws(c);
            if (unlikely(c->p >= c->end || *c->p != '"'))
                return fail_syntax(c, "a string key");
            struct jstr js;
            if ((rc = scan_string(c, &js)) != ZS_OK)
                return rc;
            if (unlikely(!expect(c, ':')))
                return fail_syntax(c, "':'");
            const struct zs_field *f =
                likely(!js.escaped) ? zs_struct_find(st, (const char *)js.s, (size_t)(js.e - js.s))
                                    : find_escaped(c, st, &js);
            skip_ws(c);
            if (unlikely(f == NULL)) {
                if (c->s->reject_unknown)
                    return unknown_key(c, &js);
                if ((rc = any_value(c, 0)) != ZS_OK)
                    return rc;
            } else {
                size_t idx = (size_t)(f - st->fields);
                pe->kind = P_FIELD;
                pe->s = f->name;
                pe->len = f->name_len;
                c->npath++;
                if (unlikely(seen[idx / 64] & ((uint64_t)1 << (idx % 64))))
                    return fail(c, ZS_ESCHEMA, "duplicate key");
                seen[idx / 64] |= (uint64_t)1 << (idx % 64);
                if (unlikely(c->p >= c->end))
                    return fail_syntax(c, "a value");
                if (*c->p == 'n' && lit(c, "null", 4)) {
                    if (!f->nullable)
                        return fail(c, ZS_ESCHEMA, "null is not allowed: the column is NOT NULL");
                } else {
                    uint32_t start = (uint32_t)(c->out->len - c->base);
                    if ((rc = put_field(c, f, child)) != ZS_OK)
                        return rc;
                    if (f->number < last)
                        ordered = 0;
                    last = f->number;
                    spans[nspans++] =
                        (struct zs_tc_span){f->number, start, (uint32_t)(c->out->len - c->base)};
                }
                c->npath--;
            }
            skip_ws(c);
            if (likely(c->p < c->end && *c->p == ',')) {
                c->p++;
                continue;
            }
            if (likely(c->p < c->end && *c->p == '}')) {
                c->p++;
                break;
            }
            return fail_syntax(c, "',' or '}'");
        }
    }
    for (size_t w = 0; w < st->nwords; w++) {
        uint64_t missing = st->required[w] & ~seen[w];
        if (unlikely(missing != 0)) {
            const struct zs_field *f = &st->fields[w * 64 + (size_t)__builtin_ctzll(missing)];
            pe->kind = P_FIELD;
            pe->s = f->name;
            pe->len = f->name_len;
            c->npath++;
            return fail(c, ZS_ESCHEMA, "missing required field (the column is NOT NULL)");
        }
    }
    if (!ordered && (rc = reorder(c, spans, nspans)) != ZS_OK)
        return rc;
    c->depth--;
    return ZS_OK;
}

/* ---------------------------------------------------------------- entry points */

struct zs_transcoder *zs_transcoder_create(void)
{
    struct zs_transcoder *tc = zs_calloc(1, sizeof *tc);
    if (tc == NULL)
        return NULL;
    zs_buf_init(&tc->tmp, SIZE_MAX);
    zs_buf_init(&tc->keys, SIZE_MAX);
    zs_buf_init(&tc->keyidx, SIZE_MAX);
    return tc;
}

void zs_transcoder_destroy(struct zs_transcoder *tc)
{
    if (tc == NULL)
        return;
    zs_free(tc->scratch);
    zs_buf_release(&tc->tmp);
    zs_buf_release(&tc->keys);
    zs_buf_release(&tc->keyidx);
    zs_free(tc);
}

zs_rc zs_transcode_at(struct zs_transcoder *tc, const struct zs_schema *s, const uint8_t *json,
                      size_t len, size_t *pos, struct zs_buf *out, struct zs_err *err)
{
    if (tc->scratch_cap < s->root.frame_bytes) {
        uint8_t *p = zs_realloc(tc->scratch, s->root.frame_bytes);
        if (p == NULL)
            return zs_err_set(err, ZS_ENOMEM, "$", "out of memory");
        tc->scratch = p;
        tc->scratch_cap = s->root.frame_bytes;
    }
    if (json == NULL) /* an empty body may come as NULL: NULL + 0 is undefined behavior */
        json = (const uint8_t *)"";
    struct ctx c;
    c.start = json;
    c.p = json + *pos;
    c.end = json + len;
    c.out = out;
    c.s = s;
    c.tc = tc;
    c.err = err;
    c.depth = 0;
    c.npath = 0;
    size_t out_len0 = out->len;
    c.base = out_len0;
    c.limit = s->max_record_bytes > SIZE_MAX - out_len0 - RESERVE_SLACK
                  ? SIZE_MAX - RESERVE_SLACK
                  : out_len0 + s->max_record_bytes;
    tc->keys.len = 0;
    tc->keyidx.len = 0;
    if (c.s->max_depth > PATH_MAX_DEPTH)
        return zs_err_set(err, ZS_EINVAL, "$", "max_json_depth above %d", PATH_MAX_DEPTH);
    zs_rc rc;
    skip_ws(&c);
    if (c.p >= c.end)
        rc = fail(&c, ZS_EPARSE, "empty input: expected a JSON object");
    else if (*c.p != '{' && strcmp(json_kind(c.p, c.end), "an invalid token") == 0)
        rc = fail_syntax(&c, "a JSON object");
    else if (*c.p != '{')
        rc = fail(&c, ZS_ESCHEMA, "a record must be a JSON object, got %s", json_kind(c.p, c.end));
    else
        rc = parse_object(&c, &s->root, tc->scratch);
    if (rc == ZS_OK && out->len > c.limit) {
        c.npath = 0;
        rc = fail_too_big(&c);
    }
    if (rc != ZS_OK) {
        out->len = out_len0;
        return rc;
    }
    *pos = (size_t)(c.p - json);
    return ZS_OK;
}

zs_rc zs_transcode(struct zs_transcoder *tc, const struct zs_schema *s, const uint8_t *json,
                   size_t len, struct zs_buf *out, struct zs_err *err)
{
    size_t pos = 0;
    size_t out_len0 = out->len;
    zs_rc rc = zs_transcode_at(tc, s, json, len, &pos, out, err);
    if (rc != ZS_OK)
        return rc;
    while (pos < len &&
           (json[pos] == ' ' || json[pos] == '\n' || json[pos] == '\r' || json[pos] == '\t'))
        pos++;
    if (pos != len) {
        out->len = out_len0;
        return zs_err_set(err, ZS_EPARSE, "$",
                          "invalid JSON at byte %zu: trailing data after the record", pos);
    }
    return ZS_OK;
}
