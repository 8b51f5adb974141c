/*
 * Fuzz the strict chunked decoder. Byte 0 seeds where the rest is split into feeds.
 * Checks: feeding in pieces gives what feeding at once gives (result, bytes taken, body);
 * the body is never longer than the input; DONE and errors stop at a byte of the input.
 */
#include "zs_fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "http/chunked.h"

struct sink {
    uint8_t *data;
    size_t len, cap;
};

static int to_sink(void *ctx, const char *p, size_t n)
{
    struct sink *s = ctx;
    if (s->len + n > s->cap)
        return -1;
    memcpy(s->data + s->len, p, n);
    s->len += n;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    /* The body fits (no partial refusal, which would depend on the split). */
    uint8_t *a = malloc(n + 1), *b = malloc(n + 1);
    struct sink whole = {a, 0, n}, split = {b, 0, n};
    struct zs_chunked d;
    size_t used;
    zs_chunked_init(&d);
    enum zs_chunked_rc rc = zs_chunked_feed(&d, in, n, 256, to_sink, &whole, &used);
    if (used > n || whole.len > used || (rc == ZS_CHUNKED_MORE && used != n))
        abort();
    if (rc == ZS_CHUNKED_ERROR && d.error == NULL)
        abort();

    unsigned seed = data[0] * 2654435761u + 1;
    size_t pos = 0;
    enum zs_chunked_rc rc2 = ZS_CHUNKED_MORE;
    zs_chunked_init(&d);
    while (pos < n && rc2 == ZS_CHUNKED_MORE) {
        seed = seed * 1103515245u + 12345u;
        size_t k = 1 + (seed >> 16) % 16, taken;
        if (k > n - pos)
            k = n - pos;
        rc2 = zs_chunked_feed(&d, in + pos, k, 256, to_sink, &split, &taken);
        if (taken > k)
            abort();
        pos += taken;
    }
    if (rc2 != rc || pos != used || split.len != whole.len || memcmp(a, b, whole.len) != 0)
        abort();
    free(a);
    free(b);
    return 0;
}
