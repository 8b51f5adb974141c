/*
 * Zerobus stream state machine, per (table, slot). Transport-agnostic: the gRPC file and
 * the unit tests' fake both call zb_stream_on_*; time comes from z->now_ms.
 *
 *   IDLE --record--> WAIT_TOKEN --token--> OPENING --create response--> OPEN
 *   OPEN --CloseStreamSignal--> PAUSED --acks or deadline--> (reopen at once)
 *   OPENING/OPEN/PAUSED --retryable error--> BACKOFF --> WAIT_TOKEN (replay unacked)
 *   any --fatal error or retries exhausted--> IDLE, pending records failed with the reason
 *
 * Wire offsets start at 0 on every call, one per request; acks are cumulative and release
 * whole batches in order. Thread: the client thread.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/zs_clock.h"
#include "core/zs_err.h"
#include "core/zs_hist.h"
#include "core/zs_log.h"
#include "core/zs_mem.h"
#include "zerobus/zerobus_int.h"
#include "zerobus_service.pb-c.h"

/* ---------------------------------------------------------------- records */

/* The client thread writes s->call and reads it plainly; all_idle (main thread, at
 * shutdown) reads it atomically, so every write is an atomic store. */
static void stream_set_call(struct zb_stream *s, void *call)
{
    __atomic_store_n(&s->call, call, __ATOMIC_RELAXED);
}

static int recq_push(struct zb_recq *q, const struct zb_rec *r)
{
    if (q->len == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 256;
        struct zb_rec *v = zs_alloc(cap * sizeof *v);
        if (v == NULL)
            return -1;
        for (size_t i = 0; i < q->len; i++)
            v[i] = q->v[(q->head + i) % q->cap];
        zs_free(q->v);
        q->v = v;
        q->cap = cap;
        q->head = 0;
    }
    q->v[(q->head + q->len) % q->cap] = *r;
    q->len++;
    return 0;
}

static struct zb_rec *recq_at(const struct zb_recq *q, size_t i)
{
    return &q->v[(q->head + i) % q->cap];
}

static void recq_pop(struct zb_recq *q)
{
    q->head = (q->head + 1) % q->cap;
    q->len--;
}

int zb_status_retryable(int code)
{
    switch (code) {
    case 3:  /* INVALID_ARGUMENT */
    case 5:  /* NOT_FOUND */
    case 7:  /* PERMISSION_DENIED */
    case 11: /* OUT_OF_RANGE */
    case 12: /* UNIMPLEMENTED */
    case 16: /* UNAUTHENTICATED */
        return 0;
    default:
        return 1;
    }
}

/* Complete one record: counters, window, flushes, callback. */
static void complete(struct zb_stream *s, struct zb_rec *r, zs_rc rc, const char *reason,
                     bool retryable)
{
    struct zs_zb_table *t = s->t;
    atomic_fetch_sub(&t->outstanding, 1);
    atomic_fetch_sub(&t->outstanding_bytes, r->len);
    atomic_fetch_add(rc == ZS_OK ? &t->acked : &t->failed, 1);
    atomic_store(rc == ZS_OK ? &t->last_ok_ms : &t->last_fail_ms, t->z->now_ms());
    for (struct zb_flush *f = t->flushes; f != NULL; f = f->next)
        if (r->seq <= f->seq && f->remaining > 0)
            f->remaining--;
    if (r->fn != NULL)
        r->fn(r->ctx, rc, reason, retryable);
    else if (r->rfn != NULL)
        r->rfn(r->ctx, r->id, r->data, r->len, rc, reason, retryable);
    zs_free(r->data);
    r->data = NULL;
}

/* Fail every record of the stream (sent or not) with the reason. */
static void fail_all(struct zb_stream *s, zs_rc rc, const char *reason, bool retryable)
{
    while (s->recs.len > 0) {
        struct zb_rec r = *recq_at(&s->recs, 0);
        recq_pop(&s->recs);
        complete(s, &r, rc, reason, retryable);
    }
    s->n_sent = 0;
    s->nb = 0;
}

/* ---------------------------------------------------------------- wire encoding */

static unsigned vlen(uint64_t v)
{
    unsigned n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static int put_varint(struct zs_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    unsigned n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    return zs_buf_append(b, tmp, n) == ZS_OK ? 0 : -1;
}

static int put_tag_len(struct zs_buf *b, uint8_t tag, uint64_t len)
{
    return zs_buf_append(b, &tag, 1) == ZS_OK ? put_varint(b, len) : -1;
}

/* EphemeralStreamRequest{create_stream{table_name, descriptor_proto?, record_type}}. */
static int encode_create(struct zb_stream *s)
{
    struct zs_zb_table *t = s->t;
    size_t nl = strlen(t->name);
    uint64_t inner = 1 + vlen(nl) + nl + 2;
    if (t->record_type == 1)
        inner += 1 + vlen(t->descriptor_len) + t->descriptor_len;
    struct zs_buf *b = &s->msg;
    b->len = 0;
    uint8_t rt[2] = {0x20, (uint8_t)t->record_type};
    if (put_tag_len(b, 0x0a, inner) || put_tag_len(b, 0x0a, nl) ||
        zs_buf_append(b, t->name, nl) != ZS_OK)
        return -1;
    if (t->record_type == 1 && (put_tag_len(b, 0x1a, t->descriptor_len) ||
                                zs_buf_append(b, t->descriptor, t->descriptor_len) != ZS_OK))
        return -1;
    return zs_buf_append(b, rt, 2) == ZS_OK ? 0 : -1;
}

/* One request for recs[first, first+count): ingest_record when count == 1, else a batch. */
static int encode_ingest(struct zb_stream *s, size_t first, size_t count, int64_t offset)
{
    struct zs_buf *b = &s->msg;
    int json = s->t->record_type == 2;
    b->len = 0;
    if (count == 1) {
        struct zb_rec *r = recq_at(&s->recs, first);
        uint64_t inner = 1 + vlen((uint64_t)offset) + 1 + vlen(r->len) + r->len;
        return put_tag_len(b, 0x12, inner) || put_tag_len(b, 0x08, 0) ||
                       (b->len--, put_varint(b, (uint64_t)offset)) ||
                       put_tag_len(b, json ? 0x1a : 0x12, r->len) ||
                       zs_buf_append(b, r->data, r->len) != ZS_OK
                   ? -1
                   : 0;
    }
    uint64_t recs_len = 0;
    for (size_t i = 0; i < count; i++) {
        uint32_t l = recq_at(&s->recs, first + i)->len;
        recs_len += 1 + vlen(l) + l;
    }
    uint64_t inner = 1 + vlen((uint64_t)offset) + 1 + vlen(recs_len) + recs_len;
    if (zs_buf_reserve(b, 1 + vlen(inner) + inner) != ZS_OK)
        return -1;
    if (put_tag_len(b, 0x1a, inner) || put_tag_len(b, 0x08, 0) ||
        (b->len--, put_varint(b, (uint64_t)offset)) || put_tag_len(b, json ? 0x1a : 0x12, recs_len))
        return -1;
    for (size_t i = 0; i < count; i++) {
        struct zb_rec *r = recq_at(&s->recs, first + i);
        if (put_tag_len(b, 0x0a, r->len) || zs_buf_append(b, r->data, r->len) != ZS_OK)
            return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- transitions */

static void set_error(struct zb_stream *s, int code, const char *fmt, const char *detail)
{
    snprintf(s->last_error, sizeof s->last_error, fmt, zs_grpc_status_name(code),
             detail ? detail : "");
    s->last_code = code;
    pthread_mutex_lock(&s->t->lock); /* zs_zb_table_state reads it from other threads */
    snprintf(s->t->last_error, sizeof s->t->last_error, "%s", s->last_error);
    pthread_mutex_unlock(&s->t->lock);
}

static void drop_call(struct zb_stream *s)
{
    struct zs_zb *z = s->t->z;
    if (s->call != NULL) {
        s->dropping = 1;
        z->tops->cancel(z->tctx, s->call);
        /* release happens in on_status, which the cancel provokes */
    }
}

static void start_open(struct zb_stream *s)
{
    struct zs_zb *z = s->t->z;
    s->state = ZB_WAIT_TOKEN;
    s->deadline_ms = z->now_ms() + z->o.recovery_timeout_ms;
    if (z->tokens.request == NULL) { /* no OAuth configured: open now, without a token */
        zb_stream_token(s, "", NULL, 0);
        return;
    }
    z->tokens.request(z->tokens.ctx, s->t->name, s->token_retry_used == 1);
}

/* A failed attempt or a broken stream: retry after backoff, or give up. */
static void episode_failed(struct zb_stream *s, int code)
{
    struct zs_zb *z = s->t->z;
    int retryable = zb_status_retryable(code);
    /* UNAUTHENTICATED / PERMISSION_DENIED at create: one extra attempt with a fresh token,
     * outside the retry budget (Rust 2.x should_retry_initial_connection, protocol §3.4). */
    if (!retryable && (code == 16 || code == 7) && s->state <= ZB_OPENING && !s->token_retry_used) {
        s->token_retry_used = 1;
        retryable = 1;
    }
    int c = code >= 0 && code < ZS_GRPC_CODES ? code : 2;
    zs_counter_add(retryable ? &s->t->errors[c] : &s->t->fatal[c], 1);
    stream_set_call(s, NULL);
    s->send_busy = 0;
    /* Unacked batches go back to the queue, to be sent again with new offsets. */
    if (s->n_sent > 0) {
        atomic_fetch_add(&s->t->replayed, s->n_sent);
        s->n_sent = 0;
        s->nb = 0;
    }
    if (!retryable && code == 3 && z->o.on_schema_reject != NULL && s->t->record_type == 1) {
        /* INVALID_ARGUMENT on a PROTO stream: most likely the table was altered. Keep the
         * records until the schema has been looked at again (zs_zb_retarget). */
        zs_log(ZS_LOG_WARN, "zb",
               "msg=\"stream refused: records held while the table's schema is fetched "
               "again\" table=%s slot=%d records=%zu error=\"%s\"",
               s->t->name, s->index, s->recs.len, s->last_error);
        s->state = ZB_HELD;
        s->attempts = 0;
        s->token_retry_used = 0;
        if (!atomic_exchange(&s->t->held, 1)) {
            z->o.on_schema_reject(z->o.hook_ctx, s->t->name, s->last_error);
        }
        return;
    }
    if (!retryable) {
        zs_log(ZS_LOG_WARN, "zb", "msg=\"stream failed\" table=%s slot=%d records=%zu error=\"%s\"",
               s->t->name, s->index, s->recs.len, s->last_error);
        fail_all(s, ZS_EAUTH, s->last_error, false);
        s->state = ZB_IDLE;
        s->attempts = 0;
        s->token_retry_used = 0;
        return;
    }
    s->attempts++;
    if (s->attempts > z->o.recovery_retries && !atomic_exchange(&s->t->failing, 1))
        zs_log(ZS_LOG_WARN, "zb",
               "msg=\"stream failing: retry budget spent, records kept, backoff grows\" "
               "table=%s slot=%d records=%zu error=\"%s\"",
               s->t->name, s->index, s->recs.len, s->last_error);
    atomic_fetch_add(&s->t->recoveries, 1);
    s->state = ZB_BACKOFF;
    s->deadline_ms = z->now_ms() + zb_backoff_ms(&z->o, s->attempts);
    zs_log(ZS_LOG_INFO, "zb", "msg=\"stream recovering\" table=%s slot=%d attempt=%u error=\"%s\"",
           s->t->name, s->index, s->attempts, s->last_error);
}

long long zb_backoff_ms(const struct zs_zb_opts *o, unsigned attempts)
{
    if (attempts <= 1)
        return 0; /* the first retry of an episode goes at once (protocol §4.8) */
    if (attempts <= o->recovery_retries)
        return o->recovery_backoff_ms;
    long long b = o->recovery_backoff_ms < 100 ? 100 : o->recovery_backoff_ms;
    for (unsigned i = o->recovery_retries + 1; i < attempts && b < o->recovery_backoff_max_ms; i++)
        b *= 2;
    return b < (long long)o->recovery_backoff_max_ms ? b : (long long)o->recovery_backoff_max_ms;
}

void zb_stream_on_status(struct zb_stream *s, int code, const char *details)
{
    struct zs_zb *z = s->t->z;
    void *call = s->call;
    if (call != NULL)
        z->tops->release(z->tctx, call);
    stream_set_call(s, NULL);
    s->send_busy = 0;
    if (s->state == ZB_CLOSED || s->state == ZB_IDLE || s->state == ZB_BACKOFF ||
        s->state == ZB_HELD)
        return;
    if (code == 0 && s->recs.len == 0 && s->half_closed) {
        s->state = ZB_IDLE; /* an orderly close */
        return;
    }
    if (s->state == ZB_PAUSED && s->last_code == -1) {
        /* The server closed a paused stream: reconnect at once, as after the pause. */
        s->state = ZB_BACKOFF;
        s->deadline_ms = z->now_ms();
        stream_set_call(s, NULL);
        if (s->n_sent > 0) {
            atomic_fetch_add(&s->t->replayed, s->n_sent);
            s->n_sent = 0;
            s->nb = 0;
        }
        return;
    }
    if (s->dropping) { /* our own cancel: the reason set when dropping stands */
        s->dropping = 0;
        episode_failed(s, s->last_code);
        return;
    }
    set_error(s, code, "%s: %s",
              code == 0 ? "stream closed by the server with records in flight" : details);
    episode_failed(s, code == 0 ? 14 : code);
}

void zb_stream_on_send_done(struct zb_stream *s, int ok)
{
    s->send_busy = 0;
    if (!ok && s->call != NULL) {
        set_error(s, 14, "%s: %s", "writing to the stream failed");
        drop_call(s); /* the status that follows starts recovery */
    }
}

static void on_ack(struct zb_stream *s, int64_t upto)
{
    size_t released = 0;
    long long now_us = s->nb > 0 ? zs_mono_us() : 0;
    while (s->nb > 0 && s->batches[0].offset <= upto) {
        size_t n = s->batches[0].count;
        long long lat = now_us - s->batches[0].sent_us;
        zs_hist_observe(&s->t->ack_latency, lat > 0 ? (uint64_t)lat : 0);
        for (size_t i = 0; i < n; i++) {
            struct zb_rec r = *recq_at(&s->recs, 0);
            recq_pop(&s->recs);
            complete(s, &r, ZS_OK, NULL, false);
        }
        s->n_sent -= n;
        released++;
        memmove(s->batches, s->batches + 1, (s->nb - 1) * sizeof *s->batches);
        s->nb--;
    }
    if (released > 0) {
        s->attempts = 0; /* durable progress ends a recovery episode */
        if (atomic_exchange(&s->t->failing, 0))
            zs_log(ZS_LOG_INFO, "zb", "msg=\"stream recovered\" table=%s slot=%d", s->t->name,
                   s->index);
    }
}

void zb_stream_on_message(struct zb_stream *s, const uint8_t *msg, size_t len)
{
    struct zs_zb *z = s->t->z;
    s->last_msg_ms = z->now_ms();
    Databricks__Zerobus__EphemeralStreamResponse *r =
        databricks__zerobus__ephemeral_stream_response__unpack(NULL, len, msg);
    if (r == NULL) {
        set_error(s, 13, "%s: %s", "unparseable response from the server");
        drop_call(s);
        return;
    }
    switch (r->payload_case) {
    case DATABRICKS__ZEROBUS__EPHEMERAL_STREAM_RESPONSE__PAYLOAD_CREATE_STREAM_RESPONSE:
        if (s->state == ZB_OPENING && r->create_stream_response->stream_id != NULL) {
            s->state = ZB_OPEN;
            s->token_retry_used = 0;
            atomic_fetch_add(&s->t->streams_opened, 1);
            zs_log(ZS_LOG_INFO, "zb", "msg=\"stream opened\" table=%s slot=%d stream_id=%s",
                   s->t->name, s->index, r->create_stream_response->stream_id);
        } else {
            set_error(s, 13, "%s: %s", "unexpected create_stream_response");
            drop_call(s);
        }
        break;
    case DATABRICKS__ZEROBUS__EPHEMERAL_STREAM_RESPONSE__PAYLOAD_INGEST_RECORD_RESPONSE:
        if (!r->ingest_record_response->has_durability_ack_up_to_offset) {
            set_error(s, 13, "%s: %s", "ack without an offset");
            drop_call(s);
        } else {
            on_ack(s, r->ingest_record_response->durability_ack_up_to_offset);
        }
        break;
    case DATABRICKS__ZEROBUS__EPHEMERAL_STREAM_RESPONSE__PAYLOAD_CLOSE_STREAM_SIGNAL: {
        long long ms = 0;
        if (r->close_stream_signal->duration != NULL)
            ms = r->close_stream_signal->duration->seconds * 1000 +
                 r->close_stream_signal->duration->nanos / 1000000;
        /* Stop sending; wait for in-flight acks up to the duration, then reopen (§4.6). */
        s->state = ZB_PAUSED;
        s->last_code = -1;
        s->deadline_ms = z->now_ms() + ms;
        atomic_fetch_add(&s->t->recoveries, 1);
        zs_counter_add(&s->t->close_signals, 1);
        zs_log(ZS_LOG_INFO, "zb", "msg=\"close signal\" table=%s slot=%d duration_ms=%lld",
               s->t->name, s->index, ms);
        break;
    }
    default:
        break;
    }
    databricks__zerobus__ephemeral_stream_response__free_unpacked(r, NULL);
}

/* Token arrived for this stream: open the call and send create_stream. */
void zb_stream_token(struct zb_stream *s, const char *token, const char *reason, int retryable)
{
    struct zs_zb *z = s->t->z;
    if (s->state != ZB_WAIT_TOKEN)
        return;
    if (token == NULL) {
        set_error(s, retryable ? 14 : 16, "%s: token request failed: %s", reason);
        episode_failed(s, retryable ? 14 : 16);
        return;
    }
    char auth[4200];
    snprintf(auth, sizeof auth, "Bearer %s", token);
    s->half_closed = 0;
    s->dropping = 0;
    s->next_offset = 0;
    stream_set_call(s, z->tops->open(z->tctx, s, token[0] ? auth : NULL, s->t->name));
    zs_wipe(auth, sizeof auth);
    if (s->call == NULL || encode_create(s) != 0 ||
        z->tops->send(z->tctx, s->call, s->msg.data, s->msg.len) != 0) {
        set_error(s, 14, "%s: %s", "cannot start the call");
        if (s->call != NULL)
            drop_call(s);
        else
            episode_failed(s, 14);
        return;
    }
    s->send_busy = 1;
    s->state = ZB_OPENING;
    s->deadline_ms = z->now_ms() + z->o.recovery_timeout_ms;
    s->last_msg_ms = z->now_ms();
}

/* Send the next batch if the call is idle and a batch is due. */
/* How many unsent records the next batch takes (bounded by records and bytes); *full: the
 * bounds, not the supply, ended it (it goes now, linger or not). */
static size_t next_batch(const struct zb_stream *s, int *full)
{
    const struct zs_zb_opts *o = &s->t->z->o;
    size_t unsent = s->recs.len - s->n_sent, count = 0, bytes = 0;
    while (count < unsent && count < o->max_batch_records) {
        uint32_t l = recq_at(&s->recs, s->n_sent + count)->len;
        if (count > 0 && bytes + l + 16 > o->max_batch_bytes)
            break;
        bytes += l + 16;
        count++;
    }
    *full = count == o->max_batch_records || count < unsent;
    return count;
}

static void maybe_send(struct zb_stream *s, int force)
{
    struct zs_zb *z = s->t->z;
    if (s->state != ZB_OPEN || s->send_busy || s->call == NULL)
        return;
    if (s->recs.len == s->n_sent) {
        s->waited = 0;
        return;
    }
    long long now = z->now_ms();
    int full;
    size_t count = next_batch(s, &full);
    if (!full && !force && !s->waited && now - s->oldest_unsent_ms < (long long)z->o.linger_ms)
        return;
    if (encode_ingest(s, s->n_sent, count, s->next_offset) != 0) {
        set_error(s, 8, "%s: %s", "request too large for the message buffer");
        drop_call(s);
        return;
    }
    if (s->nb == s->bcap) {
        size_t cap = s->bcap ? s->bcap * 2 : 64;
        struct zb_batch *b = zs_realloc(s->batches, cap * sizeof *b);
        if (b == NULL)
            return; /* retried next tick */
        s->batches = b;
        s->bcap = cap;
    }
    if (z->tops->send(z->tctx, s->call, s->msg.data, s->msg.len) != 0) {
        set_error(s, 14, "%s: %s", "writing to the stream failed");
        drop_call(s);
        return;
    }
    if (s->nb == 0)
        s->last_msg_ms = now; /* the ack clock starts with the first request in flight */
    s->batches[s->nb++] = (struct zb_batch){s->next_offset++, count, zs_mono_us()};
    s->n_sent += count;
    s->waited &= s->n_sent < s->recs.len;
    s->send_busy = 1;
    s->oldest_unsent_ms = now;
}

/* Timers and batching for one stream; force: flush pending partial batches now. */
void zb_stream_tick(struct zb_stream *s, int force)
{
    struct zs_zb *z = s->t->z;
    long long now = z->now_ms();
    switch (s->state) {
    case ZB_IDLE:
        if (s->recs.len > 0 && !atomic_load(&z->stopping)) {
            s->attempts = 0;
            start_open(s);
        }
        break;
    case ZB_WAIT_TOKEN:
        if (now >= s->deadline_ms) {
            set_error(s, 4, "%s: %s", "token request timed out");
            episode_failed(s, 4);
        }
        break;
    case ZB_OPENING:
        if (now >= s->deadline_ms) {
            set_error(s, 4, "%s: %s", "stream creation timed out");
            drop_call(s);
        }
        break;
    case ZB_OPEN:
        if (s->nb > 0 && now - s->last_msg_ms >= (long long)z->o.ack_timeout_ms) {
            set_error(s, 4, "%s: %s", "server ack timeout");
            drop_call(s);
            break;
        }
        maybe_send(s, force);
        break;
    case ZB_PAUSED:
        if (s->nb == 0 || now >= s->deadline_ms) {
            s->last_code = 0;
            if (s->n_sent > 0) {
                atomic_fetch_add(&s->t->replayed, s->n_sent);
                s->n_sent = 0;
                s->nb = 0;
            }
            void *call = s->call;
            s->state = ZB_BACKOFF;
            s->deadline_ms = now;
            stream_set_call(s, NULL);
            if (call != NULL) {
                z->tops->cancel(z->tctx, call);
                z->tops->release(z->tctx, call);
            }
        }
        break;
    case ZB_BACKOFF:
        if (now >= s->deadline_ms)
            start_open(s);
        break;
    case ZB_HELD:
    case ZB_CLOSED:
        break;
    }
}

static long long min_ll(long long a, long long b)
{
    return a < b ? a : b;
}

long long zb_stream_next_ms(const struct zb_stream *s, int force)
{
    const struct zs_zb *z = s->t->z;
    long long now = z->now_ms();
    switch (s->state) {
    case ZB_IDLE:
        return s->recs.len > 0 && !atomic_load(&z->stopping) ? now : LLONG_MAX;
    case ZB_WAIT_TOKEN:
    case ZB_OPENING:
    case ZB_BACKOFF:
        return s->deadline_ms;
    case ZB_PAUSED:
        return s->nb == 0 ? now : s->deadline_ms;
    case ZB_OPEN: {
        long long next = s->nb > 0 ? s->last_msg_ms + (long long)z->o.ack_timeout_ms : LLONG_MAX;
        if (!s->send_busy && s->call != NULL && s->recs.len > s->n_sent) {
            int full;
            next_batch(s, &full);
            next = min_ll(next,
                          full || force || s->waited ? now : s->oldest_unsent_ms + z->o.linger_ms);
        }
        return next;
    }
    case ZB_HELD:
    case ZB_CLOSED:
        break;
    }
    return LLONG_MAX;
}

int zb_stream_takes_records(const struct zb_stream *s)
{
    if (s->state == ZB_IDLE)
        return 1; /* the first record opens the stream */
    if (s->state != ZB_OPEN || s->send_busy || s->call == NULL)
        return 0; /* records wait for an event (open, write done, backoff end) anyway */
    /* Open and idle: a record starts a batch, sent at once or when its linger ends. */
    return s->t->z->o.linger_ms == 0 || s->recs.len == s->n_sent;
}

/* Take a record from the table's inbox (client thread). */
int zb_stream_add(struct zb_stream *s, const struct zb_rec *r, int waited)
{
    if (s->recs.len == s->n_sent)
        s->oldest_unsent_ms = s->t->z->now_ms();
    if (recq_push(&s->recs, r) != 0)
        return -1;
    s->waited |= waited;
    return 0;
}

void zb_stream_shutdown(struct zb_stream *s, const char *reason)
{
    struct zs_zb *z = s->t->z;
    void *call = s->call;
    s->state = ZB_CLOSED;
    stream_set_call(s, NULL);
    if (call != NULL) {
        z->tops->cancel(z->tctx, call);
        z->tops->release(z->tctx, call);
    }
    fail_all(s, ZS_ECANCELED, reason, true);
    zs_free(s->recs.v);
    zs_free(s->batches);
    zs_buf_release(&s->msg);
    zs_wipe(s->token, sizeof s->token);
}

void zb_stream_eager_open(struct zb_stream *s)
{
    if (s->state == ZB_IDLE) {
        s->attempts = 0;
        start_open(s);
    }
}

void zb_stream_unhold(struct zb_stream *s, const struct zb_remap *m)
{
    if (s->state != ZB_HELD)
        return;
    s->state = ZB_IDLE;
    if (m == NULL) {
        zs_log(ZS_LOG_WARN, "zb",
               "msg=\"stream failed: the table's schema did not change\" table=%s slot=%d "
               "records=%zu error=\"%s\"",
               s->t->name, s->index, s->recs.len, s->last_error);
        fail_all(s, ZS_EAUTH, s->last_error, false);
        return;
    }
    size_t n = s->recs.len, kept = 0;
    for (size_t i = 0; i < n; i++) { /* each record once, kept ones back at the tail */
        struct zb_rec r = *recq_at(&s->recs, 0);
        recq_pop(&s->recs);
        char reason[400];
        if (zb_rec_remap(s->t, m, &r, reason, sizeof reason) != 0) {
            complete(s, &r, ZS_EAUTH, reason, false);
            continue;
        }
        if (recq_push(&s->recs, &r) != 0) {
            complete(s, &r, ZS_ENOMEM, "out of memory", true);
            continue;
        }
        kept++;
    }
    zs_log(ZS_LOG_INFO, "zb",
           "msg=\"records rewritten for the table's new schema\" table=%s slot=%d kept=%zu "
           "failed=%zu",
           s->t->name, s->index, kept, n - kept);
    s->oldest_unsent_ms = s->t->z->now_ms();
}
