/*
 * Catalog (tables and OAuth clients from a JSON file, or auto-created) and the OAuth
 * token endpoint's logic. Thread: HTTP loop and gRPC thread, under cat_lock / auth_lock.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/zs_err.h"
#include "core/zs_log.h"
#include "core/zs_mem.h"
#include "emulator/emu.h"

struct emu_token {
    char token[80];
    char **grants; /* borrowed from the client, or owned (own_grants) */
    size_t ngrants;
    int own_grants;
    long long expires_ms;
    struct emu_token *next;
};

long long emu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *emu_status_name(int code)
{
    return zs_grpc_status_name(code);
}

int emu_status_parse(const char *s)
{
    for (int i = 0; i < EMU_STATUS_COUNT; i++)
        if (strcasecmp(s, zs_grpc_status_name(i)) == 0)
            return i;
    char *end;
    long v = strtol(s, &end, 10);
    return (*s != '\0' && *end == '\0' && v >= 0 && v < EMU_STATUS_COUNT) ? (int)v : -1;
}

/* ---------------------------------------------------------------- tables */

static int valid_table_name(const char *s)
{
    int dots = 0;
    size_t part = 0;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '.') {
            if (part == 0)
                return 0;
            dots++;
            part = 0;
        } else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   (*p >= '0' && *p <= '9') || *p == '_' || *p == '-') {
            part++;
        } else {
            return 0;
        }
    }
    return dots == 2 && part > 0;
}

static struct emu_table *table_new(const char *name)
{
    struct emu_table *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->name = strdup(name);
    t->fd = -1;
    zs_buf_init(&t->pending, (size_t)1 << 31);
    return t;
}

struct emu_table *emu_table_get(struct emu *e, const char *name, bool create)
{
    pthread_mutex_lock(&e->cat_lock);
    struct emu_table *t = e->tables;
    while (t != NULL && strcasecmp(t->name, name) != 0)
        t = t->next;
    if (t == NULL && create && e->cfg.auto_create && valid_table_name(name) &&
        (t = table_new(name)) != NULL) {
        t->next = e->tables;
        e->tables = t;
    }
    pthread_mutex_unlock(&e->cat_lock);
    return t;
}

json_t *emu_table_json(const struct emu_table *t)
{
    char cat[256], sch[256], tab[256];
    if (sscanf(t->name, "%255[^.].%255[^.].%255s", cat, sch, tab) != 3)
        cat[0] = sch[0] = tab[0] = '\0';
    json_t *cols = json_array();
    for (size_t i = 0; i < t->ncols; i++) {
        const struct emu_col *c = &t->cols[i];
        char *text = emu_type_text(c->type);
        json_t *tj = json_pack("{s:s, s:o, s:b, s:{}}", "name", c->name, "type",
                               emu_type_json(c->type), "nullable", c->nullable, "metadata");
        char *tjs = json_dumps(tj, JSON_COMPACT);
        json_array_append_new(cols, json_pack("{s:s, s:s, s:s, s:s, s:b, s:i}", "name", c->name,
                                              "type_text", text, "type_name",
                                              emu_type_name(c->type), "type_json", tjs, "nullable",
                                              c->nullable, "position", (int)i));
        free(text);
        free(tjs);
        json_decref(tj);
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "name", tab, "catalog_name", cat,
                     "schema_name", sch, "full_name", t->name, "table_type", "MANAGED",
                     "data_source_format", "DELTA", "columns", cols);
}

json_t *emu_tables_list_json(struct emu *e, const char *catalog, const char *schema)
{
    json_t *list = json_array();
    size_t cl = strlen(catalog), sl = strlen(schema);
    pthread_mutex_lock(&e->cat_lock);
    for (struct emu_table *t = e->tables; t != NULL; t = t->next)
        if (t->cols != NULL && strncasecmp(t->name, catalog, cl) == 0 && t->name[cl] == '.' &&
            strncasecmp(t->name + cl + 1, schema, sl) == 0 && t->name[cl + 1 + sl] == '.')
            json_array_append_new(list, emu_table_json(t));
    pthread_mutex_unlock(&e->cat_lock);
    return json_pack("{s:o}", "tables", list);
}

struct emu_retired {
    struct emu_col *cols;
    size_t n;
    struct emu_retired *next;
};

int emu_table_alter(struct emu *e, const char *name, json_t *body, json_t **out, char *msg,
                    size_t cap)
{
    json_t *add = json_object_get(body, "add"), *drop = json_object_get(body, "drop");
    if (!json_is_object(body) || (add != NULL && !json_is_array(add)) ||
        (drop != NULL && !json_is_array(drop))) {
        snprintf(msg, cap,
                 "body: {\"add\": [{\"name\", \"type\", \"nullable\"}], \"drop\": "
                 "[\"column\"]}");
        return 400;
    }
    struct emu_table *t = emu_table_get(e, name, false);
    if (t == NULL) {
        snprintf(msg, cap, "no table %.200s", name);
        return 404;
    }
    size_t nadd = json_array_size(add);
    pthread_mutex_lock(&e->cat_lock);
    int status = 200;
    size_t n = 0, cap_cols = t->ncols + nadd;
    struct emu_col *cols = calloc(cap_cols ? cap_cols : 1, sizeof *cols);
    for (size_t i = 0; cols != NULL && i < t->ncols; i++) {
        int dropped = 0;
        for (size_t k = 0; k < json_array_size(drop); k++) {
            const char *d = json_string_value(json_array_get(drop, k));
            dropped |= d != NULL && strcasecmp(d, t->cols[i].name) == 0;
        }
        if (dropped)
            continue;
        struct zs_err terr;
        char *text = emu_type_text(t->cols[i].type);
        cols[n++] = (struct emu_col){strdup(t->cols[i].name), emu_type_parse(text, &terr),
                                     t->cols[i].nullable};
        free(text);
    }
    if (cols != NULL && n + json_array_size(drop) != t->ncols) {
        snprintf(msg, cap, "\"drop\" names a column the table does not have");
        status = 400;
    }
    for (size_t i = 0; cols != NULL && status == 200 && i < nadd; i++) {
        json_t *c = json_array_get(add, i);
        const char *cn = json_string_value(json_object_get(c, "name"));
        const char *ty = json_string_value(json_object_get(c, "type"));
        json_t *nl = json_object_get(c, "nullable");
        struct zs_err terr;
        struct emu_type *pt = ty ? emu_type_parse(ty, &terr) : NULL;
        int dup = 0;
        for (size_t k = 0; cn != NULL && k < n; k++)
            dup |= strcasecmp(cols[k].name, cn) == 0;
        if (cn == NULL || pt == NULL || dup || json_is_false(nl)) {
            snprintf(msg, cap, "add[%zu]: %s", i,
                     cn == NULL || ty == NULL ? "needs \"name\" and \"type\""
                     : pt == NULL             ? terr.msg
                     : dup                    ? "the table already has that column"
                                              : "an added column must be nullable");
            emu_type_free(pt);
            status = 400;
            break;
        }
        cols[n++] = (struct emu_col){strdup(cn), pt, true};
    }
    if (cols != NULL && status == 200 && n == 0) {
        snprintf(msg, cap, "a table keeps at least one column");
        status = 400;
    }
    struct emu_retired *r = calloc(1, sizeof *r);
    if (cols == NULL || r == NULL) {
        snprintf(msg, cap, "out of memory");
        status = 500;
    }
    if (status == 200) {
        *r = (struct emu_retired){t->cols, t->ncols, t->retired};
        t->retired = r;
        t->cols = cols;
        t->ncols = n;
        atomic_fetch_add(&t->schema_version, 1);
        *out = emu_table_json(t);
    } else {
        emu_cols_free(cols, n);
        free(r);
    }
    pthread_mutex_unlock(&e->cat_lock);
    if (status == 200)
        zs_log(ZS_LOG_INFO, "emu", "msg=\"table altered\" table=%s columns=%zu", t->name, n);
    return status;
}

static int load_columns(json_t *cols, struct emu_table *t, const char *path, struct zs_err *err)
{
    size_t n = json_array_size(cols);
    t->cols = calloc(n ? n : 1, sizeof *t->cols);
    if (!json_is_array(cols) || n == 0 || t->cols == NULL) {
        zs_err_set(err, ZS_EINVAL, NULL, "%s: table %s: \"columns\" must be a non-empty array",
                   path, t->name);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(cols, i);
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *type = json_string_value(json_object_get(c, "type"));
        if (type == NULL)
            type = json_string_value(json_object_get(c, "type_text"));
        json_t *nl = json_object_get(c, "nullable");
        if (name == NULL || type == NULL) {
            zs_err_set(err, ZS_EINVAL, NULL, "%s: table %s column %zu: needs \"name\" and \"type\"",
                       path, t->name, i);
            return -1;
        }
        struct zs_err terr;
        struct emu_type *ty = emu_type_parse(type, &terr);
        if (ty == NULL) {
            zs_err_set(err, ZS_EINVAL, NULL, "%s: table %s column %s: %s", path, t->name, name,
                       terr.msg);
            return -1;
        }
        t->cols[i] = (struct emu_col){strdup(name), ty, nl == NULL || json_is_true(nl)};
        t->ncols = i + 1;
    }
    return 0;
}

static char **string_array(json_t *a, size_t *n)
{
    *n = json_array_size(a);
    char **out = calloc(*n ? *n : 1, sizeof *out);
    for (size_t i = 0; out != NULL && i < *n; i++)
        out[i] = strdup(
            json_string_value(json_array_get(a, i)) ? json_string_value(json_array_get(a, i)) : "");
    return out;
}

zs_rc emu_catalog_load(struct emu *e, struct zs_err *err)
{
    if (e->cfg.catalog_path == NULL)
        return ZS_OK;
    json_error_t je;
    json_t *root = json_load_file(e->cfg.catalog_path, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return zs_err_set(err, ZS_EPARSE, NULL, "%s:%d: %s", e->cfg.catalog_path, je.line, je.text);
    zs_rc rc = ZS_EINVAL;
    const char *key;
    json_t *v;
    json_object_foreach (root, key, v) {
        if (strcmp(key, "tables") != 0 && strcmp(key, "clients") != 0 &&
            strcmp(key, "token_ttl_s") != 0) {
            zs_err_set(err, ZS_EINVAL, NULL, "%s: unknown key \"%s\"", e->cfg.catalog_path, key);
            goto out;
        }
    }
    json_t *tables = json_object_get(root, "tables");
    json_object_foreach (tables, key, v) {
        if (!valid_table_name(key)) {
            zs_err_set(err, ZS_EINVAL, NULL, "%s: \"%s\" is not catalog.schema.table",
                       e->cfg.catalog_path, key);
            goto out;
        }
        struct emu_table *t = table_new(key);
        if (t == NULL)
            goto out;
        t->next = e->tables;
        e->tables = t;
        if (load_columns(json_object_get(v, "columns"), t, e->cfg.catalog_path, err) != 0)
            goto out;
    }
    json_t *clients = json_object_get(root, "clients");
    e->nclients = json_array_size(clients);
    e->catalog_lists_clients = clients != NULL;
    e->clients = calloc(e->nclients ? e->nclients : 1, sizeof *e->clients);
    for (size_t i = 0; i < e->nclients; i++) {
        json_t *c = json_array_get(clients, i);
        const char *id = json_string_value(json_object_get(c, "client_id"));
        const char *secret = json_string_value(json_object_get(c, "client_secret"));
        if (id == NULL || secret == NULL) {
            zs_err_set(err, ZS_EINVAL, NULL, "%s: clients[%zu] needs client_id and client_secret",
                       e->cfg.catalog_path, i);
            goto out;
        }
        e->clients[i].id = strdup(id);
        e->clients[i].secret = strdup(secret);
        e->clients[i].grants = string_array(json_object_get(c, "grants"), &e->clients[i].ngrants);
    }
    json_t *ttl = json_object_get(root, "token_ttl_s");
    if (json_is_integer(ttl) && e->cfg.token_ttl_s <= 0)
        e->cfg.token_ttl_s = (int)json_integer_value(ttl);
    rc = ZS_OK;
out:
    json_decref(root);
    return rc;
}

void emu_catalog_free(struct emu *e)
{
    while (e->tables != NULL) {
        struct emu_table *t = e->tables;
        e->tables = t->next;
        free(t->name);
        emu_cols_free(t->cols, t->ncols);
        while (t->retired != NULL) {
            struct emu_retired *r = t->retired;
            t->retired = r->next;
            emu_cols_free(r->cols, r->n);
            free(r);
        }
        zs_buf_release(&t->pending);
        if (t->fd >= 0)
            close(t->fd);
        free(t);
    }
    for (size_t i = 0; i < e->nclients; i++) {
        free(e->clients[i].id);
        zs_free_secret(e->clients[i].secret);
        for (size_t k = 0; k < e->clients[i].ngrants; k++)
            free(e->clients[i].grants[k]);
        free(e->clients[i].grants);
    }
    free(e->clients);
}

/* ---------------------------------------------------------------- OAuth */

static int grant_matches(const char *pattern, const char *table)
{
    size_t n = strlen(pattern);
    if (strcmp(pattern, "*") == 0)
        return 1;
    if (n >= 2 && pattern[n - 1] == '*' && pattern[n - 2] == '.')
        return strncasecmp(pattern, table, n - 1) == 0;
    return strcasecmp(pattern, table) == 0;
}

static int granted(char *const *grants, size_t n, const char *table)
{
    for (size_t i = 0; i < n; i++)
        if (grant_matches(grants[i], table))
            return 1;
    return 0;
}

static int b64dec(const char *in, char *out, size_t cap)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t k = 0;
    unsigned acc = 0;
    int bits = 0;
    for (; *in != '\0' && *in != '='; in++) {
        const char *p = strchr(tbl, *in);
        if (p == NULL)
            return -1;
        acc = acc << 6 | (unsigned)(p - tbl);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (k + 1 >= cap)
                return -1;
            out[k++] = (char)(acc >> bits & 0xff);
        }
    }
    out[k] = '\0';
    return (int)k;
}

/* Value of a form field, percent-decoded ('+' = space) into a malloc'd string, or NULL. */
static char *form_field(const char *form, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = form; p != NULL && *p != '\0';) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
            char *out = malloc(len + 1);
            size_t k = 0;
            for (size_t i = kl + 1; out != NULL && i < len; i++) {
                char ch = p[i];
                if (ch == '+') {
                    ch = ' ';
                } else if (ch == '%' && i + 2 < len + 1) {
                    char hex[3] = {p[i + 1], p[i + 2], 0};
                    ch = (char)strtol(hex, NULL, 16);
                    i += 2;
                }
                out[k++] = ch;
            }
            if (out != NULL)
                out[k] = '\0';
            return out;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static char *oauth_error(const char *code, const char *desc)
{
    json_t *j = json_pack("{s:s, s:s}", "error", code, "error_description", desc);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

int emu_auth_token(struct emu *e, const char *basic, const char *form, char **body)
{
    int refuse = 0;
    pthread_mutex_lock(&e->faults->lock);
    refuse = e->faults->refuse_tokens_status;
    pthread_mutex_unlock(&e->faults->lock);
    if (refuse) {
        *body = oauth_error(refuse >= 500 ? "temporarily_unavailable" : "invalid_client",
                            "token refused (fault injection)");
        return refuse;
    }
    char cred[512], *grant = form_field(form, "grant_type");
    int ok_grant = grant != NULL && strcmp(grant, "client_credentials") == 0;
    free(grant);
    if (!ok_grant) {
        *body = oauth_error("unsupported_grant_type", "grant_type must be client_credentials");
        return 400;
    }
    if (basic == NULL || strncasecmp(basic, "Basic ", 6) != 0 ||
        b64dec(basic + 6, cred, sizeof cred) < 0 || strchr(cred, ':') == NULL) {
        *body = oauth_error("invalid_client", "HTTP Basic client authentication is required");
        return 401;
    }
    char *colon = strchr(cred, ':');
    *colon = '\0';
    const char *id = cred, *secret = colon + 1;
    struct emu_client *client = NULL;
    for (size_t i = 0; i < e->nclients; i++)
        if (strcmp(e->clients[i].id, id) == 0 && strcmp(e->clients[i].secret, secret) == 0)
            client = &e->clients[i];
    static char *all_tables[] = {"*"};
    char **grants = client ? client->grants : all_tables;
    size_t ngrants = client ? client->ngrants : 1;
    zs_wipe(cred, sizeof cred);
    /* Without a "clients" list any id and secret get a token for every table. */
    if (client == NULL && e->catalog_lists_clients) {
        *body = oauth_error("invalid_client", "unknown client_id or wrong client_secret");
        return 401;
    }
    /* authorization_details: the token is scoped to the TABLE objects it names. */
    char *details = form_field(form, "authorization_details");
    struct emu_token *tok = calloc(1, sizeof *tok);
    int status = 200;
    if (tok == NULL) {
        free(details);
        *body = oauth_error("server_error", "out of memory");
        return 500;
    }
    tok->grants = grants;
    tok->ngrants = ngrants;
    if (details != NULL) {
        json_error_t je;
        json_t *d = json_loads(details, 0, &je);
        size_t n = json_array_size(d);
        char **own = calloc(n ? n : 1, sizeof *own);
        size_t k = 0;
        for (size_t i = 0; own != NULL && i < n && status == 200; i++) {
            json_t *o = json_array_get(d, i);
            const char *type = json_string_value(json_object_get(o, "object_type"));
            const char *path = json_string_value(json_object_get(o, "object_full_path"));
            if (type == NULL || path == NULL || strcmp(type, "TABLE") != 0)
                continue;
            if (!granted(grants, ngrants, path)) {
                *body =
                    oauth_error("access_denied", "the client has no grant on a requested table");
                status = 403;
                break;
            }
            own[k++] = strdup(path);
        }
        if (d == NULL || !json_is_array(d)) {
            *body = oauth_error("invalid_request", "authorization_details is not a JSON array");
            status = 400;
        }
        json_decref(d);
        tok->grants = own;
        tok->ngrants = k;
        tok->own_grants = 1;
        if (status == 200 &&
            k == 0) { /* no TABLE object: a metadata token with the client's grants */
            tok->grants = grants;
            tok->ngrants = ngrants;
            free(own);
            tok->own_grants = 0;
        }
        free(details);
    }
    if (status != 200) {
        for (size_t i = 0; tok->own_grants && i < tok->ngrants; i++)
            free(tok->grants[i]);
        if (tok->own_grants)
            free(tok->grants);
        free(tok);
        return status;
    }
    unsigned char rnd[24];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, rnd, sizeof rnd) != (ssize_t)sizeof rnd)
        memset(rnd, 0x5a, sizeof rnd);
    if (fd >= 0)
        close(fd);
    int n = snprintf(tok->token, sizeof tok->token, "emu1.");
    for (size_t i = 0; i < sizeof rnd; i++)
        n += snprintf(tok->token + n, sizeof tok->token - (size_t)n, "%02x", rnd[i]);
    int ttl = e->cfg.token_ttl_s > 0 ? e->cfg.token_ttl_s : 3600;
    tok->expires_ms = emu_now_ms() + (long long)ttl * 1000;
    pthread_mutex_lock(&e->auth_lock);
    tok->next = e->tokens;
    e->tokens = tok;
    pthread_mutex_unlock(&e->auth_lock);
    json_t *j = json_pack("{s:s, s:s, s:i, s:s}", "access_token", tok->token, "token_type",
                          "Bearer", "expires_in", ttl, "scope", "all-apis");
    *body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return 200;
}

int emu_auth_check(struct emu *e, const char *authorization, const char *table, char *msg,
                   size_t cap)
{
    if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0) {
        snprintf(msg, cap, "missing bearer token in the authorization header");
        return EMU_UNAUTHENTICATED;
    }
    const char *t = authorization + 7;
    int rc = EMU_UNAUTHENTICATED;
    snprintf(msg, cap, "unknown token");
    pthread_mutex_lock(&e->auth_lock);
    for (struct emu_token *k = e->tokens; k != NULL; k = k->next) {
        if (strcmp(k->token, t) != 0)
            continue;
        if (k->expires_ms <= emu_now_ms()) {
            snprintf(msg, cap, "token expired");
        } else if (table != NULL && !granted(k->grants, k->ngrants, table)) {
            snprintf(msg, cap, "token has no grant for table %.200s", table);
            rc = EMU_PERMISSION_DENIED;
        } else {
            rc = EMU_OK;
        }
        break;
    }
    pthread_mutex_unlock(&e->auth_lock);
    return rc;
}

void emu_auth_expire_all(struct emu *e)
{
    pthread_mutex_lock(&e->auth_lock);
    for (struct emu_token *k = e->tokens; k != NULL; k = k->next)
        k->expires_ms = 0;
    pthread_mutex_unlock(&e->auth_lock);
}

void emu_auth_free(struct emu *e)
{
    while (e->tokens != NULL) {
        struct emu_token *k = e->tokens;
        e->tokens = k->next;
        for (size_t i = 0; k->own_grants && i < k->ngrants; i++)
            free(k->grants[i]);
        if (k->own_grants)
            free(k->grants);
        zs_wipe(k->token, sizeof k->token);
        free(k);
    }
}
