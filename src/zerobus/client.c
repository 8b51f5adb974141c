/*
 * Zerobus client: the public API (zs_zerobus.h), the table inboxes that other threads
 * fill, and the client thread that runs the transport and every stream.
 * Thread: submit/flush/state from any thread (under a table's lock); the rest on the
 * client thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/zs_clock.h"
#include "core/zs_log.h"
#include "core/zs_mem.h"
#include "zerobus/zerobus_int.h"

struct zb_token_result {
    char *table;
    char *token; /* SECRET */
    char reason[200];
    int retryable;
    struct zb_token_result *next;
};

long long zb_now_ms(void)
{
    return zs_mono_ms();
}

static char *dup_or_null(const char *s)
{
    return s ? zs_xstrdup(s) : NULL;
}

zs_rc zb_client_init(struct zs_zb *z, const struct zs_zb_opts *o,
                     const struct zs_zb_transport_ops *tops, void *tctx, struct zs_err *err)
{
    memset(z, 0, sizeof *z);
    /* Values are used as given: the defaults live in the option tables (options.c). */
    if (o->max_batch_records == 0 || o->max_batch_bytes == 0 || o->max_inflight_records == 0 ||
        o->max_inflight_bytes == 0 || o->recovery_timeout_ms == 0 || o->ack_timeout_ms == 0 ||
        o->flush_timeout_ms == 0 || o->streams_per_table == 0)
        return zs_err_set(err, ZS_EINVAL, NULL,
                          "Zerobus client options: batch, window, timeout and stream counts "
                          "must be positive");
    z->o = *o;
    z->endpoint = dup_or_null(o->endpoint);
    z->tls_ca_file = dup_or_null(o->tls_ca_file);
    z->workspace_url = dup_or_null(o->workspace_url);
    z->workspace_id = dup_or_null(o->workspace_id);
    z->client_id = dup_or_null(o->client_id);
    z->client_secret = dup_or_null(o->client_secret);
    z->o.client_secret = NULL; /* only the private copy */
    z->tops = tops;
    z->tctx = tctx;
    z->now_ms = zb_now_ms;
    pthread_mutex_init(&z->lock, NULL);
    return ZS_OK;
}

/* Any thread: wake the client thread (its poll returns at once, or the next one does). */
static void ring(struct zs_zb *z)
{
    if (z->tops != NULL && z->tops->wake != NULL)
        z->tops->wake(z->tctx);
}

zs_rc zs_zb_table_add(struct zs_zb *z, const char *name, int record_type, const uint8_t *desc,
                      size_t desc_len, bool eager, struct zs_zb_table **out, struct zs_err *err)
{
    if (record_type != 1 && record_type != 2)
        return zs_err_set(err, ZS_EINVAL, NULL, "record_type must be 1 (PROTO) or 2 (JSON)");
    if (record_type == 1 && (desc == NULL || desc_len == 0))
        return zs_err_set(err, ZS_EINVAL, NULL, "a PROTO table needs its descriptor");
    struct zs_zb_table *t = zs_xcalloc(1, sizeof *t);
    t->z = z;
    t->name = zs_xstrdup(name);
    t->record_type = record_type;
    if (record_type == 1) {
        t->descriptor = zs_xalloc(desc_len);
        memcpy(t->descriptor, desc, desc_len);
        t->descriptor_len = desc_len;
    }
    t->nstreams = z->o.streams_per_table;
    t->streams = zs_xcalloc(t->nstreams, sizeof *t->streams);
    for (unsigned i = 0; i < t->nstreams; i++) {
        t->streams[i].t = t;
        t->streams[i].index = (int)i;
        zs_buf_init(&t->streams[i].msg, z->o.max_batch_bytes + (1u << 20));
    }
    pthread_mutex_init(&t->lock, NULL);
    t->want_open = eager;
    pthread_mutex_lock(&z->lock);
    t->next = z->tables;
    z->tables = t;
    pthread_mutex_unlock(&z->lock);
    ring(z);
    *out = t;
    return ZS_OK;
}

static zs_rc inbox_push(struct zs_zb_table *t, const struct zb_op *op)
{
    void *grown = zs_grow(t->inbox, &t->inbox_cap, t->inbox_len, sizeof *t->inbox, 1024);
    if (grown == NULL)
        return ZS_ENOMEM;
    t->inbox = grown;
    t->inbox[t->inbox_len++] = *op;
    return ZS_OK;
}

zs_rc zs_zb_submit(struct zs_zb_table *t, const void *rec, size_t len, zs_zb_done_fn fn, void *ctx)
{
    return zs_zb_submit_seq(t, rec, len, fn, ctx, false, NULL);
}

static zs_rc submit(struct zs_zb_table *t, const void *rec, size_t len, const struct zb_rec *cb,
                    bool waited, uint64_t *out_seq);

zs_rc zs_zb_submit_seq(struct zs_zb_table *t, const void *rec, size_t len, zs_zb_done_fn fn,
                       void *ctx, bool waited, uint64_t *out_seq)
{
    struct zb_rec cb = {.fn = fn, .ctx = ctx};
    return submit(t, rec, len, &cb, waited, out_seq);
}

zs_rc zs_zb_submit_rec(struct zs_zb_table *t, const void *rec, size_t len, bool waited, uint64_t id,
                       zs_zb_rec_fn fn, void *ctx)
{
    struct zb_rec cb = {.rfn = fn, .ctx = ctx, .id = id};
    return submit(t, rec, len, &cb, waited, NULL);
}

/* cb: the completion fields of the record (fn or rfn, ctx, id). */
static zs_rc submit(struct zs_zb_table *t, const void *rec, size_t len, const struct zb_rec *cb,
                    bool waited, uint64_t *out_seq)
{
    struct zs_zb *z = t->z;
    if (atomic_load(&z->stopping))
        return ZS_ECANCELED;
    if (len > z->o.max_batch_bytes)
        return ZS_ELIMIT;
    /* The window: records and bytes submitted but not completed. */
    if (atomic_load(&t->outstanding) >= z->o.max_inflight_records ||
        atomic_load(&t->outstanding_bytes) + len > z->o.max_inflight_bytes)
        return ZS_EAGAIN;
    uint8_t *copy = zs_alloc(len ? len : 1);
    if (copy == NULL)
        return ZS_ENOMEM;
    memcpy(copy, rec, len);
    pthread_mutex_lock(&t->lock);
    struct zb_op op = {.waited = waited};
    op.rec = *cb;
    op.rec.data = copy;
    op.rec.len = (uint32_t)len;
    op.rec.seq = ++t->next_seq;
    zs_rc rc = inbox_push(t, &op);
    size_t queued = t->inbox_len;
    if (rc == ZS_OK) {
        atomic_fetch_add(&t->submits, 1);
        atomic_fetch_add(&t->outstanding, 1);
        atomic_fetch_add(&t->outstanding_bytes, len);
        if (out_seq != NULL)
            *out_seq = op.rec.seq;
    }
    pthread_mutex_unlock(&t->lock);
    if (rc != ZS_OK) {
        zs_free(copy);
        return rc;
    }
    /* A waited-for record, a full batch, or a record the client thread would act on at
     * once (its verdict before sleeping): wake it if it sleeps; one ring per sleep. */
    if ((waited || atomic_load(&t->want_wake) || queued == z->o.max_batch_records) &&
        atomic_load(&z->sleeping) && atomic_exchange(&z->sleeping, 0))
        ring(z);
    return ZS_OK;
}

zs_rc zs_zb_flush(struct zs_zb_table *t, uint32_t timeout_ms, zs_zb_done_fn fn, void *ctx)
{
    if (atomic_load(&t->z->stopping))
        return ZS_ECANCELED;
    pthread_mutex_lock(&t->lock);
    struct zb_op op = {.is_flush = 1,
                       .rec = {.seq = t->next_seq, .fn = fn, .ctx = ctx},
                       .timeout_ms = timeout_ms ? timeout_ms : t->z->o.flush_timeout_ms};
    zs_rc rc = inbox_push(t, &op);
    pthread_mutex_unlock(&t->lock);
    ring(t->z);
    return rc;
}

void zs_zb_table_state(struct zs_zb_table *t, struct zs_zb_table_state *out)
{
    static const char *const names[] = {"idle",       "opening",    "opening",         "open",
                                        "recovering", "recovering", "awaiting_schema", "closed"};
    memset(out, 0, sizeof *out);
    int st = atomic_load(&t->pub_state);
    out->state = names[st >= 0 && st <= ZB_CLOSED ? st : 0];
    uint64_t inflight = atomic_load(&t->pub_inflight);
    pthread_mutex_lock(&t->lock);
    snprintf(out->last_error, sizeof out->last_error, "%s", t->last_error);
    pthread_mutex_unlock(&t->lock);
    out->inflight = inflight;
    uint64_t outstanding = atomic_load(&t->outstanding);
    out->queued = outstanding > inflight ? outstanding - inflight : 0;
    out->acked = atomic_load(&t->acked);
    out->failed = atomic_load(&t->failed);
    out->recoveries = atomic_load(&t->recoveries);
    out->replayed = atomic_load(&t->replayed);
    out->streams_opened = atomic_load(&t->streams_opened);
    out->last_ok_ms = atomic_load(&t->last_ok_ms);
    out->last_fail_ms = atomic_load(&t->last_fail_ms);
    out->failing = atomic_load(&t->failing) != 0;
    out->close_signals = atomic_load(&t->close_signals);
    for (int i = 0; i < ZS_GRPC_CODES; i++) {
        out->errors[i] = atomic_load(&t->errors[i]);
        out->fatal[i] = atomic_load(&t->fatal[i]);
    }
    zs_hist_add(&out->ack_latency, &t->ack_latency);
}

void zb_client_token_ready(struct zs_zb *z, const char *table, const char *token, int http_status,
                           const char *reason, int retryable)
{
    (void)http_status;
    struct zb_token_result *r = zs_xcalloc(1, sizeof *r);
    r->table = zs_xstrdup(table);
    r->token = token ? zs_xstrdup(token) : NULL;
    snprintf(r->reason, sizeof r->reason, "%s", reason ? reason : "");
    r->retryable = retryable;
    pthread_mutex_lock(&z->lock);
    r->next = z->token_inbox;
    z->token_inbox = r;
    pthread_mutex_unlock(&z->lock);
    ring(z);
}

/* Tokens: every stream of the table waiting for one gets it. */
static void deliver_tokens(struct zs_zb *z)
{
    pthread_mutex_lock(&z->lock);
    struct zb_token_result *list = z->token_inbox;
    z->token_inbox = NULL;
    pthread_mutex_unlock(&z->lock);
    while (list != NULL) {
        struct zb_token_result *r = list;
        list = r->next;
        for (struct zs_zb_table *t = z->tables; t != NULL; t = t->next)
            if (strcmp(t->name, r->table) == 0)
                for (unsigned i = 0; i < t->nstreams; i++)
                    zb_stream_token(&t->streams[i], r->token, r->reason, r->retryable);
        free(r->table);
        zs_free_secret(r->token);
        free(r);
    }
}

static void finish_flushes(struct zs_zb_table *t, long long now)
{
    struct zb_flush **pp = &t->flushes;
    while (*pp != NULL) {
        struct zb_flush *f = *pp;
        if (f->remaining == 0 || now >= f->deadline_ms) {
            *pp = f->next;
            if (f->remaining == 0)
                f->fn(f->ctx, ZS_OK, NULL, false);
            else
                f->fn(f->ctx, ZS_ETIMEDOUT, "flush timed out before every record was acknowledged",
                      true);
            zs_free(f);
        } else {
            pp = &f->next;
        }
    }
}

/* Client thread: what zs_zb_table_state shows, from the streams it alone may read. */
static void publish_state(struct zs_zb_table *t)
{
    int worst = ZB_IDLE, worst_rank = 0;
    uint64_t inflight = 0;
    for (unsigned i = 0; i < t->nstreams; i++) {
        int st = (int)t->streams[i].state;
        int rank = st == ZB_HELD                             ? 4
                   : st == ZB_BACKOFF || st == ZB_PAUSED     ? 3
                   : st == ZB_WAIT_TOKEN || st == ZB_OPENING ? 2
                   : st == ZB_OPEN                           ? 1
                                                             : 0;
        if (rank > worst_rank) {
            worst_rank = rank;
            worst = st;
        }
        inflight += t->streams[i].n_sent;
    }
    atomic_store(&t->pub_state, worst);
    atomic_store(&t->pub_inflight, inflight);
}

/* Fail an operation taken from the inbox before it reached a stream (counters, window,
 * its callback), and free its record. */
static void fail_op(struct zs_zb_table *t, struct zb_op *op, zs_rc rc, const char *reason,
                    bool retryable)
{
    atomic_fetch_sub(&t->outstanding, 1);
    atomic_fetch_sub(&t->outstanding_bytes, op->rec.len);
    atomic_fetch_add(&t->failed, 1);
    if (op->rec.fn)
        op->rec.fn(op->rec.ctx, rc, reason, retryable);
    else if (op->rec.rfn)
        op->rec.rfn(op->rec.ctx, op->rec.id, op->rec.data, op->rec.len, rc, reason, retryable);
    zs_free(op->rec.data);
}

void zs_zb_retarget(struct zs_zb *z, const char *table_name, const uint8_t *desc, size_t len)
{
    for (struct zs_zb_table *t = atomic_load(&z->tables); t != NULL; t = t->next) {
        if (strcmp(t->name, table_name) != 0 || t->record_type != 1)
            continue;
        uint8_t *copy = malloc(len ? len : 1);
        if (copy == NULL)
            continue;
        memcpy(copy, desc, len);
        pthread_mutex_lock(&t->lock);
        free(t->retarget);
        t->retarget = copy;
        t->retarget_len = len;
        atomic_store(&t->retarget_pending, 1);
        pthread_mutex_unlock(&t->lock);
    }
    ring(z);
}

bool zs_zb_held(struct zs_zb *z, const char *table_name)
{
    for (struct zs_zb_table *t = atomic_load(&z->tables); t != NULL; t = t->next)
        if (strcmp(t->name, table_name) == 0 && atomic_load(&t->held))
            return true;
    return false;
}

/* Client thread: a zs_zb_retarget for a held table. */
static void apply_retarget(struct zs_zb_table *t)
{
    pthread_mutex_lock(&t->lock);
    uint8_t *d = t->retarget;
    size_t dl = t->retarget_len;
    int pending = atomic_exchange(&t->retarget_pending, 0);
    t->retarget = NULL;
    pthread_mutex_unlock(&t->lock);
    if (!pending || !atomic_load(&t->held)) {
        free(d);
        return;
    }
    atomic_store(&t->held, 0);
    struct zb_remap *now = NULL, *later = NULL;
    char why[300] = "";
    if (dl != t->descriptor_len || memcmp(d, t->descriptor, dl) != 0) {
        now = zb_remap_create(t->descriptor, t->descriptor_len, d, dl, why, sizeof why);
        const uint8_t *od = t->orig_desc ? t->orig_desc : t->descriptor;
        size_t ol = t->orig_desc ? t->orig_desc_len : t->descriptor_len;
        later = now != NULL ? zb_remap_create(od, ol, d, dl, why, sizeof why) : NULL;
        if (later == NULL) {
            zb_remap_destroy(now);
            now = NULL;
            zs_log(ZS_LOG_ERROR, "zb", "msg=\"cannot rewrite records\" table=%s error=\"%s\"",
                   t->name, why);
        }
    }
    for (unsigned i = 0; i < t->nstreams; i++)
        zb_stream_unhold(&t->streams[i], now);
    if (now == NULL) {
        free(d);
        return;
    }
    if (t->orig_desc == NULL) {
        t->orig_desc = t->descriptor;
        t->orig_desc_len = t->descriptor_len;
    } else {
        free(t->descriptor);
    }
    t->descriptor = d;
    t->descriptor_len = dl;
    zb_remap_destroy(t->remap);
    t->remap = later;
    zb_remap_destroy(now);
}

/* Returns how many operations it took. */
static size_t drain_inbox(struct zs_zb_table *t, long long now)
{
    pthread_mutex_lock(&t->lock);
    struct zb_op *ops = t->inbox;
    size_t n = t->inbox_len;
    t->inbox = NULL;
    t->inbox_len = t->inbox_cap = 0;
    t->drained_at = atomic_load(&t->submits);
    pthread_mutex_unlock(&t->lock);
    for (size_t i = 0; i < n; i++) {
        struct zb_op *op = &ops[i];
        if (op->is_flush) {
            struct zb_flush *f = zs_xcalloc(1, sizeof *f);
            f->seq = op->rec.seq;
            /* Every record in the streams now was submitted before the flush (inbox order). */
            uint64_t pending = 0;
            for (unsigned k = 0; k < t->nstreams; k++)
                pending += t->streams[k].recs.len;
            f->remaining = pending;
            f->deadline_ms = now + op->timeout_ms;
            f->fn = op->rec.fn;
            f->ctx = op->rec.ctx;
            f->next = t->flushes;
            t->flushes = f;
            for (unsigned k = 0; k < t->nstreams; k++)
                zb_stream_tick(&t->streams[k], 1); /* send partial batches now */
            continue;
        }
        /* a record encoded with orig_desc after a retarget: rewritten for the current one */
        char reason[400];
        if (t->remap != NULL && zb_rec_remap(t, t->remap, &op->rec, reason, sizeof reason) != 0) {
            fail_op(t, op, ZS_EAUTH, reason, false);
            continue;
        }
        struct zb_stream *s = &t->streams[t->rr++ % t->nstreams];
        if (zb_stream_add(s, &op->rec, op->waited) != 0)
            fail_op(t, op, ZS_ENOMEM, "out of memory", true);
    }
    zs_free(ops);
    return n;
}

void zb_client_tick(struct zs_zb *z)
{
    long long now = z->now_ms();
    deliver_tokens(z);
    z->drained = 0;
    for (struct zs_zb_table *t = z->tables; t != NULL; t = t->next) {
        if (atomic_load(&t->retarget_pending))
            apply_retarget(t);
        z->drained += drain_inbox(t, now);
        for (unsigned i = 0; i < t->nstreams; i++) {
            struct zb_stream *s = &t->streams[i];
            if (t->want_open && s->state == ZB_IDLE && !atomic_load(&z->stopping))
                zb_stream_eager_open(s);
            zb_stream_tick(s, t->flushes != NULL);
        }
        t->want_open = 0;
        finish_flushes(t, now);
        publish_state(t);
    }
}

/* Shutdown, once everything is acknowledged: half-close open calls so the server ends them
 * with OK (protocol §4.5, "orderly close"), instead of cancelling them. */
static void half_close_idle_streams(struct zs_zb *z)
{
    for (struct zs_zb_table *t = z->tables; t != NULL; t = t->next) {
        if (atomic_load(&t->outstanding) > 0)
            continue;
        for (unsigned i = 0; i < t->nstreams; i++) {
            struct zb_stream *s = &t->streams[i];
            if (s->state == ZB_OPEN && s->call != NULL && !s->half_closed && !s->send_busy) {
                s->half_closed = 1;
                z->tops->half_close(z->tctx, s->call);
            }
        }
    }
}

/*
 * Interrupts when quiet, polling when busy (as a NIC driver does): while records keep
 * arriving (the last tick took some), the thread looks again within ZB_BUSY_POLL_MS and
 * asks for no rings, which cost a submitter tens of µs each; once a tick finds nothing, a
 * record that would be acted on at once rings it awake.
 * A submitter rings only if it sees `sleeping` set; `sleeping` is set before the last look
 * at the tables' push counters, so a record either is seen here or rings (both sides'
 * operations are sequentially consistent).
 */
int zb_client_prepare_wait(struct zs_zb *z)
{
    long long now = z->now_ms();
    long long next = now + (atomic_load(&z->stopping) ? ZB_STOPPING_WAIT_MS : ZB_MAX_WAIT_MS);
    int busy = z->drained > 0;
    if (busy)
        next = now + ZB_BUSY_POLL_MS;
    for (struct zs_zb_table *t = z->tables; t != NULL; t = t->next) {
        int want = 0;
        for (unsigned i = 0; i < t->nstreams; i++) {
            long long n = zb_stream_next_ms(&t->streams[i], t->flushes != NULL);
            next = n < next ? n : next;
            want |= !busy && zb_stream_takes_records(&t->streams[i]);
        }
        for (const struct zb_flush *f = t->flushes; f != NULL; f = f->next)
            next = f->deadline_ms < next ? f->deadline_ms : next;
        atomic_store(&t->want_wake, want);
    }
    atomic_store(&z->sleeping, 1);
    for (struct zs_zb_table *t = z->tables; t != NULL; t = t->next)
        if (atomic_load(&t->want_wake) && atomic_load(&t->submits) != t->drained_at)
            next = now; /* arrived since the drain: do not sleep on it */
    return next <= now ? 0 : (int)(next - now);
}

static void *client_thread(void *arg)
{
    struct zs_zb *z = arg;
    while (atomic_load(&z->stopping) < 2) {
        zb_client_tick(z);
        if (atomic_load(&z->stopping) == 1)
            half_close_idle_streams(z);
        z->tops->poll(z->tctx, zb_client_prepare_wait(z));
        atomic_store(&z->sleeping, 0);
    }
    return NULL;
}

void zb_client_release(struct zs_zb *z)
{
    for (struct zs_zb_table *t = z->tables; t != NULL;) {
        struct zs_zb_table *next = t->next;
        drain_inbox(t, z->now_ms());
        for (unsigned i = 0; i < t->nstreams; i++)
            zb_stream_shutdown(&t->streams[i], "the station is shutting down");
        while (t->flushes != NULL) {
            struct zb_flush *f = t->flushes;
            t->flushes = f->next;
            f->fn(f->ctx, ZS_ECANCELED, "the station is shutting down", true);
            zs_free(f);
        }
        free(t->streams);
        free(t->name);
        free(t->descriptor);
        free(t->retarget);
        free(t->orig_desc);
        zb_remap_destroy(t->remap);
        pthread_mutex_destroy(&t->lock);
        free(t);
        t = next;
    }
    z->tables = NULL;
    deliver_tokens(z); /* frees pending results */
    if (z->tokens.destroy)
        z->tokens.destroy(z->tokens.ctx);
    if (z->tops && z->tops->destroy)
        z->tops->destroy(z->tctx);
    free(z->endpoint);
    free(z->tls_ca_file);
    free(z->workspace_url);
    free(z->workspace_id);
    free(z->client_id);
    zs_free_secret(z->client_secret);
    pthread_mutex_destroy(&z->lock);
}

zs_rc zs_zb_create(const struct zs_zb_opts *o, struct zs_zb **out, struct zs_err *err)
{
    const struct zs_zb_transport_ops *tops;
    void *tctx;
    zs_rc rc = zb_transport_grpc_create(o->endpoint, o->tls_ca_file, &tops, &tctx, err);
    if (rc != ZS_OK)
        return rc;
    struct zs_zb *z = zs_xcalloc(1, sizeof *z);
    zb_client_init(z, o, tops, tctx, err);
    if (z->workspace_url != NULL && (rc = zb_tokens_create(z, err)) != ZS_OK) {
        zb_client_release(z);
        free(z);
        return rc;
    }
    if (pthread_create(&z->thread, NULL, client_thread, z) != 0) {
        zb_client_release(z);
        free(z);
        return zs_err_set(err, ZS_EIO, NULL, "cannot start the Zerobus client thread");
    }
    z->thread_running = 1;
    *out = z;
    return ZS_OK;
}

/* Nothing left to send or acknowledge, and every call closed (racy read of the state: a
 * shutdown heuristic, bounded by the deadline). */
static int all_idle(struct zs_zb *z)
{
    for (struct zs_zb_table *t = z->tables; t != NULL; t = t->next) {
        if (atomic_load(&t->outstanding) > 0)
            return 0;
        for (unsigned i = 0; i < t->nstreams; i++)
            if (__atomic_load_n(&t->streams[i].call, __ATOMIC_RELAXED) != NULL)
                return 0;
    }
    return 1;
}

void zs_zb_destroy(struct zs_zb *z, uint32_t deadline_ms)
{
    if (z == NULL)
        return;
    /* 1: refuse new work, let the thread flush what is queued until the deadline. */
    atomic_store(&z->stopping, 1);
    ring(z);
    long long until = zb_now_ms() + deadline_ms;
    while (z->thread_running && !all_idle(z) && zb_now_ms() < until) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    /* 2: stop the thread; what is left fails with ZS_ECANCELED in release. */
    atomic_store(&z->stopping, 2);
    ring(z);
    if (z->thread_running)
        pthread_join(z->thread, NULL);
    zb_client_release(z);
    free(z);
}

void zs_zb_token_counts(struct zs_zb *z, uint64_t *fetches, uint64_t *failures)
{
    *fetches = atomic_load(&z->token_fetches);
    *failures = atomic_load(&z->token_failures);
}
