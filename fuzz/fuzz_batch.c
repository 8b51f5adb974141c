/*
 * Fuzz the batch parser (JSON arrays and NDJSON). Byte 0: bit 0 picks the form, bit 1 the
 * table (all types, or strict); the rest is the body. Checks: every record is counted once
 * (kept or rejected), at most max_errors are listed and in index order, a kept record's JSON
 * lies inside the body and transcodes alone to the bytes the batch kept for it.
 */
#include "zs_fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "api/batch.h"
#include "config/zs_config.h"

static struct zs_config *cfg;
static struct zs_transcoder *tc;
static struct zs_batch b;
static struct zs_buf one;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct zs_err err;
    if (cfg == NULL) {
        if (zs_config_load(ZS_FUZZ_CONFIG, ZS_FUZZ_ENV, &cfg, &err) != ZS_OK)
            abort();
        tc = zs_transcoder_create();
        zs_batch_init(&b, 64u << 20);
        zs_buf_init(&one, 16u << 20);
    }
    if (size == 0)
        return 0;
    enum zs_batch_form form = data[0] & 1 ? ZS_BATCH_NDJSON : ZS_BATCH_ARRAY;
    const struct zs_schema *s = cfg->tables[(data[0] >> 1) & 1].schema;
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    zs_err_clear(&err);
    zs_rc rc = zs_batch_parse(&b, tc, s, form, body, len, 1000, 7, &err);
    if (rc != ZS_OK)
        return 0;
    if (b.nitems + b.rejected != b.total || b.nerrors > 7 || b.nerrors > b.rejected)
        abort();
    for (size_t i = 1; i < b.nerrors; i++)
        if (b.errors[i].index <= b.errors[i - 1].index)
            abort();
    for (size_t i = 0; i < b.nitems; i++) {
        const struct zs_batch_item *it = &b.items[i];
        if (it->json_off + it->json_len > len || it->rec_off + it->rec_len > b.recs.len)
            abort();
        one.len = 0;
        if (zs_transcode(tc, s, body + it->json_off, it->json_len, &one, &err) != ZS_OK ||
            one.len != it->rec_len ||
            (one.len > 0 && memcmp(one.data, b.recs.data + it->rec_off, one.len) != 0))
            abort();
    }
    return 0;
}
