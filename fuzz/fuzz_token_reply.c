/* Fuzz the OAuth token reply parser: byte 0 picks the HTTP status class, the rest is the body. */
#include "zs_fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "auth/zs_auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    static const int statuses[] = {200, 201, 400, 401, 403, 429, 500, 503};
    char token[256];
    int64_t exp = 0;
    struct zs_err err;
    zs_err_clear(&err);
    zs_rc rc = zs_auth_parse_reply(statuses[data[0] % 8], (const char *)data + 1, size - 1, token,
                                   sizeof token, &exp, &err);
    if (rc == ZS_OK && (strlen(token) == 0 || strlen(token) >= sizeof token || exp < 0))
        abort();
    if (rc != ZS_OK && err.msg[0] == '\0')
        abort();
    return 0;
}
