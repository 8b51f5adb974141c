/*
 * The HTTP gateway: the original service's API (GET /, /health, /health/{table},
 * POST /ingest/{table}?wait_for_ack=, POST /flush/{table}, /openapi.json, /docs, /redoc)
 * on N worker loops, wired to the Zerobus client (design.md §3).
 * Thread: zs_gateway_run blocks the calling thread (main) until SIGTERM/SIGINT.
 */
#ifndef ZS_API_H
#define ZS_API_H

#include <stdbool.h>
#include <stdint.h>

#include "config/zs_config.h"
#include "core/zs_buf.h"
#include "core/zs_err.h"
#include "zerobus/zs_zerobus.h"

struct zs_gateway_opts {
    const char *host;     /* "0.0.0.0" like the original */
    uint16_t port;        /* 8000; 0 = ephemeral */
    unsigned workers;     /* 0 = number of cores */
    bool eager;           /* open streams at start instead of at the first record */
    uint32_t shutdown_ms; /* deadline for draining requests and acks at shutdown */
    void (*on_ready)(uint16_t port, void *ctx); /* after every worker listens */
    void *ready_ctx;
};

/*
 * Serve until SIGTERM/SIGINT, then stop accepting, finish in-flight requests, flush and
 * close the streams within shutdown_ms, and return ZS_OK. Errors at start (bind, client)
 * return ZS_EIO / ZS_EINVAL with err set.
 */
ZS_MUST_CHECK zs_rc zs_gateway_run(const struct zs_config *c, const struct zs_gateway_opts *o,
                                   struct zs_err *err);

/*
 * Fill *out with the Zerobus client options of c (credentials, endpoint, the station
 * section's stream, batch, in-flight and recovery settings). The strings point into c,
 * which must outlive *out. Never fails.
 */
void zs_api_zb_opts(const struct zs_config *c, struct zs_zb_opts *out);

/* OpenAPI 3.1 document for the configured tables (openapi.c). */
ZS_MUST_CHECK zs_rc zs_api_openapi(const struct zs_config *c, struct zs_buf *out);

/* The self-contained page served at /docs and /redoc (renders /openapi.json, no CDN). */
const char *zs_api_docs_page(void);

#endif
