/*
 * HTTP/1.1 server: libuv for I/O and timers, http-parser for the protocol.
 * See zs_http.h for the contract. Thread: everything here runs on the server's loop.
 */
#include <errno.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/zs_log.h"
#include "core/zs_mem.h"
#include "http/body_decode.h"
#include "http/chunked.h"
#include "http/http_int.h"
#include "http/zs_http.h"

enum conn_state { C_IDLE, C_READING, C_HANDLING };

enum head_state {
    H_BEFORE, /* empty lines before the request line (skipped, as http-parser does) */
    H_LINE,   /* inside a line */
    H_LF,     /* at the start of a line */
    H_CR,     /* a CR at the start of a line: the head ends with its LF */
    H_DONE    /* the head is over: the body is not scanned */
};

struct hoff {
    size_t name_off, name_len, value_off, value_len;
};

/* Bytes kept from a client while one of its requests is parked, before reading stops. */
#define PARKED_READ_MAX (64u * 1024)
/* Pipelined requests answered from buffered input before the loop serves others. */
#define PIPELINE_BATCH 64
/* Response bytes queued for a client that does not read them: stop answering beyond. */
#define WRITE_QUEUE_MAX (1u << 20)

struct conn {
    struct zs_http_io *io; /* the transport: owned, closed by conn_close */
    uv_timer_t timer;
    uint64_t deadline; /* loop time of the current request or idle deadline */
    struct zs_http_server *srv;
    struct conn *prev, *next;
    http_parser parser;
    enum conn_state state;
    int handles;      /* open handles: the transport and the timer */
    int closing;      /* close started */
    int handler_owes; /* a handler holds req: free only after zs_http_respond */
    int keep_alive;
    int error_status; /* set by a callback that refused the request */
    int cl_count;     /* Content-Length headers seen */
    int te_seen, te_count;
    const char *error_why; /* the reason of error_status, when the callback knows it */
    int last_was_value;
    int reading;         /* the transport delivers bytes */
    int close_when_sent; /* the answer asked for a close: once the transport has sent it */
    int head;            /* where head_scan is in the request head (enum head_state) */
    int chunked;         /* the request's body is chunked: the decoder reads it */
    int in_chunks;       /* ... and is reading it now */
    struct zs_chunked chunks;
    int peer_eof;        /* the client half-closed while a request was parked */
    int in_loop;         /* drain_input is running (a handler answering at once must not recurse) */
    int resume;          /* buffered requests wait for the timer (0 ms) to go on */
    int resume_on_write; /* ... or for the write queue to drain */
    int is_head;         /* the request being answered is a HEAD: no body */
    size_t in_off;       /* c->in[in_off..len) is not parsed yet */
    size_t nh;
    size_t url_off, url_len;
    struct hoff hoff[ZS_HTTP_MAX_HEADERS];
    struct zs_buf hdr; /* url and header bytes */
    struct zs_buf body;
    struct zs_buf dbody;        /* the body decoded (Content-Encoding), until the answer */
    struct zs_body_decoder dec; /* decodes the body into dbody as it arrives */
    int decoding;               /* ... for this request */
    struct zs_buf in;           /* bytes read but not parsed yet (pipelined behind a request) */
    struct zs_http_req req;
    char rid[ZS_HTTP_REQUEST_ID_MAX + 1]; /* the request's id, "" until known */
    uint64_t t_start;                     /* uv_hrtime of its first byte (ns) */
    uint64_t rx;                          /* its bytes taken by the parser so far */
};

struct zs_http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    int listener_open;
    struct zs_http_opts o;
    zs_http_handler_fn fn;
    void *ctx;
    struct conn *conns;
    unsigned nconns; /* open connections (the cap counts these) */
    unsigned nalloc; /* connections not freed yet (closing ones still use the server) */
    int closing;
    int draining;
    uint16_t port;
    uint32_t rid_prefix; /* random per server: ids differ across workers and restarts */
    uint64_t rid_seq;
    uv_tcp_t spare; /* accepts (and closes) a connection when no memory is left for it */
    int spare_busy;
    http_parser_settings settings;
    /*
     * One read buffer for every TCP connection of this loop: libuv calls on_alloc and
     * on_read back to back, and the parser callbacks copy what they keep (hdr, body, in). A
     * 16 KiB buffer per connection made 2,000 connections touch 32 MiB.
     */
    char rbuf[65536];
};

static void conn_close(struct conn *c);

/* ---------------------------------------------------------------- helpers */

const char *zs_http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Unknown";
    }
}

/* The IMF-fixdate of this second, cached per thread (each worker loop is one thread). */
static const char *http_date(size_t *len)
{
    static _Thread_local time_t cached;
    static _Thread_local char text[40];
    static _Thread_local size_t text_len;
    time_t now = time(NULL);
    if (now != cached) {
        struct tm tm;
        gmtime_r(&now, &tm);
        text_len = strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cached = now;
    }
    *len = text_len;
    return text;
}

static int slice_ieq(struct zs_slice s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && strncasecmp((const char *)s.ptr, lit, n) == 0;
}

const struct zs_slice *zs_http_req_header(const struct zs_http_req *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (slice_ieq(req->headers[i].name, name))
            return &req->headers[i].value;
    return NULL;
}

static int hexv(unsigned char h)
{
    if (h >= '0' && h <= '9')
        return h - '0';
    h |= 0x20;
    return h >= 'a' && h <= 'f' ? h - 'a' + 10 : -1;
}

zs_rc zs_http_url_decode(struct zs_slice s, int plus_space, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char ch = s.ptr[i];
        if (ch == '%') {
            int hi = i + 2 < s.len ? hexv(s.ptr[i + 1]) : -1;
            int lo = i + 2 < s.len ? hexv(s.ptr[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return ZS_EPARSE;
            ch = (unsigned char)(hi << 4 | lo);
            i += 2;
        } else if (ch == '+' && plus_space) {
            ch = ' ';
        }
        if (k + 1 >= cap)
            return ZS_ELIMIT;
        out[k++] = (char)ch;
    }
    if (cap == 0)
        return ZS_ELIMIT;
    out[k] = '\0';
    return ZS_OK;
}

zs_rc zs_http_query_param(struct zs_slice q, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key), i = 0;
    while (i <= q.len) {
        size_t j = i;
        while (j < q.len && q.ptr[j] != '&')
            j++;
        struct zs_slice part = {q.ptr + i, j - i};
        const uint8_t *eq = memchr(part.ptr, '=', part.len);
        size_t nl = eq ? (size_t)(eq - part.ptr) : part.len;
        if (nl == kl && memcmp(part.ptr, key, kl) == 0) {
            struct zs_slice v = {eq ? eq + 1 : part.ptr + part.len, eq ? part.len - nl - 1 : 0};
            return zs_http_url_decode(v, 1, out, cap);
        }
        i = j + 1;
    }
    return ZS_ENOTFOUND;
}

/* ---------------------------------------------------------------- writing */

static void drain_input(struct conn *c);
static void start_reading(struct conn *c);

/*
 * Hand an answer to the transport. close_after: close once it is sent (now, when the
 * transport took it all, or when its queue drains).
 */
static void write_raw(struct conn *c, const char *head, size_t hlen, const void *body, size_t blen,
                      int close_after)
{
    if (c->closing)
        return;
    if (c->io->ops->write(c->io, head, hlen, body, blen) != 0) {
        conn_close(c);
        return;
    }
    if (close_after) {
        if (c->io->ops->queued(c->io) == 0)
            conn_close(c);
        else
            c->close_when_sent = 1;
    }
}

/* The head is assembled with memcpy: snprintf was ~5% of an async request's CPU. */
/* An id character: A-Z a-z 0-9 . _ : - (nothing a log line or a header could misread). */
static int rid_char(uint8_t ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == ':' || ch == '-';
}

/* The client's X-Request-Id when it is 1..64 id characters (from_client: the head is read),
 * else a new one. */
static void request_id(struct conn *c, int from_client)
{
    const struct zs_slice *h = from_client ? zs_http_req_header(&c->req, "x-request-id") : NULL;
    size_t n = h ? h->len : 0, i = 0;
    while (i < n && i < ZS_HTTP_REQUEST_ID_MAX && rid_char(h->ptr[i]))
        i++;
    if (n > 0 && i == n) {
        memcpy(c->rid, h->ptr, n);
        c->rid[n] = '\0';
        return;
    }
    struct zs_http_server *s = c->srv;
    snprintf(c->rid, sizeof c->rid, "%08x%012llx", s->rid_prefix,
             (unsigned long long)(++s->rid_seq & 0xffffffffffffULL));
}

/* One access log line (station.access_log): no header, no body, the path made printable. */
static void access_log(struct conn *c, int status, size_t len, uint64_t us)
{
    char path[201];
    size_t n = 0;
    const struct zs_slice *p = &c->req.path;
    for (; p->ptr != NULL && n < p->len && n < sizeof path - 1; n++)
        path[n] = p->ptr[n] > 0x20 && p->ptr[n] < 0x7f && p->ptr[n] != '"' && p->ptr[n] != '\\'
                      ? (char)p->ptr[n]
                      : '?';
    path[n] = '\0';
    zs_log(ZS_LOG_INFO, "access",
           "method=%s path=\"%s\" status=%d bytes=%zu ms=%llu peer=%s request_id=%s",
           c->req.method && p->ptr ? c->req.method : "-", n ? path : "-", status, len,
           (unsigned long long)(us / 1000), c->req.peer && c->req.peer[0] ? c->req.peer : "-",
           c->rid);
}

static void write_response(struct conn *c, int status, const char *ctype, const void *body,
                           size_t len, const char *extra, int close_after)
{
    if (c->rid[0] == '\0')
        request_id(c, 0); /* refused before its head was read */
    char head[1024];
    size_t date_len;
    const char *date = http_date(&date_len);
    const char *reason = zs_http_reason(status);
    size_t reason_len = strlen(reason), ctype_len = ctype ? strlen(ctype) : 0,
           extra_len = extra ? strlen(extra) : 0;
    /* Fixed text (status line, header names, CRLFs, Connection: close) is under 100 bytes. */
    if (status < 100 || status > 999 ||
        100 + reason_len + date_len + ctype_len + extra_len + 24 + 16 + ZS_HTTP_REQUEST_ID_MAX >
            sizeof head) {
        conn_close(c);
        return;
    }
    char *p = ZS_PUT_LIT(head, "HTTP/1.1 ");
    p = zs_put_u64(p, (uint64_t)status); /* three digits: checked above */
    *p++ = ' ';
    p = zs_put(p, reason, reason_len);
    p = ZS_PUT_LIT(p, "\r\nDate: ");
    p = zs_put(p, date, date_len);
    p = ZS_PUT_LIT(p, "\r\n");
    if (ctype != NULL) {
        p = ZS_PUT_LIT(p, "Content-Type: ");
        p = zs_put(p, ctype, ctype_len);
        p = ZS_PUT_LIT(p, "\r\n");
    }
    p = ZS_PUT_LIT(p, "Content-Length: ");
    p = zs_put_u64(p, len);
    p = ZS_PUT_LIT(p, "\r\n");
    p = ZS_PUT_LIT(p, "X-Request-Id: ");
    p = zs_put(p, c->rid, strlen(c->rid));
    p = ZS_PUT_LIT(p, "\r\n");
    if (extra != NULL)
        p = zs_put(p, extra, extra_len);
    if (close_after)
        p = ZS_PUT_LIT(p, "Connection: close\r\n");
    p = ZS_PUT_LIT(p, "\r\n");
    uint64_t us = (uv_hrtime() - c->t_start) / 1000;
    if (c->srv->o.access_log == 2 || (c->srv->o.access_log == 1 && status >= 400))
        access_log(c, status, len, us);
    if (c->srv->o.answered != NULL)
        c->srv->o.answered(c->srv->ctx, &c->req, status, c->rx, us);
    c->rx = 0; /* the next request's bytes start here */
    /* HEAD: the same head (Content-Length of the body it would get), no body. */
    write_raw(c, head, (size_t)(p - head), body, c->is_head ? 0 : len, close_after);
}

static void stop_reading(struct conn *c)
{
    if (c->reading) {
        c->io->ops->read_stop(c->io);
        c->reading = 0;
    }
}

/*
 * Bytes that arrive while a request is with its handler (pipelined requests) wait in
 * c->in, up to PARKED_READ_MAX; then reading stops so the socket pushes back.
 */
static void keep_unread(struct conn *c, const char *p, size_t n)
{
    if (c->in_off > 0 && c->in_off == c->in.len) { /* all parsed: start over */
        c->in.len = 0;
        c->in_off = 0;
    } else if (c->in_off >= PARKED_READ_MAX && c->in_off * 2 > c->in.len) {
        /* Mostly parsed: move the rest down (amortized, not once per request). */
        memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
        c->in.len -= c->in_off;
        c->in_off = 0;
    }
    if (zs_buf_append(&c->in, p, n) != ZS_OK)
        conn_close(c);
    else if (c->in.len - c->in_off >= PARKED_READ_MAX)
        stop_reading(c);
}

/* A request refused before its handler: JSON error (the server's error_body, when set, writes
 * it for the path), then close. */
static void refuse(struct conn *c, int status, const char *why)
{
    char body[512];
    size_t n = 0;
    if (c->srv->o.error_body != NULL)
        n = c->srv->o.error_body(c->req.path, status, why, body, sizeof body);
    if (n == 0 || n >= sizeof body)
        n = (size_t)snprintf(body, sizeof body, "{\"error\":\"%s\",\"status_code\":%d}", why,
                             status);
    c->state = C_HANDLING; /* stop parsing */
    stop_reading(c);
    write_response(c, status, "application/json", body, n, NULL, 1);
}

/* ---------------------------------------------------------------- parser callbacks */

static struct conn *pconn(http_parser *p)
{
    return p->data;
}

static void arm_timer(struct conn *c, uint32_t ms);

static int on_message_begin(http_parser *p)
{
    struct conn *c = pconn(p);
    c->state = C_READING;
    c->head = H_BEFORE; /* head_scan looks at this execute's bytes from their start */
    c->hdr.len = 0;
    c->body.len = 0;
    c->nh = 0;
    c->url_off = c->url_len = 0;
    c->last_was_value = 0;
    c->cl_count = 0;
    c->te_seen = c->te_count = 0;
    c->chunked = 0;
    c->error_status = 0;
    c->error_why = NULL;
    c->req.path = (struct zs_slice){NULL, 0};
    c->req.nheaders = 0;
    c->req.method = NULL;
    c->rid[0] = '\0';
    c->req.route = 0;
    c->t_start = uv_hrtime();
    arm_timer(c, c->srv->o.request_timeout_ms);
    return 0;
}

static int append_hdr(struct conn *c, const char *at, size_t len)
{
    if (zs_buf_append(&c->hdr, at, len) != ZS_OK) {
        c->error_status = 431;
        return -1;
    }
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct conn *c = pconn(p);
    if (c->url_len == 0)
        c->url_off = c->hdr.len;
    c->url_len += len;
    return append_hdr(c, at, len);
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct conn *c = pconn(p);
    if (c->nh == 0 || c->last_was_value) {
        if (c->nh == ZS_HTTP_MAX_HEADERS) {
            c->error_status = 431;
            return -1;
        }
        c->hoff[c->nh] = (struct hoff){c->hdr.len, 0, 0, 0};
        c->nh++;
        c->last_was_value = 0;
    }
    c->hoff[c->nh - 1].name_len += len;
    return append_hdr(c, at, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct conn *c = pconn(p);
    struct hoff *h = &c->hoff[c->nh - 1];
    if (!c->last_was_value) {
        h->value_off = c->hdr.len;
        c->last_was_value = 1;
    }
    h->value_len += len;
    return append_hdr(c, at, len);
}

static int body_coding(struct conn *c);

static int on_headers_complete(http_parser *p)
{
    struct conn *c = pconn(p);
    struct zs_http_req *r = &c->req;
    const uint8_t *base = c->hdr.data;
    r->method = http_method_str((enum http_method)p->method);
    r->target = (struct zs_slice){base + c->url_off, c->url_len};
    const uint8_t *q = memchr(r->target.ptr, '?', r->target.len);
    r->path = (struct zs_slice){r->target.ptr, q ? (size_t)(q - r->target.ptr) : r->target.len};
    r->query = q ? (struct zs_slice){q + 1, r->target.len - r->path.len - 1}
                 : (struct zs_slice){r->target.ptr + r->target.len, 0};
    r->nheaders = c->nh;
    c->is_head = p->method == HTTP_HEAD;
    if (p->http_major != 1 || p->http_minor > 1) {
        c->error_status = 400; /* HTTP/1.0 and 1.1 only */
        c->error_why = "only HTTP/1.0 and HTTP/1.1 are served";
        return -1;
    }
    int expect_continue = 0;
    for (size_t i = 0; i < c->nh; i++) {
        struct zs_http_header *h = &r->headers[i];
        h->name = (struct zs_slice){base + c->hoff[i].name_off, c->hoff[i].name_len};
        h->value = (struct zs_slice){base + c->hoff[i].value_off, c->hoff[i].value_len};
        for (size_t k = 0; k < h->name.len; k++) {
            if (!zs_http_is_tchar(h->name.ptr[k])) {
                c->error_status = 400; /* "Content-Length : 3" and friends: smuggling */
                return -1;
            }
        }
        if (slice_ieq(h->name, "content-length")) {
            if (c->cl_count++ > 0) {
                c->error_status = 400; /* repeated Content-Length, equal or not */
                return -1;
            }
        } else if (slice_ieq(h->name, "transfer-encoding")) {
            c->te_seen = 1;
            /* Only "chunked", exactly: a folded or listed value is where a proxy in front
             * and this server could disagree about the framing (smuggling). */
            struct zs_slice v = h->value;
            while (v.len > 0 && (v.ptr[v.len - 1] == ' ' || v.ptr[v.len - 1] == '\t'))
                v.len--;
            if (!slice_ieq(v, "chunked") || c->te_count++ > 0) {
                c->error_status = 400;
                c->error_why = "Transfer-Encoding must be exactly \"chunked\", once";
                return -1;
            }
        } else if (slice_ieq(h->name, "expect")) {
            expect_continue = slice_ieq(h->value, "100-continue");
        }
    }
    if (c->cl_count > 0 && c->te_seen) {
        c->error_status = 400;
        return -1;
    }
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->srv->o.max_body_bytes) {
        c->error_status = 413;
        return -1;
    }
    request_id(c, 1);
    if (body_coding(c) != 0)
        return -1;
    c->keep_alive = http_should_keep_alive(p);
    if (expect_continue && (p->http_major > 1 || (p->http_major == 1 && p->http_minor >= 1)))
        write_raw(c, "HTTP/1.1 100 Continue\r\n\r\n", 25, NULL, 0, 0);
    /* A chunked body is ours to decode (chunked.h says why): http-parser skips it, and
     * stops at the end of the head, where on_message_complete starts the decoder. */
    c->chunked = c->te_seen;
    return c->chunked ? 1 : 0;
}

/* A piece of the body: kept, or decoded into dbody (the compressed bytes are not kept).
 * Returns 0, or -1 with error_status and error_why set. */
static int body_take(struct conn *c, const char *p, size_t n)
{
    if (!c->decoding) {
        if (zs_buf_append(&c->body, p, n) == ZS_OK)
            return 0;
        c->error_status = 413;
        c->error_why = "request body too large";
        return -1;
    }
    const char *why;
    zs_rc rc = zs_body_decoder_feed(&c->dec, (const uint8_t *)p, n, &c->dbody, &why);
    if (rc == ZS_OK)
        return 0;
    c->error_status = rc == ZS_ELIMIT ? 413 : rc == ZS_ENOMEM ? 503 : 400;
    c->error_why = why;
    return -1;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    return body_take(pconn(p), at, len);
}

/* The request is whole: it goes to its handler. */
static void request_ready(struct conn *c)
{
    /* Never a NULL pointer, even for an empty body: handlers do pointer arithmetic. */
    c->req.body = (struct zs_slice){c->body.data ? c->body.data : (const uint8_t *)"", c->body.len};
    c->state = C_HANDLING;
}

static int on_message_complete(http_parser *p)
{
    struct conn *c = pconn(p);
    http_parser_pause(p, 1); /* until the answer: one request at a time */
    if (c->chunked) {
        c->in_chunks = 1;
        zs_chunked_init(&c->chunks);
    } else {
        request_ready(c);
    }
    return 0;
}

static int on_chunk_data(void *ctx, const char *p, size_t n)
{
    return body_take(ctx, p, n);
}

/* ---------------------------------------------------------------- connection */

/* Free c once its transport and timer are closed and no handler holds its request. */
static void conn_release(struct conn *c)
{
    if (c->handles > 0 || c->handler_owes)
        return;
    struct zs_http_server *s = c->srv;
    zs_buf_release(&c->hdr);
    zs_buf_release(&c->body);
    zs_buf_release(&c->dbody);
    zs_buf_release(&c->in);
    if (c->decoding)
        zs_body_decoder_release(&c->dec);
    zs_free(c);
    if (--s->nalloc == 0 && s->closing && !s->listener_open)
        zs_free(s);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    c->handles--;
    conn_release(c);
}

static void on_io_closed(void *owner)
{
    struct conn *c = owner;
    c->handles--;
    conn_release(c);
}

static void on_spare_closed(uv_handle_t *h)
{
    struct zs_http_server *s = h->data;
    s->spare_busy = 0;
    if (--s->nalloc == 0 && s->closing && !s->listener_open)
        zs_free(s);
}

static void on_listener_closed(uv_handle_t *h)
{
    struct zs_http_server *s = h->data;
    s->listener_open = 0;
    if (s->nalloc == 0)
        zs_free(s);
}

static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    struct zs_http_server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
    c->io->ops->close(c->io); /* last: on_io_closed may run now */
}

static void on_timer(uv_timer_t *t)
{
    struct conn *c = t->data;
    uint64_t now = uv_now(c->srv->loop);
    if (c->resume) { /* buffered requests go on (drain_input yielded to the loop) */
        c->resume = 0;
        uv_timer_start(&c->timer, on_timer, c->deadline > now ? c->deadline - now : 0, 0);
        drain_input(c);
        return;
    }
    if (now < c->deadline) { /* moved later since it was armed */
        uv_timer_start(&c->timer, on_timer, c->deadline - now, 0);
        return;
    }
    if (c->state == C_READING)
        refuse(c, 408, "request not received in time");
    else if (c->state == C_IDLE)
        conn_close(c);
}

/*
 * One timer per connection, re-armed lazily: arming moves c->deadline, and the uv timer is
 * restarted only when none runs or the new deadline is earlier than the one it runs for;
 * when it fires early, on_timer re-arms it for what is left. Two uv_timer_start per
 * request (request deadline, then idle timeout) were ~2% of an async request's CPU.
 */
static void arm_timer(struct conn *c, uint32_t ms)
{
    c->deadline = uv_now(c->srv->loop) + ms;
    if (!uv_is_active((uv_handle_t *)&c->timer) || ms < uv_timer_get_due_in(&c->timer))
        uv_timer_start(&c->timer, on_timer, ms, 0);
}

static void parse_error(struct conn *c)
{
    int status = c->error_status;
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (status == 0)
        status = e == HPE_HEADER_OVERFLOW ? 431 : 400;
    const char *why = c->error_why != NULL ? c->error_why
                      : status == 413      ? "request body too large"
                      : status == 431      ? "request headers too large or too many"
                      : c->error_status == 400
                          ? "invalid header: bad name, repeated Content-Length, or "
                            "Content-Length with Transfer-Encoding"
                          : http_errno_description(e);
    refuse(c, status, why);
}

/* A request is complete: hand it to the handler (which answers now or later). */
static void dispatch(struct conn *c)
{
    c->handler_owes = 1; /* the timer runs on: it does nothing while handled */
    c->req.conn = c;
    c->srv->fn(&c->req, c->srv->ctx);
}

/*
 * The request head's bytes, looked at for what http-parser takes silently: a line that
 * starts with a space or a tab (obs-fold, RFC 9112 §5.2) continues the header before it;
 * a proxy in front may unfold it or not ("Transfer-Encoding:\r\n chunked"). Returns 0, or
 * -1 for an obs-fold. LF to LF with memchr: one look per line.
 */
static int head_scan(struct conn *c, const char *p, size_t n)
{
    const char *end = p + n;
    while (p < end && c->head != H_DONE) {
        switch (c->head) {
        case H_BEFORE:
            if (*p != '\r' && *p != '\n')
                c->head = H_LINE;
            p++;
            break;
        case H_LINE: {
            const char *lf = memchr(p, '\n', (size_t)(end - p));
            if (lf == NULL)
                return 0;
            c->head = H_LF;
            p = lf + 1;
            break;
        }
        case H_LF:
            if (*p == ' ' || *p == '\t')
                return -1;
            c->head = *p == '\r' ? H_CR : *p == '\n' ? H_DONE : H_LINE;
            p++;
            break;
        case H_CR:
            c->head = H_DONE; /* http-parser judges what follows the CR */
            break;
        }
    }
    return 0;
}

/*
 * The head is read: a Content-Encoding other than identity starts a decoder (the body is
 * decoded as it arrives, into dbody; max_body_bytes caps the decoded bytes too). Returns 0,
 * or -1 with error_status set: 415 for an unknown coding, 503 without memory.
 */
static int body_coding(struct conn *c)
{
    const struct zs_slice *ce = zs_http_req_header(&c->req, "content-encoding");
    enum zs_body_coding coding;
    if (ce == NULL)
        return 0;
    if (zs_body_coding_parse(ce->ptr, ce->len, &coding) != 0) {
        c->error_status = 415;
        c->error_why = "unsupported Content-Encoding (gzip, deflate and zstd are)";
        return -1;
    }
    if (coding == ZS_CODING_IDENTITY)
        return 0;
    c->dbody.len = 0;
    if (zs_body_decoder_init(&c->dec, coding, c->srv->o.max_body_bytes) != ZS_OK) {
        zs_body_decoder_release(&c->dec);
        c->error_status = 503;
        c->error_why = "out of memory";
        return -1;
    }
    c->decoding = 1;
    return 0;
}

/*
 * The body is whole: a decoded one must have ended (400 for a truncated stream), and the
 * handler sees the decoded bytes. Returns 0, or -1 when the request was refused.
 */
static int body_ready(struct conn *c)
{
    if (!c->decoding)
        return 0;
    const char *why;
    zs_rc rc = zs_body_decoder_finish(&c->dec, &why);
    zs_body_decoder_release(&c->dec);
    c->decoding = 0;
    if (rc != ZS_OK) {
        refuse(c, 400, why);
        return -1;
    }
    c->req.body =
        (struct zs_slice){c->dbody.data ? c->dbody.data : (const uint8_t *)"", c->dbody.len};
    return 0;
}

enum parsed {
    P_MORE,    /* all bytes taken, the request goes on */
    P_REQUEST, /* a request is complete (and with its handler) */
    P_FAILED   /* refused: the connection closes */
};

/*
 * Parse from data[0..len): the head with http-parser, a chunked body with our decoder.
 * *used is set to the bytes taken (up to the end of a complete request).
 */
static enum parsed parse(struct conn *c, const char *data, size_t len, size_t *used)
{
    size_t n = 0;
    if (!c->in_chunks) {
        n = http_parser_execute(&c->parser, &c->srv->settings, data, len);
        enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
        *used = n;
        c->rx += n;
        if ((e == HPE_OK || e == HPE_PAUSED) && head_scan(c, data, n) != 0) {
            refuse(c, 400, "obsolete line folding (obs-fold) in a header");
            return P_FAILED;
        }
        if (e == HPE_OK) {
            if (!c->parser.upgrade)
                return P_MORE;
            refuse(c, 501, "protocol upgrade is not supported");
            return P_FAILED;
        }
        if (e != HPE_PAUSED) {
            parse_error(c);
            return P_FAILED;
        }
        if (!c->in_chunks)
            return body_ready(c) == 0 ? P_REQUEST : P_FAILED;
    }
    size_t m;
    enum zs_chunked_rc rc = zs_chunked_feed(&c->chunks, data + n, len - n,
                                            c->srv->o.max_header_bytes, on_chunk_data, c, &m);
    *used = n + m;
    c->rx += m;
    switch (rc) {
    case ZS_CHUNKED_MORE:
        return P_MORE;
    case ZS_CHUNKED_DONE:
        c->in_chunks = 0;
        request_ready(c);
        return body_ready(c) == 0 ? P_REQUEST : P_FAILED;
    case ZS_CHUNKED_LIMIT:
        /* body_take refused the data (its own reason), or a chunk size was too long */
        refuse(c, c->error_status ? c->error_status : 413,
               c->error_status ? c->error_why : c->chunks.error);
        return P_FAILED;
    case ZS_CHUNKED_ERROR:
    default:
        refuse(c, 400, c->chunks.error);
        return P_FAILED;
    }
}

/*
 * Parse data (fresh from the transport, nothing buffered before it) until a request
 * completes or the data runs out. The bytes after a complete request are kept in c->in;
 * reading goes on while the handler holds the request (on_data keeps those bytes too):
 * stopping and restarting costs two epoll_ctl calls per request.
 */
static void feed(struct conn *c, const char *data, size_t len)
{
    size_t n;
    if (parse(c, data, len, &n) != P_REQUEST)
        return;
    if (n < len) {
        keep_unread(c, data + n, len - n);
        if (c->closing)
            return;
    }
    dispatch(c);
}

static int write_queue_full(struct conn *c)
{
    return c->io->ops->queued(c->io) >= WRITE_QUEUE_MAX;
}

/*
 * Pipelined requests buffered in c->in, answered in a loop (at an offset: no copy per
 * request, no recursion however many there are). It stops when a request is parked, the
 * input runs out, PIPELINE_BATCH requests were served (the rest goes on from the timer, so
 * one client cannot hold the loop), or the client does not read its answers (the rest goes
 * on once the write queue drains). Reading restarts whenever nothing is owed or buffered.
 */
static void drain_input(struct conn *c)
{
    if (c->in_loop || c->closing)
        return; /* a handler answered at once, inside the loop below: it goes on */
    c->in_loop = 1;
    for (int served = 0; !c->closing && c->state != C_HANDLING && c->in_off < c->in.len;) {
        if (served == PIPELINE_BATCH) {
            c->resume = 1;
            uv_timer_start(&c->timer, on_timer, 0, 0);
            break;
        }
        if (write_queue_full(c)) {
            c->resume_on_write = 1;
            break;
        }
        if (c->state == C_IDLE)
            arm_timer(c, c->srv->o.request_timeout_ms);
        size_t n;
        enum parsed r = parse(c, (const char *)c->in.data + c->in_off, c->in.len - c->in_off, &n);
        c->in_off += n;
        if (r == P_REQUEST) {
            served++;
            dispatch(c);
        } else if (r == P_FAILED) {
            break;
        }
    }
    c->in_loop = 0;
    if (c->closing)
        return;
    if (c->in_off == c->in.len) {
        c->in.len = 0;
        c->in_off = 0;
    }
    if (c->state != C_HANDLING && c->in_off == c->in.len)
        start_reading(c); /* always, once nothing is owed or buffered */
}

static void on_io_data(void *owner, const char *p, size_t n)
{
    struct conn *c = owner;
    if (c->closing)
        return;
    if (c->state == C_HANDLING || c->in_off < c->in.len) {
        /* Behind a parked request, or behind buffered ones waiting for their turn. */
        keep_unread(c, p, n);
        return;
    }
    if (c->state == C_IDLE)
        arm_timer(c, c->srv->o.request_timeout_ms);
    feed(c, p, n);
}

static void on_io_eof(void *owner)
{
    struct conn *c = owner;
    if (c->state == C_HANDLING || c->in_off < c->in.len) {
        /* Half-close with an answer owed: answer what was sent, then close. */
        stop_reading(c);
        c->peer_eof = 1;
        return;
    }
    conn_close(c);
}

static void on_io_error(void *owner)
{
    conn_close(owner);
}

static void on_io_drain(void *owner)
{
    struct conn *c = owner;
    if (c->closing)
        return;
    size_t queued = c->io->ops->queued(c->io);
    if (c->close_when_sent && queued == 0) {
        conn_close(c);
        return;
    }
    if (c->resume_on_write && queued < WRITE_QUEUE_MAX / 2) {
        c->resume_on_write = 0;
        drain_input(c);
    }
}

static const struct zs_http_io_cb conn_io_cb = {
    .on_data = on_io_data,
    .on_eof = on_io_eof,
    .on_error = on_io_error,
    .on_drain = on_io_drain,
    .on_closed = on_io_closed,
};

static void start_reading(struct conn *c)
{
    if (!c->reading && !c->closing) {
        if (c->io->ops->read_start(c->io) != 0)
            conn_close(c);
        else
            c->reading = 1;
    }
}

void zs_http_respond(struct zs_http_req *req, int status, const char *content_type,
                     const void *body, size_t len, const char *extra_headers)
{
    struct conn *c = req->conn;
    c->handler_owes = 0;
    if (c->closing) {
        conn_release(c); /* the client went away while the handler ran */
        return;
    }
    int close_after = !c->keep_alive || c->srv->closing || c->srv->draining ||
                      (c->peer_eof && c->in_off == c->in.len);
    write_response(c, status, content_type, body, len, extra_headers, close_after);
    if (c->dbody.data != NULL) /* decoded bodies are rare and large: not kept between requests */
        zs_buf_release(&c->dbody);
    if (close_after || c->closing)
        return;
    c->state = C_IDLE;
    c->is_head = 0;
    http_parser_pause(&c->parser, 0);
    arm_timer(c, c->srv->o.idle_timeout_ms);
    drain_input(c); /* pipelined requests behind this one; then reading goes on */
}

int zs_http__conn_open(struct zs_http_server *s, struct zs_http_io *io)
{
    struct conn *c = s->nconns < s->o.max_connections ? zs_calloc(1, sizeof *c) : NULL;
    if (c == NULL) {
        io->ops->close(io); /* no owner: nothing is called back */
        return -1;
    }
    c->io = io;
    io->cb = &conn_io_cb;
    io->owner = c;
    uv_timer_init(s->loop, &c->timer);
    c->timer.data = c;
    c->handles = 2;
    c->srv = s;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    s->nalloc++;
    zs_buf_init(&c->hdr, s->o.max_header_bytes);
    zs_buf_init(&c->body, s->o.max_body_bytes);
    zs_buf_init(&c->dbody, s->o.max_body_bytes);
    zs_buf_init(&c->in, s->o.max_header_bytes + s->o.max_body_bytes + 65536);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    c->req.peer_loopback = io->peer_loopback;
    c->req.peer = io->peer;
    c->req.client_cn = io->client_cn;
    c->req.request_id = c->rid;
    c->t_start = uv_hrtime();
    arm_timer(c, s->o.idle_timeout_ms);
    start_reading(c);
    return 0;
}

int zs_http__conn_waiting(const struct zs_http_io *io)
{
    const struct conn *c = io->owner;
    return !c->closing && (c->resume || c->resume_on_write);
}

static void on_connection(uv_stream_t *ls, int status)
{
    struct zs_http_server *s = ls->data;
    if (status < 0)
        return;
    struct zs_http_io *io;
    zs_rc rc = zs_http__tcp_accept(ls, s->rbuf, sizeof s->rbuf, &io);
    if (rc == ZS_OK && s->o.tls != NULL && zs_http__tls_wrap(s->o.tls, io, &io) != ZS_OK)
        return; /* no memory for TLS: closed */
    if (rc == ZS_OK) {
        (void)zs_http__conn_open(s, io); /* refused: closed (out of memory, or the cap) */
        return;
    }
    if (rc != ZS_ENOMEM)
        return;
    /* Accept it anyway, and close it: a connection libuv offered and nobody accepted stops
     * the listener until uv_accept is called. */
    if (!s->spare_busy && uv_tcp_init(s->loop, &s->spare) == 0) {
        s->spare_busy = 1;
        s->spare.data = s;
        if (uv_accept(ls, (uv_stream_t *)&s->spare) != 0)
            zs_log(ZS_LOG_WARN, "http", "msg=\"accept failed\"");
        s->nalloc++;
        uv_close((uv_handle_t *)&s->spare, on_spare_closed);
    }
    zs_log(ZS_LOG_WARN, "http", "msg=\"out of memory: connection refused\"");
}

/* ---------------------------------------------------------------- server */

/* Options with their defaults filled in, and the parser callbacks. */
static void server_init(struct zs_http_server *s, uv_loop_t *loop, const struct zs_http_opts *o,
                        zs_http_handler_fn fn, void *ctx)
{
    s->loop = loop;
    s->o = *o;
    if (getrandom(&s->rid_prefix, sizeof s->rid_prefix, GRND_NONBLOCK) != sizeof s->rid_prefix)
        s->rid_prefix = (uint32_t)(uintptr_t)s ^ (uint32_t)time(NULL);
    if (!s->o.max_header_bytes)
        s->o.max_header_bytes = 16384;
    if (!s->o.max_body_bytes)
        s->o.max_body_bytes = 10u << 20;
    if (!s->o.request_timeout_ms)
        s->o.request_timeout_ms = 30000;
    if (!s->o.idle_timeout_ms)
        s->o.idle_timeout_ms = 60000;
    if (!s->o.max_connections)
        s->o.max_connections = 10000;
    s->fn = fn;
    s->ctx = ctx;
    http_parser_settings_init(&s->settings);
    s->settings.on_message_begin = on_message_begin;
    s->settings.on_url = on_url;
    s->settings.on_header_field = on_header_field;
    s->settings.on_header_value = on_header_value;
    s->settings.on_headers_complete = on_headers_complete;
    s->settings.on_body = on_body;
    s->settings.on_message_complete = on_message_complete;
}

struct zs_http_server *zs_http__server_create(uv_loop_t *loop, const struct zs_http_opts *o,
                                              zs_http_handler_fn fn, void *ctx)
{
    struct zs_http_server *s = zs_xcalloc(1, sizeof *s);
    server_init(s, loop, o, fn, ctx);
    return s;
}

zs_rc zs_http_server_start(uv_loop_t *loop, const struct zs_http_opts *opts, zs_http_handler_fn fn,
                           void *ctx, struct zs_http_server **out, struct zs_err *err)
{
    struct sockaddr_storage ss;
    const char *host = opts->host ? opts->host : "127.0.0.1";
    memset(&ss, 0, sizeof ss);
    if (uv_ip4_addr(host, opts->port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(host, opts->port, (struct sockaddr_in6 *)&ss) != 0)
        return zs_err_set(err, ZS_EINVAL, NULL, "bad listen address \"%s\"", host);
    struct zs_http_server *s = zs_calloc(1, sizeof *s);
    if (s == NULL)
        return ZS_ENOMEM;
    server_init(s, loop, opts, fn, ctx);

    socklen_t alen =
        ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    int one = 1;
    /* SO_REUSEPORT lets any socket of the same user join the port: probe first with a
     * socket without it, which fails if anybody listens there already. */
    if (opts->exclusive && opts->port != 0) {
        int probe = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int taken = probe < 0 || setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
                    bind(probe, (struct sockaddr *)&ss, alen) != 0;
        int e = errno;
        if (probe >= 0)
            close(probe);
        if (taken) {
            zs_free(s);
            return zs_err_set(err, ZS_EIO, NULL,
                              "cannot bind %s:%u: %s (another process listens there)", host,
                              opts->port, strerror(e));
        }
    }
    /* Own socket so SO_REUSEPORT is set before bind (one listener per worker loop). */
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&ss, alen) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        zs_free(s);
        return zs_err_set(err, ZS_EIO, NULL, "cannot bind %s:%u: %s", host, opts->port,
                          strerror(e));
    }
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    s->listener_open = 1;
    int rc = uv_tcp_open(&s->listener, fd);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->listener, 1024, on_connection);
    if (rc != 0) {
        s->closing = 1;
        uv_close((uv_handle_t *)&s->listener, on_listener_closed);
        return zs_err_set(err, ZS_EIO, NULL, "cannot listen on %s:%u: %s", host, opts->port,
                          uv_strerror(rc));
    }
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &blen);
    s->port = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                               : ((struct sockaddr_in6 *)&bound)->sin6_port);
    *out = s;
    return ZS_OK;
}

uint16_t zs_http_server_port(const struct zs_http_server *s)
{
    return s->port;
}

static void on_listener_drained(uv_handle_t *h)
{
    struct zs_http_server *s = h->data;
    s->listener_open = 0;
    if (s->closing && s->nalloc == 0)
        zs_free(s);
}

void zs_http_server_drain(struct zs_http_server *s)
{
    if (s == NULL || s->draining || s->closing)
        return;
    s->draining = 1;
    if (s->listener_open)
        uv_close((uv_handle_t *)&s->listener, on_listener_drained);
    /* Idle keep-alive connections are closed now; busy ones after their response. */
    for (struct conn *c = s->conns, *next; c != NULL; c = next) {
        next = c->next;
        if (c->state == C_IDLE)
            conn_close(c);
    }
}

unsigned zs_http_server_connections(const struct zs_http_server *s)
{
    return s->nconns;
}

void zs_http_server_close(struct zs_http_server *s)
{
    if (s == NULL || s->closing)
        return;
    s->closing = 1;
    while (s->conns != NULL)
        conn_close(s->conns);
    if (s->listener_open && !s->draining)
        uv_close((uv_handle_t *)&s->listener, on_listener_closed);
    else if (!s->listener_open && s->nalloc == 0)
        zs_free(s);
}
