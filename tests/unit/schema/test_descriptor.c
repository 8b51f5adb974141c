/*
 * DescriptorProto and .proto text. The reference is protoc itself: the build runs
 * `protoc --descriptor_set_out` on the golden .proto files, and our descriptor must
 * equal protoc's DescriptorProto byte for byte (both re-packed by protobuf-c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "schema/zs_schema.h"
#include "zs_test.h"

static void read_all(const char *path, struct zs_buf *out)
{
    struct zs_err err;
    char msg[600];
    if (zs_read_file(path, 1 << 24, out, &err) != ZS_OK)
        fail_msg("%s", zs_err_format(&err, msg, sizeof msg));
}

static Google__Protobuf__FileDescriptorSet *golden_set(void)
{
    struct zs_buf b;
    read_all(ZS_GEN_DIR "/golden.desc", &b);
    Google__Protobuf__FileDescriptorSet *set =
        google__protobuf__file_descriptor_set__unpack(NULL, b.len, b.data);
    zs_buf_release(&b);
    assert_non_null(set);
    return set;
}

static void compare_with_protoc(const char *file, const char *table)
{
    Google__Protobuf__FileDescriptorSet *set = golden_set();
    Google__Protobuf__DescriptorProto *want = NULL;
    for (size_t i = 0; i < set->n_file; i++)
        if (strcmp(set->file[i]->name, file) == 0)
            want = set->file[i]->message_type[0];
    assert_non_null(want);
    size_t wn = google__protobuf__descriptor_proto__get_packed_size(want);
    uint8_t *wb = malloc(wn);
    google__protobuf__descriptor_proto__pack(want, wb);

    struct zs_config *c = zs_test_load("tests/data/alltypes.config.json");
    struct zs_buf ours;
    zs_buf_init(&ours, 1 << 20);
    assert_rc(zs_schema_descriptor(zs_test_schema(c, table), &ours), ZS_OK);
    /* Ours must decode as a DescriptorProto and re-pack to protoc's bytes. */
    Google__Protobuf__DescriptorProto *got =
        google__protobuf__descriptor_proto__unpack(NULL, ours.len, ours.data);
    assert_non_null(got);
    size_t gn = google__protobuf__descriptor_proto__get_packed_size(got);
    uint8_t *gb = malloc(gn);
    google__protobuf__descriptor_proto__pack(got, gb);
    if (gn != wn || memcmp(gb, wb, wn) != 0) {
        char g[8192];
        snprintf(g, sizeof g, "%s", zs_test_hex(gb, gn));
        fail_msg("%s: descriptor differs from protoc's\n got  %s\n want %s", table, g,
                 zs_test_hex(wb, wn));
    }
    /* And our own bytes are already canonical. */
    assert_int_equal(ours.len, wn);
    assert_memory_equal(ours.data, wb, wn);
    google__protobuf__descriptor_proto__free_unpacked(got, NULL);
    google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
    free(gb);
    free(wb);
    zs_buf_release(&ours);
    zs_config_destroy(c);
}

static void test_alltypes_descriptor_equals_protoc(void **state)
{
    (void)state;
    compare_with_protoc("alltypes.proto", "alltypes");
}

static void test_strict_descriptor_equals_protoc(void **state)
{
    (void)state;
    compare_with_protoc("strict.proto", "strict");
}

static void compare_text(const char *table, const char *golden)
{
    struct zs_config *c = zs_test_load("tests/data/alltypes.config.json");
    struct zs_buf got, want;
    zs_buf_init(&got, 1 << 20);
    assert_rc(zs_schema_proto_text(zs_test_schema(c, table), &got), ZS_OK);
    read_all(zs_test_path(golden), &want);
    if (got.len != want.len || memcmp(got.data, want.data, got.len) != 0)
        fail_msg("%s differs from %s:\n%.*s", table, golden, (int)got.len, (const char *)got.data);
    zs_buf_release(&got);
    zs_buf_release(&want);
    zs_config_destroy(c);
}

static void test_proto_text_golden(void **state)
{
    (void)state;
    compare_text("alltypes", "tests/data/alltypes.proto");
    compare_text("strict", "tests/data/strict.proto");
}

/* The seed's example tables, field by field (names, numbers, labels, types). */
static void test_seed_tables(void **state)
{
    (void)state;
    struct zs_config *c = zs_test_load("examples/config.json");
    struct zs_buf b;
    zs_buf_init(&b, 1 << 20);
    assert_rc(zs_schema_descriptor(zs_test_schema(c, "station_two"), &b), ZS_OK);
    Google__Protobuf__DescriptorProto *d =
        google__protobuf__descriptor_proto__unpack(NULL, b.len, b.data);
    assert_non_null(d);
    assert_string_equal(d->name, "StationTwo");
    assert_int_equal(d->n_field, 4);
    assert_int_equal(d->n_nested_type, 0);
    static const struct {
        const char *name;
        int number, type;
    } want[] = {
        {"device_name", 1, GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_STRING},
        {"temp", 2, GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT32},
        {"humidity", 3, GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT64},
        {"description", 4, GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_STRING},
    };
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(d->field[i]->name, want[i].name);
        assert_int_equal(d->field[i]->number, want[i].number);
        assert_int_equal(d->field[i]->type, want[i].type);
        assert_int_equal(d->field[i]->label,
                         GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_OPTIONAL);
    }
    google__protobuf__descriptor_proto__free_unpacked(d, NULL);
    zs_buf_release(&b);
    zs_config_destroy(c);
}

static void test_message_name_clash(void **state)
{
    (void)state;
    /* Column "Address" (STRUCT) would clash with its own message name "Address". */
    struct zs_column_def cols[] = {
        {.name = "Address", .type = "STRUCT<city: STRING>", .nullable = -1},
        {.name = "address_msg", .type = "STRING", .nullable = -1},
    };
    struct zs_schema_opts so = {.package = "p", .message_name = "M"};
    struct zs_schema *s = NULL;
    assert_rc(zs_schema_create(&so, cols, 2, &s, NULL, NULL), ZS_OK);
    assert_string_equal(s->root.fields[0].msg_name, "AddressMsg");
    zs_schema_destroy(s);

    struct zs_column_def clash[] = {
        {.name = "props", .type = "MAP<STRING, INT>", .nullable = -1},
        {.name = "PropsEntry", .type = "INT", .nullable = -1},
    };
    struct zs_err err;
    size_t bad = 0;
    assert_rc(zs_schema_create(&so, clash, 2, &s, &bad, &err), ZS_ESCHEMA);
    assert_int_equal(bad, 0);
    assert_non_null(strstr(err.msg, "PropsEntry"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alltypes_descriptor_equals_protoc),
        cmocka_unit_test(test_strict_descriptor_equals_protoc),
        cmocka_unit_test(test_proto_text_golden),
        cmocka_unit_test(test_seed_tables),
        cmocka_unit_test(test_message_name_clash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
