/*
 * Unity Catalog replies → column definitions (see zs_catalog.h). Untrusted input: every
 * member is type-checked, nesting is bounded, and types become text that the schema
 * compiler (src/schema/types.c) parses and checks again. Thread: any.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/zs_catalog.h"
#include "core/zs_mem.h"

#define UC_MAX_DEPTH 32

static int is_ident(const char *s)
{
    if (s == NULL || !(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (; *s != '\0'; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return 0;
    return 1;
}

/* "char(10)", "varchar(10)": Delta stores them as STRING. */
static int is_char_type(const char *s, size_t n)
{
    size_t k = strncasecmp(s, "varchar(", 8) == 0 ? 8 : strncasecmp(s, "char(", 5) == 0 ? 5 : 0;
    if (k == 0 || n < k + 2 || s[n - 1] != ')')
        return 0;
    for (size_t i = k; i < n - 1; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

/* A simple Spark type name ("integer", "decimal(10,2)") as type text. */
static zs_rc simple_spark_type(const char *s, struct zs_buf *b, struct zs_err *err)
{
    static const struct {
        const char *spark, *uc;
    } names[] = {
        {"byte", "TINYINT"},    {"short", "SMALLINT"},      {"integer", "INT"},
        {"long", "BIGINT"},     {"float", "FLOAT"},         {"double", "DOUBLE"},
        {"boolean", "BOOLEAN"}, {"string", "STRING"},       {"binary", "BINARY"},
        {"date", "DATE"},       {"timestamp", "TIMESTAMP"}, {"timestamp_ntz", "TIMESTAMP_NTZ"},
        {"variant", "VARIANT"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(s, names[i].spark) == 0)
            return zs_buf_puts(b, names[i].uc);
    size_t n = strlen(s);
    if (is_char_type(s, n))
        return zs_buf_puts(b, "STRING");
    /* decimal(p,s) and names the compiler knows or refuses with its own message
     * ("tinyint", "interval day"): pass on what is made of harmless characters only. */
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && strchr("_(), ", s[i]) == NULL)
            return zs_err_set(err, ZS_ESCHEMA, NULL, "unsupported type \"%.60s\"", s);
    if (n == 0)
        return zs_err_set(err, ZS_ESCHEMA, NULL, "empty type");
    return zs_buf_puts(b, s);
}

/* Spark's JSON form of a type → Unity Catalog type text. */
static zs_rc spark_type(json_t *t, struct zs_buf *b, unsigned depth, struct zs_err *err)
{
    if (depth > UC_MAX_DEPTH)
        return zs_err_set(err, ZS_ESCHEMA, NULL, "type nested deeper than %d", UC_MAX_DEPTH);
    if (json_is_string(t))
        return simple_spark_type(json_string_value(t), b, err);
    const char *kind = json_string_value(json_object_get(t, "type"));
    zs_rc rc;
    if (kind == NULL)
        return zs_err_set(err, ZS_ESCHEMA, NULL,
                          "a type is neither a name nor an object with "
                          "\"type\"");
    if (strcmp(kind, "array") == 0) {
        if ((rc = zs_buf_puts(b, "ARRAY<")) != ZS_OK ||
            (rc = spark_type(json_object_get(t, "elementType"), b, depth + 1, err)) != ZS_OK)
            return rc;
        return zs_buf_puts(b, ">");
    }
    if (strcmp(kind, "map") == 0) {
        if ((rc = zs_buf_puts(b, "MAP<")) != ZS_OK ||
            (rc = spark_type(json_object_get(t, "keyType"), b, depth + 1, err)) != ZS_OK ||
            (rc = zs_buf_puts(b, ", ")) != ZS_OK ||
            (rc = spark_type(json_object_get(t, "valueType"), b, depth + 1, err)) != ZS_OK)
            return rc;
        return zs_buf_puts(b, ">");
    }
    if (strcmp(kind, "struct") == 0) {
        json_t *fields = json_object_get(t, "fields");
        if (!json_is_array(fields) || json_array_size(fields) == 0)
            return zs_err_set(err, ZS_ESCHEMA, NULL, "a struct without fields");
        if ((rc = zs_buf_puts(b, "STRUCT<")) != ZS_OK)
            return rc;
        for (size_t i = 0; i < json_array_size(fields); i++) {
            json_t *f = json_array_get(fields, i);
            const char *name = json_string_value(json_object_get(f, "name"));
            json_t *nl = json_object_get(f, "nullable");
            if (!is_ident(name))
                return zs_err_set(err, ZS_ESCHEMA, NULL,
                                  "struct field \"%.60s\" is not a protobuf identifier",
                                  name ? name : "(no name)");
            if ((rc = zs_buf_printf(b, "%s%s: ", i ? ", " : "", name)) != ZS_OK ||
                (rc = spark_type(json_object_get(f, "type"), b, depth + 1, err)) != ZS_OK ||
                (json_is_false(nl) && (rc = zs_buf_puts(b, " NOT NULL")) != ZS_OK))
                return rc;
        }
        return zs_buf_puts(b, ">");
    }
    return zs_err_set(err, ZS_ESCHEMA, NULL, "unsupported type \"%.60s\"", kind);
}

/* type_text with CHAR(n)/VARCHAR(n) rewritten to STRING (they may sit inside a struct). */
static zs_rc text_type(const char *s, struct zs_buf *b)
{
    zs_rc rc = ZS_OK;
    while (*s != '\0' && rc == ZS_OK) {
        if (isalpha((unsigned char)*s)) { /* a whole word: the loop consumes words at once */
            const char *e = s;
            while (isalnum((unsigned char)*e) || *e == '_')
                e++;
            if (*e == '(') {
                const char *c = e + 1;
                while (isdigit((unsigned char)*c))
                    c++;
                if (*c == ')' && is_char_type(s, (size_t)(c + 1 - s))) {
                    rc = zs_buf_puts(b, "STRING");
                    s = c + 1;
                    continue;
                }
            }
            rc = zs_buf_append(b, s, (size_t)(e - s));
            s = e;
            continue;
        }
        rc = zs_buf_append(b, s, 1);
        s++;
    }
    return rc;
}

/* The column's type text into b (see zs_uc_parse_table for the order of preference). */
static zs_rc column_type(json_t *col, struct zs_buf *b, struct zs_err *err)
{
    const char *tj = json_string_value(json_object_get(col, "type_json"));
    if (tj != NULL) {
        json_error_t je;
        json_t *t = json_loads(tj, JSON_DECODE_ANY, &je);
        if (t == NULL)
            return zs_err_set(err, ZS_EPARSE, NULL, "type_json is not JSON: %s", je.text);
        json_t *inner = json_is_object(t) && json_object_get(t, "name") != NULL
                            ? json_object_get(t, "type") /* {"name", "type", "nullable"} */
                            : t;
        zs_rc rc = spark_type(inner, b, 0, err);
        json_decref(t);
        return rc;
    }
    const char *tt = json_string_value(json_object_get(col, "type_text"));
    if (tt != NULL)
        return text_type(tt, b);
    const char *tn = json_string_value(json_object_get(col, "type_name"));
    if (tn == NULL)
        return zs_err_set(err, ZS_EPARSE, NULL, "no type_json, type_text or type_name");
    if (strcasecmp(tn, "DECIMAL") == 0) {
        json_t *p = json_object_get(col, "type_precision"), *s = json_object_get(col, "type_scale");
        if (!json_is_integer(p) || !json_is_integer(s) || json_integer_value(p) < 0 ||
            json_integer_value(p) > 99 || json_integer_value(s) < 0 || json_integer_value(s) > 99)
            return zs_err_set(err, ZS_ESCHEMA, NULL, "DECIMAL without type_precision/type_scale");
        return zs_buf_printf(b, "DECIMAL(%d,%d)", (int)json_integer_value(p),
                             (int)json_integer_value(s));
    }
    if (strcasecmp(tn, "ARRAY") == 0 || strcasecmp(tn, "MAP") == 0 || strcasecmp(tn, "STRUCT") == 0)
        return zs_err_set(err, ZS_ESCHEMA, NULL, "%s without type_json or type_text", tn);
    if (strcasecmp(tn, "CHAR") == 0 || strcasecmp(tn, "VARCHAR") == 0)
        return zs_buf_puts(b, "STRING");
    return simple_spark_type(tn, b, err);
}

static char *arena_dup(struct zs_arena *a, const char *s, size_t n)
{
    return zs_arena_strndup(a, s, n);
}

struct pos_col {
    json_int_t pos;
    size_t idx;
};

static int by_pos(const void *x, const void *y)
{
    const struct pos_col *a = x, *b = y;
    return a->pos < b->pos ? -1 : a->pos > b->pos ? 1 : (a->idx > b->idx) - (a->idx < b->idx);
}

static zs_rc parse_columns(struct zs_arena *a, json_t *root, struct zs_uc_table *out,
                           struct zs_err *err)
{
    json_t *cols = json_object_get(root, "columns");
    if (!json_is_array(cols) || json_array_size(cols) == 0)
        return zs_err_set(err, ZS_EPARSE, NULL, "the reply has no \"columns\" array");
    size_t n = json_array_size(cols);
    if (n > ZS_SCHEMA_MAX_COLUMNS)
        return zs_err_set(err, ZS_ESCHEMA, NULL, "%zu columns (at most %d)", n,
                          ZS_SCHEMA_MAX_COLUMNS);
    struct pos_col *order = zs_calloc(n, sizeof *order);
    out->cols = zs_arena_calloc(a, n, sizeof *out->cols);
    if (order == NULL || out->cols == NULL) {
        zs_free(order);
        return ZS_ENOMEM;
    }
    int all_pos = 1;
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_object_get(json_array_get(cols, i), "position");
        all_pos &= json_is_integer(p);
        order[i] = (struct pos_col){json_is_integer(p) ? json_integer_value(p) : 0, i};
    }
    if (all_pos)
        qsort(order, n, sizeof *order, by_pos);
    struct zs_buf b;
    zs_buf_init(&b, 1 << 20);
    zs_rc rc = ZS_OK;
    for (size_t k = 0; k < n && rc == ZS_OK; k++) {
        json_t *col = json_array_get(cols, order[k].idx);
        const char *name = json_string_value(json_object_get(col, "name"));
        json_t *nl = json_object_get(col, "nullable");
        if (!json_is_object(col) || name == NULL || name[0] == '\0') {
            rc = zs_err_set(err, ZS_EPARSE, NULL, "columns[%zu] has no name", order[k].idx);
            break;
        }
        b.len = 0;
        struct zs_err terr;
        zs_err_clear(&terr);
        if ((rc = column_type(col, &b, &terr)) == ZS_OK && b.len == 0)
            rc = zs_err_set(&terr, ZS_ESCHEMA, NULL, "empty type");
        if (rc != ZS_OK) {
            rc = zs_err_set(err, rc == ZS_ENOMEM ? ZS_ENOMEM : rc, "type", "column \"%.100s\": %s",
                            name, terr.msg);
            break;
        }
        struct zs_column_def *d = &out->cols[k];
        d->name = arena_dup(a, name, strlen(name));
        d->type = arena_dup(a, (const char *)b.data, b.len);
        d->nullable = nl == NULL || json_is_null(nl) ? 1 : json_is_true(nl);
        if (d->name == NULL || d->type == NULL)
            rc = ZS_ENOMEM;
    }
    zs_buf_release(&b);
    zs_free(order);
    if (rc == ZS_OK)
        out->ncols = n;
    return rc;
}

zs_rc zs_uc_parse_table(struct zs_arena *a, const char *text, size_t len, struct zs_uc_table *out,
                        struct zs_err *err)
{
    *out = (struct zs_uc_table){0};
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je);
    if (root == NULL)
        return zs_err_set(err, ZS_EPARSE, NULL, "the reply is not JSON: %s", je.text);
    zs_rc rc = ZS_OK;
    if (!json_is_object(root)) {
        rc = zs_err_set(err, ZS_EPARSE, NULL, "the reply is not a JSON object");
        goto out;
    }
    const char *fn = json_string_value(json_object_get(root, "full_name"));
    if (fn != NULL && (out->full_name = arena_dup(a, fn, strlen(fn))) == NULL) {
        rc = ZS_ENOMEM;
        goto out;
    }
    json_t *at = json_object_get(root, "zerobus_station_fetched_at");
    out->fetched_unix = json_is_integer(at) ? json_integer_value(at) : 0;
    rc = parse_columns(a, root, out, err);
out:
    json_decref(root);
    return rc;
}

zs_rc zs_uc_parse_list(struct zs_arena *a, const char *text, size_t len, const char ***names,
                       size_t *n, const char **next_page, struct zs_err *err)
{
    *names = NULL;
    *n = 0;
    *next_page = NULL;
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je);
    if (root == NULL)
        return zs_err_set(err, ZS_EPARSE, NULL, "the reply is not JSON: %s", je.text);
    zs_rc rc = ZS_OK;
    json_t *tables = json_object_get(root, "tables");
    size_t cnt = json_array_size(tables);
    if (!json_is_object(root) || (tables != NULL && !json_is_array(tables))) {
        rc = zs_err_set(err, ZS_EPARSE, NULL, "the reply has no \"tables\" array");
        goto out;
    }
    *names = zs_arena_calloc(a, cnt ? cnt : 1, sizeof **names);
    if (*names == NULL) {
        rc = ZS_ENOMEM;
        goto out;
    }
    size_t k = 0;
    for (size_t i = 0; i < cnt; i++) {
        json_t *t = json_array_get(tables, i);
        const char *fn = json_string_value(json_object_get(t, "full_name"));
        const char *type = json_string_value(json_object_get(t, "table_type"));
        if (fn == NULL) {
            rc = zs_err_set(err, ZS_EPARSE, NULL, "tables[%zu] has no full_name", i);
            goto out;
        }
        if (type != NULL && strcmp(type, "MANAGED") != 0)
            continue; /* views, external tables: Zerobus writes managed Delta tables only */
        if (((*names)[k++] = arena_dup(a, fn, strlen(fn))) == NULL) {
            rc = ZS_ENOMEM;
            goto out;
        }
    }
    *n = k;
    const char *np = json_string_value(json_object_get(root, "next_page_token"));
    if (np != NULL && np[0] != '\0' && (*next_page = arena_dup(a, np, strlen(np))) == NULL)
        rc = ZS_ENOMEM;
out:
    json_decref(root);
    return rc;
}

/* ---------------------------------------------------------------- diff */

/* One difference, "; "-separated; the text is cut at the buffer's cap (it is a message). */
static void note(struct zs_buf *out, size_t *n, const char *fmt, ...) ZS_PRINTF(3, 4);

static void note(struct zs_buf *out, size_t *n, const char *fmt, ...)
{
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    (*n)++;
    if ((out->len > 0 && zs_buf_puts(out, "; ") != ZS_OK) || zs_buf_puts(out, line) != ZS_OK)
        return;
}

/* The type text of f into b (emptied first); "?" when it does not fit. */
static const char *type_text(const struct zs_field *f, struct zs_buf *b)
{
    b->len = 0;
    if (zs_type_format(f->type, b) != ZS_OK || zs_buf_cstr(b) == NULL)
        return "?";
    return (const char *)b->data;
}

size_t zs_schema_diff(const struct zs_schema *a, const char *a_name, const struct zs_schema *b,
                      const char *b_name, struct zs_buf *out)
{
    size_t n = 0;
    struct zs_buf ta, tb;
    zs_buf_init(&ta, 1 << 16);
    zs_buf_init(&tb, 1 << 16);
    const struct zs_struct *sa = &a->root, *sb = &b->root;
    for (size_t i = 0; i < sa->nfields; i++) {
        const struct zs_field *fa = &sa->fields[i];
        const struct zs_field *fb = zs_struct_find(sb, fa->name, fa->name_len);
        const char *ya = type_text(fa, &ta);
        if (fb == NULL) {
            note(out, &n, "column '%s' (%.200s) is in %s, not in %s", fa->name, ya, a_name, b_name);
            continue;
        }
        const char *yb = type_text(fb, &tb);
        if (strcmp(ya, yb) != 0)
            note(out, &n, "column '%s': %.200s in %s, %.200s in %s", fa->name, ya, a_name, yb,
                 b_name);
        if (fa->nullable != fb->nullable)
            note(out, &n, "column '%s': %s in %s, %s in %s", fa->name,
                 fa->nullable ? "nullable" : "NOT NULL", a_name,
                 fb->nullable ? "nullable" : "NOT NULL", b_name);
        if ((size_t)(fb - sb->fields) != i)
            note(out, &n, "column '%s': position %zu in %s, %zu in %s", fa->name, i + 1, a_name,
                 (size_t)(fb - sb->fields) + 1, b_name);
    }
    for (size_t i = 0; i < sb->nfields; i++) {
        const struct zs_field *fb = &sb->fields[i];
        if (zs_struct_find(sa, fb->name, fb->name_len) == NULL)
            note(out, &n, "column '%s' (%.200s) is in %s, not in %s", fb->name, type_text(fb, &tb),
                 b_name, a_name);
    }
    zs_buf_release(&ta);
    zs_buf_release(&tb);
    return n;
}
