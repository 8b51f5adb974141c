/*
 * The command line: every command's options on getopt_long, each value checked against
 * its range; a bad one is named with its value, and the caller exits 2 after a one-line
 * hint ("Try 'zerobus-station CMD --help'."). Thread: main.
 */
#ifndef ZS_APP_CLI_H
#define ZS_APP_CLI_H

#include <stdbool.h>
#include <stdint.h>

/* Options, as bits of the set a command accepts. */
enum {
    CLI_CONFIG = 1 << 0,         /* --config FILE */
    CLI_ENV_FILE = 1 << 1,       /* --env-file FILE */
    CLI_SERVE = 1 << 2,          /* --host --port --workers --eager --local --spool-dir
                                    --shutdown-ms --log-format --log-level */
    CLI_SEND = 1 << 3,           /* --file --repeat --streams --linger-ms */
    CLI_SPOOL_DIR = 1 << 4,      /* --spool-dir DIR alone (the spool command) */
    CLI_NO_CREDENTIALS = 1 << 5, /* --no-credentials (check) */
    CLI_KEYS = 1 << 6,           /* --id --tables --flush --admin --keys-file (keys) */
    CLI_INIT = 1 << 7,           /* --workspace-url --server-endpoint --table --schema
                                    --output --force --local (init) */
};

#define CLI_MAX_INIT_TABLES 256

#define CLI_MAX_POS 4

struct zs_cli {
    const char *config, *env_file;
    bool config_given; /* --config or $ZEROBUS_STATION_CONFIG, not the config.json fallback */
    /* serve */
    const char *host, *local, *spool_dir;
    const char *listen[8]; /* --listen HOST:PORT[,tls], in order */
    int nlisten;
    long port, workers, shutdown_ms;
    bool eager, log_json;
    int log_level; /* enum zs_log_level, or -1 */
    /* send */
    const char *file;
    long repeat, streams, linger_ms;
    /* check */
    bool no_credentials;
    /* keys */
    const char *key_id, *key_tables, *keys_file;
    bool key_flush, key_admin;
    /* init */
    const char *workspace_url, *server_endpoint, *schema, *output;
    const char *init_tables[CLI_MAX_INIT_TABLES];
    int ninit_tables;
    bool force;
    /* positional arguments */
    const char *pos[CLI_MAX_POS];
    int npos;
};

/*
 * Parse argv[1..argc) of command cmd ("" for serving), accepting the options in mask and
 * between min_pos and max_pos positional arguments. *out starts with the defaults.
 * Returns 0 (parsed), 1 (--help or --version printed: exit 0), -1 (an error was printed
 * with the hint: exit 2). --config falls back to $ZEROBUS_STATION_CONFIG, then
 * config.json.
 */
int zs_cli_parse(int argc, char **argv, const char *cmd, unsigned mask, int min_pos, int max_pos,
                 const char *usage, struct zs_cli *out);

#endif
