/*
 * The TCP transport of an HTTP connection: a uv_tcp_t. See http_int.h for the contract.
 * Thread: the listener's loop.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "core/zs_mem.h"
#include "http/http_int.h"

struct tcp_io {
    struct zs_http_io base;
    uv_tcp_t tcp; /* handle.data = this */
    char *rbuf;
    size_t rbuf_len;
    int reading;
    int closing;
};

struct wreq {
    uv_write_t w;
    struct tcp_io *t;
    size_t len;
    char data[];
};

static struct tcp_io *tio(struct zs_http_io *io)
{
    return (struct tcp_io *)io;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct tcp_io *t = h->data;
    (void)suggested;
    *buf = uv_buf_init(t->rbuf, (unsigned)t->rbuf_len);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct tcp_io *t = st->data;
    if (nread > 0)
        t->base.cb->on_data(t->base.owner, buf->base, (size_t)nread);
    else if (nread == UV_EOF)
        t->base.cb->on_eof(t->base.owner);
    else if (nread < 0)
        t->base.cb->on_error(t->base.owner);
}

static int tcp_read_start(struct zs_http_io *io)
{
    struct tcp_io *t = tio(io);
    if (t->reading)
        return 0;
    if (uv_read_start((uv_stream_t *)&t->tcp, on_alloc, on_read) != 0)
        return -1;
    t->reading = 1;
    return 0;
}

static void tcp_read_stop(struct zs_http_io *io)
{
    struct tcp_io *t = tio(io);
    if (t->reading) {
        uv_read_stop((uv_stream_t *)&t->tcp);
        t->reading = 0;
    }
}

static void on_write(uv_write_t *w, int status)
{
    struct wreq *r = (struct wreq *)w;
    struct tcp_io *t = r->t;
    zs_free(r);
    if (t->closing)
        return; /* cancelled by the close */
    if (status < 0)
        t->base.cb->on_error(t->base.owner);
    else
        t->base.cb->on_drain(t->base.owner);
}

static size_t tcp_queued(const struct zs_http_io *io)
{
    const struct tcp_io *t = (const struct tcp_io *)io;
    return uv_stream_get_write_queue_size((const uv_stream_t *)&t->tcp);
}

/*
 * Write at once when nothing is queued (the usual case): no copy, and no uv_write, whose
 * completion re-arms the fd with an epoll_ctl per response. What the socket does not take
 * now is copied and queued.
 */
static int tcp_write(struct zs_http_io *io, const void *a, size_t alen, const void *b, size_t blen)
{
    struct tcp_io *t = tio(io);
    size_t done = 0;
    if (tcp_queued(io) == 0) {
        /* uv_buf_t has no const variant; uv_try_write only reads (hence the uintptr_t). */
        uv_buf_t bufs[2] = {uv_buf_init((char *)(uintptr_t)a, (unsigned)alen),
                            uv_buf_init((char *)(uintptr_t)b, (unsigned)blen)};
        int n = uv_try_write((uv_stream_t *)&t->tcp, bufs, blen ? 2 : 1);
        if (n < 0 && n != UV_EAGAIN)
            return -1;
        done = n > 0 ? (size_t)n : 0;
        if (done == alen + blen)
            return 0;
    }
    struct wreq *r = zs_alloc(sizeof *r + alen + blen - done);
    if (r == NULL)
        return -1;
    r->t = t;
    r->len = alen + blen - done;
    if (done < alen) {
        memcpy(r->data, (const char *)a + done, alen - done);
        if (blen)
            memcpy(r->data + alen - done, b, blen);
    } else {
        memcpy(r->data, (const char *)b + (done - alen), alen + blen - done);
    }
    uv_buf_t buf = uv_buf_init(r->data, (unsigned)r->len);
    if (uv_write(&r->w, (uv_stream_t *)&t->tcp, &buf, 1, on_write) != 0) {
        zs_free(r);
        return -1;
    }
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    struct tcp_io *t = h->data;
    const struct zs_http_io_cb *cb = t->base.cb;
    void *owner = t->base.owner;
    zs_free(t);
    if (cb != NULL)
        cb->on_closed(owner);
}

static void tcp_close(struct zs_http_io *io)
{
    struct tcp_io *t = tio(io);
    if (t->closing)
        return;
    t->closing = 1;
    uv_close((uv_handle_t *)&t->tcp, on_closed);
}

static const struct zs_http_io_ops tcp_ops = {
    .read_start = tcp_read_start,
    .read_stop = tcp_read_stop,
    .write = tcp_write,
    .queued = tcp_queued,
    .close = tcp_close,
};

/* The peer's address as text (peer) and whether it is loopback (127.0.0.0/8, ::1). */
static int peer_of(uv_tcp_t *h, char *peer, size_t cap)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    peer[0] = '\0';
    if (uv_tcp_getpeername(h, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        uv_ip4_name(a, peer, cap);
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&ss;
        const struct in6_addr *a = &a6->sin6_addr;
        uv_ip6_name(a6, peer, cap);
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return 0;
}

zs_rc zs_http__tcp_accept(uv_stream_t *listener, char *rbuf, size_t rbuf_len,
                          struct zs_http_io **out)
{
    struct tcp_io *t = zs_calloc(1, sizeof *t);
    if (t == NULL)
        return ZS_ENOMEM;
    t->base.ops = &tcp_ops;
    t->rbuf = rbuf;
    t->rbuf_len = rbuf_len;
    uv_tcp_init(listener->loop, &t->tcp);
    t->tcp.data = t;
    if (uv_accept(listener, (uv_stream_t *)&t->tcp) != 0) {
        tcp_close(&t->base); /* no owner yet: on_closed only frees it */
        return ZS_EIO;
    }
    uv_tcp_nodelay(&t->tcp, 1);
    t->base.peer_loopback = peer_of(&t->tcp, t->base.peer, sizeof t->base.peer);
    *out = &t->base;
    return ZS_OK;
}
