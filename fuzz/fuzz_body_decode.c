/*
 * Fuzz request body decompression, then the batch parser on what comes out (what a
 * compressed batch request goes through). Byte 0: bits 0-1 pick the coding (gzip,
 * deflate, zstd, identity), bit 2 the batch form, bits 3-7 the size of the pieces the body
 * is fed in a second time (as reads deliver it). Checks: the output never passes the cap;
 * success and failure say why consistently; fed in pieces, the body decodes to the same
 * result and bytes; the batch parser's own checks hold.
 */
#include "zs_fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "api/batch.h"
#include "config/zs_config.h"
#include "http/body_decode.h"

#define CAP (1u << 20)

static struct zs_config *cfg;
static struct zs_transcoder *tc;
static struct zs_batch b;
static struct zs_buf out, out2;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct zs_err err;
    if (cfg == NULL) {
        if (zs_config_load(ZS_FUZZ_CONFIG, ZS_FUZZ_ENV, &cfg, &err) != ZS_OK)
            abort();
        tc = zs_transcoder_create();
        zs_batch_init(&b, 4 * CAP);
        zs_buf_init(&out, 1u << 30);
        zs_buf_init(&out2, 1u << 30);
    }
    if (size == 0)
        return 0;
    static const enum zs_body_coding codings[] = {ZS_CODING_GZIP, ZS_CODING_DEFLATE, ZS_CODING_ZSTD,
                                                  ZS_CODING_IDENTITY};
    const char *why = NULL;
    zs_rc rc = zs_body_decode(codings[data[0] & 3], data + 1, size - 1, CAP, &out, &why);
    if (out.len > CAP || why == NULL || (rc != ZS_OK && why[0] == '\0'))
        abort();
    /* the same body in pieces of 1..32 bytes */
    size_t step = (size_t)(data[0] >> 3) + 1;
    struct zs_body_decoder d;
    zs_rc rc2 = zs_body_decoder_init(&d, codings[data[0] & 3], CAP);
    out2.len = 0;
    for (size_t i = 1; rc2 == ZS_OK && i < size; i += step)
        rc2 = zs_body_decoder_feed(&d, data + i, size - i < step ? size - i : step, &out2, &why);
    if (rc2 == ZS_OK)
        rc2 = zs_body_decoder_finish(&d, &why);
    zs_body_decoder_release(&d);
    if (rc2 != rc || (rc == ZS_OK && (out2.len != out.len ||
                                      (out.len > 0 && memcmp(out2.data, out.data, out.len)))))
        abort();
    if (rc != ZS_OK)
        return 0;
    zs_err_clear(&err);
    enum zs_batch_form form = data[0] & 4 ? ZS_BATCH_NDJSON : ZS_BATCH_ARRAY;
    if (zs_batch_parse(&b, tc, cfg->tables[0].schema, form, out.data, out.len, 100000, 10, &err) ==
            ZS_OK &&
        b.nitems + b.rejected != b.total)
        abort();
    return 0;
}
