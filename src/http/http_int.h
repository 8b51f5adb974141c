/*
 * HTTP internals for tests and fuzzing: a connection with a fake transport. Bytes are
 * fed as if read from a socket; responses accumulate in a buffer; a close sets a flag.
 * Thread: the loop's (the loop need not run: timers are armed, never fired).
 */
#ifndef ZS_HTTP_INT_H
#define ZS_HTTP_INT_H

#include "http/zs_http.h"

struct zs_http_fake;

struct zs_http_fake *zs_http__fake_create(uv_loop_t *loop, const struct zs_http_opts *o,
                                          zs_http_handler_fn fn, void *ctx);
/* Feed bytes as one read. Returns 0, or -1 once the connection is closed. */
int zs_http__fake_feed(struct zs_http_fake *f, const uint8_t *p, size_t n);
/* Everything written so far. */
const struct zs_buf *zs_http__fake_output(const struct zs_http_fake *f);
int zs_http__fake_closed(const struct zs_http_fake *f);
/* Free it; a request still held by the handler must have been answered first. */
void zs_http__fake_destroy(struct zs_http_fake *f);

#endif
