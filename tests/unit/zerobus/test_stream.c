/*
 * The Zerobus stream state machine against a fake transport and a fake clock: nothing
 * runs on a network or a thread. The test plays the server by injecting responses and
 * statuses, and decodes what the client sent with protobuf-c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zerobus/zerobus_int.h"
#include "zerobus_service.pb-c.h"
#include "zs_test.h"

/* ---------------------------------------------------------------- fake transport */

struct fcall {
    struct zb_stream *s;
    int cancelled, released, half_closed;
    char auth[128];
};

#define MAXSENT 256
static struct fake {
    struct fcall calls[64];
    int ncalls;
    Databricks__Zerobus__EphemeralStreamRequest *sent[MAXSENT];
    struct fcall *sent_on[MAXSENT];
    int nsent;
    int fail_open;
} F;

static void *f_open(void *tctx, struct zb_stream *s, const char *auth, const char *table)
{
    (void)tctx;
    (void)table;
    if (F.fail_open)
        return NULL;
    struct fcall *c = &F.calls[F.ncalls++];
    memset(c, 0, sizeof *c);
    c->s = s;
    snprintf(c->auth, sizeof c->auth, "%s", auth ? auth : "");
    return c;
}

static int f_send(void *tctx, void *call, const uint8_t *msg, size_t len)
{
    (void)tctx;
    assert_true(F.nsent < MAXSENT);
    F.sent[F.nsent] = databricks__zerobus__ephemeral_stream_request__unpack(NULL, len, msg);
    assert_non_null(F.sent[F.nsent]); /* what we send decodes with protobuf-c */
    F.sent_on[F.nsent++] = call;
    return 0;
}

static void f_half_close(void *tctx, void *call)
{
    (void)tctx;
    ((struct fcall *)call)->half_closed = 1;
}

static void f_cancel(void *tctx, void *call)
{
    (void)tctx;
    ((struct fcall *)call)->cancelled = 1;
}

static void f_release(void *tctx, void *call)
{
    (void)tctx;
    ((struct fcall *)call)->released = 1;
}

static void f_poll(void *tctx, int ms)
{
    (void)tctx;
    (void)ms;
}

static int rings;
static void f_wake(void *tctx)
{
    (void)tctx;
    rings++;
}

static const struct zs_zb_transport_ops fake_ops = {
    .open = f_open,
    .send = f_send,
    .half_close = f_half_close,
    .cancel = f_cancel,
    .release = f_release,
    .poll = f_poll,
    .wake = f_wake,
};

static long long now;
static long long fake_now(void)
{
    return now;
}

/* ---------------------------------------------------------------- completions */

#define MAXREC 4096
static struct done {
    int calls;
    zs_rc rc;
    bool retryable;
    char reason[200];
} D[MAXREC];

static void on_done(void *ctx, zs_rc rc, const char *reason, bool retryable)
{
    struct done *d = ctx;
    d->calls++;
    d->rc = rc;
    d->retryable = retryable;
    snprintf(d->reason, sizeof d->reason, "%s", reason ? reason : "");
}

/* ---------------------------------------------------------------- harness */

static struct zs_zb Z;
static struct zs_zb_table *T;
static const uint8_t DESC[] = {0x0a, 0x01, 'M'};

static void setup_with(struct zs_zb_opts o)
{
    memset(&F, 0, sizeof F);
    memset(D, 0, sizeof D);
    now = 1000;
    rings = 0;
    struct zs_err err;
    /* The client takes its options as given; these are the tests' values for the ones a
     * test leaves out (the station's come from the option tables). */
#define TEST_DFLT(f, v)                                                                            \
    if (o.f == 0)                                                                                  \
    o.f = (v)
    TEST_DFLT(recovery_backoff_ms, 100);
    TEST_DFLT(max_batch_records, 1000);
    TEST_DFLT(max_batch_bytes, (10u << 20) - (64u << 10));
    TEST_DFLT(max_inflight_records, 1000000);
    TEST_DFLT(max_inflight_bytes, (size_t)256 << 20);
    TEST_DFLT(recovery_timeout_ms, 15000);
    TEST_DFLT(recovery_retries, 4);
    TEST_DFLT(recovery_backoff_max_ms, 30000);
    TEST_DFLT(ack_timeout_ms, 60000);
    TEST_DFLT(flush_timeout_ms, 300000);
    TEST_DFLT(streams_per_table, 1);
#undef TEST_DFLT
    assert_rc(zb_client_init(&Z, &o, &fake_ops, NULL, &err), ZS_OK);
    Z.now_ms = fake_now;
    assert_rc(zs_zb_table_add(&Z, "main.s.t", 1, DESC, sizeof DESC, false, &T, &err), ZS_OK);
}

static void teardown_client(void)
{
    zb_client_release(&Z);
    for (int i = 0; i < F.nsent; i++)
        databricks__zerobus__ephemeral_stream_request__free_unpacked(F.sent[i], NULL);
}

static struct zb_stream *S(void)
{
    return &T->streams[0];
}

static void submit(int i)
{
    char rec[16];
    int n = snprintf(rec, sizeof rec, "r%d", i);
    assert_rc(zs_zb_submit(T, rec, (size_t)n, on_done, &D[i]), ZS_OK);
}

static void reply(struct zb_stream *s, Databricks__Zerobus__EphemeralStreamResponse *r)
{
    uint8_t buf[256];
    size_t n = databricks__zerobus__ephemeral_stream_response__pack(r, buf);
    zb_stream_on_message(s, buf, n);
}

static void reply_created(struct zb_stream *s)
{
    Databricks__Zerobus__EphemeralStreamResponse r =
        DATABRICKS__ZEROBUS__EPHEMERAL_STREAM_RESPONSE__INIT;
    Databricks__Zerobus__CreateIngestStreamResponse c =
        DATABRICKS__ZEROBUS__CREATE_INGEST_STREAM_RESPONSE__INIT;
    c.stream_id = "sid";
    r.payload_case = DATABRICKS__ZEROBUS__EPHEMERAL_STREAM_RESPONSE__PAYLOAD_CREATE_STREAM_RESPONSE;
    r.create_stream_response = &c;
    reply(s, &r);
}

static void reply_ack(struct zb_stream *s, int64_t upto)
{
    Databricks__Zerobus__EphemeralStreamResponse r =
        DATABRICKS__ZEROBUS__EPHEMERAL_STREAM_RESPONSE__INIT;
    Databricks__Zerobus__IngestRecordResponse a = DATABRICKS__ZEROBUS__INGEST_RECORD_RESPONSE__INIT;
    a.has_durability_ack_up_to_offset = 1;
    a.durability_ack_up_to_offset = upto;
    r.payload_case = DATABRICKS__ZEROBUS__EPHEMERAL_STREAM_RESPONSE__PAYLOAD_INGEST_RECORD_RESPONSE;
    r.ingest_record_response = &a;
    reply(s, &r);
}

static void reply_close_signal(struct zb_stream *s, int64_t seconds)
{
    Databricks__Zerobus__EphemeralStreamResponse r =
        DATABRICKS__ZEROBUS__EPHEMERAL_STREAM_RESPONSE__INIT;
    Databricks__Zerobus__CloseStreamSignal c = DATABRICKS__ZEROBUS__CLOSE_STREAM_SIGNAL__INIT;
    Google__Protobuf__Duration d = GOOGLE__PROTOBUF__DURATION__INIT;
    d.seconds = seconds;
    c.duration = &d;
    r.payload_case = DATABRICKS__ZEROBUS__EPHEMERAL_STREAM_RESPONSE__PAYLOAD_CLOSE_STREAM_SIGNAL;
    r.close_stream_signal = &c;
    reply(s, &r);
}

/* The last request sent: kind, offset and record count. */
static void last_sent(int *kind, int64_t *offset, size_t *count)
{
    assert_true(F.nsent > 0);
    Databricks__Zerobus__EphemeralStreamRequest *r = F.sent[F.nsent - 1];
    *kind = (int)r->payload_case;
    *offset = -1;
    *count = 0;
    if (r->payload_case == DATABRICKS__ZEROBUS__EPHEMERAL_STREAM_REQUEST__PAYLOAD_INGEST_RECORD) {
        *offset = r->ingest_record->offset_id;
        *count = 1;
    } else if (r->payload_case ==
               DATABRICKS__ZEROBUS__EPHEMERAL_STREAM_REQUEST__PAYLOAD_INGEST_RECORD_BATCH) {
        *offset = r->ingest_record_batch->offset_id;
        *count = r->ingest_record_batch->proto_encoded_batch->n_records;
    }
}

static void expect_sent(int64_t offset, size_t count)
{
    int kind;
    int64_t off;
    size_t n;
    last_sent(&kind, &off, &n);
    if (off != offset || n != count)
        fail_msg("last request: offset %lld with %zu records, want %lld with %zu", (long long)off,
                 n, (long long)offset, count);
}

/* Open the stream: tick (token is immediate without OAuth), check create, reply. */
static void open_stream(void)
{
    zb_client_tick(&Z);
    assert_int_equal(S()->state, ZB_OPENING);
    Databricks__Zerobus__EphemeralStreamRequest *c = F.sent[F.nsent - 1];
    assert_int_equal(c->payload_case,
                     DATABRICKS__ZEROBUS__EPHEMERAL_STREAM_REQUEST__PAYLOAD_CREATE_STREAM);
    assert_string_equal(c->create_stream->table_name, "main.s.t");
    assert_int_equal(c->create_stream->record_type, 1);
    assert_int_equal(c->create_stream->descriptor_proto.len, sizeof DESC);
    zb_stream_on_send_done(S(), 1);
    reply_created(S());
    assert_int_equal(S()->state, ZB_OPEN);
}

/* ---------------------------------------------------------------- tests */

static void test_happy_path_batches_and_acks(void **state)
{
    (void)state;
    setup_with((struct zs_zb_opts){.linger_ms = 0, .max_batch_records = 2});
    for (int i = 0; i < 5; i++)
        submit(i);
    open_stream();
    zb_client_tick(&Z);
    expect_sent(0, 2); /* batches bounded by max_batch_records */
    zb_client_tick(&Z);
    expect_sent(0, 2); /* one send at a time: nothing new until send_done */
    zb_stream_on_send_done(S(), 1);
    zb_client_tick(&Z);
    expect_sent(1, 2);
    zb_stream_on_send_done(S(), 1);
    zb_client_tick(&Z);
    expect_sent(2, 1); /* a single record goes as ingest_record */
    zb_stream_on_send_done(S(), 1);
    assert_int_equal(D[0].calls, 0);
    reply_ack(S(), 1); /* cumulative: batches 0 and 1 */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(D[i].calls, 1);
        assert_rc(D[i].rc, ZS_OK);
    }
    assert_int_equal(D[4].calls, 0);
    reply_ack(S(), 1); /* a repeated ack is harmless */
    reply_ack(S(), 0); /* a smaller one too */
    assert_int_equal(D[4].calls, 0);
    reply_ack(S(), 2);
    assert_int_equal(D[4].calls, 1);
    assert_int_equal(atomic_load(&T->outstanding), 0);
    assert_int_equal(atomic_load(&T->acked), 5);
    teardown_client();
}

static void test_ack_beyond_what_was_sent(void **state)
{
    (void)state;
    setup_with((struct zs_zb_opts){.linger_ms = 0});
    submit(0);
    open_stream();
    zb_client_tick(&Z);
    expect_sent(0, 1);
    zb_stream_on_send_done(S(), 1);
    reply_ack(S(), 7); /* out of pattern: completes only what exists */
    assert_int_equal(D[0].calls, 1);
    submit(1);
    zb_client_tick(&Z);
    expect_sent(1, 1);
    teardown_client();
}

static void test_linger(void **state)
{
    (void)state;
    setup_with((struct zs_zb_opts){.linger_ms = 5});
    submit(0);
    open_stream();
    int before = F.nsent;
    zb_client_tick(&Z);
    assert_int_equal(F.nsent, before); /* a partial batch waits */
    now += 5;
    zb_client_tick(&Z);
    expect_sent(0, 1);
    teardown_client();
}

/* A record somebody waits for (wait_for_ack) ends the linger of what is queued before it,
 * and wakes a sleeping client thread; the records after it linger again. */
static void test_waited_record_skips_linger(void **state)
{
    (void)state;
    setup_with((struct zs_zb_opts){.linger_ms = 1000});
    submit(0);
    open_stream();
    zb_client_tick(&Z);
    int before = F.nsent;
    assert_int_equal(zb_client_prepare_wait(&Z), 1000); /* record 0 lingers */
    int base = rings;
    assert_rc(zs_zb_submit_seq(T, "r1", 2, on_done, &D[1], true, NULL), ZS_OK);
    assert_int_equal(rings, base + 1);
    zb_client_tick(&Z);
    expect_sent(0, 2); /* records 0 and 1 at once */
    zb_stream_on_send_done(S(), 1);
    submit(2);
    zb_client_tick(&Z);
    zb_client_tick(&Z);
    assert_int_equal(F.nsent, before + 1); /* record 2 lingers */
    assert_int_equal(zb_client_prepare_wait(&Z), 1000);
    reply_ack(S(), 0);
    assert_int_equal(D[1].calls, 1);
    teardown_client();
}

static void test_recovery_replays_unacked_with_new_offsets(void **state)
{
    (void)state;
    setup_with((struct zs_zb_opts){.linger_ms = 0, .max_batch_records = 2});
    for (int i = 0; i < 4; i++)
        submit(i);
    open_stream();
    zb_client_tick(&Z);
    zb_stream_on_send_done(S(), 1);
    zb_client_tick(&Z);
    zb_stream_on_send_done(S(), 1);
    expect_sent(1, 2);
    reply_ack(S(), 0);
    assert_int_equal(D[1].calls, 1);
    struct fcall *first = F.sent_on[F.nsent - 1];
    zb_stream_on_status(S(), 14, "connection reset");
    assert_true(first->released);
    assert_int_equal(S()->state, ZB_BACKOFF);
    assert_int_equal(D[2].calls, 0); /* not failed: kept for replay */
    zb_client_tick(&Z);              /* the first retry goes at once */
    assert_int_equal(S()->state, ZB_OPENING);
    assert_int_equal(F.ncalls, 2);
    zb_stream_on_send_done(S(), 1);
    reply_created(S());
    zb_client_tick(&Z);
    expect_sent(0, 2); /* records 2,3 again, offset 0 on the new call */
    zb_stream_on_send_done(S(), 1);
    reply_ack(S(), 0);
    assert_int_equal(D[2].calls, 1);
    assert_int_equal(D[3].calls, 1);
    assert_int_equal(atomic_load(&T->replayed), 2);
    assert_int_equal(atomic_load(&T->recoveries), 1);
    teardown_client();
}

static void test_fatal_status_fails_pending(void **state)
{
    (void)state;
    setup_with((struct zs_zb_opts){.linger_ms = 0});
    submit(0);
    submit(1);
    zb_client_tick(&Z);
    zb_stream_on_send_done(S(), 1);
    zb_stream_on_status(S(), 3, "descriptor does not match the table at column \"temp\"");
    assert_int_equal(D[0].calls, 1);
    assert_int_equal(D[1].calls, 1);
    assert_true(D[0].rc != ZS_OK);
    assert_false(D[0].retryable);
    assert_non_null(strstr(D[0].reason, "INVALID_ARGUMENT"));
    assert_non_null(strstr(D[0].reason, "temp"));
    assert_int_equal(S()->state, ZB_IDLE);
    assert_int_equal(atomic_load(&T->outstanding), 0);
    assert_int_equal(F.ncalls, 1); /* no retry */
    teardown_client();
}

static void test_unauthenticated_gets_one_token_retry(void **state)
{
    (void)state;
    setup_with((struct zs_zb_opts){.linger_ms = 0});
    submit(0);
    zb_client_tick(&Z);
    zb_stream_on_status(S(), 16, "token expired");
    assert_int_equal(D[0].calls, 0);
    zb_client_tick(&Z);
    assert_int_equal(F.ncalls, 2); /* retried once, with a fresh token */
    zb_stream_on_status(S(), 16, "token expired");
    assert_int_equal(D[0].calls, 1);
    assert_false(D[0].retryable);
    assert_non_null(strstr(D[0].reason, "UNAUTHENTICATED"));
    teardown_client();
}

static void test_retries_exhausted_with_backoff(void **state)
{
    (void)state;
    setup_with(
        (struct zs_zb_opts){.linger_ms = 0, .recovery_retries = 2, .recovery_backoff_ms = 500});
    submit(0);
    zb_client_tick(&Z);
    zb_stream_on_status(S(), 14, "down"); /* attempt 1 failed */
    zb_client_tick(&Z);                   /* retry 1 at once */
    assert_int_equal(F.ncalls, 2);
    zb_stream_on_status(S(), 14, "down");
    zb_client_tick(&Z);
    assert_int_equal(F.ncalls, 2);                     /* retry 2 waits for the backoff */
    assert_int_equal(zb_client_prepare_wait(&Z), 500); /* the thread sleeps until it ends */
    now += 499;
    zb_client_tick(&Z);
    assert_int_equal(F.ncalls, 2);
    assert_int_equal(zb_client_prepare_wait(&Z), 1);
    now += 1;
    zb_client_tick(&Z);
    assert_int_equal(F.ncalls, 3);
    zb_stream_on_status(S(), 14, "still down");
    /* 1 + 2 attempts: the record is kept, the table is failing, the backoff doubles. */
    assert_int_equal(D[0].calls, 0);
    struct zs_zb_table_state st;
    zs_zb_table_state(T, &st);
    assert_true(st.failing);
    assert_non_null(strstr(st.last_error, "still down"));
    zb_client_tick(&Z);
    assert_int_equal(zb_client_prepare_wait(&Z), 500);
    long long waits[7];
    for (int i = 0; i < 7; i++) { /* ... up to recovery_backoff_max_ms */
        waits[i] = S()->deadline_ms - now;
        now = S()->deadline_ms;
        zb_client_tick(&Z);
        assert_int_equal(S()->state, ZB_OPENING);
        zb_stream_on_status(S(), 14, "still down");
        zb_client_tick(&Z);
    }
    assert_int_equal(waits[0], 500);
    assert_int_equal(waits[1], 1000);
    assert_int_equal(waits[5], 16000);
    assert_int_equal(waits[6], 30000);
    assert_int_equal(S()->deadline_ms - now, 30000); /* the ceiling */
    assert_int_equal(D[0].calls, 0);
    now += 30000;
    zb_client_tick(&Z); /* Zerobus is back: the record goes, its ack ends the episode */
    zb_stream_on_send_done(S(), 1);
    reply_created(S());
    zb_client_tick(&Z);
    zb_stream_on_send_done(S(), 1);
    reply_ack(S(), 0);
    assert_int_equal(D[0].calls, 1);
    assert_rc(D[0].rc, ZS_OK);
    zs_zb_table_state(T, &st);
    assert_false(st.failing);
    teardown_client();
}

static void test_create_timeout(void **state)
{
    (void)state;
    setup_with((struct zs_zb_opts){.linger_ms = 0, .recovery_timeout_ms = 1000});
    submit(0);
    zb_client_tick(&Z);
    now += 1000;
    zb_client_tick(&Z);
    assert_true(F.calls[0].cancelled); /* the status that follows starts recovery */
    zb_stream_on_status(S(), 1, "cancelled");
    assert_int_equal(S()->state, ZB_BACKOFF);
    assert_non_null(strstr(S()->last_error, "timed out"));
    teardown_client();
}

static void test_close_signal_mid_batch(void **state)
{
    (void)state;
    setup_with((struct zs_zb_opts){.linger_ms = 0, .max_batch_records = 1});
    submit(0);
    submit(1);
    submit(2);
    open_stream();
    zb_client_tick(&Z);
    zb_stream_on_send_done(S(), 1);
    expect_sent(0, 1);
    reply_close_signal(S(), 10);
    assert_int_equal(S()->state, ZB_PAUSED);
    int before = F.nsent;
    zb_client_tick(&Z);
    assert_int_equal(F.nsent, before); /* paused: nothing new is sent */
    reply_ack(S(), 0);                 /* in-flight acked: reopen at once */
    zb_client_tick(&Z);
    assert_int_equal(S()->state, ZB_BACKOFF);
    assert_true(F.calls[0].cancelled);
    zb_client_tick(&Z);
    assert_int_equal(F.ncalls, 2);
    zb_stream_on_send_done(S(), 1);
    reply_created(S());
    zb_client_tick(&Z);
    expect_sent(0, 1); /* record 1 on the new call */
    assert_int_equal(D[0].calls, 1);
    assert_int_equal(D[1].calls, 0);
    teardown_client();
}

static void test_close_signal_deadline_replays(void **state)
{
    (void)state;
    setup_with((struct zs_zb_opts){.linger_ms = 0});
    submit(0);
    open_stream();
    zb_client_tick(&Z);
    zb_stream_on_send_done(S(), 1);
    reply_close_signal(S(), 2);
    now += 1999;
    zb_client_tick(&Z);
    assert_int_equal(S()->state, ZB_PAUSED);
    now += 1;
    zb_client_tick(&Z); /* no ack within the duration: leave, replay */
    zb_client_tick(&Z);
    zb_stream_on_send_done(S(), 1);
    reply_created(S());
    zb_client_tick(&Z);
    expect_sent(0, 1);
    assert_int_equal(atomic_load(&T->replayed), 1);
    teardown_client();
}

static void test_window_full_is_backpressure(void **state)
{
    (void)state;
    setup_with((struct zs_zb_opts){.linger_ms = 0, .max_inflight_records = 3});
    submit(0);
    submit(1);
    submit(2);
    assert_rc(zs_zb_submit(T, "x", 1, on_done, &D[3]), ZS_EAGAIN);
    open_stream();
    zb_client_tick(&Z);
    zb_stream_on_send_done(S(), 1);
    reply_ack(S(), 0);
    assert_rc(zs_zb_submit(T, "x", 1, on_done, &D[3]), ZS_OK);
    assert_rc(zs_zb_submit(T, "big", (10u << 20), on_done, &D[4]), ZS_ELIMIT);
    teardown_client();
}

static void test_flush_and_flush_timeout(void **state)
{
    (void)state;
    setup_with((struct zs_zb_opts){.linger_ms = 1000});
    submit(0);
    struct done fd = {0}, fd2 = {0};
    assert_rc(zs_zb_flush(T, 500, on_done, &fd), ZS_OK);
    open_stream();
    zb_client_tick(&Z); /* flush sends the partial batch without waiting for linger */
    expect_sent(0, 1);
    zb_stream_on_send_done(S(), 1);
    assert_int_equal(fd.calls, 0);
    reply_ack(S(), 0);
    zb_client_tick(&Z);
    assert_int_equal(fd.calls, 1);
    assert_rc(fd.rc, ZS_OK);
    submit(1);
    assert_rc(zs_zb_flush(T, 500, on_done, &fd2), ZS_OK);
    zb_client_tick(&Z);
    zb_stream_on_send_done(S(), 1);
    now += 500;
    zb_client_tick(&Z);
    assert_int_equal(fd2.calls, 1);
    assert_rc(fd2.rc, ZS_ETIMEDOUT);
    struct done fd3 = {0};
    assert_rc(zs_zb_flush(T, 500, on_done, &fd3), ZS_OK); /* nothing pending but record 1 */
    reply_ack(S(), 1);
    zb_client_tick(&Z);
    assert_int_equal(fd3.calls, 1);
    assert_rc(fd3.rc, ZS_OK);
    teardown_client();
}

/* The client thread's wait: as long as its timers allow; while records flow it polls
 * every millisecond, and once quiet a record it would act on at once rings it awake. */
static void test_wait_and_wake(void **state)
{
    (void)state;
    setup_with((struct zs_zb_opts){.linger_ms = 5, .max_batch_records = 3});
    int base = rings; /* adding the table rang (an eager open would need the thread) */
    zb_client_tick(&Z);
    assert_int_equal(zb_client_prepare_wait(&Z), ZB_MAX_WAIT_MS); /* idle: nothing to time */
    submit(0); /* quiet, and the first record opens the stream: it rings, once per wait */
    assert_int_equal(rings, base + 1);
    submit(1);
    assert_int_equal(rings, base + 1);
    assert_int_equal(zb_client_prepare_wait(&Z), 0); /* arrived since the drain: no sleep */
    open_stream(); /* a tick that takes records: busy, so it polls and wants no rings */
    assert_int_equal(zb_client_prepare_wait(&Z), ZB_BUSY_POLL_MS);
    submit(2);
    assert_int_equal(rings, base + 1);
    zb_client_tick(&Z);
    expect_sent(0, 3);  /* three records: a full batch goes before its linger ends */
    zb_client_tick(&Z); /* nothing new: quiet */
    /* A write in flight: records wait for its completion (an event), so they do not ring;
     * the next timer is the ack timeout (beyond the cap). */
    assert_int_equal(zb_client_prepare_wait(&Z), ZB_MAX_WAIT_MS);
    submit(3);
    assert_int_equal(rings, base + 1);
    zb_stream_on_send_done(S(), 1);
    zb_client_tick(&Z);
    zb_client_tick(&Z);
    assert_int_equal(zb_client_prepare_wait(&Z), 5); /* record 3's linger */
    submit(4);                                       /* joins the lingering batch: no ring */
    assert_int_equal(rings, base + 1);
    reply_ack(S(), 0);
    now += 5;
    zb_client_tick(&Z);
    expect_sent(1, 2);
    zb_stream_on_send_done(S(), 1);
    zb_client_tick(&Z);
    assert_int_equal(zb_client_prepare_wait(&Z), ZB_MAX_WAIT_MS);
    submit(5); /* open, idle, nothing lingering: the record starts a batch, so it rings */
    assert_int_equal(rings, base + 2);
    zb_client_tick(&Z);
    zb_client_tick(&Z);
    assert_int_equal(zb_client_prepare_wait(&Z), 5);
    submit(6);
    submit(7);
    assert_int_equal(rings, base + 2);
    submit(8); /* the inbox holds max_batch_records: a full batch rings even while lingering */
    assert_int_equal(rings, base + 3);
    submit(9);
    assert_int_equal(rings, base + 3);
    /* A flush rings whatever the thread thinks; its deadline is a timer. */
    struct done fd = {0};
    assert_rc(zs_zb_flush(T, 500, on_done, &fd), ZS_OK);
    assert_int_equal(rings, base + 4);
    zb_client_tick(&Z);
    expect_sent(2, 3); /* records 5..7: the flush sends without waiting for the linger */
    zb_client_tick(&Z);
    assert_int_equal(zb_client_prepare_wait(&Z), 500);
    teardown_client();
}

static void test_ack_timeout_reopens(void **state)
{
    (void)state;
    setup_with((struct zs_zb_opts){.linger_ms = 0, .ack_timeout_ms = 3000});
    submit(0);
    open_stream();
    zb_client_tick(&Z);
    zb_stream_on_send_done(S(), 1);
    now += 2999;
    zb_client_tick(&Z);
    assert_false(F.calls[0].cancelled);
    now += 1;
    zb_client_tick(&Z);
    assert_true(F.calls[0].cancelled);
    zb_stream_on_status(S(), 1, "cancelled");
    assert_non_null(strstr(S()->last_error, "ack timeout"));
    teardown_client();
}

static void test_shutdown_fails_pending(void **state)
{
    (void)state;
    setup_with((struct zs_zb_opts){.linger_ms = 0});
    submit(0);
    open_stream();
    struct done fd = {0};
    assert_rc(zs_zb_flush(T, 0, on_done, &fd), ZS_OK);
    zb_client_release(&Z);
    assert_int_equal(D[0].calls, 1);
    assert_rc(D[0].rc, ZS_ECANCELED);
    assert_int_equal(fd.calls, 1);
    for (int i = 0; i < F.nsent; i++)
        databricks__zerobus__ephemeral_stream_request__free_unpacked(F.sent[i], NULL);
}

static void test_two_streams_share_the_load(void **state)
{
    (void)state;
    setup_with((struct zs_zb_opts){.linger_ms = 0, .streams_per_table = 2});
    for (int i = 0; i < 4; i++)
        submit(i);
    zb_client_tick(&Z);
    assert_int_equal(F.ncalls, 2); /* both streams open */
    assert_int_equal(T->streams[0].recs.len, 2);
    assert_int_equal(T->streams[1].recs.len, 2);
    teardown_client();
}

static int token_requests, token_forced;
static void fake_token_request(void *ctx, const char *table, int force)
{
    (void)ctx;
    (void)table;
    token_requests++;
    token_forced += force;
}

static void test_token_failure_while_waiting(void **state)
{
    (void)state;
    setup_with((struct zs_zb_opts){.linger_ms = 0, .recovery_retries = 1});
    Z.tokens.request = fake_token_request;
    token_requests = token_forced = 0;
    submit(0);
    zb_client_tick(&Z);
    assert_int_equal(S()->state, ZB_WAIT_TOKEN);
    assert_int_equal(token_requests, 1);
    assert_int_equal(F.ncalls, 0); /* no call before a token */
    zb_client_token_ready(&Z, "main.s.t", NULL, 503, "token endpoint answered HTTP 503", 1);
    zb_client_tick(&Z); /* retryable: a new attempt asks again */
    zb_client_tick(&Z);
    assert_int_equal(token_requests, 2);
    zb_client_token_ready(&Z, "main.s.t", "tok-2", 200, NULL, 0);
    zb_client_tick(&Z);
    assert_int_equal(S()->state, ZB_OPENING);
    assert_string_equal(F.calls[0].auth, "Bearer tok-2");
    zb_stream_on_status(S(), 16, "token rejected");
    now += 100; /* the backoff */
    zb_client_tick(&Z);
    assert_int_equal(token_forced, 1); /* UNAUTHENTICATED: the next token is a fresh one */
    zb_client_token_ready(&Z, "main.s.t", NULL, 401, "HTTP 401: invalid_client", 0);
    zb_client_tick(&Z);
    assert_int_equal(D[0].calls, 1); /* a 4xx from the token endpoint is final */
    assert_false(D[0].retryable);
    assert_non_null(strstr(D[0].reason, "401"));
    Z.tokens.request = NULL;
    teardown_client();
}

static void test_server_closes_a_paused_stream(void **state)
{
    (void)state;
    setup_with((struct zs_zb_opts){.linger_ms = 0});
    submit(0);
    open_stream();
    zb_client_tick(&Z);
    zb_stream_on_send_done(S(), 1);
    reply_close_signal(S(), 30);
    zb_stream_on_status(S(), 14, "Stream timeout reached. Error Code: 6002");
    assert_int_equal(S()->state, ZB_BACKOFF); /* reopen at once, not an error episode */
    assert_int_equal(D[0].calls, 0);
    zb_client_tick(&Z);
    assert_int_equal(F.ncalls, 2);
    zb_stream_on_send_done(S(), 1);
    reply_created(S());
    zb_client_tick(&Z);
    expect_sent(0, 1);
    zb_stream_on_send_done(S(), 1);
    reply_ack(S(), 0);
    assert_int_equal(D[0].calls, 1);
    assert_rc(D[0].rc, ZS_OK);
    teardown_client();
}

/* ---------------------------------------------------------------- schema changes */

static int hook_calls;
static char hook_table[64];
static void on_schema_reject(void *ctx, const char *table, const char *error)
{
    (void)ctx;
    (void)error;
    hook_calls++;
    snprintf(hook_table, sizeof hook_table, "%s", table);
}

/* The descriptor of columns (a schema compiled by src/schema). */
static void descriptor_of(const struct zs_column_def *cols, size_t n, struct zs_buf *out)
{
    struct zs_schema_opts o = {.package = "p", .message_name = "M"};
    struct zs_schema *s = NULL;
    struct zs_err err;
    assert_rc(zs_schema_create(&o, cols, n, &s, NULL, &err), ZS_OK);
    zs_buf_init(out, 1 << 16);
    assert_rc(zs_schema_descriptor(s, out), ZS_OK);
    zs_schema_destroy(s);
}

/* The first record of the last request (a single record or a batch's first). */
static void last_record(const uint8_t **p, size_t *n)
{
    Databricks__Zerobus__EphemeralStreamRequest *r = F.sent[F.nsent - 1];
    if (r->payload_case == DATABRICKS__ZEROBUS__EPHEMERAL_STREAM_REQUEST__PAYLOAD_INGEST_RECORD) {
        *p = r->ingest_record->proto_encoded_record.data;
        *n = r->ingest_record->proto_encoded_record.len;
    } else {
        *p = r->ingest_record_batch->proto_encoded_batch->records[0].data;
        *n = r->ingest_record_batch->proto_encoded_batch->records[0].len;
    }
}

static void test_refused_descriptor_holds_then_rewrites(void **state)
{
    (void)state;
    static const struct zs_column_def before[] = {{"a", "INT", -1, NULL, 0},
                                                  {"b", "STRING", -1, NULL, 0}};
    static const struct zs_column_def after[] = {{"b", "STRING", -1, NULL, 0},
                                                 {"c", "INT", -1, NULL, 0}};
    struct zs_buf da, db;
    descriptor_of(before, 2, &da);
    descriptor_of(after, 2, &db);
    hook_calls = 0;
    setup_with((struct zs_zb_opts){.linger_ms = 0, .on_schema_reject = on_schema_reject});
    struct zs_zb_table *u;
    struct zs_err err;
    assert_rc(zs_zb_table_add(&Z, "main.s.u", 1, da.data, da.len, false, &u, &err), ZS_OK);
    static const uint8_t has_a[] = {0x08, 0x05}, only_b[] = {0x12, 0x01, 'x'},
                         later_b[] = {0x12, 0x01, 'y'};
    assert_rc(zs_zb_submit(u, has_a, sizeof has_a, on_done, &D[0]), ZS_OK);
    assert_rc(zs_zb_submit(u, only_b, sizeof only_b, on_done, &D[1]), ZS_OK);
    zb_client_tick(&Z);
    struct zb_stream *s = &u->streams[0];
    assert_int_equal(s->state, ZB_OPENING);
    zb_stream_on_send_done(s, 1);
    zb_stream_on_status(s, 3, "descriptor does not match the table");
    /* held: nothing completed, no retry, the hook ran once */
    assert_int_equal(s->state, ZB_HELD);
    assert_int_equal(D[0].calls + D[1].calls, 0);
    assert_int_equal(hook_calls, 1);
    assert_string_equal(hook_table, "main.s.u");
    assert_true(zs_zb_held(&Z, "main.s.u"));
    int calls = F.ncalls;
    now += 60000;
    zb_client_tick(&Z);
    assert_int_equal(F.ncalls, calls);
    /* the new descriptor: the record with a value for the dropped column fails, the other
     * is rewritten (b is field 1 now) and goes on a stream opened with the new descriptor */
    zs_zb_retarget(&Z, "main.s.u", db.data, db.len);
    zb_client_tick(&Z);
    assert_false(zs_zb_held(&Z, "main.s.u"));
    assert_int_equal(D[0].calls, 1);
    assert_false(D[0].retryable);
    assert_non_null(strstr(D[0].reason, "column 'a' has a value but is no longer in the table"));
    assert_int_equal(s->state, ZB_OPENING);
    Databricks__Zerobus__EphemeralStreamRequest *c = F.sent[F.nsent - 1];
    assert_int_equal(c->create_stream->descriptor_proto.len, db.len);
    assert_memory_equal(c->create_stream->descriptor_proto.data, db.data, db.len);
    zb_stream_on_send_done(s, 1);
    reply_created(s);
    zb_client_tick(&Z);
    const uint8_t *p;
    size_t n;
    last_record(&p, &n);
    static const uint8_t want_b[] = {0x0a, 0x01, 'x'};
    assert_int_equal(n, sizeof want_b);
    assert_memory_equal(p, want_b, n);
    zb_stream_on_send_done(s, 1);
    reply_ack(s, 0);
    assert_rc(D[1].rc, ZS_OK);
    /* a record still encoded with the old descriptor (the spool replays one) is rewritten */
    assert_rc(zs_zb_submit(u, later_b, sizeof later_b, on_done, &D[2]), ZS_OK);
    zb_client_tick(&Z);
    last_record(&p, &n);
    static const uint8_t want_y[] = {0x0a, 0x01, 'y'};
    assert_memory_equal(p, want_y, sizeof want_y);
    zb_stream_on_send_done(s, 1);
    reply_ack(s, 1);
    assert_rc(D[2].rc, ZS_OK);
    assert_int_equal(atomic_load(&u->outstanding), 0);
    assert_int_equal(atomic_load(&u->outstanding_bytes), 0);
    teardown_client();
    zs_buf_release(&da);
    zs_buf_release(&db);
}

static void test_refused_descriptor_unchanged_fails_held_records(void **state)
{
    (void)state;
    hook_calls = 0;
    setup_with((struct zs_zb_opts){.linger_ms = 0, .on_schema_reject = on_schema_reject});
    submit(0);
    zb_client_tick(&Z);
    zb_stream_on_send_done(S(), 1);
    zb_stream_on_status(S(), 3, "a record does not decode");
    assert_int_equal(S()->state, ZB_HELD);
    zs_zb_retarget(&Z, "main.s.t", DESC, sizeof DESC); /* the catalog says: no change */
    zb_client_tick(&Z);
    assert_int_equal(D[0].calls, 1);
    assert_false(D[0].retryable);
    assert_non_null(strstr(D[0].reason, "a record does not decode"));
    assert_int_equal(S()->state, ZB_IDLE);
    /* a status for a stream that is not open changes nothing (no second hook) */
    zb_stream_on_status(S(), 3, "x");
    assert_int_equal(hook_calls, 1);
    teardown_client();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_happy_path_batches_and_acks),
        cmocka_unit_test(test_ack_beyond_what_was_sent),
        cmocka_unit_test(test_linger),
        cmocka_unit_test(test_waited_record_skips_linger),
        cmocka_unit_test(test_recovery_replays_unacked_with_new_offsets),
        cmocka_unit_test(test_fatal_status_fails_pending),
        cmocka_unit_test(test_unauthenticated_gets_one_token_retry),
        cmocka_unit_test(test_retries_exhausted_with_backoff),
        cmocka_unit_test(test_create_timeout),
        cmocka_unit_test(test_close_signal_mid_batch),
        cmocka_unit_test(test_close_signal_deadline_replays),
        cmocka_unit_test(test_window_full_is_backpressure),
        cmocka_unit_test(test_flush_and_flush_timeout),
        cmocka_unit_test(test_wait_and_wake),
        cmocka_unit_test(test_ack_timeout_reopens),
        cmocka_unit_test(test_shutdown_fails_pending),
        cmocka_unit_test(test_two_streams_share_the_load),
        cmocka_unit_test(test_token_failure_while_waiting),
        cmocka_unit_test(test_server_closes_a_paused_stream),
        cmocka_unit_test(test_refused_descriptor_holds_then_rewrites),
        cmocka_unit_test(test_refused_descriptor_unchanged_fails_held_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
