/*
 * The handlers: routing, ingest (transcode, then the spool), flush, health, info, OpenAPI.
 * Thread: handlers on their worker; completions arrive on the spool's or the Zerobus
 * client's thread and go back to the worker through the runtime's post function.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "access/zs_keys.h"
#include "core/zs_clock.h"
#include "api/batch.h"
#include "api/gateway_int.h"
#include "api/zs_api.h"
#include "core/zs_log.h"
#include "core/zs_mem.h"
#include "http/zs_http.h"
#include "schema/zs_transcode.h"

/* ---------------------------------------------------------------- responses */

static void reply_json(struct zs_http_req *r, int status, json_t *j, const char *extra)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    zs_http_respond(r, status, "application/json", s ? s : "{}", s ? strlen(s) : 2, extra);
    free(s);
}

/* ---------------------------------------------------------------- Zerobus REST shape */

/* Databricks' REST ingest API (POST /zerobus/v1/tables/{name}/insert) answers errors as
 * {"error_code": "...", "message": "..."}; requests under this prefix get that shape. */
#define REST_PREFIX "/zerobus/v1/"
#define REST_TABLES "/zerobus/v1/tables/"

static int rest_path(struct zs_slice path)
{
    return path.len >= sizeof REST_PREFIX - 1 &&
           memcmp(path.ptr, REST_PREFIX, sizeof REST_PREFIX - 1) == 0;
}

/* The Databricks error_code of a status (the codes of Databricks' REST APIs). */
static const char *rest_code(int status)
{
    switch (status) {
    case 400:
    case 413:
    case 415:
        return "INVALID_PARAMETER_VALUE";
    case 401:
        return "UNAUTHENTICATED";
    case 403:
        return "PERMISSION_DENIED";
    case 404:
        return "NOT_FOUND";
    case 408:
    case 504:
        return "DEADLINE_EXCEEDED";
    case 429:
        return "RESOURCE_EXHAUSTED";
    case 501:
        return "NOT_IMPLEMENTED";
    case 503:
        return "TEMPORARILY_UNAVAILABLE";
    default:
        return status >= 500 ? "INTERNAL_ERROR" : "BAD_REQUEST";
    }
}

static json_t *rest_error(int status, const char *msg)
{
    return json_pack("{s:s, s:s}", "error_code", rest_code(status), "message", msg);
}

/* The request's id in an error body: Databricks' RequestInfo detail in the REST shape. */
static void add_request_id(json_t *j, const struct zs_http_req *r, int rest)
{
    if (r->request_id == NULL || r->request_id[0] == '\0')
        return;
    if (rest)
        json_object_set_new(j, "details",
                            json_pack("[{s:s, s:s}]", "@type",
                                      "type.googleapis.com/google.rpc.RequestInfo", "request_id",
                                      r->request_id));
    else
        json_object_set_new(j, "request_id", json_string(r->request_id));
}

size_t zs_gateway_error_body(struct zs_slice path, int status, const char *why, char *out,
                             size_t cap)
{
    if (!rest_path(path))
        return 0;
    json_t *j = rest_error(status, why);
    size_t n = j ? json_dumpb(j, out, cap, JSON_COMPACT | JSON_PRESERVE_ORDER) : 0;
    json_decref(j);
    return n;
}

/* The original service's error shape, plus optional field and reason; the REST shape under
 * /zerobus/v1/ (the field then leads the message). */
static void reply_error(struct zs_http_req *r, int status, const char *msg, const char *field,
                        const char *extra)
{
    int has_field = field != NULL && field[0] != '\0';
    if (rest_path(r->path)) {
        char m[700];
        if (has_field && strncmp(msg, field, strlen(field)) != 0)
            snprintf(m, sizeof m, "%s: %s", field, msg);
        else
            snprintf(m, sizeof m, "%s", msg);
        json_t *j = rest_error(status, m);
        add_request_id(j, r, 1);
        reply_json(r, status, j, extra);
        return;
    }
    json_t *j = json_pack("{s:s, s:i}", "error", msg, "status_code", status);
    if (has_field)
        json_object_set_new(j, "field", json_string(field));
    add_request_id(j, r, 0);
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

static const struct gw_table *find_table(const struct gw_gen *gen, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < gen->ntables; i++)
        if (strlen(gen->tables[i].cfg->key) == n && memcmp(gen->tables[i].cfg->key, p, n) == 0)
            return &gen->tables[i];
    return NULL;
}

static void not_found_table(struct zs_http_req *r, const uint8_t *p, size_t n)
{
    char msg[300];
    snprintf(msg, sizeof msg, "Table '%.*s' not found in configuration", (int)(n > 100 ? 100 : n),
             (const char *)p);
    reply_error(r, 404, msg, NULL, NULL);
}

/*
 * What an error body may say about upstream: Zerobus' own status text helps the client
 * (which column does not match), but the token endpoint's reply is the identity
 * provider's business: it stays in the station's log (the stream's log line has it).
 */
static const char *public_reason(const char *reason, char *buf, size_t cap)
{
    const char *tok = strstr(reason, "token request failed");
    if (tok == NULL)
        return reason;
    snprintf(buf, cap, "%.*stoken request failed (the details are in the station's log)",
             (int)(tok - reason), reason);
    return buf;
}

/* ---------------------------------------------------------------- completions */

/* A parked request (its generation reference), once answered or never parked. */
static struct parked *parked_new(struct zs_gateway_worker *w, struct zs_http_req *r,
                                 enum park_kind kind, const struct gw_table *t, bool wait)
{
    struct parked *p = zs_xcalloc(1, sizeof *p);
    *p = (struct parked){.w = w, .req = r, .kind = kind, .t = t, .wait = wait, .gen = w->gen};
    gw_gen_ref(p->gen);
    return p;
}

static void parked_free(struct parked *p)
{
    gw_gen_unref(p->gen);
    free(p->reload_json);
    free(p);
}

/* Spool or client thread: hand a parked request back to its worker. */
static void on_parked_done(void *ctx, zs_rc rc, uint64_t seq, const char *reason, bool retryable)
{
    struct parked *p = ctx;
    p->rc = rc;
    p->retryable = retryable;
    if (p->kind == PARK_INGEST && rc == ZS_OK)
        p->seq = seq;
    snprintf(p->reason, sizeof p->reason, "%s", reason ? reason : "");
    p->w->post(p->w->post_ctx, &p->node);
}

/*
 * The answer of a batch or a flush (cold path): the original's shape, or the error's, with
 * the records covered (records < 0: unknown, left out), the counts when known, and the
 * records left out of a partial batch (errors, stolen) when there are some.
 */
static void reply_counted(struct zs_http_req *r, const struct gw_table *t, int status,
                          const char *state, const char *msg, long long records, size_t rejected,
                          json_t *errors, const struct zs_spool_counts *c, const char *extra)
{
    if (rest_path(r->path)) { /* 200 {} as Databricks answers, the rejected ones if any */
        json_t *j = status < 300 ? json_object() : rest_error(status, msg);
        if (status >= 300)
            add_request_id(j, r, 1);
        if (errors != NULL) {
            json_object_set_new(j, "accepted",
                                json_integer((json_int_t)(status < 300 ? records : 0)));
            json_object_set_new(j, "rejected", json_integer((json_int_t)rejected));
            json_object_set_new(j, "errors", errors);
        }
        reply_json(r, status < 300 ? 200 : status, j, extra);
        return;
    }
    json_t *j = status < 300 ? json_pack("{s:s, s:s, s:s}", "status", state, "table", t->cfg->key,
                                         "message", msg)
                             : json_pack("{s:s, s:i, s:s}", "error", msg, "status_code", status,
                                         "table", t->cfg->key);
    if (records >= 0)
        json_object_set_new(j, "records", json_integer((json_int_t)records));
    if (c != NULL && c->known) {
        json_object_set_new(j, "acknowledged", json_integer((json_int_t)c->acknowledged));
        json_object_set_new(j, "failed", json_integer((json_int_t)c->failed));
        json_object_set_new(j, "pending", json_integer((json_int_t)c->pending));
    }
    if (status >= 300)
        add_request_id(j, r, 0);
    if (errors != NULL) {
        json_object_set_new(j, "accepted", json_integer((json_int_t)(status < 300 ? records : 0)));
        json_object_set_new(j, "rejected", json_integer((json_int_t)rejected));
        json_object_set_new(j, "errors", errors);
    }
    reply_json(r, status, j, extra);
}

/* The status of a parked batch or flush: ok_status, or what its failure means. */
static int parked_status(const struct parked *p, int ok_status)
{
    return p->rc == ZS_OK                          ? ok_status
           : p->rc == ZS_ETIMEDOUT                 ? 504
           : p->rc == ZS_ENOSPC || p->rc == ZS_EIO ? 503
           : p->retryable || p->rc == ZS_ECANCELED ? 503
                                                   : 502;
}

/* Count n records of t answered status (an ingest, a batch, a REST insert). */
static void tally_status(struct zs_gateway_worker *w, const struct gw_table *t, int status,
                         size_t n)
{
    enum gw_tally why = status < 300                     ? TALLY_ACCEPTED
                        : status == 400                  ? TALLY_VALIDATION
                        : status == 413                  ? TALLY_TOO_LARGE
                        : status == 429                  ? TALLY_BACKPRESSURE
                        : status == 401 || status == 403 ? TALLY_AUTH
                        : status == 504                  ? TALLY_TIMEOUT
                        : status == 502                  ? TALLY_UPSTREAM
                                                         : TALLY_UNAVAILABLE;
    gw_tally(w, t, why, n);
}

/* The status reply_refused gives rc. */
static int refused_status(zs_rc rc)
{
    return rc == ZS_EAGAIN ? 429 : rc == ZS_ELIMIT ? 413 : 503;
}

void zs_gateway_reload_answer(struct zs_gateway_reload_req *req, int status, const char *json)
{
    struct parked *p = (struct parked *)req;
    p->reload_status = status;
    p->reload_json = strdup(json ? json : "{}");
    p->w->post(p->w->post_ctx, &p->node);
}

void zs_gateway_answer(struct zs_handoff_node *node)
{
    struct parked *p = (struct parked *)node;
    struct zs_http_req *r = p->req;
    struct zs_gateway *g = p->w->g;
    if (p->kind == PARK_RELOAD) {
        const char *j = p->reload_json ? p->reload_json : "{}";
        zs_http_respond(r, p->reload_status, "application/json", j, strlen(j),
                        p->reload_status == 503 ? "Retry-After: 1\r\n" : NULL);
        parked_free(p);
        return;
    }
    char pub[300];
    if (p->reason[0] != '\0') {
        const char *pr = public_reason(p->reason, pub, sizeof pub);
        if (pr != p->reason) { /* cut to fit */
            size_t n = strnlen(pr, sizeof p->reason - 1);
            memcpy(p->reason, pr, n);
            p->reason[n] = '\0';
        }
    }
    if (p->kind == PARK_INGEST)
        tally_status(p->w, p->t, parked_status(p, 202), 1);
    if (p->kind == PARK_BATCH) {
        int status = parked_status(p, p->wait ? 200 : 202);
        tally_status(p->w, p->t, status, p->records);
        reply_counted(r, p->t, status, p->wait ? "success" : "queued",
                      status == 200   ? "Records ingested and acknowledged by Zerobus"
                      : status == 202 ? "Records queued for ingestion"
                      : p->reason[0]  ? p->reason
                                      : "not every record was acknowledged",
                      (long long)p->records, p->rejected, p->errors, p->wait ? &p->counts : NULL,
                      status == 503 ? "Retry-After: 1\r\n" : NULL);
    } else if (p->kind == PARK_FLUSH) {
        int status = parked_status(p, 200);
        reply_counted(r, p->t, status, "success",
                      status == 200   ? "Every record accepted before the flush is acknowledged"
                      : p->reason[0]  ? p->reason
                      : status == 504 ? "timed out waiting for Zerobus"
                                      : "not every record the flush covered was acknowledged",
                      p->counts.known ? (long long)p->counts.records : -1, 0, NULL, &p->counts,
                      status == 503 ? "Retry-After: 1\r\n" : NULL);
    } else if (p->rc == ZS_OK) {
        if (p->wait)
            reply_ok(r, 200, p->t, "Record ingested and acknowledged by Zerobus", true, &p->seq);
        else
            reply_ok(r, 202, p->t, "Record queued for ingestion", false, &p->seq);
    } else if (p->rc == ZS_ETIMEDOUT) {
        reply_error(r, 504, p->reason[0] ? p->reason : "timed out waiting for Zerobus", NULL, NULL);
    } else if (p->rc == ZS_ENOSPC || p->rc == ZS_EIO) {
        reply_error(r, 503, p->reason[0] ? p->reason : "the spool could not write the record", NULL,
                    "Retry-After: 1\r\n");
    } else if (p->retryable) {
        reply_error(r, 503, p->reason[0] ? p->reason : "Zerobus is unavailable", NULL,
                    "Retry-After: 1\r\n");
    } else {
        reply_error(r, 502, p->reason[0] ? p->reason : "Zerobus rejected the record", NULL, NULL);
    }
    atomic_fetch_sub(&g->parked, 1);
    parked_free(p);
}

/* ---------------------------------------------------------------- authentication */

/* The worker's keys, refreshed when the gateway's changed (one atomic load per request). */
static const struct zs_keys *worker_keys(struct zs_gateway_worker *w)
{
    struct zs_gateway *g = w->g;
    if (atomic_load_explicit(&g->keys_gen, memory_order_acquire) == w->keys_gen)
        return w->keys;
    pthread_mutex_lock(&g->keys_mu);
    zs_keys_unref(w->keys);
    w->keys = g->keys;
    if (w->keys != NULL)
        zs_keys_ref(w->keys);
    w->keys_gen = atomic_load(&g->keys_gen);
    pthread_mutex_unlock(&g->keys_mu);
    return w->keys;
}

/*
 * Count and log a failed authentication from r's peer: the key never, the first 4
 * characters of the id it claims at most; logged at the 1st, 2nd, 4th, 8th... failure of
 * an address (a guessing client cannot flood the log).
 */
static void auth_failed(struct zs_gateway *g, const struct zs_http_req *r, const uint8_t *key,
                        size_t len, const char *why)
{
    atomic_fetch_add(&g->auth_failures, 1);
    const char *peer = r->peer != NULL ? r->peer : "";
    char id[5] = "";
    for (size_t i = 0; key != NULL && i < len && i < 4 && zs_key_id_valid((const char *)key + i, 1);
         i++)
        id[i] = (char)key[i];
    pthread_mutex_lock(&g->keys_mu);
    struct fail_slot *f = NULL;
    for (size_t i = 0; i < FAIL_SLOTS && f == NULL; i++)
        if (g->fails[i].count > 0 && strcmp(g->fails[i].peer, peer) == 0)
            f = &g->fails[i];
    if (f == NULL) {
        f = &g->fails[g->fail_next++ % FAIL_SLOTS];
        snprintf(f->peer, sizeof f->peer, "%s", peer);
        f->count = 0;
    }
    unsigned long n = ++f->count;
    pthread_mutex_unlock(&g->keys_mu);
    if ((n & (n - 1)) == 0)
        zs_log(ZS_LOG_WARN, "auth",
               "msg=\"authentication failed\" peer=%s reason=\"%s\" key_id=\"%s%s\" "
               "failures=%lu request_id=%s",
               peer[0] ? peer : "-", why, id, id[0] ? "..." : "", n,
               r->request_id ? r->request_id : "-");
}

enum { AUTH_OFF, AUTH_OK, AUTH_NONE, AUTH_BAD };

/* A request's authentication: its key's span as sent (or NULL), and the key found. */
struct authn {
    int who; /* AUTH_OFF (no authentication), AUTH_OK, AUTH_NONE (no key), AUTH_BAD */
    const uint8_t *sent;
    size_t sent_len;
    const struct zs_key *key;
};

static struct authn authenticate(struct zs_gateway_worker *w, const struct zs_http_req *r)
{
    struct authn a = {.who = AUTH_OFF};
    const struct zs_keys *ks = worker_keys(w);
    if (ks == NULL)
        return a;
    const struct zs_slice *ah = zs_http_req_header(r, "authorization");
    const struct zs_slice *kh = zs_http_req_header(r, "x-api-key");
    int got = zs_keys_from_headers(ah ? ah->ptr : NULL, ah ? ah->len : 0, kh ? kh->ptr : NULL,
                                   kh ? kh->len : 0, &a.sent, &a.sent_len);
    if (got <= 0)
        a.sent = NULL;
    if (got == 0 && r->client_cn != NULL && r->client_cn[0] != '\0') {
        /* mutual TLS: the verified certificate's CN stands for the key of that id */
        a.key = zs_keys_find_id(ks, r->client_cn);
        a.who = a.key != NULL ? AUTH_OK : AUTH_BAD;
        return a;
    }
    a.key = got > 0 ? zs_keys_check(ks, a.sent, a.sent_len) : NULL;
    a.who = a.key != NULL ? AUTH_OK : got == 0 ? AUTH_NONE : AUTH_BAD;
    return a;
}

static void reply_unauthenticated(struct zs_gateway *g, struct zs_http_req *r,
                                  const struct authn *a)
{
    auth_failed(g, r, a->sent, a->sent_len, a->who == AUTH_NONE ? "no key" : "invalid key");
    if (a->who == AUTH_NONE)
        reply_error(r, 401, "an API key is required: Authorization: Bearer KEY, or X-API-Key: KEY",
                    NULL, "WWW-Authenticate: Bearer realm=\"zerobus-station\"\r\n");
    else
        reply_error(r, 401, "invalid API key", NULL,
                    "WWW-Authenticate: Bearer realm=\"zerobus-station\", "
                    "error=\"invalid_token\"\r\n");
}

/*
 * After authenticate: may the request do right on t? Returns 1, or 0 once answered: 403
 * naming the table the key has no right on.
 */
static int permit(struct zs_http_req *r, const struct authn *a, const struct gw_table *t,
                  unsigned right)
{
    if (a->who == AUTH_OFF || zs_key_allows(a->key, t->cfg->key, strlen(t->cfg->key), right))
        return 1;
    char msg[400];
    snprintf(msg, sizeof msg, "this key may not %s table '%.200s'",
             right == ZS_RIGHT_FLUSH ? "flush" : "ingest into", t->cfg->key);
    reply_error(r, 403, msg, NULL, NULL);
    return 0;
}

/* A key is needed and r has none that is valid: answered 401. */
static int refused(struct zs_gateway_worker *w, struct zs_http_req *r, const struct authn *a)
{
    if (a->who != AUTH_NONE && a->who != AUTH_BAD)
        return 0;
    reply_unauthenticated(w->g, r, a);
    return 1;
}

void zs_gateway_reload_result(struct zs_gateway *g, const char *error, const char *summary)
{
    char *copy = summary ? zs_xstrdup(summary) : NULL;
    pthread_mutex_lock(&g->keys_mu);
    g->reloads++;
    g->reload_failures += error != NULL;
    snprintf(g->reload_error, sizeof g->reload_error, "%s", error ? error : "");
    if (copy != NULL || error == NULL) { /* a refused reload keeps the last one's summary */
        free(g->reload_summary);
        g->reload_summary = copy;
    }
    pthread_mutex_unlock(&g->keys_mu);
}

void zs_gateway_set_keys(struct zs_gateway *g, struct zs_keys *ks)
{
    if (ks != NULL)
        zs_keys_ref(ks);
    pthread_mutex_lock(&g->keys_mu);
    struct zs_keys *old = g->keys;
    g->keys = ks;
    atomic_store(&g->auth_on, ks != NULL);
    atomic_fetch_add_explicit(&g->keys_gen, 1, memory_order_release);
    pthread_mutex_unlock(&g->keys_mu);
    zs_keys_unref(old);
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

static json_t *table_health(struct zs_spool_table *st, int *degraded)
{
    struct zs_spool_table_state ss;
    zs_spool_table_state(st, &ss);
    const struct zs_spool_upstream *up = &ss.up;
    int bad = up->failing || strcmp(up->state, "recovering") == 0 ||
              strcmp(up->state, "awaiting_schema") == 0 || up->last_fail_ms > up->last_ok_ms;
    *degraded |= bad;
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
        "s:I}",
        "table_name", zs_spool_table_name(st), "status", bad ? "degraded" : "healthy",
        "stream_state", up->state, "durability", ss.mode, "accepted", (json_int_t)ss.accepted,
        "pending", (json_int_t)ss.pending, "pending_bytes", (json_int_t)ss.pending_bytes,
        "oldest_pending_age_ms", (json_int_t)ss.oldest_pending_ms, "queued", (json_int_t)up->queued,
        "inflight", (json_int_t)up->inflight, "acknowledged", (json_int_t)up->acked, "failed",
        (json_int_t)up->failed, "dead_letters", (json_int_t)ss.dead_letters, "replayed",
        (json_int_t)(ss.replayed + up->replayed), "replayed_from_spool", (json_int_t)ss.replayed,
        "recoveries", (json_int_t)up->recoveries, "streams_opened", (json_int_t)up->streams_opened,
        "segments", (json_int_t)ss.segments);
    json_object_set_new(j, "commit_failures", json_integer((json_int_t)ss.commit_failures));
    json_object_set_new(j, "commit_groups", json_integer((json_int_t)ss.groups));
    json_object_set_new(j, "syncs", json_integer((json_int_t)ss.syncs));
    json_object_set_new(j, "last_error",
                        up->last_error[0] ? json_string(up->last_error) : json_null());
    return j;
}

/* Where the table's columns came from, and how old a catalog copy is. */
static json_t *schema_health(const struct zs_table_cfg *t)
{
    static const char *const source[] = {"config", "catalog", "cache"};
    json_t *j = json_pack("{s:s, s:i}", "source", source[t->schema_source % 3], "columns",
                          (int)t->schema->root.nfields);
    if (t->schema_fetched_unix > 0) {
        char when[64];
        zs_iso_utc(t->schema_fetched_unix, when, sizeof when);
        long long age = zs_wall_ms() / 1000 - (long long)t->schema_fetched_unix;
        json_object_set_new(j, "fetched_at", json_string(when));
        json_object_set_new(j, "age_s", json_integer(age > 0 ? age : 0));
    }
    return j;
}

/* detail 0: the status and nothing else (a load balancer's view without a key). */
static void handle_health(struct zs_gateway *g, const struct gw_gen *gen, struct zs_http_req *r,
                          const struct gw_table *one, int detail)
{
    int degraded = 0;
    if (one != NULL) {
        json_t *j = table_health(one->st, &degraded);
        json_object_set_new(j, "schema", schema_health(one->cfg));
        reply_json(r, degraded ? 503 : 200, j, degraded ? "Retry-After: 1\r\n" : NULL);
        return;
    }
    json_t *tables = json_object();
    json_t *reasons = json_array();
    for (size_t i = 0; i < gen->ntables; i++) {
        int d = 0;
        json_t *th = table_health(gen->tables[i].st, &d);
        if (d) {
            char why[400];
            json_t *le = json_object_get(th, "last_error");
            snprintf(why, sizeof why, "%s: %s", gen->tables[i].cfg->key,
                     json_is_string(le) ? json_string_value(le) : "stream recovering");
            json_array_append_new(reasons, json_string(why));
        }
        degraded |= d;
        json_object_set_new(th, "schema", schema_health(gen->tables[i].cfg));
        json_object_set_new(tables, gen->tables[i].cfg->key, th);
    }
    /* Tables the spool still delivers that the configuration no longer has (left on disk
     * by an earlier run, or removed by a reload): they drain. */
    json_t *orphans = json_object();
    struct zs_spool_table *ot;
    for (size_t i = 0; (ot = zs_spool_table_at(g->sp, i)) != NULL; i++) {
        int d = 0, configured = 0;
        for (size_t k = 0; k < gen->ntables && !configured; k++)
            configured = gen->tables[k].st == ot;
        if (configured)
            continue;
        json_object_set_new(orphans, zs_spool_table_name(ot), table_health(ot, &d));
        degraded |= d;
    }
    /* Without credentials nothing can reach Zerobus: unhealthy, whatever the tables say. */
    int nocreds = gen->c->client_id == NULL || gen->c->client_secret == NULL;
    if (nocreds)
        json_array_append_new(reasons, json_string("no credentials: set DATABRICKS_CLIENT_ID "
                                                   "and DATABRICKS_CLIENT_SECRET"));
    const char *dir = zs_spool_dir(g->sp);
    json_t *j =
        json_pack("{s:s, s:s, s:i, s:s, s:s?, s:o, s:o, s:o}", "status",
                  nocreds    ? "unhealthy"
                  : degraded ? "degraded"
                             : "healthy",
                  "service", "zerobus-station", "active_tables", (int)gen->ntables, "durability",
                  zs_spool_mode(g->sp) == ZS_SPOOL_DISK ? "disk" : "memory", "spool_dir", dir,
                  "tables", tables, "spool_only_tables", orphans, "reasons", reasons);
    degraded |= nocreds;
    pthread_mutex_lock(&g->keys_mu);
    json_object_set_new(j, "auth",
                        json_pack("{s:b, s:I, s:I, s:s?}", "keys", atomic_load(&g->auth_on),
                                  "failures", (json_int_t)atomic_load(&g->auth_failures), "reloads",
                                  (json_int_t)g->reloads, "reload_error",
                                  g->reload_error[0] ? g->reload_error : NULL));
    json_t *last = g->reload_summary ? json_loads(g->reload_summary, 0, NULL) : NULL;
    json_object_set_new(j, "reload",
                        json_pack("{s:I, s:I, s:s?, s:o}", "count", (json_int_t)g->reloads,
                                  "failures", (json_int_t)g->reload_failures, "error",
                                  g->reload_error[0] ? g->reload_error : NULL, "last",
                                  last ? last : json_null()));
    pthread_mutex_unlock(&g->keys_mu);
    if (!detail) {
        json_t *st = json_incref(json_object_get(j, "status"));
        json_decref(j);
        j = json_pack("{s:o, s:s}", "status", st, "service", "zerobus-station");
    }
    reply_json(r, degraded ? 503 : 200, j, degraded ? "Retry-After: 1\r\n" : NULL);
}

static void handle_info(const struct gw_gen *gen, struct zs_http_req *r)
{
    json_t *tables = json_array(), *endpoints = json_object();
    for (size_t i = 0; i < gen->ntables; i++)
        json_array_append_new(tables, json_string(gen->tables[i].cfg->key));
    json_object_set_new(endpoints, "ingest",
                        json_string("POST /ingest/{table_key}?wait_for_ack=false"));
    json_object_set_new(endpoints, "zerobus_rest",
                        json_string("POST /zerobus/v1/tables/{table_name}/insert"));
    json_object_set_new(endpoints, "flush", json_string("POST /flush/{table_key}"));
    json_object_set_new(endpoints, "health", json_string("GET /health"));
    json_object_set_new(endpoints, "table_health", json_string("GET /health/{table_key}"));
    json_object_set_new(endpoints, "docs", json_string("GET /docs"));
    json_object_set_new(endpoints, "redoc", json_string("GET /redoc"));
    json_object_set_new(endpoints, "openapi", json_string("GET /openapi.json"));
    json_object_set_new(endpoints, "metrics", json_string("GET /metrics"));
    json_object_set_new(endpoints, "reload", json_string("POST /admin/reload"));
    json_object_set_new(endpoints, "schema_refresh", json_string("POST /admin/schema/refresh"));
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

static void reply_stopping(struct zs_http_req *r)
{
    reply_error(r, 503, "the station is shutting down", NULL, "Retry-After: 1\r\n");
}

/* A refused submit (fn will not run): the status that tells the client what to do. */
static void reply_refused(struct zs_http_req *r, const struct gw_table *t, zs_rc rc)
{
    if (rc == ZS_EAGAIN) {
        reply_error(r, 429, "too many records waiting for this table; retry shortly", NULL,
                    "Retry-After: 1\r\n");
    } else if (rc == ZS_ELIMIT) {
        reply_error(r, 413, "record too large for Zerobus", NULL, NULL);
    } else if (rc == ZS_ECANCELED) {
        reply_stopping(r);
    } else if (rc == ZS_EUNAVAIL) {
        struct zs_spool_table_state ss;
        zs_spool_table_state(t->st, &ss);
        char msg[400];
        char pub[300];
        if (ss.up.failing || strcmp(ss.up.state, "recovering") == 0)
            snprintf(msg, sizeof msg, "Zerobus is unavailable: %s",
                     ss.up.last_error[0] ? public_reason(ss.up.last_error, pub, sizeof pub)
                                         : "reconnecting");
        else
            snprintf(msg, sizeof msg, "the spool of this table is full: Zerobus is behind");
        reply_error(r, 503, msg, NULL, "Retry-After: 1\r\n");
    } else {
        reply_error(r, 503, "the station cannot accept the record now", NULL, "Retry-After: 1\r\n");
    }
}

/* Which body a request has: NDJSON by its Content-Type, an array by its first byte. */
static int body_form(const struct zs_http_req *r, enum zs_batch_form *form)
{
    const struct zs_slice *ct = zs_http_req_header(r, "content-type");
    if (ct != NULL) {
        size_t n = 0;
        while (n < ct->len && ct->ptr[n] != ';' && ct->ptr[n] != ' ')
            n++;
        static const char *const nd[] = {"application/x-ndjson", "application/jsonl",
                                         "application/x-jsonlines", "application/ndjson"};
        for (size_t i = 0; i < sizeof nd / sizeof nd[0]; i++) {
            if (n == strlen(nd[i]) && strncasecmp((const char *)ct->ptr, nd[i], n) == 0) {
                *form = ZS_BATCH_NDJSON;
                return 1;
            }
        }
    }
    for (size_t i = 0; i < r->body.len; i++) {
        uint8_t c = r->body.ptr[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            continue;
        *form = ZS_BATCH_ARRAY;
        return c == '[';
    }
    return 0;
}

/* The listed errors of a batch, as JSON ([{index, field, reason}]). */
static json_t *batch_errors(const struct zs_batch *b)
{
    json_t *a = json_array();
    for (size_t i = 0; i < b->nerrors; i++) {
        const struct zs_batch_error *e = &b->errors[i];
        json_t *o = json_pack("{s:I, s:s, s:s}", "index", (json_int_t)e->index, "field", e->field,
                              "reason", e->reason);
        json_array_append_new(a, o);
    }
    return a;
}

static int grow_ptrs(struct zs_gateway_worker *w, size_t n)
{
    if (n <= w->bcap)
        return 0;
    const uint8_t **p = realloc(w->bptr, n * sizeof *p);
    if (p == NULL)
        return -1;
    w->bptr = p;
    size_t *l = realloc(w->blen, n * sizeof *l);
    if (l == NULL)
        return -1;
    w->blen = l;
    w->bcap = n;
    return 0;
}

static void handle_batch(struct zs_gateway_worker *w, struct zs_http_req *r,
                         const struct gw_table *t, enum zs_batch_form form, int wait)
{
    struct zs_gateway *g = w->g;
    char v[16];
    int partial = 0;
    zs_rc qrc = zs_http_query_param(r->query, "partial", v, sizeof v);
    if (qrc == ZS_OK && (!strcmp(v, "true") || !strcmp(v, "1")))
        partial = 1;
    else if (qrc != ZS_ENOTFOUND && !(qrc == ZS_OK && (!strcmp(v, "false") || !strcmp(v, "0")))) {
        tally_status(w, t, 400, 1);
        reply_error(r, 400, "partial must be true or false", "partial", NULL);
        return;
    }
    struct zs_batch *b = &w->batch;
    struct zs_err err;
    zs_err_clear(&err);
    zs_rc rc = zs_batch_parse(b, w->tc, t->cfg->schema, form, r->body.ptr, r->body.len,
                              (size_t)w->gen->c->station.max_request_records,
                              (size_t)w->gen->c->station.max_batch_errors, &err);
    if (rc != ZS_OK) {
        int status = rc == ZS_ELIMIT ? 413 : rc == ZS_ENOMEM ? 500 : 400;
        tally_status(w, t, status, 1);
        reply_error(r, status, err.msg, err.where, NULL);
        return;
    }
    tally_status(w, t, 400, b->rejected); /* with partial=true the others may go on */
    if (b->rejected > 0 && (!partial || b->nitems == 0)) {
        tally_status(w, t, 400, b->nitems);
        char msg[200];
        snprintf(msg, sizeof msg, "%zu of the %zu records are invalid; none was accepted",
                 b->rejected, b->total);
        reply_counted(r, t, 400, NULL, msg, (long long)b->total, b->rejected, batch_errors(b), NULL,
                      NULL);
        return;
    }
    size_t n = b->nitems;
    if (grow_ptrs(w, n) != 0) {
        tally_status(w, t, 500, n);
        reply_error(r, 500, "out of memory", NULL, NULL);
        return;
    }
    int json = t->cfg->record_type == ZS_RECORD_JSON;
    for (size_t i = 0; i < n; i++) {
        const struct zs_batch_item *it = &b->items[i];
        w->bptr[i] = json ? r->body.ptr + it->json_off : b->recs.data + it->rec_off;
        w->blen[i] = json ? it->json_len : it->rec_len;
    }
    struct parked *p = parked_new(w, r, PARK_BATCH, t, wait);
    p->records = n;
    p->rejected = b->rejected;
    p->errors = b->rejected > 0 ? batch_errors(b) : NULL;
    atomic_fetch_add(&g->parked, 1);
    uint64_t last = 0;
    size_t accepted = 0;
    rc = zs_spool_submit_batch(t->st, t->var, w->bptr, w->blen, n, wait, on_parked_done, p,
                               wait ? &p->counts : NULL, &last, &accepted);
    if (rc == ZS_OK && last == 0)
        return; /* answered by zs_gateway_answer */
    atomic_fetch_sub(&g->parked, 1);
    tally_status(w, t, 202, accepted);
    tally_status(w, t, refused_status(rc), n - accepted);
    if (rc == ZS_OK) {
        reply_counted(r, t, 202, "queued", "Records queued for ingestion", (long long)n,
                      p->rejected, p->errors, NULL, NULL);
    } else if (accepted > 0) { /* memory mode: the window filled part way */
        char msg[200];
        snprintf(msg, sizeof msg,
                 "the first %zu of the %zu records were accepted; retry from record %zu", accepted,
                 n, b->items[accepted].index);
        if (rest_path(r->path)) {
            json_decref(p->errors);
            reply_error(r, 429, msg, NULL, "Retry-After: 1\r\n");
            parked_free(p);
            return;
        }
        json_t *j =
            json_pack("{s:s, s:i, s:s, s:I, s:I}", "error", msg, "status_code", 429, "table",
                      t->cfg->key, "records", (json_int_t)n, "accepted", (json_int_t)accepted);
        json_decref(p->errors);
        reply_json(r, 429, j, "Retry-After: 1\r\n");
    } else {
        json_decref(p->errors);
        reply_refused(r, t, rc);
    }
    parked_free(p);
}

static void handle_ingest(struct zs_gateway_worker *w, struct zs_http_req *r,
                          const struct gw_table *t)
{
    struct zs_gateway *g = w->g;
    int wait;
    if (parse_wait(r, &wait) != 0) {
        tally_status(w, t, 400, 1);
        reply_error(r, 400, "wait_for_ack must be true or false", "wait_for_ack", NULL);
        return;
    }
    enum zs_batch_form form;
    if (body_form(r, &form)) {
        handle_batch(w, r, t, form, wait);
        return;
    }
    struct zs_err err;
    zs_err_clear(&err);
    w->rec.len = 0;
    zs_rc rc = zs_transcode(w->tc, t->cfg->schema, r->body.ptr, r->body.len, &w->rec, &err);
    if (rc != ZS_OK) {
        char msg[sizeof err.where + sizeof err.msg + 4];
        snprintf(msg, sizeof msg, "%s: %s", err.where, err.msg);
        int status = rc == ZS_ELIMIT ? 413 : rc == ZS_ENOMEM ? 500 : 400;
        tally_status(w, t, status, 1);
        reply_error(r, status, msg, err.where, NULL);
        return;
    }
    /* JSON tables: the record was validated at the edge; Zerobus gets the JSON text. */
    const void *rec =
        t->cfg->record_type == ZS_RECORD_JSON ? (const void *)r->body.ptr : w->rec.data;
    size_t len = t->cfg->record_type == ZS_RECORD_JSON ? r->body.len : w->rec.len;
    /* Parked unless the spool accepts it at once (memory mode, no wait): no allocation
     * per request on that path. */
    struct parked *p = NULL;
    if (wait || zs_spool_mode(g->sp) == ZS_SPOOL_DISK) {
        p = parked_new(w, r, PARK_INGEST, t, wait);
        atomic_fetch_add(&g->parked, 1);
    }
    uint64_t seq = 0;
    rc = zs_spool_submit(t->st, t->var, rec, len, wait, p ? on_parked_done : NULL, p, &seq);
    if (rc != ZS_OK || seq != 0) { /* refused, or accepted at once (memory mode) */
        if (p != NULL) {
            atomic_fetch_sub(&g->parked, 1);
            parked_free(p);
        }
        tally_status(w, t, rc == ZS_OK ? 202 : refused_status(rc), 1);
        if (rc != ZS_OK)
            reply_refused(r, t, rc);
        else
            reply_ok(r, 202, t, "Record queued for ingestion", false, &seq);
    }
    /* else answered by zs_gateway_answer */
}

static void handle_flush(struct zs_gateway_worker *w, struct zs_http_req *r,
                         const struct gw_table *t)
{
    struct parked *p = parked_new(w, r, PARK_FLUSH, t, false);
    atomic_fetch_add(&w->g->parked, 1);
    zs_rc rc = zs_spool_flush(t->st, (uint32_t)w->gen->c->station.flush_timeout_ms, on_parked_done,
                              p, &p->counts);
    if (rc != ZS_OK) {
        atomic_fetch_sub(&w->g->parked, 1);
        parked_free(p);
        reply_refused(r, t, rc);
    }
}

/* The table whose Unity Catalog name is name (case-insensitive, as UC names are). */
static const struct gw_table *find_uc_table(const struct gw_gen *gen, const char *name)
{
    for (size_t i = 0; i < gen->ntables; i++)
        if (strcasecmp(gen->tables[i].cfg->table_name, name) == 0)
            return &gen->tables[i];
    return NULL;
}

/*
 * POST /zerobus/v1/tables/{catalog.schema.table}/insert: Databricks' REST ingest call. A
 * JSON array (or NDJSON) is a batch of /ingest/{key} for the configured table of that name;
 * 200 {} once the batch is accepted as /ingest would answer 202 (after the spool commit),
 * errors in the REST shape. rest: the path after /zerobus/v1/tables/.
 */
static void handle_rest(struct zs_gateway_worker *w, struct zs_http_req *r, struct zs_slice rest,
                        int post_m, int stopping, const struct authn *a)
{
    static const char ins[] = "/insert";
    size_t il = sizeof ins - 1;
    char name[256];
    if (rest.len <= il || memcmp(rest.ptr + rest.len - il, ins, il) != 0 ||
        memchr(rest.ptr, '/', rest.len - il) != NULL) {
        reply_error(r, 404, "unknown call: POST /zerobus/v1/tables/{table_name}/insert is served",
                    NULL, NULL);
        return;
    }
    rest.len -= il;
    if (zs_http_url_decode(rest, 0, name, sizeof name) != ZS_OK) {
        reply_error(r, 400, "invalid table name", "table_name", NULL);
        return;
    }
    const struct gw_table *t = find_uc_table(w->gen, name);
    if (t == NULL) {
        char msg[400];
        snprintf(msg, sizeof msg, "Table '%.200s' is not configured on this station", name);
        reply_error(r, 404, msg, NULL, NULL);
        return;
    }
    if (!post_m) {
        reply_error(r, 405, "use POST", NULL, "Allow: POST\r\n");
        return;
    }
    if (!permit(r, a, t, ZS_RIGHT_INGEST)) {
        tally_status(w, t, 403, 1);
        return;
    }
    if (stopping) {
        tally_status(w, t, 503, 1);
        reply_stopping(r);
        return;
    }
    int wait;
    if (parse_wait(r, &wait) != 0) {
        tally_status(w, t, 400, 1);
        reply_error(r, 400, "wait_for_ack must be true or false", "wait_for_ack", NULL);
        return;
    }
    enum zs_batch_form form;
    if (!body_form(r, &form)) {
        tally_status(w, t, 400, 1);
        reply_error(r, 400, "the body must be a JSON array of records", NULL, NULL);
        return;
    }
    handle_batch(w, r, t, form, wait);
}

/* The route of a GET-only path, or ROUTE_OTHER. */
static int get_route(const struct zs_http_req *r)
{
    struct zs_slice key;
    if (path_eq(r, "/health") || path_prefix(r, "/health/", &key))
        return ROUTE_HEALTH;
    if (path_eq(r, "/"))
        return ROUTE_INFO;
    if (path_eq(r, "/openapi.json"))
        return ROUTE_OPENAPI;
    if (path_eq(r, "/docs") || path_eq(r, "/redoc"))
        return ROUTE_DOCS;
    if (path_eq(r, "/metrics"))
        return ROUTE_METRICS;
    return ROUTE_OTHER;
}

/* The worker's configuration, refreshed when a reload made a new one (one atomic load per
 * request). */
static struct gw_gen *worker_gen(struct zs_gateway_worker *w)
{
    struct zs_gateway *g = w->g;
    if (w->gen != NULL && atomic_load_explicit(&g->gen_no, memory_order_acquire) == w->gen->no)
        return w->gen;
    pthread_mutex_lock(&g->gen_mu);
    struct gw_gen *cur = g->gen;
    gw_gen_ref(cur);
    pthread_mutex_unlock(&g->gen_mu);
    gw_gen_unref(w->gen);
    w->gen = cur;
    return cur;
}

/* POST /admin/reload: a key with the admin right; without keys, loopback clients only. */
static void handle_reload(struct zs_gateway_worker *w, struct zs_http_req *r, int post_m)
{
    struct zs_gateway *g = w->g;
    struct authn a = authenticate(w, r);
    if (refused(w, r, &a))
        return;
    if (!post_m) {
        reply_error(r, 405, "use POST", NULL, "Allow: POST\r\n");
        return;
    }
    if (a.who == AUTH_OFF ? !r->peer_loopback : !zs_key_has_right(a.key, ZS_RIGHT_ADMIN)) {
        reply_error(r, 403,
                    a.who == AUTH_OFF ? "without ingest keys, reloads come from loopback only"
                                      : "this key has no admin right",
                    NULL, NULL);
        return;
    }
    if (g->reload_fn == NULL) {
        reply_error(r, 501, "reload is not available", NULL, NULL);
        return;
    }
    struct parked *p = parked_new(w, r, PARK_RELOAD, NULL, false);
    g->reload_fn(g->reload_ctx, (struct zs_gateway_reload_req *)p);
}

void zs_gateway_handle(struct zs_http_req *r, void *ctx)
{
    struct zs_gateway_worker *w = ctx;
    struct zs_gateway *g = w->g;
    int stopping = atomic_load(&g->stopping);
    if (stopping >= 2) { /* the delivery path is going away: touch nothing of it */
        reply_stopping(r);
        return;
    }
    const struct gw_gen *gen = worker_gen(w);
    /* HEAD is GET without the body (the HTTP layer leaves it out). */
    int get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0,
        post_m = strcmp(r->method, "POST") == 0;
    struct zs_slice key;
    /* With keys: a key before anything else (which tables exist is no one else's business). */
    if (r->path.len > sizeof REST_TABLES - 1 &&
        memcmp(r->path.ptr, REST_TABLES, sizeof REST_TABLES - 1) == 0) {
        r->route = ROUTE_REST;
        struct authn a = authenticate(w, r);
        if (refused(w, r, &a))
            return;
        key = (struct zs_slice){r->path.ptr + sizeof REST_TABLES - 1,
                                r->path.len - (sizeof REST_TABLES - 1)};
        handle_rest(w, r, key, post_m, stopping, &a);
        return;
    }
    int ingest = path_prefix(r, "/ingest/", &key);
    if (ingest || path_prefix(r, "/flush/", &key)) {
        r->route = ingest ? ROUTE_INGEST : ROUTE_FLUSH;
        struct authn a = authenticate(w, r);
        const struct gw_table *t = find_table(gen, key.ptr, key.len);
        if (refused(w, r, &a)) {
            if (ingest)
                gw_tally(w, t, TALLY_AUTH, 1);
        } else if (t == NULL) {
            not_found_table(r, key.ptr, key.len);
        } else if (!post_m) {
            reply_error(r, 405, "use POST", NULL, "Allow: POST\r\n");
        } else if (!permit(r, &a, t, ingest ? ZS_RIGHT_INGEST : ZS_RIGHT_FLUSH)) {
            if (ingest)
                gw_tally(w, t, TALLY_AUTH, 1);
        } else if (stopping) {
            if (ingest)
                gw_tally(w, t, TALLY_UNAVAILABLE, 1);
            reply_stopping(r);
        } else if (ingest) {
            handle_ingest(w, r, t);
        } else {
            handle_flush(w, r, t);
        }
        return;
    }
    /* /admin/schema/refresh: a reload, which fetches the catalog's columns again. */
    if (path_eq(r, "/admin/reload") || path_eq(r, "/admin/schema/refresh")) {
        r->route = ROUTE_ADMIN;
        handle_reload(w, r, post_m);
        return;
    }
    r->route = get_route(r);
    if (r->route != ROUTE_OTHER && !get) {
        reply_error(r, 405, "use GET or HEAD", NULL, "Allow: GET, HEAD\r\n");
        return;
    }
    /* The detailed health, the OpenAPI document and the metrics: a key, unless
     * station.open_docs. */
    int detail_route =
        path_prefix(r, "/health/", &key) || r->route == ROUTE_OPENAPI || r->route == ROUTE_METRICS;
    struct authn a = {.who = AUTH_OFF};
    if (detail_route || path_eq(r, "/health")) {
        a = authenticate(w, r);
        if (gen->c->station.open_docs)
            a.who = AUTH_OFF;
        if (detail_route && refused(w, r, &a))
            return;
    }
    if (path_prefix(r, "/health/", &key)) {
        const struct gw_table *t = find_table(gen, key.ptr, key.len);
        if (t == NULL)
            not_found_table(r, key.ptr, key.len);
        else
            handle_health(g, gen, r, t, 1);
        return;
    }
    switch (r->route) {
    case ROUTE_HEALTH: /* open to load balancers: the status only, unless the request may see
                          more */
        handle_health(g, gen, r, NULL, a.who == AUTH_OFF || a.who == AUTH_OK);
        break;
    case ROUTE_INFO:
        handle_info(gen, r);
        break;
    case ROUTE_OPENAPI: {
        struct zs_buf b;
        zs_buf_init(&b, 16 << 20);
        if (zs_api_openapi(gen->c, &b) == ZS_OK)
            zs_http_respond(r, 200, "application/json", b.data, b.len, NULL);
        else
            reply_error(r, 500, "cannot build the OpenAPI document", NULL, NULL);
        zs_buf_release(&b);
        break;
    }
    case ROUTE_DOCS: {
        const char *page = zs_api_docs_page();
        zs_http_respond(r, 200, "text/html; charset=utf-8", page, strlen(page), NULL);
        break;
    }
    case ROUTE_METRICS:
        gw_handle_metrics(g, gen, r);
        break;
    default:
        reply_error(r, 404, "Not Found", NULL, NULL);
    }
}

/* ---------------------------------------------------------------- lifecycle */

void gw_gen_ref(struct gw_gen *gen)
{
    atomic_fetch_add_explicit(&gen->refs, 1, memory_order_relaxed);
}

void gw_gen_unref(struct gw_gen *gen)
{
    if (gen == NULL || atomic_fetch_sub_explicit(&gen->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < gen->ntables; i++)
        free(gen->tables[i].key_json);
    free(gen->tables);
    zs_config_destroy(gen->owned);
    free(gen);
}

/* The counters' slot of a Delta table name (g->gen_mu held). */
static size_t slot_of(struct zs_gateway *g, const char *table_name)
{
    for (size_t i = 0; i < g->nslots; i++)
        if (strcmp(g->slot_names[i], table_name) == 0)
            return i;
    if (g->nslots == GW_SLOT_CHUNK * GW_SLOT_CHUNKS)
        return g->nslots - 1; /* cannot happen: the spool has fewer tables */
    g->slot_names[g->nslots] = zs_xstrdup(table_name);
    return g->nslots++;
}

/* A generation for c (g->gen_mu held), with one reference: the caller's. */
static struct gw_gen *gen_new(struct zs_gateway *g, const struct zs_config *c,
                              struct zs_config *owned, struct zs_spool_table *const *tables,
                              const int *variants)
{
    struct gw_gen *gen = zs_xcalloc(1, sizeof *gen);
    atomic_init(&gen->refs, 1);
    gen->no = atomic_load(&g->gen_no) + 1;
    gen->c = c;
    gen->owned = owned;
    gen->ntables = c->ntables;
    gen->tables = zs_xcalloc(c->ntables ? c->ntables : 1, sizeof *gen->tables);
    for (size_t i = 0; i < c->ntables; i++) {
        struct gw_table *t = &gen->tables[i];
        t->cfg = &c->tables[i];
        t->st = tables[i];
        t->var = variants[i];
        t->slot = slot_of(g, c->tables[i].table_name);
        json_t *k = json_string(c->tables[i].key);
        t->key_json = k ? json_dumps(k, JSON_ENCODE_ANY) : NULL;
        json_decref(k);
        if (t->key_json == NULL)
            t->key_json = zs_xstrdup("\"\"");
    }
    return gen;
}

zs_rc zs_gateway_create(const struct zs_config *c, struct zs_spool *sp,
                        struct zs_spool_table *const *tables, const int *variants,
                        struct zs_gateway **out)
{
    struct zs_gateway *g = zs_xcalloc(1, sizeof *g);
    pthread_mutex_init(&g->keys_mu, NULL);
    pthread_mutex_init(&g->workers_mu, NULL);
    pthread_mutex_init(&g->gen_mu, NULL);
    g->c = c;
    g->sp = sp;
    g->gen = gen_new(g, c, NULL, tables, variants);
    atomic_store(&g->gen_no, g->gen->no);
    *out = g;
    return ZS_OK;
}

void zs_gateway_reconfigure(struct zs_gateway *g, struct zs_config *c,
                            struct zs_spool_table *const *tables, const int *variants)
{
    pthread_mutex_lock(&g->gen_mu);
    struct gw_gen *old = g->gen;
    g->gen = gen_new(g, c, c, tables, variants);
    atomic_store_explicit(&g->gen_no, g->gen->no, memory_order_release);
    pthread_mutex_unlock(&g->gen_mu);
    gw_gen_unref(old); /* freed when the last worker and parked request let it go */
}

void zs_gateway_set_reload(struct zs_gateway *g, zs_gateway_reload_fn fn, void *ctx)
{
    g->reload_fn = fn;
    g->reload_ctx = ctx;
}

void zs_gateway_destroy(struct zs_gateway *g)
{
    if (g == NULL)
        return;
    gw_gen_unref(g->gen);
    for (size_t i = 0; i < g->nslots; i++)
        free(g->slot_names[i]);
    free(g->reload_summary);
    zs_keys_unref(g->keys);
    pthread_mutex_destroy(&g->keys_mu);
    pthread_mutex_destroy(&g->workers_mu);
    pthread_mutex_destroy(&g->gen_mu);
    free(g);
}

struct zs_gateway_worker *zs_gateway_worker_create(struct zs_gateway *g, zs_gateway_post_fn post,
                                                   void *post_ctx)
{
    struct zs_gateway_worker *w = zs_xcalloc(1, sizeof *w);
    w->g = g;
    w->post = post;
    w->post_ctx = post_ctx;
    w->tc = zs_transcoder_create();
    if (w->tc == NULL) {
        free(w);
        return NULL;
    }
    pthread_mutex_lock(&g->workers_mu);
    w->next_worker = g->workers;
    g->workers = w;
    pthread_mutex_unlock(&g->workers_mu);
    zs_buf_init(&w->rec, (size_t)g->c->station.max_record_bytes + 4096);
    /* Encoded records of one body: protobuf is rarely larger than its JSON. */
    zs_batch_init(&w->batch, 2 * (size_t)g->c->station.max_body_bytes + (1u << 20));
    return w;
}

void zs_gateway_worker_destroy(struct zs_gateway_worker *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->g->workers_mu);
    for (struct zs_gateway_worker **pp = &w->g->workers; *pp != NULL; pp = &(*pp)->next_worker) {
        if (*pp == w) {
            *pp = w->next_worker;
            break;
        }
    }
    pthread_mutex_unlock(&w->g->workers_mu);
    for (size_t i = 0; i < GW_SLOT_CHUNKS; i++)
        free(atomic_load(&w->m.tally[i]));
    gw_gen_unref(w->gen);
    zs_transcoder_destroy(w->tc);
    zs_buf_release(&w->rec);
    zs_batch_release(&w->batch);
    zs_keys_unref(w->keys);
    free(w->bptr);
    free(w->blen);
    free(w);
}

void zs_gateway_set_stopping(struct zs_gateway *g, int level)
{
    atomic_store(&g->stopping, level);
}

long zs_gateway_parked(struct zs_gateway *g)
{
    return atomic_load(&g->parked);
}
