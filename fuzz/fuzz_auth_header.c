/*
 * Fuzz the Authorization / X-API-Key header parsing. Byte 0 picks which header the rest
 * is (Authorization, X-API-Key, or split between both at byte 1). Checks: a key found is
 * a non-empty span inside the header it came from, with no blank, quote or control in it.
 */
#include "zs_fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "access/zs_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const uint8_t *a = NULL, *x = NULL;
    size_t alen = 0, xlen = 0;
    const uint8_t *rest = data + 2;
    size_t n = size - 2, cut = data[1] < n ? data[1] : n;
    switch (data[0] % 3) {
    case 0:
        a = rest, alen = n;
        break;
    case 1:
        x = rest, xlen = n;
        break;
    default:
        a = rest, alen = cut, x = rest + cut, xlen = n - cut;
    }
    const uint8_t *k = NULL;
    size_t klen = 0;
    int r = zs_keys_from_headers(a, alen, x, xlen, &k, &klen);
    if (r < -1 || r > 1)
        abort();
    if (r == 1) {
        const uint8_t *from = a != NULL ? a : x;
        size_t flen = a != NULL ? alen : xlen;
        if (klen == 0 || k < from || k + klen > from + flen)
            abort();
        for (size_t i = 0; i < klen; i++)
            if (k[i] <= ' ' || k[i] == '"' || k[i] >= 0x7f)
                abort();
    }
    return 0;
}
