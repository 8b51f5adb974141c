/*
 * The fake transport: a connection driven by a test or a fuzzer. See http_int.h.
 * Thread: the loop's.
 */
#include <stdio.h>

#include "core/zs_mem.h"
#include "http/http_int.h"

struct zs_http_fake {
    struct zs_http_io io; /* first: the ops get &f->io */
    uv_loop_t *loop;
    struct zs_http_server *srv;
    struct zs_buf out;
    size_t queued; /* written while held, not "sent" yet */
    int hold;
    int closed;
};

static struct zs_http_fake *fake(struct zs_http_io *io)
{
    return (struct zs_http_fake *)io;
}

static int fake_read_start(struct zs_http_io *io)
{
    (void)io;
    return 0;
}

static void fake_read_stop(struct zs_http_io *io)
{
    (void)io;
}

static int fake_write(struct zs_http_io *io, const void *a, size_t alen, const void *b, size_t blen)
{
    struct zs_http_fake *f = fake(io);
    if (zs_buf_append(&f->out, a, alen) != ZS_OK || zs_buf_append(&f->out, b, blen) != ZS_OK)
        return -1;
    if (f->hold)
        f->queued += alen + blen;
    return 0;
}

static size_t fake_queued(const struct zs_http_io *io)
{
    return ((const struct zs_http_fake *)io)->queued;
}

static void fake_close(struct zs_http_io *io)
{
    struct zs_http_fake *f = fake(io);
    if (f->closed)
        return;
    f->closed = 1;
    f->queued = 0;
    if (io->cb != NULL)
        io->cb->on_closed(io->owner); /* the fake itself lives until destroy */
}

static const struct zs_http_io_ops fake_ops = {
    .read_start = fake_read_start,
    .read_stop = fake_read_stop,
    .write = fake_write,
    .queued = fake_queued,
    .close = fake_close,
};

struct zs_http_fake *zs_http__fake_create(uv_loop_t *loop, const struct zs_http_opts *o,
                                          zs_http_handler_fn fn, void *ctx)
{
    struct zs_http_fake *f = zs_xcalloc(1, sizeof *f);
    f->io.ops = &fake_ops;
    f->io.peer_loopback = 1;
    snprintf(f->io.peer, sizeof f->io.peer, "127.0.0.1");
    f->loop = loop;
    zs_buf_init(&f->out, 64u << 20);
    f->srv = zs_http__server_create(loop, o, fn, ctx);
    if (zs_http__conn_open(f->srv, &f->io) != 0)
        f->closed = 1;
    return f;
}

int zs_http__fake_feed(struct zs_http_fake *f, const uint8_t *p, size_t n)
{
    if (f->closed)
        return -1;
    if (n > 0)
        f->io.cb->on_data(f->io.owner, (const char *)p, n);
    /* Buffered requests that wait for a turn of the loop (the batch bound) get it. */
    while (!f->closed && zs_http__conn_waiting(&f->io) && f->queued == 0)
        uv_run(f->loop, UV_RUN_NOWAIT);
    return f->closed ? -1 : 0;
}

const struct zs_buf *zs_http__fake_output(const struct zs_http_fake *f)
{
    return &f->out;
}

int zs_http__fake_closed(const struct zs_http_fake *f)
{
    return f->closed;
}

void zs_http__fake_hold(struct zs_http_fake *f)
{
    f->hold = 1;
}

void zs_http__fake_release(struct zs_http_fake *f)
{
    f->hold = 0;
    f->queued = 0;
    if (!f->closed)
        f->io.cb->on_drain(f->io.owner);
}

void zs_http__fake_destroy(struct zs_http_fake *f)
{
    zs_http_server_close(f->srv); /* closes the connection: fake_close */
    zs_buf_release(&f->out);
    zs_free(f);
}
