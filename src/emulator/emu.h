/*
 * zerobus-emulator internals (prefix emu_). The emulator uses only src/core and src/http:
 * it parses Unity Catalog types and decodes records on its own, so a bug shared with the
 * station's schema code or encoder cannot hide from the end-to-end tests (design.md §1).
 *
 * Threads: main (libuv loop: HTTP API, signals), the gRPC completion-queue thread (every
 * stream), the store writer (appends and fsyncs, then publishes what is durable).
 * Shared state is the catalog (its table list guarded by cat_lock), tokens (auth_lock),
 * faults (fault_lock) and counters (atomics).
 */
#ifndef EMU_H
#define EMU_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/zs_buf.h"
#include "core/zs_err.h"

/* gRPC status codes (grpc/status.h values; kept here so only grpc_server.c includes gRPC). */
enum emu_status {
    EMU_OK = 0,
    EMU_CANCELLED = 1,
    EMU_UNKNOWN = 2,
    EMU_INVALID_ARGUMENT = 3,
    EMU_DEADLINE_EXCEEDED = 4,
    EMU_NOT_FOUND = 5,
    EMU_ALREADY_EXISTS = 6,
    EMU_PERMISSION_DENIED = 7,
    EMU_RESOURCE_EXHAUSTED = 8,
    EMU_FAILED_PRECONDITION = 9,
    EMU_ABORTED = 10,
    EMU_OUT_OF_RANGE = 11,
    EMU_UNIMPLEMENTED = 12,
    EMU_INTERNAL = 13,
    EMU_UNAVAILABLE = 14,
    EMU_DATA_LOSS = 15,
    EMU_UNAUTHENTICATED = 16,
    EMU_STATUS_COUNT
};

const char *emu_status_name(int code);
/* Parse "UNAVAILABLE" or "14"; -1 if neither. */
int emu_status_parse(const char *s);

/* ---------------------------------------------------------------- types and tables */

enum emu_kind {
    EK_TINYINT,
    EK_SMALLINT,
    EK_INT,
    EK_BIGINT,
    EK_FLOAT,
    EK_DOUBLE,
    EK_BOOLEAN,
    EK_STRING,
    EK_BINARY,
    EK_DATE,
    EK_TIMESTAMP,
    EK_TIMESTAMP_NTZ,
    EK_DECIMAL,
    EK_VARIANT,
    EK_ARRAY,
    EK_MAP,
    EK_STRUCT
};

struct emu_col;

struct emu_type {
    enum emu_kind kind;
    int precision, scale;              /* DECIMAL */
    struct emu_type *elem, *key, *val; /* ARRAY, MAP */
    struct emu_col *fields;            /* STRUCT */
    size_t nfields;
};

struct emu_col {
    char *name;
    struct emu_type *type;
    bool nullable;
};

struct emu_table_stats {
    atomic_llong rows, bytes, streams, acks, records_in;
    atomic_llong errors[EMU_STATUS_COUNT];
};

struct emu_retired; /* column arrays replaced by an ALTER, freed at exit */

struct emu_table {
    char *name;           /* catalog.schema.table */
    struct emu_col *cols; /* NULL until known (auto-create: from the first descriptor);
                             replaced (never changed in place) by emu_table_alter, under
                             cat_lock; the old array lives until exit (descriptors point in) */
    size_t ncols;
    atomic_uint schema_version; /* bumped by each ALTER: older streams fail */
    struct emu_retired *retired;
    struct emu_table_stats st;
    /* store (guarded by the store's lock) */
    int fd;
    struct zs_buf pending;     /* NDJSON lines not yet written */
    uint64_t appended_seq;     /* last batch appended to pending */
    atomic_ullong durable_seq; /* last batch written and fsync'd */
    struct emu_table *next;
};

/* Parse a UC type text (independent of src/schema). NULL on error (err says why). */
struct emu_type *emu_type_parse(const char *text, struct zs_err *err);
void emu_type_free(struct emu_type *t);
/* Spark/UC renderings of a type: "decimal(10,2)", "LONG", type_json. */
char *emu_type_text(const struct emu_type *t);
const char *emu_type_name(const struct emu_type *t);
json_t *emu_type_json(const struct emu_type *t);
void emu_cols_free(struct emu_col *cols, size_t n);

/* ---------------------------------------------------------------- catalog and auth */

struct emu_client {
    char *id;
    char *secret;  /* SECRET: never logged */
    char **grants; /* table names or "catalog.schema.*" / "*" patterns */
    size_t ngrants;
};

struct emu_config {
    const char *catalog_path; /* NULL: none */
    bool auto_create;
    const char *data_dir; /* NULL with store_none */
    bool store_none;
    const char *host;
    int grpc_port, http_port;
    const char *tls_cert, *tls_key;
    int token_ttl_s;
    int ack_delay_min_ms, ack_delay_max_ms;
    int stream_lifetime_ms;
    int close_signal_ms; /* lead time of CloseStreamSignal before the lifetime ends */
    long max_message_bytes;
    bool strict_offsets;
};

struct emu {
    struct emu_config cfg;
    pthread_mutex_t cat_lock;
    struct emu_table *tables;
    struct emu_client *clients;
    size_t nclients;
    bool catalog_lists_clients;
    pthread_mutex_t auth_lock;
    struct emu_token *tokens;
    struct emu_store *store;
    struct emu_faults *faults;
    atomic_llong streams_open;
    atomic_int stopping;
};

/* Load the catalog file (or nothing with auto_create). ZS_OK, ZS_EPARSE, ZS_EINVAL, ZS_EIO. */
zs_rc emu_catalog_load(struct emu *e, struct zs_err *err);
void emu_catalog_free(struct emu *e);
/* Table by full name; with auto_create an unknown name is added (no columns yet). */
struct emu_table *emu_table_get(struct emu *e, const char *name, bool create);
/* UC tables API body for a table. Caller holds cat_lock (the columns may be altered). */
json_t *emu_table_json(const struct emu_table *t);
/* UC list body: the tables of catalog.schema that have columns ({"tables": [...]}). */
json_t *emu_tables_list_json(struct emu *e, const char *catalog, const char *schema);
/*
 * ALTER TABLE name: body {"add": [{"name", "type", "nullable"}], "drop": ["col", ...]}
 * (added columns go last and must be nullable, as Delta requires). Streams opened before
 * fail at their next request. Returns an HTTP status (200 with *out the table's UC body,
 * else msg says why). Thread: any.
 */
int emu_table_alter(struct emu *e, const char *name, json_t *body, json_t **out, char *msg,
                    size_t cap);

/* OAuth client-credentials grant. Returns an HTTP status and sets *body (caller frees). */
int emu_auth_token(struct emu *e, const char *basic_auth, const char *form, char **body);
/*
 * Check a bearer token (the "authorization" metadata value) for table. Returns EMU_OK,
 * EMU_UNAUTHENTICATED (missing, unknown, expired), EMU_PERMISSION_DENIED (no grant);
 * msg receives the reason.
 */
int emu_auth_check(struct emu *e, const char *authorization, const char *table, char *msg,
                   size_t cap);
/* Any valid token with a grant on table (for the UC API). Same returns. */
void emu_auth_expire_all(struct emu *e);
void emu_auth_free(struct emu *e);

/* ---------------------------------------------------------------- faults */

struct emu_faults {
    pthread_mutex_t lock;
    int fail_create_n, fail_create_status;
    char fail_create_msg[128];
    long drop_after_records; /* 0: off; streams fail UNAVAILABLE after this many records */
    long long stall_until_ms;
    int refuse_tokens_status;     /* 0: off */
    int catalog_status;           /* 0: off; else the Unity Catalog API answers this */
    int catalog_delay_ms;         /* Unity Catalog answers wait this long (a far workspace) */
    double rate_limit_rps;        /* 0: off */
    long long close_signal_epoch; /* bumped by "close signal now" */
    int close_signal_duration_ms;
};

void emu_faults_init(struct emu_faults *f);
/* Apply a JSON object of faults (admin endpoint or --faults). 0 ok, else -1 with msg. */
int emu_faults_apply(struct emu_faults *f, json_t *obj, char *msg, size_t cap);
void emu_faults_reset(struct emu_faults *f);
json_t *emu_faults_json(struct emu_faults *f);

/* ---------------------------------------------------------------- records */

struct emu_desc; /* a checked descriptor: root message resolved against the table */

/*
 * Parse a serialized DescriptorProto and check it against the table's columns (names,
 * order, types, optional/required, nested STRUCT/ARRAY/MAP). With no columns yet
 * (auto-create) the columns are taken from the descriptor. Returns NULL with msg set
 * (it names the column) on mismatch.
 */
struct emu_desc *emu_desc_create(struct emu *e, struct emu_table *t, const uint8_t *bytes,
                                 size_t len, char *msg, size_t cap);
void emu_desc_destroy(struct emu_desc *d);

/* Decode one protobuf record into an NDJSON line appended to out. 0 ok, -1 with msg. */
int emu_decode_proto(const struct emu_desc *d, const uint8_t *rec, size_t len, struct zs_buf *out,
                     char *msg, size_t cap);
/* Check one JSON record against columns (NULL: not known, anything goes) and append its
 * NDJSON line. 0 ok, -1 with msg. */
int emu_decode_json(const struct emu_col *cols, size_t ncols, const char *rec, size_t len,
                    struct zs_buf *out, char *msg, size_t cap);

/* ---------------------------------------------------------------- store */

/* Start the writer (data_dir) or the no-op store. ZS_OK, ZS_EIO. */
zs_rc emu_store_start(struct emu *e, struct zs_err *err);
/* Append NDJSON lines for a table; returns the batch's sequence number (durable when
 * t->durable_seq reaches it), 0 on failure. Thread: gRPC thread. */
uint64_t emu_store_append(struct emu *e, struct emu_table *t, const uint8_t *lines, size_t len,
                          long rows);
/* Flush, fsync and stop the writer. */
void emu_store_stop(struct emu *e);

/* ---------------------------------------------------------------- servers */

zs_rc emu_grpc_start(struct emu *e, int *out_port, struct zs_err *err);
/* Close every stream with a status, stop the server and join its thread. */
void emu_grpc_stop(struct emu *e);

long long emu_now_ms(void);

#endif
