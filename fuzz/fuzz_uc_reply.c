/*
 * Fuzz the Unity Catalog reply parsers (src/catalog/uc.c): byte 0 picks the table or the
 * list reply, the rest is the body. A parsed table must have named, typed columns, and
 * compiling them either works or fails with a reason (never a crash).
 */
#include "zs_fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "catalog/zs_catalog.h"
#include "core/zs_arena.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    struct zs_arena *a = zs_arena_create(4096);
    struct zs_err err;
    zs_err_clear(&err);
    const char *text = (const char *)data + 1;
    if (data[0] & 1) {
        const char **names, *next;
        size_t n;
        zs_rc rc = zs_uc_parse_list(a, text, size - 1, &names, &n, &next, &err);
        for (size_t i = 0; rc == ZS_OK && i < n; i++)
            if (names[i] == NULL)
                abort();
        if (rc != ZS_OK && rc != ZS_ENOMEM && err.msg[0] == '\0')
            abort();
        zs_arena_destroy(a);
        return 0;
    }
    struct zs_uc_table uc;
    zs_rc rc = zs_uc_parse_table(a, text, size - 1, &uc, &err);
    if (rc == ZS_OK) {
        if (uc.ncols == 0)
            abort();
        for (size_t i = 0; i < uc.ncols; i++)
            if (uc.cols[i].name == NULL || uc.cols[i].name[0] == '\0' || uc.cols[i].type == NULL)
                abort();
        struct zs_schema_opts o = {.message_name = "T"};
        struct zs_schema *s = NULL;
        zs_err_clear(&err);
        rc = zs_schema_create(&o, uc.cols, uc.ncols, &s, NULL, &err);
        if (rc != ZS_OK && rc != ZS_ENOMEM && err.msg[0] == '\0')
            abort();
        if (rc == ZS_OK) {
            struct zs_buf d;
            zs_buf_init(&d, 1 << 16);
            if (zs_schema_diff(s, "a", s, "b", &d) != 0)
                abort();
            zs_buf_release(&d);
        }
        zs_schema_destroy(s);
    } else if (rc != ZS_ENOMEM && err.msg[0] == '\0') {
        abort();
    }
    zs_arena_destroy(a);
    return 0;
}
