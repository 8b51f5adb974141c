/* The emulator's HTTP handlers (http_api.c). Thread: the main loop. */
#ifndef EMU_HTTP_H
#define EMU_HTTP_H

#include <jansson.h>

#include "http/zs_http.h"

struct emu;

/* zs_http_handler_fn for the emulator's API; ctx is the struct emu. */
void emu_http_handle(struct zs_http_req *r, void *ctx);

/* Per-table counters and open streams (GET /api/stats). */
json_t *emu_stats_json(struct emu *e);

#endif
