/*
 * The gateway's state, shared by its handlers (gateway.c) and its metrics (metrics.c).
 * Not a contract for anyone outside src/api/.
 */
#ifndef ZS_GATEWAY_INT_H
#define ZS_GATEWAY_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "api/batch.h"
#include "api/zs_api.h"
#include "core/zs_hist.h"

/* The routes /metrics counts requests of (zs_http_req.route). */
enum gw_route {
    ROUTE_OTHER, /* no route matched, or refused by the HTTP layer before routing */
    ROUTE_INGEST,
    ROUTE_FLUSH,
    ROUTE_REST,
    ROUTE_HEALTH,
    ROUTE_INFO,
    ROUTE_OPENAPI,
    ROUTE_DOCS,
    ROUTE_METRICS,
    ROUTE_ADMIN,
    ROUTE_COUNT
};
extern const char *const gw_route_names[ROUTE_COUNT];

/* Where an ingest request's records ended: accepted (2xx) or refused for a reason. */
enum gw_tally {
    TALLY_ACCEPTED,
    TALLY_VALIDATION,   /* 400: a record or the body does not fit the schema */
    TALLY_TOO_LARGE,    /* 413 */
    TALLY_BACKPRESSURE, /* 429 */
    TALLY_AUTH,         /* 401 / 403 (requests: their records were not read) */
    TALLY_UNAVAILABLE,  /* 503: upstream failing, spool full or failing, shutting down */
    TALLY_TIMEOUT,      /* 504: wait_for_ack timed out (the records stay spooled) */
    TALLY_UPSTREAM,     /* 502: Zerobus rejected them (wait_for_ack) */
    TALLY_COUNT
};
extern const char *const gw_tally_names[TALLY_COUNT];

/* HTTP statuses counted one by one; the rest under "other". */
#define GW_CODES 20
extern const int gw_codes[GW_CODES - 1];

/* Per-table counters live in slots: one per Delta table name for the whole run (a
 * reload keeps a table's slot, a new name takes the next one). A worker's slots come in
 * chunks it allocates itself when it first counts there. */
#define GW_SLOT_CHUNK 64
#define GW_SLOT_CHUNKS 64 /* GW_SLOT_CHUNK * GW_SLOT_CHUNKS >= ZS_SPOOL_MAX_TABLES */

/* A worker's counters: written by its thread only (zs_counter_add), read by /metrics. */
struct gw_metrics {
    atomic_ullong requests[ROUTE_COUNT][GW_CODES];
    atomic_ullong bytes_in[ROUTE_COUNT];
    struct zs_hist duration[ROUTE_COUNT];
    /* [slot % GW_SLOT_CHUNK * TALLY_COUNT + enum gw_tally] of chunk slot / GW_SLOT_CHUNK */
    atomic_ullong *_Atomic tally[GW_SLOT_CHUNKS];
};

struct gw_table {
    size_t slot; /* its counters' (struct gw_metrics) */
    const struct zs_table_cfg *cfg;
    struct zs_spool_table *st;
    int var;        /* the spool variant of cfg's schema */
    char *key_json; /* cfg->key as a quoted JSON string, for the hot-path replies */
};

/*
 * One configuration as the handlers see it; a reload makes a new one. Requests use the
 * generation their worker held when they arrived; a parked request keeps its own
 * reference. Freed (with its configuration, unless that is the first) at the last unref.
 */
struct gw_gen {
    atomic_long refs;
    unsigned no;
    const struct zs_config *c;
    struct zs_config *owned; /* c, when this generation frees it */
    struct gw_table *tables;
    size_t ntables;
};

void gw_gen_ref(struct gw_gen *gen);
void gw_gen_unref(struct gw_gen *gen); /* NULL does nothing */

enum park_kind { PARK_INGEST, PARK_FLUSH, PARK_BATCH, PARK_RELOAD };

/* A request waiting for the spool (commit, ack, flush). */
struct parked {
    struct zs_handoff_node node; /* first: the runtime hands the node back */
    struct zs_gateway_worker *w;
    struct zs_http_req *req;
    enum park_kind kind;
    bool wait;
    const struct gw_table *t;
    struct gw_gen *gen; /* t's generation (a reference) */
    uint64_t seq;
    zs_rc rc;
    bool retryable;
    char reason[256];
    struct zs_spool_counts counts; /* a flush's or a waited batch's, filled before its answer */
    size_t records;                /* a batch: records submitted */
    size_t rejected;               /* ... and invalid ones left out (partial=true) */
    json_t *errors;                /* ... their list, or NULL */
    int reload_status;             /* a reload: its answer */
    char *reload_json;
};

struct zs_gateway_worker {
    struct zs_gateway *g;
    struct zs_transcoder *tc;
    struct zs_buf rec;
    struct zs_batch batch; /* a batch request's records */
    const uint8_t **bptr;  /* ... handed to the spool */
    size_t *blen, bcap;
    zs_gateway_post_fn post;
    void *post_ctx;
    struct zs_keys *keys; /* this worker's reference to the keys (NULL: no auth) */
    unsigned keys_gen;    /* ... as of this generation of the gateway's */
    struct gw_gen *gen;   /* the configuration of the request being handled (a reference) */
    struct gw_metrics m;
    struct zs_gateway_worker *next_worker; /* the gateway's list (workers_mu) */
};

/* Failed authentications of one source address (a small table: the most recent ones). */
#define FAIL_SLOTS 256
struct fail_slot {
    char peer[48];
    unsigned long count;
};

struct zs_gateway {
    const struct zs_config *c; /* the first configuration (what only a restart changes) */
    struct zs_spool *sp;
    pthread_mutex_t gen_mu; /* gen, slot_names */
    struct gw_gen *gen;     /* the current configuration (the gateway's reference) */
    atomic_uint gen_no;     /* gen->no, for the workers' one-load check */
    char *slot_names[GW_SLOT_CHUNK * GW_SLOT_CHUNKS];
    size_t nslots;
    atomic_long parked;
    atomic_int stopping;
    pthread_mutex_t keys_mu;    /* keys, keys_gen's changes, fails */
    struct zs_keys *keys;       /* NULL: no authentication */
    atomic_uint keys_gen;       /* bumped by each zs_gateway_set_keys */
    atomic_int auth_on;         /* keys != NULL, for /health */
    atomic_ulong auth_failures; /* since the start */
    struct fail_slot fails[FAIL_SLOTS];
    unsigned fail_next;             /* the slot a new address takes */
    unsigned long reloads;          /* SIGHUP reloads tried (keys_mu) */
    char reload_error[300];         /* the last one's error, or "" (keys_mu) */
    unsigned long reload_failures;  /* ... of which failed (keys_mu) */
    char *reload_summary;           /* the last reload's JSON summary, or NULL (keys_mu) */
    zs_gateway_reload_fn reload_fn; /* POST /admin/reload, or NULL */
    void *reload_ctx;
    pthread_mutex_t workers_mu; /* workers */
    struct zs_gateway_worker *workers;
    zs_gateway_metrics_fn metrics_fn; /* the runtime's families, or NULL */
    void *metrics_ctx;
};

/* Count n records of t under reason (the worker's thread). */
void gw_tally(struct zs_gateway_worker *w, const struct gw_table *t, enum gw_tally reason,
              size_t n);

/* GET /metrics (metrics.c), for the configuration gen. */
void gw_handle_metrics(struct zs_gateway *g, const struct gw_gen *gen, struct zs_http_req *r);

#endif
