/*
 * The HTTP handlers: the original service's API (GET /, /health, /health/{table},
 * POST /ingest/{table}?wait_for_ack=, POST /flush/{table}, /openapi.json, /docs, /redoc),
 * and Databricks' REST ingest call (POST /zerobus/v1/tables/{table_name}/insert).
 * They reach the delivery path only through the spool (spool/zs_spool.h: submit, flush,
 * state); threads, loops, signals and shutdown belong to the runtime (src/app/serve.c).
 *
 * Threads: zs_gateway_handle runs on an HTTP worker's loop thread with that worker's
 * struct zs_gateway_worker. A request that waits (a spool commit, an ack, a flush) is
 * parked; its completion arrives on another thread and is handed to the worker's runtime
 * through post_fn, which must call zs_gateway_answer on the worker's thread.
 */
#ifndef ZS_API_H
#define ZS_API_H

#include <stdbool.h>
#include <stdint.h>

#include "config/zs_config.h"
#include "core/zs_buf.h"
#include "core/zs_err.h"
#include "core/zs_handoff.h"
#include "http/zs_http.h"
#include "spool/zs_spool.h"

struct zs_gateway;
struct zs_gateway_worker;

/* Give a parked request's node to its worker's thread (any thread; see above). */
typedef void (*zs_gateway_post_fn)(void *post_ctx, struct zs_handoff_node *parked);

/*
 * Handlers for c's tables; tables[i] is the spool table of c->tables[i] and variants[i]
 * the spool variant of its schema (borrowed, as are c and sp: they outlive the gateway).
 * Returns ZS_OK or ZS_ENOMEM. Thread: main.
 */
ZS_MUST_CHECK zs_rc zs_gateway_create(const struct zs_config *c, struct zs_spool *sp,
                                      struct zs_spool_table *const *tables, const int *variants,
                                      struct zs_gateway **out);

/*
 * Serve c from now on (a reload): tables and variants as for zs_gateway_create. The
 * gateway owns c and frees it once no request uses it. Workers take the new configuration
 * at their next request; requests already in progress finish with the one they began with.
 * Tables c no longer has answer 404 (the spool goes on delivering what they hold). Thread:
 * any, one reload at a time.
 */
void zs_gateway_reconfigure(struct zs_gateway *g, struct zs_config *c,
                            struct zs_spool_table *const *tables, const int *variants);

/*
 * POST /admin/reload and POST /admin/schema/refresh (the same: a reload fetches the
 * catalog's columns again), for a key with the admin right, or a loopback client without
 * keys. The request is parked and fn asks the runtime for a reload (fn must not block: the
 * reload waits for files and the catalog); whoever runs it answers with
 * zs_gateway_reload_answer(req, status, json): 200 and the summary, 422 and {"error"}, 503
 * when stopping. Exactly one answer per req. Set before serving; NULL: 501.
 * Thread: fn on the requesting worker; the answer from any thread.
 */
struct zs_gateway_reload_req;
typedef void (*zs_gateway_reload_fn)(void *ctx, struct zs_gateway_reload_req *req);
void zs_gateway_set_reload(struct zs_gateway *g, zs_gateway_reload_fn fn, void *ctx);
void zs_gateway_reload_answer(struct zs_gateway_reload_req *req, int status, const char *json);
void zs_gateway_destroy(struct zs_gateway *g); /* NULL does nothing */

/* Per-worker handler state (transcoder, buffers). NULL on ENOMEM. Thread: main. */
struct zs_gateway_worker *zs_gateway_worker_create(struct zs_gateway *g, zs_gateway_post_fn post,
                                                   void *post_ctx);
void zs_gateway_worker_destroy(struct zs_gateway_worker *w);

/* The zs_http_handler_fn of a worker (ctx: its struct zs_gateway_worker). */
void zs_gateway_handle(struct zs_http_req *req, void *ctx);

/*
 * The zs_http_error_body_fn of the station's servers: under /zerobus/v1/ the refusals of the
 * HTTP layer get the Zerobus REST error shape ({"error_code", "message"}); elsewhere 0 (the
 * server's own body). Thread: any (no state).
 */
size_t zs_gateway_error_body(struct zs_slice path, int status, const char *why, char *out,
                             size_t cap);

/*
 * Ingest authentication from now on: ks (a reference is taken; the caller keeps its own),
 * or NULL for none. Workers pick it up at their next request; the old set is freed when the
 * last worker lets it go (a reload never waits for them). Thread: any.
 */
struct zs_keys;
void zs_gateway_set_keys(struct zs_gateway *g, struct zs_keys *ks);

/* A reload (SIGHUP, /admin/reload) was tried: error NULL if it worked, else why not (no
 * secret in it); summary: a JSON object of what changed, or NULL. /health shows the count,
 * the last error and the last summary; /metrics the counts. Thread: any. */
void zs_gateway_reload_result(struct zs_gateway *g, const char *error, const char *summary);

/*
 * /metrics: the gateway writes its families (HTTP, records, spool and streams per table,
 * auth, reloads); fn, when set, adds the runtime's (build info, process, tokens) to the same
 * exposition. fn runs on the scraping worker's thread, ctx is borrowed. Set before serving.
 */
struct zs_prom;
typedef void (*zs_gateway_metrics_fn)(void *ctx, struct zs_prom *p);
void zs_gateway_set_metrics(struct zs_gateway *g, zs_gateway_metrics_fn fn, void *ctx);

/* The zs_http_answered_fn of a worker's servers (ctx: its struct zs_gateway_worker): counts
 * requests by route and status, their bytes and durations. Thread: the worker's. */
void zs_gateway_answered(void *ctx, const struct zs_http_req *req, int status, uint64_t bytes_in,
                         uint64_t us);

/* Answer a parked request handed back by post. Thread: its worker's. */
void zs_gateway_answer(struct zs_handoff_node *parked);

/*
 * Shutdown levels: 1 = ingest and flush answer 503 (stopping); 2 = the delivery path is
 * going away: every request answers 503 without touching the spool. The runtime makes
 * sure each worker has seen level 2 before it destroys the sink. Thread: any.
 */
void zs_gateway_set_stopping(struct zs_gateway *g, int level);

/* Requests parked and not yet answered (for the shutdown's waits). Thread: any. */
long zs_gateway_parked(struct zs_gateway *g);

/* OpenAPI 3.1 document for the configured tables (openapi.c). */
ZS_MUST_CHECK zs_rc zs_api_openapi(const struct zs_config *c, struct zs_buf *out);

/* The self-contained page served at /docs and /redoc (renders /openapi.json, no CDN). */
const char *zs_api_docs_page(void);

#endif
