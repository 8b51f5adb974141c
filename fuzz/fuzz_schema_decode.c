/*
 * Fuzz zs_schema_to_json (protobuf → JSON for dead letters and spool dump) with the
 * all-types table: arbitrary bytes must be decoded or refused with ZS_ECORRUPT, never
 * crash; what it decodes from a record the transcoder produced must transcode back to the
 * same bytes (the input's first byte picks: raw bytes, or JSON transcoded first).
 */
#include "zs_fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "config/zs_config.h"
#include "schema/zs_schema.h"
#include "schema/zs_transcode.h"

static struct zs_config *cfg;
static struct zs_transcoder *tc;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (cfg == NULL) {
        struct zs_err err;
        if (zs_config_load(ZS_FUZZ_CONFIG, ZS_FUZZ_ENV, &cfg, &err) != ZS_OK)
            abort();
        tc = zs_transcoder_create();
    }
    if (size == 0)
        return 0;
    const struct zs_schema *s = cfg->tables[0].schema;
    struct zs_buf rec, json, again;
    zs_buf_init(&rec, 1 << 20);
    zs_buf_init(&json, 8 << 20);
    zs_buf_init(&again, 1 << 20);
    struct zs_err err;
    int from_json = data[0] & 1;
    if (from_json && zs_transcode(tc, s, data + 1, size - 1, &rec, &err) != ZS_OK)
        goto out;
    if (!from_json && zs_buf_append(&rec, data + 1, size - 1) != ZS_OK)
        goto out;
    zs_rc rc = zs_schema_to_json(s, rec.data, rec.len, &json);
    if (rc != ZS_OK && rc != ZS_ECORRUPT && rc != ZS_ELIMIT)
        abort();
    if (rc != ZS_OK && json.len != 0)
        abort(); /* a refusal writes nothing */
    if (rc == ZS_OK && from_json) {
        if (zs_transcode(tc, s, json.data, json.len, &again, &err) != ZS_OK ||
            again.len != rec.len || (rec.len > 0 && memcmp(again.data, rec.data, rec.len) != 0))
            abort();
    }
out:
    zs_buf_release(&rec);
    zs_buf_release(&json);
    zs_buf_release(&again);
    return 0;
}
