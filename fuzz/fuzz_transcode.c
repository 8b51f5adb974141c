/*
 * Fuzz the transcoder. Byte 0 picks a table of the all-types test config, the
 * rest is the record. Oracle (when the test messages are linked): every record the
 * transcoder accepts must decode with protobuf-c and re-pack to the same bytes.
 */
#include "zs_fuzz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/zs_config.h"
#include "schema/zs_transcode.h"
#ifdef ZS_FUZZ_ORACLE
#include "alltypes.pb-c.h"
#include "strict.pb-c.h"
#endif

static struct zs_config *cfg;
static struct zs_transcoder *tc;
static struct zs_buf out;

static void init(void)
{
    struct zs_err err;
    /* The all-types test config (table order alltypes, strict, lenient: the oracle needs it). */
    if (zs_config_load(ZS_FUZZ_CONFIG, ZS_FUZZ_ENV, &cfg, &err) != ZS_OK)
        abort();
    tc = zs_transcoder_create();
    zs_buf_init(&out, 16 << 20);
    if (tc == NULL)
        abort();
}

#ifdef ZS_FUZZ_ORACLE
/*
 * protobuf-c holds strings as NUL-terminated char *, so a string with U+0000 (valid in
 * JSON and in protobuf) cannot re-pack to the same bytes; such inputs skip that check.
 */
static void oracle(size_t table, int has_nul)
{
    const ProtobufCMessageDescriptor *d =
        table == 0 ? &zs_test__all_types__descriptor : &zs_test__strict__descriptor;
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, out.len, out.data);
    if (m == NULL)
        abort(); /* accepted but not decodable */
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *again = malloc(n ? n : 1);
    protobuf_c_message_pack(m, again);
    if (!has_nul && (n != out.len || (n != 0 && memcmp(again, out.data, n) != 0)))
        abort(); /* not canonical */
    free(again);
    protobuf_c_message_free_unpacked(m, NULL);
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (cfg == NULL)
        init();
    if (size == 0)
        return 0;
    size_t table = data[0] % cfg->ntables;
    struct zs_err err;
    out.len = 0;
    zs_rc rc = zs_transcode(tc, cfg->tables[table].schema, data + 1, size - 1, &out, &err);
    if (rc == ZS_OK) {
#ifdef ZS_FUZZ_ORACLE
        if (table < 2)
            oracle(table, memmem(data, size, "\\u0000", 6) != NULL);
#endif
    } else if (err.code != rc || err.msg[0] == '\0' || err.where[0] != '$') {
        abort(); /* every failure must carry a path and a reason */
    }
    return 0;
}
