/*
 * The emulator's HTTP API on src/http: POST /oidc/v1/token, GET
 * /api/2.1/unity-catalog/tables/{full_name}, GET /api/2.1/unity-catalog/tables?catalog_name=
 * &schema_name=, GET /api/stats, GET /health, and, from loopback only, GET|POST
 * /admin/faults, POST /admin/tables/{full_name}/alter and POST /admin/reset.
 * Thread: the main loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "emulator/emu.h"
#include "emulator/emu_http.h"
#include "http/zs_http.h"

static int path_is(const struct zs_http_req *r, const char *p)
{
    return r->path.len == strlen(p) && memcmp(r->path.ptr, p, r->path.len) == 0;
}

static int method_is(const struct zs_http_req *r, const char *m)
{
    return strcmp(r->method, m) == 0;
}

static void reply_json(struct zs_http_req *r, int status, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    zs_http_respond(r, status, "application/json", s ? s : "{}", s ? strlen(s) : 2, NULL);
    free(s);
}

static void reply_error(struct zs_http_req *r, int status, const char *code, const char *msg)
{
    reply_json(r, status, json_pack("{s:s, s:s}", "error_code", code, "message", msg));
}

static char *header_dup(const struct zs_http_req *r, const char *name)
{
    const struct zs_slice *v = zs_http_req_header(r, name);
    if (v == NULL)
        return NULL;
    char *s = malloc(v->len + 1);
    if (s != NULL) {
        memcpy(s, v->ptr, v->len);
        s[v->len] = '\0';
    }
    return s;
}

json_t *emu_stats_json(struct emu *e)
{
    json_t *tables = json_object();
    pthread_mutex_lock(&e->cat_lock);
    for (struct emu_table *t = e->tables; t != NULL; t = t->next) {
        json_t *errors = json_object();
        for (int c = 1; c < EMU_STATUS_COUNT; c++) {
            long long n = atomic_load(&t->st.errors[c]);
            if (n > 0)
                json_object_set_new(errors, emu_status_name(c), json_integer(n));
        }
        json_object_set_new(tables, t->name,
                            json_pack("{s:I, s:I, s:I, s:I, s:I, s:o}", "rows",
                                      (json_int_t)atomic_load(&t->st.rows), "bytes",
                                      (json_int_t)atomic_load(&t->st.bytes), "streams_opened",
                                      (json_int_t)atomic_load(&t->st.streams), "acks_sent",
                                      (json_int_t)atomic_load(&t->st.acks), "records_received",
                                      (json_int_t)atomic_load(&t->st.records_in), "errors",
                                      errors));
    }
    pthread_mutex_unlock(&e->cat_lock);
    return json_pack("{s:o, s:I}", "tables", tables, "streams_open",
                     (json_int_t)atomic_load(&e->streams_open));
}

static void uc_table(struct emu *e, struct zs_http_req *r)
{
    static const char prefix[] = "/api/2.1/unity-catalog/tables/";
    struct zs_slice seg = {r->path.ptr + sizeof prefix - 1, r->path.len - (sizeof prefix - 1)};
    char name[512], msg[300];
    if (zs_http_url_decode(seg, 0, name, sizeof name) != ZS_OK) {
        reply_error(r, 400, "INVALID_PARAMETER_VALUE", "bad table name in the path");
        return;
    }
    char *auth = header_dup(r, "authorization");
    int code = emu_auth_check(e, auth, NULL, msg, sizeof msg);
    struct emu_table *t = emu_table_get(e, name, false);
    if (code == EMU_OK && t != NULL)
        code = emu_auth_check(e, auth, t->name, msg, sizeof msg);
    free(auth);
    if (code == EMU_UNAUTHENTICATED)
        reply_error(r, 401, "UNAUTHENTICATED", msg);
    else if (t == NULL || t->cols == NULL)
        reply_error(r, 404, "TABLE_DOES_NOT_EXIST", "Table does not exist");
    else if (code != EMU_OK)
        reply_error(r, 403, "PERMISSION_DENIED", msg);
    else {
        pthread_mutex_lock(&e->cat_lock);
        json_t *j = emu_table_json(t);
        pthread_mutex_unlock(&e->cat_lock);
        reply_json(r, 200, j);
    }
}

/* GET /api/2.1/unity-catalog/tables?catalog_name=C&schema_name=S (one page: all of them). */
static void uc_list(struct emu *e, struct zs_http_req *r)
{
    char cat[256], sch[256], msg[300];
    if (zs_http_query_param(r->query, "catalog_name", cat, sizeof cat) != ZS_OK)
        cat[0] = '\0';
    if (zs_http_query_param(r->query, "schema_name", sch, sizeof sch) != ZS_OK)
        sch[0] = '\0';
    char *auth = header_dup(r, "authorization");
    int code = emu_auth_check(e, auth, NULL, msg, sizeof msg);
    free(auth);
    if (code != EMU_OK)
        reply_error(r, 401, "UNAUTHENTICATED", msg);
    else if (cat[0] == '\0' || sch[0] == '\0')
        reply_error(r, 400, "INVALID_PARAMETER_VALUE", "catalog_name and schema_name are required");
    else
        reply_json(r, 200, emu_tables_list_json(e, cat, sch));
}

/* POST /admin/tables/{full_name}/alter */
static void admin_alter(struct emu *e, struct zs_http_req *r, struct zs_slice name_seg)
{
    char name[512], msg[300] = "";
    json_t *j = json_loadb((const char *)r->body.ptr, r->body.len, 0, NULL), *out = NULL;
    if (zs_http_url_decode(name_seg, 0, name, sizeof name) != ZS_OK) {
        reply_error(r, 400, "INVALID_PARAMETER_VALUE", "bad table name in the path");
    } else {
        int status = emu_table_alter(e, name, j, &out, msg, sizeof msg);
        if (status == 200)
            reply_json(r, 200, out);
        else
            reply_error(r, status,
                        status == 404 ? "TABLE_DOES_NOT_EXIST" : "INVALID_PARAMETER_VALUE", msg);
    }
    json_decref(j);
}

/* The catalog_delay_ms fault: a Unity Catalog answer made later, on a loop timer. */
struct delayed {
    uv_timer_t timer; /* first: the close callback frees the struct */
    struct emu *e;
    struct zs_http_req *r;
    int list;
};

static void delayed_free(uv_handle_t *h)
{
    free(h);
}

static void delayed_answer(uv_timer_t *t)
{
    struct delayed *d = t->data;
    if (d->list)
        uc_list(d->e, d->r);
    else
        uc_table(d->e, d->r);
    uv_close((uv_handle_t *)&d->timer, delayed_free);
}

/* 1 when the answer was put off by catalog_delay_ms. */
static int catalog_delay(struct emu *e, struct zs_http_req *r, int list)
{
    pthread_mutex_lock(&e->faults->lock);
    int ms = e->faults->catalog_delay_ms;
    pthread_mutex_unlock(&e->faults->lock);
    struct delayed *d = ms > 0 ? calloc(1, sizeof *d) : NULL;
    if (d == NULL)
        return 0;
    *d = (struct delayed){.e = e, .r = r, .list = list};
    uv_timer_init(uv_default_loop(), &d->timer);
    d->timer.data = d;
    uv_timer_start(&d->timer, delayed_answer, (uint64_t)ms, 0);
    return 1;
}

/* The catalog_status fault: the Unity Catalog API answers that status. 1 if it did. */
static int catalog_fault(struct emu *e, struct zs_http_req *r)
{
    pthread_mutex_lock(&e->faults->lock);
    int st = e->faults->catalog_status;
    pthread_mutex_unlock(&e->faults->lock);
    if (st == 0)
        return 0;
    reply_error(r, st, st >= 500 ? "TEMPORARILY_UNAVAILABLE" : "PERMISSION_DENIED",
                "Unity Catalog unavailable (fault injection)");
    return 1;
}

static void admin_faults(struct emu *e, struct zs_http_req *r)
{
    char msg[300];
    if (method_is(r, "GET")) {
        reply_json(r, 200, emu_faults_json(e->faults));
        return;
    }
    json_error_t je;
    json_t *j = json_loadb((const char *)r->body.ptr, r->body.len, 0, &je);
    if (j == NULL || emu_faults_apply(e->faults, j, msg, sizeof msg) != 0) {
        reply_error(r, 400, "INVALID_PARAMETER_VALUE", j ? msg : je.text);
        json_decref(j);
        return;
    }
    if (json_is_true(json_object_get(j, "expire_tokens")))
        emu_auth_expire_all(e);
    json_decref(j);
    reply_json(r, 200, emu_faults_json(e->faults));
}

void emu_http_handle(struct zs_http_req *r, void *ctx)
{
    struct emu *e = ctx;
    if (path_is(r, "/oidc/v1/token")) {
        if (!method_is(r, "POST")) {
            reply_error(r, 405, "METHOD_NOT_ALLOWED", "use POST");
            return;
        }
        char *auth = header_dup(r, "authorization");
        char *form = malloc(r->body.len + 1);
        char *body = NULL;
        int status = 500;
        if (form != NULL) {
            memcpy(form, r->body.ptr, r->body.len);
            form[r->body.len] = '\0';
            status = emu_auth_token(e, auth, form, &body);
        }
        zs_http_respond(r, status, "application/json", body ? body : "{}", body ? strlen(body) : 2,
                        "Cache-Control: no-store\r\n");
        free(auth);
        free(form);
        free(body);
        return;
    }
    if (r->path.len > 30 && memcmp(r->path.ptr, "/api/2.1/unity-catalog/tables/", 30) == 0 &&
        method_is(r, "GET")) {
        if (!catalog_fault(e, r) && !catalog_delay(e, r, 0))
            uc_table(e, r);
        return;
    }
    if (path_is(r, "/api/2.1/unity-catalog/tables") && method_is(r, "GET")) {
        if (!catalog_fault(e, r) && !catalog_delay(e, r, 1))
            uc_list(e, r);
        return;
    }
    if (path_is(r, "/api/stats") && method_is(r, "GET")) {
        reply_json(r, 200, emu_stats_json(e));
        return;
    }
    if (path_is(r, "/health")) {
        reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
        return;
    }
    if (r->path.len >= 7 && memcmp(r->path.ptr, "/admin/", 7) == 0) {
        if (!r->peer_loopback) {
            reply_error(r, 403, "PERMISSION_DENIED",
                        "admin endpoints answer loopback clients only");
        } else if (path_is(r, "/admin/faults") && (method_is(r, "GET") || method_is(r, "POST"))) {
            admin_faults(e, r);
        } else if (r->path.len > 14 + 6 && memcmp(r->path.ptr, "/admin/tables/", 14) == 0 &&
                   memcmp(r->path.ptr + r->path.len - 6, "/alter", 6) == 0 &&
                   method_is(r, "POST")) {
            admin_alter(e, r, (struct zs_slice){r->path.ptr + 14, r->path.len - 20});
        } else if (path_is(r, "/admin/reset") && method_is(r, "POST")) {
            emu_faults_reset(e->faults);
            reply_json(r, 200, emu_faults_json(e->faults));
        } else {
            reply_error(r, 404, "NOT_FOUND", "no such admin endpoint");
        }
        return;
    }
    reply_error(r, 404, "NOT_FOUND", "no such endpoint");
}
