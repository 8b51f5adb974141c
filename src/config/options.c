/*
 * Option tables (one per section) and the generic loader that applies JSON values to
 * them (fluent-bit config maps, redis config.c). Thread: loader only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_int.h"
#include "core/zs_arena.h"

static const char *const unknown_fields_values[] = {"reject", "ignore", NULL};
static const char *const record_type_values[] = {"", "proto", "json", NULL};
static const char *const durability_values[] = {"memory", "disk", NULL}; /* enum zs_spool_mode */
static const char *const spool_sync_values[] = {"commit", "interval", NULL};
static const char *const auth_values[] = {"auto", "none", "keys", NULL}; /* enum zs_auth_mode */
static const char *const access_log_values[] = {"off", "errors", "all", NULL};
static const char *const schema_check_values[] = {"warn", "strict", "off", NULL};

#define STATION_OFF(f) offsetof(struct zs_station_opts, f)
#define TABLE_OFF(f) offsetof(struct zs_table_cfg, f)

const struct zs_opt zs_station_opts_table[] = {
    {"durability", ZS_OPT_ENUM, "disk", 0, 1, STATION_OFF(durability), durability_values,
     "What a 202 promises. `disk`: the record is in the spool, covered by a completed "
     "fdatasync (or written, with `spool_sync: interval`), and is delivered after a crash or "
     "restart. `memory`: queued in memory only, lost if the process dies (the original "
     "service's behaviour). docs/SPOOL.md.",
     ZS_OPT_RESTART},
    {"spool_dir", ZS_OPT_PATH, "", 0, 0, STATION_OFF(spool_dir), NULL,
     "Spool directory (created, locked). Default: `spool/` beside the configuration file; "
     "with `--local DIR`: `DIR/spool`; `--spool-dir` wins. Memory mode keeps dead letters "
     "there.",
     ZS_OPT_RESTART},
    {"spool_sync", ZS_OPT_ENUM, "commit", 0, 1, STATION_OFF(spool_sync), spool_sync_values,
     "`commit`: a 202 waits for the fdatasync that covers its record (one sync per group of "
     "records, whatever their connection); survives a power cut. `interval`: a 202 after "
     "write(2), a sync every `spool_sync_interval_ms`; survives a crash of the process, not "
     "of the host.",
     ZS_OPT_RESTART},
    {"spool_sync_interval_ms", ZS_OPT_MS, "100ms", 1, 60000, STATION_OFF(spool_sync_interval_ms),
     NULL, "Sync period with `spool_sync: interval`.", ZS_OPT_RESTART},
    {"spool_segment_bytes", ZS_OPT_SIZE, "64MiB", 64 * 1024, (int64_t)1 << 30,
     STATION_OFF(spool_segment_bytes), NULL,
     "A segment file is closed once it reaches this size; fully acknowledged segments are "
     "deleted.",
     ZS_OPT_RESTART},
    {"spool_max_bytes", ZS_OPT_SIZE, "1GiB", 1024 * 1024, (int64_t)1 << 40,
     STATION_OFF(spool_max_bytes), NULL,
     "Spool bytes per table (segments and records waiting to be written); beyond it ingest "
     "answers 503: Zerobus is behind.",
     ZS_OPT_RESTART},
    {"spool_max_pending_bytes", ZS_OPT_SIZE, "64MiB", 64 * 1024, (int64_t)4 << 30,
     STATION_OFF(spool_max_pending_bytes), NULL,
     "Bytes per table accepted but not yet written by the spool thread; beyond it ingest "
     "answers 429: the clients are faster than the disk.",
     ZS_OPT_RESTART},
    {"wait_timeout_ms", ZS_OPT_MS, "60s", 100, 3600000, STATION_OFF(wait_timeout_ms), NULL,
     "Longest a `wait_for_ack=true` request waits for its acknowledgement (then 504; the "
     "record stays queued). While Zerobus is failing such requests get 503 at once.",
     ZS_OPT_RESTART},
    {"unknown_fields", ZS_OPT_ENUM, "reject", 0, 1, STATION_OFF(unknown_fields),
     unknown_fields_values,
     "What a JSON key that is not a column gets: `reject` (400 naming the key) or `ignore` "
     "(skipped). Tables may override it.",
     ZS_OPT_LIVE},
    {"max_json_depth", ZS_OPT_INT, "64", 1, 256, STATION_OFF(max_json_depth), NULL,
     "Deepest nesting of objects and arrays accepted in one record, VARIANT values "
     "included.",
     ZS_OPT_RESTART},
    {"max_record_bytes", ZS_OPT_SIZE, "1MiB", 64, 10 * 1024 * 1024 - 64 * 1024,
     STATION_OFF(max_record_bytes), NULL,
     "Largest encoded (protobuf) record. The ceiling is Zerobus' 10 MiB message limit less "
     "64 KiB of envelope.",
     ZS_OPT_RESTART},
    {"streams_per_table", ZS_OPT_INT, "1", 1, 64, STATION_OFF(streams_per_table), NULL,
     "Zerobus streams per table; records are spread across them, so one table can exceed "
     "one stream's quota.",
     ZS_OPT_RESTART},
    {"linger_ms", ZS_OPT_MS, "5ms", 0, 1000, STATION_OFF(linger_ms), NULL,
     "How long a partial batch of asynchronous records waits for more before it is sent; "
     "a wait_for_ack record ends the wait (its caller is waiting).",
     ZS_OPT_RESTART},
    {"max_batch_records", ZS_OPT_INT, "1000", 1, 100000, STATION_OFF(max_batch_records), NULL,
     "Records per ingest_record_batch message.", ZS_OPT_RESTART},
    {"max_batch_bytes", ZS_OPT_SIZE, "10176KiB", 1024, 10 * 1024 * 1024 - 64 * 1024,
     STATION_OFF(max_batch_bytes), NULL,
     "Bytes per batch message; the ceiling keeps 64 KiB under Zerobus' 10 MiB limit.",
     ZS_OPT_RESTART},
    {"max_inflight_records", ZS_OPT_INT, "1000000", 1, 100000000, STATION_OFF(max_inflight_records),
     NULL, "Records per table queued or awaiting their ack; beyond it ingest answers 429.",
     ZS_OPT_RESTART},
    {"max_inflight_bytes", ZS_OPT_SIZE, "256MiB", 1024 * 1024, (int64_t)64 << 30,
     STATION_OFF(max_inflight_bytes), NULL,
     "Bytes per table queued or awaiting their ack; beyond it ingest answers 429.", ZS_OPT_RESTART},
    {"recovery_timeout_ms", ZS_OPT_MS, "15s", 100, 600000, STATION_OFF(recovery_timeout_ms), NULL,
     "Limit for one stream-open attempt (token, call, create_stream response).", ZS_OPT_RESTART},
    {"recovery_backoff_ms", ZS_OPT_MS, "2s", 0, 600000, STATION_OFF(recovery_backoff_ms), NULL,
     "Wait between stream-open attempts after the first retry.", ZS_OPT_RESTART},
    {"recovery_retries", ZS_OPT_INT, "4", 0, 1000, STATION_OFF(recovery_retries), NULL,
     "Attempts after the first at `recovery_backoff_ms` (protocol: 1 + 4). After them the "
     "table is failing (503 for new records, waiting requests answered 503) and the backoff "
     "doubles up to `recovery_backoff_max_ms`; accepted records are never given up.",
     ZS_OPT_RESTART},
    {"recovery_backoff_max_ms", ZS_OPT_MS, "30s", 100, 3600000,
     STATION_OFF(recovery_backoff_max_ms), NULL,
     "Ceiling of the growing backoff once the retry budget is spent.", ZS_OPT_RESTART},
    {"ack_timeout_ms", ZS_OPT_MS, "60s", 100, 3600000, STATION_OFF(ack_timeout_ms), NULL,
     "A stream with requests in flight and no server message for this long is reopened.",
     ZS_OPT_RESTART},
    {"flush_timeout_ms", ZS_OPT_MS, "300s", 100, 86400000, STATION_OFF(flush_timeout_ms), NULL,
     "Default limit for a flush.", ZS_OPT_LIVE},
    {"max_body_bytes", ZS_OPT_SIZE, "10MiB", 1024, (int64_t)1 << 30, STATION_OFF(max_body_bytes),
     NULL,
     "Largest request body (413 beyond it; with Content-Length it is refused before it is "
     "read).",
     ZS_OPT_RESTART},
    {"max_request_records", ZS_OPT_INT, "100000", 1, 10000000, STATION_OFF(max_request_records),
     NULL,
     "Records in one batch request (a JSON array or NDJSON body); beyond it the request is "
     "answered 413.",
     ZS_OPT_LIVE},
    {"max_batch_errors", ZS_OPT_INT, "100", 1, 100000, STATION_OFF(max_batch_errors), NULL,
     "Rejected records listed (index, field, reason) in the answer to a batch; the total "
     "count is always given.",
     ZS_OPT_LIVE},
    {"auth", ZS_OPT_ENUM, "auto", 0, 2, STATION_OFF(auth), auth_values,
     "Ingest authentication. `keys`: every ingest, flush, detailed health and OpenAPI request "
     "needs an API key (`Authorization: Bearer KEY` or `X-API-Key: KEY`) with rights on the "
     "table. `none`: anyone who reaches the port may write (logged as a warning when "
     "listening beyond loopback). `auto`: `keys` once any key is configured (`auth` section or "
     "`keys_file`), else `none`.",
     ZS_OPT_LIVE},
    {"keys_file", ZS_OPT_PATH, "", 0, 0, STATION_OFF(keys_file), NULL,
     "A keys document (`{\"keys\": [...]}`, as the `auth` section), relative to the "
     "configuration file; re-read on SIGHUP, so keys rotate without touching the tables. "
     "`zerobus-station keys` writes it.",
     ZS_OPT_LIVE},
    {"tls_cert", ZS_OPT_PATH, "", 0, 0, STATION_OFF(tls_cert), NULL,
     "PEM certificate, then its chain, of the HTTPS listeners (`--listen HOST:PORT,tls`); "
     "relative to the configuration file; re-read on SIGHUP (new connections get it, open "
     "ones keep theirs). TLS 1.2+, ECDHE with AES-GCM or ChaCha20, ALPN http/1.1.",
     ZS_OPT_RESTART},
    {"tls_key", ZS_OPT_PATH, "", 0, 0, STATION_OFF(tls_key), NULL, "PEM private key of `tls_cert`.",
     ZS_OPT_RESTART},
    {"tls_client_ca", ZS_OPT_PATH, "", 0, 0, STATION_OFF(tls_client_ca), NULL,
     "PEM CAs for client certificates: set, a TLS client must present a certificate that "
     "chains to one (mutual TLS); its subject CN stands for the ingest key of that id when the "
     "request carries no key.",
     ZS_OPT_RESTART},
    {"access_log", ZS_OPT_ENUM, "off", 0, 2, STATION_OFF(access_log), access_log_values,
     "One log line per answer (component `access`: method, path, status, bytes, ms, peer, "
     "request_id; text or JSON like the other lines): `off`, `errors` (status 400 and up) or "
     "`all`. Headers and bodies are never logged.",
     ZS_OPT_RESTART},
    {"open_docs", ZS_OPT_BOOL, "false", 0, 1, STATION_OFF(open_docs), NULL,
     "With keys: serve `/openapi.json` and the detailed `/health` without a key. `/`, the "
     "`/health` status and the `/docs` page are always open.",
     ZS_OPT_LIVE},
    {"schema_check", ZS_OPT_ENUM, "warn", 0, 2, STATION_OFF(schema_check), schema_check_values,
     "Tables with hand-written `fields` are compared with their Unity Catalog columns when "
     "the catalog answers: `warn` logs each difference (naming the column), `strict` refuses "
     "to start (or to reload), `off` does not ask the catalog. Tables without `fields` "
     "always take the catalog's columns.",
     ZS_OPT_LIVE},
    {"schema_cache_dir", ZS_OPT_PATH, "", 0, 0, STATION_OFF(schema_cache_dir), NULL,
     "Where columns fetched from Unity Catalog are cached (one JSON file per table), so the "
     "station starts while the catalog is unreachable. Default: `schemas/` in the spool "
     "directory.",
     ZS_OPT_RESTART},
    {"catalog_timeout_ms", ZS_OPT_MS, "10s", 100, 120000, STATION_OFF(catalog_timeout_ms), NULL,
     "Longest one Unity Catalog call (the token, then the table) may take. Once the catalog "
     "fails to answer, the remaining tables of that load use their cache at once.",
     ZS_OPT_LIVE},
    {"catalog_parallel", ZS_OPT_INT, "8", 1, 64, STATION_OFF(catalog_parallel), NULL,
     "How many tables' columns are fetched from Unity Catalog at once (each on its own "
     "connection) when the station starts or reloads.",
     ZS_OPT_LIVE},
    {0},
};

const struct zs_opt zs_table_opts_table[] = {
    {"record_type", ZS_OPT_ENUM, "proto", 1, 2, TABLE_OFF(record_type), record_type_values,
     "How records travel to Zerobus: `proto` (encoded against the table's descriptor) or "
     "`json`.",
     ZS_OPT_LIVE},
    {"unknown_fields", ZS_OPT_ENUM, "", 0, 1, TABLE_OFF(unknown_fields), unknown_fields_values,
     "Overrides `station.unknown_fields` for this table.", ZS_OPT_LIVE},
    {0},
};

struct unit {
    const char *suffix;
    int64_t mult;
};

static int64_t parse_scaled(const char *s, const struct unit *units, size_t nunits, int *ok)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    *ok = 0;
    if (end == s || errno != 0 || v < 0)
        return 0;
    for (size_t i = 0; i < nunits; i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            int64_t r;
            if (__builtin_mul_overflow((int64_t)v, units[i].mult, &r))
                return 0;
            *ok = 1;
            return r;
        }
    }
    return 0;
}

zs_rc zs_opts__parse_text(const struct zs_opt *o, const char *text, int64_t *out)
{
    static const struct unit sizes[] = {{"", 1},          {"B", 1},          {"KiB", 1024},
                                        {"MiB", 1 << 20}, {"GiB", 1 << 30},  {"KB", 1000},
                                        {"MB", 1000000},  {"GB", 1000000000}};
    static const struct unit times[] = {
        {"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
    int ok = 0;
    int64_t v = 0;
    switch (o->type) {
    case ZS_OPT_BOOL:
        ok = strcmp(text, "true") == 0 || strcmp(text, "false") == 0;
        v = strcmp(text, "true") == 0;
        break;
    case ZS_OPT_INT: {
        char *end;
        errno = 0;
        long long x = strtoll(text, &end, 10);
        ok = end != text && *end == '\0' && errno == 0;
        v = x;
        break;
    }
    case ZS_OPT_SIZE:
        v = parse_scaled(text, sizes, sizeof sizes / sizeof sizes[0], &ok);
        break;
    case ZS_OPT_MS:
        v = parse_scaled(text, times, sizeof times / sizeof times[0], &ok);
        break;
    case ZS_OPT_ENUM:
        for (int64_t i = 0; o->enum_values[i] != NULL; i++) {
            if (o->enum_values[i][0] != '\0' && strcmp(o->enum_values[i], text) == 0) {
                v = i;
                ok = 1;
            }
        }
        if (text[0] == '\0') { /* "" default = inherit, stored as -1 */
            v = -1;
            ok = 1;
        }
        break;
    case ZS_OPT_PATH:
        break; /* strings are not parsed into numbers */
    }
    if (!ok)
        return ZS_EINVAL;
    *out = v;
    return ZS_OK;
}

void zs_opts__defaults(const struct zs_opt *table, void *base)
{
    for (const struct zs_opt *o = table; o->key != NULL; o++) {
        if (o->type == ZS_OPT_PATH) {
            const char *d = o->def[0] ? o->def : NULL;
            memcpy((char *)base + o->offset, &d, sizeof d);
            continue;
        }
        int64_t v = 0;
        if (zs_opts__parse_text(o, o->def, &v) != ZS_OK)
            abort(); /* a bad default is a bug in this file; the tests load every table */
        memcpy((char *)base + o->offset, &v, sizeof v);
    }
}

static const char *type_hint(const struct zs_opt *o)
{
    switch (o->type) {
    case ZS_OPT_BOOL:
        return "true or false";
    case ZS_OPT_INT:
        return "an integer";
    case ZS_OPT_SIZE:
        return "a size: bytes as an integer, or a string such as \"64KiB\" or \"10MiB\"";
    case ZS_OPT_MS:
        return "a duration: milliseconds as an integer, or a string such as \"250ms\" or \"5s\"";
    case ZS_OPT_ENUM:
        return "one of the listed words";
    case ZS_OPT_PATH:
        return "a non-empty string";
    }
    return "?";
}

zs_rc zs_opts__apply(const struct zs_cfgctx *cx, const struct zs_jpath *jp,
                     const struct zs_opt *table, const char *key, json_t *v, void *base)
{
    const struct zs_opt *o = table;
    while (o->key != NULL && strcmp(o->key, key) != 0)
        o++;
    if (o->key == NULL)
        return ZS_ENOTFOUND;
    int64_t val = 0;
    zs_rc rc = ZS_EINVAL;
    if (o->type == ZS_OPT_PATH) {
        const char *str = json_is_string(v) ? json_string_value(v) : NULL;
        if (str == NULL || str[0] == '\0')
            return zs_config__fail(cx, jp, ZS_EINVAL, "expected %s", type_hint(o));
        char *copy = zs_arena_strndup(cx->arena, str, strlen(str));
        if (copy == NULL)
            return ZS_ENOMEM;
        memcpy((char *)base + o->offset, &copy, sizeof copy);
        return ZS_OK;
    }
    if (json_is_string(v) && o->type != ZS_OPT_INT && o->type != ZS_OPT_BOOL) {
        rc = json_string_value(v)[0] == '\0' && o->type == ZS_OPT_ENUM
                 ? ZS_EINVAL
                 : zs_opts__parse_text(o, json_string_value(v), &val);
    } else if (json_is_integer(v) && o->type != ZS_OPT_ENUM && o->type != ZS_OPT_BOOL) {
        val = json_integer_value(v);
        rc = ZS_OK;
    } else if (json_is_boolean(v) && o->type == ZS_OPT_BOOL) {
        val = json_is_true(v);
        rc = ZS_OK;
    }
    if (rc != ZS_OK) {
        if (o->type == ZS_OPT_ENUM) {
            char words[128] = "";
            for (size_t i = 0; o->enum_values[i] != NULL; i++) {
                if (o->enum_values[i][0] == '\0')
                    continue;
                size_t l = strlen(words);
                snprintf(words + l, sizeof words - l, "%s\"%s\"", l ? ", " : "", o->enum_values[i]);
            }
            return zs_config__fail(cx, jp, ZS_EINVAL, "expected one of %s", words);
        }
        return zs_config__fail(cx, jp, ZS_EINVAL, "expected %s", type_hint(o));
    }
    if (val < o->min || val > o->max)
        return zs_config__fail(cx, jp, ZS_EINVAL, "%" PRId64 " is outside %" PRId64 "..%" PRId64,
                               val, o->min, o->max);
    memcpy((char *)base + o->offset, &val, sizeof val);
    return ZS_OK;
}

static zs_rc reference_section(struct zs_buf *b, const char *title, const char *intro,
                               const struct zs_opt *table)
{
    zs_rc rc = zs_buf_printf(b,
                             "## `%s`\n\n%s\n\n| key | type | default | range | reload | "
                             "description |\n"
                             "|---|---|---|---|---|---|\n",
                             title, intro);
    for (const struct zs_opt *o = table; o->key != NULL && rc == ZS_OK; o++) {
        static const char *const tn[] = {"bool", "integer", "size", "duration", "enum", "path"};
        char range[96];
        if (o->type == ZS_OPT_ENUM) {
            range[0] = '\0';
            for (size_t i = 0; o->enum_values[i] != NULL; i++) {
                if (o->enum_values[i][0] == '\0')
                    continue;
                size_t l = strlen(range);
                snprintf(range + l, sizeof range - l, "%s`%s`", l ? ", " : "", o->enum_values[i]);
            }
        } else if (o->type == ZS_OPT_BOOL) {
            snprintf(range, sizeof range, "`true`, `false`");
        } else if (o->type == ZS_OPT_PATH) {
            snprintf(range, sizeof range, "a path");
        } else {
            snprintf(range, sizeof range, "%" PRId64 "..%" PRId64, o->min, o->max);
        }
        rc = zs_buf_printf(b, "| `%s` | %s | %s%s%s | %s | %s | %s |\n", o->key, tn[o->type],
                           o->def[0] ? "`" : "", o->def[0] ? o->def : "(inherited)",
                           o->def[0] ? "`" : "", range, o->live ? "live" : "restart", o->desc);
    }
    return rc == ZS_OK ? zs_buf_puts(b, "\n") : rc;
}

zs_rc zs_config_reference(struct zs_buf *out)
{
    zs_rc rc = zs_buf_puts(
        out,
        "# Configuration reference\n\n"
        "Generated by `zerobus-station help-config` from the option tables in\n"
        "`src/config/options.c`; a test fails when this file and the tables disagree.\n\n"
        "`config.json` keeps the original service's format (`databricks`, `tables`); the keys\n"
        "below are optional extensions. Credentials come from `DATABRICKS_CLIENT_ID` and\n"
        "`DATABRICKS_CLIENT_SECRET` in the environment or in `.env` (the environment wins).\n\n"
        "Sizes take bytes or a string with a unit (`KiB`, `MiB`, `GiB`, `KB`, `MB`, `GB`);\n"
        "durations take milliseconds or a string with a unit (`ms`, `s`, `m`, `h`).\n\n"
        "A reload (`SIGHUP`, `systemctl reload`, or `POST /admin/reload` with an admin key)\n"
        "re-reads the configuration, `.env`, the keys file and the catalog's columns of tables\n"
        "without `fields`. Tables are added, removed (they\n"
        "stop accepting and their spooled records are still delivered) and changed (new\n"
        "records take the new schema; the ones accepted before keep theirs) at once. Options\n"
        "marked `live` take effect for the next request; a change to a `restart` option (or to\n"
        "the `databricks` section or the credentials) is reported in the log and in `/health`\n"
        "(`reload.last.restart_needed`) and waits for a restart. A configuration that does\n"
        "not load is refused whole: the running one stays (`/health` `reload.error`).\n\n"
        "## `tables`\n\n"
        "Each table is written in one of two forms.\n\n"
        "* **Its name only**: `\"station_one\": \"main.default.station_one\"` (or the whole\n"
        "  `\"tables\"` as an array of names, the route keys being the table names). The\n"
        "  columns are read from Unity Catalog (`GET {workspace_url}/api/2.1/unity-catalog/\n"
        "  tables/{name}` with a metadata token of the same service principal) at start and at\n"
        "  every reload, and cached (`schema_cache_dir`); when the catalog cannot be reached\n"
        "  the cached copy is used, and without one the station does not start (the error\n"
        "  names the table). An object with `table_name` and no `fields` is the same, with\n"
        "  its other keys (`message_name`, `record_type`, ...).\n"
        "* **The original service's form**, with `fields`: `{\"name\", \"type\", \"proto_type\",\n"
        "  \"field_num\"}` per column, or `{\"name\", \"type\": \"<Unity Catalog type>\",\n"
        "  \"nullable\"}` (docs/TYPES.md). These win over the catalog, and are compared with it\n"
        "  when it answers (`schema_check`). `zerobus-station init` writes this form from the\n"
        "  catalog.\n\n"
        "When Zerobus refuses a table's descriptor (the table was altered), the station fetches\n"
        "its columns again, switches new records to them, and rewrites the records it holds:\n"
        "those that no longer fit (a value for a dropped or retyped column) are dead-lettered\n"
        "with the reason. `POST /admin/schema/refresh` (or `SIGHUP`) re-reads every table's\n"
        "columns at once.\n\n");
    if (rc == ZS_OK)
        rc = reference_section(out, "station",
                               "Gateway-wide options, in a top-level `\"station\"` object.",
                               zs_station_opts_table);
    if (rc == ZS_OK)
        rc = reference_section(out, "tables.<key>",
                               "Per-table options (object form), beside `table_name` and "
                               "`fields`.",
                               zs_table_opts_table);
    if (rc == ZS_OK)
        rc = zs_buf_puts(
            out,
            "\n## `auth`\n\n"
            "Ingest API keys, in a top-level `\"auth\"` object or in the file "
            "`station.keys_file` (same\nshape; re-read on SIGHUP; both may be used, ids must "
            "differ). `zerobus-station keys new`\nmakes a key and its entry.\n\n"
            "```json\n"
            "{\"keys\": [{\"id\": \"edge-01\", \"sha256\": \"<64 hex digits>\", "
            "\"tables\": [\"station_one\"], \"rights\": [\"ingest\"]}]}\n"
            "```\n\n"
            "| key | meaning |\n|---|---|\n"
            "| `id` | 1 to 64 of `A-Z a-z 0-9 _ -`; the key given to clients is `<id>.<secret>` |\n"
            "| `sha256` | SHA-256 of the whole key, hex: the station never stores the key |\n"
            "| `tables` | the table keys the key may use, or `\"*\"` |\n"
            "| `rights` | `ingest` (`/ingest`, the REST insert), `flush`, `admin`; default "
            "`[\"ingest\"]` |\n"
            "| `comment` | free text |\n");
    return rc;
}

/* "a" and "b" as option values: equal strings, or both NULL. */
static int same_str(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

size_t zs_config_restart_needed(const struct zs_config *a, const struct zs_config *b, char *out,
                                size_t cap)
{
    size_t n = 0, len = 0;
    out[0] = '\0';
#define NEEDS(name)                                                                                \
    do {                                                                                           \
        int w = snprintf(out + len, cap - len, "%s%s", n ? "," : "", (name));                      \
        if (w > 0 && (size_t)w < cap - len)                                                        \
            len += (size_t)w;                                                                      \
        n++;                                                                                       \
    } while (0)
    for (const struct zs_opt *o = zs_station_opts_table; o->key != NULL; o++) {
        if (o->live)
            continue;
        const char *pa = (const char *)&a->station + o->offset;
        const char *pb = (const char *)&b->station + o->offset;
        int same = o->type == ZS_OPT_PATH ? same_str(*(const char *const *)(const void *)pa,
                                                     *(const char *const *)(const void *)pb)
                                          : memcmp(pa, pb, sizeof(int64_t)) == 0;
        if (!same) {
            char name[80];
            snprintf(name, sizeof name, "station.%s", o->key);
            NEEDS(name);
        }
    }
    if (!same_str(a->server_endpoint, b->server_endpoint))
        NEEDS("databricks.server_endpoint");
    if (!same_str(a->workspace_url, b->workspace_url))
        NEEDS("databricks.workspace_url");
    if (!same_str(a->workspace_id, b->workspace_id))
        NEEDS("databricks.workspace_id");
    if (!same_str(a->tls_ca_file, b->tls_ca_file))
        NEEDS("databricks.tls_ca_file");
    if (!same_str(a->client_id, b->client_id) || !same_str(a->client_secret, b->client_secret))
        NEEDS("credentials"); /* never their values */
#undef NEEDS
    return n;
}
