/*
 * The spool against a fake sink (the test plays Zerobus: it acknowledges, rejects or
 * refuses records) and, where a test needs to fail on purpose, a fake file system (ENOSPC,
 * EIO, a power cut). The spool thread runs for real: the tests wait for conditions with a
 * bounded poll, never a fixed sleep.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/zs_crc32c.h"
#include "fake_fs.h"
#include "spool/spool_int.h"
#include "spool/zs_spool.h"
#include "zs_test.h"

/* ---------------------------------------------------------------- fake sink */

#define MAXREC 20000

struct sent {
    char table[64];
    int desc_len;
    uint64_t seq;
    char data[64];
    size_t len;
    zs_spool_sink_done_fn done;
    void *ctx;
    int completed;
};

static struct sink {
    pthread_mutex_t lock;
    struct sent s[MAXREC];
    int n;
    int window; /* records accepted and not completed before EAGAIN; 0: no limit */
    int open;   /* accepted, not completed */
    int failing;
    char tables[8][64];
    int desc_lens[8];
    int ntables;
} K = {.lock = PTHREAD_MUTEX_INITIALIZER};

static zs_rc k_table_add(void *ctx, const char *name, int record_type, const uint8_t *desc,
                         size_t desc_len, bool eager, void **out, struct zs_err *err)
{
    (void)ctx, (void)record_type, (void)desc, (void)eager, (void)err;
    pthread_mutex_lock(&K.lock);
    int i = K.ntables++;
    snprintf(K.tables[i], sizeof K.tables[i], "%s", name);
    K.desc_lens[i] = (int)desc_len;
    pthread_mutex_unlock(&K.lock);
    *out = (void *)(intptr_t)(i + 1);
    return ZS_OK;
}

static zs_rc k_submit(void *ctx, void *table, const void *rec, size_t len, bool waited, uint64_t id,
                      zs_spool_sink_done_fn done, void *done_ctx)
{
    (void)ctx, (void)waited;
    pthread_mutex_lock(&K.lock);
    if ((K.window > 0 && K.open >= K.window) || K.n == MAXREC) {
        pthread_mutex_unlock(&K.lock);
        return ZS_EAGAIN;
    }
    struct sent *s = &K.s[K.n++];
    memset(s, 0, sizeof *s);
    int ti = (int)(intptr_t)table - 1;
    memcpy(s->table, K.tables[ti], sizeof s->table); /* both 64 bytes, NUL-terminated */
    s->desc_len = K.desc_lens[ti];
    s->seq = id;
    s->len = len < sizeof s->data ? len : sizeof s->data;
    memcpy(s->data, rec, s->len);
    s->done = done;
    s->ctx = done_ctx;
    K.open++;
    pthread_mutex_unlock(&K.lock);
    return ZS_OK;
}

static void k_state(void *ctx, void *table, struct zs_spool_upstream *out)
{
    (void)ctx, (void)table;
    memset(out, 0, sizeof *out);
    int failing = __atomic_load_n(&K.failing, __ATOMIC_ACQUIRE); /* the spool thread reads */
    out->state = failing ? "recovering" : "open";
    out->failing = failing;
    if (failing)
        snprintf(out->last_error, sizeof out->last_error, "UNAVAILABLE: test outage");
}

static const struct zs_spool_sink_ops sink_ops = {
    .table_add = k_table_add, .submit = k_submit, .state = k_state};

/* Complete the i-th record the sink got (as the client thread would). */
static void complete(int i, zs_rc rc, const char *reason)
{
    pthread_mutex_lock(&K.lock);
    struct sent s = K.s[i];
    K.s[i].completed = 1;
    K.open--;
    pthread_mutex_unlock(&K.lock);
    s.done(s.ctx, s.seq, s.data, s.len, rc, reason, rc == ZS_OK);
}

static void ack_all(void)
{
    pthread_mutex_lock(&K.lock);
    int n = K.n;
    pthread_mutex_unlock(&K.lock);
    for (int i = 0; i < n; i++)
        if (!K.s[i].completed)
            complete(i, ZS_OK, NULL);
}

static int sent_count(void)
{
    pthread_mutex_lock(&K.lock);
    int n = K.n;
    pthread_mutex_unlock(&K.lock);
    return n;
}

/* ---------------------------------------------------------------- answers */

static struct answer {
    int calls;
    zs_rc rc;
    uint64_t seq;
} A[MAXREC];
static pthread_mutex_t alock = PTHREAD_MUTEX_INITIALIZER;

static void on_answer(void *ctx, zs_rc rc, uint64_t seq, const char *reason, bool retryable)
{
    (void)reason, (void)retryable;
    struct answer *a = ctx;
    pthread_mutex_lock(&alock);
    a->calls++;
    a->rc = rc;
    a->seq = seq;
    pthread_mutex_unlock(&alock);
}

static int answered(int i)
{
    pthread_mutex_lock(&alock);
    int c = A[i].calls;
    pthread_mutex_unlock(&alock);
    return c;
}

/* Poll cond until it holds, at most 10 s (a bound, not a sleep: it returns at once). */
#define WAIT_FOR(cond)                                                                             \
    do {                                                                                           \
        struct timespec t0_;                                                                       \
        clock_gettime(CLOCK_MONOTONIC, &t0_);                                                      \
        for (;;) {                                                                                 \
            if (cond)                                                                              \
                break;                                                                             \
            struct timespec t1_;                                                                   \
            clock_gettime(CLOCK_MONOTONIC, &t1_);                                                  \
            if (t1_.tv_sec - t0_.tv_sec > 10)                                                      \
                fail_msg("timed out waiting for %s", #cond);                                       \
            usleep(200);                                                                           \
        }                                                                                          \
    } while (0)

/* ---------------------------------------------------------------- harness */

static char dir[256];
static struct zs_spool *SP;
static struct zs_spool_table *T;
static const uint8_t DESC[] = {0x0a, 0x01, 'M'};

static struct zs_spool_opts opts(void)
{
    return (struct zs_spool_opts){.mode = ZS_SPOOL_DISK,
                                  .sync = ZS_SPOOL_SYNC_COMMIT,
                                  .dir = dir,
                                  .sync_interval_ms = 10,
                                  .segment_bytes = 1 << 20,
                                  .max_bytes = 1 << 30,
                                  .max_pending_bytes = 1 << 24,
                                  .wait_timeout_ms = 60000,
                                  .sink = &sink_ops};
}

static void reset(void)
{
    pthread_mutex_lock(&K.lock);
    K.n = K.open = K.window = K.failing = K.ntables = 0;
    pthread_mutex_unlock(&K.lock);
    memset(A, 0, sizeof A);
}

static void start_with(struct zs_spool_opts o, const char *table)
{
    reset();
    struct zs_err err;
    assert_rc(zs_spool_open(&o, &SP, &err), ZS_OK);
    int var = -1;
    assert_rc(zs_spool_table_add(SP, table, 1, DESC, sizeof DESC, false, &T, &var, &err), ZS_OK);
    assert_int_equal(var, 0);
    assert_rc(zs_spool_start(SP, &err), ZS_OK);
}

static void start(void)
{
    start_with(opts(), "main.s.t");
}

static uint64_t stop(void)
{
    ack_all(); /* nothing may stay with the sink: it is gone after this */
    uint64_t lost = zs_spool_destroy(SP);
    SP = NULL;
    return lost;
}

/* Stop without acknowledging what the sink holds (as a crash or a stop with Zerobus down). */
static uint64_t stop_unacked(void)
{
    zs_spool_drain(SP);
    uint64_t lost = zs_spool_destroy(SP);
    SP = NULL;
    return lost;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/zs-spool-test-XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static void submit(int i, bool wait)
{
    char rec[32];
    int n = snprintf(rec, sizeof rec, "r%d", i);
    uint64_t seq;
    assert_rc(zs_spool_submit(T, 0, rec, (size_t)n, wait, on_answer, &A[i], &seq), ZS_OK);
    assert_int_equal(seq, 0); /* disk mode: answered later */
}

static int count_files(const char *sub, const char *suffix)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    DIR *d = opendir(path);
    if (d == NULL)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name), s = strlen(suffix);
        n += e->d_name[0] != '.' && (s == 0 ? 1 : l >= s && strstr(e->d_name, suffix) != NULL);
    }
    closedir(d);
    return n;
}

/* ---------------------------------------------------------------- format */

static void test_crc32c_vectors(void **state)
{
    (void)state;
    assert_int_equal(zs_crc32c(0, "123456789", 9), 0xe3069283u);
    uint8_t zeros[32] = {0};
    assert_int_equal(zs_crc32c(0, zeros, 32), 0x8a9136aau); /* RFC 3720 B.4 */
    /* Incremental equals one-shot, across the 8-byte blocks. */
    const char *s = "The quick brown fox jumps over the lazy dog";
    assert_int_equal(zs_crc32c(zs_crc32c(0, s, 7), s + 7, strlen(s) - 7),
                     zs_crc32c(0, s, strlen(s)));
}

static void test_header_and_frames(void **state)
{
    (void)state;
    struct zs_buf b;
    zs_buf_init(&b, 1 << 20);
    struct zs_seg_header h = {.first_seq = 42,
                              .created_ms = 7,
                              .record_type = 1,
                              .table = "c.s.t",
                              .table_len = 5,
                              .desc = DESC,
                              .desc_len = sizeof DESC};
    assert_rc(zs_seg_header_encode(&h, &b), ZS_OK);
    size_t hl = b.len;
    uint8_t head[ZS_SEG_FRAME];
    zs_seg_frame_head(head, "abc", 3);
    assert_rc(zs_buf_append(&b, head, sizeof head), ZS_OK);
    assert_rc(zs_buf_append(&b, "abc", 3), ZS_OK);
    struct zs_seg_header d;
    size_t dl;
    assert_rc(zs_seg_header_decode(b.data, b.len, &d, &dl), ZS_OK);
    assert_int_equal(dl, hl);
    assert_int_equal(d.first_seq, 42);
    assert_int_equal(d.table_len, 5);
    assert_memory_equal(d.desc, DESC, sizeof DESC);
    /* A torn header is "read more", a bad CRC is corruption. */
    assert_rc(zs_seg_header_decode(b.data, hl - 1, &d, &dl), ZS_EAGAIN);
    b.data[20] ^= 1;
    assert_rc(zs_seg_header_decode(b.data, b.len, &d, &dl), ZS_ECORRUPT);
    b.data[20] ^= 1;
    size_t off = hl;
    struct zs_slice rec;
    assert_rc(zs_seg_next(b.data, b.len, &off, &rec), ZS_OK);
    assert_int_equal(rec.len, 3);
    assert_memory_equal(rec.ptr, "abc", 3);
    assert_rc(zs_seg_next(b.data, b.len, &off, &rec), ZS_ENOTFOUND);
    off = hl; /* torn frame */
    assert_rc(zs_seg_next(b.data, b.len - 1, &off, &rec), ZS_EAGAIN);
    assert_int_equal(off, hl);
    b.data[b.len - 1] ^= 0x40; /* flipped bit in the record */
    assert_rc(zs_seg_next(b.data, b.len, &off, &rec), ZS_ECORRUPT);
    zs_le32(b.data + hl, 0xfffffff0u); /* absurd length */
    assert_rc(zs_seg_next(b.data, b.len, &off, &rec), ZS_ECORRUPT);
    zs_buf_release(&b);
    uint8_t ck[ZS_CKPT_LEN];
    uint64_t f;
    zs_ckpt_encode(ck, 123456789012ull);
    assert_rc(zs_ckpt_decode(ck, sizeof ck, &f), ZS_OK);
    assert_int_equal(f, 123456789012ull);
    ck[9] ^= 1;
    assert_rc(zs_ckpt_decode(ck, sizeof ck, &f), ZS_ECORRUPT);
}

static void test_names(void **state)
{
    (void)state;
    char n[32], d[256], back[256];
    uint64_t v;
    zs_seg_name(n, 12345);
    assert_string_equal(n, "00000000000000012345.seg");
    assert_int_equal(zs_seg_name_parse(n, &v), 0);
    assert_int_equal(v, 12345);
    assert_int_equal(zs_seg_name_parse("0000000000000001234.seg", &v), -1);
    assert_int_equal(zs_seg_name_parse("99999999999999999999.seg", &v), -1); /* > 2^64 */
    zs_spool_table_dirname("main.default.t-1", d, sizeof d);
    assert_string_equal(d, "main.default.t-1");
    zs_spool_table_dirname(".a/b c", d, sizeof d);
    assert_string_equal(d, "%2Ea%2Fb%20c");
    assert_int_equal(zs_spool_table_dirname_parse(d, back, sizeof back), 0);
    assert_string_equal(back, ".a/b c");
    assert_int_equal(zs_spool_table_dirname_parse("a%2", back, sizeof back), -1);
    assert_int_equal(zs_spool_table_dirname_parse("a/b", back, sizeof back), -1);
    struct zs_buf b;
    zs_buf_init(&b, 100);
    assert_rc(zs_buf_base64(&b, "ab", 2), ZS_OK);
    assert_string_equal((char *)b.data, "YWI=");
    b.len = 0; /* every padding case, and a JSON string with what must be escaped */
    assert_rc(zs_buf_base64(&b, "", 0), ZS_OK);
    assert_rc(zs_buf_base64(&b, "a", 1), ZS_OK);
    assert_rc(zs_buf_base64(&b, "abc", 3), ZS_OK);
    assert_string_equal((char *)b.data, "YQ==YWJj");
    b.len = 0;
    assert_rc(zs_buf_json_str(&b, "a\"b\\c\n\x01\xc3\xa9", 9), ZS_OK);
    assert_int_equal(b.len, 23);
    assert_memory_equal(b.data, "\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\"", b.len);
    zs_buf_release(&b);
}

/* ---------------------------------------------------------------- behaviour */

static void test_commit_then_ack(void **state)
{
    (void)state;
    start();
    for (int i = 0; i < 3; i++)
        submit(i, false);
    WAIT_FOR(answered(2) == 1);
    for (int i = 0; i < 3; i++) { /* 202s in order, numbered 1, 2, 3 */
        assert_rc(A[i].rc, ZS_OK);
        assert_int_equal(A[i].seq, (uint64_t)i + 1);
    }
    WAIT_FOR(sent_count() == 3);
    assert_int_equal(K.s[0].seq, 1);
    assert_memory_equal(K.s[2].data, "r2", 2);
    struct zs_spool_table_state st;
    zs_spool_table_state(T, &st);
    assert_int_equal(st.pending, 3);
    assert_string_equal(st.mode, "disk");
    ack_all();
    zs_spool_table_state(T, &st);
    assert_int_equal(st.pending, 0);
    assert_int_equal(st.oldest_pending_ms, 0);
    assert_int_equal(stop(), 0);
}

static void test_wait_for_ack_and_flush(void **state)
{
    (void)state;
    start();
    submit(0, false);
    submit(1, true);
    WAIT_FOR(sent_count() == 2);
    assert_rc(zs_spool_flush(T, 0, on_answer, &A[5], NULL), ZS_OK);
    WAIT_FOR(answered(0) == 1);
    assert_int_equal(answered(1), 0); /* waits for its ack */
    complete(0, ZS_OK, NULL);
    assert_int_equal(answered(1), 0);
    complete(1, ZS_OK, NULL);
    WAIT_FOR(answered(1) == 1 && answered(5) == 1);
    assert_rc(A[1].rc, ZS_OK);
    assert_int_equal(A[1].seq, 2);
    assert_rc(A[5].rc, ZS_OK);
    /* A flush with nothing pending answers at once; a timed-out one says so. */
    assert_rc(zs_spool_flush(T, 0, on_answer, &A[6], NULL), ZS_OK);
    WAIT_FOR(answered(6) == 1);
    submit(2, false);
    WAIT_FOR(sent_count() == 3);
    assert_rc(zs_spool_flush(T, 50, on_answer, &A[7], NULL), ZS_OK);
    WAIT_FOR(answered(7) == 1);
    assert_rc(A[7].rc, ZS_ETIMEDOUT);
    stop();
}

static struct answer_text {
    char reason[400];
} R[8];

static void on_flush(void *ctx, zs_rc rc, uint64_t seq, const char *reason, bool retryable)
{
    struct answer_text *r = ctx;
    snprintf(r->reason, sizeof r->reason, "%s", reason ? reason : "");
    on_answer(&A[100 + (r - R)], rc, seq, reason, retryable);
}

static uint64_t dead_letters(void)
{
    struct zs_spool_table_state st;
    zs_spool_table_state(T, &st);
    return st.dead_letters;
}

/* A flush answers 200 only if every record it covered was acknowledged, else the counts. */
static void test_flush_after_a_rejection_is_not_200(void **state)
{
    (void)state;
    start();
    for (int i = 0; i < 3; i++)
        submit(i, false);
    WAIT_FOR(sent_count() == 3);
    struct zs_spool_counts fc[4] = {{0}};
    assert_rc(zs_spool_flush(T, 0, on_flush, &R[0], &fc[0]), ZS_OK);
    WAIT_FOR(answered(2) == 1); /* the flush is registered after the group's commit */
    complete(0, ZS_OK, NULL);
    complete(1, ZS_EAUTH, "INVALID_ARGUMENT: no");
    complete(2, ZS_OK, NULL);
    WAIT_FOR(answered(100) == 1);
    assert_rc(A[100].rc, ZS_EAUTH);
    assert_non_null(strstr(R[0].reason, "1 of the 3 records"));
    assert_non_null(strstr(R[0].reason, "2 acknowledged"));
    assert_true(fc[0].known);
    assert_int_equal(fc[0].records, 3);
    assert_int_equal(fc[0].acknowledged, 2);
    assert_int_equal(fc[0].failed, 1);
    assert_int_equal(fc[0].pending, 0);
    /* A timed-out flush gives the counts too; it covers what came after the last flush. */
    submit(3, false);
    WAIT_FOR(sent_count() == 4);
    assert_rc(zs_spool_flush(T, 30, on_flush, &R[1], &fc[1]), ZS_OK);
    WAIT_FOR(answered(101) == 1);
    assert_rc(A[101].rc, ZS_ETIMEDOUT);
    assert_non_null(strstr(R[1].reason, "1 pending"));
    assert_int_equal(fc[1].records, 1);
    assert_int_equal(fc[1].pending, 1);
    /* A record rejected before the flush comes is still one the flush covers. */
    complete(3, ZS_OK, NULL);
    submit(4, false);
    WAIT_FOR(sent_count() == 5);
    complete(4, ZS_EAUTH, "INVALID_ARGUMENT: no");
    WAIT_FOR(dead_letters() == 2);
    assert_rc(zs_spool_flush(T, 0, on_flush, &R[2], &fc[2]), ZS_OK);
    WAIT_FOR(answered(102) == 1);
    assert_rc(A[102].rc, ZS_EAUTH);
    assert_int_equal(fc[2].records, 2); /* the timed-out flush's record, and this one */
    assert_int_equal(fc[2].failed, 1);
    assert_int_equal(fc[2].acknowledged, 1);
    /* ... and only once: the next flush, with nothing new, is a 200. */
    assert_rc(zs_spool_flush(T, 0, on_flush, &R[3], &fc[3]), ZS_OK);
    WAIT_FOR(answered(103) == 1);
    assert_rc(A[103].rc, ZS_OK);
    assert_int_equal(fc[3].records, 0);
    stop();
}

/* A batch: numbered together, one answer (the last seq after the commit; with wait_ack
 * once every record is done, with the counts), all or nothing when it does not fit. */
static void test_batch(void **state)
{
    (void)state;
    struct zs_spool_opts o = opts();
    o.max_pending_bytes = 4096;
    start_with(o, "main.s.t");
    static uint8_t bufs[8][16];
    const uint8_t *recs[8];
    size_t lens[8], acc;
    uint64_t last;
    for (int i = 0; i < 8; i++) {
        lens[i] = (size_t)snprintf((char *)bufs[i], sizeof bufs[i], "b%d", i);
        recs[i] = bufs[i];
    }
    submit(0, false); /* seq 1 */
    assert_rc(
        zs_spool_submit_batch(T, 0, recs, lens, 3, false, on_answer, &A[1], NULL, &last, &acc),
        ZS_OK);
    assert_int_equal(acc, 3);
    assert_int_equal(last, 0); /* disk: answered after the commit */
    WAIT_FOR(answered(1) == 1);
    assert_rc(A[1].rc, ZS_OK);
    assert_int_equal(A[1].seq, 4); /* records 2..4 */
    WAIT_FOR(sent_count() == 4);
    assert_memory_equal(K.s[3].data, "b2", 2);
    assert_int_equal(K.s[3].seq, 4);
    /* waited: one rejection among four makes it a ZS_EAUTH with the counts */
    struct zs_spool_counts c = {0};
    assert_rc(
        zs_spool_submit_batch(T, 0, recs + 3, lens + 3, 4, true, on_answer, &A[2], &c, &last, &acc),
        ZS_OK);
    WAIT_FOR(sent_count() == 8);
    for (int i = 0; i < 8; i++)
        if (i != 6)
            complete(i, ZS_OK, NULL);
    assert_int_equal(answered(2), 0); /* record 7 is not done */
    complete(6, ZS_EAUTH, "INVALID_ARGUMENT: no");
    WAIT_FOR(answered(2) == 1);
    assert_rc(A[2].rc, ZS_EAUTH);
    assert_int_equal(c.records, 4);
    assert_int_equal(c.acknowledged, 3);
    assert_int_equal(c.failed, 1);
    assert_int_equal(c.pending, 0);
    /* too large for the pending buffer: refused whole, nothing of it numbered */
    static uint8_t big[3000];
    const uint8_t *bigs[2] = {big, big};
    size_t biglens[2] = {sizeof big, sizeof big};
    assert_rc(
        zs_spool_submit_batch(T, 0, bigs, biglens, 2, false, on_answer, &A[3], NULL, &last, &acc),
        ZS_EAGAIN);
    assert_int_equal(acc, 0);
    submit(4, false);
    WAIT_FOR(answered(4) == 1);
    assert_int_equal(A[4].seq, 9); /* right after the waited batch */
    assert_int_equal(stop(), 1);   /* the rejected record is counted */
}

static void test_upstream_failing_answers_waiters_503(void **state)
{
    (void)state;
    start();
    submit(0, true);
    WAIT_FOR(sent_count() == 1);
    __atomic_store_n(&K.failing, 1, __ATOMIC_RELEASE);
    WAIT_FOR(answered(0) == 1);
    assert_rc(A[0].rc, ZS_EUNAVAIL);
    __atomic_store_n(&K.failing, 0, __ATOMIC_RELEASE);
    stop();
}

static void test_restart_replays_in_order(void **state)
{
    (void)state;
    start();
    for (int i = 0; i < 10; i++)
        submit(i, false);
    WAIT_FOR(sent_count() == 10);
    for (int i = 0; i < 4; i++)
        complete(i, ZS_OK, NULL);
    assert_int_equal(stop_unacked(), 0); /* disk mode: nothing is lost, it stays */
    start();                             /* same directory */
    WAIT_FOR(sent_count() == 6);
    for (int i = 0; i < 6; i++) { /* spool order, from the checkpoint on */
        char want[8];
        snprintf(want, sizeof want, "r%d", i + 4);
        assert_int_equal(K.s[i].seq, (uint64_t)i + 5);
        assert_memory_equal(K.s[i].data, want, strlen(want));
    }
    struct zs_spool_table_state st;
    zs_spool_table_state(T, &st);
    assert_int_equal(st.replayed, 6);
    assert_int_equal(st.pending, 6);
    assert_true(st.oldest_pending_ms >= 0);
    /* New records continue the numbering after the replayed ones. */
    submit(20, false);
    WAIT_FOR(answered(20) == 1);
    assert_int_equal(A[20].seq, 11);
    stop();
    start();
    assert_int_equal(sent_count(), 0); /* everything acknowledged: nothing to replay */
    stop();
}

static void test_segments_rotate_and_are_deleted(void **state)
{
    (void)state;
    struct zs_spool_opts o = opts();
    o.segment_bytes = 100; /* a few records per segment */
    start_with(o, "main.s.t");
    for (int i = 0; i < 40; i++) {
        submit(i, false);
        WAIT_FOR(answered(i) == 1); /* one group each: rotation between groups */
    }
    assert_true(count_files("tables/main.s.t", ".seg") >= 5);
    struct zs_spool_table_state st;
    zs_spool_table_state(T, &st);
    assert_true(st.segments >= 5);
    ack_all();
    WAIT_FOR(count_files("tables/main.s.t", ".seg") == 1); /* the one written to stays */
    stop();
    start_with(o, "main.s.t");
    assert_int_equal(sent_count(), 0);
    submit(50, false);
    WAIT_FOR(answered(50) == 1);
    assert_int_equal(A[50].seq, 41);
    stop();
}

static void test_torn_tail_truncated_and_kept(void **state)
{
    (void)state;
    start();
    for (int i = 0; i < 5; i++)
        submit(i, false);
    WAIT_FOR(answered(4) == 1);
    stop_unacked();
    /* Half a frame at the end, as a crash in the middle of a write leaves it. */
    char path[512];
    snprintf(path, sizeof path, "%s/tables/main.s.t/00000000000000000001.seg", dir);
    FILE *f = fopen(path, "ab");
    uint8_t head[ZS_SEG_FRAME];
    zs_seg_frame_head(head, "lost-record", 11);
    fwrite(head, 1, sizeof head, f);
    fwrite("lost", 1, 4, f);
    fclose(f);
    start();
    WAIT_FOR(sent_count() == 5);
    assert_int_equal(count_files("corrupt", ".tail-"), 1); /* the cut bytes are kept */
    submit(9, false);
    WAIT_FOR(answered(9) == 1);
    assert_int_equal(A[9].seq, 6); /* numbering continues after the last good record */
    stop();
    start();
    assert_int_equal(sent_count(), 0);
    stop();
}

static void test_corrupt_middle_segment_moved_aside(void **state)
{
    (void)state;
    struct zs_spool_opts o = opts();
    o.segment_bytes = 100;
    start_with(o, "main.s.t");
    for (int i = 0; i < 12; i++) {
        submit(i, false);
        WAIT_FOR(answered(i) == 1);
    }
    stop_unacked();
    /* Flip a byte in the first segment's records (not its header). */
    char path[512];
    snprintf(path, sizeof path, "%s/tables/main.s.t/00000000000000000001.seg", dir);
    struct stat stt;
    assert_int_equal(stat(path, &stt), 0);
    int fd = open(path, O_RDWR);
    uint8_t c;
    assert_int_equal(pread(fd, &c, 1, stt.st_size - 1), 1);
    c ^= 0x55;
    assert_int_equal(pwrite(fd, &c, 1, stt.st_size - 1), 1);
    close(fd);
    start_with(o, "main.s.t");
    /* The segment's other records and every other segment still go out. */
    WAIT_FOR(sent_count() >= 10);
    ack_all();
    WAIT_FOR(count_files("corrupt", ".seg") == 1); /* moved aside once passed, not deleted */
    stop();
}

static void test_lock_refuses_a_second_station(void **state)
{
    (void)state;
    start();
    struct zs_spool_opts o = opts();
    struct zs_spool *other = NULL;
    struct zs_err err;
    zs_err_clear(&err);
    assert_rc(zs_spool_open(&o, &other, &err), ZS_ESTATE);
    assert_non_null(strstr(err.msg, "in use by another station"));
    assert_non_null(strstr(err.msg, dir));
    stop();
    assert_rc(zs_spool_open(&o, &other, &err), ZS_OK); /* released at destroy */
    zs_spool_destroy(other);
}

static void test_unwritable_dir_is_an_error(void **state)
{
    (void)state;
    struct zs_spool_opts o = opts();
    char file[300];
    snprintf(file, sizeof file, "%s/plainfile", dir);
    fclose(fopen(file, "w"));
    o.dir = file; /* a file where the directory should be */
    struct zs_spool *sp = NULL;
    struct zs_err err;
    zs_err_clear(&err);
    assert_rc(zs_spool_open(&o, &sp, &err), ZS_EIO);
    assert_non_null(strstr(err.msg, "plainfile"));
}

/* The decode hook as the app gives it: here, the record's text as a JSON string. */
static zs_rc test_decode(const void *ctx, const char *table, const void *rec, size_t len,
                         struct zs_buf *out)
{
    (void)ctx;
    if (strcmp(table, "main.s.t") != 0)
        return ZS_ENOTFOUND;
    return zs_buf_printf(out, "{\"text\":\"%.*s\"}", (int)len, (const char *)rec);
}

static void test_rejected_record_is_dead_lettered(void **state)
{
    (void)state;
    struct zs_spool_opts o = opts();
    o.decode = test_decode;
    start_with(o, "main.s.t");
    submit(0, true);
    submit(1, false);
    WAIT_FOR(sent_count() == 2);
    complete(0, ZS_EAUTH, "INVALID_ARGUMENT: descriptor does not match");
    WAIT_FOR(answered(0) == 1);
    assert_rc(A[0].rc, ZS_EAUTH);
    complete(1, ZS_OK, NULL);
    struct zs_spool_table_state st;
    zs_spool_table_state(T, &st);
    assert_int_equal(st.dead_letters, 1);
    assert_int_equal(st.pending, 0); /* a dead letter is done: the frontier moves on */
    assert_int_equal(stop(), 1);     /* and counts for the exit status */
    char path[512], line[1024];
    snprintf(path, sizeof path, "%s/dead-letter/main.s.t.ndjson", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_non_null(strstr(line, "\"seq\":1"));
    assert_non_null(strstr(line, "\"status\":\"ZS_EAUTH\""));
    assert_non_null(strstr(line, "descriptor does not match"));
    assert_non_null(strstr(line, "\"record_base64\":\"cjA=\""));   /* "r0" */
    assert_non_null(strstr(line, "\"record\":{\"text\":\"r0\"}")); /* decoded */
    assert_non_null(strstr(line, "\"time\":\"20"));
}

/* A table without segments (its directory left empty by an earlier run), whose first
 * records are committed before the spool thread ever looked at it (here: accepted before
 * zs_spool_start; in a station: the first request right after it):
 * they are read back from the new segment's first frame, not from its header (which was
 * taken for a corrupt segment, and the records for lost). */
static void test_first_records_of_a_new_table(void **state)
{
    (void)state;
    start_with(opts(), "main.s.new"); /* a run that left the table's directory, empty */
    assert_int_equal(stop(), 0);
    reset();
    struct zs_spool_opts o = opts();
    struct zs_err err;
    assert_rc(zs_spool_open(&o, &SP, &err), ZS_OK);
    int var = -1;
    assert_rc(zs_spool_table_add(SP, "main.s.new", 1, DESC, sizeof DESC, false, &T, &var, &err),
              ZS_OK);
    for (int i = 0; i < 3; i++)
        submit(i, false);
    assert_rc(zs_spool_start(SP, &err), ZS_OK);
    WAIT_FOR(answered(2) == 1);
    WAIT_FOR(sent_count() == 3);
    for (int i = 0; i < 3; i++) {
        char want[8];
        snprintf(want, sizeof want, "r%d", i);
        assert_int_equal(K.s[i].seq, (uint64_t)i + 1);
        assert_memory_equal(K.s[i].data, want, 2);
    }
    assert_int_equal(count_files("corrupt", ""), 0);
    assert_int_equal(stop(), 0);
}

static void test_behind_reads_back_from_disk(void **state)
{
    (void)state;
    start();
    K.window = 3; /* the sink takes 3 at a time */
    for (int i = 0; i < 10; i++)
        submit(i, false);
    WAIT_FOR(answered(9) == 1); /* all 202: the spool holds what the sink cannot take */
    WAIT_FOR(sent_count() == 3);
    for (int round = 0; sent_count() < 10 && round < 10; round++) {
        int n = sent_count();
        for (int i = 0; i < n; i++)
            if (!K.s[i].completed)
                complete(i, ZS_OK, NULL);
        WAIT_FOR(sent_count() > n || sent_count() == 10);
    }
    for (int i = 0; i < 10; i++)
        assert_int_equal(K.s[i].seq, (uint64_t)i + 1); /* in order, nothing skipped */
    stop();
}

static void test_bounds(void **state)
{
    (void)state;
    struct zs_spool_opts o = opts();
    o.max_bytes = 300;
    start_with(o, "main.s.t");
    uint64_t seq;
    zs_rc rc = ZS_OK;
    int i = 0;
    for (; i < 100 && rc == ZS_OK; i++) {
        rc = zs_spool_submit(T, 0, "0123456789", 10, false, on_answer, &A[i], &seq);
        if (rc == ZS_OK)
            WAIT_FOR(answered(i) == 1);
    }
    assert_rc(rc, ZS_EUNAVAIL); /* the spool is full: 503 */
    ack_all();
    WAIT_FOR(zs_spool_submit(T, 0, "x", 1, false, on_answer, &A[200], &seq) == ZS_OK);
    stop();
    o = opts();
    o.max_pending_bytes = 64;
    start_with(o, "main.s.t");
    rc = ZS_OK;
    for (i = 0; i < 1000 && rc == ZS_OK; i++)
        rc = zs_spool_submit(T, 0, "0123456789abcdef0123456789abcdef", 32, false, on_answer, &A[i],
                             &seq);
    assert_rc(rc, ZS_EAGAIN); /* faster than the disk: 429 */
    stop();
}

static void test_enospc_then_space_returns(void **state)
{
    (void)state;
    struct zs_fake_fs *fs = zs_fake_fs_create();
    struct zs_spool_opts o = opts();
    o.fs = zs_fake_fs_ops(fs);
    start_with(o, "main.s.t");
    submit(0, false);
    WAIT_FOR(answered(0) == 1);
    zs_fake_fs_full(fs, ENOSPC);
    submit(1, false);
    WAIT_FOR(answered(1) == 1);
    assert_rc(A[1].rc, ZS_ENOSPC); /* 503 for that group */
    zs_fake_fs_full(fs, 0);
    submit(2, false);
    WAIT_FOR(answered(2) == 1);
    assert_rc(A[2].rc, ZS_OK);
    assert_int_equal(A[2].seq, 2); /* the failed group took no number */
    zs_fake_fs_fail_sync(fs, 1, EIO);
    submit(3, false);
    WAIT_FOR(answered(3) == 1);
    assert_rc(A[3].rc, ZS_EIO); /* the sync failed: 503, the record stays spooled */
    submit(4, false);
    WAIT_FOR(answered(4) == 1);
    assert_rc(A[4].rc, ZS_OK); /* on a new segment */
    struct zs_spool_table_state st;
    zs_spool_table_state(T, &st);
    assert_int_equal(st.commit_failures, 2);
    WAIT_FOR(sent_count() == 4); /* r0, r2, r3 (spooled anyway), r4 */
    stop_unacked();
    start(); /* a consistent spool: the same four, in order, nothing torn */
    WAIT_FOR(sent_count() == 4);
    assert_memory_equal(K.s[0].data, "r0", 2);
    assert_memory_equal(K.s[1].data, "r2", 2);
    assert_memory_equal(K.s[2].data, "r3", 2);
    assert_memory_equal(K.s[3].data, "r4", 2);
    stop();
    zs_fake_fs_destroy(fs);
}

/* Power cut: every record whose 202 was sent survives; the torn tail is rejected. */
static void power_cut(enum zs_spool_sync sync)
{
    struct zs_fake_fs *fs = zs_fake_fs_create();
    struct zs_spool_opts o = opts();
    o.fs = zs_fake_fs_ops(fs);
    o.sync = sync;
    o.segment_bytes = 4096;
    o.sync_interval_ms = 1000000; /* interval mode: no sync before the cut */
    start_with(o, "main.s.t");
    int n = 300;
    for (int i = 0; i < n; i++)
        submit(i, false);
    WAIT_FOR(answered(n - 1) == 1);
    for (int i = 0; i < 50; i++) /* a few more, racing with the cut */
        submit(n + i, false);
    zs_fake_fs_cut(fs); /* the power goes: nothing after this reaches the disk */
    stop_unacked();
    zs_fake_fs_restore(fs);
    zs_fake_fs_destroy(fs);
    start(); /* the real file system, after the reboot */
    if (sync == ZS_SPOOL_SYNC_COMMIT) {
        WAIT_FOR(sent_count() >= n);
        int have[400] = {0};
        for (int i = 0; i < sent_count(); i++) {
            int k = atoi(K.s[i].data + 1);
            assert_true(k >= 0 && k < n + 50);
            have[k]++;
            assert_int_equal(K.s[i].seq, (uint64_t)i + 1); /* no hole, no repeat */
        }
        for (int i = 0; i < n + 50; i++)
            if (answered(i) && A[i].rc == ZS_OK)
                assert_int_equal(have[i], 1); /* every 202 survived the cut */
    } else {
        /* interval mode promises a process crash, not a power cut: only what the syncs
         * covered (here: the segment headers) is there, and the spool is consistent. */
        usleep(100 * 1000);
        for (int i = 0; i < sent_count(); i++)
            assert_int_equal(K.s[i].seq, (uint64_t)i + 1);
    }
    stop();
}

static void test_power_cut_commit(void **state)
{
    (void)state;
    power_cut(ZS_SPOOL_SYNC_COMMIT);
}

static void test_power_cut_interval_stays_consistent(void **state)
{
    (void)state;
    power_cut(ZS_SPOOL_SYNC_INTERVAL);
}

static void test_memory_mode(void **state)
{
    (void)state;
    struct zs_spool_opts o = opts();
    o.mode = ZS_SPOOL_MEMORY;
    start_with(o, "main.s.t");
    uint64_t seq;
    assert_rc(zs_spool_submit(T, 0, "m0", 2, false, on_answer, &A[0], &seq), ZS_OK);
    assert_int_equal(seq, 1); /* accepted at once, no callback */
    assert_rc(zs_spool_submit(T, 0, "m1", 2, true, on_answer, &A[1], &seq), ZS_OK);
    assert_int_equal(seq, 0);
    assert_int_equal(sent_count(), 2);
    complete(1, ZS_OK, NULL);
    assert_int_equal(answered(1), 1);
    assert_int_equal(answered(0), 0);
    assert_int_equal(count_files("tables", ""), 0); /* nothing on disk */
    /* At shutdown the sink cancels what it holds: given up, dead-lettered, counted. */
    zs_spool_drain(SP);
    complete(0, ZS_ECANCELED, "the station is shutting down");
    assert_int_equal(zs_spool_destroy(SP), 1);
    SP = NULL;
    assert_int_equal(count_files("dead-letter", ".ndjson"), 1);
}

static void test_orphan_table_is_delivered(void **state)
{
    (void)state;
    start_with(opts(), "main.s.gone");
    submit(0, false);
    submit(1, false);
    WAIT_FOR(answered(1) == 1);
    stop_unacked();
    start_with(opts(), "main.s.t"); /* the configuration no longer has main.s.gone */
    WAIT_FOR(sent_count() == 2);
    assert_string_equal(K.s[0].table, "main.s.gone");
    assert_int_equal(K.s[0].desc_len, sizeof DESC); /* with the descriptor of its segment */
    assert_string_equal(zs_spool_table_name(zs_spool_table_at(SP, 0)), "main.s.t");
    assert_string_equal(zs_spool_table_name(zs_spool_table_at(SP, 1)), "main.s.gone");
    assert_null(zs_spool_table_at(SP, 2));
    stop();
}

/* Every record sent so far went with the descriptor it was encoded with: "n..." records with
 * DESC2 (5 bytes), the others with DESC (3); each kind in the order it was submitted. */
static void check_descriptors(int n)
{
    int last_r = -1, last_n = -1;
    pthread_mutex_lock(&K.lock);
    for (int i = 0; i < n; i++) {
        struct sent *x = &K.s[i];
        int is_n = x->data[0] == 'n';
        assert_int_equal(x->desc_len, is_n ? 5 : 3);
        int k = atoi(x->data + 1);
        if (x->data[0] == 'r') {
            assert_true(k > last_r);
            last_r = k;
        } else if (is_n) {
            assert_true(k > last_n);
            last_n = k;
        }
    }
    pthread_mutex_unlock(&K.lock);
}

static void submit_v(int variant, const char *rec, int a)
{
    uint64_t seq;
    assert_rc(zs_spool_submit(T, variant, rec, strlen(rec), false, on_answer, &A[a], &seq), ZS_OK);
}

/* A reload while the spool runs: a table gets a second schema (records of both, mixed in
 * one commit group, go to their own segments and are sent with their own descriptor) and
 * a new table starts; after a crash the segments replay with the right descriptors. */
static void test_schema_and_table_added_while_running(void **state)
{
    (void)state;
    static const uint8_t DESC2[] = {0x0a, 0x03, 'M', 'v', '2'};
    start();
    submit_v(0, "r0", 0);
    submit_v(0, "r1", 1);
    WAIT_FOR(answered(1) == 1);
    struct zs_err err;
    struct zs_spool_table *same = NULL, *fresh = NULL;
    int v = -1;
    assert_rc(zs_spool_table_add(SP, "main.s.t", 1, DESC2, sizeof DESC2, false, &same, &v, &err),
              ZS_OK);
    assert_ptr_equal(same, T);
    assert_int_equal(v, 1);
    uint64_t seq;
    assert_rc(zs_spool_submit(T, 2, "x", 1, false, on_answer, &A[9], &seq), ZS_EINVAL);
    /* old and new schema interleaved (workers switch at their next request) */
    submit_v(1, "n0", 2);
    submit_v(0, "r2", 3);
    submit_v(1, "n1", 4);
    submit_v(0, "r3", 5);
    assert_rc(zs_spool_table_add(SP, "main.s.new", 1, DESC, sizeof DESC, false, &fresh, &v, &err),
              ZS_OK);
    assert_ptr_not_equal(fresh, T);
    assert_int_equal(v, 0);
    assert_rc(zs_spool_submit(fresh, 0, "f0", 2, false, on_answer, &A[6], &seq), ZS_OK);
    WAIT_FOR(answered(2) && answered(3) && answered(4) && answered(5) && answered(6));
    WAIT_FOR(sent_count() == 7);
    check_descriptors(7);
    stop_unacked();
    /* the next run registers the first schema only: the segments bring the second */
    start_with(opts(), "main.s.t");
    WAIT_FOR(sent_count() == 7);
    check_descriptors(7);
    int fresh_sent = 0;
    for (int i = 0; i < 7; i++)
        fresh_sent += strcmp(K.s[i].table, "main.s.new") == 0;
    assert_int_equal(fresh_sent, 1);
    stop();
}

static void test_tools_status_and_dump(void **state)
{
    (void)state;
    start();
    for (int i = 0; i < 3; i++)
        submit(i, false);
    WAIT_FOR(sent_count() == 3);
    complete(0, ZS_OK, NULL);
    stop_unacked(); /* writes the last checkpoint */
    char buf[4096];
    FILE *out = fmemopen(buf, sizeof buf, "w");
    struct zs_err err;
    assert_rc(zs_spool_status(dir, out, &err), ZS_OK);
    fclose(out);
    assert_non_null(strstr(buf, "main.s.t"));
    assert_non_null(strstr(buf, " 2 ")); /* two pending */
    out = fmemopen(buf, sizeof buf, "w");
    assert_rc(zs_spool_dump(dir, "main.s.t", out, NULL, NULL, &err), ZS_OK);
    fclose(out);
    assert_null(strstr(buf, "\"seq\":1,"));
    assert_non_null(strstr(buf, "{\"seq\":2,\"record_base64\":\"cjE=\"}"));
    assert_non_null(strstr(buf, "{\"seq\":3,\"record_base64\":\"cjI=\"}"));
    assert_rc(zs_spool_dump(dir, "main.s.none", stdout, NULL, NULL, &err), ZS_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_vectors),
        cmocka_unit_test(test_header_and_frames),
        cmocka_unit_test(test_names),
        cmocka_unit_test_setup_teardown(test_commit_then_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_for_ack_and_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_after_a_rejection_is_not_200, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upstream_failing_answers_waiters_503, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_replays_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segments_rotate_and_are_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_truncated_and_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_middle_segment_moved_aside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_refuses_a_second_station, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_dir_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejected_record_is_dead_lettered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_records_of_a_new_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_behind_reads_back_from_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enospc_then_space_returns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_power_cut_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_power_cut_interval_stays_consistent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orphan_table_is_delivered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_and_table_added_while_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tools_status_and_dump, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
