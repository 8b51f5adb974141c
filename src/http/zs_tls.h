/*
 * TLS for the HTTP server (OpenSSL 3): a certificate, its key and, for mutual TLS, the CAs
 * client certificates must chain to. A struct zs_tls is shared by every listener and
 * worker that serves TLS; zs_tls_reload swaps in a new certificate for new connections
 * while the connections already open keep the one they started with.
 *
 * Defaults: TLS 1.2 and 1.3 only; for 1.2, ECDHE key exchange with AES-GCM or
 * ChaCha20-Poly1305 (forward secrecy, AEAD only); 1.3 suites are OpenSSL's; ALPN
 * "http/1.1"; session tickets on. With a client CA, a connection without a certificate that
 * chains to it fails its handshake; the certificate's subject CN is handed to the request
 * (zs_http_req.client_cn), where it can stand for an ingest key id.
 *
 * Thread: create/reload/destroy on any one thread; the listeners take the current context
 * under a mutex at each accept.
 */
#ifndef ZS_TLS_H
#define ZS_TLS_H

#include "core/zs_err.h"

struct zs_tls;

struct zs_tls_files {
    const char *cert;      /* PEM: the certificate, then its chain */
    const char *key;       /* PEM: its private key */
    const char *client_ca; /* PEM CAs for client certificates (mTLS), or NULL */
};

/*
 * Load the files (copied: reload reads the same paths again). Returns ZS_OK; ZS_EINVAL or
 * ZS_EIO with err naming the file and OpenSSL's reason (never key material); ZS_ENOMEM.
 */
ZS_MUST_CHECK zs_rc zs_tls_create(const struct zs_tls_files *f, struct zs_tls **out,
                                  struct zs_err *err);

/* Read the files again; on success new connections get the new certificate. On failure
 * the old one stays and err says why. */
ZS_MUST_CHECK zs_rc zs_tls_reload(struct zs_tls *t, struct zs_err *err);

/* Free t once no listener uses it (open connections hold their own reference to what
 * they need). NULL does nothing. */
void zs_tls_destroy(struct zs_tls *t);

/* The current SSL_CTX with a reference taken (SSL_CTX_free it), as void * to keep OpenSSL
 * out of this header. Thread: any. */
void *zs_tls__ctx(struct zs_tls *t);

#endif
