/*
 * zerobus-station command line: serve (the default), check, proto, encode, send, spool,
 * help-config. Serving itself is the runtime in serve.c. Thread: main only.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "app/access.h"
#include "app/cli.h"
#include "app/init.h"
#include "app/local.h"
#include "app/serve.h"
#include "catalog/zs_catalog.h"
#include "config/zs_config.h"
#include "core/zs_buf.h"
#include "core/zs_clock.h"
#include "core/zs_err.h"
#include "core/zs_log.h"
#include "core/zs_mem.h"
#include "schema/zs_schema.h"
#include "schema/zs_transcode.h"
#include "spool/zs_spool.h"
#include "zerobus/zs_zerobus.h"

#ifndef ZS_VERSION
#define ZS_VERSION "0.0.0"
#endif

#define EXIT_USAGE 2
#define EXIT_LOST 3 /* the station stopped with records given up or dead-lettered */

static const char usage_main[] =
    "usage: zerobus-station [serve options]        run the gateway\n"
    "       zerobus-station <command> [options]\n"
    "\n"
    "HTTP/JSON gateway to Databricks Zerobus Ingest.\n"
    "\n"
    "serve options:\n"
    "  --config FILE      configuration (default $ZEROBUS_STATION_CONFIG, else ./config.json)\n"
    "  --env-file FILE    credentials (default ./.env, else .env beside the configuration)\n"
    "  --host ADDR        listen address (default 0.0.0.0)\n"
    "  --port N           listen port (default 8000; 0 = any free port)\n"
    "  --listen HOST:PORT[,tls]  a listener, instead of --host/--port; repeat for more\n"
    "                     (e.g. 127.0.0.1:8000 and 0.0.0.0:8443,tls: HTTPS with\n"
    "                     station.tls_cert and station.tls_key)\n"
    "  --workers N        HTTP worker threads (default: number of cores)\n"
    "  --eager            open the Zerobus streams at start, not at the first record\n"
    "  --local DIR        run against a zerobus-emulator started on loopback, rows in DIR\n"
    "  --spool-dir DIR    the spool (default station.spool_dir, else spool/ beside the config;\n"
    "                     with --local DIR: DIR/spool)\n"
    "  --shutdown-ms N    deadline to drain requests and acks on SIGTERM (default 10000)\n"
    "  --log-format text|json, --log-level error|warn|info|debug\n"
    "Once listening it prints one line \"READY http=PORT\" on stdout. Exit status: 0, 1 (could\n"
    "not start), 2 (usage), 3 (stopped, but records were given up or dead-lettered).\n"
    "\n"
    "commands:\n"
    "  check        validate the configuration and list each table with its route and columns\n"
    "  init         write a config.json (and .env template) from Unity Catalog tables\n"
    "  proto TABLE  print the proto2 .proto of a table (its schema.proto)\n"
    "  encode TABLE read JSON records (one per line) on stdin, print their protobuf as hex\n"
    "  send TABLE   push JSON records (one per line) to Zerobus through the client\n"
    "  spool status|dump TABLE   what a spool directory holds (works while the station runs)\n"
    "  keys new|list|revoke      ingest API keys in the keys file (keys --help)\n"
    "  help-config  print the reference of every configuration option (Markdown)\n"
    "\n"
    "options:\n"
    "  --help       this text (each command also takes --help)\n"
    "  --version    print the version\n"
    "\n"
    "The configuration is --config FILE, else $ZEROBUS_STATION_CONFIG, else ./config.json.\n"
    "Credentials come from DATABRICKS_CLIENT_ID / DATABRICKS_CLIENT_SECRET in the environment\n"
    "or in .env (--env-file FILE, else ./.env, else .env beside the config file).\n";

static const char usage_check[] =
    "usage: zerobus-station check [--config FILE] [--env-file FILE] [--no-credentials]\n"
    "\n"
    "Load and validate the configuration (config.json, .env, environment), then print the\n"
    "Databricks endpoints, whether credentials are present (never their values), and every\n"
    "table with its route, Delta table, protobuf message and columns.\n"
    "Exit status: 0 valid, 1 invalid (the message names file, line, JSON path and reason)\n"
    "or credentials missing (--no-credentials: a configuration for --local, or checked\n"
    "before the credentials exist).\n";

static const char usage_proto[] =
    "usage: zerobus-station proto [--config FILE] TABLE\n"
    "\n"
    "Print the proto2 .proto text of TABLE (a key of \"tables\"), as the descriptor sent to\n"
    "Zerobus describes it. Feed it to protoc to build clients.\n";

static const char usage_encode[] =
    "usage: zerobus-station encode [--config FILE] TABLE\n"
    "\n"
    "Read one JSON record per line on stdin and print, per line, the protobuf encoding as hex\n"
    "or an error with the JSON path and reason. Exit status 1 if any record failed.\n";

static const char usage_send[] =
    "usage: zerobus-station send [--config FILE] [--env-file FILE] [--file F] [--repeat N]\n"
    "                            [--streams K] [--linger-ms MS] TABLE\n"
    "\n"
    "Read JSON records, one per line, from F (default stdin), encode them for TABLE and push\n"
    "them to Zerobus (databricks.server_endpoint, OAuth at workspace_url) over persistent\n"
    "streams; wait until every record is acknowledged or failed, then print the counts and\n"
    "the rate. --repeat sends the input N times (benchmarks). Exit status 1 if any record\n"
    "failed or was rejected.\n";

static const char usage_help_config[] =
    "usage: zerobus-station help-config\n"
    "\n"
    "Print the Markdown reference of every configuration option (docs/CONFIG.md).\n";

static void resolve_spool_dir(const struct zs_config *c, const char *flag, const char *local,
                              char *out, size_t cap);

/* The schema cache: station.schema_cache_dir, else schemas/ in the spool directory. */
static void schema_cache_dir(const struct zs_config *c, const struct zs_cli *a, char *out,
                             size_t cap)
{
    char spool[4096];
    if (c->station.schema_cache_dir != NULL) {
        zs_config_path(c, c->station.schema_cache_dir, out, cap);
        return;
    }
    resolve_spool_dir(c, a->spool_dir, a->local, spool, sizeof spool);
    snprintf(out, cap, "%s/schemas", spool);
}

/* Columns of the tables without "fields" (and the check of the others): zs_catalog. */
static zs_rc resolve_schemas(struct zs_config *c, const struct zs_cli *a, struct zs_err *err)
{
    char dir[4200];
    schema_cache_dir(c, a, dir, sizeof dir);
    struct zs_catalog_resolve_opts o = {.cache_dir = dir};
    struct zs_catalog_report rep;
    return zs_catalog_resolve(c, &o, &rep, err);
}

/* Load the configuration; resolve: also the catalog's columns (not yet with --local, whose
 * emulator is the catalog and starts after the load). */
static struct zs_config *load_config(const struct zs_cli *a, bool resolve)
{
    struct zs_config *c = NULL;
    struct zs_err err;
    char msg[600];
    zs_err_clear(&err);
    if (zs_config_load(a->config, a->env_file, &c, &err) != ZS_OK) {
        fprintf(stderr, "zerobus-station: %s\n", zs_err_format(&err, msg, sizeof msg));
        return NULL;
    }
    if (c->env_warnings > 0)
        fprintf(stderr,
                "zerobus-station: warning: %s: %u line(s) are not KEY=VALUE and were ignored "
                "(first: line %u)\n",
                c->env_path, c->env_warnings, c->env_first_bad_line);
    if (resolve && resolve_schemas(c, a, &err) != ZS_OK) {
        fprintf(stderr, "zerobus-station: %s\n", zs_err_format(&err, msg, sizeof msg));
        zs_config_destroy(c);
        return NULL;
    }
    return c;
}

static struct zs_config *load(const struct zs_cli *a)
{
    return load_config(a, true);
}

static const struct zs_table_cfg *find_table(const struct zs_config *c, const char *key)
{
    const struct zs_table_cfg *t = zs_config_table(c, key, strlen(key));
    if (t == NULL) {
        fprintf(stderr, "zerobus-station: %s: no table \"%s\"; tables:", c->path, key);
        for (size_t i = 0; i < c->ntables; i++)
            fprintf(stderr, " %s", c->tables[i].key);
        fputc('\n', stderr);
    }
    return t;
}

/*
 * The prologue of the subcommands that read a configuration: parse argv, then load it.
 * Returns the loaded configuration (the caller destroys it), or NULL with *exit_code set:
 * 0 after --help, EXIT_USAGE for bad arguments, 1 when the configuration does not load.
 */
static struct zs_config *setup(int argc, char **argv, const char *usage, unsigned mask,
                               int want_table, struct zs_cli *a, int *exit_code)
{
    int r = zs_cli_parse(argc, argv, argv[0], mask | CLI_CONFIG | CLI_ENV_FILE, want_table,
                         want_table, usage, a);
    if (r != 0) {
        *exit_code = r > 0 ? 0 : EXIT_USAGE;
        return NULL;
    }
    struct zs_config *c = load(a);
    *exit_code = 1;
    return c;
}

static int cmd_check(int argc, char **argv)
{
    struct zs_cli a = {0};
    int ec;
    struct zs_config *c = setup(argc, argv, usage_check, CLI_NO_CREDENTIALS, 0, &a, &ec);
    if (c == NULL)
        return ec;
    struct zs_buf b;
    zs_buf_init(&b, 1 << 20);
    printf("config:          %s\n", c->path);
    printf(".env:            %s\n", c->env_path ? c->env_path : "(none)");
    printf("server_endpoint: %s\n", c->server_endpoint);
    printf("workspace_url:   %s\n", c->workspace_url);
    printf("workspace_id:    %s\n", c->workspace_id);
    printf("client_id:       %s\n", c->client_id ? "set" : "MISSING (DATABRICKS_CLIENT_ID)");
    printf("client_secret:   %s\n",
           c->client_secret ? "set (hidden)" : "MISSING (DATABRICKS_CLIENT_SECRET)");
    printf("tables:          %zu\n", c->ntables);
    for (size_t i = 0; i < c->ntables; i++) {
        const struct zs_table_cfg *t = &c->tables[i];
        const struct zs_schema *s = t->schema;
        printf("\n%s\n", t->key);
        printf("  route:        POST /ingest/%s\n", t->key);
        printf("  table_name:   %s\n", t->table_name);
        printf("  message:      %s%s%s\n", s->package, s->package[0] ? "." : "", s->message_name);
        printf("  record_type:  %s\n", t->record_type == ZS_RECORD_JSON ? "json" : "proto");
        printf("  unknown keys: %s\n", t->unknown_fields ? "ignored" : "rejected");
        if (t->schema_source == ZS_SCHEMA_FROM_CONFIG) {
            printf("  columns:      (fields in %s)\n", c->path);
        } else {
            char when[64] = "unknown time";
            if (t->schema_fetched_unix > 0)
                zs_iso_utc(t->schema_fetched_unix, when, sizeof when);
            printf("  columns:      (%s, fetched %s)\n",
                   t->schema_source == ZS_SCHEMA_FROM_CATALOG ? "from Unity Catalog"
                                                              : "cached: catalog unreachable",
                   when);
        }
        for (size_t k = 0; k < s->root.nfields; k++) {
            const struct zs_field *f = &s->root.fields[k];
            b.len = 0;
            if (zs_type_format(f->type, &b) != ZS_OK || zs_buf_cstr(&b) == NULL) {
                zs_buf_release(&b);
                zs_config_destroy(c);
                return 1;
            }
            printf("    %5u  %-24s %s%s\n", f->number, f->name, (const char *)b.data,
                   f->nullable ? "" : " NOT NULL");
        }
    }
    int missing = c->client_id == NULL || c->client_secret == NULL;
    size_t ntables = c->ntables;
    zs_buf_release(&b);
    zs_config_destroy(c);
    if (missing && !a.no_credentials) {
        fprintf(stderr, "zerobus-station: credentials missing: set DATABRICKS_CLIENT_ID and "
                        "DATABRICKS_CLIENT_SECRET (environment or .env), or pass "
                        "--no-credentials\n");
        return 1;
    }
    printf("\nOK: %zu table(s)%s\n", ntables, missing ? " (no credentials)" : "");
    return 0;
}

static int cmd_proto(int argc, char **argv)
{
    struct zs_cli a = {0};
    int ec;
    struct zs_config *c = setup(argc, argv, usage_proto, 0, 1, &a, &ec);
    if (c == NULL)
        return ec;
    int rc = 1;
    const struct zs_table_cfg *t = find_table(c, a.pos[0]);
    struct zs_buf b;
    zs_buf_init(&b, 16 << 20);
    if (t != NULL && zs_schema_proto_text(t->schema, &b) == ZS_OK) {
        printf("// Table %s (%s), generated by zerobus-station %s from %s.\n", t->key,
               t->table_name, ZS_VERSION, c->path);
        fwrite(b.data, 1, b.len, stdout);
        rc = 0;
    }
    zs_buf_release(&b);
    zs_config_destroy(c);
    return rc;
}

static int cmd_encode(int argc, char **argv)
{
    struct zs_cli a = {0};
    int ec;
    struct zs_config *c = setup(argc, argv, usage_encode, 0, 1, &a, &ec);
    if (c == NULL)
        return ec;
    const struct zs_table_cfg *t = find_table(c, a.pos[0]);
    struct zs_transcoder *tc = zs_transcoder_create();
    int rc = t != NULL && tc != NULL ? 0 : 1, failed = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    struct zs_buf out;
    zs_buf_init(&out, 16 << 20);
    while (rc == 0 && (n = getline(&line, &cap, stdin)) >= 0) {
        struct zs_err err;
        char msg[600];
        out.len = 0;
        if (zs_transcode(tc, t->schema, (const uint8_t *)line, (size_t)n, &out, &err) != ZS_OK) {
            printf("error %s: %s\n", zs_rc_str(err.code), zs_err_format(&err, msg, sizeof msg));
            failed = 1;
            continue;
        }
        for (size_t i = 0; i < out.len; i++)
            printf("%02x", out.data[i]);
        putchar('\n');
    }
    if (failed)
        rc = 1;
    free(line);
    zs_buf_release(&out);
    zs_transcoder_destroy(tc);
    zs_config_destroy(c);
    return rc;
}

static atomic_ulong send_ok, send_failed;
static char send_last_error[256];

static void on_sent(void *ctx, zs_rc rc, const char *reason, bool retryable)
{
    (void)ctx;
    (void)retryable;
    if (rc == ZS_OK) {
        atomic_fetch_add(&send_ok, 1);
    } else {
        if (atomic_fetch_add(&send_failed, 1) == 0)
            snprintf(send_last_error, sizeof send_last_error, "%s: %s", zs_rc_str(rc),
                     reason ? reason : "");
    }
}

static int cmd_send(int argc, char **argv)
{
    struct zs_cli a = {.repeat = 1, .linger_ms = -1};
    int ec;
    struct zs_config *c = setup(argc, argv, usage_send, CLI_SEND, 1, &a, &ec);
    if (c == NULL)
        return ec;
    const struct zs_table_cfg *t = find_table(c, a.pos[0]);
    FILE *in = a.file ? fopen(a.file, "rb") : stdin;
    if (t == NULL || in == NULL) {
        if (in == NULL)
            fprintf(stderr, "zerobus-station: cannot open %s\n", a.file);
        zs_config_destroy(c);
        return 1;
    }
    /* The records, encoded once (--repeat sends them again). */
    struct zs_transcoder *tc = zs_transcoder_create();
    struct zs_buf all;
    zs_buf_init(&all, (size_t)8 << 30);
    size_t *ends = NULL, n = 0, cap = 0;
    char *line = NULL, msg[600];
    size_t lcap = 0;
    ssize_t len;
    long bad = 0;
    while ((len = getline(&line, &lcap, in)) > 0) {
        struct zs_err err;
        zs_rc rc =
            t->record_type == ZS_RECORD_JSON
                ? zs_buf_append(&all, line, (size_t)len - (line[len - 1] == '\n'))
                : zs_transcode(tc, t->schema, (const uint8_t *)line, (size_t)len, &all, &err);
        if (rc != ZS_OK) {
            if (bad++ < 5)
                fprintf(stderr, "zerobus-station: line %zu: %s\n", n + (size_t)bad,
                        zs_err_format(&err, msg, sizeof msg));
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            ends = realloc(ends, cap * sizeof *ends);
        }
        ends[n++] = all.len;
    }
    free(line);
    if (in != stdin)
        fclose(in);
    zs_transcoder_destroy(tc);
    struct zs_zb_opts o;
    zs_serve_zb_opts(c, &o);
    if (a.streams > 0)
        o.streams_per_table = (uint32_t)a.streams;
    if (a.linger_ms >= 0)
        o.linger_ms = (uint32_t)a.linger_ms;
    struct zs_zb *z = NULL;
    struct zs_zb_table *zt = NULL;
    struct zs_err err;
    int rc = 1;
    struct zs_buf d;
    zs_buf_init(&d, 1 << 24);
    zs_rc zrc = t->record_type == ZS_RECORD_PROTO ? zs_schema_descriptor(t->schema, &d) : ZS_OK;
    if (zrc == ZS_OK)
        zrc = zs_zb_create(&o, &z, &err);
    if (zrc == ZS_OK)
        zrc =
            zs_zb_table_add(z, t->table_name, (int)t->record_type, d.data, d.len, true, &zt, &err);
    zs_buf_release(&d);
    if (zt == NULL) {
        fprintf(stderr, "zerobus-station: %s\n", zs_err_format(&err, msg, sizeof msg));
        goto out;
    }
    double t0 = zs_mono_s();
    unsigned long submitted = 0;
    for (long rep = 0; rep < a.repeat; rep++) {
        for (size_t i = 0; i < n; i++) {
            size_t start = i ? ends[i - 1] : 0;
            zs_rc s;
            while ((s = zs_zb_submit(zt, all.data + start, ends[i] - start, on_sent, NULL)) ==
                   ZS_EAGAIN)
                usleep(200); /* the window is full: wait for acks */
            if (s != ZS_OK) {
                fprintf(stderr, "zerobus-station: submit: %s\n", zs_rc_str(s));
                goto wait;
            }
            submitted++;
        }
    }
wait:
    while (atomic_load(&send_ok) + atomic_load(&send_failed) < submitted)
        usleep(1000);
    double dt = zs_mono_s() - t0;
    struct zs_zb_table_state st;
    zs_zb_table_state(zt, &st);
    printf("sent %lu records to %s: %lu acknowledged, %lu failed, %ld rejected locally; %.3f s, "
           "%.0f records/s; streams opened %llu, recoveries %llu, replayed %llu\n",
           submitted, t->table_name, atomic_load(&send_ok), atomic_load(&send_failed), bad, dt,
           dt > 0 ? (double)submitted / dt : 0.0, (unsigned long long)st.streams_opened,
           (unsigned long long)st.recoveries, (unsigned long long)st.replayed);
    if (atomic_load(&send_failed) > 0)
        fprintf(stderr, "zerobus-station: first failure: %s\n", send_last_error);
    rc = atomic_load(&send_failed) > 0 || bad > 0 ||
         submitted != (unsigned long)n * (unsigned long)a.repeat;
out:
    zs_zb_destroy(z, 10000);
    zs_buf_release(&all);
    free(ends);
    zs_config_destroy(c);
    return rc;
}

static int cmd_help_config(int argc, char **argv)
{
    struct zs_cli a = {0};
    int r = zs_cli_parse(argc, argv, "help-config", 0, 0, 0, usage_help_config, &a);
    if (r != 0)
        return r > 0 ? 0 : EXIT_USAGE;
    struct zs_buf b;
    zs_buf_init(&b, 1 << 20);
    int rc = zs_config_reference(&b) == ZS_OK ? 0 : 1;
    fwrite(b.data, 1, b.len, stdout);
    zs_buf_release(&b);
    return rc;
}

/* ---------------------------------------------------------------- serve */

/* READY http=PORT [https=PORT ...]: one word per listener, in --listen order. */
static void print_ready(const struct zs_listen *l, const uint16_t *ports, unsigned n, void *ctx)
{
    (void)ctx;
    printf("READY");
    for (unsigned i = 0; i < n; i++)
        printf(" %s=%u", l[i].tls ? "https" : "http", ports[i]);
    printf("\n");
    fflush(stdout);
}

/* --listen HOST:PORT[,tls] ("[::1]:8443,tls" for IPv6) into l; host points into buf.
 * Returns 0, or -1 with the reason printed. */
static int parse_listen(const char *v, struct zs_listen *l, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", v);
    char *comma = strchr(buf, ',');
    l->tls = false;
    if (comma != NULL) {
        if (strcmp(comma + 1, "tls") != 0)
            goto bad;
        l->tls = true;
        *comma = '\0';
    }
    char *colon = strrchr(buf, ':');
    if (colon == NULL || colon == buf)
        goto bad;
    *colon = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535)
        goto bad;
    char *host = buf;
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        host++;
    }
    l->host = host;
    l->port = (uint16_t)port;
    return 0;
bad:
    fprintf(stderr,
            "zerobus-station: --listen: \"%s\" is not HOST:PORT or HOST:PORT,tls\n"
            "Try 'zerobus-station --help'.\n",
            v);
    return -1;
}

/* The spool directory: --spool-dir, else station.spool_dir (relative to the config file's
 * directory), else DIR/spool with --local DIR, else spool/ beside the config file. */
static void resolve_spool_dir(const struct zs_config *c, const char *flag, const char *local,
                              char *out, size_t cap)
{
    if (flag != NULL)
        snprintf(out, cap, "%s", flag);
    else if (c->station.spool_dir != NULL)
        zs_config_path(c, c->station.spool_dir, out, cap);
    else if (local != NULL)
        snprintf(out, cap, "%s/spool", local);
    else
        zs_config_path(c, "spool", out, cap);
}

struct reload_ctx {
    const struct zs_cli *a;
    const struct zs_local *l; /* --local, or NULL */
};

/* zs_serve_opts.load: the same files as at start, and the same --local endpoints. */
static struct zs_config *reload_load(void *ctx, struct zs_err *err)
{
    const struct reload_ctx *r = ctx;
    struct zs_config *c = NULL;
    if (zs_config_load(r->a->config, r->a->env_file, &c, err) != ZS_OK)
        return NULL;
    if (r->l != NULL)
        zs_local_use(c, r->l);
    if (resolve_schemas(c, r->a, err) != ZS_OK) {
        zs_config_destroy(c);
        return NULL;
    }
    return c;
}

static int cmd_serve(int argc, char **argv)
{
    struct zs_cli a = {.port = 8000, .shutdown_ms = 10000, .log_level = -1};
    int r =
        zs_cli_parse(argc, argv, "", CLI_CONFIG | CLI_ENV_FILE | CLI_SERVE, 0, 0, usage_main, &a);
    if (r != 0)
        return r > 0 ? 0 : EXIT_USAGE;
    zs_log_set_json(a.log_json);
    if (a.log_level >= 0)
        zs_log_set_level((enum zs_log_level)a.log_level);
    struct zs_serve_opts o = {.host = a.host ? a.host : "0.0.0.0",
                              .port = (uint16_t)a.port,
                              .workers = (unsigned)a.workers,
                              .eager = a.eager,
                              .shutdown_ms = (uint32_t)a.shutdown_ms,
                              .on_ready = print_ready};
    static char listen_buf[ZS_SERVE_MAX_LISTEN][300];
    for (int i = 0; i < a.nlisten; i++)
        if (parse_listen(a.listen[i], &o.listen[i], listen_buf[i], sizeof listen_buf[i]) != 0)
            return EXIT_USAGE;
    o.nlisten = (unsigned)a.nlisten;
    const char *local = a.local, *spool_dir = a.spool_dir;
    struct zs_config *c = load_config(&a, local == NULL);
    if (c == NULL)
        return 1;
    char spool[4096];
    resolve_spool_dir(c, spool_dir, local, spool, sizeof spool);
    o.spool_dir = spool;
    /* SIGTERM/SIGINT/SIGHUP are taken with sigwait by zs_serve_run: block them everywhere. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct zs_local l = {0};
    int rc = 1;
    struct reload_ctx rctx = {.a = &a, .l = local != NULL ? &l : NULL};
    o.load = reload_load;
    o.load_ctx = &rctx;
    if (local != NULL) {
        if (zs_local_start(c, local, &l) != 0)
            goto out;
        zs_local_use(c, &l);
        struct zs_err rerr;
        char rmsg[600];
        zs_err_clear(&rerr);
        if (resolve_schemas(c, &a, &rerr) != ZS_OK) {
            fprintf(stderr, "zerobus-station: %s\n", zs_err_format(&rerr, rmsg, sizeof rmsg));
            if (rerr.code == ZS_ENOTFOUND)
                fprintf(stderr,
                        "zerobus-station: with --local the catalog is %s/catalog.json: "
                        "give the table \"fields\", or its columns there\n",
                        local);
            goto out;
        }
    }
    if (c->client_id == NULL || c->client_secret == NULL)
        zs_log(ZS_LOG_WARN, "app",
               "msg=\"no credentials: set DATABRICKS_CLIENT_ID and "
               "DATABRICKS_CLIENT_SECRET (environment or .env)\"");
    struct zs_err err;
    char msg[600];
    zs_err_clear(&err);
    uint64_t lost = 0;
    if (zs_serve_run(c, &o, &lost, &err) != ZS_OK) {
        fprintf(stderr, "zerobus-station: %s\n", zs_err_format(&err, msg, sizeof msg));
        goto out;
    }
    rc = lost > 0 ? EXIT_LOST : 0;
out:
    zs_local_stop(&l);
    zs_wipe(l.client_secret, sizeof l.client_secret);
    zs_config_destroy(c);
    return rc;
}

static const char usage_spool[] =
    "usage: zerobus-station spool [--config FILE] [--spool-dir DIR] status\n"
    "       zerobus-station spool [--config FILE] [--spool-dir DIR] dump TABLE\n"
    "\n"
    "status: per table (catalog.schema.table), the segments, the pending records and bytes,\n"
    "the age of the oldest pending record and the dead letters. dump: the pending records\n"
    "of TABLE (catalog.schema.table), one JSON line each: {\"seq\", \"record\", "
    "\"record_base64\"};\n"
    "\"record\" is the record as JSON (with --config, or for JSON tables). Both only read the\n"
    "directory: they work while the station runs. The directory is --spool-dir DIR, else the\n"
    "one the configuration gives (docs/SPOOL.md).\n";

static int cmd_spool(int argc, char **argv)
{
    struct zs_cli a = {0};
    int r = zs_cli_parse(argc, argv, "spool", CLI_CONFIG | CLI_ENV_FILE | CLI_SPOOL_DIR, 1, 2,
                         usage_spool, &a);
    if (r != 0)
        return r > 0 ? 0 : EXIT_USAGE;
    const char *dir = a.spool_dir, *verb = a.pos[0], *table = a.pos[1];
    int dump = strcmp(verb, "dump") == 0;
    if ((!dump && strcmp(verb, "status") != 0) || (dump != (table != NULL))) {
        fprintf(stderr, "zerobus-station: spool: say status, or dump TABLE\n"
                        "Try 'zerobus-station spool --help'.\n");
        return EXIT_USAGE;
    }
    /* The configuration names the directory (unless --spool-dir) and decodes the records
     * for dump; without --config, dump works without it (records in base64). */
    char path[4096];
    struct zs_config *c = NULL;
    if (dir == NULL || (dump && a.config_given)) {
        if ((c = load(&a)) == NULL)
            return 1;
        if (dir == NULL) {
            resolve_spool_dir(c, NULL, NULL, path, sizeof path);
            dir = path;
        }
    }
    struct zs_err err;
    char msg[600];
    zs_err_clear(&err);
    zs_rc rc = dump ? zs_spool_dump(dir, table, stdout, c ? zs_serve_decode : NULL, c, &err)
                    : zs_spool_status(dir, stdout, &err);
    zs_config_destroy(c);
    if (rc != ZS_OK) {
        fprintf(stderr, "zerobus-station: %s\n", zs_err_format(&err, msg, sizeof msg));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-') {
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
            fputs(usage_main, stdout);
            return 0;
        }
        if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
            printf("zerobus-station %s\n", ZS_VERSION);
            return 0;
        }
        return cmd_serve(argc, argv);
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("zerobus-station %s\n", ZS_VERSION);
        return 0;
    }
    if (strcmp(cmd, "check") == 0)
        return cmd_check(argc - 1, argv + 1);
    if (strcmp(cmd, "init") == 0)
        return zs_cmd_init(argc - 1, argv + 1);
    if (strcmp(cmd, "proto") == 0)
        return cmd_proto(argc - 1, argv + 1);
    if (strcmp(cmd, "encode") == 0)
        return cmd_encode(argc - 1, argv + 1);
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "send") == 0)
        return cmd_send(argc - 1, argv + 1);
    if (strcmp(cmd, "spool") == 0)
        return cmd_spool(argc - 1, argv + 1);
    if (strcmp(cmd, "keys") == 0)
        return zs_keys_cmd(argc - 1, argv + 1);
    if (strcmp(cmd, "help-config") == 0)
        return cmd_help_config(argc - 1, argv + 1);
    fprintf(stderr, "zerobus-station: unknown command \"%s\"\n\n%s", cmd, usage_main);
    return EXIT_USAGE;
}
