/* Fuzz query-string parameter lookup and percent-decoding. */
#include "zs_fuzz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/zs_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const keys[] = {"wait_for_ack", "q", "", "a"};
    struct zs_slice q = {data, size};
    char out[256];
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        zs_rc rc = zs_http_query_param(q, keys[i], out, sizeof out);
        if (rc == ZS_OK && strlen(out) >= sizeof out)
            abort();
        if (rc != ZS_OK && rc != ZS_ENOTFOUND && rc != ZS_EPARSE && rc != ZS_ELIMIT)
            abort();
    }
    return 0;
}
