/*
 * The station's runtime (as Redis keeps ae.c apart from its commands): worker threads
 * with their loops and listeners, the hand-back of completions to them, signals, and the
 * shutdown sequence; it wires the Zerobus client, the spool and the handlers together.
 * Thread: main.
 */
#ifndef ZS_APP_SERVE_H
#define ZS_APP_SERVE_H

#include <stdbool.h>
#include <stdint.h>

#include "config/zs_config.h"
#include "core/zs_err.h"
#include "zerobus/zs_zerobus.h"

#define ZS_SERVE_MAX_LISTEN 8

/* A listener: --listen HOST:PORT[,tls]. */
struct zs_listen {
    const char *host;
    uint16_t port; /* 0 = ephemeral */
    bool tls;      /* HTTPS with station.tls_cert / tls_key */
};

struct zs_serve_opts {
    const char *host; /* "0.0.0.0" like the original (without listen[]) */
    uint16_t port;    /* 8000; 0 = ephemeral (without listen[]) */
    struct zs_listen listen[ZS_SERVE_MAX_LISTEN]; /* --listen, in order; or nlisten 0 */
    unsigned nlisten;
    unsigned workers;      /* 0 = number of cores */
    bool eager;            /* open streams at start instead of at the first record */
    uint32_t shutdown_ms;  /* deadline for draining requests and acks at shutdown */
    const char *spool_dir; /* resolved: --spool-dir, station.spool_dir or the default */
    /* after every worker listens: the listeners and their bound ports */
    void (*on_ready)(const struct zs_listen *l, const uint16_t *ports, unsigned n, void *ctx);
    void *ready_ctx;
    /* A reload's new configuration (the same files and flags as at start), or NULL with
     * err set; the runtime owns what it returns. NULL: reloads re-read nothing. */
    struct zs_config *(*load)(void *ctx, struct zs_err *err);
    void *load_ctx;
};

/*
 * Serve until SIGTERM/SIGINT (SIGHUP reloads: the configuration, keys and certificate), then stop
 * accepting, answer what is in flight, and stop within shutdown_ms (disk mode: unacknowledged
 * records stay spooled). Returns ZS_OK and *out_lost: records given up or dead-lettered during the
 * run (a non-zero exit status). Errors at start (spool, bind, client) return their code
 * with err set.
 */
ZS_MUST_CHECK zs_rc zs_serve_run(const struct zs_config *c, const struct zs_serve_opts *o,
                                 uint64_t *out_lost, struct zs_err *err);

/*
 * The Zerobus client options of c (credentials, endpoint, the station section's stream,
 * batch, window and recovery settings). Strings point into c. Never fails.
 */
void zs_serve_zb_opts(const struct zs_config *c, struct zs_zb_opts *out);

/* The spool's decode hook (zs_spool_decode_fn): ctx is the struct zs_config; the table is
 * found by its Delta table name. ZS_ENOTFOUND if the configuration has no such table. */
zs_rc zs_serve_decode(const void *ctx, const char *table_name, const void *rec, size_t len,
                      struct zs_buf *out);

#endif
