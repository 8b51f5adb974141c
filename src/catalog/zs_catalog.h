/*
 * Table columns from Unity Catalog (zerobus-protocol.md §6.4): the reply parser (pure,
 * fuzzed), the calls (a metadata token, then GET .../unity-catalog/tables/{name}), an
 * on-disk cache of the replies, and the resolution of a loaded configuration's tables:
 * tables without "fields" get the catalog's columns, tables with them are compared.
 *
 * Thread: the parser and the diff, any; the calls block (seconds), so never on an event
 * loop; zs_catalog_resolve on the thread that loads the configuration.
 */
#ifndef ZS_CATALOG_H
#define ZS_CATALOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/zs_config.h"
#include "core/zs_arena.h"
#include "core/zs_buf.h"
#include "core/zs_err.h"
#include "schema/zs_schema.h"

/* One table of a reply. Everything points into the arena given to the parser. */
struct zs_uc_table {
    const char *full_name;      /* "catalog.schema.table" from the reply, or NULL */
    struct zs_column_def *cols; /* in position order; type = Unity Catalog type text */
    size_t ncols;
    int64_t fetched_unix; /* the cache's "zerobus_station_fetched_at", else 0 */
};

/*
 * Parse a GET tables/{name} reply. Per column: name, nullable (default true), and the
 * type from type_json (Spark's JSON type, bare or wrapped in {"name", "type", ...}: it
 * keeps the nullability of struct fields), else type_text, else type_name with
 * type_precision/type_scale; CHAR(n) and VARCHAR(n) are STRING. Columns are ordered by
 * position when every column has one.
 * Returns ZS_OK; ZS_EPARSE (not JSON, no "columns" array, a column without a name or
 * type: err says which); ZS_ESCHEMA (a type that cannot be written as a Unity Catalog
 * type text: err names the column); ZS_ENOMEM. Thread: any.
 */
ZS_MUST_CHECK zs_rc zs_uc_parse_table(struct zs_arena *a, const char *text, size_t len,
                                      struct zs_uc_table *out, struct zs_err *err);

/*
 * Parse a GET tables?catalog_name=&schema_name= reply: the full names (arena) of its
 * managed tables (an entry whose table_type is another, a VIEW or an EXTERNAL table, is
 * left out: Zerobus writes managed Delta tables only, protocol §7), and next_page_token
 * (NULL when none). Same returns as zs_uc_parse_table.
 */
ZS_MUST_CHECK zs_rc zs_uc_parse_list(struct zs_arena *a, const char *text, size_t len,
                                     const char ***names, size_t *n, const char **next_page,
                                     struct zs_err *err);

/*
 * What differs between schemas a (the reference, e.g. the catalog) and b, column by
 * column: "column \"x\" is missing", "column \"y\" is not in the table", "column \"z\": type
 * INT here, BIGINT there", nullability and order. One line per difference, appended to
 * out ("; " between them). Returns the number of differences (0: the same columns).
 */
size_t zs_schema_diff(const struct zs_schema *a, const char *a_name, const struct zs_schema *b,
                      const char *b_name, struct zs_buf *out);

/* ---------------------------------------------------------------- calls */

struct zs_catalog {
    const char *workspace_url; /* scheme://host[:port]; a path is ignored (as urljoin) */
    const char *client_id;     /* NULL: no call is made (ZS_EAUTH) */
    const char *client_secret; /* SECRET */
    long timeout_ms;
    /* internal */
    char token[512];  /* SECRET: the metadata token, "" until fetched */
    atomic_bool down; /* a call failed to connect: later calls fail at once */
    int no_mint;      /* (resolution's parallel phase) use token as it is: a 401 is final */
};

/*
 * GET the table's reply into body (caller releases). Returns ZS_OK (200), ZS_ENOTFOUND
 * (404: no such table), ZS_EAUTH (no credentials, 401, 403: err says which),
 * ZS_EUNAVAIL (connection, timeout, 5xx: the catalog is down; later calls fail at once),
 * ZS_EPARSE (a token reply without a token). Thread: any, one caller per struct (or
 * several once the token is fetched and no_mint is set).
 */
ZS_MUST_CHECK zs_rc zs_catalog_get_table(struct zs_catalog *k, const char *full_name,
                                         struct zs_buf *body, struct zs_err *err);

/* GET the tables of catalog.schema (every page) as full names appended, one per line, to
 * out. Same returns. */
ZS_MUST_CHECK zs_rc zs_catalog_list_tables(struct zs_catalog *k, const char *catalog,
                                           const char *schema, struct zs_buf *out,
                                           struct zs_err *err);

/* Fetch the metadata token now (the calls above do it when needed). Same returns. */
ZS_MUST_CHECK zs_rc zs_catalog_token(struct zs_catalog *k, struct zs_err *err);

/* Wipe the token. */
void zs_catalog_clear(struct zs_catalog *k);

/* ---------------------------------------------------------------- resolution */

struct zs_catalog_resolve_opts {
    const char *cache_dir; /* where replies are cached (created); NULL: no cache */
    bool offline;          /* make no call: the cache only (check --no-credentials) */
};

/* What one resolution did, for logs and health. */
struct zs_catalog_report {
    unsigned fetched;    /* tables whose columns came from the catalog */
    unsigned cached;     /* tables that used the cache (catalog unreachable) */
    unsigned mismatches; /* hand-written tables that differ from the catalog */
};

/*
 * Give every table of c that has no "fields" its columns: fetched from the catalog of
 * c->workspace_url with c's credentials (station.catalog_parallel tables at once, each on
 * its own connection; then compiled, compared, cached and logged in table order), else the
 * cached reply when the catalog cannot be reached. Tables with "fields" are compared with the
 * catalog (station.schema_check: warn logs each difference, strict fails, off skips the call). Logs
 * what it found per table. Sets schema, schema_source, schema_fetched_unix. Returns ZS_OK;
 * ZS_ENOTFOUND / ZS_EUNAVAIL / ZS_EAUTH (a table without fields has no columns: err names the table
 * and why: "not in the catalog", "catalog unreachable and no cached copy"), ZS_ESCHEMA (its columns
 * do not compile, or strict and a mismatch), ZS_ENOMEM. Thread: the loader.
 */
ZS_MUST_CHECK zs_rc zs_catalog_resolve(struct zs_config *c,
                                       const struct zs_catalog_resolve_opts *opts,
                                       struct zs_catalog_report *report, struct zs_err *err);

/* The cache file of a table: DIR/<catalog.schema.table>.json. */
void zs_catalog_cache_path(const char *dir, const char *table_name, char *out, size_t cap);

#endif
