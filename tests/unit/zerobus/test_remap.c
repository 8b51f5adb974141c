/* Records rewritten for a table's new descriptor (src/zerobus/remap.c): encoded with the
 * old schema by the transcoder, rewritten, decoded with the new one by zs_schema_to_json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/zs_mem.h"
#include "schema/zs_transcode.h"
#include "zerobus/zerobus_int.h"
#include "zs_test.h"

struct side {
    struct zs_schema *s;
    struct zs_buf desc;
};

static void side_make(struct side *x, const struct zs_column_def *cols, size_t n)
{
    struct zs_schema_opts o = {.package = "p", .message_name = "T", .reject_unknown = true};
    struct zs_err err;
    assert_rc(zs_schema_create(&o, cols, n, &x->s, NULL, &err), ZS_OK);
    zs_buf_init(&x->desc, 1 << 16);
    assert_rc(zs_schema_descriptor(x->s, &x->desc), ZS_OK);
}

static void side_free(struct side *x)
{
    zs_schema_destroy(x->s);
    zs_buf_release(&x->desc);
}

/* json encoded with a, rewritten for b: 0 and the JSON b decodes (static), or -1 and why. */
static int rewrite(const struct side *a, const struct side *b, const char *json, char *why,
                   size_t cap, const char **decoded)
{
    struct zs_transcoder *tc = zs_transcoder_create();
    struct zs_buf rec, out;
    struct zs_err err;
    zs_buf_init(&rec, 1 << 16);
    zs_buf_init(&out, 1 << 16);
    assert_rc(zs_transcode(tc, a->s, (const uint8_t *)json, strlen(json), &rec, &err), ZS_OK);
    struct zb_remap *m =
        zb_remap_create(a->desc.data, a->desc.len, b->desc.data, b->desc.len, why, cap);
    assert_non_null(m);
    uint8_t *o = NULL;
    size_t olen = 0;
    int rc = zb_remap_record(m, rec.data, rec.len, &o, &olen, why, cap);
    static char text[1024];
    if (rc == 0) {
        assert_rc(zs_schema_to_json(b->s, o, olen, &out), ZS_OK);
        snprintf(text, sizeof text, "%.*s", (int)out.len, (const char *)out.data);
        *decoded = text;
        /* the rewrite is what the transcoder makes of that JSON with b: canonical bytes */
        struct zs_buf again;
        zs_buf_init(&again, 1 << 16);
        assert_rc(zs_transcode(tc, b->s, out.data, out.len, &again, &err), ZS_OK);
        assert_int_equal(again.len, olen);
        assert_memory_equal(again.data, o, olen);
        zs_buf_release(&again);
    }
    zs_free(o);
    zb_remap_destroy(m);
    zs_buf_release(&rec);
    zs_buf_release(&out);
    zs_transcoder_destroy(tc);
    return rc;
}

static const struct zs_column_def before[] = {
    {"id", "BIGINT", 0, NULL, 0},
    {"name", "STRING", -1, NULL, 0},
    {"temp", "INT", -1, NULL, 0},
    {"tags", "ARRAY<STRING>", -1, NULL, 0},
    {"loc", "STRUCT<lat: DOUBLE, lon: DOUBLE>", -1, NULL, 0},
};

static void test_added_nullable_column_keeps_every_record(void **state)
{
    (void)state;
    static const struct zs_column_def after[] = {
        {"id", "BIGINT", 0, NULL, 0},
        {"name", "STRING", -1, NULL, 0},
        {"temp", "INT", -1, NULL, 0},
        {"tags", "ARRAY<STRING>", -1, NULL, 0},
        {"loc", "STRUCT<lat: DOUBLE, lon: DOUBLE>", -1, NULL, 0},
        {"site", "STRING", -1, NULL, 0},
    };
    struct side a, b;
    side_make(&a, before, 5);
    side_make(&b, after, 6);
    char why[300];
    const char *out;
    assert_int_equal(rewrite(&a, &b,
                             "{\"loc\":{\"lat\":1.5},\"tags\":[\"x\",\"y\"],\"id\":7,\"temp\":-3,"
                             "\"name\":\"n\"}",
                             why, sizeof why, &out),
                     0);
    assert_string_equal(out, "{\"id\":7,\"name\":\"n\",\"temp\":-3,\"tags\":[\"x\",\"y\"],"
                             "\"loc\":{\"lat\":1.5}}");
    side_free(&a);
    side_free(&b);
}

static void test_dropped_column_renumbers_and_refuses_values(void **state)
{
    (void)state;
    /* temp dropped: tags and loc move up one field number */
    static const struct zs_column_def after[] = {
        {"id", "BIGINT", 0, NULL, 0},
        {"name", "STRING", -1, NULL, 0},
        {"tags", "ARRAY<STRING>", -1, NULL, 0},
        {"loc", "STRUCT<lat: DOUBLE, lon: DOUBLE>", -1, NULL, 0},
    };
    struct side a, b;
    side_make(&a, before, 5);
    side_make(&b, after, 4);
    assert_int_equal(b.s->root.fields[2].number, 3);
    char why[300];
    const char *out;
    assert_int_equal(
        rewrite(&a, &b, "{\"id\":1,\"tags\":[\"a\"],\"loc\":{\"lon\":2.0}}", why, sizeof why, &out),
        0);
    assert_string_equal(out, "{\"id\":1,\"tags\":[\"a\"],\"loc\":{\"lon\":2}}");
    assert_int_equal(rewrite(&a, &b, "{\"id\":1,\"temp\":5}", why, sizeof why, &out), -1);
    assert_string_equal(why, "column 'temp' has a value but is no longer in the table");
    side_free(&a);
    side_free(&b);
}

static void test_changed_types_and_not_null(void **state)
{
    (void)state;
    static const struct zs_column_def after[] = {
        {"id", "BIGINT", 0, NULL, 0},
        {"name", "STRING", -1, NULL, 0},
        {"temp", "BIGINT", -1, NULL, 0}, /* INT -> BIGINT */
        {"tags", "ARRAY<STRING>", -1, NULL, 0},
        {"loc", "STRUCT<lat: DOUBLE, lon: DOUBLE, alt: INT>", -1, NULL, 0}, /* a new field */
        {"must", "STRING", 0, NULL, 0},                                     /* NOT NULL */
    };
    struct side a, b;
    side_make(&a, before, 5);
    side_make(&b, after, 6);
    char why[300];
    const char *out;
    assert_int_equal(rewrite(&a, &b, "{\"id\":1,\"temp\":5}", why, sizeof why, &out), -1);
    assert_string_equal(why, "column 'temp' has a value but changed type in the table");
    assert_int_equal(rewrite(&a, &b, "{\"id\":1,\"loc\":{}}", why, sizeof why, &out), -1);
    assert_string_equal(why, "column 'loc' has a value but changed type in the table");
    assert_int_equal(rewrite(&a, &b, "{\"id\":1,\"name\":\"x\"}", why, sizeof why, &out), -1);
    assert_string_equal(why, "column 'must' is NOT NULL in the table and the record has no value");
    side_free(&a);
    side_free(&b);
}

static void test_malformed_records_and_descriptors(void **state)
{
    (void)state;
    struct side a;
    side_make(&a, before, 5);
    char why[300];
    struct zb_remap *m =
        zb_remap_create(a.desc.data, a.desc.len, a.desc.data, a.desc.len, why, sizeof why);
    assert_non_null(m);
    static const uint8_t bad[][4] = {{0x08}, {0x12, 0x05, 'a'}, {0x0b}, {0x80, 0x80}};
    static const size_t lens[] = {1, 3, 1, 2};
    for (size_t i = 0; i < 4; i++) {
        uint8_t *o = NULL;
        size_t ol;
        assert_int_equal(zb_remap_record(m, bad[i], lens[i], &o, &ol, why, sizeof why), -1);
        assert_null(o);
    }
    static const uint8_t unknown[] = {0x78, 0x01}; /* field 15 */
    uint8_t *o = NULL;
    size_t ol;
    assert_int_equal(zb_remap_record(m, unknown, 2, &o, &ol, why, sizeof why), -1);
    assert_string_equal(why, "field 15 is not in the record's descriptor");
    zb_remap_destroy(m);
    static const uint8_t junk[] = {0xff, 0xff, 0xff};
    assert_null(zb_remap_create(junk, 3, a.desc.data, a.desc.len, why, sizeof why));
    side_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_added_nullable_column_keeps_every_record),
        cmocka_unit_test(test_dropped_column_renumbers_and_refuses_values),
        cmocka_unit_test(test_changed_types_and_not_null),
        cmocka_unit_test(test_malformed_records_and_descriptors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
