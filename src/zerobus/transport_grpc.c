/*
 * The Zerobus transport on gRPC core's C API: one channel per endpoint (TLS with system
 * roots or tls_ca_file; http:// for plaintext h2c), keepalive, unlimited receive size, one
 * completion queue polled by the client thread, one outstanding write per call.
 * This is the only file of the station that includes gRPC headers.
 * Thread: the client thread, except t_wake (any thread).
 */
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/zs_log.h"
#include "core/zs_mem.h"
#include "zerobus/zerobus_int.h"

#define METHOD "/databricks.zerobus.Zerobus/EphemeralStream"
#define SDK_ID "zerobus-station/" ZS_VERSION

enum op { OP_START = 1, OP_SEND, OP_RECV, OP_STATUS };

struct gcall;
struct gtag {
    struct gcall *c;
    enum op op;
};

struct gcall {
    struct gtag t_start, t_send, t_recv, t_status;
    struct zb_stream *s; /* NULL once released by the stream */
    grpc_call *call;
    grpc_metadata md[3];
    grpc_metadata_array rmd, tmd;
    grpc_byte_buffer *sbuf, *rbuf;
    grpc_status_code status;
    grpc_slice details;
    int ops;      /* outstanding batches */
    int finished; /* status received */
    int in_event; /* on_event is using c: freeing waits until it returns */
};

struct gtrans {
    grpc_channel *ch;
    grpc_completion_queue *cq;
    char *host;
    pthread_mutex_t bell_lock; /* t_wake against t_destroy */
    int closed;                /* under bell_lock: the channel is going away */
    char bell;                 /* its address is the doorbell's tag */
};

static void log_bridge(gpr_log_func_args *a)
{
    zs_log(ZS_LOG_WARN, "grpc", "msg=\"%s\" file=%s line=%d", a->message, a->file, a->line);
}

static void maybe_free(struct gcall *c)
{
    if (c->s != NULL || c->ops > 0 || c->in_event)
        return;
    grpc_call_unref(c->call);
    grpc_metadata_array_destroy(&c->rmd);
    grpc_metadata_array_destroy(&c->tmd);
    grpc_slice_unref(c->details);
    for (int i = 0; i < 3; i++)
        grpc_slice_unref(c->md[i].value);
    free(c);
}

static void start_recv(struct gcall *c)
{
    grpc_op op = {.op = GRPC_OP_RECV_MESSAGE};
    op.data.recv_message.recv_message = &c->rbuf;
    if (grpc_call_start_batch(c->call, &op, 1, &c->t_recv, NULL) == GRPC_CALL_OK)
        c->ops++;
}

static void *t_open(void *tctx, struct zb_stream *s, const char *authorization, const char *table)
{
    struct gtrans *g = tctx;
    struct gcall *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->s = s;
    c->t_start = (struct gtag){c, OP_START};
    c->t_send = (struct gtag){c, OP_SEND};
    c->t_recv = (struct gtag){c, OP_RECV};
    c->t_status = (struct gtag){c, OP_STATUS};
    c->details = grpc_empty_slice();
    grpc_metadata_array_init(&c->rmd);
    grpc_metadata_array_init(&c->tmd);
    grpc_slice method = grpc_slice_from_static_string(METHOD);
    c->call = grpc_channel_create_call(g->ch, NULL, GRPC_PROPAGATE_DEFAULTS, g->cq, method, NULL,
                                       gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    /* The SDK's metadata (protocol §2.5), lowercase keys. */
    size_t n = 0;
    c->md[n].key = grpc_slice_from_static_string("x-databricks-zerobus-table-name");
    c->md[n++].value = grpc_slice_from_copied_string(table);
    c->md[n].key = grpc_slice_from_static_string("x-zerobus-sdk");
    c->md[n++].value = grpc_slice_from_static_string(SDK_ID);
    c->md[n].key = grpc_slice_from_static_string("authorization");
    c->md[n++].value = grpc_slice_from_copied_string(authorization ? authorization : "");
    grpc_op ops[3] = {{.op = GRPC_OP_SEND_INITIAL_METADATA},
                      {.op = GRPC_OP_RECV_INITIAL_METADATA},
                      {.op = GRPC_OP_RECV_STATUS_ON_CLIENT}};
    ops[0].data.send_initial_metadata.count = authorization ? 3 : 2;
    ops[0].data.send_initial_metadata.metadata = c->md;
    ops[1].data.recv_initial_metadata.recv_initial_metadata = &c->rmd;
    if (grpc_call_start_batch(c->call, ops, 2, &c->t_start, NULL) != GRPC_CALL_OK) {
        c->s = NULL;
        maybe_free(c);
        return NULL;
    }
    c->ops++;
    ops[2].data.recv_status_on_client.trailing_metadata = &c->tmd;
    ops[2].data.recv_status_on_client.status = &c->status;
    ops[2].data.recv_status_on_client.status_details = &c->details;
    if (grpc_call_start_batch(c->call, &ops[2], 1, &c->t_status, NULL) == GRPC_CALL_OK)
        c->ops++;
    start_recv(c);
    return c;
}

static int t_send(void *tctx, void *call, const uint8_t *msg, size_t len)
{
    (void)tctx;
    struct gcall *c = call;
    grpc_slice sl = grpc_slice_from_copied_buffer((const char *)msg, len);
    c->sbuf = grpc_raw_byte_buffer_create(&sl, 1);
    grpc_slice_unref(sl);
    grpc_op op = {.op = GRPC_OP_SEND_MESSAGE};
    op.data.send_message.send_message = c->sbuf;
    if (grpc_call_start_batch(c->call, &op, 1, &c->t_send, NULL) != GRPC_CALL_OK) {
        grpc_byte_buffer_destroy(c->sbuf);
        c->sbuf = NULL;
        return -1;
    }
    c->ops++;
    return 0;
}

static void t_half_close(void *tctx, void *call)
{
    (void)tctx;
    struct gcall *c = call;
    grpc_op op = {.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT};
    if (grpc_call_start_batch(c->call, &op, 1, &c->t_start, NULL) == GRPC_CALL_OK)
        c->ops++;
}

static void t_cancel(void *tctx, void *call)
{
    (void)tctx;
    struct gcall *c = call;
    grpc_call_cancel(c->call, NULL);
}

static void t_release(void *tctx, void *call)
{
    (void)tctx;
    struct gcall *c = call;
    c->s = NULL;
    maybe_free(c);
}

static void on_event(struct gtag *t, int ok)
{
    struct gcall *c = t->c;
    c->ops--;
    c->in_event = 1; /* the stream may release c from its callback */
    switch (t->op) {
    case OP_START:
        break;
    case OP_SEND:
        grpc_byte_buffer_destroy(c->sbuf);
        c->sbuf = NULL;
        if (c->s)
            zb_stream_on_send_done(c->s, ok);
        break;
    case OP_RECV:
        if (ok && c->rbuf != NULL) {
            grpc_byte_buffer_reader rd;
            grpc_byte_buffer_reader_init(&rd, c->rbuf);
            grpc_slice sl = grpc_byte_buffer_reader_readall(&rd);
            grpc_byte_buffer_reader_destroy(&rd);
            grpc_byte_buffer_destroy(c->rbuf);
            c->rbuf = NULL;
            if (c->s)
                zb_stream_on_message(c->s, GRPC_SLICE_START_PTR(sl), GRPC_SLICE_LENGTH(sl));
            grpc_slice_unref(sl);
            if (!c->finished)
                start_recv(c);
        }
        break;
    case OP_STATUS: {
        c->finished = 1;
        char details[512];
        size_t n = GRPC_SLICE_LENGTH(c->details);
        if (n >= sizeof details)
            n = sizeof details - 1;
        memcpy(details, GRPC_SLICE_START_PTR(c->details), n);
        details[n] = '\0';
        if (c->s)
            zb_stream_on_status(c->s, (int)c->status, details);
        break;
    }
    }
    c->in_event = 0;
    maybe_free(c);
}

static void t_poll(void *tctx, int timeout_ms)
{
    struct gtrans *g = tctx;
    gpr_timespec dl =
        gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(g->cq, dl, NULL);
        if (ev.type != GRPC_OP_COMPLETE)
            return;
        if (ev.tag != &g->bell)
            on_event(ev.tag, ev.success);
        dl = gpr_time_0(GPR_CLOCK_MONOTONIC); /* drain what is ready, then return */
    }
}

/*
 * The doorbell. gRPC core's C API has no alarm to post to a completion queue, so it is a
 * connectivity watch that cannot wait: "tell me when the state differs from SHUTDOWN"
 * completes at once on a live channel (and at its deadline on one being destroyed). The
 * completion runs in this call and kicks the thread blocked in grpc_completion_queue_next.
 * Costs an allocation or two in gRPC; the client rings it only when it sleeps and a record
 * needs it (client.c).
 */
static void t_wake(void *tctx)
{
    struct gtrans *g = tctx;
    pthread_mutex_lock(&g->bell_lock);
    if (!g->closed)
        grpc_channel_watch_connectivity_state(
            g->ch, GRPC_CHANNEL_SHUTDOWN,
            gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(100, GPR_TIMESPAN)),
            g->cq, &g->bell);
    pthread_mutex_unlock(&g->bell_lock);
}

static void t_destroy(void *tctx)
{
    struct gtrans *g = tctx;
    pthread_mutex_lock(&g->bell_lock);
    g->closed = 1;
    pthread_mutex_unlock(&g->bell_lock);
    grpc_channel_destroy(g->ch);
    grpc_completion_queue_shutdown(g->cq);
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(g->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type == GRPC_OP_COMPLETE && ev.tag != &g->bell)
            on_event(ev.tag, ev.success);
    }
    grpc_completion_queue_destroy(g->cq);
    pthread_mutex_destroy(&g->bell_lock);
    free(g->host);
    free(g);
    grpc_shutdown();
}

static const struct zs_zb_transport_ops grpc_ops = {
    .open = t_open,
    .send = t_send,
    .half_close = t_half_close,
    .cancel = t_cancel,
    .release = t_release,
    .poll = t_poll,
    .wake = t_wake,
    .destroy = t_destroy,
};

zs_rc zb_transport_grpc_create(const char *endpoint, const char *ca_file,
                               const struct zs_zb_transport_ops **ops, void **tctx,
                               struct zs_err *err)
{
    if (endpoint == NULL || endpoint[0] == '\0')
        return zs_err_set(err, ZS_EINVAL, NULL, "no Zerobus endpoint");
    int tls = 1;
    const char *host = endpoint;
    if (strncmp(host, "http://", 7) == 0) {
        tls = 0;
        host += 7;
    } else if (strncmp(host, "https://", 8) == 0) {
        host += 8;
    }
    char target[512];
    size_t hl = strcspn(host, "/");
    if (hl == 0 || hl >= sizeof target - 8)
        return zs_err_set(err, ZS_EINVAL, NULL, "bad Zerobus endpoint \"%.100s\"", endpoint);
    /* host[:port]; TLS defaults to 443. */
    snprintf(target, sizeof target, "%.*s%s", (int)hl, host,
             memchr(host, ':', hl) ? "" : (tls ? ":443" : ":80"));
    char *roots = NULL;
    if (ca_file != NULL) {
        FILE *f = fopen(ca_file, "rb");
        if (f == NULL)
            return zs_err_set(err, ZS_EIO, NULL, "cannot read tls_ca_file %.200s", ca_file);
        roots = calloc(1, 1 << 20);
        size_t n = roots ? fread(roots, 1, (1 << 20) - 1, f) : 0;
        fclose(f);
        if (n == 0) {
            free(roots);
            return zs_err_set(err, ZS_EIO, NULL, "tls_ca_file %.200s is empty", ca_file);
        }
    }
    gpr_set_log_function(log_bridge);
    gpr_set_log_verbosity(GPR_LOG_SEVERITY_ERROR);
    grpc_init();
    grpc_arg args[] = {
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, .value.integer = -1},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, .value.integer = -1},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_KEEPALIVE_TIME_MS, .value.integer = 30000},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_KEEPALIVE_TIMEOUT_MS, .value.integer = 10000},
        {.type = GRPC_ARG_INTEGER,
         .key = GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS,
         .value.integer = 1},
        {.type = GRPC_ARG_STRING,
         .key = GRPC_ARG_PRIMARY_USER_AGENT_STRING,
         .value.string = SDK_ID},
    };
    grpc_channel_args ca = {.num_args = sizeof args / sizeof args[0], .args = args};
    grpc_channel_credentials *cr = tls ? grpc_ssl_credentials_create(roots, NULL, NULL, NULL)
                                       : grpc_insecure_credentials_create();
    free(roots);
    struct gtrans *g = calloc(1, sizeof *g);
    g->host = strdup(target);
    g->ch = grpc_channel_create(target, cr, &ca);
    grpc_channel_credentials_release(cr);
    g->cq = grpc_completion_queue_create_for_next(NULL);
    pthread_mutex_init(&g->bell_lock, NULL);
    *ops = &grpc_ops;
    *tctx = g;
    return ZS_OK;
}
