/* TLS contexts for the HTTP server. See zs_tls.h. */
#include "http/zs_tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/zs_mem.h"

struct zs_tls {
    pthread_mutex_t mu;
    SSL_CTX *ctx; /* the current one (mu) */
    char *cert, *key, *client_ca;
};

static const unsigned char alpn_http11[] = "\x08http/1.1";

/* ALPN: http/1.1 when the client offers it; otherwise no ALPN (the handshake goes on). */
static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    unsigned char *sel = NULL;
    if (SSL_select_next_proto(&sel, outlen, alpn_http11, sizeof alpn_http11 - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* OpenSSL's reason for the last failure (its queue is emptied). */
static const char *ssl_reason(char *buf, size_t cap)
{
    unsigned long e = ERR_peek_last_error();
    if (e == 0)
        snprintf(buf, cap, "unknown error");
    else
        ERR_error_string_n(e, buf, cap);
    ERR_clear_error();
    return buf;
}

static zs_rc build(const struct zs_tls *t, SSL_CTX **out, struct zs_err *err)
{
    char why[256];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        return zs_err_set(err, ZS_ENOMEM, NULL, "TLS: %s", ssl_reason(why, sizeof why));
    zs_rc rc = ZS_OK;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* TLS 1.3: AES-128-GCM first (the cheapest with AES-NI; the server's order wins) */
    if (SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1 ||
        SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                                      "TLS_CHACHA20_POLY1305_SHA256") != 1)
        rc = zs_err_set(err, ZS_EINVAL, NULL, "TLS ciphers: %s", ssl_reason(why, sizeof why));
    else if (SSL_CTX_use_certificate_chain_file(ctx, t->cert) != 1)
        rc = zs_err_set(err, ZS_EINVAL, NULL, "station.tls_cert %s: %s", t->cert,
                        ssl_reason(why, sizeof why));
    else if (SSL_CTX_use_PrivateKey_file(ctx, t->key, SSL_FILETYPE_PEM) != 1)
        rc = zs_err_set(err, ZS_EINVAL, NULL, "station.tls_key %s: %s", t->key,
                        ssl_reason(why, sizeof why));
    else if (SSL_CTX_check_private_key(ctx) != 1)
        rc = zs_err_set(err, ZS_EINVAL, NULL, "station.tls_key %s does not match %s", t->key,
                        t->cert);
    if (rc == ZS_OK && t->client_ca != NULL) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(t->client_ca);
        if (names == NULL || SSL_CTX_load_verify_locations(ctx, t->client_ca, NULL) != 1) {
            rc = zs_err_set(err, ZS_EINVAL, NULL, "station.tls_client_ca %s: %s", t->client_ca,
                            ssl_reason(why, sizeof why));
            sk_X509_NAME_pop_free(names, X509_NAME_free);
        } else {
            SSL_CTX_set_client_CA_list(ctx, names);
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
            /* resumed sessions keep the verified identity: one id context for them */
            SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"zerobus-station", 15);
        }
    }
    if (rc != ZS_OK) {
        SSL_CTX_free(ctx);
        return rc;
    }
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);
    *out = ctx;
    return ZS_OK;
}

zs_rc zs_tls_create(const struct zs_tls_files *f, struct zs_tls **out, struct zs_err *err)
{
    if (f->cert == NULL || f->key == NULL)
        return zs_err_set(err, ZS_EINVAL, NULL,
                          "a TLS listener needs station.tls_cert and station.tls_key");
    struct zs_tls *t = zs_xcalloc(1, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    t->cert = zs_xstrdup(f->cert);
    t->key = zs_xstrdup(f->key);
    t->client_ca = f->client_ca ? zs_xstrdup(f->client_ca) : NULL;
    zs_rc rc = build(t, &t->ctx, err);
    if (rc != ZS_OK) {
        zs_tls_destroy(t);
        return rc;
    }
    *out = t;
    return ZS_OK;
}

zs_rc zs_tls_reload(struct zs_tls *t, struct zs_err *err)
{
    SSL_CTX *ctx;
    zs_rc rc = build(t, &ctx, err);
    if (rc != ZS_OK)
        return rc;
    pthread_mutex_lock(&t->mu);
    SSL_CTX *old = t->ctx;
    t->ctx = ctx;
    pthread_mutex_unlock(&t->mu);
    SSL_CTX_free(old); /* connections made with it hold their own reference */
    return ZS_OK;
}

void *zs_tls__ctx(struct zs_tls *t)
{
    pthread_mutex_lock(&t->mu);
    SSL_CTX *ctx = t->ctx;
    SSL_CTX_up_ref(ctx);
    pthread_mutex_unlock(&t->mu);
    return ctx;
}

void zs_tls_destroy(struct zs_tls *t)
{
    if (t == NULL)
        return;
    SSL_CTX_free(t->ctx);
    free(t->cert);
    free(t->key);
    free(t->client_ca);
    pthread_mutex_destroy(&t->mu);
    free(t);
}
