/*
 * Protobuf → JSON for a table's records, driven by its schema: the inverse of the
 * transcoder, for cold paths (dead letters, `spool dump`). The output transcodes back to
 * the same bytes (tests/unit/schema/test_decode.c checks it over the transcoder's corpus).
 * Fields are written in schema order whatever their order on the wire; repeated fields may
 * be packed or not. Thread: any.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "schema/zs_schema.h"

#define MAX_NEST 64

struct rd {
    const uint8_t *p, *end;
};

static int get_varint(struct rd *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64 && r->p < r->end; shift += 7) {
        uint8_t b = *r->p++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* The next field of a message: number, wire type, and its value's bytes. */
struct wf {
    uint32_t number;
    int wt;
    uint64_t v;          /* varint / fixed value */
    const uint8_t *data; /* length-delimited payload */
    size_t len;
};

static int next_field(struct rd *r, struct wf *f)
{
    uint64_t key;
    if (get_varint(r, &key) != 0 || key >> 3 == 0 || key >> 3 > 0x1fffffff)
        return -1;
    f->number = (uint32_t)(key >> 3);
    f->wt = (int)(key & 7);
    switch (f->wt) {
    case 0:
        return get_varint(r, &f->v);
    case 1:
    case 5: {
        size_t n = f->wt == 1 ? 8 : 4;
        if ((size_t)(r->end - r->p) < n)
            return -1;
        f->v = 0;
        for (size_t i = 0; i < n; i++)
            f->v |= (uint64_t)r->p[i] << (8 * i);
        r->p += n;
        return 0;
    }
    case 2: {
        uint64_t n;
        if (get_varint(r, &n) != 0 || n > (uint64_t)(r->end - r->p))
            return -1;
        f->data = r->p;
        f->len = (size_t)n;
        r->p += n;
        return 0;
    }
    default:
        return -1; /* groups are not used by Zerobus records */
    }
}

static zs_rc put_base64(struct zs_buf *b, const uint8_t *p, size_t n)
{
    zs_rc rc = zs_buf_append(b, "\"", 1);
    if (rc == ZS_OK)
        rc = zs_buf_base64(b, p, n);
    return rc == ZS_OK ? zs_buf_append(b, "\"", 1) : rc;
}

/* Days since 1970-01-01 → y, m, d (proleptic Gregorian; H. Hinnant's civil_from_days). */
static void civil(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static zs_rc put_date(struct zs_buf *b, int64_t days)
{
    int64_t y;
    unsigned m, d;
    if (days < -719162 || days > 2932896) /* outside 0001-01-01 .. 9999-12-31: a number */
        return zs_buf_printf(b, "%" PRId64, days);
    civil(days, &y, &m, &d);
    return zs_buf_printf(b, "\"%04" PRId64 "-%02u-%02u\"", y, m, d);
}

static zs_rc put_timestamp(struct zs_buf *b, int64_t us, int ntz)
{
    int64_t secs = us / 1000000, frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    if (days < -719162 || days > 2932896)
        return zs_buf_printf(b, "%" PRId64, us);
    int64_t y;
    unsigned m, d;
    civil(days, &y, &m, &d);
    return zs_buf_printf(b, "\"%04" PRId64 "-%02u-%02uT%02u:%02u:%02u.%06u%s\"", y, m, d,
                         (unsigned)(sod / 3600), (unsigned)(sod / 60 % 60), (unsigned)(sod % 60),
                         (unsigned)frac, ntz ? "" : "Z");
}

static zs_rc put_message(struct zs_buf *b, const struct zs_struct *st, const uint8_t *p, size_t n,
                         int depth);

/* One value of type t (not ARRAY or MAP) from a field occurrence. */
static zs_rc put_scalar(struct zs_buf *b, const struct zs_type *t, const struct wf *f, int depth)
{
    int wt_ok;
    switch (t->kind) {
    case ZS_TYPE_FLOAT:
        wt_ok = f->wt == 5;
        break;
    case ZS_TYPE_DOUBLE:
        wt_ok = f->wt == 1;
        break;
    case ZS_TYPE_STRING:
    case ZS_TYPE_BINARY:
    case ZS_TYPE_DECIMAL:
    case ZS_TYPE_VARIANT:
    case ZS_TYPE_STRUCT:
        wt_ok = f->wt == 2;
        break;
    default:
        wt_ok = f->wt == 0;
    }
    if (!wt_ok)
        return ZS_ECORRUPT;
    switch (t->kind) {
    case ZS_TYPE_TINYINT:
    case ZS_TYPE_SMALLINT:
    case ZS_TYPE_INT:
        return zs_buf_printf(b, "%" PRId32, (int32_t)(uint32_t)f->v);
    case ZS_TYPE_BIGINT:
        return zs_buf_printf(b, "%" PRId64, (int64_t)f->v);
    case ZS_TYPE_DATE:
        return put_date(b, (int32_t)(uint32_t)f->v);
    case ZS_TYPE_TIMESTAMP:
    case ZS_TYPE_TIMESTAMP_NTZ:
        return put_timestamp(b, (int64_t)f->v, t->kind == ZS_TYPE_TIMESTAMP_NTZ);
    case ZS_TYPE_FLOAT: {
        uint32_t u = (uint32_t)f->v;
        float x;
        memcpy(&x, &u, 4);
        return isfinite(x) ? zs_buf_printf(b, "%.9g", (double)x)
                           : zs_buf_puts(b, isnan(x) ? "\"NaN\""
                                            : x > 0  ? "\"Infinity\""
                                                     : "\"-Infinity\"");
    }
    case ZS_TYPE_DOUBLE: {
        double x;
        memcpy(&x, &f->v, 8);
        return isfinite(x) ? zs_buf_printf(b, "%.17g", x)
                           : zs_buf_puts(b, isnan(x) ? "\"NaN\""
                                            : x > 0  ? "\"Infinity\""
                                                     : "\"-Infinity\"");
    }
    case ZS_TYPE_BOOLEAN:
        return zs_buf_puts(b, f->v ? "true" : "false");
    case ZS_TYPE_STRING:
    case ZS_TYPE_DECIMAL: /* decimal text: a string keeps every digit */
        return zs_buf_json_str(b, f->data, f->len);
    case ZS_TYPE_BINARY:
        return put_base64(b, f->data, f->len);
    case ZS_TYPE_VARIANT: /* JSON text as the transcoder wrote it */
        return f->len > 0 ? zs_buf_append(b, f->data, f->len) : zs_buf_puts(b, "null");
    case ZS_TYPE_STRUCT:
        return put_message(b, t->st, f->data, f->len, depth + 1);
    case ZS_TYPE_ARRAY:
    case ZS_TYPE_MAP:
        break;
    }
    return ZS_ECORRUPT;
}

static int packable(const struct zs_type *t)
{
    return t->kind != ZS_TYPE_STRING && t->kind != ZS_TYPE_BINARY && t->kind != ZS_TYPE_DECIMAL &&
           t->kind != ZS_TYPE_VARIANT && t->kind != ZS_TYPE_STRUCT;
}

/* Every occurrence of field f in the message, as a JSON array. */
static zs_rc put_array(struct zs_buf *b, const struct zs_field *fd, const uint8_t *p, size_t n,
                       int depth)
{
    const struct zs_type *et = fd->type->elem;
    zs_rc rc = zs_buf_puts(b, "[");
    int first = 1;
    struct rd r = {p, p + n};
    struct wf f;
    while (rc == ZS_OK && r.p < r.end) {
        if (next_field(&r, &f) != 0)
            return ZS_ECORRUPT;
        if (f.number != fd->number)
            continue;
        if (f.wt == 2 && packable(et)) { /* packed */
            int fixed = et->kind == ZS_TYPE_FLOAT ? 4 : et->kind == ZS_TYPE_DOUBLE ? 8 : 0;
            struct rd pr = {f.data, f.data + f.len};
            while (rc == ZS_OK && pr.p < pr.end) {
                struct wf e = {.number = f.number, .wt = fixed == 4 ? 5 : fixed == 8 ? 1 : 0};
                if (fixed) {
                    if ((size_t)(pr.end - pr.p) < (size_t)fixed)
                        return ZS_ECORRUPT;
                    e.v = 0;
                    for (int i = 0; i < fixed; i++)
                        e.v |= (uint64_t)pr.p[i] << (8 * i);
                    pr.p += fixed;
                } else if (get_varint(&pr, &e.v) != 0) {
                    return ZS_ECORRUPT;
                }
                rc = first ? ZS_OK : zs_buf_puts(b, ",");
                first = 0;
                if (rc == ZS_OK)
                    rc = put_scalar(b, et, &e, depth);
            }
            continue;
        }
        rc = first ? ZS_OK : zs_buf_puts(b, ",");
        first = 0;
        if (rc == ZS_OK)
            rc = put_scalar(b, et, &f, depth);
    }
    return rc == ZS_OK ? zs_buf_puts(b, "]") : rc;
}

/* A map field: entry messages {1: key, 2: value} → a JSON object (keys as strings). */
static zs_rc put_map(struct zs_buf *b, const struct zs_field *fd, const uint8_t *p, size_t n,
                     int depth)
{
    zs_rc rc = zs_buf_puts(b, "{");
    int first = 1;
    struct rd r = {p, p + n};
    struct wf f;
    struct zs_buf key;
    zs_buf_init(&key, 1 << 20);
    while (rc == ZS_OK && r.p < r.end) {
        if (next_field(&r, &f) != 0) {
            rc = ZS_ECORRUPT;
            break;
        }
        if (f.number != fd->number)
            continue;
        if (f.wt != 2) {
            rc = ZS_ECORRUPT;
            break;
        }
        struct rd er = {f.data, f.data + f.len};
        struct wf e, k = {0}, v = {0};
        int hk = 0, hv = 0;
        while (er.p < er.end) {
            if (next_field(&er, &e) != 0) {
                rc = ZS_ECORRUPT;
                break;
            }
            if (e.number == 1) {
                k = e;
                hk = 1;
            } else if (e.number == 2) {
                v = e;
                hv = 1;
            }
        }
        if (rc != ZS_OK || !hk)
            break;
        key.len = 0;
        rc = put_scalar(&key, fd->type->key, &k, depth);
        if (rc == ZS_OK && (rc = zs_buf_puts(b, first ? "" : ",")) == ZS_OK) {
            /* Keys are JSON strings: string-typed keys are already quoted. */
            int quoted = key.len > 0 && key.data[0] == '"';
            rc = quoted ? zs_buf_append(b, key.data, key.len)
                        : zs_buf_json_str(b, key.data, key.len);
        }
        first = 0;
        if (rc == ZS_OK)
            rc = zs_buf_puts(b, ":");
        if (rc == ZS_OK)
            rc = hv ? put_scalar(b, fd->type->value, &v, depth) : zs_buf_puts(b, "null");
    }
    zs_buf_release(&key);
    return rc == ZS_OK ? zs_buf_puts(b, "}") : rc;
}

static zs_rc put_message(struct zs_buf *b, const struct zs_struct *st, const uint8_t *p, size_t n,
                         int depth)
{
    if (depth > MAX_NEST)
        return ZS_ELIMIT;
    /* Check the whole message once: every field well-formed and known. */
    struct rd r = {p, p + n};
    struct wf f;
    while (r.p < r.end)
        if (next_field(&r, &f) != 0)
            return ZS_ECORRUPT;
    zs_rc rc = zs_buf_puts(b, "{");
    int first = 1;
    for (size_t i = 0; i < st->nfields && rc == ZS_OK; i++) {
        const struct zs_field *fd = &st->fields[i];
        /* The last occurrence wins for a singular field (protobuf's rule). */
        struct wf last;
        int seen = 0;
        r = (struct rd){p, p + n};
        while (r.p < r.end) {
            if (next_field(&r, &f) != 0)
                return ZS_ECORRUPT;
            if (f.number == fd->number) {
                last = f;
                seen = 1;
            }
        }
        if (!seen)
            continue;
        rc = zs_buf_puts(b, first ? "" : ",");
        first = 0;
        if (rc == ZS_OK)
            rc = zs_buf_json_str(b, (const uint8_t *)fd->name, fd->name_len);
        if (rc == ZS_OK)
            rc = zs_buf_puts(b, ":");
        if (rc != ZS_OK)
            break;
        if (fd->type->kind == ZS_TYPE_ARRAY)
            rc = put_array(b, fd, p, n, depth);
        else if (fd->type->kind == ZS_TYPE_MAP)
            rc = put_map(b, fd, p, n, depth);
        else
            rc = put_scalar(b, fd->type, &last, depth);
    }
    return rc == ZS_OK ? zs_buf_puts(b, "}") : rc;
}

zs_rc zs_schema_to_json(const struct zs_schema *s, const uint8_t *rec, size_t len,
                        struct zs_buf *out)
{
    size_t mark = out->len;
    zs_rc rc = put_message(out, &s->root, rec ? rec : (const uint8_t *)"", len, 1);
    if (rc != ZS_OK)
        out->len = mark;
    return rc;
}
