/*
 * The runtime (serve.h): N worker threads, each a libuv loop with its own SO_REUSEPORT
 * listener and its gateway worker; completions for parked requests come back through a
 * hand-off queue and uv_async_send. main takes the signals with sigwait and runs the
 * shutdown sequence. Thread: zs_serve_run on main; workers on their own threads.
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
#include "app/access.h"
#include "app/notify.h"
#include "app/serve.h"
#include "catalog/zs_catalog.h"
#include "core/zs_clock.h"
#include "core/zs_handoff.h"
#include "core/zs_log.h"
#include "core/zs_mem.h"
#include "core/zs_prom.h"
#include "http/zs_http.h"
#include "http/zs_tls.h"
#include "schema/zs_schema.h"
#include "spool/zs_spool.h"
#include "zerobus/zs_zerobus.h"

struct serve;

struct worker {
    struct serve *s;
    uv_loop_t loop;
    uv_async_t wake; /* parked requests to answer, or a stop step */
    struct zs_http_server *http[ZS_SERVE_MAX_LISTEN]; /* one per listener */
    struct zs_gateway_worker *gw;
    struct zs_handoff done;
    atomic_int step;      /* 1: drain the listener, 2: close everything */
    atomic_int seen_step; /* the last step this worker acted on (a barrier for main) */
    atomic_uint beats;    /* on_wake runs (the watchdog's sign that the loop turns) */
    unsigned beats_seen;  /* main: beats at the last watchdog check */
    pthread_t thread;
};

struct serve {
    const struct zs_config *c;
    const struct zs_serve_opts *o;
    struct zs_zb *zb;
    struct zs_spool *sp;
    struct zs_spool_table **tables; /* of cur's tables, in order */
    int *vars;                      /* ... and their spool variants */
    const struct zs_config *cur;    /* the configuration running now (main's: reloads run there) */
    pthread_mutex_t admin_mu;       /* admin_reqs */
    struct admin_req *admin_reqs;   /* POST /admin/reload requests main has not answered */
    int admin_closed;               /* stopping: answer at once (admin_mu) */
    int schema_retry;               /* held records wait for the catalog: reload again soon */
    struct zs_gateway *gw;
    struct worker *w;
    unsigned nw;
    struct zs_listen listen[ZS_SERVE_MAX_LISTEN]; /* o->listen, or --host/--port */
    unsigned nlisten;
    uint16_t port[ZS_SERVE_MAX_LISTEN]; /* as bound by the first worker */
    struct zs_tls *tls;                 /* the TLS listeners' certificate, or NULL */
    long long start_wall_ms;            /* for process_start_time_seconds */
};

void zs_serve_zb_opts(const struct zs_config *c, struct zs_zb_opts *out)
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
        .recovery_retries = (uint32_t)so->recovery_retries,
        .recovery_backoff_max_ms = (uint32_t)so->recovery_backoff_max_ms,
        .ack_timeout_ms = (uint32_t)so->ack_timeout_ms,
        .flush_timeout_ms = (uint32_t)so->flush_timeout_ms,
    };
}

zs_rc zs_serve_decode(const void *ctx, const char *table_name, const void *rec, size_t len,
                      struct zs_buf *out)
{
    const struct zs_config *c = ctx;
    for (size_t i = 0; i < c->ntables; i++)
        if (strcmp(c->tables[i].table_name, table_name) == 0 &&
            c->tables[i].record_type == ZS_RECORD_PROTO)
            return zs_schema_to_json(c->tables[i].schema, rec, len, out);
    return ZS_ENOTFOUND;
}

/* The runtime's part of /metrics (zs_gateway_metrics_fn): build, process, OAuth tokens. */
static void runtime_metrics(void *ctx, struct zs_prom *p)
{
    struct serve *s = ctx;
    zs_prom_family(p, "zerobus_station_build_info", "gauge",
                   "Always 1; the labels say which build is running.");
    struct zs_prom_labels l = {
        .n = 2, .k = {"version", "compiler"}, .v = {ZS_VERSION, __VERSION__}};
    zs_prom_u64(p, "zerobus_station_build_info", &l, 1);
    zs_prom_process(p, s->start_wall_ms);
    uint64_t fetches = 0, failures = 0;
    if (s->zb != NULL)
        zs_zb_token_counts(s->zb, &fetches, &failures);
    zs_prom_family(p, "zerobus_station_token_fetches_total", "counter",
                   "Calls to the OAuth token endpoint (cached tokens are not counted).");
    zs_prom_u64(p, "zerobus_station_token_fetches_total", NULL, fetches);
    zs_prom_family(p, "zerobus_station_token_fetch_failures_total", "counter",
                   "Calls to the OAuth token endpoint that gave no token.");
    zs_prom_u64(p, "zerobus_station_token_fetch_failures_total", NULL, failures);
    zs_prom_family(p, "zerobus_station_workers", "gauge", "HTTP worker threads.");
    zs_prom_u64(p, "zerobus_station_workers", NULL, s->nw);
}

/* ---------------------------------------------------------------- workers */

/* Any thread: a parked request is ready; its worker answers it. */
static void post(void *ctx, struct zs_handoff_node *n)
{
    struct worker *w = ctx;
    if (zs_handoff_push(&w->done, n))
        uv_async_send(&w->wake);
}

static void on_wake(uv_async_t *a)
{
    struct worker *w = a->data;
    atomic_fetch_add_explicit(&w->beats, 1, memory_order_relaxed);
    struct zs_handoff_node *list = zs_handoff_take(&w->done);
    while (list != NULL) {
        struct zs_handoff_node *next = list->next;
        zs_gateway_answer(list);
        list = next;
    }
    int step = atomic_load(&w->step);
    if (step == atomic_load(&w->seen_step))
        return;
    for (unsigned i = 0; i < ZS_SERVE_MAX_LISTEN; i++) {
        if (step == 1 && w->http[i] != NULL)
            zs_http_server_drain(w->http[i]);
        if (step == 3) {
            zs_http_server_close(w->http[i]);
            w->http[i] = NULL;
        }
    }
    if (step == 3)
        uv_close((uv_handle_t *)&w->wake, NULL);
    atomic_store(&w->seen_step, step);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* Worker w's loop and its listeners (the first worker binds each port; the others share
 * it through SO_REUSEPORT). */
static zs_rc worker_init(struct serve *s, struct worker *w, struct zs_err *err)
{
    w->s = s;
    uv_loop_init(&w->loop);
    uv_async_init(&w->loop, &w->wake, on_wake);
    w->wake.data = w;
    zs_handoff_init(&w->done);
    w->gw = zs_gateway_worker_create(s->gw, post, w);
    if (w->gw == NULL)
        return zs_err_set(err, ZS_ENOMEM, NULL, "out of memory");
    int first = w == &s->w[0];
    for (unsigned i = 0; i < s->nlisten; i++) {
        const struct zs_listen *l = &s->listen[i];
        struct zs_http_opts ho = {.host = l->host,
                                  .port = first ? l->port : s->port[i],
                                  .exclusive = first,
                                  .max_body_bytes = (size_t)s->c->station.max_body_bytes,
                                  .error_body = zs_gateway_error_body,
                                  .tls = l->tls ? s->tls : NULL,
                                  .access_log = (int)s->c->station.access_log,
                                  .answered = zs_gateway_answered};
        zs_rc rc = zs_http_server_start(&w->loop, &ho, zs_gateway_handle, w->gw, &w->http[i], err);
        if (rc != ZS_OK)
            return rc;
        if (first)
            s->port[i] = zs_http_server_port(w->http[i]);
    }
    return ZS_OK;
}

/* Tell every worker to take a step, and wait (bounded) until each has taken it: after
 * that, no handler that started before the step is still running. */
static void set_step(struct serve *s, int step, unsigned started)
{
    for (unsigned i = 0; i < started; i++) {
        atomic_store(&s->w[i].step, step);
        uv_async_send(&s->w[i].wake);
    }
    long long until = zs_mono_ms() + 5000;
    for (unsigned i = 0; i < started; i++)
        while (atomic_load(&s->w[i].seen_step) != step && zs_mono_ms() < until)
            usleep(500);
}

static void wait_parked(struct serve *s, long long until)
{
    while (zs_gateway_parked(s->gw) > 0 && zs_mono_ms() < until)
        usleep(1000);
}

/* ---------------------------------------------------------------- ingest keys */

/* Load c's ingest keys into the gateway; on error the keys in force stay. */
static zs_rc load_keys(struct serve *s, const struct zs_config *c, struct zs_err *err)
{
    struct zs_keys *ks = NULL;
    zs_rc rc = zs_access_load(c, &ks, err);
    if (rc != ZS_OK)
        return rc;
    zs_gateway_set_keys(s->gw, ks);
    if (ks != NULL)
        zs_log(ZS_LOG_INFO, "auth", "msg=\"ingest keys loaded\" keys=%zu", zs_keys_count(ks));
    zs_keys_unref(ks);
    return ZS_OK;
}

/* The listeners (o->listen, or --host/--port) and the certificate of the TLS ones. */
static zs_rc open_listeners(struct serve *s, struct zs_err *err)
{
    const struct zs_serve_opts *o = s->o;
    const struct zs_station_opts *so = &s->c->station;
    s->nlisten = o->nlisten > 0 ? o->nlisten : 1;
    if (o->nlisten > 0)
        memcpy(s->listen, o->listen, o->nlisten * sizeof *o->listen);
    else
        s->listen[0] = (struct zs_listen){.host = o->host, .port = o->port};
    int tls = 0;
    for (unsigned i = 0; i < s->nlisten; i++)
        tls |= s->listen[i].tls;
    if (!tls)
        return ZS_OK;
    char cert[4096], key[4096], ca[4096];
    if (so->tls_cert != NULL)
        zs_config_path(s->c, so->tls_cert, cert, sizeof cert);
    if (so->tls_key != NULL)
        zs_config_path(s->c, so->tls_key, key, sizeof key);
    if (so->tls_client_ca != NULL)
        zs_config_path(s->c, so->tls_client_ca, ca, sizeof ca);
    struct zs_tls_files f = {.cert = so->tls_cert ? cert : NULL,
                             .key = so->tls_key ? key : NULL,
                             .client_ca = so->tls_client_ca ? ca : NULL};
    return zs_tls_create(&f, &s->tls, err);
}

/* The descriptor of a table's schema (for a JSON table too: it tells schemas apart). */
static zs_rc table_descriptor(const struct zs_table_cfg *t, struct zs_buf *d)
{
    zs_buf_init(d, 1 << 24);
    return zs_schema_descriptor(t->schema, d);
}

/* The running table of key in s->cur, or -1. */
static long cur_table(const struct serve *s, const char *key)
{
    for (size_t i = 0; i < s->cur->ntables; i++)
        if (strcmp(s->cur->tables[i].key, key) == 0)
            return (long)i;
    return -1;
}

#define SCHEMA_RETRY_MS 5000

/* After a reload (done or refused): tables whose records Zerobus refused get the running
 * descriptor of their table (the client rewrites the records, or fails them when it did
 * not change). Thread: main. */
static void retarget_held(struct serve *s)
{
    s->schema_retry = 0;
    for (size_t i = 0; i < s->cur->ntables; i++) {
        const struct zs_table_cfg *t = &s->cur->tables[i];
        if (t->schema_source == ZS_SCHEMA_FROM_CACHE && zs_zb_held(s->zb, t->table_name)) {
            /* the catalog did not answer: its columns may have changed; ask again later */
            zs_log(ZS_LOG_WARN, "app",
                   "msg=\"records held until the catalog answers\" table=%s retry_ms=%d",
                   t->table_name, SCHEMA_RETRY_MS);
            s->schema_retry = 1;
            continue;
        }
        if (t->record_type != ZS_RECORD_PROTO)
            continue; /* JSON tables are not held */
        struct zs_buf d;
        if (table_descriptor(t, &d) == ZS_OK)
            zs_zb_retarget(s->zb, t->table_name, d.data, d.len);
        zs_buf_release(&d);
    }
}

/* Client thread (zs_zb_opts.on_schema_reject): Zerobus refused a table's descriptor. A
 * reload fetches the catalog's columns again; its end answers the held records. */
static void schema_rejected(void *ctx, const char *table_name, const char *error)
{
    (void)ctx;
    zs_log(ZS_LOG_WARN, "app",
           "msg=\"Zerobus refused the table's descriptor: fetching its schema again (reload)\" "
           "table=%s error=\"%s\"",
           table_name, error);
    kill(getpid(), SIGHUP); /* main takes it with sigwait */
}

/* A changed table's columns, before and after, in the log. */
static void log_schema_change(const struct zs_table_cfg *o, const struct zs_table_cfg *t)
{
    struct zs_buf d;
    zs_buf_init(&d, 16384);
    size_t n = zs_schema_diff(o->schema, "before", t->schema, "now", &d);
    if (n > 0 && zs_buf_cstr(&d) != NULL)
        zs_log(ZS_LOG_WARN, "app", "msg=\"table schema changed\" table=%s source=%s detail=\"%s\"",
               t->table_name, t->schema_source == ZS_SCHEMA_FROM_CONFIG ? "config" : "catalog",
               (const char *)d.data);
    zs_buf_release(&d);
}

/*
 * A reload (SIGHUP, POST /admin/reload or /admin/schema/refresh, a refused descriptor): the
 * configuration, .env, the keys file, the TLS certificate and the catalog's columns again.
 * Unchanged tables keep their spool table and variant (their streams stay open); added and changed
 * ones are registered with the spool (a changed schema is a new variant: records accepted before
 * keep theirs); removed ones stop accepting and drain. Options a reload cannot apply are listed as
 * needing a restart. Anything that fails refuses the reload whole: the running configuration stays.
 * Writes a JSON object (the summary, or {"error"}) to out. Returns 0 or -1. Thread: main (reloads
 * run one at a time there: the admin endpoints queue their requests for it).
 */
static int reload_config(struct serve *s, char *out, size_t cap)
{
    struct zs_err err;
    zs_err_clear(&err);
    char msg[700] = "";
    struct zs_config *nc = s->o->load ? s->o->load(s->o->load_ctx, &err) : NULL;
    if (s->o->load == NULL)
        zs_err_set(&err, ZS_ESTATE, NULL, "this station cannot re-read its configuration");
    size_t n = nc ? nc->ntables : 0;
    struct zs_spool_table **nt = zs_xcalloc(n + 1, sizeof *nt);
    int *nv = zs_xcalloc(n + 1, sizeof *nv);
    json_t *added = json_array(), *changed = json_array(), *removed = json_array();
    size_t unchanged = 0;
    zs_rc rc = nc ? ZS_OK : err.code;
    for (size_t i = 0; i < n && rc == ZS_OK; i++) {
        const struct zs_table_cfg *t = &nc->tables[i];
        long j = cur_table(s, t->key);
        struct zs_buf d, od;
        rc = table_descriptor(t, &d);
        zs_buf_init(&od, 1);
        if (rc == ZS_OK && j >= 0)
            rc = table_descriptor(&s->cur->tables[j], &od);
        const struct zs_table_cfg *o = j >= 0 ? &s->cur->tables[j] : NULL;
        if (rc == ZS_OK && o != NULL && strcmp(o->table_name, t->table_name) == 0 &&
            o->record_type == t->record_type && o->unknown_fields == t->unknown_fields &&
            d.len == od.len && memcmp(d.data, od.data, d.len) == 0) {
            nt[i] = s->tables[j];
            nv[i] = s->vars[j];
            unchanged++;
        } else if (rc == ZS_OK) {
            int proto = t->record_type == ZS_RECORD_PROTO;
            rc =
                zs_spool_table_add(s->sp, t->table_name, (int)t->record_type, proto ? d.data : NULL,
                                   proto ? d.len : 0, s->o->eager, &nt[i], &nv[i], &err);
            json_array_append_new(o ? changed : added, json_string(t->key));
            if (o != NULL)
                log_schema_change(o, t);
        }
        zs_buf_release(&d);
        zs_buf_release(&od);
        if (rc != ZS_OK && err.msg[0] == '\0')
            zs_err_set(&err, rc, NULL, "table %s: cannot read its schema", t->key);
    }
    for (size_t j = 0; nc != NULL && j < s->cur->ntables; j++) {
        int kept = 0;
        for (size_t i = 0; i < n && !kept; i++)
            kept = strcmp(nc->tables[i].key, s->cur->tables[j].key) == 0;
        if (!kept)
            json_array_append_new(removed, json_string(s->cur->tables[j].key));
    }
    /* The keys and the certificate: checked before anything is switched. */
    if (rc == ZS_OK && s->tls != NULL)
        rc = zs_tls_reload(s->tls, &err);
    if (rc == ZS_OK)
        rc = load_keys(s, nc, &err);
    char restart[1024] = "";
    if (rc == ZS_OK)
        zs_config_restart_needed(s->cur, nc, restart, sizeof restart);
    json_t *j = NULL;
    if (rc != ZS_OK) {
        zs_err_format(&err, msg, sizeof msg);
        zs_log(ZS_LOG_ERROR, "app",
               "msg=\"reload refused: the running configuration stays\" error=\"%s\"", msg);
        zs_gateway_reload_result(s->gw, msg, NULL);
        zs_config_destroy(nc);
        free(nt);
        free(nv);
        json_decref(added);
        json_decref(changed);
        json_decref(removed);
        j = json_pack("{s:s, s:s}", "status", "refused", "error", msg);
    } else {
        json_t *rn = json_array();
        for (char *p = restart, *e; *p; p = *e ? e + 1 : e) {
            e = strchr(p, ',');
            if (e == NULL)
                e = p + strlen(p);
            json_array_append_new(rn, json_stringn(p, (size_t)(e - p)));
        }
        j = json_pack("{s:s, s:o, s:o, s:o, s:I, s:o}", "status", "reloaded", "added", added,
                      "changed", changed, "removed", removed, "unchanged", (json_int_t)unchanged,
                      "restart_needed", rn);
        char *sum = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        zs_gateway_reconfigure(s->gw, nc, nt, nv); /* the gateway owns nc from now on */
        free(s->tables);
        free(s->vars);
        s->tables = nt;
        s->vars = nv;
        s->cur = nc;
        zs_gateway_reload_result(s->gw, NULL, sum);
        zs_log(ZS_LOG_INFO, "app", "msg=\"reloaded\" summary=%s", sum ? sum : "{}");
        if (restart[0])
            zs_log(ZS_LOG_WARN, "app",
                   "msg=\"reload: these changes wait for a restart\" options=\"%s\"", restart);
        free(sum);
    }
    size_t w = json_dumpb(j, out, cap > 0 ? cap - 1 : 0, JSON_COMPACT | JSON_PRESERVE_ORDER);
    out[w < cap ? w : 0] = '\0';
    json_decref(j);
    retarget_held(s);
    return rc == ZS_OK ? 0 : -1;
}

struct admin_req {
    struct zs_gateway_reload_req *req;
    struct admin_req *next;
};

/* The zs_gateway_reload_fn of POST /admin/reload (a worker): queued for main, which is
 * woken with SIGHUP (a reload fetches the catalog: it must not stall an event loop). */
static void admin_reload(void *ctx, struct zs_gateway_reload_req *req)
{
    struct serve *s = ctx;
    struct admin_req *a = zs_xcalloc(1, sizeof *a);
    a->req = req;
    pthread_mutex_lock(&s->admin_mu);
    int closed = s->admin_closed;
    if (!closed) {
        a->next = s->admin_reqs;
        s->admin_reqs = a;
    }
    pthread_mutex_unlock(&s->admin_mu);
    if (closed) {
        zs_gateway_reload_answer(req, 503,
                                 "{\"status\":\"refused\",\"error\":\"the station is "
                                 "stopping\"}");
        free(a);
        return;
    }
    kill(getpid(), SIGHUP);
}

/* main: answer the queued admin requests (status, json). */
static void answer_admin(struct serve *s, int status, const char *json, int close)
{
    pthread_mutex_lock(&s->admin_mu);
    s->admin_closed |= close;
    struct admin_req *a = s->admin_reqs;
    s->admin_reqs = NULL;
    pthread_mutex_unlock(&s->admin_mu);
    while (a != NULL) {
        struct admin_req *next = a->next;
        zs_gateway_reload_answer(a->req, status, json);
        free(a);
        a = next;
    }
}

/*
 * The watchdog's check (every half period): each worker's loop turned since the last
 * check (it ran on_wake for the ping sent then): WATCHDOG=1. A stuck worker stops the
 * pings and the manager restarts the station.
 */
static void watchdog_tick(struct serve *s, unsigned started)
{
    int alive = 1;
    for (unsigned i = 0; i < started; i++) {
        unsigned b = atomic_load_explicit(&s->w[i].beats, memory_order_relaxed);
        alive &= b != s->w[i].beats_seen;
        s->w[i].beats_seen = b;
        uv_async_send(&s->w[i].wake); /* the ping the next check looks for */
    }
    if (alive)
        zs_notify_watchdog();
}

/* main: signals until SIGTERM or SIGINT (they are blocked in every thread, see main);
 * SIGHUP reloads; the systemd watchdog in between when it is on. */
static void wait_signals(struct serve *s, const sigset_t *sigs, unsigned started)
{
    uint64_t wd = zs_notify_watchdog_usec();
    if (wd > 0)
        watchdog_tick(s, started); /* the first pings */
    long long retry_at = 0;
    for (;;) {
        int sig = 0;
        if (s->schema_retry && retry_at == 0)
            retry_at = zs_mono_ms() + SCHEMA_RETRY_MS;
        if (wd > 0 || retry_at > 0) {
            uint64_t us = wd > 0 ? wd / 2 : (uint64_t)SCHEMA_RETRY_MS * 1000;
            long long left = retry_at - zs_mono_ms();
            if (retry_at > 0 && (uint64_t)(left > 0 ? left : 0) * 1000 < us)
                us = (uint64_t)(left > 0 ? left : 0) * 1000;
            struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
            sig = sigtimedwait(sigs, NULL, &ts);
            if (sig < 0 && retry_at > 0 && zs_mono_ms() >= retry_at) {
                sig = SIGHUP; /* the catalog again, for held records */
            } else if (sig < 0) {
                if (wd > 0)
                    watchdog_tick(s, started);
                continue;
            }
        } else if (sigwait(sigs, &sig) != 0) {
            continue;
        }
        if (sig == SIGHUP) {
            retry_at = 0;
            pthread_mutex_lock(&s->admin_mu);
            int admin = s->admin_reqs != NULL;
            pthread_mutex_unlock(&s->admin_mu);
            zs_log(ZS_LOG_INFO, "app", "msg=\"reloading\" by=%s", admin ? "admin" : "signal");
            zs_notify_reloading();
            char out[8192];
            int ok = reload_config(s, out, sizeof out) == 0;
            answer_admin(s, ok ? 200 : 422, out, 0); /* one reload answers those before it */
            zs_notify_ready("serving");
            continue;
        }
        zs_log(ZS_LOG_INFO, "app", "msg=\"stopping\" signal=%d", sig);
        zs_notify_stopping();
        answer_admin(s, 503, "{\"status\":\"refused\",\"error\":\"the station is stopping\"}", 1);
        return;
    }
}

/* ---------------------------------------------------------------- wiring */

static zs_rc open_delivery(struct serve *s, struct zs_err *err)
{
    const struct zs_config *c = s->c;
    const struct zs_station_opts *so = &c->station;
    struct zs_zb_opts zo;
    zs_serve_zb_opts(c, &zo);
    zo.on_schema_reject = schema_rejected;
    zo.hook_ctx = s;
    zs_rc rc = zs_zb_create(&zo, &s->zb, err);
    if (rc != ZS_OK)
        return rc;
    struct zs_spool_opts spo = {
        .mode = so->durability == 1 ? ZS_SPOOL_DISK : ZS_SPOOL_MEMORY,
        .sync = so->spool_sync == 1 ? ZS_SPOOL_SYNC_INTERVAL : ZS_SPOOL_SYNC_COMMIT,
        .dir = s->o->spool_dir,
        .sync_interval_ms = (uint32_t)so->spool_sync_interval_ms,
        .segment_bytes = (uint64_t)so->spool_segment_bytes,
        .max_bytes = (uint64_t)so->spool_max_bytes,
        .max_pending_bytes = (uint64_t)so->spool_max_pending_bytes,
        .wait_timeout_ms = (uint32_t)so->wait_timeout_ms,
        .sink = &zs_zb_sink_ops,
        .sink_ctx = s->zb,
        .decode = zs_serve_decode,
        .decode_ctx = c,
    };
    if ((rc = zs_spool_open(&spo, &s->sp, err)) != ZS_OK)
        return rc;
    s->tables = zs_xcalloc(c->ntables ? c->ntables : 1, sizeof *s->tables);
    s->vars = zs_xcalloc(c->ntables ? c->ntables : 1, sizeof *s->vars);
    s->cur = c;
    for (size_t i = 0; i < c->ntables && rc == ZS_OK; i++) {
        struct zs_buf d;
        zs_buf_init(&d, 1 << 24);
        if (c->tables[i].record_type == ZS_RECORD_PROTO)
            rc = zs_schema_descriptor(c->tables[i].schema, &d);
        if (rc == ZS_OK)
            rc = zs_spool_table_add(s->sp, c->tables[i].table_name, (int)c->tables[i].record_type,
                                    d.data, d.len, s->o->eager, &s->tables[i], &s->vars[i], err);
        zs_buf_release(&d);
    }
    if (rc == ZS_OK)
        rc = zs_spool_start(s->sp, err);
    if (rc == ZS_OK)
        rc = zs_gateway_create(c, s->sp, s->tables, s->vars, &s->gw);
    if (rc == ZS_OK) {
        zs_gateway_set_metrics(s->gw, runtime_metrics, s);
        zs_gateway_set_reload(s->gw, admin_reload, s);
        rc = load_keys(s, c, err);
    }
    return rc;
}

/* The shutdown sequence (docs/ARCHITECTURE.md, "Shutdown"). Returns the records lost. */
static uint64_t stop(struct serve *s, unsigned started)
{
    int disk = s->sp != NULL && zs_spool_mode(s->sp) == ZS_SPOOL_DISK;
    long long until = zs_mono_ms() + (s->o->shutdown_ms ? s->o->shutdown_ms : 10000);
    /* 1. No new connections; ingest and flush answer 503. */
    if (s->gw != NULL)
        zs_gateway_set_stopping(s->gw, 1);
    set_step(s, 1, started);
    /* 2. Commit what was accepted: every 202 owed is sent. */
    zs_spool_drain(s->sp);
    /* 3. Requests waiting for acks: memory mode gives them the deadline; disk mode a short
     *    grace (their records are spooled: the next start delivers them). */
    long long grace = disk ? zs_mono_ms() + 1000 : until;
    if (s->gw != NULL)
        wait_parked(s, grace < until ? grace : until);
    /* 4. From here no handler touches the spool or the client. */
    if (s->gw != NULL)
        zs_gateway_set_stopping(s->gw, 2);
    set_step(s, 2, started);
    /* 5. Close the streams (memory mode: whatever is not acknowledged by the deadline is
     *    given up and dead-lettered), then the spool: the last checkpoint, the waiters
     *    left answered 503, the dead letters written. */
    long long left = until - zs_mono_ms();
    if (disk && left > 500)
        left = 500;
    zs_zb_destroy(s->zb, left > 0 ? (uint32_t)left : 0);
    uint64_t lost = zs_spool_destroy(s->sp);
    if (s->gw != NULL)
        wait_parked(s, zs_mono_ms() + 1000);
    /* 6. Close the listeners and connections, join the workers. */
    set_step(s, 3, started);
    for (unsigned i = 0; i < started; i++)
        pthread_join(s->w[i].thread, NULL);
    return lost;
}

zs_rc zs_serve_run(const struct zs_config *c, const struct zs_serve_opts *o, uint64_t *out_lost,
                   struct zs_err *err)
{
    struct serve s = {.c = c, .o = o, .start_wall_ms = zs_wall_ms()};
    pthread_mutex_init(&s.admin_mu, NULL);
    *out_lost = 0;
    zs_rc rc = open_listeners(&s, err);
    if (rc == ZS_OK)
        rc = open_delivery(&s, err);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    s.nw = o->workers ? o->workers : (unsigned)(cores > 0 ? cores : 1);
    s.w = zs_xcalloc(s.nw, sizeof *s.w);
    unsigned started = 0, inited = 0;
    for (unsigned i = 0; i < s.nw && rc == ZS_OK; i++) {
        rc = worker_init(&s, &s.w[i], err);
        inited++;
        if (rc == ZS_OK && pthread_create(&s.w[i].thread, NULL, worker_main, &s.w[i]) == 0)
            started++;
    }
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    if (rc == ZS_OK) {
        const char *dir = zs_spool_dir(s.sp);
        for (unsigned i = 0; i < s.nlisten; i++)
            zs_log(ZS_LOG_INFO, "app",
                   "msg=\"listening\" host=%s port=%u tls=%s workers=%u tables=%zu "
                   "durability=%s%s%s",
                   s.listen[i].host, s.port[i], s.listen[i].tls ? "on" : "off", s.nw, c->ntables,
                   zs_spool_mode(s.sp) == ZS_SPOOL_DISK ? "disk" : "memory",
                   dir ? " spool_dir=" : "", dir ? dir : "");
        if (c->station.auth == ZS_AUTH_NONE ||
            (c->station.auth == ZS_AUTH_AUTO && c->auth_json == NULL &&
             c->station.keys_file == NULL)) {
            for (unsigned i = 0; i < s.nlisten; i++) {
                const char *h = s.listen[i].host;
                if (strncmp(h, "127.", 4) != 0 && strcmp(h, "::1") != 0 &&
                    strcmp(h, "localhost") != 0)
                    zs_log(ZS_LOG_WARN, "auth",
                           "msg=\"no ingest authentication: anyone who reaches %s:%u may "
                           "write to every table (configure keys: station.keys_file)\"",
                           h, s.port[i]);
            }
        }
        if (o->on_ready)
            o->on_ready(s.listen, s.port, s.nlisten, o->ready_ctx);
        zs_notify_ready("serving");
        wait_signals(&s, &sigs, started);
    }
    if (s.sp != NULL) {
        *out_lost = stop(&s, started);
    } else {
        zs_zb_destroy(s.zb, 0);
        set_step(&s, 3, started);
        for (unsigned i = 0; i < started; i++)
            pthread_join(s.w[i].thread, NULL);
    }
    for (unsigned i = 0; i < inited; i++) {
        struct worker *w = &s.w[i];
        if (i >= started) { /* never ran: close what worker_init opened */
            for (unsigned j = 0; j < ZS_SERVE_MAX_LISTEN; j++)
                zs_http_server_close(w->http[j]);
            uv_close((uv_handle_t *)&w->wake, NULL);
            uv_run(&w->loop, UV_RUN_DEFAULT);
        }
        uv_loop_close(&w->loop);
        zs_gateway_worker_destroy(w->gw);
        zs_handoff_release(&w->done);
    }
    free(s.w);
    zs_tls_destroy(s.tls);
    zs_gateway_destroy(s.gw);
    free(s.tables);
    free(s.vars);
    pthread_mutex_destroy(&s.admin_mu);
    if (*out_lost > 0)
        zs_log(ZS_LOG_ERROR, "app",
               "msg=\"stopped; records were given up or dead-lettered\" "
               "records=%llu",
               (unsigned long long)*out_lost);
    else
        zs_log(ZS_LOG_INFO, "app", "msg=\"stopped\"");
    return rc;
}
