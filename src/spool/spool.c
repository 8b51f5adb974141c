/*
 * The spool (zs_spool.h, docs/SPOOL.md): tables, group commit, delivery to the sink,
 * the acknowledgement frontier, waiters, checkpoints, segment deletion, dead letters.
 *
 * Threads and locks:
 *   t->lock      appends from any thread: the pending frame buffer and its commit list
 *   t->ack_lock  the frontier (acknowledged prefix), the ack ring, ack/flush waiters;
 *                taken by the sink's completion thread, the spool thread and submitters
 *   sp->lock     the spool thread's wake-up (condition variable) and the dead-letter queue
 * The spool thread alone owns segments, file descriptors and the delivery cursor.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/zs_clock.h"
#include "core/zs_log.h"
#include "core/zs_mem.h"
#include "spool/spool_int.h"
#include "spool/zs_spool.h"

#define TICK_MS 20            /* the spool thread's period when nothing wakes it */
#define CKPT_EVERY_MS 20      /* checkpoint at most this often (a 20-byte pwrite, no sync) */
#define READ_CHUNK (1u << 20) /* reads behind the in-memory path */

enum cw_kind { CW_COMMIT, CW_ACK, CW_FLUSH };

/* A submitter waiting for its record's commit, ack, or a flush (in the pending list). */
struct cwait {
    enum cw_kind kind;
    zs_spool_done_fn fn;
    void *ctx;
    uint32_t timeout_ms;            /* a flush's own deadline */
    struct zs_spool_counts *counts; /* a flush's or a batch's counts, filled before fn */
    uint32_t nrec;                  /* records it stands for: 1, a batch's n, 0 for a flush */
    int var;                        /* the variant its records were encoded with (-1: a flush) */
    size_t bytes;                   /* their framed bytes in the pending buffer */
};

/* A request waiting for the frontier to reach seq. */
struct waiter {
    uint64_t seq;
    uint64_t from;   /* a flush: the flush mark when it came; a batch: before its first */
    uint64_t failed; /* records of (from, seq] that were dead-lettered */
    long long deadline_ms;
    int is_flush;
    int is_range; /* a batch's: every record of (from, seq] done, failures counted */
    zs_spool_done_fn fn;
    void *ctx;
    struct zs_spool_counts *counts; /* a flush's or a batch's, or NULL */
    struct waiter *next;
};

/* Which records are done, from the frontier up: a growable ring of flags. */
struct ackring {
    uint8_t *v;
    size_t head, cap; /* cap: a power of two, or 0 */
    uint64_t base;    /* seq of v[head] = frontier + 1 */
};

/* A descriptor records were encoded with, and the sink's table for it. */
struct variant {
    int record_type;
    uint8_t *desc;
    size_t desc_len;
    void *_Atomic sink_table; /* NULL until the sink has it (a reload adds it while others read) */
};

struct seg {
    uint64_t first_seq, end_seq; /* [first, end) */
    uint64_t size;               /* bytes, header included */
    size_t hdr_len;
    long long created_ms;
    int variant;
    int corrupt; /* a bad frame was met: moved aside, not deleted, once done */
    char name[32];
};

/* Per-millisecond commit times, to tell the age of the oldest pending record. */
struct agemark {
    uint64_t end_seq; /* records < end_seq were accepted at or before ms */
    long long ms;
};

struct zs_spool_table {
    struct zs_spool *sp;
    char *name;
    char *dir; /* DIR/tables/<enc> (disk mode) */
    /* Descriptors (ZS_SPOOL_MAX_VARIANTS slots, never moved): filled, then counted in
     * nvars, so any thread may read vars[i] for i < nvars. */
    struct variant *vars;
    atomic_size_t nvars;

    pthread_mutex_t lock; /* --- appends */
    struct zs_buf pend;   /* framed records waiting for the spool thread */
    struct cwait *cw;
    size_t ncw, cwcap;
    atomic_ullong pend_bytes_total; /* pend.len, readable without the lock */

    /* --- spool thread */
    struct seg *segs;
    size_t nsegs, segcap;
    int wfd, rfd;      /* the last segment's fd (append), the reader's fd */
    size_t rfd_seg;    /* which segment rfd is */
    uint64_t next_seq; /* disk: the next seq to write; memory: atomic below */
    uint64_t deliver_seq, deliver_off;
    size_t deliver_seg;
    int behind; /* the in-memory path stopped: read from disk */
    uint64_t ckpt_written;
    long long ckpt_ms;
    int ckpt_fd;
    struct zs_buf wbuf, rbuf;
    struct cwait *wcw;
    size_t wcwcap;
    long long last_sync_ms;
    int unsynced;

    pthread_mutex_t ack_lock; /* --- acknowledgements */
    struct ackring ring;
    uint64_t frontier;
    /* Flushes cover the records since the last flush that saw all of its records done
     * (flush_mark); the records above it that were rejected, for their counts. */
    uint64_t flush_mark;
    uint64_t *failed_seqs, failed_overflow;
    size_t nfailed, failedcap;
    struct waiter *waiters, **waiters_tail;
    struct agemark *ages;
    size_t nages, agecap, agehead;

    atomic_ullong accepted, disk_bytes, replayed, dead, given_up, commit_failures;
    atomic_ullong syncs, groups; /* fdatasync calls on segments; commit groups written */
    atomic_ullong mem_seq, nsegs_pub;
    atomic_llong oldest_start_ms; /* disk mode at start: creation of the oldest segment */
    atomic_int kick_when_acked;
    atomic_int sync_failed; /* the sync thread failed a sync of wfd: start a new segment */
    atomic_int pend_urgent; /* a pending record is waited for (or a flush): write it now */
};

/* A 202 owed once the sync covering its record completes. */
struct cdone {
    zs_spool_done_fn fn;
    void *ctx;
    uint64_t seq;
};

/* The sync thread's work: sync fd, then answer done[0..n). */
struct syncreq {
    struct zs_spool_table *t;
    int fd;
    struct cdone *done;
    size_t n;
    struct syncreq *next;
};

struct deadletter {
    char *table;
    uint64_t seq;
    uint8_t *rec;
    size_t len;
    int json;
    zs_rc rc;
    char reason[256];
    long long wall_ms;
    struct deadletter *next;
};

struct zs_spool {
    struct zs_spool_opts o;
    const struct zs_fs_ops *fs;
    char *dir;
    int lock_fd;
    /* ZS_SPOOL_MAX_TABLES slots, never moved: a table is whole before ntables counts it
     * (tables are added while the spool thread runs: a reload). */
    struct zs_spool_table **tables;
    atomic_size_t ntables;
    pthread_t thread;
    int thread_running;
    pthread_mutex_t lock;
    pthread_cond_t cond, drained_cond;
    atomic_int kick;
    atomic_int stopping; /* 1: no new work; 2: thread exits */
    int quiesced;        /* spool thread: drained; the sink is not called any more */
    int drain_req, drain_done;
    struct deadletter *dl, **dl_tail;
    char dl_dir[4096];
    /* The sync thread (commit mode): fdatasync off the spool thread, then the 202s. */
    pthread_t sync_thread;
    int sync_running;
    pthread_mutex_t sync_lock;
    pthread_cond_t sync_cond, sync_idle;
    struct syncreq *sync_q, **sync_tail;
    int sync_busy, sync_stop;
    atomic_int sync_active; /* a sync is queued or running: async submits need not kick */
};

static long long now_ms(void)
{
    return zs_mono_ms();
}

static void path_join(char *out, size_t cap, const char *a, const char *b)
{
    snprintf(out, cap, "%s/%s", a, b);
}

/* ---------------------------------------------------------------- ack ring */

/* Make room for seq (>= base). 0 ok, -1 ENOMEM. */
static int ring_reserve(struct ackring *r, uint64_t seq)
{
    uint64_t need = seq - r->base + 1;
    if (need <= r->cap)
        return 0;
    size_t cap = r->cap ? r->cap : 1024;
    while (cap < need)
        cap *= 2;
    uint8_t *v = zs_calloc(cap, 1);
    if (v == NULL)
        return -1;
    for (size_t i = 0; i < r->cap; i++)
        v[i] = r->v[(r->head + i) & (r->cap - 1)];
    zs_free(r->v);
    r->v = v;
    r->cap = cap;
    r->head = 0;
    return 0;
}

/* Mark seq done; returns how far the frontier moved. Under ack_lock. */
static uint64_t ring_mark(struct zs_spool_table *t, uint64_t seq)
{
    struct ackring *r = &t->ring;
    if (seq < r->base)
        return 0;
    if (ring_reserve(r, seq) != 0) {
        /* No memory to note it out of order: the frontier stays, so the checkpoint does
         * too, and a restart replays from there (at-least-once, never a loss). */
        if (seq != r->base || r->cap > 0)
            return 0;
        r->base++; /* no ring at all, and the frontier's own record: it just moves */
        t->frontier = r->base - 1;
        return 1;
    }
    r->v[(r->head + (seq - r->base)) & (r->cap - 1)] = 1;
    uint64_t moved = 0;
    while (r->v[r->head]) {
        r->v[r->head] = 0;
        r->head = (r->head + 1) & (r->cap - 1);
        r->base++;
        moved++;
    }
    t->frontier = r->base - 1;
    return moved;
}

/* ---------------------------------------------------------------- waiters */

/* Under ack_lock. A flush covers (flush_mark, seq]. */
static struct waiter *waiter_add(struct zs_spool_table *t, uint64_t seq, int is_flush,
                                 uint32_t timeout_ms, zs_spool_done_fn fn, void *ctx)
{
    struct waiter *w = zs_xcalloc(1, sizeof *w);
    *w = (struct waiter){.seq = seq,
                         .from = t->frontier,
                         .is_flush = is_flush,
                         .deadline_ms = now_ms() + timeout_ms,
                         .fn = fn,
                         .ctx = ctx};
    if (is_flush)
        w->from = t->flush_mark < seq ? t->flush_mark : seq;
    *t->waiters_tail = w;
    t->waiters_tail = &w->next;
    return w;
}

/* Under ack_lock: somebody waits for the ack of records first..first+n-1 (a record, or a
 * batch: then once all are done, with their counts). */
static void waiter_add_records(struct zs_spool_table *t, uint64_t first, uint32_t n,
                               zs_spool_done_fn fn, void *ctx, struct zs_spool_counts *counts)
{
    struct waiter *w = waiter_add(t, first + n - 1, 0, t->sp->o.wait_timeout_ms, fn, ctx);
    if (n > 1 || counts != NULL) {
        w->is_range = 1;
        w->from = first - 1;
        w->counts = counts;
    }
}

/* Failed records a flush may still have to report: above the mark, at most this many
 * (beyond, or out of memory, they are only counted, and every flush until a complete one
 * reports them). */
#define FAILED_SEQS_MAX 65536

/* Under ack_lock: a record was rejected for good. */
static void failed_note(struct zs_spool_table *t, uint64_t seq)
{
    if (seq <= t->flush_mark)
        return;
    if (t->nfailed == t->failedcap) {
        size_t cap = t->failedcap ? 2 * t->failedcap : 16;
        uint64_t *v = cap <= FAILED_SEQS_MAX ? zs_realloc(t->failed_seqs, cap * sizeof *v) : NULL;
        if (v == NULL) { /* counted, not placed: every flush reports it until a complete one */
            t->failed_overflow++;
            return;
        }
        t->failed_seqs = v;
        t->failedcap = cap;
    }
    t->failed_seqs[t->nfailed++] = seq;
}

/*
 * Under ack_lock, as flush w is answered: count the rejected records it covered; when all
 * of its records are done, the next flush starts after it (its failures were told once).
 */
static void flush_settle(struct zs_spool_table *t, struct waiter *w)
{
    w->failed = t->failed_overflow;
    for (size_t i = 0; i < t->nfailed; i++)
        w->failed += t->failed_seqs[i] > w->from && t->failed_seqs[i] <= w->seq;
    if (t->frontier < w->seq || w->seq <= t->flush_mark)
        return;
    t->flush_mark = w->seq;
    t->failed_overflow = 0;
    size_t k = 0;
    for (size_t i = 0; i < t->nfailed; i++)
        if (t->failed_seqs[i] > t->flush_mark)
            t->failed_seqs[k++] = t->failed_seqs[i];
    t->nfailed = k;
}

/* Answer waiters the frontier reached (or, with rc != ZS_OK, those matching pick).
 * Takes them out under ack_lock, calls them outside it. */
static void waiters_call_at(struct waiter *list, zs_rc rc, const char *reason, bool retryable,
                            uint64_t frontier);

static void waiters_answer(struct zs_spool_table *t, int (*pick)(struct waiter *, void *),
                           void *arg, zs_rc rc, const char *reason, bool retryable)
{
    struct waiter *done = NULL, **dt = &done;
    pthread_mutex_lock(&t->ack_lock);
    for (struct waiter **pp = &t->waiters; *pp != NULL;) {
        struct waiter *w = *pp;
        if (pick(w, arg)) {
            *pp = w->next;
            w->next = NULL;
            *dt = w;
            dt = &w->next;
            if (w->is_flush)
                flush_settle(t, w);
        } else {
            pp = &w->next;
        }
    }
    t->waiters_tail = &t->waiters;
    while (*t->waiters_tail != NULL)
        t->waiters_tail = &(*t->waiters_tail)->next;
    uint64_t frontier = t->frontier;
    pthread_mutex_unlock(&t->ack_lock);
    waiters_call_at(done, rc, reason, retryable, frontier);
}

/*
 * The waiters a completion of seq answers, taken out under ack_lock (held by the caller):
 * every waiter the frontier reached, and the record waiter of seq itself (its own ack may
 * come before the frontier's, with several streams). The list is in seq order, so both
 * walks stop early. Returns the taken list; call waiters_call outside the lock.
 */
static struct waiter *waiters_take(struct zs_spool_table *t, uint64_t seq, int reached_too)
{
    struct waiter *done = NULL, **dt = &done;
    struct waiter **pp = &t->waiters;
    while (*pp != NULL && (*pp)->seq <= seq) {
        struct waiter *w = *pp;
        if ((reached_too && w->seq <= t->frontier) ||
            (!w->is_flush && !w->is_range && w->seq == seq)) {
            *pp = w->next;
            w->next = NULL;
            *dt = w;
            dt = &w->next;
            if (w->is_flush)
                flush_settle(t, w);
        } else {
            pp = &w->next;
        }
    }
    if (*pp == NULL) { /* the tail may have been taken */
        t->waiters_tail = &t->waiters;
        while (*t->waiters_tail != NULL)
            t->waiters_tail = &(*t->waiters_tail)->next;
    }
    return done;
}

static void waiters_call_at(struct waiter *list, zs_rc rc, const char *reason, bool retryable,
                            uint64_t frontier)
{
    while (list != NULL) {
        struct waiter *w = list;
        list = w->next;
        int counted = w->is_flush || w->is_range;
        if (counted && w->counts != NULL) {
            /* Done: every record the flush covered when it is answered ZS_OK. */
            uint64_t n = w->seq > w->from ? w->seq - w->from : 0,
                     end = rc == ZS_OK ? w->seq : frontier;
            uint64_t done = end > w->from ? (end < w->seq ? end : w->seq) - w->from : 0;
            uint64_t failed = w->failed < done ? w->failed : done;
            *w->counts = (struct zs_spool_counts){.known = true,
                                                  .records = n,
                                                  .acknowledged = done - failed,
                                                  .failed = failed,
                                                  .pending = n - done};
        }
        if (rc != ZS_OK && counted) {
            /* The counts of what the flush or batch covered, beside the reason. */
            char why[400];
            uint64_t n = w->seq > w->from ? w->seq - w->from : 0;
            uint64_t done =
                frontier > w->from ? (frontier < w->seq ? frontier : w->seq) - w->from : 0;
            uint64_t pending = n - done, acked = done > w->failed ? done - w->failed : 0;
            snprintf(why, sizeof why,
                     "%s (of %llu records: %llu acknowledged, %llu rejected, "
                     "%llu pending)",
                     reason ? reason : "flush failed", (unsigned long long)n,
                     (unsigned long long)acked, (unsigned long long)w->failed,
                     (unsigned long long)pending);
            w->fn(w->ctx, rc, w->seq, why, retryable);
        } else if (rc == ZS_OK && counted && w->failed > 0) {
            /* Honest: a flush or batch whose records were not all acknowledged is not a 200. */
            char why[200];
            uint64_t n = w->seq > w->from ? w->seq - w->from : w->failed;
            snprintf(why, sizeof why,
                     "%llu of the %llu records were rejected by Zerobus "
                     "(dead-lettered); %llu acknowledged",
                     (unsigned long long)w->failed, (unsigned long long)n,
                     (unsigned long long)(n - w->failed));
            w->fn(w->ctx, ZS_EAUTH, w->seq, why, false);
        } else {
            w->fn(w->ctx, rc, w->seq, reason, retryable);
        }
        free(w);
    }
}

static void waiters_call(struct waiter *list, zs_rc rc, const char *reason, bool retryable)
{
    waiters_call_at(list, rc, reason, retryable, 0);
}

static int pick_expired_rec(struct waiter *w, void *arg)
{
    return !w->is_flush && w->deadline_ms <= *(const long long *)arg;
}

static int pick_expired_flush(struct waiter *w, void *arg)
{
    return w->is_flush && w->deadline_ms <= *(const long long *)arg;
}

static int pick_all(struct waiter *w, void *arg)
{
    (void)w;
    (void)arg;
    return 1;
}

/* ---------------------------------------------------------------- ages */

static void age_push(struct zs_spool_table *t, uint64_t end_seq, long long ms)
{
    if (t->nages > 0) {
        struct agemark *last = &t->ages[(t->agehead + t->nages - 1) % t->agecap];
        if (last->ms / 10 == ms / 10) { /* one mark per 10 ms is precise enough */
            last->end_seq = end_seq;
            return;
        }
    }
    if (t->nages == t->agecap) {
        size_t cap = t->agecap ? t->agecap * 2 : 64;
        struct agemark *v = zs_alloc(cap * sizeof *v);
        if (v == NULL)
            return; /* the age reads a little young; nothing else depends on it */
        for (size_t i = 0; i < t->nages; i++)
            v[i] = t->ages[(t->agehead + i) % t->agecap];
        zs_free(t->ages);
        t->ages = v;
        t->agecap = cap;
        t->agehead = 0;
    }
    t->ages[(t->agehead + t->nages) % t->agecap] = (struct agemark){end_seq, ms};
    t->nages++;
}

/* Drop marks the frontier passed. Under ack_lock. */
static void age_trim(struct zs_spool_table *t)
{
    while (t->nages > 0 && t->ages[t->agehead].end_seq <= t->frontier + 1) {
        t->agehead = (t->agehead + 1) % t->agecap;
        t->nages--;
    }
}

/* ---------------------------------------------------------------- dead letters */

static void deadletter_queue(struct zs_spool_table *t, uint64_t seq, const void *rec, size_t len,
                             zs_rc rc, const char *reason)
{
    struct zs_spool *sp = t->sp;
    struct deadletter *d = zs_xcalloc(1, sizeof *d);
    d->table = zs_xstrdup(t->name);
    d->seq = seq;
    d->rec = zs_alloc(len ? len : 1);
    if (d->rec != NULL && len > 0)
        memcpy(d->rec, rec, len);
    d->len = d->rec != NULL ? len : 0;
    d->json = t->vars[0].record_type == 2;
    d->rc = rc;
    snprintf(d->reason, sizeof d->reason, "%s", reason ? reason : zs_rc_str(rc));
    d->wall_ms = zs_wall_ms();
    pthread_mutex_lock(&sp->lock);
    *sp->dl_tail = d;
    sp->dl_tail = &d->next;
    pthread_mutex_unlock(&sp->lock);
    atomic_store(&sp->kick, 1);
}

/* One dead letter as a JSON line (docs/SPOOL.md). */
static zs_rc deadletter_line(const struct deadletter *d, zs_spool_decode_fn decode,
                             const void *decode_ctx, struct zs_buf *b)
{
    time_t secs = (time_t)(d->wall_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char ts[40];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    zs_rc rc = zs_buf_printf(b, "{\"time\":\"%s.%03dZ\",\"table\":", ts, (int)(d->wall_ms % 1000));
    if (rc != ZS_OK)
        return rc;
    if ((rc = zs_buf_json_str(b, d->table, strlen(d->table))) != ZS_OK)
        return rc;
    rc = zs_buf_printf(b, ",\"seq\":%" PRIu64 ",\"status\":\"%s\",\"message\":", d->seq,
                       zs_rc_str(d->rc));
    if (rc != ZS_OK)
        return rc;
    if ((rc = zs_buf_json_str(b, d->reason, strlen(d->reason))) != ZS_OK)
        return rc;
    if (d->json) { /* the record is JSON text already */
        rc = zs_buf_puts(b, ",\"record\":") == ZS_OK ? zs_buf_append(b, d->rec, d->len) : ZS_ENOMEM;
    } else if (decode != NULL) {
        size_t mark = b->len;
        if (zs_buf_puts(b, ",\"record\":") != ZS_OK ||
            decode(decode_ctx, d->table, d->rec, d->len, b) != ZS_OK)
            b->len = mark; /* not decodable: base64 only */
    }
    if (rc == ZS_OK)
        rc = zs_buf_puts(b, ",\"record_base64\":\"");
    if (rc == ZS_OK)
        rc = zs_buf_base64(b, d->rec, d->len);
    if (rc == ZS_OK)
        rc = zs_buf_puts(b, "\"}\n");
    return rc;
}

/* Spool thread (and destroy): append queued dead letters to dead-letter/<table>.ndjson. */
static void deadletters_write(struct zs_spool *sp)
{
    pthread_mutex_lock(&sp->lock);
    struct deadletter *list = sp->dl;
    sp->dl = NULL;
    sp->dl_tail = &sp->dl;
    pthread_mutex_unlock(&sp->lock);
    if (list == NULL)
        return;
    if (mkdir(sp->o.dir, 0755) != 0 && errno != EEXIST)
        zs_log(ZS_LOG_ERROR, "spool",
               "msg=\"cannot create the spool directory\" dir=%s error=\"%s\"", sp->o.dir,
               strerror(errno));
    if (mkdir(sp->dl_dir, 0755) != 0 && errno != EEXIST)
        zs_log(ZS_LOG_ERROR, "spool",
               "msg=\"cannot create dead-letter directory\" dir=%s error=\"%s\"", sp->dl_dir,
               strerror(errno));
    struct zs_buf line;
    zs_buf_init(&line, (size_t)64 << 20);
    while (list != NULL) {
        struct deadletter *d = list;
        list = d->next;
        char name[600], path[4800];
        zs_spool_table_dirname(d->table, name, sizeof name);
        snprintf(path, sizeof path, "%s/%s.ndjson", sp->dl_dir, name);
        line.len = 0;
        int fd = -1;
        if (deadletter_line(d, sp->o.decode, sp->o.decode_ctx, &line) == ZS_OK &&
            (fd = sp->fs->open(sp->fs->ctx, path, O_WRONLY | O_CREAT | O_APPEND, 0644)) >= 0 &&
            zs_fs_pwrite_all(sp->fs, fd, line.data, line.len, 0) == 0 &&
            sp->fs->fdatasync(sp->fs->ctx, fd) == 0) {
            zs_log(ZS_LOG_WARN, "spool",
                   "msg=\"record dead-lettered\" table=%s seq=%" PRIu64
                   " status=%s reason=\"%s\" file=%s",
                   d->table, d->seq, zs_rc_str(d->rc), d->reason, path);
        } else {
            zs_log(ZS_LOG_ERROR, "spool",
                   "msg=\"cannot write a dead letter\" table=%s seq=%" PRIu64 " file=%s", d->table,
                   d->seq, path);
        }
        if (fd >= 0)
            sp->fs->close(sp->fs->ctx, fd);
        free(d->table);
        zs_free(d->rec);
        free(d);
    }
    zs_buf_release(&line);
}

/* ---------------------------------------------------------------- sink completions */

static void kick(struct zs_spool *sp)
{
    if (atomic_exchange(&sp->kick, 1) == 0) {
        pthread_mutex_lock(&sp->lock);
        pthread_cond_signal(&sp->cond);
        pthread_mutex_unlock(&sp->lock);
    }
}

/* Sink thread: one record is done (acknowledged, rejected, or cancelled at shutdown). */
static void on_sink_done(void *ctx, uint64_t seq, const void *rec, size_t len, zs_rc rc,
                         const char *reason, bool retryable)
{
    struct zs_spool_table *t = ctx;
    struct zs_spool *sp = t->sp;
    (void)retryable;
    if (rc == ZS_ECANCELED && sp->o.mode == ZS_SPOOL_DISK)
        return; /* still spooled: the next start delivers it */
    if (rc != ZS_OK) {
        deadletter_queue(t, seq, rec, len, rc, reason);
        atomic_fetch_add(rc == ZS_ECANCELED ? &t->given_up : &t->dead, 1);
    }
    pthread_mutex_lock(&t->ack_lock);
    struct waiter *failed = rc != ZS_OK ? waiters_take(t, seq, 0) : NULL;
    if (rc != ZS_OK) { /* flushes and batches that cover it will not answer 200 */
        failed_note(t, seq);
        for (struct waiter *w = t->waiters; w != NULL; w = w->next)
            if (w->is_range && w->from < seq && seq <= w->seq)
                w->failed++;
    }
    uint64_t moved = ring_mark(t, seq);
    if (moved)
        age_trim(t);
    uint64_t lim = seq > t->frontier ? seq : t->frontier;
    struct waiter *done =
        t->waiters != NULL && t->waiters->seq <= lim ? waiters_take(t, lim, 1) : NULL;
    pthread_mutex_unlock(&t->ack_lock);
    waiters_call(failed, rc, reason, false);
    waiters_call(done, ZS_OK, NULL, false);
    if (moved && atomic_load(&t->kick_when_acked))
        kick(sp);
}

/* ---------------------------------------------------------------- segments */

static int seg_push(struct zs_spool_table *t, const struct seg *s)
{
    void *grown = zs_grow(t->segs, &t->segcap, t->nsegs, sizeof *t->segs, 8);
    if (grown == NULL)
        return -1;
    t->segs = grown;
    t->segs[t->nsegs++] = *s;
    atomic_store(&t->nsegs_pub, t->nsegs);
    return 0;
}

static void close_wfd(struct zs_spool_table *t);

/* Start a new segment for the current descriptor at next_seq. ZS_OK or ZS_EIO/ZS_ENOSPC. */
static zs_rc seg_create(struct zs_spool_table *t, int var)
{
    struct zs_spool *sp = t->sp;
    const struct zs_fs_ops *fs = sp->fs;
    struct seg s = {.first_seq = t->next_seq,
                    .end_seq = t->next_seq,
                    .created_ms = zs_wall_ms(),
                    .variant = var};
    zs_seg_name(s.name, s.first_seq);
    char path[4200];
    path_join(path, sizeof path, t->dir, s.name);
    struct zs_buf h;
    zs_buf_init(&h, ZS_SEG_MAX_DESC + 4096);
    struct zs_seg_header hd = {.first_seq = s.first_seq,
                               .created_ms = (uint64_t)s.created_ms,
                               .record_type = (uint32_t)t->vars[var].record_type,
                               .table = t->name,
                               .table_len = strlen(t->name),
                               .desc = t->vars[var].desc,
                               .desc_len = t->vars[var].desc_len};
    zs_rc rc = zs_seg_header_encode(&hd, &h);
    int fd = rc == ZS_OK ? fs->open(fs->ctx, path, O_RDWR | O_CREAT | O_TRUNC, 0644) : -EINVAL;
    int w = fd >= 0 ? zs_fs_pwrite_all(fs, fd, h.data, h.len, 0) : fd;
    if (w == 0 && sp->o.sync == ZS_SPOOL_SYNC_COMMIT)
        w = fs->fdatasync(fs->ctx, fd);
    if (w != 0) {
        zs_log(ZS_LOG_ERROR, "spool", "msg=\"cannot create a segment\" file=%s error=\"%s\"", path,
               strerror(-w));
        if (fd >= 0) {
            fs->close(fs->ctx, fd);
            fs->unlink(fs->ctx, path);
        }
        zs_buf_release(&h);
        return w == -ENOSPC ? ZS_ENOSPC : ZS_EIO;
    }
    s.size = s.hdr_len = h.len;
    zs_buf_release(&h);
    /* The table's first segment: the delivery cursor (segs[0], deliver_seq == first_seq)
     * starts at its first frame. position_cursor had no segment to place it in, and the
     * in-memory path does not set it while the table is behind (after recovery). */
    if (t->nsegs == 0)
        t->deliver_off = s.hdr_len;
    if (seg_push(t, &s) != 0) {
        fs->close(fs->ctx, fd);
        fs->unlink(fs->ctx, path);
        return ZS_ENOMEM;
    }
    close_wfd(t);
    t->wfd = fd;
    atomic_fetch_add(&t->disk_bytes, s.size);
    return ZS_OK;
}

/* ---------------------------------------------------------------- delivery */

/* Hand records of seg[t->deliver_seg] from buf (frames, starting at the cursor) to the
 * sink until it is full. waited: somebody waits for an ack of this group (the sink sends
 * it without lingering). Returns bytes consumed. Spool thread. */
static size_t deliver_frames(struct zs_spool_table *t, const uint8_t *buf, size_t n, bool waited)
{
    struct zs_spool *sp = t->sp;
    struct seg *s = &t->segs[t->deliver_seg];
    void *st = t->vars[s->variant].sink_table;
    size_t off = 0;
    while (t->deliver_seq < s->end_seq) {
        struct zs_slice rec;
        size_t o = off;
        zs_rc rc = zs_seg_next(buf, n, &o, &rec);
        if (rc == ZS_EAGAIN || rc == ZS_ENOTFOUND)
            break;
        if (rc != ZS_OK)
            return SIZE_MAX; /* corrupt: the caller moves the segment aside */
        rc = sp->o.sink->submit(sp->o.sink_ctx, st, rec.ptr, rec.len, waited, t->deliver_seq,
                                on_sink_done, t);
        if (rc == ZS_EAGAIN || rc == ZS_ECANCELED) {
            t->behind = 1;
            break;
        }
        if (rc != ZS_OK) /* too large or no memory: a dead letter, not a stall */
            on_sink_done(t, t->deliver_seq, rec.ptr, rec.len, rc, "cannot queue the record", false);
        off = o;
        t->deliver_seq++;
        t->deliver_off += ZS_SEG_FRAME + rec.len;
    }
    return off;
}

/* Mark [from, to) done without sending (records lost to corruption), logged by caller. */
static void mark_range(struct zs_spool_table *t, uint64_t from, uint64_t to)
{
    for (uint64_t q = from; q < to; q++) {
        pthread_mutex_lock(&t->ack_lock);
        ring_mark(t, q);
        pthread_mutex_unlock(&t->ack_lock);
    }
}

static void reader_close(struct zs_spool_table *t)
{
    if (t->rfd >= 0)
        t->sp->fs->close(t->sp->fs->ctx, t->rfd);
    t->rfd = -1;
}

/* Read behind: deliver committed records from the files. Spool thread. */
static void deliver_from_disk(struct zs_spool_table *t)
{
    struct zs_spool *sp = t->sp;
    const struct zs_fs_ops *fs = sp->fs;
    t->behind = 0;
    while (t->deliver_seq < t->next_seq && !t->behind && atomic_load(&sp->stopping) < 2) {
        struct seg *s = &t->segs[t->deliver_seg];
        if (t->deliver_seq >= s->end_seq) { /* next segment */
            if (t->deliver_seg + 1 >= t->nsegs)
                break;
            t->deliver_seg++;
            t->deliver_seq = t->segs[t->deliver_seg].first_seq;
            t->deliver_off = t->segs[t->deliver_seg].hdr_len;
            reader_close(t);
            continue;
        }
        if (t->rfd < 0 || t->rfd_seg != t->deliver_seg) {
            reader_close(t);
            char path[4200];
            path_join(path, sizeof path, t->dir, s->name);
            t->rfd = fs->open(fs->ctx, path, O_RDONLY, 0);
            t->rfd_seg = t->deliver_seg;
            if (t->rfd < 0) {
                zs_log(ZS_LOG_ERROR, "spool", "msg=\"cannot read a segment\" file=%s error=\"%s\"",
                       path, strerror(-t->rfd));
                t->behind = 1; /* retried next tick */
                return;
            }
        }
        uint64_t left = s->size > t->deliver_off ? s->size - t->deliver_off : 0;
        size_t want = left < READ_CHUNK ? (size_t)left : READ_CHUNK;
        size_t used = SIZE_MAX;
        ssize_t r = -1;
        t->rbuf.len = 0;
        if (want >= ZS_SEG_FRAME && zs_buf_reserve(&t->rbuf, want) == ZS_OK)
            r = fs->pread(fs->ctx, t->rfd, t->rbuf.data, want, (off_t)t->deliver_off);
        if (r >= (ssize_t)ZS_SEG_FRAME) {
            used = deliver_frames(t, t->rbuf.data, (size_t)r, false);
            uint64_t frame = ZS_SEG_FRAME + (uint64_t)zs_rd32(t->rbuf.data);
            if (used == 0 && !t->behind && frame > (uint64_t)r && frame <= left &&
                frame <= ZS_SEG_FRAME + ZS_SEG_MAX_RECORD &&
                zs_buf_reserve(&t->rbuf, (size_t)frame) == ZS_OK) {
                /* One record larger than the chunk: read it whole. */
                r = fs->pread(fs->ctx, t->rfd, t->rbuf.data, (size_t)frame, (off_t)t->deliver_off);
                used = r == (ssize_t)frame ? deliver_frames(t, t->rbuf.data, (size_t)r, false)
                                           : SIZE_MAX;
            }
        }
        if (used == SIZE_MAX || (used == 0 && !t->behind)) {
            zs_log(ZS_LOG_ERROR, "spool",
                   "msg=\"corrupt segment: its remaining records cannot be read; kept aside\" "
                   "table=%s segment=%s seq=%" PRIu64 " lost=%" PRIu64,
                   t->name, s->name, t->deliver_seq, s->end_seq - t->deliver_seq);
            s->corrupt = 1;
            mark_range(t, t->deliver_seq, s->end_seq);
            t->deliver_seq = s->end_seq;
        }
    }
}

/* ---------------------------------------------------------------- commit */

static void answer_cw(struct cwait *cw, size_t n, zs_rc rc, const char *reason)
{
    for (size_t i = 0; i < n; i++)
        cw[i].fn(cw[i].ctx, rc, 0, reason, true);
}

/* Write one table's pending records (group commit). Spool thread. Returns 1 if it wrote. */
/* ---------------------------------------------------------------- the sync thread */

static void *sync_thread(void *arg)
{
    struct zs_spool *sp = arg;
    const struct zs_fs_ops *fs = sp->fs;
    pthread_mutex_lock(&sp->sync_lock);
    for (;;) {
        while (sp->sync_q == NULL && !sp->sync_stop)
            pthread_cond_wait(&sp->sync_cond, &sp->sync_lock);
        if (sp->sync_q == NULL && sp->sync_stop)
            break;
        struct syncreq *list = sp->sync_q;
        sp->sync_q = NULL;
        sp->sync_tail = &sp->sync_q;
        sp->sync_busy = 1;
        pthread_mutex_unlock(&sp->sync_lock);
        /* One fdatasync per file covers every request queued for it so far. */
        for (struct syncreq *r = list; r != NULL; r = r->next) {
            int done_before = 0;
            for (struct syncreq *q = list; q != r; q = q->next)
                done_before |= q->fd == r->fd;
            if (done_before)
                continue;
            int w = fs->fdatasync(fs->ctx, r->fd);
            atomic_fetch_add(&r->t->syncs, 1);
            for (struct syncreq *q = r; q != NULL; q = q->next)
                if (q->fd == r->fd)
                    q->fd = w == 0 ? -1 : -2; /* -1 synced, -2 failed */
            if (w != 0) {
                atomic_store(&r->t->sync_failed, 1);
                zs_log(ZS_LOG_ERROR, "spool",
                       "msg=\"sync failed: the records stay spooled but are answered 503\" "
                       "table=%s error=\"%s\"",
                       r->t->name, strerror(-w));
            }
        }
        while (list != NULL) {
            struct syncreq *r = list;
            list = r->next;
            int ok = r->fd == -1;
            if (!ok)
                atomic_fetch_add(&r->t->commit_failures, 1);
            for (size_t i = 0; i < r->n; i++)
                r->done[i].fn(r->done[i].ctx, ok ? ZS_OK : ZS_EIO, ok ? r->done[i].seq : 0,
                              ok ? NULL : "the spool could not sync the record to disk", true);
            free(r->done);
            free(r);
        }
        pthread_mutex_lock(&sp->sync_lock);
        sp->sync_busy = 0;
        pthread_cond_broadcast(&sp->sync_idle);
        int more = sp->sync_q != NULL;
        pthread_mutex_unlock(&sp->sync_lock);
        if (!more) {
            atomic_store(&sp->sync_active, 0);
            kick(sp); /* what gathered meanwhile can go */
        }
        pthread_mutex_lock(&sp->sync_lock);
    }
    pthread_mutex_unlock(&sp->sync_lock);
    return NULL;
}

static void sync_submit(struct zs_spool *sp, struct syncreq *r)
{
    atomic_store(&sp->sync_active, 1);
    pthread_mutex_lock(&sp->sync_lock);
    *sp->sync_tail = r;
    sp->sync_tail = &r->next;
    pthread_cond_signal(&sp->sync_cond);
    pthread_mutex_unlock(&sp->sync_lock);
}

/* Wait until every queued sync is done (before a segment's fd is closed). */
static void sync_wait_idle(struct zs_spool *sp)
{
    if (!sp->sync_running)
        return;
    pthread_mutex_lock(&sp->sync_lock);
    while (sp->sync_q != NULL || sp->sync_busy)
        pthread_cond_wait(&sp->sync_idle, &sp->sync_lock);
    pthread_mutex_unlock(&sp->sync_lock);
}

static int sync_idle(struct zs_spool *sp)
{
    pthread_mutex_lock(&sp->sync_lock);
    int idle = sp->sync_q == NULL && !sp->sync_busy;
    pthread_mutex_unlock(&sp->sync_lock);
    return idle;
}

/* Close the segment being written (its queued syncs first). */
static void close_wfd(struct zs_spool_table *t)
{
    if (t->wfd < 0)
        return;
    sync_wait_idle(t->sp);
    t->sp->fs->close(t->sp->fs->ctx, t->wfd);
    t->wfd = -1;
}

/*
 * Write one table's pending records (group commit). Spool thread. Returns 1 if it wrote.
 * Order: write(2), number the records and register their ack waiters, hand them to the
 * sink, then fdatasync: Zerobus and the disk work at the same time, and only the 202s
 * (CW_COMMIT) wait for the sync. A record numbered is never renumbered: if the sync
 * fails, its records stay in the spool and are delivered, but their 202s become 503s.
 */
static int commit_table(struct zs_spool_table *t)
{
    struct zs_spool *sp = t->sp;
    const struct zs_fs_ops *fs = sp->fs;
    pthread_mutex_lock(&t->lock);
    size_t ncw = t->ncw;
    if (ncw == 0) {
        pthread_mutex_unlock(&t->lock);
        return 0;
    }
    /* A group's records share one descriptor (a segment has one): after a reload changed
     * the table's schema, records of the other variant wait for the next group. */
    int gv = -1;
    size_t keep = ncw, kbytes = 0;
    for (size_t i = 0; i < ncw && keep == ncw; i++) {
        if (t->cw[i].var >= 0 && gv >= 0 && t->cw[i].var != gv)
            keep = i;
        else
            kbytes += t->cw[i].bytes;
        if (gv < 0)
            gv = t->cw[i].var;
    }
    struct zs_buf tmp = t->pend;
    t->pend = t->wbuf;
    t->wbuf = tmp;
    t->pend.len = 0;
    struct cwait *cw = t->cw;
    size_t cwcap = t->cwcap;
    t->cw = t->wcw;
    t->cwcap = t->wcwcap;
    t->ncw = 0;
    t->wcw = cw;
    t->wcwcap = cwcap;
    if (keep < ncw) { /* the rest back into the (empty) pending buffer, in order */
        size_t rest = ncw - keep;
        while (t->cwcap < rest) {
            struct cwait *g = zs_grow(t->cw, &t->cwcap, t->cwcap, sizeof *t->cw, 256);
            if (g == NULL)
                abort(); /* as zs_xalloc */
            t->cw = g;
        }
        if (zs_buf_append(&t->pend, t->wbuf.data + kbytes, t->wbuf.len - kbytes) != ZS_OK)
            abort(); /* the pending buffer held these bytes a moment ago */
        memcpy(t->cw, t->wcw + keep, rest * sizeof *t->cw);
        t->ncw = rest;
        t->wbuf.len = kbytes;
        ncw = keep;
        atomic_store(&t->sp->kick, 1);
    }
    atomic_store(&t->pend_bytes_total, t->pend.len);
    atomic_store(&t->pend_urgent, 0);
    pthread_mutex_unlock(&t->lock);

    zs_rc rc = ZS_OK;
    const char *why = "the spool could not start a segment";
    if (atomic_exchange(&t->sync_failed, 0))
        close_wfd(t); /* its durability is in doubt: a new segment */
    if (t->wbuf.len > 0 &&
        (t->nsegs == 0 || t->wfd < 0 || t->segs[t->nsegs - 1].size >= sp->o.segment_bytes ||
         t->segs[t->nsegs - 1].variant != gv))
        rc = seg_create(t, gv);
    struct seg *s = t->nsegs ? &t->segs[t->nsegs - 1] : NULL;
    uint64_t off = s ? s->size : 0, first = t->next_seq;
    if (rc == ZS_OK && t->wbuf.len > 0) {
        int w = zs_fs_pwrite_all(fs, t->wfd, t->wbuf.data, t->wbuf.len, (off_t)off);
        atomic_fetch_add(&t->groups, 1);
        if (w != 0) {
            rc = w == -ENOSPC ? ZS_ENOSPC : ZS_EIO;
            why = w == -ENOSPC ? "the spool's disk is full" : "the spool could not write";
            zs_log(ZS_LOG_ERROR, "spool", "msg=\"commit failed\" table=%s records=%zu error=\"%s\"",
                   t->name, ncw, strerror(-w));
            /* Back to the last good size: the next group writes from there. */
            sync_wait_idle(sp); /* earlier groups' syncs, before the truncation */
            if (fs->ftruncate(fs->ctx, t->wfd, (off_t)off) != 0 ||
                fs->fdatasync(fs->ctx, t->wfd) != 0)
                close_wfd(t); /* the next group starts a new segment */
        }
    }
    if (rc != ZS_OK) {
        atomic_fetch_add(&t->commit_failures, 1);
        answer_cw(t->wcw, ncw, rc, why);
        return 1;
    }
    /* Written: number the records, register the ack and flush waiters. */
    uint64_t nrec = 0;
    bool waited = false;
    for (size_t i = 0; i < ncw; i++) {
        nrec += t->wcw[i].nrec;
        waited |= t->wcw[i].kind == CW_ACK;
    }
    if (s != NULL) {
        s->size += t->wbuf.len;
        s->end_seq += nrec;
    }
    t->next_seq += nrec;
    atomic_fetch_add(&t->disk_bytes, t->wbuf.len);
    atomic_store(&t->accepted, t->next_seq - 1);
    pthread_mutex_lock(&t->ack_lock);
    age_push(t, t->next_seq, zs_wall_ms());
    uint64_t seq = first;
    for (size_t i = 0; i < ncw; i++) { /* waiters first: an ack may come as soon as we send */
        struct cwait *c = &t->wcw[i];
        if (c->kind == CW_ACK)
            waiter_add_records(t, seq, c->nrec, c->fn, c->ctx, c->counts);
        else if (c->kind == CW_FLUSH)
            waiter_add(t, seq - 1, 1, c->timeout_ms, c->fn, c->ctx)->counts = c->counts;
        seq += c->nrec;
    }
    /* Flushes with nothing before them are done already. */
    struct waiter *done = t->waiters != NULL && t->waiters->seq <= t->frontier
                              ? waiters_take(t, t->frontier, 1)
                              : NULL;
    pthread_mutex_unlock(&t->ack_lock);
    waiters_call(done, ZS_OK, NULL, false);
    /* The in-memory path: the group's frames are in wbuf; send them unless behind. */
    if (nrec > 0 && !t->behind && !sp->quiesced && t->deliver_seq == first && s != NULL) {
        t->deliver_seg = t->nsegs - 1;
        t->deliver_off = off;
        (void)deliver_frames(t, t->wbuf.data, t->wbuf.len, waited);
    }
    /* The 202s wait for the sync, on the sync thread: this thread goes on writing. */
    size_t ncommit = 0;
    for (size_t i = 0; i < ncw; i++)
        ncommit += t->wcw[i].kind == CW_COMMIT;
    struct cdone *cd = ncommit ? zs_xcalloc(ncommit, sizeof *cd) : NULL;
    seq = first;
    for (size_t i = 0, k = 0; i < ncw; i++) {
        if (t->wcw[i].kind == CW_COMMIT) /* a batch's answer has its last record's seq */
            cd[k++] = (struct cdone){t->wcw[i].fn, t->wcw[i].ctx, seq + t->wcw[i].nrec - 1};
        seq += t->wcw[i].nrec;
    }
    if (ncommit > 0 && sp->o.sync == ZS_SPOOL_SYNC_COMMIT) {
        struct syncreq *r = zs_xcalloc(1, sizeof *r);
        *r = (struct syncreq){.t = t, .fd = t->wfd, .done = cd, .n = ncommit};
        sync_submit(sp, r);
        return 1;
    }
    if (nrec > 0 && sp->o.sync == ZS_SPOOL_SYNC_INTERVAL)
        t->unsynced = 1;
    for (size_t k = 0; k < ncommit; k++)
        cd[k].fn(cd[k].ctx, ZS_OK, cd[k].seq, NULL, false);
    free(cd);
    return 1;
}

/* ---------------------------------------------------------------- housekeeping */

static void checkpoint(struct zs_spool_table *t, int force)
{
    struct zs_spool *sp = t->sp;
    const struct zs_fs_ops *fs = sp->fs;
    pthread_mutex_lock(&t->ack_lock);
    uint64_t frontier = t->frontier;
    pthread_mutex_unlock(&t->ack_lock);
    long long now = now_ms();
    if (frontier == t->ckpt_written || (!force && now - t->ckpt_ms < CKPT_EVERY_MS))
        return;
    if (t->ckpt_fd < 0) {
        char path[4200];
        path_join(path, sizeof path, t->dir, "checkpoint");
        t->ckpt_fd = fs->open(fs->ctx, path, O_RDWR | O_CREAT, 0644);
        if (t->ckpt_fd < 0)
            return;
    }
    uint8_t b[ZS_CKPT_LEN];
    zs_ckpt_encode(b, frontier);
    /* One small in-place write, not synced: a lost or torn checkpoint only replays more
     * (its CRC rejects a torn one; recovery then starts at the oldest segment). */
    if (zs_fs_pwrite_all(fs, t->ckpt_fd, b, sizeof b, 0) == 0) {
        t->ckpt_written = frontier;
        t->ckpt_ms = now;
    }
}

/* Delete (or move aside) segments whose records are all done, except the one written to. */
static void delete_done_segments(struct zs_spool_table *t)
{
    struct zs_spool *sp = t->sp;
    pthread_mutex_lock(&t->ack_lock);
    uint64_t frontier = t->frontier;
    pthread_mutex_unlock(&t->ack_lock);
    size_t k = 0;
    while (k + 1 < t->nsegs && t->segs[k].end_seq <= frontier + 1 && t->deliver_seg > k)
        k++;
    if (k == 0)
        return;
    checkpoint(t, 1); /* before the files go: a restart must not look for them */
    for (size_t i = 0; i < k; i++) {
        struct seg *s = &t->segs[i];
        char path[4200];
        path_join(path, sizeof path, t->dir, s->name);
        if (t->rfd >= 0 && t->rfd_seg == i)
            reader_close(t);
        if (s->corrupt) {
            char aside[4400], dn[600];
            zs_spool_table_dirname(t->name, dn, sizeof dn);
            snprintf(aside, sizeof aside, "%s/corrupt/%s.%s", sp->dir, dn, s->name);
            if (sp->fs->rename(sp->fs->ctx, path, aside) != 0)
                zs_log(ZS_LOG_ERROR, "spool", "msg=\"cannot move a corrupt segment aside\" file=%s",
                       path);
        } else if (sp->fs->unlink(sp->fs->ctx, path) != 0) {
            zs_log(ZS_LOG_WARN, "spool", "msg=\"cannot delete a delivered segment\" file=%s", path);
        }
        atomic_fetch_sub(&t->disk_bytes, s->size);
    }
    memmove(t->segs, t->segs + k, (t->nsegs - k) * sizeof *t->segs);
    t->nsegs -= k;
    atomic_store(&t->nsegs_pub, t->nsegs);
    t->deliver_seg -= k;
    if (t->rfd >= 0)
        t->rfd_seg -= k;
}

static void expire_waiters(struct zs_spool_table *t, long long now)
{
    struct zs_spool *sp = t->sp;
    pthread_mutex_lock(&t->ack_lock);
    int any = t->waiters != NULL;
    pthread_mutex_unlock(&t->ack_lock);
    if (!any)
        return;
    waiters_answer(t, pick_expired_rec, &now, ZS_ETIMEDOUT,
                   "timed out waiting for the acknowledgement from Zerobus; the record stays "
                   "queued",
                   true);
    waiters_answer(t, pick_expired_flush, &now, ZS_ETIMEDOUT,
                   "flush timed out before every record was acknowledged; they stay queued", true);
    /* Upstream failing: answer now rather than hold requests for the whole outage. */
    struct zs_spool_upstream up;
    memset(&up, 0, sizeof up);
    for (size_t v = 0; v < t->nvars; v++) {
        void *st = t->vars[v].sink_table;
        if (st == NULL)
            continue;
        sp->o.sink->state(sp->o.sink_ctx, st, &up);
        if (up.failing) {
            char why[400];
            snprintf(why, sizeof why, "Zerobus is unavailable (%s); the record stays queued",
                     up.last_error[0] ? up.last_error : "retrying");
            waiters_answer(t, pick_all, NULL, ZS_EUNAVAIL, why, true);
            break;
        }
    }
}

static void sync_interval(struct zs_spool_table *t, long long now)
{
    struct zs_spool *sp = t->sp;
    if (!t->unsynced || t->wfd < 0 || now - t->last_sync_ms < (long long)sp->o.sync_interval_ms)
        return;
    atomic_fetch_add(&t->syncs, 1);
    if (sp->fs->fdatasync(sp->fs->ctx, t->wfd) == 0) {
        t->unsynced = 0;
        t->last_sync_ms = now;
    } else {
        zs_log(ZS_LOG_ERROR, "spool", "msg=\"interval sync failed\" table=%s", t->name);
    }
}

static void *spool_thread(void *arg)
{
    struct zs_spool *sp = arg;
    while (atomic_load(&sp->stopping) < 2) {
        pthread_mutex_lock(&sp->lock);
        if (!atomic_load(&sp->kick) && atomic_load(&sp->stopping) < 2 && !sp->drain_req) {
            int behind = 0;
            for (size_t i = 0; i < sp->ntables; i++)
                behind |= sp->tables[i]->behind;
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            long wait_ms = behind ? 2 : TICK_MS;
            ts.tv_nsec += wait_ms * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&sp->cond, &sp->lock, &ts);
        }
        atomic_store(&sp->kick, 0);
        int drain = sp->drain_req;
        pthread_mutex_unlock(&sp->lock);
        long long now = now_ms();
        /* Group commit: while a sync runs, records whose 202 waits for a sync anyway keep
         * gathering (the sync thread kicks us when it is done); a record somebody waits
         * an ack for, or a flush, is written and sent at once. */
        int syncing = !sync_idle(sp);
        for (size_t i = 0; i < sp->ntables; i++) {
            struct zs_spool_table *t = sp->tables[i];
            if (sp->o.mode == ZS_SPOOL_DISK) {
                if (!syncing || drain || atomic_load(&t->pend_urgent))
                    commit_table(t);
                if (!sp->quiesced && (t->behind || t->deliver_seq < t->next_seq))
                    deliver_from_disk(t);
                atomic_store(&t->kick_when_acked, t->behind);
                if (sp->o.sync == ZS_SPOOL_SYNC_INTERVAL)
                    sync_interval(t, now);
                checkpoint(t, 0);
                delete_done_segments(t);
            }
            if (!sp->quiesced)
                expire_waiters(t, now);
        }
        deadletters_write(sp);
        if (drain) {
            pthread_mutex_lock(&sp->lock);
            int empty = 1;
            for (size_t i = 0; i < sp->ntables; i++) {
                pthread_mutex_lock(&sp->tables[i]->lock);
                empty &= sp->tables[i]->ncw == 0;
                pthread_mutex_unlock(&sp->tables[i]->lock);
            }
            if (empty && !sync_idle(sp))
                empty = 0;
            if (empty) {
                sp->quiesced = 1;
                sp->drain_done = 1;
                sp->drain_req = 0;
                pthread_cond_broadcast(&sp->drained_cond);
            }
            pthread_mutex_unlock(&sp->lock);
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------- submit / flush */

/* Room for one more entry in the pending commit list. Under t->lock. */
static zs_rc cw_reserve(struct zs_spool_table *t)
{
    void *grown = zs_grow(t->cw, &t->cwcap, t->ncw, sizeof *t->cw, 256);
    if (grown == NULL)
        return ZS_ENOMEM;
    t->cw = grown;
    return ZS_OK;
}

zs_rc zs_spool_submit_batch(struct zs_spool_table *t, int variant, const uint8_t *const *recs,
                            const size_t *lens, size_t n, bool wait_ack, zs_spool_done_fn fn,
                            void *ctx, struct zs_spool_counts *counts, uint64_t *out_last,
                            size_t *out_accepted)
{
    struct zs_spool *sp = t->sp;
    *out_last = 0;
    *out_accepted = 0;
    if (n == 0 || n > UINT32_MAX || variant < 0 || (size_t)variant >= atomic_load(&t->nvars))
        return ZS_EINVAL;
    if (atomic_load(&sp->stopping))
        return ZS_ECANCELED;
    size_t bytes = 0; /* the records' own */
    for (size_t i = 0; i < n; i++) {
        if (lens[i] > ZS_SEG_MAX_RECORD)
            return ZS_ELIMIT;
        bytes += lens[i];
    }
    size_t total = bytes + n * ZS_SEG_FRAME; /* framed, as the pending buffer holds them */
    if (sp->o.mode == ZS_SPOOL_MEMORY) {
        /* Straight to the sink, in order; a full window stops it part way (ZS_EAGAIN with
         * *out_accepted): the records before are on their way, nobody waits for them. */
        struct variant *v = &t->vars[variant];
        zs_rc rc = ZS_OK;
        size_t k = 0;
        pthread_mutex_lock(&t->ack_lock);
        uint64_t first = atomic_load(&t->mem_seq) + 1;
        for (; k < n; k++) {
            rc = sp->o.sink->submit(sp->o.sink_ctx, v->sink_table, recs[k], lens[k], wait_ack,
                                    first + k, on_sink_done, t);
            if (rc != ZS_OK)
                break;
            atomic_store(&t->mem_seq, first + k);
            atomic_store(&t->accepted, first + k);
        }
        if (k > 0)
            age_push(t, first + k, zs_wall_ms());
        if (k == n && wait_ack)
            waiter_add_records(t, first, (uint32_t)n, fn, ctx, counts);
        pthread_mutex_unlock(&t->ack_lock);
        *out_accepted = k;
        if (k == n) {
            if (!wait_ack)
                *out_last = first + n - 1;
            return ZS_OK;
        }
        struct zs_spool_upstream up;
        if (rc == ZS_EAGAIN) {
            sp->o.sink->state(sp->o.sink_ctx, v->sink_table, &up);
            if (up.failing || strcmp(up.state, "recovering") == 0)
                return ZS_EUNAVAIL;
        }
        return rc;
    }
    /* Disk: every frame into the pending buffer at once, one waiter for the batch. */
    if (atomic_load(&t->disk_bytes) + atomic_load(&t->pend_bytes_total) + bytes > sp->o.max_bytes)
        return ZS_EUNAVAIL; /* the spool is full: upstream is behind */
    zs_rc rc = ZS_OK;
    pthread_mutex_lock(&t->lock);
    size_t mark = t->pend.len;
    if (t->pend.len + total > sp->o.max_pending_bytes)
        rc = ZS_EAGAIN;
    else
        rc = cw_reserve(t);
    for (size_t i = 0; i < n && rc == ZS_OK; i++) {
        uint8_t head[ZS_SEG_FRAME];
        zs_seg_frame_head(head, recs[i], (uint32_t)lens[i]);
        if ((rc = zs_buf_append(&t->pend, head, sizeof head)) == ZS_OK)
            rc = zs_buf_append(&t->pend, recs[i], lens[i]);
    }
    if (rc == ZS_OK) {
        t->cw[t->ncw++] = (struct cwait){wait_ack ? CW_ACK : CW_COMMIT,
                                         fn,
                                         ctx,
                                         0,
                                         counts,
                                         (uint32_t)n,
                                         variant,
                                         t->pend.len - mark};
        if (wait_ack)
            atomic_store(&t->pend_urgent, 1);
        atomic_store(&t->pend_bytes_total, t->pend.len);
        *out_accepted = n;
    } else {
        t->pend.len = mark; /* none of it */
    }
    pthread_mutex_unlock(&t->lock);
    if (rc == ZS_ELIMIT)
        rc = ZS_EAGAIN;
    /* While a sync runs, an async record waits for the next one anyway: the sync thread
     * kicks when it is done (it clears sync_active first, so a record appended before
     * that clear is seen by the kick, and one after it kicks here). */
    if (rc == ZS_OK && (wait_ack || !atomic_load(&sp->sync_active)))
        kick(sp);
    return rc;
}

/* One record is a batch of one (a plain waiter: no counts). */
zs_rc zs_spool_submit(struct zs_spool_table *t, int variant, const void *rec, size_t len,
                      bool wait_ack, zs_spool_done_fn fn, void *ctx, uint64_t *out_seq)
{
    const uint8_t *p = rec;
    size_t accepted;
    return zs_spool_submit_batch(t, variant, &p, &len, 1, wait_ack, fn, ctx, NULL, out_seq,
                                 &accepted);
}

zs_rc zs_spool_flush(struct zs_spool_table *t, uint32_t timeout_ms, zs_spool_done_fn fn, void *ctx,
                     struct zs_spool_counts *counts)
{
    struct zs_spool *sp = t->sp;
    if (atomic_load(&sp->stopping))
        return ZS_ECANCELED;
    if (timeout_ms == 0)
        timeout_ms = sp->o.wait_timeout_ms;
    if (sp->o.mode == ZS_SPOOL_MEMORY) {
        pthread_mutex_lock(&t->ack_lock);
        uint64_t target = atomic_load(&t->mem_seq);
        waiter_add(t, target, 1, timeout_ms, fn, ctx)->counts = counts;
        struct waiter *done =
            t->waiters->seq <= t->frontier ? waiters_take(t, t->frontier, 1) : NULL;
        pthread_mutex_unlock(&t->ack_lock);
        waiters_call(done, ZS_OK, NULL, false); /* nothing left to wait for */
        return ZS_OK;
    }
    zs_rc rc = ZS_OK;
    pthread_mutex_lock(&t->lock);
    rc = cw_reserve(t);
    if (rc == ZS_OK) {
        t->cw[t->ncw++] = (struct cwait){CW_FLUSH, fn, ctx, timeout_ms, counts, 0, -1, 0};
        atomic_store(&t->pend_urgent, 1);
    }
    pthread_mutex_unlock(&t->lock);
    if (rc == ZS_OK)
        kick(sp);
    return rc;
}

/* ---------------------------------------------------------------- state */

void zs_spool_table_state(struct zs_spool_table *t, struct zs_spool_table_state *out)
{
    struct zs_spool *sp = t->sp;
    memset(out, 0, sizeof *out);
    out->mode = sp->o.mode == ZS_SPOOL_DISK ? "disk" : "memory";
    pthread_mutex_lock(&t->ack_lock);
    uint64_t frontier = t->frontier;
    long long oldest = t->nages > 0 ? t->ages[t->agehead].ms : 0;
    pthread_mutex_unlock(&t->ack_lock);
    uint64_t accepted = atomic_load(&t->accepted);
    out->accepted = accepted;
    out->pending = accepted > frontier ? accepted - frontier : 0;
    if (out->pending > 0) {
        long long start = atomic_load(&t->oldest_start_ms);
        if (oldest == 0 || (start > 0 && start < oldest))
            oldest = start;
        out->oldest_pending_ms = oldest > 0 ? zs_wall_ms() - oldest : 0;
        if (out->oldest_pending_ms < 0)
            out->oldest_pending_ms = 0;
    }
    out->pending_bytes = atomic_load(&t->disk_bytes) + atomic_load(&t->pend_bytes_total);
    out->replayed = atomic_load(&t->replayed);
    out->dead_letters = atomic_load(&t->dead);
    out->given_up = atomic_load(&t->given_up);
    out->segments = atomic_load(&t->nsegs_pub);
    out->commit_failures = atomic_load(&t->commit_failures);
    out->syncs = atomic_load(&t->syncs);
    out->groups = atomic_load(&t->groups);
    out->up.state = "idle";
    for (size_t v = 0; v < t->nvars; v++) {
        struct zs_spool_upstream u;
        memset(&u, 0, sizeof u);
        void *st = t->vars[v].sink_table;
        if (st == NULL)
            continue; /* being added by a reload */
        sp->o.sink->state(sp->o.sink_ctx, st, &u);
        /* the state and error of the worst variant, the counters of all */
        struct zs_spool_upstream sum = out->up;
        if (v == 0 || u.failing || strcmp(u.state, "recovering") == 0)
            out->up = u;
        if (v == 0)
            continue;
        out->up.queued = sum.queued + u.queued;
        out->up.inflight = sum.inflight + u.inflight;
        out->up.acked = sum.acked + u.acked;
        out->up.failed = sum.failed + u.failed;
        out->up.recoveries = sum.recoveries + u.recoveries;
        out->up.replayed = sum.replayed + u.replayed;
        out->up.streams_opened = sum.streams_opened + u.streams_opened;
        out->up.close_signals = sum.close_signals + u.close_signals;
        for (int c = 0; c < ZS_GRPC_CODES; c++) {
            out->up.errors[c] = sum.errors[c] + u.errors[c];
            out->up.fatal[c] = sum.fatal[c] + u.fatal[c];
        }
        out->up.ack_latency = sum.ack_latency;
        zs_hist_merge(&out->up.ack_latency, &u.ack_latency);
    }
}

const char *zs_spool_table_name(const struct zs_spool_table *t)
{
    return t->name;
}

struct zs_spool_table *zs_spool_table_at(struct zs_spool *sp, size_t i)
{
    return i < atomic_load(&sp->ntables) ? sp->tables[i] : NULL;
}

const char *zs_spool_dir(const struct zs_spool *sp)
{
    return sp->dir;
}

enum zs_spool_mode zs_spool_mode(const struct zs_spool *sp)
{
    return sp->o.mode;
}

/* ---------------------------------------------------------------- open / recovery */

static struct zs_spool_table *table_new(struct zs_spool *sp, const char *name)
{
    struct zs_spool_table *t = zs_xcalloc(1, sizeof *t);
    t->sp = sp;
    t->name = zs_xstrdup(name);
    pthread_mutex_init(&t->lock, NULL);
    pthread_mutex_init(&t->ack_lock, NULL);
    t->waiters_tail = &t->waiters;
    t->wfd = t->rfd = t->ckpt_fd = -1;
    t->next_seq = 1;
    t->deliver_seq = 1;
    t->ring.base = 1; /* frontier 0: nothing acknowledged yet */
    t->ckpt_written = 0;
    zs_buf_init(&t->pend, (size_t)sp->o.max_pending_bytes + ZS_SEG_MAX_RECORD);
    zs_buf_init(&t->wbuf, (size_t)sp->o.max_pending_bytes + ZS_SEG_MAX_RECORD);
    zs_buf_init(&t->rbuf, (size_t)ZS_SEG_MAX_RECORD * 2);
    if (sp->dir != NULL) {
        char dn[4000], path[4200];
        zs_spool_table_dirname(name, dn, sizeof dn);
        snprintf(path, sizeof path, "%s/tables/%s", sp->dir, dn);
        t->dir = zs_xstrdup(path);
    }
    t->vars = zs_xcalloc(ZS_SPOOL_MAX_VARIANTS, sizeof *t->vars);
    return t;
}

/* Close and free a table (not published, or the spool is being destroyed). */
static void table_free(struct zs_spool_table *t)
{
    struct zs_spool *sp = t->sp;
    const struct zs_fs_ops *fs = sp->fs;
    if (t->wfd >= 0)
        fs->close(fs->ctx, t->wfd);
    if (t->rfd >= 0)
        fs->close(fs->ctx, t->rfd);
    if (t->ckpt_fd >= 0)
        fs->close(fs->ctx, t->ckpt_fd);
    for (size_t v = 0; v < t->nvars; v++)
        free(t->vars[v].desc);
    free(t->vars);
    zs_buf_release(&t->pend);
    zs_buf_release(&t->wbuf);
    zs_buf_release(&t->rbuf);
    zs_free(t->cw);
    zs_free(t->wcw);
    zs_free(t->segs);
    zs_free(t->ring.v);
    zs_free(t->ages);
    zs_free(t->failed_seqs);
    pthread_mutex_destroy(&t->lock);
    pthread_mutex_destroy(&t->ack_lock);
    free(t->name);
    free(t->dir);
    free(t);
}

/* Make t visible to the spool thread and to zs_spool_table_at. -1 when the table slots
 * are all taken. */
static int table_publish(struct zs_spool *sp, struct zs_spool_table *t)
{
    size_t n = atomic_load(&sp->ntables);
    if (n == ZS_SPOOL_MAX_TABLES)
        return -1;
    sp->tables[n] = t;
    atomic_store(&sp->ntables, n + 1);
    return 0;
}

static struct zs_spool_table *table_find(struct zs_spool *sp, const char *name)
{
    size_t n = atomic_load(&sp->ntables);
    for (size_t i = 0; i < n; i++)
        if (strcmp(sp->tables[i]->name, name) == 0)
            return sp->tables[i];
    return NULL;
}

/* The variant of (record_type, descriptor d), added when it is new; -1 when the slots are
 * all taken. */
static int variant_find(struct zs_spool_table *t, int record_type, const uint8_t *d, size_t n)
{
    size_t nv = atomic_load(&t->nvars);
    for (size_t i = 0; i < nv; i++)
        if (t->vars[i].record_type == record_type && t->vars[i].desc_len == n &&
            (n == 0 || memcmp(t->vars[i].desc, d, n) == 0))
            return (int)i;
    if (nv == ZS_SPOOL_MAX_VARIANTS)
        return -1;
    struct variant *v = &t->vars[nv];
    *v = (struct variant){.record_type = record_type, .desc_len = n};
    v->desc = zs_xalloc(n ? n : 1);
    if (n)
        memcpy(v->desc, d, n);
    atomic_store(&t->nvars, nv + 1);
    return (int)nv;
}

/* Move a file aside into DIR/corrupt/, never delete it. */
static void move_aside(struct zs_spool *sp, struct zs_spool_table *t, const char *file)
{
    char from[4200], to[4600], dn[600];
    path_join(from, sizeof from, t->dir, file);
    zs_spool_table_dirname(t->name, dn, sizeof dn);
    snprintf(to, sizeof to, "%s/corrupt/%s.%s", sp->dir, dn, file);
    if (sp->fs->rename(sp->fs->ctx, from, to) != 0)
        zs_log(ZS_LOG_ERROR, "spool", "msg=\"cannot move a corrupt file aside\" file=%s", from);
}

/* Read a whole (small) file through the fs ops. */
static zs_rc read_all(struct zs_spool *sp, const char *path, struct zs_buf *out)
{
    const struct zs_fs_ops *fs = sp->fs;
    int fd = fs->open(fs->ctx, path, O_RDONLY, 0);
    if (fd < 0)
        return fd == -ENOENT ? ZS_ENOTFOUND : ZS_EIO;
    zs_rc rc = ZS_OK;
    for (;;) {
        if ((rc = zs_buf_reserve(out, 1 << 16)) != ZS_OK)
            break;
        ssize_t r =
            fs->pread(fs->ctx, fd, out->data + out->len, out->cap - out->len, (off_t)out->len);
        if (r < 0) {
            rc = ZS_EIO;
            break;
        }
        if (r == 0)
            break;
        out->len += (size_t)r;
    }
    fs->close(fs->ctx, fd);
    return rc;
}

/* The header of a segment (64 KiB, or all of it if longer) and the file's size. */
static zs_rc read_header(struct zs_spool *sp, const char *path, struct zs_buf *b, uint64_t *size)
{
    const struct zs_fs_ops *fs = sp->fs;
    int fd = fs->open(fs->ctx, path, O_RDONLY, 0);
    if (fd < 0)
        return ZS_EIO;
    struct stat st;
    *size = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
    size_t want = 1 << 16;
    zs_rc rc = ZS_OK;
    for (int pass = 0; pass < 2 && rc == ZS_OK; pass++) {
        if ((rc = zs_buf_reserve(b, want)) != ZS_OK)
            break;
        ssize_t r = fs->pread(fs->ctx, fd, b->data, want, 0);
        b->len = r > 0 ? (size_t)r : 0;
        if (b->len < ZS_SEG_FIXED || b->len < want)
            break;
        size_t hl = zs_rd32(b->data + 12); /* trusted only after the decode's checks */
        if (hl <= want || hl > ZS_SEG_FIXED + ZS_SEG_MAX_NAME + ZS_SEG_MAX_DESC + 4)
            break;
        want = hl;
    }
    fs->close(fs->ctx, fd);
    return rc;
}

static int cmp_seg(const void *a, const void *b)
{
    const struct seg *x = a, *y = b;
    return x->first_seq < y->first_seq ? -1 : x->first_seq > y->first_seq;
}

/*
 * Scan one table directory left by an earlier run: segments in order, the last one's torn
 * tail truncated (the cut bytes kept in corrupt/), unreadable headers moved aside, the
 * checkpoint read. The delivery cursor starts after the checkpoint.
 */
static zs_rc table_recover(struct zs_spool *sp, struct zs_spool_table *t, int want_variant0)
{
    const struct zs_fs_ops *fs = sp->fs;
    DIR *d = opendir(t->dir);
    if (d == NULL)
        return errno == ENOENT ? ZS_OK : ZS_EIO;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct seg s = {0};
        if (zs_seg_name_parse(e->d_name, &s.first_seq) != 0)
            continue;
        memcpy(s.name, e->d_name, 24); /* 20 digits + ".seg": checked by the parse */
        s.name[24] = '\0';
        if (seg_push(t, &s) != 0) {
            closedir(d);
            return ZS_ENOMEM;
        }
    }
    closedir(d);
    if (t->nsegs > 1)
        qsort(t->segs, t->nsegs, sizeof *t->segs, cmp_seg);
    struct zs_buf b;
    zs_buf_init(&b, (size_t)16 << 30);
    uint64_t truncated = 0, aside = 0;
    for (size_t i = 0; i < t->nsegs; i++) {
        struct seg *s = &t->segs[i];
        char path[4200];
        path_join(path, sizeof path, t->dir, s->name);
        b.len = 0;
        int last = i + 1 == t->nsegs;
        /* Middle segments: the header only (the next segment's first seq ends them, and
         * their frames are checked as they are read). The last: every frame. */
        zs_rc rc = last ? read_all(sp, path, &b) : read_header(sp, path, &b, &s->size);
        struct zs_seg_header h;
        size_t hl = 0;
        zs_rc hr = rc == ZS_OK ? zs_seg_header_decode(b.data, b.len, &h, &hl) : ZS_EIO;
        if (hr != ZS_OK || h.first_seq != s->first_seq || h.table_len != strlen(t->name) ||
            memcmp(h.table, t->name, h.table_len) != 0) {
            if (hr == ZS_EIO) {
                zs_buf_release(&b);
                return ZS_EIO;
            }
            /* A torn header (crash while creating it) or a foreign/corrupt file. */
            zs_log(last && hr == ZS_EAGAIN ? ZS_LOG_WARN : ZS_LOG_ERROR, "spool",
                   "msg=\"segment with an unreadable header moved aside\" table=%s segment=%s "
                   "bytes=%zu",
                   t->name, s->name, b.len);
            move_aside(sp, t, s->name);
            aside++;
            memmove(s, s + 1, (t->nsegs - i - 1) * sizeof *s);
            t->nsegs--;
            i--;
            continue;
        }
        s->hdr_len = hl;
        s->created_ms = (long long)h.created_ms;
        s->variant = variant_find(t, (int)h.record_type, h.desc, h.desc_len);
        if (s->variant < 0) {
            zs_log(ZS_LOG_ERROR, "spool",
                   "msg=\"more than %d descriptors in the spool of one table\" table=%s",
                   ZS_SPOOL_MAX_VARIANTS, t->name);
            zs_buf_release(&b);
            return ZS_ELIMIT;
        }
        if (!last) {
            s->end_seq = t->segs[i + 1].first_seq;
            continue;
        }
        size_t off = hl, good = hl;
        struct zs_slice rec;
        uint64_t n = 0;
        while ((rc = zs_seg_next(b.data, b.len, &off, &rec)) == ZS_OK) {
            n++;
            good = off;
        }
        s->end_seq = s->first_seq + n;
        s->size = good;
        if (good < b.len) {
            /* The cut bytes go to corrupt/ first: never silently deleted. */
            char to[4600], dn[600];
            zs_spool_table_dirname(t->name, dn, sizeof dn);
            snprintf(to, sizeof to, "%s/corrupt/%s.%s.tail-%zu", sp->dir, dn, s->name, good);
            int afd = fs->open(fs->ctx, to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (afd >= 0) {
                if (zs_fs_pwrite_all(fs, afd, b.data + good, b.len - good, 0) != 0)
                    zs_log(ZS_LOG_ERROR, "spool", "msg=\"cannot keep a torn tail\" file=%s", to);
                fs->fdatasync(fs->ctx, afd);
                fs->close(fs->ctx, afd);
            }
            int fd = fs->open(fs->ctx, path, O_RDWR, 0);
            if (fd < 0 || fs->ftruncate(fs->ctx, fd, (off_t)good) != 0 ||
                fs->fdatasync(fs->ctx, fd) != 0) {
                if (fd >= 0)
                    fs->close(fs->ctx, fd);
                zs_buf_release(&b);
                return ZS_EIO;
            }
            fs->close(fs->ctx, fd);
            truncated += b.len - good;
            zs_log(ZS_LOG_WARN, "spool",
                   "msg=\"torn or corrupt tail truncated (kept in corrupt/)\" table=%s segment=%s "
                   "records=%" PRIu64 " cut_bytes=%zu",
                   t->name, s->name, n, b.len - good);
        }
    }
    /* Sequence gaps (a segment moved aside): the records in them are lost; say so. */
    for (size_t i = 0; i + 1 < t->nsegs; i++)
        if (t->segs[i].end_seq != t->segs[i + 1].first_seq)
            t->segs[i].end_seq = t->segs[i + 1].first_seq;
    uint64_t frontier = 0;
    b.len = 0;
    char cpath[4200];
    path_join(cpath, sizeof cpath, t->dir, "checkpoint");
    zs_rc crc = read_all(sp, cpath, &b);
    if (crc == ZS_OK && zs_ckpt_decode(b.data, b.len, &frontier) != ZS_OK) {
        zs_log(ZS_LOG_WARN, "spool",
               "msg=\"checkpoint unreadable: replaying from the oldest segment\" table=%s",
               t->name);
        frontier = 0;
    }
    zs_buf_release(&b);
    if (t->nsegs > 0) {
        uint64_t lo = t->segs[0].first_seq, hi = t->segs[t->nsegs - 1].end_seq;
        if (frontier + 1 < lo)
            frontier = lo - 1; /* older segments were deleted once delivered */
        if (frontier + 1 > hi)
            frontier = hi - 1;
        t->next_seq = hi;
        atomic_store(&t->oldest_start_ms, t->segs[0].created_ms);
    } else if (frontier > 0) {
        t->next_seq = frontier + 1;
    }
    t->frontier = frontier;
    t->ring.base = frontier + 1;
    t->deliver_seq = frontier + 1;
    t->behind = 1;
    /* Cursor: the segment holding deliver_seq, at its first frame; frames before the
     * cursor are skipped by reading (deliver_from_disk counts them as done). */
    t->deliver_seg = 0;
    for (size_t i = 0; i < t->nsegs; i++)
        if (t->segs[i].first_seq <= t->deliver_seq && t->deliver_seq < t->segs[i].end_seq)
            t->deliver_seg = i;
    uint64_t pending = t->next_seq - 1 - frontier;
    atomic_store(&t->replayed, pending);
    atomic_store(&t->accepted, t->next_seq - 1);
    uint64_t bytes = 0;
    for (size_t i = 0; i < t->nsegs; i++)
        bytes += t->segs[i].size;
    atomic_store(&t->disk_bytes, bytes);
    if (t->nsegs > 0) {
        /* Appends go to the last segment if it has this table's current descriptor. */
        struct seg *s = &t->segs[t->nsegs - 1];
        if (want_variant0 && s->variant == 0) {
            char path[4200];
            path_join(path, sizeof path, t->dir, s->name);
            t->wfd = fs->open(fs->ctx, path, O_RDWR, 0);
        }
    }
    if (pending > 0 || truncated > 0 || aside > 0)
        zs_log(ZS_LOG_INFO, "spool",
               "msg=\"recovered\" table=%s segments=%zu pending=%" PRIu64 " first_seq=%" PRIu64
               " truncated_bytes=%" PRIu64 " moved_aside=%" PRIu64,
               t->name, t->nsegs, pending, frontier + 1, truncated, aside);
    return ZS_OK;
}

/* The first frame to deliver is deliver_seq, inside segs[deliver_seg]: position the byte
 * cursor by walking that segment's frames from its header. Spool thread (start). */
static zs_rc position_cursor(struct zs_spool_table *t)
{
    if (t->nsegs == 0)
        return ZS_OK;
    struct seg *s = &t->segs[t->deliver_seg];
    t->deliver_off = s->hdr_len;
    if (t->deliver_seq <= s->first_seq) {
        t->deliver_seq = s->first_seq;
        return ZS_OK;
    }
    char path[4200];
    path_join(path, sizeof path, t->dir, s->name);
    struct zs_buf b;
    zs_buf_init(&b, (size_t)16 << 30);
    zs_rc rc = read_all(t->sp, path, &b);
    size_t off = s->hdr_len;
    uint64_t q = s->first_seq;
    struct zs_slice rec;
    while (rc == ZS_OK && q < t->deliver_seq && zs_seg_next(b.data, b.len, &off, &rec) == ZS_OK)
        q++;
    zs_buf_release(&b);
    if (rc != ZS_OK)
        return rc;
    t->deliver_off = off;
    t->deliver_seq = q; /* fewer frames than the checkpoint says: resend from the last good */
    return ZS_OK;
}

static zs_rc mkdir_p(const char *dir, struct zs_err *err)
{
    char failed[4096];
    int rc = zs_fs_mkdir_p(dir, failed, sizeof failed);
    if (rc == 0)
        return ZS_OK;
    return strcmp(failed, dir) == 0
               ? zs_err_set(err, ZS_EIO, NULL, "cannot create the spool directory %s: %s", failed,
                            strerror(-rc))
               : zs_err_set(err, ZS_EIO, NULL, "cannot create %s: %s", failed, strerror(-rc));
}

zs_rc zs_spool_open(const struct zs_spool_opts *o, struct zs_spool **out, struct zs_err *err)
{
    if (o->sink == NULL || (o->mode == ZS_SPOOL_DISK && (o->dir == NULL || o->dir[0] == '\0')) ||
        o->segment_bytes == 0 || o->max_bytes == 0 || o->max_pending_bytes == 0 ||
        o->wait_timeout_ms == 0)
        return zs_err_set(err, ZS_EINVAL, NULL,
                          "spool options: a sink, a directory and "
                          "positive sizes are required");
    struct zs_spool *sp = zs_xcalloc(1, sizeof *sp);
    sp->tables = zs_xcalloc(ZS_SPOOL_MAX_TABLES, sizeof *sp->tables);
    sp->o = *o;
    sp->fs = o->fs ? o->fs : &zs_fs_posix;
    sp->o.dir = o->dir ? o->dir : "spool";
    sp->lock_fd = -1;
    pthread_mutex_init(&sp->lock, NULL);
    pthread_cond_init(&sp->cond, NULL);
    pthread_cond_init(&sp->drained_cond, NULL);
    sp->dl_tail = &sp->dl;
    pthread_mutex_init(&sp->sync_lock, NULL);
    pthread_cond_init(&sp->sync_cond, NULL);
    pthread_cond_init(&sp->sync_idle, NULL);
    sp->sync_tail = &sp->sync_q;
    snprintf(sp->dl_dir, sizeof sp->dl_dir, "%s/dead-letter", sp->o.dir);
    if (o->mode == ZS_SPOOL_DISK) {
        sp->dir = zs_xstrdup(o->dir);
        char p[4200];
        zs_rc rc = mkdir_p(sp->dir, err);
        static const char *const sub[] = {"tables", "dead-letter", "corrupt"};
        for (size_t i = 0; i < 3 && rc == ZS_OK; i++) {
            path_join(p, sizeof p, sp->dir, sub[i]);
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                rc = zs_err_set(err, ZS_EIO, NULL, "cannot create %s: %s", p, strerror(errno));
        }
        if (rc == ZS_OK) {
            path_join(p, sizeof p, sp->dir, "LOCK");
            sp->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
            if (sp->lock_fd < 0)
                rc = zs_err_set(err, ZS_EIO, NULL, "the spool directory is not writable: %s: %s", p,
                                strerror(errno));
        }
        if (rc == ZS_OK && flock(sp->lock_fd, LOCK_EX | LOCK_NB) != 0) {
            char holder[32] = "";
            ssize_t n = pread(sp->lock_fd, holder, sizeof holder - 1, 0);
            holder[n > 0 ? n : 0] = '\0';
            holder[strcspn(holder, "\n")] = '\0';
            rc = zs_err_set(err, ZS_ESTATE, NULL,
                            "the spool directory %s is in use by another station (pid %s)", sp->dir,
                            holder[0] ? holder : "?");
        }
        if (rc == ZS_OK) {
            char pid[32];
            int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
            if (ftruncate(sp->lock_fd, 0) != 0 || pwrite(sp->lock_fd, pid, (size_t)n, 0) != n)
                rc = zs_err_set(err, ZS_EIO, NULL, "the spool directory is not writable: %s",
                                sp->dir);
        }
        if (rc != ZS_OK) {
            if (sp->lock_fd >= 0)
                close(sp->lock_fd);
            free(sp->dir);
            free(sp->tables);
            free(sp);
            return rc;
        }
    }
    *out = sp;
    return ZS_OK;
}

static zs_rc add_sink_tables(struct zs_spool *sp, struct zs_spool_table *t, bool eager,
                             struct zs_err *err)
{
    for (size_t v = 0; v < t->nvars; v++) {
        if (t->vars[v].sink_table != NULL)
            continue;
        void *st = NULL;
        zs_rc rc =
            sp->o.sink->table_add(sp->o.sink_ctx, t->name, t->vars[v].record_type, t->vars[v].desc,
                                  t->vars[v].desc_len, eager && v == 0, &st, err);
        if (rc != ZS_OK)
            return rc;
        t->vars[v].sink_table = st;
    }
    return ZS_OK;
}

zs_rc zs_spool_table_add(struct zs_spool *sp, const char *name, int record_type,
                         const uint8_t *desc, size_t desc_len, bool eager,
                         struct zs_spool_table **out, int *out_variant, struct zs_err *err)
{
    struct zs_spool_table *t = table_find(sp, name);
    if (t != NULL) { /* registered before, or found on disk: one more descriptor */
        int v = variant_find(t, record_type, desc, desc_len);
        if (v < 0)
            return zs_err_set(err, ZS_ELIMIT, NULL,
                              "%s: more than %d schemas in one run (restart the station)", name,
                              ZS_SPOOL_MAX_VARIANTS);
        zs_rc rc = add_sink_tables(sp, t, eager, err);
        if (rc == ZS_OK) {
            *out = t;
            *out_variant = v;
        }
        return rc;
    }
    t = table_new(sp, name);
    variant_find(t, record_type, desc, desc_len); /* variant 0: the current descriptor */
    zs_rc rc = ZS_OK;
    if (sp->o.mode == ZS_SPOOL_DISK) {
        rc = table_recover(sp, t, 1);
        if (rc == ZS_OK && mkdir(t->dir, 0755) != 0 && errno != EEXIST)
            rc = zs_err_set(err, ZS_EIO, NULL, "cannot create %s: %s", t->dir, strerror(errno));
        else if (rc != ZS_OK)
            zs_err_set(err, rc, NULL, "cannot recover the spool of %s in %s", name, t->dir);
        if (rc == ZS_OK && sp->thread_running && position_cursor(t) != ZS_OK)
            rc = zs_err_set(err, ZS_EIO, NULL, "cannot read the spool of %s", name);
    }
    if (rc == ZS_OK)
        rc = add_sink_tables(sp, t, eager, err);
    if (rc == ZS_OK && table_publish(sp, t) != 0)
        rc = zs_err_set(err, ZS_ELIMIT, NULL, "more than %d tables", ZS_SPOOL_MAX_TABLES);
    if (rc != ZS_OK) {
        table_free(t);
        return rc;
    }
    *out = t;
    *out_variant = 0;
    return ZS_OK;
}

zs_rc zs_spool_start(struct zs_spool *sp, struct zs_err *err)
{
    if (sp->o.mode == ZS_SPOOL_DISK) {
        /* Tables left on disk by an earlier configuration: deliver them too. */
        char tdir[4200];
        path_join(tdir, sizeof tdir, sp->dir, "tables");
        DIR *d = opendir(tdir);
        struct dirent *e;
        while (d != NULL && (e = readdir(d)) != NULL) {
            char name[1100];
            if (e->d_name[0] == '.' ||
                zs_spool_table_dirname_parse(e->d_name, name, sizeof name) != 0)
                continue;
            int known = 0;
            for (size_t i = 0; i < sp->ntables; i++)
                known |= strcmp(sp->tables[i]->name, name) == 0;
            if (known)
                continue;
            struct zs_spool_table *t = table_new(sp, name);
            zs_rc rc = table_recover(sp, t, 0);
            if (rc == ZS_OK && t->nvars > 0)
                rc = add_sink_tables(sp, t, false, err);
            if (rc == ZS_OK && table_publish(sp, t) != 0)
                rc = ZS_ELIMIT;
            if (rc != ZS_OK)
                table_free(t);
            if (rc != ZS_OK) {
                closedir(d);
                return zs_err_set(err, rc, NULL, "cannot recover the spool of %s", name);
            }
            if (t->next_seq - 1 > t->frontier)
                zs_log(ZS_LOG_WARN, "spool",
                       "msg=\"table not in the configuration: delivering its spooled records "
                       "with the descriptor they were written with\" table=%s pending=%" PRIu64,
                       name, t->next_seq - 1 - t->frontier);
        }
        if (d != NULL)
            closedir(d);
        for (size_t i = 0; i < sp->ntables; i++)
            if (position_cursor(sp->tables[i]) != ZS_OK)
                return zs_err_set(err, ZS_EIO, NULL, "cannot read the spool of %s",
                                  sp->tables[i]->name);
    }
    if (sp->o.mode == ZS_SPOOL_DISK && sp->o.sync == ZS_SPOOL_SYNC_COMMIT) {
        if (pthread_create(&sp->sync_thread, NULL, sync_thread, sp) != 0)
            return zs_err_set(err, ZS_EIO, NULL, "cannot start the spool's sync thread");
        sp->sync_running = 1;
    }
    if (pthread_create(&sp->thread, NULL, spool_thread, sp) != 0)
        return zs_err_set(err, ZS_EIO, NULL, "cannot start the spool thread");
    sp->thread_running = 1;
    return ZS_OK;
}

void zs_spool_drain(struct zs_spool *sp)
{
    if (sp == NULL)
        return;
    atomic_store(&sp->stopping, 1);
    if (!sp->thread_running)
        return;
    pthread_mutex_lock(&sp->lock);
    sp->drain_req = 1;
    sp->drain_done = 0;
    atomic_store(&sp->kick, 1);
    pthread_cond_signal(&sp->cond);
    while (!sp->drain_done)
        pthread_cond_wait(&sp->drained_cond, &sp->lock);
    pthread_mutex_unlock(&sp->lock);
}

uint64_t zs_spool_destroy(struct zs_spool *sp)
{
    if (sp == NULL)
        return 0;
    zs_spool_drain(sp);
    atomic_store(&sp->stopping, 2);
    if (sp->thread_running) {
        pthread_mutex_lock(&sp->lock);
        pthread_cond_signal(&sp->cond);
        pthread_mutex_unlock(&sp->lock);
        pthread_join(sp->thread, NULL);
    }
    uint64_t lost = 0;
    for (size_t i = 0; i < sp->ntables; i++)
        if (sp->o.mode == ZS_SPOOL_DISK)
            commit_table(sp->tables[i]); /* nothing left normally: drained */
    if (sp->sync_running) {
        pthread_mutex_lock(&sp->sync_lock);
        sp->sync_stop = 1;
        pthread_cond_signal(&sp->sync_cond);
        pthread_mutex_unlock(&sp->sync_lock);
        pthread_join(sp->sync_thread, NULL); /* it answers what it has first */
        sp->sync_running = 0;
    }
    for (size_t i = 0; i < sp->ntables; i++) {
        struct zs_spool_table *t = sp->tables[i];
        if (sp->o.mode == ZS_SPOOL_DISK) {
            checkpoint(t, 1);
            if (t->unsynced && t->wfd >= 0)
                sp->fs->fdatasync(sp->fs->ctx, t->wfd);
        }
        waiters_answer(t, pick_all, NULL, ZS_ECANCELED,
                       sp->o.mode == ZS_SPOOL_DISK
                           ? "the station is stopping; the record stays spooled"
                           : "the station is stopping",
                       true);
        lost += atomic_load(&t->given_up) + atomic_load(&t->dead);
        if (atomic_load(&t->given_up) > 0)
            zs_log(ZS_LOG_ERROR, "spool",
                   "msg=\"records given up at shutdown (memory mode): dead-lettered\" table=%s "
                   "records=%" PRIu64,
                   t->name, (uint64_t)atomic_load(&t->given_up));
    }
    deadletters_write(sp);
    for (size_t i = 0; i < sp->ntables; i++)
        table_free(sp->tables[i]);
    free(sp->tables);
    if (sp->lock_fd >= 0)
        close(sp->lock_fd); /* releases the flock */
    pthread_mutex_destroy(&sp->lock);
    pthread_cond_destroy(&sp->cond);
    pthread_cond_destroy(&sp->drained_cond);
    pthread_mutex_destroy(&sp->sync_lock);
    pthread_cond_destroy(&sp->sync_cond);
    pthread_cond_destroy(&sp->sync_idle);
    free(sp->dir);
    free(sp);
    return lost;
}
