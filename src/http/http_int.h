/*
 * HTTP module internals: the byte transport under a connection, and the fake transport
 * that tests and fuzzing drive a connection with.
 *
 * A connection (server.c) reads and writes through a struct zs_http_io, as Redis' commands
 * go through connection.h and curl's transfers through connection filters: TCP today
 * (io_tcp.c), the fake below (io_fake.c), TLS later, without a branch in the connection's
 * code. Thread: a transport, its connection and every callback below belong to one loop's
 * thread.
 */
#ifndef ZS_HTTP_INT_H
#define ZS_HTTP_INT_H

#include "http/zs_http.h"

struct zs_http_io;

/* The connection's side: what a transport calls. owner is the connection. */
struct zs_http_io_cb {
    /* Bytes read; p is valid during the call only. */
    void (*on_data)(void *owner, const char *p, size_t n);
    /* The peer finished sending (it may still read). */
    void (*on_eof)(void *owner);
    /* Reading or writing failed: the connection closes. */
    void (*on_error)(void *owner);
    /* Queued output was written (queued() says how much is left). */
    void (*on_drain)(void *owner);
    /* A close finished: the transport is gone. */
    void (*on_closed)(void *owner);
};

struct zs_http_io_ops {
    /* Deliver bytes to on_data until read_stop. Returns 0, or -1 (the transport failed). */
    int (*read_start)(struct zs_http_io *io);
    void (*read_stop)(struct zs_http_io *io);
    /*
     * Send a[0..alen) then b[0..blen) (b may be NULL with blen 0). What cannot go now is
     * copied and queued: the caller's buffers are free on return. Returns 0, or -1 when the
     * transport failed (the caller closes).
     */
    int (*write)(struct zs_http_io *io, const void *a, size_t alen, const void *b, size_t blen);
    /* Bytes accepted by write and not yet sent. */
    size_t (*queued)(const struct zs_http_io *io);
    /* Close (queued output is dropped); no callback but on_closed follows, later or now. */
    void (*close)(struct zs_http_io *io);
};

struct zs_http_io {
    const struct zs_http_io_ops *ops;
    const struct zs_http_io_cb *cb; /* set by the connection that owns the transport */
    void *owner;
    int peer_loopback;  /* the peer is 127.0.0.0/8 or ::1 */
    char peer[48];      /* the peer's address as text ("127.0.0.1", "::1"), or "" */
    char client_cn[65]; /* TLS: the verified client certificate's subject CN, or "" */
};

/*
 * TCP (io_tcp.c): accept a connection from listener on its loop. Reads land in rbuf (shared
 * by the loop's connections: on_data copies what it keeps). *out is freed by its close.
 * Returns ZS_OK; ZS_ENOMEM: nothing was accepted (accept it elsewhere, or the listener
 * stalls); ZS_EIO: accept failed (the connection is closed).
 */
ZS_MUST_CHECK zs_rc zs_http__tcp_accept(uv_stream_t *listener, char *rbuf, size_t rbuf_len,
                                        struct zs_http_io **out);

/* ---------------------------------------------------------------- connection (server.c) */

/* A server with no listener: connections come from zs_http__conn_open. Freed by
 * zs_http_server_close (then run the loop until the closes complete). */
struct zs_http_server *zs_http__server_create(uv_loop_t *loop, const struct zs_http_opts *o,
                                              zs_http_handler_fn fn, void *ctx);
/* Serve one connection over io (the connection owns it from now on). Returns 0, or -1
 * (out of memory, the connection cap): io was closed. */
int zs_http__conn_open(struct zs_http_server *s, struct zs_http_io *io);
/* Requests of io's connection are buffered and wait for a turn of the loop. */
int zs_http__conn_waiting(const struct zs_http_io *io);

/*
 * TLS (io_tls.c) over lower, with tls's current certificate: *out is the transport the
 * connection uses; it owns lower (closing it closes lower). The handshake runs on the first
 * bytes read; a failed one closes the connection (on_error). Returns ZS_OK, or ZS_ENOMEM
 * (lower was closed).
 */
struct zs_tls;
zs_rc zs_http__tls_wrap(struct zs_tls *tls, struct zs_http_io *lower, struct zs_http_io **out);

/* ---------------------------------------------------------------- fake transport (io_fake.c) */

/*
 * A connection over a fake transport. Bytes are fed as if read from a socket; responses
 * accumulate in a buffer; a close sets a flag. Thread: the loop's. The loop runs only inside
 * zs_http__fake_feed, for the turns buffered requests wait for (timers far away never fire).
 */
struct zs_http_fake;

struct zs_http_fake *zs_http__fake_create(uv_loop_t *loop, const struct zs_http_opts *o,
                                          zs_http_handler_fn fn, void *ctx);
/* Feed bytes as one read. Returns 0, or -1 once the connection is closed. */
int zs_http__fake_feed(struct zs_http_fake *f, const uint8_t *p, size_t n);
/* Everything written so far. */
const struct zs_buf *zs_http__fake_output(const struct zs_http_fake *f);
int zs_http__fake_closed(const struct zs_http_fake *f);
/* A slow client: from now on written bytes count as queued (unsent) until release. */
void zs_http__fake_hold(struct zs_http_fake *f);
/* The client reads everything queued: the connection hears it (on_drain). */
void zs_http__fake_release(struct zs_http_fake *f);
/* Free it; a request still held by the handler must have been answered first. Run the loop
 * (UV_RUN_NOWAIT) afterwards so the closes complete. */
void zs_http__fake_destroy(struct zs_http_fake *f);

#endif
