/*
 * Fuzz the HTTP connection state machine through its fake transport: byte 0 seeds where
 * the rest is split into reads, and when the client stops and starts reading its answers
 * (the transport holds them as unsent). The handler answers at once, or (path "/d") holds
 * the request and answers before the next read, so pipelined requests wait behind it.
 * Checks: every response is a well-formed status line, at most one final response (and one
 * 100 Continue) per request handled plus one refusal, every request handled is answered
 * (pipelined ones behind a held request too), and nothing crashes or leaks.
 */
#include "zs_fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"

static struct zs_http_req *held;
static int handled;

static void handler(struct zs_http_req *r, void *ctx)
{
    (void)ctx;
    handled++;
    if (r->path.len == 2 && memcmp(r->path.ptr, "/d", 2) == 0 && held == NULL) {
        held = r;
        return;
    }
    char q[32];
    if (zs_http_query_param(r->query, "wait_for_ack", q, sizeof q) != ZS_OK)
        q[0] = '\0';
    (void)zs_http_req_header(r, "content-type");
    /* A body as long as the request's (up to 64), of x's and a newline: never mistaken
     * for a status line, and the next response starts a line (the counts rely on it). */
    static const char xs[] = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n";
    size_t n = r->body.len > 64 ? 64 : r->body.len;
    zs_http_respond(r, 200, "text/plain", xs + 64 - n, n + 1, NULL);
}

/* Status lines at line starts: interim (100 Continue) or final. */
static void count_responses(const struct zs_buf *b, size_t *interim, size_t *final)
{
    *interim = *final = 0;
    for (size_t i = 0; i + 12 <= b->len; i++)
        if (memcmp(b->data + i, "HTTP/1.1 ", 9) == 0 && (i == 0 || b->data[i - 1] == '\n'))
            ++*(b->data[i + 9] == '1' ? interim : final);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uv_loop_t loop;
    static int init;
    if (!init) {
        uv_loop_init(&loop);
        init = 1;
    }
    if (size == 0)
        return 0;
    struct zs_http_opts o = {.max_header_bytes = 1024, .max_body_bytes = 4096};
    struct zs_http_fake *f = zs_http__fake_create(&loop, &o, handler, NULL);
    handled = 0;
    held = NULL;
    unsigned seed = data[0] * 2654435761u + 1;
    size_t pos = 1;
    while (pos < size) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 16) % 64;
        if (n > size - pos)
            n = size - pos;
        if (((seed >> 8) & 7) == 0)
            zs_http__fake_hold(f);
        else if (((seed >> 8) & 7) == 1)
            zs_http__fake_release(f);
        if (held != NULL) {
            struct zs_http_req *r = held;
            held = NULL;
            zs_http_respond(r, 202, NULL, "", 0, "X-Held: 1\r\n");
        }
        if (zs_http__fake_feed(f, data + pos, n) != 0)
            break;
        pos += n;
    }
    /* Answering a held request lets the next buffered one through, which may be held too;
     * reading the answers lets the rest of the pipeline through. */
    zs_http__fake_release(f);
    while (held != NULL) {
        struct zs_http_req *r = held;
        held = NULL;
        zs_http_respond(r, 202, NULL, "", 0, NULL);
    }
    const struct zs_buf *out = zs_http__fake_output(f);
    if (out->len > 0 && (out->len < 12 || memcmp(out->data, "HTTP/1.1 ", 9) != 0))
        abort(); /* output is responses, from its first byte */
    size_t interim, final;
    count_responses(out, &interim, &final);
    if (final > (size_t)handled + 1 || interim > (size_t)handled + 1) /* + one refusal */
        abort();
    if (final < (size_t)handled) /* a request was handled and its answer never written */
        abort();
    zs_http__fake_destroy(f);
    uv_run(&loop, UV_RUN_NOWAIT); /* let the timer close */
    return 0;
}
