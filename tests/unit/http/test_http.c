/*
 * HTTP server: a real server on 127.0.0.1:0 in a loop thread, raw sockets as clients.
 * Covers keep-alive and pipelining order, chunked bodies, 100-continue, limits (413, 431),
 * request smuggling shapes (400), the request deadline (408), and clients that leave
 * while their handler is still pending.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/zs_mem.h"
#include "http/zs_http.h"
#include "zs_test.h"

static uv_loop_t loop;
static uv_async_t stop_async;
static struct zs_http_server *srv;
static pthread_t thr;
static int handled;
static uv_timer_t defer_timer;
static struct zs_http_req *deferred[8]; /* each answered by the timer (a handler must answer) */
static size_t ndeferred;

static void on_deferred(uv_timer_t *t)
{
    (void)t;
    for (size_t i = 0; i < ndeferred; i++)
        zs_http_respond(deferred[i], 200, "text/plain", "late", 4, NULL);
    ndeferred = 0;
}

static void handler(struct zs_http_req *req, void *ctx)
{
    (void)ctx;
    __atomic_add_fetch(&handled, 1, __ATOMIC_SEQ_CST);
    char body[512], q[64] = "";
    if (zs_http_query_param(req->query, "q", q, sizeof q) != ZS_OK)
        q[0] = '\0';
    if (req->path.len == 6 && memcmp(req->path.ptr, "/defer", 6) == 0) {
        if (ndeferred == sizeof deferred / sizeof deferred[0]) {
            zs_http_respond(req, 503, "text/plain", "busy", 4, NULL);
            return;
        }
        deferred[ndeferred++] = req;
        uv_timer_start(&defer_timer, on_deferred, 300, 0);
        return;
    }
    const struct zs_slice *h = zs_http_req_header(req, "x-test");
    int n = snprintf(body, sizeof body, "%s %.*s q=%s body=%zu:%.*s x=%.*s lo=%d", req->method,
                     (int)req->path.len, (const char *)req->path.ptr, q, req->body.len,
                     (int)(req->body.len > 32 ? 32 : req->body.len), (const char *)req->body.ptr,
                     h ? (int)h->len : 0, h ? (const char *)h->ptr : "", req->peer_loopback);
    zs_http_respond(req, 200, "text/plain", body, (size_t)n, "X-Reply: yes\r\n");
}

static void on_stop(uv_async_t *a)
{
    zs_http_server_close(srv);
    uv_close((uv_handle_t *)a, NULL);
    uv_close((uv_handle_t *)&defer_timer, NULL);
}

static void *run_loop(void *arg)
{
    (void)arg;
    uv_run(&loop, UV_RUN_DEFAULT);
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    uv_loop_init(&loop);
    uv_async_init(&loop, &stop_async, on_stop);
    uv_timer_init(&loop, &defer_timer);
    struct zs_http_opts o = {.host = "127.0.0.1",
                             .port = 0,
                             .max_body_bytes = 1000,
                             .max_header_bytes = 2048,
                             .request_timeout_ms = 300,
                             .idle_timeout_ms = 5000};
    struct zs_err err;
    if (zs_http_server_start(&loop, &o, handler, NULL, &srv, &err) != ZS_OK)
        return 1;
    return pthread_create(&thr, NULL, run_loop, NULL);
}

static int teardown(void **state)
{
    (void)state;
    uv_async_send(&stop_async);
    pthread_join(thr, NULL);
    return uv_loop_close(&loop) != 0;
}

static int connect_server(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(zs_http_server_port(srv))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void send_all(int fd, const char *s)
{
    size_t n = strlen(s);
    assert_int_equal(write(fd, s, n), (ssize_t)n);
}

/* Read until `count` responses are complete (by Content-Length) or the peer closes. */
static size_t read_responses(int fd, char *buf, size_t cap, int count)
{
    size_t len = 0;
    for (;;) {
        int done = 0;
        const char *p = buf;
        buf[len] = '\0';
        while (done < count) {
            const char *end = strstr(p, "\r\n\r\n");
            const char *cl = strstr(p, "Content-Length: ");
            if (end == NULL || cl == NULL || cl > end)
                break;
            size_t blen = (size_t)atol(cl + 16);
            if ((size_t)(end + 4 - buf) + blen > len)
                break;
            p = end + 4 + blen;
            done++;
        }
        if (done == count)
            return len;
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n <= 0)
            return len;
        len += (size_t)n;
    }
}

static int peer_closed(int fd)
{
    char b[64];
    return read(fd, b, sizeof b) == 0;
}

static void test_get_and_headers(void **state)
{
    (void)state;
    int fd = connect_server();
    char buf[4096];
    send_all(fd, "GET /a/b?q=hello%20w+x&z=1 HTTP/1.1\r\nHost: x\r\nX-Test: v1\r\n\r\n");
    read_responses(fd, buf, sizeof buf, 1);
    assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(buf, "\r\nDate: "));
    assert_non_null(strstr(buf, "\r\nX-Reply: yes\r\n"));
    assert_non_null(strstr(buf, "GET /a/b q=hello w x body=0: x=v1 lo=1"));
    close(fd);
}

static void test_pipelining_in_order(void **state)
{
    (void)state;
    int fd = connect_server();
    char buf[8192];
    send_all(fd, "POST /one HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
                 "GET /two HTTP/1.1\r\n\r\n"
                 "POST /three HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "4\r\nwiki\r\n5\r\npedia\r\n0\r\n\r\n");
    read_responses(fd, buf, sizeof buf, 3);
    const char *a = strstr(buf, "POST /one q= body=3:abc");
    const char *b = strstr(buf, "GET /two q= body=0:");
    const char *c = strstr(buf, "POST /three q= body=9:wikipedia");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_true(a < b && b < c);
    close(fd);
}

static void test_expect_continue(void **state)
{
    (void)state;
    int fd = connect_server();
    char buf[4096];
    send_all(fd, "POST /e HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
    ssize_t n = read(fd, buf, sizeof buf - 1);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "HTTP/1.1 100 Continue\r\n\r\n"));
    send_all(fd, "hi");
    read_responses(fd, buf, sizeof buf, 1);
    assert_non_null(strstr(buf, "body=2:hi"));
    close(fd);
}

static void refused(const char *request, const char *status_line)
{
    int fd = connect_server();
    char buf[4096];
    int before = __atomic_load_n(&handled, __ATOMIC_SEQ_CST);
    send_all(fd, request);
    read_responses(fd, buf, sizeof buf, 1);
    if (strstr(buf, status_line) == NULL)
        fail_msg("%s\n  got: %s", request, buf);
    assert_non_null(strstr(buf, "\"status_code\":"));
    assert_non_null(strstr(buf, "Connection: close"));
    assert_true(peer_closed(fd));
    assert_int_equal(__atomic_load_n(&handled, __ATOMIC_SEQ_CST), before);
    close(fd);
}

static void test_refusals(void **state)
{
    (void)state;
    refused("POST /big HTTP/1.1\r\nContent-Length: 1001\r\n\r\n", "HTTP/1.1 413 ");
    refused("POST /s HTTP/1.1\r\nContent-Length : 3\r\n\r\nabc", "HTTP/1.1 400 ");
    refused("POST /s HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
            "HTTP/1.1 400 ");
    refused("POST /s HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            "HTTP/1.1 400 ");
    refused("POST /s HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
            "3\r\nabc\r\n0\r\n\r\n",
            "HTTP/1.1 400 ");
    refused("BLAH\r\n\r\n", "HTTP/1.1 400 ");
    char big[3000] = "GET / HTTP/1.1\r\nX-Big: ";
    memset(big + strlen(big), 'a', 2500);
    strcpy(big + strlen(big), "\r\n\r\n");
    refused(big, "HTTP/1.1 431 ");
    char many[4000] = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 70; i++)
        sprintf(many + strlen(many), "H%d: v\r\n", i);
    strcat(many, "\r\n");
    refused(many, "HTTP/1.1 431 ");
    /* Chunked bodies are capped as they arrive. */
    char chunked[1400] = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n";
    memset(chunked + strlen(chunked), 'b', 1000);
    strcat(chunked, "\r\n1\r\nb\r\n0\r\n\r\n");
    refused(chunked, "HTTP/1.1 413 ");
}

static void test_slow_client_gets_408(void **state)
{
    (void)state;
    refused("GET /slow HTTP/1.1\r\nHost: x\r\n", "HTTP/1.1 408 ");
}

/* The request deadline also holds for a later request on a kept-alive connection (the
 * timer is re-armed lazily: the idle timeout in between is longer). */
static void test_slow_second_request_gets_408(void **state)
{
    (void)state;
    int fd = connect_server();
    char buf[4096];
    send_all(fd, "GET /first HTTP/1.1\r\nHost: x\r\n\r\n");
    read_responses(fd, buf, sizeof buf, 1);
    assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
    send_all(fd, "GET /slow HTTP/1.1\r\nHost: x\r\n");
    size_t n = read_responses(fd, buf, sizeof buf, 1);
    buf[n] = '\0';
    if (strstr(buf, "HTTP/1.1 408 ") == NULL)
        fail_msg("want a 408 within the 5 s receive timeout, got: %s", buf);
    assert_true(peer_closed(fd));
    close(fd);
}

static void test_client_leaves_while_deferred(void **state)
{
    (void)state;
    int fd = connect_server();
    send_all(fd, "GET /defer HTTP/1.1\r\n\r\n");
    close(fd); /* the handler answers 300 ms later, to a closed connection */
    int fd2 = connect_server();
    char buf[4096];
    send_all(fd2, "GET /defer HTTP/1.1\r\n\r\n");
    read_responses(fd2, buf, sizeof buf, 1);
    assert_non_null(strstr(buf, "\r\n\r\nlate"));
    close(fd2);
}

#ifdef ZS_TESTING
/* No memory for a connection: it is accepted and closed, and the next one is served (a
 * connection libuv offered and nobody accepted would stop the listener). */
static void test_accept_after_out_of_memory(void **state)
{
    (void)state;
    zs_mem_fail_after(0); /* the next allocation fails: the new connection's transport */
    int fd = connect_server();
    char c;
    ssize_t n = read(fd, &c, 1);
    int e = errno;
    zs_mem_fail_after(-1);
    close(fd);
    assert_true(n == 0 || (n < 0 && e == ECONNRESET)); /* closed, not left waiting */
    int fd2 = connect_server();
    char buf[4096];
    send_all(fd2, "GET /after HTTP/1.1\r\n\r\n");
    read_responses(fd2, buf, sizeof buf, 1);
    assert_non_null(strstr(buf, "HTTP/1.1 200 "));
    assert_non_null(strstr(buf, "GET /after"));
    close(fd2);
}
#endif

static void test_query_decoding(void **state)
{
    (void)state;
    char out[32];
    struct zs_slice q = {(const uint8_t *)"a=1&wait_for_ack=true&e=&p=%41%2b+", 34};
    assert_rc(zs_http_query_param(q, "wait_for_ack", out, sizeof out), ZS_OK);
    assert_string_equal(out, "true");
    assert_rc(zs_http_query_param(q, "e", out, sizeof out), ZS_OK);
    assert_string_equal(out, "");
    assert_rc(zs_http_query_param(q, "p", out, sizeof out), ZS_OK);
    assert_string_equal(out, "A+ ");
    assert_rc(zs_http_query_param(q, "zz", out, sizeof out), ZS_ENOTFOUND);
    struct zs_slice bad = {(const uint8_t *)"x=%zz", 5};
    assert_rc(zs_http_query_param(bad, "x", out, sizeof out), ZS_EPARSE);
    assert_rc(zs_http_query_param(q, "wait_for_ack", out, 3), ZS_ELIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_and_headers),
        cmocka_unit_test(test_pipelining_in_order),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_slow_client_gets_408),
        cmocka_unit_test(test_slow_second_request_gets_408),
        cmocka_unit_test(test_client_leaves_while_deferred),
#ifdef ZS_TESTING
        cmocka_unit_test(test_accept_after_out_of_memory),
#endif
        cmocka_unit_test(test_query_decoding),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
