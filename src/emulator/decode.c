/*
 * Descriptor check and record decoding, written independently of the station's encoder:
 * protobuf-c parses the DescriptorProto; the wire format of records is walked here and
 * every value is turned into its natural JSON form for the NDJSON store.
 * Thread: the gRPC thread (a desc belongs to one stream).
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emulator/emu.h"
#include "google/protobuf/descriptor.pb-c.h"

typedef Google__Protobuf__DescriptorProto DP;
typedef Google__Protobuf__FieldDescriptorProto FDP;

enum {
    T_DOUBLE = 1,
    T_FLOAT = 2,
    T_INT64 = 3,
    T_INT32 = 5,
    T_BOOL = 8,
    T_STRING = 9,
    T_MESSAGE = 11,
    T_BYTES = 12
};
enum { L_OPTIONAL = 1, L_REQUIRED = 2, L_REPEATED = 3 };

struct emsg;

struct efield {
    const FDP *fd;
    char *key; /* "name": as rendered in every row */
    size_t key_len;
    const struct emu_type *type; /* the column's type (owned by the table or its parent type) */
    struct emsg *sub;            /* STRUCT (or ARRAY<STRUCT>) message; MAP entry message */
};

struct emsg {
    const DP *dp;
    size_t n;
    struct efield *f;
};

struct emu_desc {
    DP *root;
    struct emsg *msg;
    const struct emu_table *t;
};

struct chk {
    const DP *root;
    const DP *scope[64]; /* enclosing messages, root first */
    int depth;
    char *msg;
    size_t cap;
    char path[512];
};

/* ---------------------------------------------------------------- resolution */

static const DP *nested_named(const DP *m, const char *name, size_t len)
{
    for (size_t i = 0; i < m->n_nested_type; i++)
        if (strlen(m->nested_type[i]->name) == len &&
            strncmp(m->nested_type[i]->name, name, len) == 0)
            return m->nested_type[i];
    return NULL;
}

/* Walk dotted components of s from message m (m itself is not named in s). */
static const DP *descend(const DP *m, const char *s)
{
    while (m != NULL && *s != '\0') {
        const char *dot = strchr(s, '.');
        size_t len = dot ? (size_t)(dot - s) : strlen(s);
        m = nested_named(m, s, len);
        s += len + (dot != NULL);
    }
    return m;
}

/*
 * Resolve a field's type_name: fully qualified (".pkg.Root.A"), relative ("A", "Root.A"),
 * any package prefix ignored, searched from the innermost scope outwards.
 */
static const DP *resolve(struct chk *c, const char *type_name)
{
    const char *tn = type_name[0] == '.' ? type_name + 1 : type_name;
    for (int d = c->depth - 1; d >= 0; d--) { /* relative to each enclosing scope */
        const DP *m = descend(c->scope[d], tn);
        if (m != NULL && m != c->scope[d])
            return m;
    }
    /* Qualified: find the root's name as a component, then descend from it. */
    size_t rl = strlen(c->root->name);
    for (const char *p = tn; p != NULL && *p != '\0';) {
        if (strncmp(p, c->root->name, rl) == 0 && (p[rl] == '.' || p[rl] == '\0'))
            return p[rl] == '\0' ? c->root : descend(c->root, p + rl + 1);
        p = strchr(p, '.');
        p = p ? p + 1 : NULL;
    }
    return NULL;
}

/* ---------------------------------------------------------------- checking */

static int fail(struct chk *c, const char *fmt, const char *a, const char *b)
{
    char detail[400];
    snprintf(detail, sizeof detail, fmt, a, b);
    snprintf(c->msg, c->cap, "descriptor does not match the table at column \"%s\": %s", c->path,
             detail);
    return -1;
}

static int expected_pb(enum emu_kind k)
{
    switch (k) {
    case EK_TINYINT:
    case EK_SMALLINT:
    case EK_INT:
    case EK_DATE:
        return T_INT32;
    case EK_BIGINT:
    case EK_TIMESTAMP:
    case EK_TIMESTAMP_NTZ:
        return T_INT64;
    case EK_FLOAT:
        return T_FLOAT;
    case EK_DOUBLE:
        return T_DOUBLE;
    case EK_BOOLEAN:
        return T_BOOL;
    case EK_BINARY:
        return T_BYTES;
    case EK_STRUCT:
    case EK_MAP:
        return T_MESSAGE;
    default:
        return T_STRING;
    }
}

static const char *pb_name(int t)
{
    switch (t) {
    case T_DOUBLE:
        return "double";
    case T_FLOAT:
        return "float";
    case T_INT64:
        return "int64";
    case T_INT32:
        return "int32";
    case T_BOOL:
        return "bool";
    case T_STRING:
        return "string";
    case T_MESSAGE:
        return "message";
    case T_BYTES:
        return "bytes";
    default:
        return "an unsupported protobuf type";
    }
}

static struct emsg *check_msg(struct chk *c, const DP *dp, const struct emu_col *cols, size_t n);

static int label_of(const FDP *fd)
{
    return fd->has_label ? (int)fd->label : L_OPTIONAL;
}

static int check_value_type(struct chk *c, const FDP *fd, const struct emu_type *t,
                            struct emsg **sub)
{
    int want = expected_pb(t->kind), got = fd->has_type ? (int)fd->type : 0;
    if (got != want) {
        char w[80];
        snprintf(w, sizeof w, "%s (for %s)", pb_name(want), emu_type_name(t));
        return fail(c, "expected %s, got %s", w, pb_name(got));
    }
    if (t->kind != EK_STRUCT && t->kind != EK_MAP)
        return 0;
    const DP *m = fd->type_name ? resolve(c, fd->type_name) : NULL;
    if (m == NULL)
        return fail(c, "message type %s is not nested in the descriptor%s",
                    fd->type_name ? fd->type_name : "(none)", "");
    if (c->depth >= 63)
        return fail(c, "nested too deeply%s%s", "", "");
    c->scope[c->depth++] = m;
    int rc = 0;
    if (t->kind == EK_STRUCT) {
        *sub = check_msg(c, m, t->fields, t->nfields);
        rc = *sub ? 0 : -1;
    } else {
        /* Map entry: key = 1, value = 2. */
        struct emu_col kv[2] = {{"key", t->key, true}, {"value", t->val, true}};
        if (m->n_field != 2 || m->field[0]->number != 1 || m->field[1]->number != 2)
            rc = fail(c, "map entry %s must have fields key = 1 and value = 2%s", m->name, "");
        else if ((*sub = check_msg(c, m, kv, 2)) == NULL)
            rc = -1;
    }
    c->depth--;
    return rc;
}

static void free_msg(struct emsg *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free_msg(m->f[i].sub);
        free(m->f[i].key);
    }
    free(m->f);
    free(m);
}

static int put_json_str(struct zs_buf *b, const uint8_t *s, size_t n);

/* The field's "name": prefix, escaped once here rather than in every row. */
static int render_key(const char *name, struct efield *f)
{
    struct zs_buf b;
    zs_buf_init(&b, 1 << 16);
    if (put_json_str(&b, (const uint8_t *)name, strlen(name)) != 0 ||
        zs_buf_append(&b, ":", 1) != ZS_OK) {
        zs_buf_release(&b);
        return -1; /* not UTF-8: such a name cannot be a column either */
    }
    f->key = (char *)b.data;
    f->key_len = b.len;
    return 0;
}

static struct emsg *check_msg(struct chk *c, const DP *dp, const struct emu_col *cols, size_t n)
{
    struct emsg *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->dp = dp;
    m->n = n;
    m->f = calloc(n ? n : 1, sizeof *m->f);
    size_t plen = strlen(c->path);
    for (size_t i = 0; m->f != NULL && i < n; i++) {
        snprintf(c->path + plen, sizeof c->path - plen, "%s%s", plen ? "." : "", cols[i].name);
        if (i >= dp->n_field) {
            fail(c, "missing from the descriptor (MISSING_REQUIRED_COLUMN)%s%s", "", "");
            goto bad;
        }
        const FDP *fd = dp->field[i];
        if (strcasecmp(fd->name, cols[i].name) != 0) {
            int elsewhere = 0;
            for (size_t k = 0; k < dp->n_field; k++)
                elsewhere |= strcasecmp(dp->field[k]->name, cols[i].name) == 0;
            if (elsewhere)
                fail(c,
                     "descriptor field %s is in its place: fields must follow the column "
                     "order (FIELD_OUT_OF_ORDER)%s",
                     fd->name, "");
            else
                fail(c,
                     "missing from the descriptor, which has %s here (MISSING_REQUIRED_COLUMN)%s",
                     fd->name, "");
            goto bad;
        }
        m->f[i].fd = fd;
        m->f[i].type = cols[i].type;
        if (render_key(fd->name, &m->f[i]) != 0) {
            fail(c, "the field name is not valid UTF-8%s%s", "", "");
            goto bad;
        }
        const struct emu_type *t = cols[i].type;
        int label = label_of(fd);
        if (t->kind == EK_ARRAY || t->kind == EK_MAP) {
            if (label != L_REPEATED) {
                fail(c, "%s needs a repeated field%s", emu_type_name(t), "");
                goto bad;
            }
            if (check_value_type(c, fd, t->kind == EK_ARRAY ? t->elem : t, &m->f[i].sub) != 0)
                goto bad;
        } else {
            int want = cols[i].nullable ? L_OPTIONAL : L_REQUIRED;
            if (label != want) {
                fail(c, "a %s column needs a proto2 %s field",
                     cols[i].nullable ? "nullable" : "NOT NULL",
                     want == L_OPTIONAL ? "optional" : "required");
                goto bad;
            }
            if (check_value_type(c, fd, t, &m->f[i].sub) != 0)
                goto bad;
        }
        c->path[plen] = '\0';
    }
    if (m->f != NULL && dp->n_field > n) {
        snprintf(c->path + plen, sizeof c->path - plen, "%s%s", plen ? "." : "",
                 dp->field[n]->name);
        fail(c, "the descriptor field is not a column of the table (FIELD_NOT_IN_TABLE)%s%s", "",
             "");
        goto bad;
    }
    if (m->f == NULL)
        goto bad;
    return m;
bad:
    free_msg(m);
    return NULL;
}

/* Columns for an auto-created table, from the descriptor. */
static struct emu_type *type_from_field(struct chk *c, const FDP *fd, int *ok);

static struct emu_col *cols_from_msg(struct chk *c, const DP *dp, size_t *n, int *ok)
{
    struct emu_col *cols = calloc(dp->n_field ? dp->n_field : 1, sizeof *cols);
    *n = dp->n_field;
    for (size_t i = 0; cols != NULL && i < dp->n_field && *ok; i++) {
        cols[i].name = strdup(dp->field[i]->name);
        cols[i].nullable = label_of(dp->field[i]) != L_REQUIRED;
        cols[i].type = type_from_field(c, dp->field[i], ok);
    }
    if (cols == NULL)
        *ok = 0;
    return cols;
}

static struct emu_type *scalar_type(int pb, int *ok)
{
    struct emu_type *t = calloc(1, sizeof *t);
    if (t == NULL) {
        *ok = 0;
        return NULL;
    }
    switch (pb) {
    case T_INT32:
        t->kind = EK_INT;
        break;
    case T_INT64:
        t->kind = EK_BIGINT;
        break;
    case T_FLOAT:
        t->kind = EK_FLOAT;
        break;
    case T_DOUBLE:
        t->kind = EK_DOUBLE;
        break;
    case T_BOOL:
        t->kind = EK_BOOLEAN;
        break;
    case T_STRING:
        t->kind = EK_STRING;
        break;
    case T_BYTES:
        t->kind = EK_BINARY;
        break;
    default:
        *ok = 0;
    }
    return t;
}

static struct emu_type *type_from_field(struct chk *c, const FDP *fd, int *ok)
{
    int pb = fd->has_type ? (int)fd->type : 0;
    struct emu_type *inner = NULL;
    int is_map = 0;
    if (pb == T_MESSAGE) {
        const DP *m = fd->type_name ? resolve(c, fd->type_name) : NULL;
        if (m == NULL || c->depth >= 63) {
            snprintf(c->msg, c->cap, "field %s: message type %s is not nested in the descriptor",
                     fd->name, fd->type_name ? fd->type_name : "(none)");
            *ok = 0;
            return NULL;
        }
        c->scope[c->depth++] = m;
        inner = calloc(1, sizeof *inner);
        if (inner == NULL) {
            *ok = 0;
        } else if (m->options && m->options->has_map_entry && m->options->map_entry &&
                   m->n_field == 2) {
            is_map = 1;
            inner->kind = EK_MAP;
            inner->key = type_from_field(c, m->field[0], ok);
            inner->val = type_from_field(c, m->field[1], ok);
        } else {
            inner->kind = EK_STRUCT;
            inner->fields = cols_from_msg(c, m, &inner->nfields, ok);
        }
        c->depth--;
    } else {
        inner = scalar_type(pb, ok);
        if (!*ok)
            snprintf(c->msg, c->cap, "field %s: protobuf type %d has no Unity Catalog mapping",
                     fd->name, pb);
    }
    if (label_of(fd) == L_REPEATED && !is_map) {
        struct emu_type *a = calloc(1, sizeof *a);
        if (a == NULL) {
            *ok = 0;
            return inner;
        }
        a->kind = EK_ARRAY;
        a->elem = inner;
        return a;
    }
    return inner;
}

/* Every message and field named, every field numbered and typed, nesting bounded. */
static const char *malformed(const DP *m, int depth)
{
    if (depth > 64)
        return "messages nested too deeply";
    if (m->name == NULL || m->name[0] == '\0')
        return "a message has no name";
    for (size_t i = 0; i < m->n_field; i++) {
        const FDP *f = m->field[i];
        if (f->name == NULL || f->name[0] == '\0')
            return "a field has no name";
        if (!f->has_number || f->number < 1 || f->number > 536870911)
            return "a field has no valid number";
        if (!f->has_type)
            return "a field has no type";
    }
    for (size_t i = 0; i < m->n_nested_type; i++) {
        const char *why = malformed(m->nested_type[i], depth + 1);
        if (why != NULL)
            return why;
    }
    return NULL;
}

struct emu_desc *emu_desc_create(struct emu *e, struct emu_table *t, const uint8_t *bytes,
                                 size_t len, char *msg, size_t cap)
{
    struct emu_desc *d = calloc(1, sizeof *d);
    if (d == NULL) {
        snprintf(msg, cap, "out of memory");
        return NULL;
    }
    d->t = t;
    d->root = google__protobuf__descriptor_proto__unpack(NULL, len, bytes);
    if (d->root == NULL) {
        snprintf(msg, cap, "descriptor_proto is not a serialized google.protobuf.DescriptorProto");
        emu_desc_destroy(d);
        return NULL;
    }
    const char *why = malformed(d->root, 0);
    if (why != NULL) {
        snprintf(msg, cap, "descriptor_proto is malformed: %s", why);
        emu_desc_destroy(d);
        return NULL;
    }
    struct chk c = {.root = d->root, .msg = msg, .cap = cap};
    c.scope[c.depth++] = d->root;
    pthread_mutex_lock(&e->cat_lock);
    if (t->cols == NULL) { /* auto-create: the first descriptor defines the table */
        int ok = 1;
        size_t n = 0;
        struct emu_col *cols = cols_from_msg(&c, d->root, &n, &ok);
        if (ok) {
            t->cols = cols;
            t->ncols = n;
        } else {
            emu_cols_free(cols, n);
        }
    }
    if (t->cols != NULL)
        d->msg = check_msg(&c, d->root, t->cols, t->ncols);
    pthread_mutex_unlock(&e->cat_lock);
    if (d->msg == NULL) {
        emu_desc_destroy(d);
        return NULL;
    }
    return d;
}

void emu_desc_destroy(struct emu_desc *d)
{
    if (d == NULL)
        return;
    free_msg(d->msg);
    if (d->root != NULL)
        google__protobuf__descriptor_proto__free_unpacked(d->root, NULL);
    free(d);
}

/* ---------------------------------------------------------------- values */

struct rd {
    const uint8_t *p, *end;
    char *msg;
    size_t cap;
};

static int rd_varint(struct rd *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            return -1;
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

static void civil(long long days, int *y, int *m, int *d)
{
    days += 719468;
    long long era = (days >= 0 ? days : days - 146096) / 146097;
    long long doe = days - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* "YYYY-MM-DD" into out (11 bytes); 0 if outside years 0001..9999. */
static int date_text(long long days, char out[16])
{
    int y, m, d;
    if (days < -719162 || days > 2932896)
        return 0;
    civil(days, &y, &m, &d);
    snprintf(out, 16, "%04d-%02d-%02d", y, m, d);
    return 1;
}

/* RFC 3339 with microseconds, "Z" unless ntz; 0 if outside years 0001..9999. */
static int ts_text(long long us, int ntz, char out[96])
{
    long long secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    long long frac = us - secs * 1000000;
    long long days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    long long sod = secs - days * 86400;
    char date[16];
    if (!date_text(days, date))
        return 0;
    snprintf(out, 96, "%sT%02lld:%02lld:%02lld.%06lld%s", date, sod / 3600, sod / 60 % 60, sod % 60,
             frac, ntz ? "" : "Z");
    return 1;
}

static json_t *fmt_date(long long days)
{
    char s[16];
    return date_text(days, s) ? json_string(s) : NULL;
}

static json_t *fmt_ts(long long us, int ntz)
{
    char s[96];
    return ts_text(us, ntz, s) ? json_string(s) : NULL;
}

/* DECIMAL(p,s) text: [-]digits[.digits] within precision and scale. */
static int decimal_ok(const char *s, size_t n, const struct emu_type *t)
{
    size_t i = 0, ip = 0, fp = 0;
    if (i < n && s[i] == '-')
        i++;
    while (i < n && isdigit((unsigned char)s[i]))
        ip += !(ip == 0 && s[i] == '0'), i++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && isdigit((unsigned char)s[i]))
            fp++, i++;
    }
    return i == n && n > 0 && (int)fp <= t->scale && (int)ip <= t->precision - t->scale;
}

/* ---------------------------------------------------------------- NDJSON rendering */

/*
 * PROTO records are rendered straight to NDJSON text in column order: one pass checks
 * every field key and wire type, then one pass per column renders that column's values
 * (the last one for singular fields, all of them for repeated ones). No JSON objects.
 */

struct wf { /* one field occurrence */
    uint32_t num;
    int wt;
    uint64_t v;
    const uint8_t *s;
    size_t len;
};

static int next_wf(struct rd *r, struct wf *f)
{
    uint64_t key;
    if (rd_varint(r, &key) != 0 || (key >> 3) == 0 || (key >> 3) > 536870911)
        return -1;
    f->num = (uint32_t)(key >> 3);
    f->wt = (int)(key & 7);
    f->v = 0;
    f->s = NULL;
    f->len = 0;
    if (f->wt == 0)
        return rd_varint(r, &f->v);
    if (f->wt == 1 || f->wt == 5) {
        size_t n = f->wt == 1 ? 8 : 4;
        if ((size_t)(r->end - r->p) < n)
            return -1;
        for (size_t k = 0; k < n; k++)
            f->v |= (uint64_t)r->p[k] << (8 * k);
        r->p += n;
        return 0;
    }
    if (f->wt == 2) {
        if (rd_varint(r, &f->v) != 0 || f->v > (uint64_t)(r->end - r->p))
            return -1;
        f->s = r->p;
        f->len = (size_t)f->v;
        r->p += f->len;
        return 0;
    }
    return -1;
}

static int wire_of(const struct emu_type *t)
{
    switch (expected_pb(t->kind)) {
    case T_DOUBLE:
        return 1;
    case T_FLOAT:
        return 5;
    case T_INT32:
    case T_INT64:
    case T_BOOL:
        return 0;
    default:
        return 2;
    }
}

static inline int put(struct zs_buf *b, const void *p, size_t n)
{
    if (b->cap - b->len >= n) { /* the common case, without a call */
        memcpy(b->data + b->len, p, n);
        b->len += n;
        return 0;
    }
    return zs_buf_append(b, p, n) == ZS_OK ? 0 : -1;
}

static int put_str(struct zs_buf *b, const char *s)
{
    return put(b, s, strlen(s));
}

static int put_i64(struct zs_buf *b, int64_t v)
{
    char tmp[24], *p = tmp;
    if (v < 0)
        *p++ = '-';
    p = zs_put_u64(p, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
    return put(b, tmp, (size_t)(p - tmp));
}

static int put_real(struct zs_buf *b, double v)
{
    if (isnan(v))
        return put_str(b, "\"NaN\"");
    if (isinf(v))
        return put_str(b, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    char tmp[40];
    int n = snprintf(tmp, sizeof tmp, "%.17g", v);
    return put(b, tmp, (size_t)n);
}

/* A JSON string of UTF-8 bytes; -1 if they are not valid UTF-8 (or out of memory). */
static int put_json_str(struct zs_buf *b, const uint8_t *s, size_t n)
{
    if (put(b, "\"", 1) != 0)
        return -1;
    size_t run = 0;
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            run++;
            continue;
        }
        if (put(b, s + i - run, run) != 0)
            return -1;
        run = 0;
        if (c < 0x80) {
            char esc[8];
            int k = c == '"'    ? snprintf(esc, sizeof esc, "\\\"")
                    : c == '\\' ? snprintf(esc, sizeof esc, "\\\\")
                                : snprintf(esc, sizeof esc, "\\u%04x", c);
            if (put(b, esc, (size_t)k) != 0)
                return -1;
            i++;
            continue;
        }
        size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
        if (len == 0 || c > 0xF4 || i + len > n)
            return -1;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return -1;
        if ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] >= 0xA0) ||
            (c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] >= 0x90))
            return -1; /* overlong, surrogate, beyond U+10FFFF */
        if (put(b, s + i, len) != 0)
            return -1;
        i += len;
    }
    if (put(b, s + n - run, run) != 0)
        return -1;
    return put(b, "\"", 1);
}

static int put_b64(struct zs_buf *b, const uint8_t *p, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (put(b, "\"", 1) != 0)
        return -1;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        char q[4] = {tbl[v >> 18 & 63], tbl[v >> 12 & 63], i + 1 < n ? tbl[v >> 6 & 63] : '=',
                     i + 2 < n ? tbl[v & 63] : '='};
        if (put(b, q, 4) != 0)
            return -1;
    }
    return put(b, "\"", 1);
}

static int render_msg(const struct emsg *m, struct rd *r, struct zs_buf *b, int depth);

/* One value of type t from a field occurrence. -1 with r->msg set (or empty: generic). */
static int render_value(const struct efield *f, const struct emu_type *t, const struct wf *w,
                        struct rd *r, struct zs_buf *b, int depth)
{
    char tmp[96];
    switch (t->kind) {
    case EK_TINYINT:
    case EK_SMALLINT:
    case EK_INT: {
        int32_t x = (int32_t)(uint32_t)w->v;
        if ((t->kind == EK_TINYINT && (x < -128 || x > 127)) ||
            (t->kind == EK_SMALLINT && (x < -32768 || x > 32767))) {
            snprintf(r->msg, r->cap, "value %d is out of range for %s", x, emu_type_name(t));
            return -1;
        }
        return put_i64(b, x);
    }
    case EK_BIGINT:
        return put_i64(b, (int64_t)w->v);
    case EK_DATE:
        if (!date_text((int32_t)(uint32_t)w->v, tmp)) {
            snprintf(r->msg, r->cap, "DATE %d is outside years 0001..9999",
                     (int32_t)(uint32_t)w->v);
            return -1;
        }
        return put_json_str(b, (const uint8_t *)tmp, strlen(tmp));
    case EK_TIMESTAMP:
    case EK_TIMESTAMP_NTZ:
        if (!ts_text((long long)(int64_t)w->v, t->kind == EK_TIMESTAMP_NTZ, tmp)) {
            snprintf(r->msg, r->cap, "timestamp %lld is outside years 0001..9999",
                     (long long)(int64_t)w->v);
            return -1;
        }
        return put_json_str(b, (const uint8_t *)tmp, strlen(tmp));
    case EK_BOOLEAN:
        return put_str(b, w->v ? "true" : "false");
    case EK_FLOAT: {
        uint32_t u = (uint32_t)w->v;
        float x;
        memcpy(&x, &u, 4);
        return put_real(b, x);
    }
    case EK_DOUBLE: {
        double x;
        memcpy(&x, &w->v, 8);
        return put_real(b, x);
    }
    case EK_STRING:
        if (put_json_str(b, w->s, w->len) != 0) {
            snprintf(r->msg, r->cap, "string is not valid UTF-8");
            return -1;
        }
        return 0;
    case EK_BINARY:
        return put_b64(b, w->s, w->len);
    case EK_DECIMAL:
        if (!decimal_ok((const char *)w->s, w->len, t)) {
            snprintf(r->msg, r->cap, "\"%.*s\" is not a DECIMAL(%d,%d)",
                     (int)(w->len > 40 ? 40 : w->len), (const char *)w->s, t->precision, t->scale);
            return -1;
        }
        return put_json_str(b, w->s, w->len);
    case EK_VARIANT: {
        json_error_t je;
        json_t *j = json_loadb((const char *)w->s, w->len, JSON_DECODE_ANY, &je);
        if (j == NULL) {
            snprintf(r->msg, r->cap, "VARIANT value is not JSON: %s", je.text);
            return -1;
        }
        char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        json_decref(j);
        int rc = text != NULL ? put_str(b, text) : -1;
        free(text);
        return rc;
    }
    case EK_STRUCT: {
        struct rd sub = {w->s, w->s + w->len, r->msg, r->cap};
        return render_msg(f->sub, &sub, b, depth + 1);
    }
    default:
        return -1;
    }
}

/* A map entry as `"key":value` (the key as JSON text of its string form). */
static int render_entry(const struct efield *f, const struct emu_type *mt, const struct wf *w,
                        struct rd *r, struct zs_buf *b, int depth)
{
    const struct emsg *em = f->sub;
    struct wf kf = {0}, vf = {0};
    int have_k = 0, have_v = 0;
    struct rd sub = {w->s, w->s + w->len, r->msg, r->cap};
    while (sub.p < sub.end) {
        struct wf x;
        if (next_wf(&sub, &x) != 0) {
            snprintf(r->msg, r->cap, "map entry is truncated");
            return -1;
        }
        if (x.num == (uint32_t)em->f[0].fd->number && x.wt == wire_of(mt->key))
            kf = x, have_k = 1;
        else if (x.num == (uint32_t)em->f[1].fd->number && x.wt == wire_of(mt->val))
            vf = x, have_v = 1;
        else {
            snprintf(r->msg, r->cap, "map entry has field %u with wire type %d", x.num, x.wt);
            return -1;
        }
    }
    struct zs_buf key;
    zs_buf_init(&key, 1 << 20);
    int rc;
    if (!have_k) {
        rc = put_str(&key, mt->key->kind == EK_STRING ? "\"\"" : "\"0\"");
    } else {
        rc = render_value(&em->f[0], mt->key, &kf, r, &key, depth);
        if (rc == 0 && (key.len == 0 || key.data[0] != '"')) { /* numbers and booleans: quote */
            struct zs_buf q;
            zs_buf_init(&q, 1 << 20);
            rc = put(&q, "\"", 1) || put(&q, key.data, key.len) || put(&q, "\"", 1);
            zs_buf_release(&key);
            key = q;
        }
    }
    if (rc == 0)
        rc = put(b, key.data, key.len) || put(b, ":", 1);
    zs_buf_release(&key);
    if (rc != 0)
        return -1;
    if (!have_v) { /* protobuf default value of the value type */
        struct wf zero = {0};
        if (mt->val->kind == EK_STRUCT || wire_of(mt->val) == 2)
            zero.s = (const uint8_t *)"";
        if (mt->val->kind == EK_DECIMAL)
            return put_str(b, "\"0\"");
        return render_value(&em->f[1], mt->val, &zero, r, b, depth);
    }
    return render_value(&em->f[1], mt->val, &vf, r, b, depth);
}

static int render_field(const struct efield *f, struct rd *r, const uint8_t *start,
                        const uint8_t *end, struct zs_buf *b, int depth)
{
    const struct emu_type *t = f->type;
    const struct emu_type *vt = t->kind == EK_ARRAY ? t->elem : t;
    uint32_t num = (uint32_t)f->fd->number;
    int want = wire_of(vt);
    struct rd scan = {start, end, r->msg, r->cap};
    struct wf w, last;
    int seen = 0, first = 1;
    if (t->kind == EK_ARRAY || t->kind == EK_MAP) {
        if (put(b, t->kind == EK_ARRAY ? "[" : "{", 1) != 0)
            return -1;
    }
    while (scan.p < scan.end) {
        if (next_wf(&scan, &w) != 0)
            return -1; /* checked in the first pass */
        if (w.num != num)
            continue;
        if (t->kind == EK_MAP) {
            if ((!first && put(b, ",", 1) != 0) || render_entry(f, t, &w, r, b, depth) != 0)
                return -1;
            first = 0;
        } else if (t->kind == EK_ARRAY) {
            if (w.wt == 2 && want != 2) { /* packed */
                struct rd pr = {w.s, w.s + w.len, r->msg, r->cap};
                while (pr.p < pr.end) {
                    struct wf e = {.num = num, .wt = want};
                    if (want == 0) {
                        if (rd_varint(&pr, &e.v) != 0)
                            return -1;
                    } else {
                        size_t n = want == 1 ? 8 : 4;
                        if ((size_t)(pr.end - pr.p) < n)
                            return -1;
                        for (size_t k = 0; k < n; k++)
                            e.v |= (uint64_t)pr.p[k] << (8 * k);
                        pr.p += n;
                    }
                    if ((!first && put(b, ",", 1) != 0) ||
                        render_value(f, vt, &e, r, b, depth) != 0)
                        return -1;
                    first = 0;
                }
                continue;
            }
            if ((!first && put(b, ",", 1) != 0) || render_value(f, vt, &w, r, b, depth) != 0)
                return -1;
            first = 0;
        } else {
            last = w; /* protobuf: the last value of a singular field wins */
            seen = 1;
        }
    }
    if (t->kind == EK_ARRAY || t->kind == EK_MAP)
        return put(b, t->kind == EK_ARRAY ? "]" : "}", 1);
    if (!seen) {
        if (label_of(f->fd) == L_REQUIRED) {
            snprintf(r->msg, r->cap, "required field %s is missing", f->fd->name);
            return -1;
        }
        return put_str(b, "null");
    }
    return render_value(f, t, &last, r, b, depth);
}

static int render_msg(const struct emsg *m, struct rd *r, struct zs_buf *b, int depth)
{
    if (depth > 64) {
        snprintf(r->msg, r->cap, "record nested too deeply");
        return -1;
    }
    /* Pass 1: every key known, every wire type right for its field. */
    const uint8_t *start = r->p, *end = r->end;
    while (r->p < r->end) {
        struct wf w;
        if (next_wf(r, &w) != 0) {
            snprintf(r->msg, r->cap, "record is truncated or malformed");
            return -1;
        }
        size_t i = 0;
        while (i < m->n && (uint32_t)m->f[i].fd->number != w.num)
            i++;
        if (i == m->n) {
            snprintf(r->msg, r->cap, "field number %u is not in the descriptor", w.num);
            return -1;
        }
        const struct emu_type *ft = m->f[i].type;
        const struct emu_type *vt = ft->kind == EK_ARRAY ? ft->elem : ft;
        int want = wire_of(vt);
        if (w.wt != want && !(w.wt == 2 && ft->kind == EK_ARRAY && want != 2)) {
            snprintf(r->msg, r->cap, "field %s: wire type %d where %s needs %d", m->f[i].fd->name,
                     w.wt, emu_type_name(vt), want);
            return -1;
        }
    }
    /* Pass 2: columns in order. */
    if (put(b, "{", 1) != 0)
        return -1;
    for (size_t i = 0; i < m->n; i++) {
        const struct efield *f = &m->f[i];
        if ((i > 0 && put(b, ",", 1) != 0) || put(b, f->key, f->key_len) != 0)
            return -1;
        size_t before = strlen(r->msg);
        if (render_field(f, r, start, end, b, depth) != 0) {
            if (r->msg[0] == '\0' || before != 0)
                snprintf(r->msg, r->cap, "field %s: value is not valid for %s", f->fd->name,
                         emu_type_name(f->type));
            else {
                char tmp[300];
                snprintf(tmp, sizeof tmp, "%s", r->msg);
                if (strncmp(tmp, "required field", 14) != 0)
                    snprintf(r->msg, r->cap, "field %s: %s", f->fd->name, tmp);
            }
            return -1;
        }
    }
    return put(b, "}", 1);
}

int emu_decode_proto(const struct emu_desc *d, const uint8_t *rec, size_t len, struct zs_buf *out,
                     char *msg, size_t cap)
{
    msg[0] = '\0';
    size_t mark = out->len;
    if (rec == NULL) /* protobuf-c gives an empty bytes field as NULL; NULL + 0 is UB */
        rec = (const uint8_t *)"";
    struct rd r = {rec, rec + len, msg, cap};
    if (render_msg(d->msg, &r, out, 0) != 0 || put(out, "\n", 1) != 0) {
        out->len = mark;
        if (msg[0] == '\0')
            snprintf(msg, cap, "record does not decode (or out of memory)");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- JSON records */

static json_t *json_value(const struct emu_type *t, json_t *v, char *msg, size_t cap,
                          const char *name);

static json_t *json_struct(const struct emu_col *cols, size_t n, json_t *obj, char *msg, size_t cap)
{
    const char *key;
    json_t *v;
    json_object_foreach (obj, key, v) {
        size_t i = 0;
        while (i < n && strcmp(cols[i].name, key) != 0)
            i++;
        if (i == n) {
            snprintf(msg, cap, "key \"%.60s\" is not a column of the table", key);
            return NULL;
        }
    }
    json_t *out = json_object();
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_object_get(obj, cols[i].name);
        if (x == NULL || json_is_null(x)) {
            if (!cols[i].nullable) {
                snprintf(msg, cap, "NOT NULL column %s is missing", cols[i].name);
                json_decref(out);
                return NULL;
            }
            json_object_set_new(out, cols[i].name, json_null());
            continue;
        }
        json_t *y = json_value(cols[i].type, x, msg, cap, cols[i].name);
        if (y == NULL) {
            json_decref(out);
            return NULL;
        }
        json_object_set_new(out, cols[i].name, y);
    }
    return out;
}

/* JSON records: values as the conventions of protocol §5.2 (dates as days, timestamps as
 * epoch microseconds) or their text forms; stored in the same natural forms as PROTO. */
static json_t *json_value(const struct emu_type *t, json_t *v, char *msg, size_t cap,
                          const char *name)
{
    switch (t->kind) {
    case EK_TINYINT:
    case EK_SMALLINT:
    case EK_INT:
    case EK_BIGINT: {
        long long lo = t->kind == EK_TINYINT    ? -128
                       : t->kind == EK_SMALLINT ? -32768
                       : t->kind == EK_INT      ? -2147483648LL
                                                : INT64_MIN;
        long long hi = t->kind == EK_TINYINT    ? 127
                       : t->kind == EK_SMALLINT ? 32767
                       : t->kind == EK_INT      ? 2147483647LL
                                                : INT64_MAX;
        if (json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi)
            return json_integer(json_integer_value(v));
        break;
    }
    case EK_FLOAT:
    case EK_DOUBLE:
        if (json_is_number(v))
            return json_real(json_number_value(v));
        break;
    case EK_BOOLEAN:
        if (json_is_boolean(v))
            return json_boolean(json_is_true(v));
        break;
    case EK_STRING:
    case EK_BINARY:
        if (json_is_string(v))
            return json_string(json_string_value(v));
        break;
    case EK_DECIMAL:
        if (json_is_string(v) && decimal_ok(json_string_value(v), json_string_length(v), t))
            return json_string(json_string_value(v));
        if (json_is_integer(v)) {
            char txt[32];
            snprintf(txt, sizeof txt, "%lld", (long long)json_integer_value(v));
            if (decimal_ok(txt, strlen(txt), t))
                return json_string(txt);
        }
        break;
    case EK_DATE:
        if (json_is_integer(v))
            return fmt_date(json_integer_value(v));
        if (json_is_string(v) && json_string_length(v) == 10)
            return json_string(json_string_value(v));
        break;
    case EK_TIMESTAMP:
    case EK_TIMESTAMP_NTZ:
        if (json_is_integer(v))
            return fmt_ts(json_integer_value(v), t->kind == EK_TIMESTAMP_NTZ);
        if (json_is_string(v))
            return json_string(json_string_value(v));
        break;
    case EK_VARIANT:
        if (json_is_string(v)) { /* VARIANT travels as JSON text (protocol §5.2) */
            json_error_t je;
            json_t *j = json_loads(json_string_value(v), JSON_DECODE_ANY, &je);
            if (j != NULL)
                return j;
        }
        return json_deep_copy(v);
    case EK_ARRAY:
        if (json_is_array(v)) {
            json_t *a = json_array();
            for (size_t i = 0; i < json_array_size(v); i++) {
                json_t *y = json_value(t->elem, json_array_get(v, i), msg, cap, name);
                if (y == NULL) {
                    json_decref(a);
                    return NULL;
                }
                json_array_append_new(a, y);
            }
            return a;
        }
        break;
    case EK_MAP:
        if (json_is_object(v)) {
            json_t *o = json_object();
            const char *k;
            json_t *x;
            json_object_foreach (v, k, x) {
                json_t *y = json_value(t->val, x, msg, cap, name);
                if (y == NULL) {
                    json_decref(o);
                    return NULL;
                }
                json_object_set_new(o, k, y);
            }
            return o;
        }
        break;
    case EK_STRUCT:
        if (json_is_object(v))
            return json_struct(t->fields, t->nfields, v, msg, cap);
        break;
    }
    if (msg[0] == '\0')
        snprintf(msg, cap, "column %s: value does not fit %s", name, emu_type_name(t));
    return NULL;
}

int emu_decode_json(const struct emu_col *cols, size_t ncols, const char *rec, size_t len,
                    struct zs_buf *out, char *msg, size_t cap)
{
    json_error_t je;
    msg[0] = '\0';
    json_t *obj = json_loadb(rec, len, JSON_REJECT_DUPLICATES, &je);
    if (obj == NULL || !json_is_object(obj)) {
        snprintf(msg, cap, "JSON record is not an object: %s", obj ? "wrong type" : je.text);
        json_decref(obj);
        return -1;
    }
    json_t *row = cols ? json_struct(cols, ncols, obj, msg, cap) : json_incref(obj);
    json_decref(obj);
    if (row == NULL)
        return -1;
    char *line = json_dumps(row, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(row);
    int rc = line != NULL && zs_buf_append(out, line, strlen(line)) == ZS_OK &&
                     zs_buf_append(out, "\n", 1) == ZS_OK
                 ? 0
                 : -1;
    free(line);
    return rc;
}
