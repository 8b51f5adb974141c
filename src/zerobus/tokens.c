/*
 * The client's token source: one thread fetching OAuth tokens (blocking libcurl calls stay
 * off the client thread), a cache per table refreshed when less than 5 minutes remain, and
 * a forced refresh after UNAUTHENTICATED / PERMISSION_DENIED (protocol §3.4).
 * Thread: request() from the client thread; fetches on the token thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/zs_auth.h"
#include "core/zs_log.h"
#include "core/zs_mem.h"
#include "zerobus/zerobus_int.h"

#define REFRESH_BUFFER_MS (5 * 60 * 1000)

struct tcache {
    char *table;
    char *token; /* SECRET */
    long long expires_ms;
    struct tcache *next;
};

struct treq {
    char *table;
    int force;
    struct treq *next;
};

struct tokens {
    struct zs_zb *z;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct treq *queue;
    struct tcache *cache;
    int stop;
};

static struct tcache *cache_get(struct tokens *k, const char *table)
{
    for (struct tcache *c = k->cache; c != NULL; c = c->next)
        if (strcmp(c->table, table) == 0)
            return c;
    return NULL;
}

static void fetch(struct tokens *k, const char *table, int force)
{
    struct zs_zb *z = k->z;
    long long now = zb_now_ms();
    struct tcache *c = cache_get(k, table);
    if (!force && c != NULL && c->token != NULL && c->expires_ms - now > REFRESH_BUFFER_MS) {
        zb_client_token_ready(z, table, c->token, 200, NULL, 0);
        return;
    }
    char url[2048];
    snprintf(url, sizeof url, "%s/oidc/v1/token", z->workspace_url);
    struct zs_buf form, body;
    struct zs_err err;
    zs_err_clear(&err);
    zs_buf_init(&form, 1 << 16);
    int status = 0;
    char token[4096];
    int64_t expires_in = 0;
    zs_rc rc = zs_auth_token_form(table, z->workspace_id, &form);
    if (rc == ZS_OK && zs_buf_cstr(&form) != NULL)
        rc = zs_auth_fetch(url, z->client_id, z->client_secret, (const char *)form.data,
                           (long)z->o.recovery_timeout_ms, &status, &body, &err);
    zs_buf_release(&form);
    zs_counter_add(&z->token_fetches, 1); /* the token thread is the only writer */
    if (rc == ZS_OK) {
        rc = zs_auth_parse_reply(status, (const char *)body.data, body.len, token, sizeof token,
                                 &expires_in, &err);
        zs_buf_release(&body);
    }
    if (rc != ZS_OK) {
        /* 5xx and transport failures are retryable; 4xx are not (protocol §3.3). */
        int retryable = rc == ZS_EUNAVAIL || status >= 500;
        zs_counter_add(&z->token_failures, 1);
        zs_log(ZS_LOG_WARN, "auth", "msg=\"token request failed\" table=%s status=%d reason=\"%s\"",
               table, status, err.msg);
        zb_client_token_ready(z, table, NULL, status, err.msg, retryable);
        return;
    }
    if (c == NULL) {
        c = zs_xcalloc(1, sizeof *c);
        c->table = zs_xstrdup(table);
        c->next = k->cache;
        k->cache = c;
    }
    zs_free_secret(c->token);
    c->token = zs_xstrdup(token);
    c->expires_ms = expires_in > 0 ? now + expires_in * 1000 : 0; /* 0: do not cache */
    zb_client_token_ready(z, table, token, status, NULL, 0);
    zs_wipe(token, sizeof token);
}

static void *token_thread(void *arg)
{
    struct tokens *k = arg;
    pthread_mutex_lock(&k->lock);
    for (;;) {
        while (k->queue == NULL && !k->stop)
            pthread_cond_wait(&k->cond, &k->lock);
        if (k->stop)
            break;
        struct treq *r = k->queue;
        k->queue = r->next;
        pthread_mutex_unlock(&k->lock);
        fetch(k, r->table, r->force);
        free(r->table);
        free(r);
        pthread_mutex_lock(&k->lock);
    }
    pthread_mutex_unlock(&k->lock);
    return NULL;
}

static void t_request(void *ctx, const char *table, int force)
{
    struct tokens *k = ctx;
    struct treq *r = zs_xcalloc(1, sizeof *r);
    r->table = zs_xstrdup(table);
    r->force = force;
    pthread_mutex_lock(&k->lock);
    struct treq **pp = &k->queue; /* FIFO, one request per table in the queue */
    while (*pp != NULL && strcmp((*pp)->table, table) != 0)
        pp = &(*pp)->next;
    if (*pp != NULL) {
        (*pp)->force |= force;
        free(r->table);
        free(r);
    } else {
        *pp = r;
    }
    pthread_cond_signal(&k->cond);
    pthread_mutex_unlock(&k->lock);
}

static void t_destroy(void *ctx)
{
    struct tokens *k = ctx;
    pthread_mutex_lock(&k->lock);
    k->stop = 1;
    pthread_cond_signal(&k->cond);
    pthread_mutex_unlock(&k->lock);
    pthread_join(k->thread, NULL);
    while (k->queue != NULL) {
        struct treq *r = k->queue;
        k->queue = r->next;
        free(r->table);
        free(r);
    }
    while (k->cache != NULL) {
        struct tcache *c = k->cache;
        k->cache = c->next;
        free(c->table);
        zs_free_secret(c->token);
        free(c);
    }
    pthread_mutex_destroy(&k->lock);
    pthread_cond_destroy(&k->cond);
    free(k);
}

zs_rc zb_tokens_create(struct zs_zb *z, struct zs_err *err)
{
    if (z->workspace_id == NULL || z->workspace_id[0] == '\0') {
        /* The SDKs take the first DNS label of the Zerobus host (protocol §2.1). */
        const char *h = strstr(z->endpoint, "://");
        h = h ? h + 3 : z->endpoint;
        free(z->workspace_id);
        z->workspace_id = zs_xstrndup(h, strcspn(h, ".:/"));
    }
    struct tokens *k = zs_xcalloc(1, sizeof *k);
    k->z = z;
    pthread_mutex_init(&k->lock, NULL);
    pthread_cond_init(&k->cond, NULL);
    if (pthread_create(&k->thread, NULL, token_thread, k) != 0) {
        free(k);
        return zs_err_set(err, ZS_EIO, NULL, "cannot start the token thread");
    }
    z->tokens = (struct zb_token_source){.request = t_request, .destroy = t_destroy, .ctx = k};
    return ZS_OK;
}
