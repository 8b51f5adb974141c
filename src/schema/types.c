/*
 * Unity Catalog type text → struct zs_type, and back.
 * Grammar (case-insensitive, blanks anywhere between tokens):
 *   type   := NAME | DECIMAL [ '(' p [',' s] ')' ] | ARRAY '<' type '>'
 *           | MAP '<' type ',' type '>' | STRUCT '<' member {',' member} '>'
 *   member := ident [':'] type [NOT NULL] [COMMENT 'text']
 * Thread: any.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/zs_arena.h"
#include "schema/schema_int.h"

struct tparser {
    struct zs_arena *arena;
    const char *text; /* whole input, for messages */
    const char *p;
    struct zs_err *err;
    unsigned depth;
};

static const struct {
    const char *name;
    enum zs_type_kind kind;
} scalar_names[] = {
    {"TINYINT", ZS_TYPE_TINYINT},
    {"BYTE", ZS_TYPE_TINYINT},
    {"SMALLINT", ZS_TYPE_SMALLINT},
    {"SHORT", ZS_TYPE_SMALLINT},
    {"INT", ZS_TYPE_INT},
    {"INTEGER", ZS_TYPE_INT},
    {"INT32", ZS_TYPE_INT},
    {"BIGINT", ZS_TYPE_BIGINT},
    {"LONG", ZS_TYPE_BIGINT},
    {"INT64", ZS_TYPE_BIGINT},
    {"FLOAT", ZS_TYPE_FLOAT},
    {"REAL", ZS_TYPE_FLOAT},
    {"DOUBLE", ZS_TYPE_DOUBLE},
    {"BOOLEAN", ZS_TYPE_BOOLEAN},
    {"BOOL", ZS_TYPE_BOOLEAN},
    {"STRING", ZS_TYPE_STRING},
    {"BINARY", ZS_TYPE_BINARY},
    {"BYTES", ZS_TYPE_BINARY},
    {"DATE", ZS_TYPE_DATE},
    {"TIMESTAMP", ZS_TYPE_TIMESTAMP},
    {"TIMESTAMP_LTZ", ZS_TYPE_TIMESTAMP},
    {"TIMESTAMP_NTZ", ZS_TYPE_TIMESTAMP_NTZ},
    {"VARIANT", ZS_TYPE_VARIANT},
};

const char *zs_type_kind_name(enum zs_type_kind k)
{
    static const char *const names[] = {
        [ZS_TYPE_TINYINT] = "TINYINT",
        [ZS_TYPE_SMALLINT] = "SMALLINT",
        [ZS_TYPE_INT] = "INT",
        [ZS_TYPE_BIGINT] = "BIGINT",
        [ZS_TYPE_FLOAT] = "FLOAT",
        [ZS_TYPE_DOUBLE] = "DOUBLE",
        [ZS_TYPE_BOOLEAN] = "BOOLEAN",
        [ZS_TYPE_STRING] = "STRING",
        [ZS_TYPE_BINARY] = "BINARY",
        [ZS_TYPE_DATE] = "DATE",
        [ZS_TYPE_TIMESTAMP] = "TIMESTAMP",
        [ZS_TYPE_TIMESTAMP_NTZ] = "TIMESTAMP_NTZ",
        [ZS_TYPE_DECIMAL] = "DECIMAL",
        [ZS_TYPE_VARIANT] = "VARIANT",
        [ZS_TYPE_ARRAY] = "ARRAY",
        [ZS_TYPE_MAP] = "MAP",
        [ZS_TYPE_STRUCT] = "STRUCT",
    };
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

static zs_rc fail(struct tparser *tp, const char *fmt, ...) ZS_PRINTF(2, 3);

static zs_rc fail(struct tparser *tp, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return zs_err_set(tp->err, ZS_ESCHEMA, NULL, "type \"%.80s\": %s at offset %zu", tp->text, what,
                      (size_t)(tp->p - tp->text));
}

static void skip_blank(struct tparser *tp)
{
    while (*tp->p == ' ' || *tp->p == '\t' || *tp->p == '\n' || *tp->p == '\r')
        tp->p++;
}

static int is_ident_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int is_ident_char(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

/* Reads an identifier (out and len point into the text). Returns 0 if none. */
static int read_ident(struct tparser *tp, const char **out, size_t *len)
{
    skip_blank(tp);
    if (!is_ident_start(*tp->p))
        return 0;
    const char *s = tp->p;
    while (is_ident_char(*tp->p))
        tp->p++;
    *out = s;
    *len = (size_t)(tp->p - s);
    return 1;
}

static int accept(struct tparser *tp, char c)
{
    skip_blank(tp);
    if (*tp->p != c)
        return 0;
    tp->p++;
    return 1;
}

static int word_is(const char *w, size_t len, const char *kw)
{
    return strlen(kw) == len && strncasecmp(w, kw, len) == 0;
}

static int read_uint(struct tparser *tp, unsigned *out)
{
    skip_blank(tp);
    unsigned v = 0;
    int digits = 0;
    while (*tp->p >= '0' && *tp->p <= '9' && digits < 4) {
        v = v * 10 + (unsigned)(*tp->p - '0');
        tp->p++;
        digits++;
    }
    *out = v;
    return digits > 0 && !(*tp->p >= '0' && *tp->p <= '9');
}

static zs_rc parse_type(struct tparser *tp, const struct zs_type **out);

static struct zs_type *new_type(struct tparser *tp, enum zs_type_kind kind)
{
    struct zs_type *t = zs_arena_calloc(tp->arena, 1, sizeof *t);
    if (t != NULL)
        t->kind = kind;
    return t;
}

static zs_rc parse_decimal(struct tparser *tp, struct zs_type *t)
{
    unsigned p = 10, s = 0; /* Spark's default DECIMAL is DECIMAL(10,0) */
    if (accept(tp, '(')) {
        if (!read_uint(tp, &p))
            return fail(tp, "expected a precision");
        if (accept(tp, ',') && !read_uint(tp, &s))
            return fail(tp, "expected a scale");
        if (!accept(tp, ')'))
            return fail(tp, "expected ')'");
    }
    if (p < 1 || p > 38)
        return fail(tp, "DECIMAL precision must be 1..38");
    if (s > p)
        return fail(tp, "DECIMAL scale must be 0..precision");
    t->precision = (uint8_t)p;
    t->scale = (uint8_t)s;
    return ZS_OK;
}

static int map_key_ok(enum zs_type_kind k)
{
    switch (k) {
    case ZS_TYPE_TINYINT:
    case ZS_TYPE_SMALLINT:
    case ZS_TYPE_INT:
    case ZS_TYPE_BIGINT:
    case ZS_TYPE_BOOLEAN:
    case ZS_TYPE_STRING:
    case ZS_TYPE_DATE:
    case ZS_TYPE_TIMESTAMP:
    case ZS_TYPE_TIMESTAMP_NTZ:
        return 1;
    default:
        return 0;
    }
}

/* Skips COMMENT 'text' ('' inside the quotes is a quote). */
static zs_rc skip_comment(struct tparser *tp)
{
    skip_blank(tp);
    if (*tp->p != '\'')
        return fail(tp, "expected a quoted comment");
    tp->p++;
    for (;;) {
        if (*tp->p == '\0')
            return fail(tp, "unterminated comment");
        if (*tp->p == '\'' && tp->p[1] == '\'') {
            tp->p += 2;
            continue;
        }
        if (*tp->p++ == '\'')
            return ZS_OK;
    }
}

static zs_rc parse_struct(struct tparser *tp, struct zs_type *t)
{
    struct zs_type_member *members = NULL;
    size_t n = 0, cap = 0;
    if (!accept(tp, '<'))
        return fail(tp, "expected '<' after STRUCT");
    if (accept(tp, '>'))
        return fail(tp, "a STRUCT needs at least one field");
    do {
        const char *name;
        size_t len;
        if (n == ZS_SCHEMA_MAX_COLUMNS)
            return fail(tp, "too many STRUCT fields (limit %d)", ZS_SCHEMA_MAX_COLUMNS);
        if (n == cap) { /* cold path: the old array stays in the arena */
            size_t ncap = cap ? cap * 2 : 8;
            struct zs_type_member *m = zs_arena_calloc(tp->arena, ncap, sizeof *m);
            if (m == NULL)
                return ZS_ENOMEM;
            if (n != 0)
                memcpy(m, members, n * sizeof *m);
            members = m;
            cap = ncap;
        }
        if (!read_ident(tp, &name, &len))
            return fail(tp, "expected a field name (letters, digits, underscore)");
        (void)accept(tp, ':');
        zs_rc rc = parse_type(tp, &members[n].type);
        if (rc != ZS_OK)
            return rc;
        members[n].name = name;
        members[n].name_len = len;
        members[n].nullable = true;
        const char *w;
        size_t wl;
        const char *save = tp->p;
        while (read_ident(tp, &w, &wl)) {
            if (word_is(w, wl, "NOT")) {
                if (!read_ident(tp, &w, &wl) || !word_is(w, wl, "NULL"))
                    return fail(tp, "expected NULL after NOT");
                members[n].nullable = false;
            } else if (word_is(w, wl, "COMMENT")) {
                rc = skip_comment(tp);
                if (rc != ZS_OK)
                    return rc;
            } else {
                tp->p = save;
                return fail(tp, "expected ',' or '>'");
            }
            save = tp->p;
        }
        n++;
    } while (accept(tp, ','));
    if (!accept(tp, '>'))
        return fail(tp, "expected ',' or '>' in STRUCT");
    return zs_schema__struct_from_members(tp->arena, members, n, &t->st, tp->err, tp->text);
}

static zs_rc parse_type(struct tparser *tp, const struct zs_type **out)
{
    const char *w;
    size_t len;
    if (!read_ident(tp, &w, &len))
        return fail(tp, "expected a type name");
    if (++tp->depth > ZS_SCHEMA_MAX_NESTING)
        return fail(tp, "nested too deeply");
    zs_rc rc = ZS_OK;
    struct zs_type *t = NULL;
    for (size_t i = 0; i < sizeof scalar_names / sizeof scalar_names[0]; i++) {
        if (word_is(w, len, scalar_names[i].name)) {
            t = new_type(tp, scalar_names[i].kind);
            if (t == NULL)
                return ZS_ENOMEM;
            goto done;
        }
    }
    if (word_is(w, len, "DECIMAL") || word_is(w, len, "DEC") || word_is(w, len, "NUMERIC")) {
        if ((t = new_type(tp, ZS_TYPE_DECIMAL)) == NULL)
            return ZS_ENOMEM;
        rc = parse_decimal(tp, t);
    } else if (word_is(w, len, "ARRAY")) {
        if ((t = new_type(tp, ZS_TYPE_ARRAY)) == NULL)
            return ZS_ENOMEM;
        if (!accept(tp, '<'))
            return fail(tp, "expected '<' after ARRAY");
        if ((rc = parse_type(tp, &t->elem)) != ZS_OK)
            return rc;
        if (!accept(tp, '>'))
            return fail(tp, "expected '>'");
        if (t->elem->kind == ZS_TYPE_ARRAY || t->elem->kind == ZS_TYPE_MAP)
            return fail(tp, "ARRAY<%s<...>> has no protobuf form; wrap the inner value in a STRUCT",
                        zs_type_kind_name(t->elem->kind));
    } else if (word_is(w, len, "MAP")) {
        if ((t = new_type(tp, ZS_TYPE_MAP)) == NULL)
            return ZS_ENOMEM;
        if (!accept(tp, '<'))
            return fail(tp, "expected '<' after MAP");
        if ((rc = parse_type(tp, &t->key)) != ZS_OK)
            return rc;
        if (!accept(tp, ','))
            return fail(tp, "expected ',' between MAP key and value types");
        if ((rc = parse_type(tp, &t->value)) != ZS_OK)
            return rc;
        if (!accept(tp, '>'))
            return fail(tp, "expected '>'");
        if (!map_key_ok(t->key->kind))
            return fail(tp,
                        "MAP keys must be integral, BOOLEAN, STRING, DATE or TIMESTAMP (got %s)",
                        zs_type_kind_name(t->key->kind));
        if (t->value->kind == ZS_TYPE_ARRAY || t->value->kind == ZS_TYPE_MAP)
            return fail(tp, "MAP values of type %s have no protobuf form; wrap them in a STRUCT",
                        zs_type_kind_name(t->value->kind));
    } else if (word_is(w, len, "STRUCT")) {
        if ((t = new_type(tp, ZS_TYPE_STRUCT)) == NULL)
            return ZS_ENOMEM;
        rc = parse_struct(tp, t);
    } else {
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(len < 40 ? len : 40), w);
        return fail(tp, "unsupported type %s", name);
    }
done:
    tp->depth--;
    *out = t;
    return rc;
}

zs_rc zs_type_parse(struct zs_arena *arena, const char *text, const struct zs_type **out,
                    struct zs_err *err)
{
    struct tparser tp = {.arena = arena, .text = text, .p = text, .err = err};
    zs_rc rc = parse_type(&tp, out);
    if (rc != ZS_OK)
        return rc;
    skip_blank(&tp);
    if (*tp.p != '\0')
        return fail(&tp, "unexpected text after the type");
    return ZS_OK;
}

zs_rc zs_type_format(const struct zs_type *t, struct zs_buf *b)
{
    zs_rc rc;
    switch (t->kind) {
    case ZS_TYPE_DECIMAL:
        return zs_buf_printf(b, "DECIMAL(%u,%u)", t->precision, t->scale);
    case ZS_TYPE_ARRAY:
        if ((rc = zs_buf_puts(b, "ARRAY<")) != ZS_OK || (rc = zs_type_format(t->elem, b)) != ZS_OK)
            return rc;
        return zs_buf_puts(b, ">");
    case ZS_TYPE_MAP:
        if ((rc = zs_buf_puts(b, "MAP<")) != ZS_OK || (rc = zs_type_format(t->key, b)) != ZS_OK ||
            (rc = zs_buf_puts(b, ", ")) != ZS_OK || (rc = zs_type_format(t->value, b)) != ZS_OK)
            return rc;
        return zs_buf_puts(b, ">");
    case ZS_TYPE_STRUCT:
        if ((rc = zs_buf_puts(b, "STRUCT<")) != ZS_OK)
            return rc;
        for (size_t i = 0; i < t->st->nfields; i++) {
            const struct zs_field *f = &t->st->fields[i];
            if ((rc = zs_buf_printf(b, "%s%s: ", i ? ", " : "", f->name)) != ZS_OK ||
                (rc = zs_type_format(f->type, b)) != ZS_OK ||
                (!f->nullable && (rc = zs_buf_puts(b, " NOT NULL")) != ZS_OK))
                return rc;
        }
        return zs_buf_puts(b, ">");
    default:
        return zs_buf_puts(b, zs_type_kind_name(t->kind));
    }
}
