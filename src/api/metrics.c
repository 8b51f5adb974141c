/*
 * GET /metrics: the Prometheus text format (0.0.4). Workers count their requests and
 * records in their own struct gw_metrics (one writer, relaxed atomics, no lock on the hot
 * path); a scrape adds the workers' counters up and reads the spool's and the streams'
 * state of every table. Thread: the scraping worker's.
 */
#include <stdlib.h>
#include <string.h>

#include "api/gateway_int.h"
#include "core/zs_mem.h"
#include "core/zs_prom.h"

const char *const gw_route_names[ROUTE_COUNT] = {
    "other", "ingest",  "flush", "rest_insert", "health",
    "info",  "openapi", "docs",  "metrics",     "admin",
};

const char *const gw_tally_names[TALLY_COUNT] = {
    "accepted", "validation",  "too_large", "backpressure",
    "auth",     "unavailable", "timeout",   "upstream_rejected",
};

const int gw_codes[GW_CODES - 1] = {200, 202, 204, 400, 401, 403, 404, 405, 408, 411,
                                    413, 415, 429, 431, 500, 501, 502, 503, 504};

static unsigned code_slot(int status)
{
    for (unsigned i = 0; i < GW_CODES - 1; i++)
        if (gw_codes[i] == status)
            return i;
    return GW_CODES - 1;
}

void zs_gateway_answered(void *ctx, const struct zs_http_req *req, int status, uint64_t bytes_in,
                         uint64_t us)
{
    struct gw_metrics *m = &((struct zs_gateway_worker *)ctx)->m;
    unsigned route = req->route > 0 && req->route < ROUTE_COUNT ? (unsigned)req->route : 0;
    zs_counter_add(&m->requests[route][code_slot(status)], 1);
    zs_counter_add(&m->bytes_in[route], bytes_in);
    zs_hist_observe(&m->duration[route], us);
}

void gw_tally(struct zs_gateway_worker *w, const struct gw_table *t, enum gw_tally reason, size_t n)
{
    if (t == NULL || n == 0)
        return;
    size_t chunk = t->slot / GW_SLOT_CHUNK;
    atomic_ullong *c = atomic_load_explicit(&w->m.tally[chunk], memory_order_relaxed);
    if (c == NULL) { /* the worker is the only writer of its chunks: no race to create one */
        c = zs_calloc(GW_SLOT_CHUNK * TALLY_COUNT, sizeof *c);
        if (c == NULL)
            return;
        atomic_store_explicit(&w->m.tally[chunk], c, memory_order_release);
    }
    zs_counter_add(&c[t->slot % GW_SLOT_CHUNK * TALLY_COUNT + reason], n);
}

void zs_gateway_set_metrics(struct zs_gateway *g, zs_gateway_metrics_fn fn, void *ctx)
{
    g->metrics_fn = fn;
    g->metrics_ctx = ctx;
}

/* ---------------------------------------------------------------- the exposition */

/* The workers' counters, added up. */
struct sums {
    uint64_t requests[ROUTE_COUNT][GW_CODES];
    uint64_t bytes_in[ROUTE_COUNT];
    struct zs_hist_snap duration[ROUTE_COUNT];
    uint64_t *tally; /* [i * TALLY_COUNT + reason] for the generation's table i */
};

static void add_up(struct zs_gateway *g, const struct gw_gen *gen, struct sums *s)
{
    pthread_mutex_lock(&g->workers_mu);
    for (struct zs_gateway_worker *w = g->workers; w != NULL; w = w->next_worker) {
        for (unsigned r = 0; r < ROUTE_COUNT; r++) {
            for (unsigned c = 0; c < GW_CODES; c++)
                s->requests[r][c] +=
                    atomic_load_explicit(&w->m.requests[r][c], memory_order_relaxed);
            s->bytes_in[r] += atomic_load_explicit(&w->m.bytes_in[r], memory_order_relaxed);
            zs_hist_add(&s->duration[r], &w->m.duration[r]);
        }
        for (size_t i = 0; i < gen->ntables; i++) {
            size_t slot = gen->tables[i].slot;
            atomic_ullong *c =
                atomic_load_explicit(&w->m.tally[slot / GW_SLOT_CHUNK], memory_order_acquire);
            for (unsigned r = 0; c != NULL && r < TALLY_COUNT; r++)
                s->tally[i * TALLY_COUNT + r] += atomic_load_explicit(
                    &c[slot % GW_SLOT_CHUNK * TALLY_COUNT + r], memory_order_relaxed);
        }
    }
    pthread_mutex_unlock(&g->workers_mu);
}

static void http_families(struct zs_prom *p, const struct sums *s)
{
    struct zs_prom_labels l = {.n = 2, .k = {"route", "code"}};
    zs_prom_family(p, "zerobus_station_http_requests_total", "counter",
                   "HTTP requests answered, by route and status code.");
    for (unsigned r = 0; r < ROUTE_COUNT; r++) {
        for (unsigned c = 0; c < GW_CODES; c++) {
            if (s->requests[r][c] == 0)
                continue;
            char code[8];
            if (c < GW_CODES - 1)
                snprintf(code, sizeof code, "%d", gw_codes[c]);
            else
                snprintf(code, sizeof code, "other");
            l.v[0] = gw_route_names[r];
            l.v[1] = code;
            zs_prom_u64(p, "zerobus_station_http_requests_total", &l, s->requests[r][c]);
        }
    }
    struct zs_prom_labels rl = {.n = 1, .k = {"route"}};
    zs_prom_family(p, "zerobus_station_http_request_duration_seconds", "histogram",
                   "Time from a request's first byte to its answer, by route.");
    uint64_t seen[ROUTE_COUNT] = {0}; /* routes never asked are left out */
    for (unsigned r = 0; r < ROUTE_COUNT; r++)
        for (unsigned c = 0; c < GW_CODES; c++)
            seen[r] += s->requests[r][c];
    for (unsigned r = 0; r < ROUTE_COUNT; r++) {
        rl.v[0] = gw_route_names[r];
        if (seen[r] > 0)
            zs_prom_hist(p, "zerobus_station_http_request_duration_seconds", &rl, &s->duration[r]);
    }
    zs_prom_family(p, "zerobus_station_http_request_bytes_total", "counter",
                   "Bytes of requests as received (head and body, before decoding), by route.");
    for (unsigned r = 0; r < ROUTE_COUNT; r++) {
        rl.v[0] = gw_route_names[r];
        if (seen[r] > 0)
            zs_prom_u64(p, "zerobus_station_http_request_bytes_total", &rl, s->bytes_in[r]);
    }
}

/* One gauge or counter per table from its state. */
#define PER_TABLE(name, type, help, expr)                                                          \
    do {                                                                                           \
        zs_prom_family(p, name, type, help);                                                       \
        for (size_t i = 0; i < gen->ntables; i++) {                                                \
            const struct zs_spool_table_state *ss = &st[i];                                        \
            (void)ss;                                                                              \
            if (dup[i])                                                                            \
                continue;                                                                          \
            l.v[0] = gen->tables[i].cfg->table_name;                                               \
            zs_prom_u64(p, name, &l, (uint64_t)(expr));                                            \
        }                                                                                          \
    } while (0)

static void table_families(const struct gw_gen *gen, struct zs_prom *p, const struct sums *s,
                           const struct zs_spool_table_state *st, const char *dup)
{
    struct zs_prom_labels l = {.n = 1, .k = {"table"}};
    PER_TABLE("zerobus_station_records_accepted_total", "counter",
              "Records accepted (answered 2xx) by table.",
              s->tally[i * TALLY_COUNT + TALLY_ACCEPTED]);
    zs_prom_family(p, "zerobus_station_records_rejected_total", "counter",
                   "Records refused by table and reason (auth counts requests: their records "
                   "were not read).");
    struct zs_prom_labels rl = {.n = 2, .k = {"table", "reason"}};
    for (size_t i = 0; i < gen->ntables; i++) {
        if (dup[i])
            continue;
        rl.v[0] = gen->tables[i].cfg->table_name;
        for (unsigned r = TALLY_ACCEPTED + 1; r < TALLY_COUNT; r++) {
            rl.v[1] = gw_tally_names[r];
            zs_prom_u64(p, "zerobus_station_records_rejected_total", &rl,
                        s->tally[i * TALLY_COUNT + r]);
        }
    }
    PER_TABLE("zerobus_station_records_awaiting_ack", "gauge",
              "Records accepted and not yet acknowledged by Zerobus (the spool's pending "
              "records).",
              ss->pending);
    PER_TABLE("zerobus_station_records_inflight", "gauge",
              "Records sent on a Zerobus stream and not yet acknowledged.", ss->up.inflight);
    PER_TABLE("zerobus_station_records_queued", "gauge",
              "Records handed to the Zerobus client and not yet sent.", ss->up.queued);
    PER_TABLE("zerobus_station_records_acknowledged_total", "counter",
              "Records acknowledged by Zerobus.", ss->up.acked);
    PER_TABLE("zerobus_station_records_failed_total", "counter",
              "Records Zerobus rejected for good (dead-lettered).", ss->up.failed);
    zs_prom_family(p, "zerobus_station_ack_latency_seconds", "histogram",
                   "Time from sending a batch of records on a stream to its acknowledgement.");
    for (size_t i = 0; i < gen->ntables; i++) {
        if (dup[i])
            continue;
        l.v[0] = gen->tables[i].cfg->table_name;
        zs_prom_hist(p, "zerobus_station_ack_latency_seconds", &l, &st[i].up.ack_latency);
    }
    PER_TABLE("zerobus_station_stream_opens_total", "counter", "Zerobus streams opened.",
              ss->up.streams_opened);
    PER_TABLE("zerobus_station_stream_recoveries_total", "counter",
              "Zerobus streams reopened after an error or a close signal.", ss->up.recoveries);
    PER_TABLE("zerobus_station_stream_close_signals_total", "counter",
              "CloseStreamSignal messages received from Zerobus.", ss->up.close_signals);
    PER_TABLE("zerobus_station_stream_replayed_records_total", "counter",
              "Records sent again on a new stream after one failed.", ss->up.replayed);
    PER_TABLE("zerobus_station_stream_open", "gauge",
              "1 when the table's streams are open, else 0.", strcmp(ss->up.state, "open") == 0);
    PER_TABLE("zerobus_station_stream_awaiting_schema", "gauge",
              "1 while Zerobus refused the table's descriptor and its records wait for the "
              "columns to be read again from Unity Catalog.",
              strcmp(ss->up.state, "awaiting_schema") == 0);
    PER_TABLE("zerobus_station_stream_failing", "gauge",
              "1 when a stream spent its retry budget and keeps retrying with backoff.",
              ss->up.failing);
    static const char *const err_names[2] = {"zerobus_station_stream_errors_total",
                                             "zerobus_station_stream_fatal_errors_total"};
    static const char *const err_help[2] = {
        "Stream failures that were retried, by table and gRPC status.",
        "Stream failures that failed their records for good, by table and gRPC status."};
    for (int f = 0; f < 2; f++) {
        zs_prom_family(p, err_names[f], "counter", err_help[f]);
        for (size_t i = 0; i < gen->ntables; i++) {
            if (dup[i])
                continue;
            rl.k[1] = "code";
            rl.v[0] = gen->tables[i].cfg->table_name;
            for (int c = 0; c < ZS_GRPC_CODES; c++) {
                uint64_t v = f ? st[i].up.fatal[c] : st[i].up.errors[c];
                if (v == 0)
                    continue;
                rl.v[1] = zs_grpc_status_name(c);
                zs_prom_u64(p, err_names[f], &rl, v);
            }
        }
    }
    PER_TABLE("zerobus_station_spool_bytes", "gauge",
              "Bytes of the table's spool segments and queues (disk mode).", ss->pending_bytes);
    PER_TABLE("zerobus_station_spool_segments", "gauge", "Spool segment files of the table.",
              ss->segments);
    zs_prom_family(p, "zerobus_station_spool_oldest_pending_seconds", "gauge",
                   "Age of the oldest record not yet acknowledged.");
    for (size_t i = 0; i < gen->ntables; i++) {
        if (dup[i])
            continue;
        l.v[0] = gen->tables[i].cfg->table_name;
        zs_prom_f64(p, "zerobus_station_spool_oldest_pending_seconds", &l,
                    (double)st[i].oldest_pending_ms / 1000.0);
    }
    PER_TABLE("zerobus_station_spool_replayed_records_total", "counter",
              "Records found pending in the spool at start and sent again.", ss->replayed);
    PER_TABLE("zerobus_station_spool_dead_letters_total", "counter",
              "Records written to the dead-letter directory.", ss->dead_letters);
    PER_TABLE("zerobus_station_spool_commit_failures_total", "counter",
              "Commit groups answered 503 because a write or sync failed.", ss->commit_failures);
    PER_TABLE("zerobus_station_spool_syncs_total", "counter", "fdatasync calls on segments.",
              ss->syncs);
}

static void station_families(struct zs_gateway *g, struct zs_prom *p)
{
    pthread_mutex_lock(&g->keys_mu);
    unsigned long reloads = g->reloads, failures = g->reload_failures;
    int last_ok = g->reload_error[0] == '\0';
    pthread_mutex_unlock(&g->keys_mu);
    zs_prom_family(p, "zerobus_station_auth_failures_total", "counter",
                   "Requests refused for a missing or invalid API key.");
    zs_prom_u64(p, "zerobus_station_auth_failures_total", NULL, atomic_load(&g->auth_failures));
    zs_prom_family(p, "zerobus_station_reloads_total", "counter",
                   "Reloads tried (SIGHUP or POST /admin/reload).");
    zs_prom_u64(p, "zerobus_station_reloads_total", NULL, reloads);
    zs_prom_family(p, "zerobus_station_reload_failures_total", "counter",
                   "Reloads refused (the running configuration stayed).");
    zs_prom_u64(p, "zerobus_station_reload_failures_total", NULL, failures);
    zs_prom_family(p, "zerobus_station_config_last_reload_successful", "gauge",
                   "1 when the last reload worked (or none was tried), else 0.");
    zs_prom_u64(p, "zerobus_station_config_last_reload_successful", NULL, (uint64_t)last_ok);
    zs_prom_family(p, "zerobus_station_requests_waiting", "gauge",
                   "Requests waiting for a spool commit, an acknowledgement or a flush.");
    long parked = atomic_load(&g->parked);
    zs_prom_u64(p, "zerobus_station_requests_waiting", NULL, parked > 0 ? (uint64_t)parked : 0);
}

void gw_handle_metrics(struct zs_gateway *g, const struct gw_gen *gen, struct zs_http_req *r)
{
    struct sums *s = zs_calloc(1, sizeof *s);
    uint64_t *tally = zs_calloc(gen->ntables * TALLY_COUNT + 1, sizeof *tally);
    struct zs_spool_table_state *st = zs_calloc(gen->ntables + 1, sizeof *st);
    char *dup = zs_calloc(gen->ntables + 1, 1); /* a second key of the same Delta table */
    struct zs_buf b;
    zs_buf_init(&b, 64u << 20);
    zs_rc rc = ZS_ENOMEM;
    if (s != NULL && tally != NULL && st != NULL && dup != NULL) {
        s->tally = tally;
        add_up(g, gen, s);
        for (size_t i = 0; i < gen->ntables; i++) {
            for (size_t j = 0; j < i && !dup[i]; j++)
                dup[i] = gen->tables[j].slot == gen->tables[i].slot;
            zs_spool_table_state(gen->tables[i].st, &st[i]);
        }
        struct zs_prom p;
        zs_prom_begin(&p, &b);
        if (g->metrics_fn != NULL)
            g->metrics_fn(g->metrics_ctx, &p);
        http_families(&p, s);
        table_families(gen, &p, s, st, dup);
        station_families(g, &p);
        rc = zs_prom_end(&p);
    }
    if (rc == ZS_OK)
        zs_http_respond(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len, NULL);
    else {
        static const char busy[] =
            "{\"error\":\"cannot build the metrics now\",\"status_code\":503}";
        zs_http_respond(r, 503, "application/json", busy, sizeof busy - 1, "Retry-After: 1\r\n");
    }
    zs_buf_release(&b);
    free(s);
    free(tally);
    free(st);
    free(dup);
}
