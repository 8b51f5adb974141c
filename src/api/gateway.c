/*
 * The gateway: worker threads (one libuv loop and SO_REUSEPORT listener each), request
 * routing and handlers, and the hand-back of Zerobus completions to the worker that owns
 * the request (a locked list + uv_async_send, drained on the worker's loop).
 * Thread: handlers on their worker; completions arrive on the Zerobus client thread.
 */
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "api/zs_api.h"
#include "core/zs_log.h"
#include "core/zs_mem.h"
#include "http/zs_http.h"
#include "schema/zs_transcode.h"
#include "zerobus/zs_zerobus.h"

struct gateway;

struct gw_table {
    const struct zs_table_cfg *cfg;
    struct zs_zb_table *zt;
    char *key_json; /* cfg->key as a quoted JSON string, for the hot-path replies */
};

enum park_kind { PARK_INGEST, PARK_FLUSH };

/* A request waiting for the Zerobus client (wait_for_ack ingest, flush). */
struct parked {
    struct worker *w;
    struct zs_http_req *req;
    enum park_kind kind;
    const struct gw_table *t;
    uint64_t seq;
    zs_rc rc;
    bool retryable;
    char reason[256];
    struct parked *next;
};

struct worker {
    struct gateway *g;
    int index;
    uv_loop_t loop;
    uv_async_t wake; /* completions to answer, or a stop step */
    struct zs_http_server *http;
    struct zs_transcoder *tc;
    struct zs_buf rec;
    pthread_mutex_t lock;
    struct parked *done;
    int stop_step; /* 1: drain, 2: close (set under lock) */
    pthread_t thread;
};

struct gateway {
    const struct zs_config *c;
    const struct zs_gateway_opts *o;
    struct zs_zb *zb;
    struct gw_table *tables;
    size_t ntables;
    struct worker *w;
    unsigned nw;
    uint16_t port;
    atomic_long parked;
    atomic_int stopping;
};

/* ---------------------------------------------------------------- responses */

static void reply_json(struct zs_http_req *r, int status, json_t *j, const char *extra)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    zs_http_respond(r, status, "application/json", s ? s : "{}", s ? strlen(s) : 2, extra);
    free(s);
}

/* The original service's error shape, plus optional field and reason. */
static void reply_error(struct zs_http_req *r, int status, const char *msg, const char *field,
                        const char *extra)
{
    json_t *j = json_pack("{s:s, s:i}", "error", msg, "status_code", status);
    if (field != NULL && field[0] != '\0')
        json_object_set_new(j, "field", json_string(field));
    reply_json(r, status, j, extra);
}

/*
 * The success body of /ingest (offset set: wait_for_ack and offset follow) and /flush
 * (offset NULL), formatted directly: jansson's pack and dump were 8% of the station's CPU
 * per durable request.
 */
static void reply_ok(struct zs_http_req *r, int status, const struct gw_table *t, const char *msg,
                     bool wait, const uint64_t *offset)
{
    /* Assembled with memcpy, not snprintf: this is every ingest answer. */
    char body[512];
    size_t key_len = strlen(t->key_json), msg_len = strlen(msg);
    if (key_len + msg_len + 120 > sizeof body) { /* fixed text + offset: < 120 bytes */
        reply_error(r, 500, "response too large", NULL, NULL);
        return;
    }
    char *p = ZS_PUT_LIT(body, "{\"status\":\"success\",\"table\":");
    p = zs_put(p, t->key_json, key_len);
    p = ZS_PUT_LIT(p, ",\"message\":\"");
    p = zs_put(p, msg, msg_len);
    *p++ = '"';
    if (offset != NULL) {
        p = wait ? ZS_PUT_LIT(p, ",\"wait_for_ack\":true,\"offset\":")
                 : ZS_PUT_LIT(p, ",\"wait_for_ack\":false,\"offset\":");
        p = zs_put_u64(p, *offset);
    }
    *p++ = '}';
    zs_http_respond(r, status, "application/json", body, (size_t)(p - body), NULL);
}

static const struct gw_table *find_table(struct gateway *g, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < g->ntables; i++)
        if (strlen(g->tables[i].cfg->key) == n && memcmp(g->tables[i].cfg->key, p, n) == 0)
            return &g->tables[i];
    return NULL;
}

static void not_found_table(struct zs_http_req *r, const uint8_t *p, size_t n)
{
    char msg[300];
    snprintf(msg, sizeof msg, "Table '%.*s' not found in configuration", (int)(n > 100 ? 100 : n),
             (const char *)p);
    reply_error(r, 404, msg, NULL, NULL);
}

/* ---------------------------------------------------------------- completions */

/* Client thread: hand a parked request back to its worker. */
static void post(struct parked *p, zs_rc rc, const char *reason, bool retryable)
{
    struct worker *w = p->w;
    p->rc = rc;
    p->retryable = retryable;
    snprintf(p->reason, sizeof p->reason, "%s", reason ? reason : "");
    pthread_mutex_lock(&w->lock);
    p->next = w->done;
    w->done = p;
    pthread_mutex_unlock(&w->lock);
    uv_async_send(&w->wake);
}

static void on_parked_done(void *ctx, zs_rc rc, const char *reason, bool retryable)
{
    post(ctx, rc, reason, retryable);
}

static void answer_parked(struct parked *p)
{
    struct zs_http_req *r = p->req;
    if (p->rc == ZS_OK) {
        if (p->kind == PARK_INGEST)
            reply_ok(r, 200, p->t, "Record ingested and acknowledged by Zerobus", true, &p->seq);
        else
            reply_ok(r, 200, p->t, "Every record accepted before the flush is acknowledged", false,
                     NULL);
    } else if (p->rc == ZS_ETIMEDOUT) {
        reply_error(r, 504, p->reason[0] ? p->reason : "timed out waiting for Zerobus", NULL, NULL);
    } else if (p->retryable) {
        reply_error(r, 503, p->reason[0] ? p->reason : "Zerobus is unavailable", NULL,
                    "Retry-After: 1\r\n");
    } else {
        reply_error(r, 502, p->reason[0] ? p->reason : "Zerobus rejected the record", NULL, NULL);
    }
    atomic_fetch_sub(&p->w->g->parked, 1);
    free(p);
}

static void on_wake(uv_async_t *a)
{
    struct worker *w = a->data;
    pthread_mutex_lock(&w->lock);
    struct parked *list = w->done;
    w->done = NULL;
    int step = w->stop_step;
    pthread_mutex_unlock(&w->lock);
    /* Answer in submission order (the list is LIFO). */
    struct parked *rev = NULL;
    while (list != NULL) {
        struct parked *n = list->next;
        list->next = rev;
        rev = list;
        list = n;
    }
    while (rev != NULL) {
        struct parked *n = rev->next;
        answer_parked(rev);
        rev = n;
    }
    if (step == 1 && w->http != NULL)
        zs_http_server_drain(w->http);
    if (step == 2) {
        zs_http_server_close(w->http);
        w->http = NULL;
        uv_close((uv_handle_t *)&w->wake, NULL);
    }
}

/* ---------------------------------------------------------------- handlers */

static int path_eq(const struct zs_http_req *r, const char *p)
{
    return r->path.len == strlen(p) && memcmp(r->path.ptr, p, r->path.len) == 0;
}

static int path_prefix(const struct zs_http_req *r, const char *p, struct zs_slice *rest)
{
    size_t n = strlen(p);
    if (r->path.len <= n || memcmp(r->path.ptr, p, n) != 0)
        return 0;
    *rest = (struct zs_slice){r->path.ptr + n, r->path.len - n};
    return memchr(rest->ptr, '/', rest->len) == NULL;
}

static json_t *table_health(const struct gw_table *t, int *degraded)
{
    struct zs_zb_table_state st;
    zs_zb_table_state(t->zt, &st);
    int bad = strcmp(st.state, "recovering") == 0 || st.last_fail_ms > st.last_ok_ms;
    *degraded |= bad;
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "table_name",
                  t->cfg->table_name, "status", bad ? "degraded" : "healthy", "stream_state",
                  st.state, "queued", (json_int_t)st.queued, "inflight", (json_int_t)st.inflight,
                  "acknowledged", (json_int_t)st.acked, "failed", (json_int_t)st.failed,
                  "recoveries", (json_int_t)st.recoveries, "replayed", (json_int_t)st.replayed,
                  "streams_opened", (json_int_t)st.streams_opened);
    json_object_set_new(j, "last_error",
                        st.last_error[0] ? json_string(st.last_error) : json_null());
    return j;
}

static void handle_health(struct gateway *g, struct zs_http_req *r, const struct gw_table *one)
{
    int degraded = 0;
    if (one != NULL) {
        json_t *j = table_health(one, &degraded);
        reply_json(r, degraded ? 503 : 200, j, degraded ? "Retry-After: 1\r\n" : NULL);
        return;
    }
    json_t *tables = json_object();
    json_t *reasons = json_array();
    for (size_t i = 0; i < g->ntables; i++) {
        int d = 0;
        json_t *th = table_health(&g->tables[i], &d);
        if (d) {
            char why[400];
            json_t *le = json_object_get(th, "last_error");
            snprintf(why, sizeof why, "%s: %s", g->tables[i].cfg->key,
                     json_is_string(le) ? json_string_value(le) : "stream recovering");
            json_array_append_new(reasons, json_string(why));
        }
        degraded |= d;
        json_object_set_new(tables, g->tables[i].cfg->key, th);
    }
    json_t *j = json_pack("{s:s, s:s, s:i, s:o, s:o}", "status", degraded ? "degraded" : "healthy",
                          "service", "zerobus-station", "active_tables", (int)g->ntables, "tables",
                          tables, "reasons", reasons);
    reply_json(r, degraded ? 503 : 200, j, degraded ? "Retry-After: 1\r\n" : NULL);
}

static void handle_info(struct gateway *g, struct zs_http_req *r)
{
    json_t *tables = json_array(), *endpoints = json_object();
    for (size_t i = 0; i < g->ntables; i++)
        json_array_append_new(tables, json_string(g->tables[i].cfg->key));
    json_object_set_new(endpoints, "ingest",
                        json_string("POST /ingest/{table_key}?wait_for_ack=false"));
    json_object_set_new(endpoints, "flush", json_string("POST /flush/{table_key}"));
    json_object_set_new(endpoints, "health", json_string("GET /health"));
    json_object_set_new(endpoints, "table_health", json_string("GET /health/{table_key}"));
    json_object_set_new(endpoints, "docs", json_string("GET /docs"));
    json_object_set_new(endpoints, "redoc", json_string("GET /redoc"));
    json_object_set_new(endpoints, "openapi", json_string("GET /openapi.json"));
    reply_json(r, 200,
               json_pack("{s:s, s:s, s:s, s:o, s:o}", "service", "Zerobus Station", "version",
                         ZS_VERSION, "description",
                         "HTTP/JSON gateway to Databricks Zerobus Ingest", "tables", tables,
                         "endpoints", endpoints),
               NULL);
}

static int parse_wait(const struct zs_http_req *r, int *wait)
{
    char v[16];
    zs_rc rc = zs_http_query_param(r->query, "wait_for_ack", v, sizeof v);
    *wait = 0;
    if (rc == ZS_ENOTFOUND)
        return 0;
    if (rc != ZS_OK)
        return -1;
    for (char *p = v; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on"))
        *wait = 1;
    else if (strcmp(v, "false") && strcmp(v, "0") && strcmp(v, "no") && strcmp(v, "off") && v[0])
        return -1;
    return 0;
}

static void handle_ingest(struct worker *w, struct zs_http_req *r, const struct gw_table *t)
{
    struct gateway *g = w->g;
    int wait;
    if (parse_wait(r, &wait) != 0) {
        reply_error(r, 400, "wait_for_ack must be true or false", "wait_for_ack", NULL);
        return;
    }
    struct zs_err err;
    zs_err_clear(&err);
    w->rec.len = 0;
    zs_rc rc = zs_transcode(w->tc, t->cfg->schema, r->body.ptr, r->body.len, &w->rec, &err);
    if (rc != ZS_OK) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s: %s", err.where, err.msg);
        reply_error(r, rc == ZS_ELIMIT ? 413 : rc == ZS_ENOMEM ? 500 : 400, msg, err.where, NULL);
        return;
    }
    /* JSON tables: the record was validated at the edge; Zerobus gets the JSON text. */
    const void *rec =
        t->cfg->record_type == ZS_RECORD_JSON ? (const void *)r->body.ptr : w->rec.data;
    size_t len = t->cfg->record_type == ZS_RECORD_JSON ? r->body.len : w->rec.len;
    struct parked *p = NULL;
    if (wait) {
        p = zs_xcalloc(1, sizeof *p);
        *p = (struct parked){.w = w, .req = r, .kind = PARK_INGEST, .t = t};
    }
    uint64_t seq = 0;
    rc = zs_zb_submit_seq(t->zt, rec, len, wait ? on_parked_done : NULL, p, wait, &seq);
    if (rc != ZS_OK) {
        free(p);
        struct zs_zb_table_state st;
        zs_zb_table_state(t->zt, &st);
        if (rc == ZS_EAGAIN && strcmp(st.state, "recovering") != 0)
            reply_error(r, 429, "too many records in flight for this table; retry shortly", NULL,
                        "Retry-After: 1\r\n");
        else if (rc == ZS_ELIMIT)
            reply_error(r, 413, "record too large for Zerobus", NULL, NULL);
        else
            reply_error(r, 503, st.last_error[0] ? st.last_error : "Zerobus is unavailable", NULL,
                        "Retry-After: 1\r\n");
        return;
    }
    if (wait) {
        p->seq = seq;
        atomic_fetch_add(&g->parked, 1);
        return; /* answered by answer_parked */
    }
    reply_ok(r, 202, t, "Record queued for ingestion", false, &seq);
}

static void handle_flush(struct worker *w, struct zs_http_req *r, const struct gw_table *t)
{
    struct parked *p = zs_xcalloc(1, sizeof *p);
    *p = (struct parked){.w = w, .req = r, .kind = PARK_FLUSH, .t = t};
    zs_rc rc = zs_zb_flush(t->zt, 0, on_parked_done, p);
    if (rc != ZS_OK) {
        free(p);
        reply_error(r, 503, "the station is shutting down", NULL, "Retry-After: 1\r\n");
        return;
    }
    atomic_fetch_add(&w->g->parked, 1);
}

static void handle(struct zs_http_req *r, void *ctx)
{
    struct worker *w = ctx;
    struct gateway *g = w->g;
    int get = strcmp(r->method, "GET") == 0, post_m = strcmp(r->method, "POST") == 0;
    struct zs_slice key;
    int ingest = path_prefix(r, "/ingest/", &key);
    if (ingest || path_prefix(r, "/flush/", &key)) {
        const struct gw_table *t = find_table(g, key.ptr, key.len);
        if (t == NULL)
            not_found_table(r, key.ptr, key.len);
        else if (!post_m)
            reply_error(r, 405, "use POST", NULL, "Allow: POST\r\n");
        else if (ingest)
            handle_ingest(w, r, t);
        else
            handle_flush(w, r, t);
        return;
    }
    if (path_prefix(r, "/health/", &key) && get) {
        const struct gw_table *t = find_table(g, key.ptr, key.len);
        if (t == NULL)
            not_found_table(r, key.ptr, key.len);
        else
            handle_health(g, r, t);
        return;
    }
    if (get && path_eq(r, "/health")) {
        handle_health(g, r, NULL);
    } else if (get && path_eq(r, "/")) {
        handle_info(g, r);
    } else if (get && path_eq(r, "/openapi.json")) {
        struct zs_buf b;
        zs_buf_init(&b, 16 << 20);
        if (zs_api_openapi(g->c, &b) == ZS_OK)
            zs_http_respond(r, 200, "application/json", b.data, b.len, NULL);
        else
            reply_error(r, 500, "cannot build the OpenAPI document", NULL, NULL);
        zs_buf_release(&b);
    } else if (get && (path_eq(r, "/docs") || path_eq(r, "/redoc"))) {
        const char *page = zs_api_docs_page();
        zs_http_respond(r, 200, "text/html; charset=utf-8", page, strlen(page), NULL);
    } else {
        reply_error(r, 404, "Not Found", NULL, NULL);
    }
}

/* ---------------------------------------------------------------- workers */

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
    return NULL;
}

static zs_rc worker_init(struct gateway *g, struct worker *w, int index, uint16_t port,
                         struct zs_err *err)
{
    w->g = g;
    w->index = index;
    uv_loop_init(&w->loop);
    uv_async_init(&w->loop, &w->wake, on_wake);
    w->wake.data = w;
    pthread_mutex_init(&w->lock, NULL);
    w->tc = zs_transcoder_create();
    zs_buf_init(&w->rec, (size_t)g->c->station.max_record_bytes + 4096);
    struct zs_http_opts ho = {.host = g->o->host, .port = port};
    return zs_http_server_start(&w->loop, &ho, handle, w, &w->http, err);
}

static void set_step(struct gateway *g, int step)
{
    for (unsigned i = 0; i < g->nw; i++) {
        pthread_mutex_lock(&g->w[i].lock);
        g->w[i].stop_step = step;
        pthread_mutex_unlock(&g->w[i].lock);
        uv_async_send(&g->w[i].wake);
    }
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wait_parked(struct gateway *g, long long until)
{
    while (atomic_load(&g->parked) > 0 && mono_ms() < until)
        usleep(2000);
}

void zs_api_zb_opts(const struct zs_config *c, struct zs_zb_opts *out)
{
    const struct zs_station_opts *so = &c->station;
    *out = (struct zs_zb_opts){
        .endpoint = c->server_endpoint,
        .tls_ca_file = c->tls_ca_file,
        .workspace_url = c->workspace_url,
        .workspace_id = c->workspace_id,
        .client_id = c->client_id,
        .client_secret = c->client_secret,
        .streams_per_table = (uint32_t)so->streams_per_table,
        .linger_ms = (uint32_t)so->linger_ms,
        .max_batch_records = (uint32_t)so->max_batch_records,
        .max_batch_bytes = (size_t)so->max_batch_bytes,
        .max_inflight_records = (uint32_t)so->max_inflight_records,
        .max_inflight_bytes = (size_t)so->max_inflight_bytes,
        .recovery_timeout_ms = (uint32_t)so->recovery_timeout_ms,
        .recovery_backoff_ms = (uint32_t)so->recovery_backoff_ms,
        .recovery_retries = so->recovery_retries == 0 ? UINT32_MAX : (uint32_t)so->recovery_retries,
        .ack_timeout_ms = (uint32_t)so->ack_timeout_ms,
        .flush_timeout_ms = (uint32_t)so->flush_timeout_ms,
    };
}

zs_rc zs_gateway_run(const struct zs_config *c, const struct zs_gateway_opts *o, struct zs_err *err)
{
    struct gateway g = {.c = c, .o = o};
    struct zs_zb_opts zo;
    zs_api_zb_opts(c, &zo);
    zs_rc rc = zs_zb_create(&zo, &g.zb, err);
    if (rc != ZS_OK)
        return rc;
    g.tables = zs_xcalloc(c->ntables, sizeof *g.tables);
    g.ntables = c->ntables;
    for (size_t i = 0; i < c->ntables && rc == ZS_OK; i++) {
        struct zs_buf d;
        zs_buf_init(&d, 1 << 24);
        g.tables[i].cfg = &c->tables[i];
        json_t *k = json_string(c->tables[i].key);
        g.tables[i].key_json = k ? json_dumps(k, JSON_ENCODE_ANY) : NULL;
        json_decref(k);
        if (g.tables[i].key_json == NULL)
            g.tables[i].key_json = zs_xstrdup("\"\"");
        if (c->tables[i].record_type == ZS_RECORD_PROTO)
            rc = zs_schema_descriptor(c->tables[i].schema, &d);
        if (rc == ZS_OK)
            rc = zs_zb_table_add(g.zb, c->tables[i].table_name, (int)c->tables[i].record_type,
                                 d.data, d.len, o->eager, &g.tables[i].zt, err);
        zs_buf_release(&d);
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    g.nw = o->workers ? o->workers : (unsigned)(cores > 0 ? cores : 1);
    g.w = zs_xcalloc(g.nw, sizeof *g.w);
    unsigned started = 0, inited = 0;
    for (unsigned i = 0; i < g.nw && rc == ZS_OK; i++) {
        rc = worker_init(&g, &g.w[i], (int)i, i == 0 ? o->port : g.port, err);
        inited++;
        if (rc == ZS_OK && i == 0)
            g.port = zs_http_server_port(g.w[0].http);
        if (rc == ZS_OK && pthread_create(&g.w[i].thread, NULL, worker_main, &g.w[i]) == 0)
            started++;
    }
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    if (rc == ZS_OK) {
        zs_log(ZS_LOG_INFO, "api", "msg=\"listening\" host=%s port=%u workers=%u tables=%zu",
               o->host, g.port, g.nw, g.ntables);
        if (o->on_ready)
            o->on_ready(g.port, o->ready_ctx);
        int sig = 0;
        sigwait(&sigs, &sig); /* the signals are blocked in every thread (see main) */
        zs_log(ZS_LOG_INFO, "api", "msg=\"stopping\" signal=%d", sig);
    }
    /* Graceful stop: no new connections, answer what is parked, flush, close streams. */
    long long until = mono_ms() + (o->shutdown_ms ? o->shutdown_ms : 10000);
    set_step(&g, 1);
    wait_parked(&g, until);
    long long left = until - mono_ms();
    zs_zb_destroy(g.zb, left > 0 ? (uint32_t)left : 0); /* leftovers complete as ECANCELED */
    wait_parked(&g, mono_ms() + 1000);
    set_step(&g, 2);
    for (unsigned i = 0; i < started; i++)
        pthread_join(g.w[i].thread, NULL);
    for (unsigned i = 0; i < inited; i++) {
        struct worker *w = &g.w[i];
        if (i >= started) { /* never ran: close what worker_init opened */
            zs_http_server_close(w->http);
            uv_close((uv_handle_t *)&w->wake, NULL);
            uv_run(&w->loop, UV_RUN_DEFAULT);
        }
        uv_loop_close(&w->loop);
        zs_transcoder_destroy(w->tc);
        zs_buf_release(&w->rec);
        pthread_mutex_destroy(&w->lock);
    }
    free(g.w);
    for (size_t i = 0; g.tables != NULL && i < c->ntables; i++)
        free(g.tables[i].key_json);
    free(g.tables);
    zs_log(ZS_LOG_INFO, "api", "msg=\"stopped\"");
    return rc;
}
