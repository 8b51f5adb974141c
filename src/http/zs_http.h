/*
 * HTTP/1.1 server on libuv + http-parser (design.md §6). One struct zs_http_server per
 * uv_loop_t; every callback runs on that loop's thread. Handlers see struct zs_http_req,
 * never http_parser.
 *
 * Requests on a connection are handled one at a time: the parser pauses after each
 * complete request and resumes once its response is queued, so pipelined responses go
 * out in request order; pipelined input waits (64 KiB, then reading stops) and is parsed
 * in a loop once the request before it is answered (64 per turn of the loop; paused while
 * the client leaves more than 1 MiB of answers unread). HEAD gets the headers of the GET
 * answer without its body. Only HTTP/1.0 and 1.1; Transfer-Encoding must be "chunked",
 * and a chunked body is decoded strictly (chunked.h). The whole body is in memory (capped:
 * 413 beyond max_body_bytes, decided from Content-Length before the body is read); a
 * Content-Encoding (gzip, deflate, zstd: body_decode.h) is decoded as the body arrives,
 * only the decoded bytes are kept, and max_body_bytes caps them too (415 for another
 * coding, 400 for corrupt or truncated data). Each
 * request has a deadline from its first byte (408), each connection an idle timeout.
 * Header names with non-token characters, obs-fold (a header line starting with a blank),
 * repeated or conflicting Content-Length, Content-Length together with Transfer-Encoding
 * and malformed chunk framing are answered 400 and the connection is closed. Connections
 * read and write through a transport (http_int.h): TCP here. Every answer carries
 * X-Request-Id (the client's when sane, else generated), refusals included.
 */
#ifndef ZS_HTTP_H
#define ZS_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/zs_buf.h"
#include "core/zs_err.h"

#define ZS_HTTP_MAX_HEADERS 64
#define ZS_HTTP_REQUEST_ID_MAX 64

struct zs_http_header {
    struct zs_slice name; /* as received */
    struct zs_slice value;
};

struct zs_http_req {
    const char *method;     /* "GET", "POST", ... */
    struct zs_slice target; /* request-target as received */
    struct zs_slice path;   /* target up to '?' (not percent-decoded) */
    struct zs_slice query;  /* after '?', possibly empty */
    size_t nheaders;
    struct zs_http_header headers[ZS_HTTP_MAX_HEADERS];
    struct zs_slice body;   /* whole body, de-chunked */
    int peer_loopback;      /* the client connected from 127.0.0.0/8 or ::1 */
    const char *peer;       /* its address as text, or "" (for logs) */
    const char *client_cn;  /* TLS with client certificates: the verified subject CN, or "" */
    const char *request_id; /* the client's X-Request-Id when sane (1..64 of A-Z a-z 0-9
                               . _ : -), else generated; sent back on the answer */
    int route;              /* the handler's name for what the request asked (for
                               zs_http_answered_fn); 0 until the handler sets it */
    void *conn;             /* private */
};

/*
 * Called on the loop thread for each complete request. It must call zs_http_respond
 * exactly once, now or later on the same thread; req and its slices stay valid until then.
 */
typedef void (*zs_http_handler_fn)(struct zs_http_req *req, void *ctx);

/*
 * The JSON body of a request the server refuses before its handler (400 framing, 408, 413,
 * 415, 431, ...): path is the request's (empty when the refusal came before the request
 * line was read), why a plain-ASCII reason without quotes. Writes at most cap bytes to out
 * and returns their count; 0 (or cap or more) keeps the server's own body
 * {"error": why, "status_code": status}. Thread: the loop's.
 */
typedef size_t (*zs_http_error_body_fn)(struct zs_slice path, int status, const char *why,
                                        char *out, size_t cap);

/*
 * Told of every answer as it is written (refusals of the server's own included: route 0
 * then): its status, the request's bytes as received (head and body, before any decoding)
 * and the time from its first byte, in microseconds. req's method and path may be NULL/empty
 * for a refusal before the request line. ctx: the handler's. Thread: the loop's.
 */
typedef void (*zs_http_answered_fn)(void *ctx, const struct zs_http_req *req, int status,
                                    uint64_t bytes_in, uint64_t us);

struct zs_tls;

struct zs_http_opts {
    const char *host;                 /* bind address, e.g. "127.0.0.1" */
    uint16_t port;                    /* 0: ephemeral */
    size_t max_header_bytes;          /* 0: 16 KiB */
    size_t max_body_bytes;            /* 0: 10 MiB */
    uint32_t request_timeout_ms;      /* 0: 30 s, from the request's first byte */
    uint32_t idle_timeout_ms;         /* 0: 60 s, between requests */
    unsigned max_connections;         /* 0: 10000; beyond it new connections are closed */
    int exclusive;                    /* the first listener of a group: fail if another process
                                         holds the port (SO_REUSEPORT would let it share) */
    zs_http_error_body_fn error_body; /* NULL: the server's own error bodies */
    struct zs_tls *tls;               /* HTTPS with it (zs_tls.h; borrowed), or NULL */
    int access_log;                   /* 0 off, 1 answers >= 400, 2 every answer (log "access") */
    zs_http_answered_fn answered;     /* NULL: nobody is told */
};

struct zs_http_server;

/*
 * Bind (SO_REUSEPORT, so each worker loop can have its own listener on the port), listen
 * and serve on loop. With opts->exclusive, a port that another socket already listens on
 * is refused (ZS_EIO, "address in use") instead of shared. out is set on ZS_OK; the caller frees it
 * with zs_http_server_close after which the loop must run until the close completes.
 * Returns ZS_OK, ZS_EINVAL (bad host), ZS_EIO (bind/listen failed: err says why).
 * Thread: the loop's.
 */
ZS_MUST_CHECK zs_rc zs_http_server_start(uv_loop_t *loop, const struct zs_http_opts *opts,
                                         zs_http_handler_fn fn, void *ctx,
                                         struct zs_http_server **out, struct zs_err *err);

/* The bound port (useful with port 0). */
uint16_t zs_http_server_port(const struct zs_http_server *s);

/*
 * Stop accepting connections; open ones are still served, and each response from now on
 * carries "Connection: close". For graceful shutdown. Thread: the loop's.
 */
void zs_http_server_drain(struct zs_http_server *s);

/* Open connections (for shutdown decisions). Thread: the loop's. */
unsigned zs_http_server_connections(const struct zs_http_server *s);

/*
 * Stop listening and close every connection (pending requests get no answer); the server
 * is freed when the loop has processed the closes. NULL does nothing. Thread: the loop's.
 */
void zs_http_server_close(struct zs_http_server *s);

/*
 * Answer req: status, Content-Type (NULL: none), body (copied), extra header lines
 * (each "Name: value\r\n", or NULL). After this call req is gone.
 * Thread: the loop's.
 */
void zs_http_respond(struct zs_http_req *req, int status, const char *content_type,
                     const void *body, size_t len, const char *extra_headers);

/* Value of the first header named name (case-insensitive), or NULL. */
const struct zs_slice *zs_http_req_header(const struct zs_http_req *req, const char *name);

/*
 * Percent-decoded value of query parameter key ('+' is a space) into out (NUL-terminated).
 * Returns ZS_OK, ZS_ENOTFOUND, ZS_ELIMIT (does not fit), ZS_EPARSE (bad escape).
 */
ZS_MUST_CHECK zs_rc zs_http_query_param(struct zs_slice query, const char *key, char *out,
                                        size_t cap);

/* Percent-decode s into out (NUL-terminated); plus_space: '+' means ' '. Same returns. */
ZS_MUST_CHECK zs_rc zs_http_url_decode(struct zs_slice s, int plus_space, char *out, size_t cap);

/* Reason phrase of a status ("Not Found"). */
const char *zs_http_reason(int status);

#endif
