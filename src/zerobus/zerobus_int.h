/*
 * Zerobus client internals: tables, streams, the transport seam and the token source.
 * Everything here runs on the client thread unless a comment says otherwise.
 */
#ifndef ZS_ZEROBUS_INT_H
#define ZS_ZEROBUS_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/zs_buf.h"
#include "core/zs_err.h"
#include "core/zs_hist.h"
#include "zerobus/zs_zerobus.h"

struct zb_stream;
struct zb_remap;
struct zb_token_result;
struct zb_rec;

/*
 * The transport seam (gRPC in transport_grpc.c, a fake in the unit tests). A call is
 * opened with its metadata; the transport reports back through zb_stream_on_*.
 * At most one send is outstanding per call. All ops run on the client thread.
 */
struct zs_zb_transport_ops {
    /* Start a call; NULL on immediate failure. authorization may be NULL. */
    void *(*open)(void *tctx, struct zb_stream *s, const char *authorization, const char *table);
    /* Send one serialized EphemeralStreamRequest; 0 ok (on_send_done follows), -1 failed. */
    int (*send)(void *tctx, void *call, const uint8_t *msg, size_t len);
    /* Half-close the request side (no more sends). */
    void (*half_close)(void *tctx, void *call);
    /* Cancel the call; on_status follows with CANCELLED (or the real status). */
    void (*cancel)(void *tctx, void *call);
    /* The stream will never look at this call again (after on_status). */
    void (*release)(void *tctx, void *call);
    /* Deliver completions for up to timeout_ms (the client thread's wait). */
    void (*poll)(void *tctx, int timeout_ms);
    /* Any thread: make the poll in progress, or the next one, return without waiting.
     * NULL in the unit tests' fake (they call zb_client_tick themselves). */
    void (*wake)(void *tctx);
    void (*destroy)(void *tctx);
};

/* Events from the transport (client thread). */
void zb_stream_on_message(struct zb_stream *s, const uint8_t *msg, size_t len);
void zb_stream_on_send_done(struct zb_stream *s, int ok);
void zb_stream_on_status(struct zb_stream *s, int code, const char *details);

/* Stream operations for the client (client thread). */
void zb_stream_tick(struct zb_stream *s, int force); /* timers and batching */
/* When tick next has work (absolute ms; LLONG_MAX: only an event or a record can give it
 * some), and whether a record arriving now would be acted on at once (so a sleeping client
 * thread must be woken for it). force as for tick. */
long long zb_stream_next_ms(const struct zb_stream *s, int force);
int zb_stream_takes_records(const struct zb_stream *s);
/* Take a record; waited: see zs_zb_submit_seq. -1 on ENOMEM. */
int zb_stream_add(struct zb_stream *s, const struct zb_rec *r, int waited);
void zb_stream_token(struct zb_stream *s, const char *token, const char *reason, int retryable);
void zb_stream_eager_open(struct zb_stream *s);
void zb_stream_shutdown(struct zb_stream *s, const char *reason); /* fail all, free */
/* A held stream after zs_zb_retarget: m NULL fails its records for good (the reason of
 * the refusal); else rewrites them with m (those that do not fit fail, with why) and
 * opens again. */
void zb_stream_unhold(struct zb_stream *s, const struct zb_remap *m);

/* Tokens: fetched off the client thread; results come back through the client's inbox. */
struct zb_token_source {
    /* Ask for a token for table (fresh if force). Completion: zb_client_token_ready. */
    void (*request)(void *ctx, const char *table, int force);
    void (*destroy)(void *ctx);
    void *ctx;
};

struct zb_rec {
    uint8_t *data;
    uint32_t len;
    uint64_t seq; /* table submission order, for flushes */
    zs_zb_done_fn fn;
    zs_zb_rec_fn rfn; /* instead of fn (zs_zb_submit_rec) */
    void *ctx;
    uint64_t id; /* the submitter's, for rfn */
};

struct zb_batch {
    int64_t offset;    /* wire offset on the current call */
    size_t count;      /* records, taken from the front of the stream's unacked records */
    long long sent_us; /* zs_mono_us when it was sent (ack latency) */
};

/* A growable FIFO of records: [acked-pending ... | unsent ...]. */
struct zb_recq {
    struct zb_rec *v;
    size_t head, len, cap;
};

enum zb_state {
    ZB_IDLE,
    ZB_WAIT_TOKEN,
    ZB_OPENING,
    ZB_OPEN,
    ZB_PAUSED,
    ZB_BACKOFF,
    ZB_HELD, /* refused for its descriptor: records kept until zs_zb_retarget */
    ZB_CLOSED
};

/* A plan rewriting records of one descriptor for another (remap.c). */
/* NULL with why when a descriptor does not parse. Thread: any. */
struct zb_remap *zb_remap_create(const uint8_t *old_desc, size_t old_len, const uint8_t *new_desc,
                                 size_t new_len, char *why, size_t cap);
/* Rewrite rec into *out (zs_alloc'd, the caller frees): 0, or -1 with why (a column that
 * was dropped or changed type has a value, a NOT NULL column has none, a malformed record). */
int zb_remap_record(const struct zb_remap *m, const uint8_t *rec, size_t len, uint8_t **out,
                    size_t *out_len, char *why, size_t cap);
void zb_remap_destroy(struct zb_remap *m);
/* Rewrite record r of table t with m in place (its data, its length and the table's window
 * bytes follow): 0, or -1 with the reason to fail it with (r unchanged). Client thread. */
int zb_rec_remap(struct zs_zb_table *t, const struct zb_remap *m, struct zb_rec *r, char *reason,
                 size_t cap);

struct zb_stream {
    struct zs_zb_table *t;
    int index;
    enum zb_state state;
    void *call; /* client thread; set through stream_set_call (all_idle reads it at shutdown) */
    int send_busy, half_closed;
    int dropping;             /* we cancelled the call: keep our reason over CANCELLED */
    struct zb_recq recs;      /* every record not completed, in order */
    size_t n_sent;            /* recs[0..n_sent) are in batches on the current call */
    struct zb_batch *batches; /* sent, unacked, in offset order */
    size_t nb, bcap;
    int64_t next_offset;
    struct zs_buf msg;     /* scratch for serializing requests */
    long long deadline_ms; /* create timeout, backoff end, pause end */
    long long last_msg_ms; /* last server message (ack timeout) */
    long long oldest_unsent_ms;
    int waited;        /* an unsent record is waited for: no linger until all are sent */
    unsigned attempts; /* failed opens in the current episode */
    int token_retry_used;
    char last_error[256];
    int last_code;
    char token[4096]; /* SECRET: the bearer token for this attempt */
};

struct zb_flush {
    uint64_t seq; /* covers records with seq <= this */
    uint64_t remaining;
    long long deadline_ms;
    zs_zb_done_fn fn;
    void *ctx;
    struct zb_flush *next;
};

/* Work handed over by other threads (submit, flush), under the table's lock. */
struct zb_op {
    int is_flush;
    int waited; /* zs_zb_submit_seq's waited */
    struct zb_rec rec;
    uint32_t timeout_ms;
};

struct zs_zb_table {
    struct zs_zb *z;
    char *name;
    int record_type;
    uint8_t *descriptor;
    size_t descriptor_len;
    struct zb_stream *streams;
    unsigned nstreams;
    unsigned rr;          /* next stream for round-robin */
    pthread_mutex_t lock; /* inbox and counters below */
    struct zb_op *inbox;
    size_t inbox_len, inbox_cap;
    uint64_t next_seq;
    atomic_uint submits;  /* inbox pushes, ever (wrapping) */
    unsigned drained_at;  /* client thread: submits when the inbox was last drained */
    atomic_int want_wake; /* client thread's verdict before it sleeps: wake me on a record */
    atomic_ullong outstanding, outstanding_bytes; /* submitted, not completed (the window) */
    atomic_ullong acked, failed, recoveries, replayed, streams_opened;
    atomic_llong last_ok_ms, last_fail_ms;
    atomic_int failing; /* a stream spent its retry budget and keeps retrying (backoff grows) */
    /* Client thread writes (zs_counter_add), any thread reads: */
    atomic_ullong close_signals;
    atomic_ullong errors[ZS_GRPC_CODES]; /* stream failures that were retried, by status */
    atomic_ullong fatal[ZS_GRPC_CODES];  /* ... that failed their records for good */
    struct zs_hist ack_latency;          /* batch sent -> acknowledged */
    /* Published by the client thread after each tick, for zs_zb_table_state (any thread):
     * the worst stream state and the records in flight. */
    atomic_int pub_state;
    atomic_ullong pub_inflight;
    uint64_t completed_seq_count;
    struct zb_flush *flushes;
    char last_error[256];
    int want_open;
    /* Schema changes (client thread, except retarget*: under lock) */
    atomic_int held;   /* a stream is ZB_HELD; the hook ran (zs_zb_held reads it) */
    uint8_t *retarget; /* zs_zb_retarget's descriptor, not yet applied */
    size_t retarget_len;
    atomic_int retarget_pending; /* read without the lock by the client thread */
    uint8_t *orig_desc;          /* the descriptor submitted records are encoded with, once */
    size_t orig_desc_len;        /* ... retargeted (then remap rewrites them) */
    struct zb_remap *remap;      /* orig_desc -> descriptor, or NULL */
    struct zs_zb_table *next;
};

struct zs_zb {
    struct zs_zb_opts o;
    char *endpoint, *tls_ca_file, *workspace_url, *workspace_id, *client_id, *client_secret;
    const struct zs_zb_transport_ops *tops;
    void *tctx;
    struct zb_token_source tokens;
    atomic_ullong token_fetches, token_failures; /* token endpoint calls (token thread) */
    /* Added at the head by zs_zb_table_add (any thread, under lock) while the client thread
     * walks it: atomic, so a table is whole before the client thread sees it; never
     * removed before zb_client_release. */
    struct zs_zb_table *_Atomic tables;
    pthread_t thread;
    int thread_running;
    atomic_int stopping;
    atomic_int sleeping;  /* the client thread is in (or entering) its wait */
    size_t drained;       /* client thread: operations the last tick took from the inboxes */
    pthread_mutex_t lock; /* token inbox */
    struct zb_token_result *token_inbox;
    long long (*now_ms)(void);
};

/* Clock (monotonic ms); tests may replace z->now_ms. */
long long zb_now_ms(void);

/* One iteration of the client thread's work: inboxes, timers, batching. */
void zb_client_tick(struct zs_zb *z);

/* Before the client thread waits (after a tick): how long it may wait, in ms (0 ... 1000;
 * 10 at most while stopping, 1 after a tick that took records), before a timer needs it;
 * records each table's want_wake (whether a record submitted meanwhile must wake it: never
 * after a tick that took records) and sets z->sleeping. Returns 0 when such a record
 * arrived since the tick's drain. Client thread. */
#define ZB_MAX_WAIT_MS 1000
#define ZB_STOPPING_WAIT_MS 10
#define ZB_BUSY_POLL_MS 1
int zb_client_prepare_wait(struct zs_zb *z);

/* Token arrived (any thread): queued for the client thread. token NULL on failure. */
void zb_client_token_ready(struct zs_zb *z, const char *table, const char *token, int http_status,
                           const char *reason, int retryable);

/* Build a client around a transport without starting its thread (unit tests). */
zs_rc zb_client_init(struct zs_zb *z, const struct zs_zb_opts *o,
                     const struct zs_zb_transport_ops *tops, void *tctx, struct zs_err *err);
void zb_client_release(struct zs_zb *z);

/* The OAuth token source (tokens.c); needs workspace_url. */
zs_rc zb_tokens_create(struct zs_zb *z, struct zs_err *err);

/* The gRPC transport (transport_grpc.c). */
zs_rc zb_transport_grpc_create(const char *endpoint, const char *tls_ca_file,
                               const struct zs_zb_transport_ops **ops, void **tctx,
                               struct zs_err *err);

/* Status classification (protocol §4.7): fatal codes are not retried. */
int zb_status_retryable(int code);

/* Backoff before attempt n+1 of an episode (attempts: failed so far, >= 1): 0 for the first
 * retry, recovery_backoff_ms up to recovery_retries, then doubling (from at least 100 ms) up
 * to recovery_backoff_max_ms: an outage never makes the client give a record up. */
long long zb_backoff_ms(const struct zs_zb_opts *o, unsigned attempts);

#endif
