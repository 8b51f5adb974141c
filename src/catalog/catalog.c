/*
 * Unity Catalog calls, the schema cache and the resolution of a configuration's tables
 * (see zs_catalog.h). Thread: the caller's; calls block.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/zs_auth.h"
#include "catalog/zs_catalog.h"
#include "core/zs_arena.h"
#include "core/zs_clock.h"
#include "core/zs_fs.h"
#include "core/zs_log.h"
#include "core/zs_mem.h"

#define CACHE_MAX_BYTES (16u << 20)

/* ---------------------------------------------------------------- calls */

/* scheme://host[:port] of url (a path is dropped, as the SDK tools' urljoin does). */
static void origin(const char *url, char *out, size_t cap)
{
    const char *h = strstr(url, "://");
    size_t n = h ? (size_t)(h + 3 - url) + strcspn(h + 3, "/?#") : strlen(url);
    snprintf(out, cap, "%.*s", (int)n, url);
}

static zs_rc fetch_token(struct zs_catalog *k, struct zs_err *err)
{
    char url[600];
    origin(k->workspace_url, url, sizeof url - 20);
    strcat(url, "/oidc/v1/token");
    struct zs_buf body;
    int status = 0;
    zs_rc rc = zs_auth_fetch(url, k->client_id, k->client_secret, ZS_AUTH_METADATA_FORM,
                             k->timeout_ms, &status, &body, err);
    if (rc != ZS_OK) {
        atomic_store(&k->down, true);
        return rc;
    }
    int64_t expires = 0;
    struct zs_err perr;
    zs_err_clear(&perr);
    rc = zs_auth_parse_reply(status, (const char *)body.data, body.len, k->token, sizeof k->token,
                             &expires, &perr);
    zs_buf_release(&body);
    if (rc == ZS_OK)
        return ZS_OK;
    k->token[0] = '\0';
    if (status >= 500) {
        atomic_store(&k->down, true);
        return zs_err_set(err, ZS_EUNAVAIL, NULL, "token endpoint answered %d", status);
    }
    if (status == 401 || status == 403 || status == 400)
        return zs_err_set(err, ZS_EAUTH, NULL, "token refused (%d): %s", status, perr.msg);
    return zs_err_set(err, rc, NULL, "token: %s", perr.msg);
}

/* Whether a call may be made: credentials, and the catalog not known to be down. */
static zs_rc usable(struct zs_catalog *k, struct zs_err *err)
{
    if (k->client_id == NULL || k->client_secret == NULL)
        return zs_err_set(err, ZS_EAUTH, NULL,
                          "no credentials (DATABRICKS_CLIENT_ID, DATABRICKS_CLIENT_SECRET)");
    if (atomic_load(&k->down))
        return zs_err_set(err, ZS_EUNAVAIL, NULL, "the catalog did not answer an earlier call");
    return ZS_OK;
}

/* GET origin + path (with the token; a 401 re-mints it once). */
static zs_rc get(struct zs_catalog *k, const char *path, struct zs_buf *body, int *status,
                 struct zs_err *err)
{
    zs_rc ok = usable(k, err);
    if (ok != ZS_OK)
        return ok;
    char url[4600];
    origin(k->workspace_url, url, 600);
    strncat(url, path, sizeof url - strlen(url) - 1);
    for (int attempt = 0; attempt < 2; attempt++) {
        zs_rc rc;
        if (k->token[0] == '\0' && (k->no_mint || (rc = fetch_token(k, err)) != ZS_OK))
            return k->no_mint ? zs_err_set(err, ZS_EAUTH, NULL, "no token") : rc;
        if ((rc = zs_auth_get(url, k->token, k->timeout_ms, status, body, err)) != ZS_OK) {
            atomic_store(&k->down, true);
            return rc;
        }
        if (*status != 401 || attempt == 1 || k->no_mint)
            break;
        zs_buf_release(body); /* the token expired: mint another */
        zs_wipe(k->token, sizeof k->token);
    }
    return ZS_OK;
}

/* The Unity Catalog error of a non-200 reply ({"error_code", "message"}) into err. */
static zs_rc reply_error(struct zs_catalog *k, int status, const struct zs_buf *body,
                         const char *what, struct zs_err *err)
{
    json_t *j = json_loadb((const char *)body->data, body->len, 0, NULL);
    const char *code = json_string_value(json_object_get(j, "error_code"));
    const char *msg = json_string_value(json_object_get(j, "message"));
    zs_rc rc = status == 404                    ? ZS_ENOTFOUND
               : status == 401 || status == 403 ? ZS_EAUTH
               : status >= 500 || status == 429 ? ZS_EUNAVAIL
                                                : ZS_EPARSE;
    if (rc == ZS_EUNAVAIL)
        atomic_store(&k->down, true);
    zs_err_set(err, rc, NULL, "%s%sUnity Catalog answered %d%s%s%s%.200s", what ? what : "",
               what ? ": " : "", status, code ? " " : "", code ? code : "", msg ? ": " : "",
               msg ? msg : "");
    json_decref(j);
    return rc;
}

/* zs_catalog_get_table, with the HTTP status (0 when there was no answer). */
static zs_rc get_table(struct zs_catalog *k, const char *full_name, struct zs_buf *body,
                       int *status, struct zs_err *err)
{
    *status = 0;
    struct zs_buf path;
    zs_buf_init(&path, 4000);
    zs_rc rc = zs_buf_puts(&path, "/api/2.1/unity-catalog/tables/");
    if (rc == ZS_OK)
        rc = zs_auth_url_escape(&path, full_name);
    if (rc != ZS_OK || zs_buf_cstr(&path) == NULL) {
        zs_buf_release(&path);
        return zs_err_set(err, ZS_ELIMIT, NULL, "table name too long");
    }
    rc = get(k, (const char *)path.data, body, status, err);
    zs_buf_release(&path);
    if (rc == ZS_OK && *status != 200) {
        rc = reply_error(k, *status, body, NULL, err);
        zs_buf_release(body);
    }
    return rc;
}

zs_rc zs_catalog_get_table(struct zs_catalog *k, const char *full_name, struct zs_buf *body,
                           struct zs_err *err)
{
    int status;
    return get_table(k, full_name, body, &status, err);
}

zs_rc zs_catalog_list_tables(struct zs_catalog *k, const char *catalog, const char *schema,
                             struct zs_buf *out, struct zs_err *err)
{
    struct zs_arena *a = zs_arena_create(4096);
    char *page = NULL;
    zs_rc rc = a ? ZS_OK : ZS_ENOMEM;
    for (int pages = 0; rc == ZS_OK && pages < 1000; pages++) {
        struct zs_buf path, body;
        zs_buf_init(&path, 4000);
        rc = zs_buf_puts(&path, "/api/2.1/unity-catalog/tables?catalog_name=");
        if (rc == ZS_OK)
            rc = zs_auth_url_escape(&path, catalog);
        if (rc == ZS_OK)
            rc = zs_buf_puts(&path, "&schema_name=");
        if (rc == ZS_OK)
            rc = zs_auth_url_escape(&path, schema);
        if (rc == ZS_OK && page != NULL && (rc = zs_buf_puts(&path, "&page_token=")) == ZS_OK)
            rc = zs_auth_url_escape(&path, page);
        if (rc != ZS_OK || zs_buf_cstr(&path) == NULL) {
            zs_buf_release(&path);
            rc = zs_err_set(err, ZS_ELIMIT, NULL, "name too long");
            break;
        }
        int status = 0;
        rc = get(k, (const char *)path.data, &body, &status, err);
        zs_buf_release(&path);
        if (rc != ZS_OK)
            break;
        if (status != 200) {
            rc = reply_error(k, status, &body, "list tables", err);
            zs_buf_release(&body);
            break;
        }
        const char **names, *next;
        size_t n;
        rc = zs_uc_parse_list(a, (const char *)body.data, body.len, &names, &n, &next, err);
        zs_buf_release(&body);
        for (size_t i = 0; rc == ZS_OK && i < n; i++)
            rc = zs_buf_printf(out, "%s\n", names[i]);
        free(page);
        page = next ? strdup(next) : NULL;
        if (next == NULL)
            break;
    }
    free(page);
    zs_arena_destroy(a);
    return rc;
}

zs_rc zs_catalog_token(struct zs_catalog *k, struct zs_err *err)
{
    zs_rc rc = usable(k, err);
    if (rc != ZS_OK)
        return rc;
    return k->token[0] != '\0' ? ZS_OK : fetch_token(k, err);
}

void zs_catalog_clear(struct zs_catalog *k)
{
    zs_wipe(k->token, sizeof k->token);
}

/* ---------------------------------------------------------------- cache */

void zs_catalog_cache_path(const char *dir, const char *table_name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s.json", dir, table_name);
}

/* Write the reply with "zerobus_station_fetched_at" added. 0 or -errno (logged by caller). */
static int cache_write(const char *dir, const char *table, const struct zs_buf *reply, int64_t now)
{
    char failed[4200];
    int made = zs_fs_mkdir_p(dir, failed, sizeof failed); /* the spool's may not exist yet */
    if (made != 0)
        return made;
    json_t *j = json_loadb((const char *)reply->data, reply->len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return -EINVAL;
    }
    json_object_set_new(j, "zerobus_station_fetched_at", json_integer(now));
    char *text = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (text == NULL)
        return -ENOMEM;
    char path[4200];
    zs_catalog_cache_path(dir, table, path, sizeof path);
    int rc = zs_fs_write_atomic(path, text, strlen(text), 0644);
    free(text);
    return rc;
}

/* ---------------------------------------------------------------- resolution */

/* One table's call, made in the fetch phase (maybe on a pool thread). */
struct fetched {
    bool wanted;
    zs_rc rc;
    int status; /* the HTTP status, 0 without an answer */
    struct zs_err err;
    struct zs_buf reply; /* rc == ZS_OK */
};

struct resolve {
    struct zs_config *c;
    const struct zs_catalog_resolve_opts *o;
    struct zs_catalog k;
    struct zs_catalog_report *rep;
    struct zs_err *err;
    struct fetched *f;  /* per table */
    atomic_size_t next; /* the pool's next table */
};

/* Whether table t needs a catalog call at this load. */
static bool wanted(const struct resolve *r, const struct zs_table_cfg *t)
{
    if (t->from_catalog)
        return t->schema == NULL; /* else resolved already */
    return r->c->station.schema_check != ZS_SCHEMA_CHECK_OFF;
}

static void fetch_one(struct resolve *r, size_t i)
{
    struct fetched *f = &r->f[i];
    f->rc = get_table(&r->k, r->c->tables[i].table_name, &f->reply, &f->status, &f->err);
}

static void *fetch_worker(void *arg)
{
    struct resolve *r = arg;
    for (size_t i; (i = atomic_fetch_add(&r->next, 1)) < r->c->ntables;)
        if (r->f[i].wanted)
            fetch_one(r, i);
    return NULL;
}

/* The fetch phase: one token, then the tables' GETs, catalog_parallel at a time. A 401
 * (the token expired meanwhile) is retried once, alone, with a new token. */
static void fetch_all(struct resolve *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->c->ntables; i++)
        n += r->f[i].wanted = wanted(r, &r->c->tables[i]);
    if (n == 0)
        return;
    struct zs_err terr;
    zs_err_clear(&terr);
    zs_rc trc = r->o->offline ? zs_err_set(&terr, ZS_EUNAVAIL, NULL, "offline (no calls)")
                              : zs_catalog_token(&r->k, &terr);
    if (trc != ZS_OK) { /* every table hears why */
        for (size_t i = 0; i < r->c->ntables; i++)
            if (r->f[i].wanted) {
                r->f[i].rc = trc;
                r->f[i].err = terr;
            }
        return;
    }
    size_t nthreads = (size_t)r->c->station.catalog_parallel;
    if (nthreads > n)
        nthreads = n;
    pthread_t th[64];
    size_t started = 0;
    r->k.no_mint = 1;
    atomic_store(&r->next, 0);
    for (; nthreads > 1 && started < nthreads && started < 64; started++)
        if (pthread_create(&th[started], NULL, fetch_worker, r) != 0)
            break;
    fetch_worker(r); /* this thread too (alone when parallel is 1) */
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    r->k.no_mint = 0;
    bool remint = false;
    for (size_t i = 0; i < r->c->ntables; i++) {
        if (!r->f[i].wanted || r->f[i].status != 401)
            continue;
        if (!remint) /* once, for all of them */
            zs_wipe(r->k.token, sizeof r->k.token);
        remint = true;
        zs_err_clear(&r->f[i].err);
        fetch_one(r, i);
    }
}

/* Compile the columns of a reply for t into *out (a schema with t's options). */
static zs_rc compile_reply(struct resolve *r, const struct zs_table_cfg *t, const char *text,
                           size_t len, struct zs_schema **out, int64_t *fetched, struct zs_err *err)
{
    struct zs_arena *a = zs_arena_create(4096);
    if (a == NULL)
        return ZS_ENOMEM;
    struct zs_uc_table uc;
    zs_rc rc = zs_uc_parse_table(a, text, len, &uc, err);
    if (rc == ZS_OK) {
        rc = zs_config_table_compile(r->c, t, uc.cols, uc.ncols, out, err);
        *fetched = uc.fetched_unix;
    }
    zs_arena_destroy(a);
    return rc;
}

static zs_rc fail_table(struct resolve *r, const struct zs_table_cfg *t, zs_rc rc, const char *fmt,
                        const char *why)
{
    return zs_err_set(r->err, rc, NULL, "%s: tables.%s (%s): %s%s", r->c->path, t->key,
                      t->table_name, fmt, why);
}

/* The processing phase, in table order: compile, compare, cache, log. */
static zs_rc resolve_table(struct resolve *r, struct zs_table_cfg *t, struct fetched *f)
{
    if (!f->wanted)
        return ZS_OK;
    struct zs_err perr;
    zs_err_clear(&perr);
    const struct zs_err ferr = f->err;
    struct zs_buf reply = f->reply;
    f->reply = (struct zs_buf){0}; /* this function releases it */
    zs_rc frc = f->rc;
    struct zs_schema *fetched = NULL;
    int64_t fetched_at = 0;
    zs_rc rc = ZS_OK;
    if (frc == ZS_OK) {
        rc = compile_reply(r, t, (const char *)reply.data, reply.len, &fetched, &fetched_at, &perr);
        if (rc != ZS_OK) {
            zs_buf_release(&reply);
            if (rc == ZS_ENOMEM)
                return rc;
            if (!t->from_catalog) {
                zs_log(ZS_LOG_WARN, "catalog",
                       "msg=\"catalog columns not usable: not compared\" table=%s error=\"%s\"",
                       t->table_name, perr.msg);
                return ZS_OK;
            }
            return fail_table(r, t, ZS_ESCHEMA, "the catalog's columns: ", perr.msg);
        }
    }
    int64_t now = zs_wall_ms() / 1000;
    if (frc == ZS_OK && !t->from_catalog) { /* hand-written: compare */
        struct zs_buf d;
        zs_buf_init(&d, 8192);
        size_t n = zs_schema_diff(fetched, "the catalog", t->schema, "config.json", &d);
        zs_schema_destroy(fetched);
        zs_buf_release(&reply);
        const char *text = zs_buf_cstr(&d) ? (const char *)d.data : "";
        if (n > 0) {
            r->rep->mismatches++;
            if (r->c->station.schema_check == ZS_SCHEMA_CHECK_STRICT) {
                rc = fail_table(r, t, ZS_ESCHEMA,
                                "fields differ from the catalog (schema_check: strict): ", text);
            } else {
                zs_log(ZS_LOG_WARN, "catalog",
                       "msg=\"fields differ from the catalog\" table=%s differences=%zu "
                       "detail=\"%s\"",
                       t->table_name, n, text);
            }
        } else {
            zs_log(ZS_LOG_DEBUG, "catalog", "msg=\"fields match the catalog\" table=%s",
                   t->table_name);
        }
        zs_buf_release(&d);
        return rc;
    }
    if (frc != ZS_OK && !t->from_catalog) {
        zs_log(frc == ZS_ENOTFOUND ? ZS_LOG_WARN : ZS_LOG_INFO, "catalog",
               "msg=\"fields not compared with the catalog\" table=%s reason=\"%s\"", t->table_name,
               ferr.msg);
        return ZS_OK;
    }
    if (frc == ZS_OK) { /* from the catalog: use and cache */
        t->schema = fetched;
        t->schema_source = ZS_SCHEMA_FROM_CATALOG;
        t->schema_fetched_unix = now;
        r->rep->fetched++;
        if (r->o->cache_dir != NULL) {
            int w = cache_write(r->o->cache_dir, t->table_name, &reply, now);
            if (w != 0)
                zs_log(ZS_LOG_WARN, "catalog",
                       "msg=\"cannot cache the table's columns\" dir=%s table=%s error=\"%s\"",
                       r->o->cache_dir, t->table_name, strerror(-w));
        }
        zs_buf_release(&reply);
        zs_log(ZS_LOG_INFO, "catalog", "msg=\"columns from Unity Catalog\" table=%s columns=%zu",
               t->table_name, t->schema->root.nfields);
        return ZS_OK;
    }
    /* No reply: the cache, when the catalog is unreachable (not when it says no). */
    if (frc != ZS_EUNAVAIL && !(frc == ZS_EAUTH && r->k.client_id == NULL))
        return fail_table(r, t, frc, "no columns: ", ferr.msg);
    char path[4200] = "";
    struct zs_buf cached;
    struct zs_err cerr;
    zs_err_clear(&cerr);
    zs_rc crc = ZS_ENOTFOUND;
    if (r->o->cache_dir != NULL) {
        zs_catalog_cache_path(r->o->cache_dir, t->table_name, path, sizeof path);
        crc = zs_read_file(path, CACHE_MAX_BYTES, &cached, &cerr);
    }
    if (crc != ZS_OK) {
        char why[900];
        snprintf(why, sizeof why, "%s, and no cached copy%s%s", ferr.msg, path[0] ? " in " : "",
                 path);
        return fail_table(r, t, frc, "no columns: ", why);
    }
    struct zs_schema *from_cache = NULL;
    rc =
        compile_reply(r, t, (const char *)cached.data, cached.len, &from_cache, &fetched_at, &perr);
    zs_buf_release(&cached);
    if (rc != ZS_OK)
        return rc == ZS_ENOMEM ? rc : fail_table(r, t, rc, "the cached columns: ", perr.msg);
    t->schema = from_cache;
    t->schema_source = ZS_SCHEMA_FROM_CACHE;
    t->schema_fetched_unix = fetched_at;
    r->rep->cached++;
    zs_log(ZS_LOG_WARN, "catalog",
           "msg=\"catalog unreachable: cached columns used\" table=%s columns=%zu age_s=%lld "
           "reason=\"%s\"",
           t->table_name, t->schema->root.nfields,
           fetched_at > 0 ? (long long)(now - fetched_at) : -1LL, ferr.msg);
    return ZS_OK;
}

zs_rc zs_catalog_resolve(struct zs_config *c, const struct zs_catalog_resolve_opts *opts,
                         struct zs_catalog_report *report, struct zs_err *err)
{
    struct zs_catalog_report dummy;
    struct resolve r = {.c = c, .o = opts, .rep = report ? report : &dummy, .err = err};
    *r.rep = (struct zs_catalog_report){0};
    r.k = (struct zs_catalog){.workspace_url = c->workspace_url,
                              .client_id = c->client_id,
                              .client_secret = c->client_secret,
                              .timeout_ms = (long)c->station.catalog_timeout_ms};
    r.f = zs_calloc(c->ntables ? c->ntables : 1, sizeof *r.f);
    if (r.f == NULL)
        return ZS_ENOMEM;
    for (size_t i = 0; i < c->ntables; i++)
        if (!c->tables[i].from_catalog)
            c->tables[i].schema_source = ZS_SCHEMA_FROM_CONFIG;
    fetch_all(&r);
    zs_rc rc = ZS_OK;
    for (size_t i = 0; i < c->ntables && rc == ZS_OK; i++)
        rc = resolve_table(&r, &c->tables[i], &r.f[i]);
    for (size_t i = 0; i < c->ntables; i++)
        zs_buf_release(&r.f[i].reply);
    zs_free(r.f);
    zs_catalog_clear(&r.k);
    return rc;
}
