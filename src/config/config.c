/*
 * config.json loading: the original service's format plus extension sections, with
 * messages that name file, line, JSON path and problem. jansson parses; a small scan
 * of the source text finds the line of a path (jansson keeps no positions).
 * Thread: loader only; the result is frozen.
 */
#include <errno.h>
#include <libgen.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config_int.h"
#include "core/zs_arena.h"
#include "core/zs_mem.h"

#define CONFIG_MAX_BYTES (16u << 20)

/* ---------------------------------------------------------------- path → line */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end && *p != '"'; p++)
        if (*p == '\\')
            p++;
    return p < end ? p + 1 : end;
}

/* Skip one JSON value (already validated by jansson; bounded by end regardless). */
static const char *skip_value(const char *p, const char *end)
{
    p = skip_ws(p, end);
    if (p < end && *p == '"')
        return skip_string(p, end);
    if (p < end && (*p == '{' || *p == '[')) {
        long depth = 0;
        while (p < end) {
            if (*p == '"') {
                p = skip_string(p, end);
                continue;
            }
            if (*p == '{' || *p == '[')
                depth++;
            else if ((*p == '}' || *p == ']') && --depth == 0)
                return p + 1;
            p++;
        }
        return end;
    }
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n')
        p++;
    return p;
}

/* Position of the value at jp in text, or of the deepest container found. */
static const char *locate(const char *text, size_t len, const struct zs_jpath *jp)
{
    const char *p = skip_ws(text, text + len), *end = text + len;
    for (int i = 0; i < jp->n; i++) {
        const char *container = p;
        if (jp->key[i] != NULL) {
            if (p >= end || *p != '{')
                return container;
            p++;
            size_t kl = strlen(jp->key[i]);
            for (;;) {
                p = skip_ws(p, end);
                if (p >= end || *p != '"')
                    return container;
                const char *ks = p + 1, *ke = skip_string(p, end) - 1;
                p = skip_ws(ke + 1, end);
                if (p < end && *p == ':')
                    p++;
                p = skip_ws(p, end);
                if ((size_t)(ke - ks) == kl && memcmp(ks, jp->key[i], kl) == 0) {
                    if (i == jp->n - 1)
                        return ks - 1; /* point at the key for the last step */
                    break;
                }
                p = skip_ws(skip_value(p, end), end);
                if (p < end && *p == ',')
                    p++;
                else
                    return container;
            }
        } else {
            if (p >= end || *p != '[')
                return container;
            p++;
            for (size_t k = 0; k < jp->idx[i]; k++) {
                p = skip_ws(skip_value(p, end), end);
                if (p < end && *p == ',')
                    p++;
                else
                    return container;
            }
            p = skip_ws(p, end);
        }
    }
    return p;
}

static unsigned line_at(const char *text, const char *pos)
{
    unsigned line = 1;
    for (const char *p = text; p < pos; p++)
        line += *p == '\n';
    return line;
}

static void format_path(const struct zs_jpath *jp, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < jp->n && n < cap; i++) {
        int w;
        if (jp->key[i] == NULL)
            w = snprintf(out + n, cap - n, "[%zu]", jp->idx[i]);
        else
            w = snprintf(out + n, cap - n, "%s%.64s", n ? "." : "", jp->key[i]);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

zs_rc zs_config__fail(const struct zs_cfgctx *cx, const struct zs_jpath *jp, zs_rc code,
                      const char *fmt, ...)
{
    if (cx->err == NULL)
        return code;
    char path[160], where[ZS_ERR_WHERE_MAX];
    format_path(jp, path, sizeof path);
    unsigned line = line_at(cx->text, locate(cx->text, cx->len, jp));
    if (path[0] != '\0')
        snprintf(where, sizeof where, "%s:%u: %s", cx->name, line, path);
    else
        snprintf(where, sizeof where, "%s:%u", cx->name, line);
    va_list ap;
    va_start(ap, fmt);
    zs_err_vset(cx->err, code, where, fmt, ap);
    va_end(ap);
    return code;
}

/* ---------------------------------------------------------------- helpers */

static void jp_push_key(struct zs_jpath *jp, const char *key)
{
    if (jp->n < 16) {
        jp->key[jp->n] = key;
        jp->idx[jp->n] = 0;
    }
    jp->n++;
}

static void jp_push_idx(struct zs_jpath *jp, size_t idx)
{
    if (jp->n < 16) {
        jp->key[jp->n] = NULL;
        jp->idx[jp->n] = idx;
    }
    jp->n++;
}

static const char *json_type_name(json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* A string member borrowed from the JSON tree (alive while the tree is). */
static zs_rc borrow_string(const struct zs_cfgctx *cx, struct zs_jpath *jp, json_t *obj,
                           const char *key, int required, const char **out)
{
    json_t *v = json_object_get(obj, key);
    zs_rc rc = ZS_OK;
    jp_push_key(jp, key);
    if (v == NULL) {
        if (required)
            rc = zs_config__fail(cx, jp, ZS_EINVAL, "missing required key");
    } else if (!json_is_string(v)) {
        rc = zs_config__fail(cx, jp, ZS_EINVAL, "expected a string, got %s", json_type_name(v));
    } else if (json_string_length(v) != strlen(json_string_value(v))) {
        rc = zs_config__fail(cx, jp, ZS_EINVAL, "must not contain NUL characters");
    } else {
        *out = json_string_value(v);
    }
    jp->n--;
    return rc;
}

/* A string member copied into the arena; a required one must not be empty. */
static zs_rc get_string(const struct zs_cfgctx *cx, struct zs_jpath *jp, json_t *obj,
                        const char *key, int required, struct zs_arena *a, const char **out)
{
    const char *v = NULL;
    zs_rc rc = borrow_string(cx, jp, obj, key, required, &v);
    if (rc != ZS_OK || v == NULL)
        return rc;
    if (v[0] == '\0' && required) {
        jp_push_key(jp, key);
        rc = zs_config__fail(cx, jp, ZS_EINVAL, "must not be empty");
        jp->n--;
        return rc;
    }
    *out = zs_arena_strndup(a, v, strlen(v));
    return *out != NULL ? ZS_OK : ZS_ENOMEM;
}

/* Every key of obj must be in allowed[] (NULL-terminated) or in the option table. */
static zs_rc check_keys(const struct zs_cfgctx *cx, struct zs_jpath *jp, json_t *obj,
                        const char *const *allowed, const struct zs_opt *opts)
{
    const char *key;
    json_t *v;
    json_object_foreach (obj, key, v) {
        int ok = 0;
        for (const char *const *a = allowed; *a != NULL && !ok; a++)
            ok = strcmp(*a, key) == 0;
        for (const struct zs_opt *o = opts; o != NULL && o->key != NULL && !ok; o++)
            ok = strcmp(o->key, key) == 0;
        if (!ok) {
            jp_push_key(jp, key);
            zs_rc rc = zs_config__fail(cx, jp, ZS_EINVAL, "unknown key \"%.64s\"", key);
            jp->n--;
            return rc;
        }
    }
    return ZS_OK;
}

static zs_rc apply_opts(const struct zs_cfgctx *cx, struct zs_jpath *jp, json_t *obj,
                        const struct zs_opt *table, void *base)
{
    const char *key;
    json_t *v;
    json_object_foreach (obj, key, v) {
        jp_push_key(jp, key);
        zs_rc rc = zs_opts__apply(cx, jp, table, key, v, base);
        jp->n--;
        if (rc != ZS_OK && rc != ZS_ENOTFOUND)
            return rc;
    }
    return ZS_OK;
}

static int valid_name_part(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int valid_table_name(const char *s)
{
    const char *d1 = strchr(s, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (d1 == NULL || d2 == NULL || strchr(d2 + 1, '.') != NULL)
        return 0;
    return valid_name_part(s, (size_t)(d1 - s)) && valid_name_part(d1 + 1, (size_t)(d2 - d1 - 1)) &&
           valid_name_part(d2 + 1, strlen(d2 + 1));
}

/* ---------------------------------------------------------------- sections */

static zs_rc load_databricks(const struct zs_cfgctx *cx, struct zs_jpath *jp, json_t *root,
                             struct zs_config *c)
{
    static const char *const keys[] = {"server_endpoint", "workspace_id", "workspace_url",
                                       "tls_ca_file", NULL};
    json_t *db = json_object_get(root, "databricks");
    jp_push_key(jp, "databricks");
    zs_rc rc;
    if (db == NULL) {
        rc = zs_config__fail(cx, jp, ZS_EINVAL, "missing required key");
        goto out;
    }
    if (!json_is_object(db)) {
        rc = zs_config__fail(cx, jp, ZS_EINVAL, "expected an object, got %s", json_type_name(db));
        goto out;
    }
    if ((rc = check_keys(cx, jp, db, keys, NULL)) != ZS_OK ||
        (rc = get_string(cx, jp, db, "server_endpoint", 1, c->arena, &c->server_endpoint)) !=
            ZS_OK ||
        (rc = get_string(cx, jp, db, "workspace_url", 1, c->arena, &c->workspace_url)) != ZS_OK ||
        (rc = get_string(cx, jp, db, "workspace_id", 0, c->arena, &c->workspace_id)) != ZS_OK ||
        (rc = get_string(cx, jp, db, "tls_ca_file", 0, c->arena, &c->tls_ca_file)) != ZS_OK)
        goto out;
    if (strncmp(c->workspace_url, "https://", 8) != 0 &&
        strncmp(c->workspace_url, "http://", 7) != 0) {
        jp_push_key(jp, "workspace_url");
        rc = zs_config__fail(cx, jp, ZS_EINVAL,
                             "must start with https:// (or http:// for a local emulator)");
        goto out;
    }
    if (c->workspace_id == NULL || c->workspace_id[0] == '\0') {
        /* The SDKs derive it from the first label of the Zerobus host (protocol §2.1). */
        const char *h = strstr(c->server_endpoint, "://");
        h = h ? h + 3 : c->server_endpoint;
        size_t n = strcspn(h, ".:/");
        if ((c->workspace_id = zs_arena_strndup(c->arena, h, n)) == NULL)
            rc = ZS_ENOMEM;
    }
out:
    jp->n--;
    return rc;
}

static zs_rc load_column(const struct zs_cfgctx *cx, struct zs_jpath *jp, json_t *f,
                         struct zs_column_def *cd)
{
    static const char *const keys[] = {"name",     "type",    "proto_type", "field_num",
                                       "nullable", "comment", NULL};
    zs_rc rc;
    cd->nullable = -1;
    if (!json_is_object(f))
        return zs_config__fail(cx, jp, ZS_EINVAL, "expected an object, got %s", json_type_name(f));
    if ((rc = check_keys(cx, jp, f, keys, NULL)) != ZS_OK ||
        (rc = borrow_string(cx, jp, f, "name", 1, &cd->name)) != ZS_OK ||
        (rc = borrow_string(cx, jp, f, "type", 1, &cd->type)) != ZS_OK ||
        (rc = borrow_string(cx, jp, f, "proto_type", 0, &cd->proto_type)) != ZS_OK)
        return rc;
    const char *comment = NULL;
    if ((rc = borrow_string(cx, jp, f, "comment", 0, &comment)) != ZS_OK)
        return rc;
    json_t *v = json_object_get(f, "nullable");
    if (v != NULL) {
        jp_push_key(jp, "nullable");
        rc = json_is_boolean(v)
                 ? ZS_OK
                 : zs_config__fail(cx, jp, ZS_EINVAL, "expected true or false, got %s",
                                   json_type_name(v));
        jp->n--;
        if (rc != ZS_OK)
            return rc;
        cd->nullable = json_is_true(v);
    }
    v = json_object_get(f, "field_num");
    if (v != NULL) {
        jp_push_key(jp, "field_num");
        rc = json_is_integer(v) && json_integer_value(v) != 0
                 ? ZS_OK
                 : zs_config__fail(cx, jp, ZS_EINVAL, "expected a positive integer, got %s",
                                   json_is_integer(v) ? "0" : json_type_name(v));
        jp->n--;
        if (rc != ZS_OK)
            return rc;
        cd->field_num = json_integer_value(v);
    }
    return ZS_OK;
}

static zs_rc camel_name(struct zs_arena *a, const char *key, const char **out)
{
    struct zs_buf b;
    zs_buf_init(&b, 4096);
    zs_rc rc = zs_schema_camel(key, "", &b);
    if (rc == ZS_OK) {
        /* A key may start with a digit or hold '-': keep the message name an identifier. */
        for (size_t i = 0; i < b.len; i++)
            if (b.data[i] == '-')
                b.data[i] = '_';
        const char *pre = b.len > 0 && b.data[0] >= '0' && b.data[0] <= '9' ? "T" : "";
        size_t pl = strlen(pre);
        char *s = zs_arena_alloc(a, pl + b.len + 1);
        if (s == NULL) {
            rc = ZS_ENOMEM;
        } else {
            memcpy(s, pre, pl);
            memcpy(s + pl, b.data, b.len);
            s[pl + b.len] = '\0';
            *out = s;
        }
    }
    zs_buf_release(&b);
    return rc;
}

/* The table's schema options, so that hand-written and catalog columns compile alike. */
static struct zs_schema_opts schema_opts(const struct zs_config *c, const struct zs_table_cfg *t)
{
    return (struct zs_schema_opts){
        .package = t->proto_package,
        .message_name = t->message_name,
        .reject_unknown = t->unknown_fields == 0,
        .max_depth = (unsigned)c->station.max_json_depth,
        .max_record_bytes = (size_t)c->station.max_record_bytes,
    };
}

zs_rc zs_config_table_compile(const struct zs_config *c, const struct zs_table_cfg *t,
                              const struct zs_column_def *cols, size_t n, struct zs_schema **out,
                              struct zs_err *err)
{
    struct zs_schema_opts so = schema_opts(c, t);
    return zs_schema_create(&so, cols, n, out, NULL, err);
}

static zs_rc table_name_check(const struct zs_cfgctx *cx, struct zs_jpath *jp,
                              const struct zs_table_cfg *t)
{
    if (valid_table_name(t->table_name))
        return ZS_OK;
    return zs_config__fail(cx, jp, ZS_EINVAL,
                           "\"%.100s\" is not catalog.schema.table (three non-empty parts of "
                           "letters, digits, '_' or '-')",
                           t->table_name);
}

/* A table given as its name only ("key": "catalog.schema.table"): columns from the catalog. */
static zs_rc load_table_name(const struct zs_cfgctx *cx, struct zs_jpath *jp, json_t *tj,
                             struct zs_config *c, struct zs_table_cfg *t)
{
    const char *name = json_string_value(tj);
    if ((t->table_name = zs_arena_strndup(c->arena, name, strlen(name))) == NULL)
        return ZS_ENOMEM;
    zs_rc rc = table_name_check(cx, jp, t);
    if (rc != ZS_OK)
        return rc;
    t->unknown_fields = c->station.unknown_fields;
    t->proto_package = "";
    t->from_catalog = true;
    return camel_name(c->arena, t->key, &t->message_name);
}

static zs_rc load_table(const struct zs_cfgctx *cx, struct zs_jpath *jp, const char *key,
                        json_t *tj, struct zs_config *c, struct zs_table_cfg *t)
{
    static const char *const keys[] = {"table_name", "proto_package", "message_name", "fields",
                                       NULL};
    zs_rc rc;
    if (!valid_name_part(key, strlen(key)))
        return zs_config__fail(cx, jp, ZS_EINVAL,
                               "table key \"%.64s\" must be letters, digits, '_' or '-' (it is "
                               "the URL path /ingest/<key>)",
                               key);
    if (!json_is_object(tj) && !json_is_string(tj))
        return zs_config__fail(cx, jp, ZS_EINVAL,
                               "expected an object or a table name (catalog.schema.table), got %s",
                               json_type_name(tj));
    if ((t->key = zs_arena_strndup(c->arena, key, strlen(key))) == NULL)
        return ZS_ENOMEM;
    zs_opts__defaults(zs_table_opts_table, t);
    if (json_is_string(tj))
        return load_table_name(cx, jp, tj, c, t);
    if ((rc = check_keys(cx, jp, tj, keys, zs_table_opts_table)) != ZS_OK ||
        (rc = apply_opts(cx, jp, tj, zs_table_opts_table, t)) != ZS_OK ||
        (rc = get_string(cx, jp, tj, "table_name", 1, c->arena, &t->table_name)) != ZS_OK ||
        (rc = get_string(cx, jp, tj, "proto_package", 0, c->arena, &t->proto_package)) != ZS_OK ||
        (rc = get_string(cx, jp, tj, "message_name", 0, c->arena, &t->message_name)) != ZS_OK)
        return rc;
    jp_push_key(jp, "table_name");
    rc = table_name_check(cx, jp, t);
    jp->n--;
    if (rc != ZS_OK)
        return rc;
    if (t->unknown_fields < 0)
        t->unknown_fields = c->station.unknown_fields;
    if (t->proto_package == NULL)
        t->proto_package = "";
    if (t->message_name == NULL && (rc = camel_name(c->arena, key, &t->message_name)) != ZS_OK)
        return rc;

    json_t *fields = json_object_get(tj, "fields");
    if (fields == NULL) { /* the columns come from Unity Catalog (catalog/zs_catalog.h) */
        t->from_catalog = true;
        return ZS_OK;
    }
    jp_push_key(jp, "fields");
    if (!json_is_array(fields)) {
        rc = zs_config__fail(cx, jp, ZS_EINVAL,
                             "expected an array of columns (or no \"fields\": the columns "
                             "come from Unity Catalog)");
        jp->n--;
        return rc;
    }
    size_t n = json_array_size(fields);
    struct zs_column_def *cols = zs_calloc(n ? n : 1, sizeof *cols);
    if (cols == NULL) {
        jp->n--;
        return ZS_ENOMEM;
    }
    rc = ZS_OK;
    for (size_t i = 0; i < n && rc == ZS_OK; i++) {
        jp_push_idx(jp, i);
        rc = load_column(cx, jp, json_array_get(fields, i), &cols[i]);
        jp->n--;
    }
    if (rc == ZS_OK) {
        struct zs_schema_opts so = schema_opts(c, t);
        size_t bad = (size_t)-1;
        struct zs_err serr;
        zs_err_clear(&serr);
        rc = zs_schema_create(&so, cols, n, &t->schema, &bad, &serr);
        if (rc == ZS_ESCHEMA || rc == ZS_EINVAL) {
            /* Point the message at the column key, the table key, or "fields". */
            jp->n--;
            json_t *col = bad != (size_t)-1 ? json_array_get(fields, bad) : NULL;
            jp_push_key(jp, "fields");
            if (col != NULL) {
                jp_push_idx(jp, bad);
                if (serr.where[0] != '\0' && json_object_get(col, serr.where) != NULL)
                    jp_push_key(jp, serr.where);
            } else if (serr.where[0] != '\0' && json_object_get(tj, serr.where) != NULL) {
                jp->key[jp->n - 1] = serr.where; /* replaces "fields" */
            }
            rc = zs_config__fail(cx, jp, rc, "%s", serr.msg);
            zs_free(cols);
            return rc; /* the caller restores jp */
        }
    }
    jp->n--;
    zs_free(cols);
    return rc;
}

/* "tables": ["catalog.schema.table", ...]: the route key is the table part of each name. */
static zs_rc load_table_list(const struct zs_cfgctx *cx, struct zs_jpath *jp, json_t *tables,
                             struct zs_config *c)
{
    size_t n = json_array_size(tables);
    c->tables = zs_arena_calloc(c->arena, n, sizeof *c->tables);
    if (c->tables == NULL)
        return ZS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(tables, i);
        jp_push_idx(jp, i);
        const char *name = json_string_value(v), *dot = name ? strrchr(name, '.') : NULL;
        zs_rc rc = ZS_OK;
        if (name == NULL)
            rc = zs_config__fail(cx, jp, ZS_EINVAL,
                                 "expected a table name (catalog.schema.table), got %s",
                                 json_type_name(v));
        else if (dot == NULL || !valid_table_name(name))
            rc = zs_config__fail(cx, jp, ZS_EINVAL, "\"%.100s\" is not catalog.schema.table", name);
        else if (zs_config_table(c, dot + 1, strlen(dot + 1)) != NULL)
            rc = zs_config__fail(cx, jp, ZS_EINVAL,
                                 "a second table named \"%.64s\": its route /ingest/%.64s would "
                                 "be ambiguous (use the object form to choose the keys)",
                                 dot + 1, dot + 1);
        else
            rc = load_table(cx, jp, dot + 1, v, c, &c->tables[c->ntables]);
        jp->n--;
        if (rc != ZS_OK)
            return rc;
        c->ntables++;
    }
    return ZS_OK;
}

static zs_rc load_tables(const struct zs_cfgctx *cx, struct zs_jpath *jp, json_t *root,
                         struct zs_config *c)
{
    json_t *tables = json_object_get(root, "tables");
    jp_push_key(jp, "tables");
    zs_rc rc = ZS_OK;
    if (tables == NULL || (!json_is_object(tables) && !json_is_array(tables))) {
        rc = zs_config__fail(cx, jp, ZS_EINVAL,
                             tables ? "expected an object of tables (or an array of table names)"
                                    : "missing required key");
        jp->n--;
        return rc;
    }
    size_t n = json_is_array(tables) ? json_array_size(tables) : json_object_size(tables);
    if (n == 0) {
        rc = zs_config__fail(cx, jp, ZS_EINVAL, "no tables: configure at least one");
        jp->n--;
        return rc;
    }
    if (json_is_array(tables)) {
        rc = load_table_list(cx, jp, tables, c);
        jp->n--;
        return rc;
    }
    c->tables = zs_arena_calloc(c->arena, n, sizeof *c->tables);
    if (c->tables == NULL)
        return ZS_ENOMEM;
    const char *key;
    json_t *tj;
    json_object_foreach (tables, key, tj) {
        int depth = jp->n;
        jp_push_key(jp, key);
        rc = load_table(cx, jp, key, tj, c, &c->tables[c->ntables]);
        jp->n = depth;
        if (c->tables[c->ntables].schema != NULL || rc == ZS_OK)
            c->ntables++; /* so destroy frees a compiled schema */
        if (rc != ZS_OK)
            break;
    }
    jp->n--;
    return rc;
}

/* ---------------------------------------------------------------- entry points */

static const char *getenv_default(const char *n)
{
    return getenv(n);
}

static zs_rc credential(struct zs_config *c, const struct zs_dotenv *d, zs_getenv_fn ge,
                        const char *name, char **out)
{
    const char *v = ge(name);
    if (v == NULL || v[0] == '\0')
        v = zs_dotenv_get(d, name);
    if (v == NULL || v[0] == '\0')
        return ZS_OK;
    (void)c;
    *out = strdup(v);
    return *out ? ZS_OK : ZS_ENOMEM;
}

zs_rc zs_config_parse(const char *name, const char *text, size_t len,
                      const struct zs_dotenv *dotenv, zs_getenv_fn ge, struct zs_config **out,
                      struct zs_err *err)
{
    static const char *const no_keys[] = {NULL};
    struct zs_cfgctx cx = {.name = name, .text = text, .len = len, .err = err};
    struct zs_jpath jp = {0};
    json_error_t jerr;
    zs_rc rc = ZS_ENOMEM;
    struct zs_config *c = NULL;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (ge == NULL)
        ge = getenv_default;
    if (root == NULL) {
        rc = zs_err_set(err, ZS_EPARSE, NULL, "%s:%d:%d: invalid JSON: %s", name, jerr.line,
                        jerr.column, jerr.text);
        goto out;
    }
    struct zs_arena *a = zs_arena_create(8192);
    if (a == NULL || (c = zs_arena_calloc(a, 1, sizeof *c)) == NULL) {
        zs_arena_destroy(a);
        goto out;
    }
    c->arena = a;
    cx.arena = a;
    if ((c->path = zs_arena_strndup(a, name, strlen(name))) == NULL)
        goto out;
    if (!json_is_object(root)) {
        rc = zs_config__fail(&cx, &jp, ZS_EINVAL, "the configuration must be a JSON object");
        goto out;
    }
    zs_opts__defaults(zs_station_opts_table, &c->station);
    json_t *st = json_object_get(root, "station");
    if (st != NULL) {
        jp_push_key(&jp, "station");
        if (!json_is_object(st))
            rc = zs_config__fail(&cx, &jp, ZS_EINVAL, "expected an object, got %s",
                                 json_type_name(st));
        else if ((rc = check_keys(&cx, &jp, st, no_keys, zs_station_opts_table)) == ZS_OK)
            rc = apply_opts(&cx, &jp, st, zs_station_opts_table, &c->station);
        jp.n--;
        if (rc != ZS_OK)
            goto out;
    }
    static const char *const all_top[] = {"databricks", "tables", "station", "auth", NULL};
    json_t *auth = json_object_get(root, "auth");
    if (auth != NULL) { /* checked by the keys parser (access/zs_keys.h) */
        char *t = json_dumps(auth, JSON_COMPACT);
        c->auth_json = t ? zs_arena_strndup(a, t, strlen(t)) : NULL;
        free(t);
        if (c->auth_json == NULL)
            goto out;
    }
    if ((rc = check_keys(&cx, &jp, root, all_top, NULL)) != ZS_OK ||
        (rc = load_databricks(&cx, &jp, root, c)) != ZS_OK ||
        (rc = load_tables(&cx, &jp, root, c)) != ZS_OK)
        goto out;
    if (dotenv != NULL) {
        c->env_warnings = dotenv->bad_lines;
        c->env_first_bad_line = dotenv->first_bad_line;
    }
    if ((rc = credential(c, dotenv, ge, "DATABRICKS_CLIENT_ID", &c->client_id)) != ZS_OK ||
        (rc = credential(c, dotenv, ge, "DATABRICKS_CLIENT_SECRET", &c->client_secret)) != ZS_OK)
        goto out;
    *out = c;
    c = NULL;
    rc = ZS_OK;
out:
    if (rc == ZS_ENOMEM)
        zs_err_set(err, rc, NULL, "%s: out of memory", name);
    zs_config_destroy(c);
    json_decref(root);
    return rc;
}

void zs_config_destroy(struct zs_config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->ntables; i++)
        zs_schema_destroy(c->tables[i].schema);
    free(c->client_id);
    zs_free_secret(c->client_secret);
    zs_arena_destroy(c->arena);
}

void zs_config_path(const struct zs_config *c, const char *p, char *out, size_t cap)
{
    char cfg[4096];
    snprintf(cfg, sizeof cfg, "%s", c->path);
    if (p[0] == '/')
        snprintf(out, cap, "%s", p);
    else
        snprintf(out, cap, "%s/%s", dirname(cfg), p);
}

const struct zs_table_cfg *zs_config_table(const struct zs_config *c, const char *key, size_t len)
{
    for (size_t i = 0; i < c->ntables; i++)
        if (strlen(c->tables[i].key) == len && memcmp(c->tables[i].key, key, len) == 0)
            return &c->tables[i];
    return NULL;
}

zs_rc zs_read_file(const char *path, size_t max, struct zs_buf *out, struct zs_err *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        int e = errno;
        return zs_err_set(err, e == ENOENT ? ZS_ENOTFOUND : ZS_EIO, NULL, "%s: %s", path,
                          strerror(e));
    }
    zs_buf_init(out, max + 1);
    zs_rc rc = ZS_OK;
    for (;;) {
        if ((rc = zs_buf_reserve(out, 65536 < max + 1 - out->len ? 65536 : max + 1 - out->len)) !=
            ZS_OK) {
            rc = zs_err_set(err, rc, NULL, "%s: larger than %zu bytes", path, max);
            break;
        }
        size_t n = fread(out->data + out->len, 1, out->cap - out->len, f);
        out->len += n;
        if (n == 0) {
            if (ferror(f))
                rc = zs_err_set(err, ZS_EIO, NULL, "%s: read error", path);
            break;
        }
        if (out->len > max) {
            rc = zs_err_set(err, ZS_ELIMIT, NULL, "%s: larger than %zu bytes", path, max);
            break;
        }
    }
    fclose(f);
    if (rc == ZS_OK && zs_buf_cstr(out) == NULL)
        rc = ZS_ENOMEM;
    if (rc != ZS_OK)
        zs_buf_release(out);
    return rc;
}

static int file_exists(const char *p)
{
    return access(p, R_OK) == 0;
}

zs_rc zs_config_load(const char *path, const char *env_file, struct zs_config **out,
                     struct zs_err *err)
{
    struct zs_buf text, envtext;
    struct zs_dotenv *d = NULL;
    char beside[4096];
    const char *envp = env_file;
    zs_buf_init(&envtext, 0);
    zs_rc rc = zs_read_file(path, CONFIG_MAX_BYTES, &text, err);
    if (rc != ZS_OK)
        return rc;
    if (envp == NULL) {
        const char *slash = strrchr(path, '/');
        snprintf(beside, sizeof beside, "%.*s.env", slash ? (int)(slash - path + 1) : 0, path);
        envp = file_exists(".env") ? ".env" : file_exists(beside) ? beside : NULL;
    }
    if (envp != NULL) {
        rc = zs_read_file(envp, 1 << 20, &envtext, err);
        if (rc == ZS_OK)
            rc = zs_dotenv_parse(envp, (const char *)envtext.data, envtext.len, NULL, &d, err);
        if (rc != ZS_OK)
            goto out;
    }
    rc = zs_config_parse(path, (const char *)text.data, text.len, d, NULL, out, err);
    if (rc == ZS_OK && envp != NULL &&
        ((*out)->env_path = zs_arena_strndup((*out)->arena, envp, strlen(envp))) == NULL) {
        zs_config_destroy(*out);
        rc = ZS_ENOMEM;
    }
out:
    zs_wipe(envtext.data, envtext.len);
    zs_buf_release(&envtext);
    zs_buf_release(&text);
    zs_dotenv_destroy(d);
    return rc;
}
