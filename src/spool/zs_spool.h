/*
 * The delivery path between the handlers and Zerobus: a write-ahead spool (docs/SPOOL.md).
 *
 * Handlers reach Zerobus only through this interface: submit, flush, state. In `disk`
 * mode a record is framed (length + CRC-32C), appended to its table's current segment by
 * the spool thread and covered by one fdatasync per commit group before its submitter
 * hears ZS_OK (the 202); the spool then hands it to the sink (the Zerobus client) and
 * forgets it once the sink reports it acknowledged. In `memory` mode records go to the sink
 * at once and the 202 means "queued in memory", as in the original service. In both modes
 * the spool tracks which records are acknowledged (the frontier: every record up to it is
 * done), answers requests that wait for an ack or a flush, and dead-letters records the
 * sink rejects for good, so that nothing is dropped without a trace.
 *
 * Threads: one spool thread per struct zs_spool (writes, syncs, checkpoints, reads behind,
 * dead letters, waiter deadlines). zs_spool_submit / _flush / _table_state may be called
 * from any thread; completions (zs_spool_done_fn) run on the spool thread or the sink's
 * thread, never on the caller's: hand them back to your own thread.
 */
#ifndef ZS_SPOOL_H
#define ZS_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/zs_buf.h"
#include "core/zs_err.h"
#include "core/zs_fs.h"
#include "core/zs_hist.h"

struct zs_spool;
struct zs_spool_table;

enum zs_spool_mode { ZS_SPOOL_MEMORY = 0, ZS_SPOOL_DISK = 1 };
enum zs_spool_sync { ZS_SPOOL_SYNC_COMMIT = 0, ZS_SPOOL_SYNC_INTERVAL = 1 };

/* What the upstream (the sink) says about a table, for health. */
struct zs_spool_upstream {
    const char *state;    /* "idle", "opening", "open", "recovering" (static string) */
    char last_error[256]; /* "" if none */
    bool failing;         /* retry budget spent, still retrying */
    uint64_t queued, inflight, acked, failed, recoveries, replayed, streams_opened;
    long long last_ok_ms, last_fail_ms; /* monotonic, 0 if never */
    uint64_t close_signals;             /* (metrics) */
    uint64_t errors[ZS_GRPC_CODES];     /* stream failures retried, by gRPC status */
    uint64_t fatal[ZS_GRPC_CODES];      /* stream failures that failed records for good */
    struct zs_hist_snap ack_latency;    /* batch sent -> acknowledged */
};

/*
 * A completion the sink reports for one record, exactly once: ZS_OK (acknowledged), a
 * non-retryable failure (rejected: the record is dead-lettered), ZS_ECANCELED (shutdown:
 * in disk mode it stays spooled), or ZS_ENOMEM. rec is borrowed for the call.
 */
typedef void (*zs_spool_sink_done_fn)(void *ctx, uint64_t id, const void *rec, size_t len, zs_rc rc,
                                      const char *reason, bool retryable);

/* The sink seam: the Zerobus client in production (zs_zb_sink_ops), a fake in tests. */
struct zs_spool_sink_ops {
    /* Register a table with the descriptor its records were encoded with. */
    zs_rc (*table_add)(void *ctx, const char *table_name, int record_type,
                       const uint8_t *descriptor, size_t descriptor_len, bool eager,
                       void **out_table, struct zs_err *err);
    /* Queue one record (copied). ZS_OK: done(...) follows exactly once. ZS_EAGAIN: window
     * full (try later), ZS_ELIMIT: too large, ZS_ECANCELED: stopping, ZS_ENOMEM. */
    zs_rc (*submit)(void *ctx, void *table, const void *rec, size_t len, bool waited, uint64_t id,
                    zs_spool_sink_done_fn done, void *done_ctx);
    void (*state)(void *ctx, void *table, struct zs_spool_upstream *out);
};

/* Decode a protobuf record of table_name to JSON (appended to out): the schema layer's
 * zs_schema_to_json, reached through the app. ZS_ENOTFOUND (no schema for the table) or
 * ZS_ECORRUPT leave the record as base64 only. Called on the spool thread. */
typedef zs_rc (*zs_spool_decode_fn)(const void *ctx, const char *table_name, const void *rec,
                                    size_t len, struct zs_buf *out);

struct zs_spool_opts {
    enum zs_spool_mode mode;
    enum zs_spool_sync sync;
    const char *dir;            /* disk mode: the spool directory (created, locked); memory
                                   mode: where dead-letter/ goes (created when first needed) */
    uint32_t sync_interval_ms;  /* interval mode: fdatasync period */
    uint64_t segment_bytes;     /* a segment is closed once it reaches this size */
    uint64_t max_bytes;         /* per table, on disk and waiting to be written: beyond, 503 */
    uint64_t max_pending_bytes; /* per table, appended but not yet written: beyond, 429 */
    uint32_t wait_timeout_ms;   /* a wait_for_ack request or flush waits at most this long */
    const struct zs_fs_ops *fs; /* NULL: zs_fs_posix */
    const struct zs_spool_sink_ops *sink;
    void *sink_ctx;
    zs_spool_decode_fn decode; /* NULL: dead letters carry record_base64 only */
    const void *decode_ctx;
};

/*
 * What a submit, flush or wait reports, exactly once. rc ZS_OK with seq: the record's
 * sequence number in its table (the gateway's "offset"; for a flush, the last record it
 * covered). Otherwise: ZS_ENOSPC / ZS_EIO (the commit failed: 503), ZS_EUNAVAIL
 * (upstream failing: 503), ZS_ETIMEDOUT (504), ZS_EAUTH or another non-retryable code
 * (rejected: 502), ZS_ECANCELED (shutdown: 503). reason: for a person, may be NULL.
 */
typedef void (*zs_spool_done_fn)(void *ctx, zs_rc rc, uint64_t seq, const char *reason,
                                 bool retryable);

/*
 * Open the spool: in disk mode create and lock dir (a second station on it gets
 * ZS_ESTATE naming the holder), and scan what an earlier run left (torn tails truncated
 * and kept aside, corrupt segments moved aside: both logged). Nothing is delivered
 * before zs_spool_start. Returns ZS_OK, ZS_EIO (directory not writable: err names the
 * path), ZS_ESTATE (locked), ZS_EINVAL, ZS_ENOMEM. Thread: main.
 */
ZS_MUST_CHECK zs_rc zs_spool_open(const struct zs_spool_opts *opts, struct zs_spool **out,
                                  struct zs_err *err);

/* Tables of one spool, and descriptors (variants) of one table in one run. */
#define ZS_SPOOL_MAX_TABLES 4096
#define ZS_SPOOL_MAX_VARIANTS 32

/*
 * Register a table whose records are encoded with descriptor (copied; NULL for JSON
 * tables), before zs_spool_start or while the spool runs (a reload). A new name gets a
 * table; a name already there (registered, or found on disk) gets the descriptor as one
 * more variant, and its segments left from an earlier run are delivered with their own
 * descriptor first. *out_variant: what submits of records encoded with this descriptor
 * pass (0 for the first descriptor of a new table). Records of different variants are
 * written to different segments, in the order they were accepted.
 * Returns ZS_OK, ZS_ELIMIT (ZS_SPOOL_MAX_TABLES or ZS_SPOOL_MAX_VARIANTS reached), ZS_EIO,
 * or the sink's error. Thread: one caller at a time (main, or a reload); submits and the
 * spool thread go on meanwhile.
 */
ZS_MUST_CHECK zs_rc zs_spool_table_add(struct zs_spool *sp, const char *table_name, int record_type,
                                       const uint8_t *descriptor, size_t descriptor_len, bool eager,
                                       struct zs_spool_table **out, int *out_variant,
                                       struct zs_err *err);

/*
 * Start the spool thread: tables found on disk but not registered are delivered with the
 * descriptor of their segments; every pending record is replayed in spool order.
 * Returns ZS_OK, ZS_EIO (thread), or the sink's error for a spool-only table.
 */
ZS_MUST_CHECK zs_rc zs_spool_start(struct zs_spool *sp, struct zs_err *err);

/*
 * Accept one encoded record (copied before return), encoded with the descriptor of
 * variant (zs_spool_table_add's *out_variant; ZS_EINVAL if the table has no such
 * variant). wait_ack: fn reports when the sink
 * acknowledged it (200); else when it is committed (disk: after the fdatasync covering
 * it) (202). *out_seq: 0 when fn runs later; in memory mode without wait_ack the record is
 * accepted at once, *out_seq is its sequence number and fn never runs (it may be NULL).
 * Returns ZS_EAGAIN (too many records waiting to be written or sent: 429), ZS_EUNAVAIL
 * (spool full or upstream failing: 503), ZS_ELIMIT (too large), ZS_ECANCELED (stopping),
 * ZS_ENOMEM; fn never runs then. Thread: any.
 */
ZS_MUST_CHECK zs_rc zs_spool_submit(struct zs_spool_table *t, int variant, const void *rec,
                                    size_t len, bool wait_ack, zs_spool_done_fn fn, void *ctx,
                                    uint64_t *out_seq);

/* What a flush or a waited batch covered, when it is answered. */
struct zs_spool_counts {
    bool known;            /* set when the flush was registered (not for a failed commit) */
    uint64_t records;      /* covered (see zs_spool_flush) */
    uint64_t acknowledged; /* ... acknowledged by Zerobus */
    uint64_t failed;       /* ... rejected for good (dead-lettered) */
    uint64_t pending;      /* ... neither yet (a timeout, an outage) */
};

/*
 * Submit n records as one batch (recs[i] of lens[i] bytes, borrowed for the call).
 * Disk mode: all or none are accepted, in order, numbered consecutively; fn reports once,
 * like zs_spool_submit for one record: after the group's commit (ZS_OK, seq = the last
 * record's) or, with wait_ack, once every record is done: ZS_OK when all were acknowledged,
 * ZS_EAUTH when some were rejected for good, the other codes as for a record. counts (may
 * be NULL; valid until fn runs) is filled before a wait_ack answer.
 * Memory mode: records go to the sink in order; without wait_ack all are accepted at once
 * (*out_last = the last seq, fn never runs). A full window stops the batch part way:
 * ZS_EAGAIN (or ZS_EUNAVAIL while upstream fails) with *out_accepted < n; the records
 * before it are accepted, and nobody waits for them.
 * Returns as zs_spool_submit, and ZS_EINVAL for n == 0. *out_accepted: records accepted.
 * Thread: any.
 */
ZS_MUST_CHECK zs_rc zs_spool_submit_batch(struct zs_spool_table *t, int variant,
                                          const uint8_t *const *recs, const size_t *lens, size_t n,
                                          bool wait_ack, zs_spool_done_fn fn, void *ctx,
                                          struct zs_spool_counts *counts, uint64_t *out_last,
                                          size_t *out_accepted);

/*
 * A flush covers the records accepted up to this call since the last flush of the table
 * that saw all of its records done (since the start, for the first): a flush that timed
 * out is covered again by the next one. fn reports once every one of them is done: ZS_OK (seq =
 * the last of them) when all were acknowledged; ZS_EAUTH when some were rejected for good
 * (before or after this call); ZS_EUNAVAIL while upstream fails, ZS_ETIMEDOUT after
 * timeout_ms (0: wait_timeout_ms), ZS_ECANCELED at shutdown. counts (may be NULL; owned by
 * the caller, valid until fn runs) is filled just before fn. Same returns as submit.
 */
ZS_MUST_CHECK zs_rc zs_spool_flush(struct zs_spool_table *t, uint32_t timeout_ms,
                                   zs_spool_done_fn fn, void *ctx, struct zs_spool_counts *counts);

struct zs_spool_table_state {
    const char *mode;            /* "disk" or "memory" */
    uint64_t accepted;           /* records accepted since start (the last seq given out) */
    uint64_t pending;            /* accepted, not yet acknowledged (incl. replayed) */
    uint64_t pending_bytes;      /* disk mode: bytes of the table's segments and queues */
    long long oldest_pending_ms; /* age of the oldest pending record, 0 if none */
    uint64_t replayed;           /* records found pending at start and sent again */
    uint64_t dead_letters;       /* records rejected for good, written to dead-letter/ */
    uint64_t given_up;           /* memory mode: records lost at shutdown (dead-lettered) */
    uint64_t segments;
    uint64_t commit_failures; /* groups answered 503 because a write or sync failed */
    uint64_t groups, syncs;   /* commit groups written; fdatasync calls on segments */
    struct zs_spool_upstream up;
};

/* A snapshot for health and metrics. Thread: any. */
void zs_spool_table_state(struct zs_spool_table *t, struct zs_spool_table_state *out);

/* Every table the spool delivers (registered, or left on disk by an earlier
 * configuration): the i-th, or NULL past the end. Tables are never removed. Thread: any. */
struct zs_spool_table *zs_spool_table_at(struct zs_spool *sp, size_t i);
const char *zs_spool_table_name(const struct zs_spool_table *t);

/* The directory and mode, for logs and health. */
const char *zs_spool_dir(const struct zs_spool *sp);
enum zs_spool_mode zs_spool_mode(const struct zs_spool *sp);

/*
 * Stop accepting (submit and flush return ZS_ECANCELED) and commit what is queued, so
 * every accepted record is answered. Blocks until done. Thread: main.
 */
void zs_spool_drain(struct zs_spool *sp);

/*
 * Stop the thread, write the last checkpoint, answer the remaining waiters with
 * ZS_ECANCELED, write queued dead letters, close and unlock. Call after the sink is
 * destroyed (so every sink completion has run). Returns the records given up (memory
 * mode: not acknowledged at shutdown; both modes: dead letters since start), for the exit
 * status. NULL: returns 0. Thread: main.
 */
uint64_t zs_spool_destroy(struct zs_spool *sp);

/* ---------------------------------------------------------------- offline tools */

/*
 * `zerobus-station spool status|dump`: read dir without the lock (safe while a station
 * runs: read-only). status prints per table: segments, pending records and bytes, oldest
 * pending age, dead letters. dump prints table's pending records, one JSON line each
 * ({"seq", "record_base64"}, and "record": the JSON text of JSON tables, or the record
 * decoded with decode when given and it succeeds). Returns ZS_OK, ZS_ENOTFOUND,
 * ZS_EIO. Thread: main.
 */
ZS_MUST_CHECK zs_rc zs_spool_status(const char *dir, FILE *out, struct zs_err *err);
ZS_MUST_CHECK zs_rc zs_spool_dump(const char *dir, const char *table_name, FILE *out,
                                  zs_spool_decode_fn decode, const void *decode_ctx,
                                  struct zs_err *err);

#endif
