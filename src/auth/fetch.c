/* The token endpoint call on libcurl (see zs_auth.h). Thread: any. */
#include <curl/curl.h>
#include <pthread.h>
#include <string.h>

#include "auth/zs_auth.h"

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

zs_rc zs_auth_fetch(const char *url, const char *client_id, const char *secret, const char *form,
                    long timeout_ms, int *http_status, struct zs_buf *body, struct zs_err *err)
{
    pthread_once(&once, global_init);
    CURL *c = curl_easy_init();
    if (c == NULL)
        return zs_err_set(err, ZS_ENOMEM, NULL, "cannot start an HTTP client");
    zs_buf_init(body, 1 << 20);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_USERNAME, client_id ? client_id : "");
    curl_easy_setopt(c, CURLOPT_PASSWORD, secret ? secret : "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
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
        return zs_err_set(err, ZS_EUNAVAIL, NULL, "token request to the workspace failed: %s",
                          errbuf[0] ? errbuf : curl_easy_strerror(rc));
    }
    *http_status = (int)status;
    return ZS_OK;
}
