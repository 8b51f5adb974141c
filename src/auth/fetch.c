/* The token endpoint call on libcurl (see zs_auth.h). Thread: any. */
#include <curl/curl.h>
#include <pthread.h>
#include <string.h>

#include "auth/zs_auth.h"
#include "core/zs_mem.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    struct zs_buf *b = ud;
    return zs_buf_append(b, p, size * n) == ZS_OK ? size * n : 0;
}

/* Common settings and the call; the handle is cleaned up. ZS_OK with the status, or
 * ZS_EUNAVAIL (what names the call in the message). */
static zs_rc perform(CURL *c, const char *url, long timeout_ms, int *http_status,
                     struct zs_buf *body, const char *what, struct zs_err *err)
{
    zs_buf_init(body, 1 << 20);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        zs_buf_release(body);
        /* curl's message names the host, never the credentials. */
        return zs_err_set(err, ZS_EUNAVAIL, NULL, "%s failed: %s", what,
                          errbuf[0] ? errbuf : curl_easy_strerror(rc));
    }
    *http_status = (int)status;
    return ZS_OK;
}

zs_rc zs_auth_fetch(const char *url, const char *client_id, const char *secret, const char *form,
                    long timeout_ms, int *http_status, struct zs_buf *body, struct zs_err *err)
{
    pthread_once(&once, global_init);
    CURL *c = curl_easy_init();
    if (c == NULL)
        return zs_err_set(err, ZS_ENOMEM, NULL, "cannot start an HTTP client");
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_USERNAME, client_id ? client_id : "");
    curl_easy_setopt(c, CURLOPT_PASSWORD, secret ? secret : "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
    return perform(c, url, timeout_ms, http_status, body, "token request to the workspace", err);
}

zs_rc zs_auth_get(const char *url, const char *token, long timeout_ms, int *http_status,
                  struct zs_buf *body, struct zs_err *err)
{
    pthread_once(&once, global_init);
    CURL *c = curl_easy_init();
    if (c == NULL)
        return zs_err_set(err, ZS_ENOMEM, NULL, "cannot start an HTTP client");
    char auth[600];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    struct curl_slist *h2 = h ? curl_slist_append(h, "Accept: application/json") : NULL;
    zs_wipe(auth, sizeof auth);
    if (h2 == NULL) {
        curl_slist_free_all(h);
        curl_easy_cleanup(c);
        return zs_err_set(err, ZS_ENOMEM, NULL, "out of memory");
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h2);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "zerobus-station");
    zs_rc rc = perform(c, url, timeout_ms, http_status, body, "Unity Catalog request", err);
    curl_slist_free_all(h2); /* holds the token: libcurl copied what it needed */
    return rc;
}
