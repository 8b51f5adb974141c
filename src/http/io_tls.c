/*
 * The TLS transport: a filter over another transport (TCP), as curl stacks its connection
 * filters. Ciphertext from below goes into a memory BIO; OpenSSL's output is taken from
 * another and written below; the connection above sees plaintext through the same
 * interface (http_int.h). Thread: the loop's.
 */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "core/zs_log.h"
#include "core/zs_mem.h"
#include "http/http_int.h"
#include "http/zs_tls.h"

struct tls_io {
    struct zs_http_io base; /* what the connection above uses */
    struct zs_http_io *lower;
    SSL *ssl;
    BIO *rbio, *wbio; /* owned by ssl */
    int handshaken;
    int closing; /* close() was called: nothing more goes up */
    int failed;  /* a fatal TLS error: the connection goes */
    int eof;     /* the peer's close_notify, or TCP EOF, was passed up */
    int first;   /* the first byte the client sent, or -1 before it */
};

static struct tls_io *tls_of(struct zs_http_io *io)
{
    return (struct tls_io *)io;
}

/* Write what OpenSSL produced (handshake records, application data, alerts) below. */
static int flush_out(struct tls_io *t)
{
    char *p;
    long n = BIO_get_mem_data(t->wbio, &p);
    if (n <= 0)
        return 0;
    int rc = t->lower->ops->write(t->lower, p, (size_t)n, NULL, 0);
    (void)BIO_reset(t->wbio);
    return rc;
}

static void fail(struct tls_io *t, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char why[256] = "";
    if (e != 0)
        ERR_error_string_n(e, why, sizeof why);
    ERR_clear_error();
    zs_log(ZS_LOG_DEBUG, "tls", "msg=\"%s\" peer=%s reason=\"%s\"", what,
           t->base.peer[0] ? t->base.peer : "-", why);
    (void)flush_out(t); /* an alert, if OpenSSL made one */
    t->failed = 1;
    if (!t->closing)
        t->base.cb->on_error(t->base.owner);
}

/* The client certificate's subject CN, once the handshake is done (mTLS). */
static void take_client_cn(struct tls_io *t)
{
    X509 *cert = SSL_get1_peer_certificate(t->ssl);
    if (cert == NULL)
        return;
    X509_NAME *name = X509_get_subject_name(cert);
    int n = X509_NAME_get_text_by_NID(name, NID_commonName, t->base.client_cn,
                                      sizeof t->base.client_cn);
    if (n <= 0 || (size_t)n >= sizeof t->base.client_cn)
        t->base.client_cn[0] = '\0';
    X509_free(cert);
}

/* Decrypt what there is and pass it up, until OpenSSL wants more bytes. */
static void pump(struct tls_io *t)
{
    if (!t->handshaken) {
        int r = SSL_do_handshake(t->ssl);
        if (flush_out(t) != 0) {
            fail(t, "write failed");
            return;
        }
        if (r != 1) {
            int e = SSL_get_error(t->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                return;
            if (t->first >= 'A' && t->first <= 'Z') { /* "GET /": plain HTTP, not TLS */
                static const char plain[] =
                    "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                    "Connection: close\r\nContent-Length: 63\r\n\r\n"
                    "{\"error\":\"this port speaks HTTPS, not HTTP\",\"status_code\":400}\n";
                (void)t->lower->ops->write(t->lower, plain, sizeof plain - 1, NULL, 0);
            }
            fail(t, "handshake failed");
            return;
        }
        t->handshaken = 1;
        take_client_cn(t);
    }
    char buf[16384];
    while (!t->closing && !t->failed) {
        int n = SSL_read(t->ssl, buf, sizeof buf);
        if (n > 0) {
            t->base.cb->on_data(t->base.owner, buf, (size_t)n);
            continue;
        }
        int e = SSL_get_error(t->ssl, n);
        if (flush_out(t) != 0) { /* post-handshake messages (session tickets) */
            fail(t, "write failed");
            return;
        }
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return;
        if (e == SSL_ERROR_ZERO_RETURN) { /* close_notify: the client finished sending */
            if (!t->eof) {
                t->eof = 1;
                t->base.cb->on_eof(t->base.owner);
            }
            return;
        }
        fail(t, "TLS read failed");
        return;
    }
}

/* ---------------------------------------------------------------- from below */

static void low_data(void *owner, const char *p, size_t n)
{
    struct tls_io *t = owner;
    if (t->closing || t->failed)
        return;
    if (t->first < 0 && n > 0)
        t->first = (unsigned char)p[0];
    if (BIO_write(t->rbio, p, (int)n) != (int)n) {
        fail(t, "out of memory");
        return;
    }
    pump(t);
}

static void low_eof(void *owner)
{
    struct tls_io *t = owner;
    if (t->closing || t->eof)
        return;
    t->eof = 1; /* without close_notify: a truncation the HTTP framing will notice */
    t->base.cb->on_eof(t->base.owner);
}

static void low_error(void *owner)
{
    struct tls_io *t = owner;
    if (!t->closing)
        t->base.cb->on_error(t->base.owner);
}

static void low_drain(void *owner)
{
    struct tls_io *t = owner;
    if (!t->closing)
        t->base.cb->on_drain(t->base.owner);
}

static void low_closed(void *owner)
{
    struct tls_io *t = owner;
    const struct zs_http_io_cb *cb = t->base.cb;
    void *up = t->base.owner;
    SSL_free(t->ssl);
    zs_free(t);
    if (cb != NULL)
        cb->on_closed(up);
}

static const struct zs_http_io_cb low_cb = {
    .on_data = low_data,
    .on_eof = low_eof,
    .on_error = low_error,
    .on_drain = low_drain,
    .on_closed = low_closed,
};

/* ---------------------------------------------------------------- to the connection */

static int tls_read_start(struct zs_http_io *io)
{
    struct tls_io *t = tls_of(io);
    return t->lower->ops->read_start(t->lower);
}

static void tls_read_stop(struct zs_http_io *io)
{
    struct tls_io *t = tls_of(io);
    t->lower->ops->read_stop(t->lower);
}

static int tls_write(struct zs_http_io *io, const void *a, size_t alen, const void *b, size_t blen)
{
    struct tls_io *t = tls_of(io);
    if (t->failed || !t->handshaken)
        return -1;
    /* Into the memory BIO, which takes everything: one write below for both parts. A
     * response that fits one record (head and body) goes as one: one seal, not two. */
    char one[16384];
    if (blen > 0 && alen + blen <= sizeof one) {
        memcpy(one, a, alen);
        memcpy(one + alen, b, blen);
        a = one;
        alen += blen;
        blen = 0;
    }
    if ((alen > 0 && SSL_write(t->ssl, a, (int)alen) != (int)alen) ||
        (blen > 0 && SSL_write(t->ssl, b, (int)blen) != (int)blen)) {
        ERR_clear_error();
        return -1;
    }
    return flush_out(t);
}

static size_t tls_queued(const struct zs_http_io *io)
{
    const struct tls_io *t = (const struct tls_io *)io;
    return t->lower->ops->queued(t->lower);
}

static void tls_close(struct zs_http_io *io)
{
    struct tls_io *t = tls_of(io);
    if (t->closing)
        return;
    t->closing = 1;
    if (t->handshaken && !t->failed) {
        (void)SSL_shutdown(t->ssl); /* our close_notify, best effort */
        (void)flush_out(t);
    }
    ERR_clear_error();
    t->lower->ops->close(t->lower);
}

static const struct zs_http_io_ops tls_ops = {
    .read_start = tls_read_start,
    .read_stop = tls_read_stop,
    .write = tls_write,
    .queued = tls_queued,
    .close = tls_close,
};

zs_rc zs_http__tls_wrap(struct zs_tls *tls, struct zs_http_io *lower, struct zs_http_io **out)
{
    struct tls_io *t = zs_calloc(1, sizeof *t);
    SSL_CTX *ctx = zs_tls__ctx(tls);
    SSL *ssl = t != NULL ? SSL_new(ctx) : NULL;
    SSL_CTX_free(ctx); /* ssl holds its own reference */
    BIO *rb = ssl != NULL ? BIO_new(BIO_s_mem()) : NULL;
    BIO *wb = rb != NULL ? BIO_new(BIO_s_mem()) : NULL;
    if (wb == NULL) {
        BIO_free(rb);
        SSL_free(ssl);
        zs_free(t);
        ERR_clear_error();
        lower->ops->close(lower); /* no owner yet: nothing is called back */
        return ZS_ENOMEM;
    }
    BIO_set_mem_eof_return(rb, -1); /* empty means "more to come", not EOF */
    SSL_set_bio(ssl, rb, wb);
    SSL_set_accept_state(ssl);
    t->base.ops = &tls_ops;
    t->first = -1;
    t->base.peer_loopback = lower->peer_loopback;
    memcpy(t->base.peer, lower->peer, sizeof t->base.peer);
    t->lower = lower;
    t->ssl = ssl;
    t->rbio = rb;
    t->wbio = wb;
    lower->cb = &low_cb;
    lower->owner = t;
    *out = &t->base;
    return ZS_OK;
}
