/* Fuzz the Unity Catalog type parser and formatter: parse, format, re-parse, compare. */
#include "zs_fuzz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/zs_arena.h"
#include "schema/zs_schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    struct zs_arena *a = zs_arena_create(0);
    const struct zs_type *t = NULL;
    struct zs_err err;
    if (zs_type_parse(a, text, &t, &err) == ZS_OK) {
        struct zs_buf b1, b2;
        zs_buf_init(&b1, 1 << 20);
        zs_buf_init(&b2, 1 << 20);
        const struct zs_type *t2 = NULL;
        if (zs_type_format(t, &b1) != ZS_OK || zs_buf_cstr(&b1) == NULL ||
            zs_type_parse(a, (const char *)b1.data, &t2, &err) != ZS_OK ||
            zs_type_format(t2, &b2) != ZS_OK || b1.len != b2.len ||
            memcmp(b1.data, b2.data, b1.len) != 0)
            abort(); /* the canonical form must round-trip */
        zs_buf_release(&b1);
        zs_buf_release(&b2);
    } else if (err.msg[0] == '\0') {
        abort();
    }
    zs_arena_destroy(a);
    free(text);
    return 0;
}
