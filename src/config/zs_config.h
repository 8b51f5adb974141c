/*
 * Configuration: the original service's config.json (unchanged format) plus optional
 * extension keys, .env, the environment and flags → one frozen struct zs_config.
 * Sources, lowest first: option defaults, config.json, .env, environment.
 * Every extension option is declared once in an option table (options.c) with its
 * default, limits and description; docs/CONFIG.md is generated from those tables.
 *
 * Errors name the file, the line, the JSON path and the problem:
 *   config.json:14: tables.orders.fields[2]: unknown key "proto_typ"
 * Secrets (the client secret) are never part of an error or of any printed output.
 * Thread: load on one thread; the frozen config is then shared read-only.
 */
#ifndef ZS_CONFIG_H
#define ZS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/zs_buf.h"
#include "core/zs_err.h"
#include "schema/zs_schema.h"

enum zs_record_type { ZS_RECORD_PROTO = 1, ZS_RECORD_JSON = 2 }; /* wire values (protocol §1.2) */

/* The "station" section: gateway-wide extension options. */
struct zs_station_opts {
    /* Delivery and the spool (spool/zs_spool.h) */
    int64_t durability;    /* enum zs_spool_mode: 0 memory, 1 disk */
    const char *spool_dir; /* NULL: spool/ beside the config file */
    int64_t spool_sync;    /* enum zs_spool_sync: 0 commit, 1 interval */
    int64_t spool_sync_interval_ms;
    int64_t spool_segment_bytes;
    int64_t spool_max_bytes;
    int64_t spool_max_pending_bytes;
    int64_t wait_timeout_ms;
    int64_t unknown_fields; /* 0 = reject, 1 = ignore */
    int64_t max_json_depth;
    int64_t max_record_bytes;
    /* Zerobus client (zs_zerobus.h) */
    int64_t streams_per_table;
    int64_t linger_ms;
    int64_t max_batch_records;
    int64_t max_batch_bytes;
    int64_t max_inflight_records;
    int64_t max_inflight_bytes;
    int64_t recovery_timeout_ms;
    int64_t recovery_backoff_ms;
    int64_t recovery_retries;
    int64_t recovery_backoff_max_ms;
    int64_t ack_timeout_ms;
    int64_t flush_timeout_ms;
    int64_t max_body_bytes;      /* HTTP request body */
    int64_t max_request_records; /* records in one batch request */
    int64_t max_batch_errors;    /* rejected records listed in a batch answer */
    /* Ingest authentication (access/zs_keys.h) */
    int64_t auth;              /* enum zs_auth_mode */
    const char *keys_file;     /* NULL: none; relative to the config file */
    const char *tls_cert;      /* PEM certificate (and chain) of TLS listeners, or NULL */
    const char *tls_key;       /* its private key (PEM), or NULL */
    const char *tls_client_ca; /* CAs of client certificates (mTLS), or NULL */
    int64_t open_docs;         /* OpenAPI and detailed health without a key */
    int64_t access_log;        /* 0 off, 1 errors, 2 all */
    /* Schemas from Unity Catalog (catalog/zs_catalog.h) */
    int64_t schema_check;         /* enum zs_schema_check */
    const char *schema_cache_dir; /* NULL: schemas/ in the spool directory */
    int64_t catalog_timeout_ms;   /* one Unity Catalog or token call */
    int64_t catalog_parallel;     /* tables fetched at once */
};

enum zs_schema_check { ZS_SCHEMA_CHECK_WARN, ZS_SCHEMA_CHECK_STRICT, ZS_SCHEMA_CHECK_OFF };

/* Where a table's columns came from. */
enum zs_schema_source {
    ZS_SCHEMA_FROM_CONFIG,  /* "fields" in config.json */
    ZS_SCHEMA_FROM_CATALOG, /* fetched from Unity Catalog at this load */
    ZS_SCHEMA_FROM_CACHE,   /* the catalog was unreachable: the cached copy */
};

enum zs_auth_mode { ZS_AUTH_AUTO, ZS_AUTH_NONE, ZS_AUTH_KEYS };

struct zs_table_cfg {
    const char *key;        /* route key: POST /ingest/{key} */
    const char *table_name; /* catalog.schema.table */
    const char *proto_package;
    const char *message_name;
    int64_t record_type;         /* enum zs_record_type */
    int64_t unknown_fields;      /* 0 = reject, 1 = ignore (inherits the station's) */
    struct zs_schema *schema;    /* compiled columns; NULL while from_catalog is unresolved */
    bool from_catalog;           /* no "fields": zs_catalog_resolve fills schema */
    int schema_source;           /* enum zs_schema_source */
    int64_t schema_fetched_unix; /* catalog or cache: when the columns were fetched, else 0 */
};

struct zs_config {
    const char *path;            /* config file as given */
    const char *env_path;        /* .env that was read, or NULL */
    const char *server_endpoint; /* databricks.server_endpoint */
    const char *workspace_id;    /* databricks.workspace_id, or derived from the endpoint */
    const char *workspace_url;   /* databricks.workspace_url */
    const char *tls_ca_file;     /* databricks.tls_ca_file (extension), or NULL: system roots */
    char *client_id;             /* DATABRICKS_CLIENT_ID, or NULL */
    char *client_secret;         /* DATABRICKS_CLIENT_SECRET, or NULL; SECRET: never print */
    struct zs_station_opts station;
    struct zs_table_cfg *tables;
    size_t ntables;
    const char *auth_json; /* the "auth" section as JSON text (a keys document), or NULL */
    unsigned env_warnings; /* .env lines ignored (not KEY=VALUE) */
    unsigned env_first_bad_line;
    struct zs_arena *arena; /* owns the strings and tables */
};

/* A parsed .env file: ordered KEY=VALUE pairs, values expanded. */
struct zs_dotenv {
    size_t n;
    char **keys;
    char **values;      /* may hold secrets: wiped on destroy */
    unsigned bad_lines; /* lines that were not KEY=VALUE (skipped, like python-dotenv) */
    unsigned first_bad_line;
};

/* Environment lookup, replaceable for tests and fuzzing. NULL = getenv. */
typedef const char *(*zs_getenv_fn)(const char *name);

/*
 * Parse .env text (python-dotenv rules: export prefix, # comments, single quotes
 * literal, double quotes with \n \t \" \\ escapes, ${VAR} and ${VAR:-default}
 * expansion from the environment first, then earlier keys).
 * out:     OUT, caller owns (zs_dotenv_destroy).
 * Returns: ZS_OK, ZS_EPARSE (unterminated quote: err names the line), ZS_ENOMEM.
 */
ZS_MUST_CHECK zs_rc zs_dotenv_parse(const char *name, const char *text, size_t len,
                                    zs_getenv_fn getenv_fn, struct zs_dotenv **out,
                                    struct zs_err *err);

/* Value of key in the .env, or NULL. */
const char *zs_dotenv_get(const struct zs_dotenv *d, const char *key);

void zs_dotenv_destroy(struct zs_dotenv *d);

/*
 * Parse config.json text (name is used in messages) with an optional parsed .env.
 * Pure: reads no file. getenv_fn NULL = getenv.
 * Returns: ZS_OK; ZS_EPARSE (not JSON); ZS_EINVAL (unknown key, wrong type, value out of
 * range, missing required key); ZS_ESCHEMA (bad column); ZS_ENOMEM.
 */
ZS_MUST_CHECK zs_rc zs_config_parse(const char *name, const char *text, size_t len,
                                    const struct zs_dotenv *dotenv, zs_getenv_fn getenv_fn,
                                    struct zs_config **out, struct zs_err *err);

/*
 * Read the config file and a .env: env_file if given (it must exist), else ./.env,
 * else .env beside the config file (either may be absent).
 * Returns as zs_config_parse, plus ZS_ENOTFOUND / ZS_EIO for unreadable files.
 */
ZS_MUST_CHECK zs_rc zs_config_load(const char *path, const char *env_file, struct zs_config **out,
                                   struct zs_err *err);

/* Free everything (secrets wiped); NULL does nothing. */
void zs_config_destroy(struct zs_config *c);

/*
 * What differs between a running configuration a and a new one b that a reload cannot
 * apply: the `station` options not marked live in the option table, the `databricks`
 * fields, the credentials (named, never shown). Writes their names, comma-separated, to out
 * (cut to cap) and returns how many. Tables are the caller's to compare. Thread: any.
 */
size_t zs_config_restart_needed(const struct zs_config *a, const struct zs_config *b, char *out,
                                size_t cap);

/* p relative to the configuration file's directory (p itself when absolute) into out. */
void zs_config_path(const struct zs_config *c, const char *p, char *out, size_t cap);

/*
 * Compile columns with the options of table t of c (its package, message name, unknown
 * keys, c's limits), as its "fields" would be. out: OUT, the caller owns it.
 * Returns as zs_schema_create; err names the column. Thread: any.
 */
ZS_MUST_CHECK zs_rc zs_config_table_compile(const struct zs_config *c, const struct zs_table_cfg *t,
                                            const struct zs_column_def *cols, size_t n,
                                            struct zs_schema **out, struct zs_err *err);

/* Table by route key, or NULL. */
const struct zs_table_cfg *zs_config_table(const struct zs_config *c, const char *key,
                                           size_t key_len);

/* Markdown reference of every option (docs/CONFIG.md). */
ZS_MUST_CHECK zs_rc zs_config_reference(struct zs_buf *out);

/* Read a whole file into a NUL-terminated buffer (max bytes). ZS_ENOTFOUND, ZS_EIO, ZS_ELIMIT. */
ZS_MUST_CHECK zs_rc zs_read_file(const char *path, size_t max, struct zs_buf *out,
                                 struct zs_err *err);

#endif
