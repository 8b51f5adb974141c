/* See cli.h. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/cli.h"
#include "core/zs_log.h"

enum {
    O_HELP = 'h',
    O_VERSION = 256,
    O_CONFIG,
    O_ENV_FILE,
    O_HOST,
    O_PORT,
    O_WORKERS,
    O_EAGER,
    O_LOCAL,
    O_SPOOL_DIR,
    O_SHUTDOWN_MS,
    O_LOG_FORMAT,
    O_LOG_LEVEL,
    O_FILE,
    O_REPEAT,
    O_STREAMS,
    O_LINGER_MS,
    O_NO_CREDENTIALS,
    O_ID,
    O_TABLES,
    O_FLUSH,
    O_ADMIN,
    O_KEYS_FILE,
    O_LISTEN,
    O_WORKSPACE_URL,
    O_SERVER_ENDPOINT,
    O_TABLE,
    O_SCHEMA,
    O_OUTPUT,
    O_FORCE,
};

static const struct option longopts[] = {
    {"help", no_argument, NULL, O_HELP},
    {"version", no_argument, NULL, O_VERSION},
    {"config", required_argument, NULL, O_CONFIG},
    {"env-file", required_argument, NULL, O_ENV_FILE},
    {"host", required_argument, NULL, O_HOST},
    {"port", required_argument, NULL, O_PORT},
    {"workers", required_argument, NULL, O_WORKERS},
    {"eager", no_argument, NULL, O_EAGER},
    {"local", required_argument, NULL, O_LOCAL},
    {"spool-dir", required_argument, NULL, O_SPOOL_DIR},
    {"shutdown-ms", required_argument, NULL, O_SHUTDOWN_MS},
    {"log-format", required_argument, NULL, O_LOG_FORMAT},
    {"log-level", required_argument, NULL, O_LOG_LEVEL},
    {"file", required_argument, NULL, O_FILE},
    {"repeat", required_argument, NULL, O_REPEAT},
    {"streams", required_argument, NULL, O_STREAMS},
    {"linger-ms", required_argument, NULL, O_LINGER_MS},
    {"no-credentials", no_argument, NULL, O_NO_CREDENTIALS},
    {"id", required_argument, NULL, O_ID},
    {"tables", required_argument, NULL, O_TABLES},
    {"flush", no_argument, NULL, O_FLUSH},
    {"admin", no_argument, NULL, O_ADMIN},
    {"keys-file", required_argument, NULL, O_KEYS_FILE},
    {"listen", required_argument, NULL, O_LISTEN},
    {"workspace-url", required_argument, NULL, O_WORKSPACE_URL},
    {"server-endpoint", required_argument, NULL, O_SERVER_ENDPOINT},
    {"table", required_argument, NULL, O_TABLE},
    {"schema", required_argument, NULL, O_SCHEMA},
    {"output", required_argument, NULL, O_OUTPUT},
    {"force", no_argument, NULL, O_FORCE},
    {0},
};

/* Which mask bit an option needs. */
static unsigned needs(int id)
{
    switch (id) {
    case O_CONFIG:
        return CLI_CONFIG;
    case O_ENV_FILE:
        return CLI_ENV_FILE;
    case O_SPOOL_DIR:
        return CLI_SERVE | CLI_SPOOL_DIR;
    case O_FILE:
    case O_REPEAT:
    case O_STREAMS:
    case O_LINGER_MS:
        return CLI_SEND;
    case O_NO_CREDENTIALS:
        return CLI_NO_CREDENTIALS;
    case O_ID:
    case O_TABLES:
    case O_FLUSH:
    case O_ADMIN:
    case O_KEYS_FILE:
        return CLI_KEYS;
    case O_WORKSPACE_URL:
    case O_SERVER_ENDPOINT:
    case O_TABLE:
    case O_SCHEMA:
    case O_OUTPUT:
    case O_FORCE:
        return CLI_INIT;
    case O_LOCAL:
        return CLI_SERVE | CLI_INIT;
    case O_HELP:
    case O_VERSION:
        return ~0u;
    default:
        return CLI_SERVE;
    }
}

static const char *name_of(int id)
{
    for (const struct option *o = longopts; o->name != NULL; o++)
        if (o->val == id)
            return o->name;
    return "?";
}

static int hint(const char *cmd)
{
    fprintf(stderr, "Try 'zerobus-station%s%s --help'.\n", cmd[0] ? " " : "", cmd);
    return -1;
}

/* A whole-string decimal integer in [min, max]. */
static int number(const char *cmd, int id, const char *v, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (v[0] == '\0' || *end != '\0' || errno != 0 || n < min || n > max) {
        fprintf(stderr, "zerobus-station: --%s: \"%s\" is not an integer in %ld..%ld\n",
                name_of(id), v, min, max);
        return hint(cmd);
    }
    *out = n;
    return 0;
}

static int nonempty(const char *cmd, int id, const char *v, const char **out)
{
    if (v[0] == '\0') {
        fprintf(stderr, "zerobus-station: --%s: the value is empty\n", name_of(id));
        return hint(cmd);
    }
    *out = v;
    return 0;
}

int zs_cli_parse(int argc, char **argv, const char *cmd, unsigned mask, int min_pos, int max_pos,
                 const char *usage, struct zs_cli *a)
{
    int c, rc = 0;
    optind = 0; /* a full re-initialisation (GNU) */
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        const char *v = optarg;
        if (c == '?') {
            if (optopt != 0)
                fprintf(stderr, "zerobus-station: unknown option -%c\n", optopt);
            else
                fprintf(stderr, "zerobus-station: unknown option %s\n", argv[optind - 1]);
            return hint(cmd);
        }
        if (c == ':') {
            fprintf(stderr, "zerobus-station: %s needs a value\n", argv[optind - 1]);
            return hint(cmd);
        }
        if (!(needs(c) & mask)) {
            fprintf(stderr, "zerobus-station: --%s is not an option of %s\n", name_of(c),
                    cmd[0] ? cmd : "serve");
            return hint(cmd);
        }
        long n;
        switch (c) {
        case O_HELP:
            fputs(usage, stdout);
            return 1;
        case O_VERSION:
            printf("zerobus-station %s\n", ZS_VERSION);
            return 1;
        case O_CONFIG:
            rc = nonempty(cmd, c, v, &a->config);
            break;
        case O_ENV_FILE:
            rc = nonempty(cmd, c, v, &a->env_file);
            break;
        case O_HOST:
            rc = nonempty(cmd, c, v, &a->host);
            break;
        case O_LOCAL:
            rc = nonempty(cmd, c, v, &a->local);
            break;
        case O_SPOOL_DIR:
            rc = nonempty(cmd, c, v, &a->spool_dir);
            break;
        case O_FILE:
            rc = nonempty(cmd, c, v, &a->file);
            break;
        case O_ID:
            rc = nonempty(cmd, c, v, &a->key_id);
            break;
        case O_TABLES:
            rc = nonempty(cmd, c, v, &a->key_tables);
            break;
        case O_KEYS_FILE:
            rc = nonempty(cmd, c, v, &a->keys_file);
            break;
        case O_LISTEN:
            if (a->nlisten == (int)(sizeof a->listen / sizeof a->listen[0])) {
                fprintf(stderr, "zerobus-station: --listen: at most %zu\n",
                        sizeof a->listen / sizeof a->listen[0]);
                return hint(cmd);
            }
            rc = nonempty(cmd, c, v, &a->listen[a->nlisten]);
            a->nlisten += rc == 0;
            break;
        case O_WORKSPACE_URL:
            rc = nonempty(cmd, c, v, &a->workspace_url);
            break;
        case O_SERVER_ENDPOINT:
            rc = nonempty(cmd, c, v, &a->server_endpoint);
            break;
        case O_SCHEMA:
            rc = nonempty(cmd, c, v, &a->schema);
            break;
        case O_OUTPUT:
            rc = nonempty(cmd, c, v, &a->output);
            break;
        case O_FORCE:
            a->force = true;
            break;
        case O_TABLE:
            if (a->ninit_tables == CLI_MAX_INIT_TABLES) {
                fprintf(stderr, "zerobus-station: --table: at most %d\n", CLI_MAX_INIT_TABLES);
                return hint(cmd);
            }
            rc = nonempty(cmd, c, v, &a->init_tables[a->ninit_tables]);
            a->ninit_tables += rc == 0;
            break;
        case O_FLUSH:
            a->key_flush = true;
            break;
        case O_ADMIN:
            a->key_admin = true;
            break;
        case O_PORT:
            rc = number(cmd, c, v, 0, 65535, &a->port);
            break;
        case O_WORKERS:
            rc = number(cmd, c, v, 1, 256, &a->workers);
            break;
        case O_SHUTDOWN_MS:
            rc = number(cmd, c, v, 0, 3600000, &a->shutdown_ms);
            break;
        case O_REPEAT:
            rc = number(cmd, c, v, 1, 1000000000, &a->repeat);
            break;
        case O_STREAMS:
            rc = number(cmd, c, v, 1, 64, &a->streams);
            break;
        case O_LINGER_MS:
            rc = number(cmd, c, v, 0, 1000, &n);
            a->linger_ms = n;
            break;
        case O_EAGER:
            a->eager = true;
            break;
        case O_NO_CREDENTIALS:
            a->no_credentials = true;
            break;
        case O_LOG_FORMAT:
            if (strcmp(v, "text") != 0 && strcmp(v, "json") != 0) {
                fprintf(stderr, "zerobus-station: --log-format: \"%s\" is not text or json\n", v);
                return hint(cmd);
            }
            a->log_json = strcmp(v, "json") == 0;
            break;
        case O_LOG_LEVEL: {
            enum zs_log_level lvl;
            if (zs_log_parse_level(v, &lvl) != ZS_OK) {
                fprintf(stderr,
                        "zerobus-station: --log-level: \"%s\" is not one of error, warn, info, "
                        "debug, trace\n",
                        v);
                return hint(cmd);
            }
            a->log_level = (int)lvl;
            break;
        }
        default:
            return hint(cmd);
        }
    }
    if (rc != 0)
        return rc;
    for (int i = optind; i < argc; i++) {
        if (a->npos >= max_pos) {
            fprintf(stderr, "zerobus-station: unexpected argument %s\n", argv[i]);
            return hint(cmd);
        }
        a->pos[a->npos++] = argv[i];
    }
    if (a->npos < min_pos) {
        fprintf(stderr, "zerobus-station: %s needs %s\n", cmd[0] ? cmd : "serve",
                max_pos == 1 ? "a TABLE argument" : "an argument");
        return hint(cmd);
    }
    if (a->config == NULL)
        a->config = getenv("ZEROBUS_STATION_CONFIG");
    a->config_given = a->config != NULL && a->config[0] != '\0';
    if (!a->config_given)
        a->config = "config.json";
    return 0;
}
