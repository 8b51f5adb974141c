/*
 * The station's Zerobus client: long-lived EphemeralStream calls per table, records
 * coalesced into batches, a bounded in-flight window, cumulative acks, recovery with
 * replay, and OAuth tokens (zerobus-protocol.md §2-§5, Appendix B).
 *
 * Threads: a struct zs_zb owns one client thread that runs every stream (the gRPC
 * completion queue, timers, batching). zs_zb_submit and zs_zb_flush may be called from
 * any thread; they copy what they need and never block on the network. Completions
 * (zs_zb_done_fn) run on the client thread, exactly once per record or flush: callers
 * hand the result back to their own thread (the gateway uses uv_async_send).
 */
#ifndef ZS_ZEROBUS_H
#define ZS_ZEROBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/zs_err.h"
#include "spool/zs_spool.h"

struct zs_zb;
struct zs_zb_table;

struct zs_zb_opts {
    const char *endpoint;    /* "host", "host:port", "https://host[:port]", "http://h:p" (h2c) */
    const char *tls_ca_file; /* PEM roots instead of the system's; NULL: system roots */
    /* OAuth (NULL workspace_url: no token, for tests that pass headers themselves). */
    const char *workspace_url;
    const char *workspace_id; /* NULL: first label of the endpoint host */
    const char *client_id;
    const char *client_secret; /* SECRET: copied, wiped on destroy, never logged */
    /* Batching and window. Every value is used as given (defaults live in the option
     * tables, src/config/options.c; zs_api_zb_opts fills them); zero is valid only where
     * the option's range allows it. */
    uint32_t linger_ms;            /* [5] a partial batch waits this long for company */
    uint32_t max_batch_records;    /* [1000] */
    size_t max_batch_bytes;        /* [10 MiB - 64 KiB] */
    uint32_t max_inflight_records; /* [1000000] queued + unacknowledged, per table */
    size_t max_inflight_bytes;     /* [256 MiB] per table */
    /* Recovery (SDK defaults, protocol §4.10). A retryable failure never fails a record:
     * after 1 + recovery_retries attempts the table is "failing" (zs_zb_table_state) and
     * the backoff doubles up to recovery_backoff_max_ms, for as long as it takes. */
    uint32_t recovery_timeout_ms;     /* [15000] per open attempt */
    uint32_t recovery_backoff_ms;     /* [2000] between attempts */
    uint32_t recovery_retries;        /* [4] attempts after the first at the fixed backoff */
    uint32_t recovery_backoff_max_ms; /* [30000] ceiling of the growing backoff */
    uint32_t ack_timeout_ms;          /* [60000] no server message while requests are in flight */
    uint32_t flush_timeout_ms;        /* [300000] */
    uint32_t streams_per_table;       /* [1] */
    /* A PROTO stream refused with INVALID_ARGUMENT (the table no longer matches the
     * descriptor: it was altered): with this hook its records are held, not failed, and
     * the hook runs once (client thread; do not block) until zs_zb_retarget answers.
     * NULL: such records fail for good (protocol §4.7). */
    void (*on_schema_reject)(void *ctx, const char *table_name, const char *error);
    void *hook_ctx;
};

/* What a completion reports. rc ZS_OK: durable (acknowledged). Otherwise reason says why
 * and retryable whether sending the record again may succeed (the gateway's 503 vs 502).
 * Retryable upstream failures are retried, not reported: a record completes with ZS_OK,
 * a non-retryable status (rejected), ZS_ECANCELED (shutdown) or ZS_ENOMEM. */
typedef void (*zs_zb_done_fn)(void *ctx, zs_rc rc, const char *reason, bool retryable);

/* The same for zs_zb_submit_rec: also the submitter's id and the record (borrowed for the
 * call: copy it to keep it, e.g. for a dead letter). */
typedef void (*zs_zb_rec_fn)(void *ctx, uint64_t id, const void *rec, size_t len, zs_rc rc,
                             const char *reason, bool retryable);

/*
 * Start a client (and its thread). Options are copied. Returns ZS_OK, ZS_EINVAL (bad
 * endpoint: err says why), ZS_ENOMEM, ZS_EIO (thread).
 * Thread: any (typically main).
 */
ZS_MUST_CHECK zs_rc zs_zb_create(const struct zs_zb_opts *opts, struct zs_zb **out,
                                 struct zs_err *err);

/*
 * Register a table. record_type 1 = PROTO (descriptor required), 2 = JSON. Streams open
 * lazily at the first record, or now with eager. The descriptor is copied.
 * Thread: any, before records are submitted to it.
 */
ZS_MUST_CHECK zs_rc zs_zb_table_add(struct zs_zb *z, const char *table_name, int record_type,
                                    const uint8_t *descriptor, size_t descriptor_len, bool eager,
                                    struct zs_zb_table **out, struct zs_err *err);

/*
 * The descriptor table_name's records should be sent with now (after on_schema_reject and
 * a new look at the table). For each of its tables whose records are held: the same
 * descriptor as theirs fails them for good (the table did not change: they were refused
 * for another reason); another one rewrites them for it (columns matched by name; a record
 * with a value for a dropped or retyped column, or without one for a NOT NULL column, fails
 * for good with that reason), and later records of that table are rewritten as they come.
 * Tables not held are left alone. desc is copied. Thread: any.
 */
void zs_zb_retarget(struct zs_zb *z, const char *table_name, const uint8_t *desc, size_t len);

/* Whether some table of that name holds records for zs_zb_retarget. Thread: any. */
bool zs_zb_held(struct zs_zb *z, const char *table_name);

/*
 * Queue one encoded record (copied). On ZS_OK fn(ctx, ...) runs exactly once, later, on
 * the client thread. Returns ZS_EAGAIN when the table's window is full (backpressure:
 * answer 429), ZS_EUNAVAIL when the table failed for good (its reason in
 * zs_zb_table_state), ZS_ECANCELED after shutdown began, ZS_ENOMEM. fn never runs then.
 * Thread: any.
 */
ZS_MUST_CHECK zs_rc zs_zb_submit(struct zs_zb_table *t, const void *rec, size_t len,
                                 zs_zb_done_fn fn, void *ctx);

/* The same, also returning the record's sequence number in its table (1, 2, ...), the
 * "offset" the gateway reports; out_seq may be NULL. waited: somebody waits for this
 * record's ack (a wait_for_ack request), so it does not wait for the linger: its batch,
 * with whatever lingers before it, goes as soon as the stream can send. */
ZS_MUST_CHECK zs_rc zs_zb_submit_seq(struct zs_zb_table *t, const void *rec, size_t len,
                                     zs_zb_done_fn fn, void *ctx, bool waited, uint64_t *out_seq);

/* zs_zb_submit_seq with a zs_zb_rec_fn completion that gets id and the record back. */
ZS_MUST_CHECK zs_rc zs_zb_submit_rec(struct zs_zb_table *t, const void *rec, size_t len,
                                     bool waited, uint64_t id, zs_zb_rec_fn fn, void *ctx);

/*
 * Complete fn once every record submitted to t before this call is acknowledged (ZS_OK),
 * or failed, or timeout_ms passed (ZS_ETIMEDOUT). 0 = the flush_timeout_ms option.
 * Same threading and returns as zs_zb_submit.
 */
ZS_MUST_CHECK zs_rc zs_zb_flush(struct zs_zb_table *t, uint32_t timeout_ms, zs_zb_done_fn fn,
                                void *ctx);

struct zs_zb_table_state {
    const char *state;      /* "idle", "opening", "open", "recovering", "failed" (worst stream) */
    char last_error[256];   /* "" if none */
    uint64_t queued;        /* submitted, not yet sent */
    uint64_t inflight;      /* sent, not yet acknowledged */
    uint64_t acked, failed; /* records completed OK / with an error */
    uint64_t recoveries;    /* streams reopened after an error or close signal */
    uint64_t replayed;      /* records sent again on a new stream */
    uint64_t streams_opened;
    long long last_ok_ms;           /* monotonic ms of the last acknowledged record, 0 if none */
    long long last_fail_ms;         /* of the last failed record, 0 if none */
    bool failing;                   /* retry budget spent: still retrying, with a growing backoff */
    uint64_t close_signals;         /* CloseStreamSignals received */
    uint64_t errors[ZS_GRPC_CODES]; /* stream failures retried, by gRPC status */
    uint64_t fatal[ZS_GRPC_CODES];  /* stream failures that failed records for good */
    struct zs_hist_snap ack_latency; /* batch sent -> acknowledged */
};

/* A snapshot of the table's counters (consistent enough for health and metrics). Any thread. */
void zs_zb_table_state(struct zs_zb_table *t, struct zs_zb_table_state *out);

/* Calls to the token endpoint since the start, and how many of them failed. Any thread. */
void zs_zb_token_counts(struct zs_zb *z, uint64_t *fetches, uint64_t *failures);

/* The client as the spool's sink; the sink context is the struct zs_zb. */
extern const struct zs_spool_sink_ops zs_zb_sink_ops;

/*
 * Flush everything with a deadline, close every stream (half-close, drain acks), fail what
 * is left with ZS_ECANCELED, stop the thread, free everything. NULL does nothing.
 * Thread: any but the client thread; no submit may run concurrently or after.
 */
void zs_zb_destroy(struct zs_zb *z, uint32_t deadline_ms);

#endif
