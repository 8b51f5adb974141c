/* Unity Catalog replies → schemas (protocol §6.4, docs/TYPES.md): every type in its three
 * reply forms (type_json, type_text, type_name), nesting, order, errors, and the diff. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/zs_catalog.h"
#include "core/zs_arena.h"
#include "zs_test.h"

/* Compile one reply into a schema (test fails on error). */
static struct zs_schema *compile(const char *reply)
{
    struct zs_arena *a = zs_arena_create(4096);
    struct zs_uc_table uc;
    struct zs_err err;
    zs_err_clear(&err);
    zs_rc rc = zs_uc_parse_table(a, reply, strlen(reply), &uc, &err);
    if (rc != ZS_OK)
        fail_msg("parse: %s: %s", zs_rc_str(rc), err.msg);
    struct zs_schema_opts o = {.message_name = "T", .reject_unknown = true};
    struct zs_schema *s = NULL;
    rc = zs_schema_create(&o, uc.cols, uc.ncols, &s, NULL, &err);
    if (rc != ZS_OK)
        fail_msg("compile: %s: %s", zs_rc_str(rc), err.msg);
    zs_arena_destroy(a);
    return s;
}

/* The canonical type text of column i. */
static const char *type_of(const struct zs_schema *s, size_t i)
{
    static char out[512];
    struct zs_buf b;
    zs_buf_init(&b, sizeof out - 1);
    assert_rc(zs_type_format(s->root.fields[i].type, &b), ZS_OK);
    snprintf(out, sizeof out, "%.*s", (int)b.len, (const char *)b.data);
    zs_buf_release(&b);
    return out;
}

/* A reply with one column per entry; form 0: type_json (Spark JSON, as a string),
 * 1: type_text, 2: type_name (+ precision/scale). */
static char *reply_of(const char *const *specs, size_t n, int form)
{
    json_t *cols = json_array();
    for (size_t i = 0; i < n; i++) {
        const char *const *sp = specs + 4 * i; /* name, spark json type, type_text, type_name */
        json_t *c = json_pack("{s:s, s:b, s:i}", "name", sp[0], "nullable", 1, "position", (int)i);
        if (form == 0) {
            char tj[1024];
            snprintf(tj, sizeof tj,
                     "{\"name\":\"%s\",\"type\":%s,\"nullable\":true,\"metadata\":{}}", sp[0],
                     sp[1]);
            json_object_set_new(c, "type_json", json_string(tj));
        } else if (form == 1) {
            json_object_set_new(c, "type_text", json_string(sp[2]));
        } else {
            json_object_set_new(c, "type_name", json_string(sp[3]));
            if (strcmp(sp[3], "DECIMAL") == 0) {
                json_object_set_new(c, "type_precision", json_integer(10));
                json_object_set_new(c, "type_scale", json_integer(2));
            }
        }
        json_array_append_new(cols, c);
    }
    json_t *r = json_pack("{s:s, s:o}", "full_name", "main.default.t", "columns", cols);
    char *s = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    return s;
}

/* name, Spark JSON type, type_text, type_name, expected canonical type (docs/TYPES.md) */
static const char *const scalars[][5] = {
    {"c_tinyint", "\"byte\"", "tinyint", "BYTE", "TINYINT"},
    {"c_smallint", "\"short\"", "smallint", "SHORT", "SMALLINT"},
    {"c_int", "\"integer\"", "int", "INT", "INT"},
    {"c_bigint", "\"long\"", "bigint", "LONG", "BIGINT"},
    {"c_float", "\"float\"", "float", "FLOAT", "FLOAT"},
    {"c_double", "\"double\"", "double", "DOUBLE", "DOUBLE"},
    {"c_boolean", "\"boolean\"", "boolean", "BOOLEAN", "BOOLEAN"},
    {"c_string", "\"string\"", "string", "STRING", "STRING"},
    {"c_varchar", "\"varchar(10)\"", "varchar(10)", "VARCHAR", "STRING"},
    {"c_char", "\"char(3)\"", "char(3)", "CHAR", "STRING"},
    {"c_binary", "\"binary\"", "binary", "BINARY", "BINARY"},
    {"c_date", "\"date\"", "date", "DATE", "DATE"},
    {"c_timestamp", "\"timestamp\"", "timestamp", "TIMESTAMP", "TIMESTAMP"},
    {"c_timestamp_ntz", "\"timestamp_ntz\"", "timestamp_ntz", "TIMESTAMP_NTZ", "TIMESTAMP_NTZ"},
    {"c_decimal", "\"decimal(10,2)\"", "decimal(10,2)", "DECIMAL", "DECIMAL(10,2)"},
    {"c_variant", "\"variant\"", "variant", "VARIANT", "VARIANT"},
};
#define NSCALARS (sizeof scalars / sizeof scalars[0])

static void test_every_scalar_type_in_every_form(void **state)
{
    (void)state;
    const char *specs[NSCALARS * 4];
    for (size_t i = 0; i < NSCALARS; i++)
        for (size_t k = 0; k < 4; k++)
            specs[4 * i + k] = scalars[i][k];
    for (int form = 0; form < 3; form++) {
        char *r = reply_of(specs, NSCALARS, form);
        struct zs_schema *s = compile(r);
        assert_int_equal(s->root.nfields, NSCALARS);
        for (size_t i = 0; i < NSCALARS; i++) {
            assert_string_equal(s->root.fields[i].name, scalars[i][0]);
            if (strcmp(type_of(s, i), scalars[i][4]) != 0)
                fail_msg("form %d, %s: %s, want %s", form, scalars[i][0], type_of(s, i),
                         scalars[i][4]);
            assert_true(s->root.fields[i].nullable);
            assert_int_equal(s->root.fields[i].number, i + 1);
        }
        zs_schema_destroy(s);
        free(r);
    }
}

/* Nested types: type_json keeps struct fields' NOT NULL; type_text as Databricks writes it. */
static const char *const nested[][4] = {
    {"tags", "{\"type\":\"array\",\"elementType\":\"string\",\"containsNull\":true}",
     "array<string>", "ARRAY<STRING>"},
    {"props",
     "{\"type\":\"map\",\"keyType\":\"string\",\"valueType\":\"long\","
     "\"valueContainsNull\":true}",
     "map<string,bigint>", "MAP<STRING, BIGINT>"},
    {"loc",
     "{\"type\":\"struct\",\"fields\":[{\"name\":\"lat\",\"type\":\"double\",\"nullable\":"
     "false,\"metadata\":{}},{\"name\":\"lon\",\"type\":\"double\",\"nullable\":true,"
     "\"metadata\":{}}]}",
     "struct<lat:double not null,lon:double>", "STRUCT<lat: DOUBLE NOT NULL, lon: DOUBLE>"},
    {"readings",
     "{\"type\":\"array\",\"elementType\":{\"type\":\"struct\",\"fields\":[{\"name\":\"at\","
     "\"type\":\"timestamp\",\"nullable\":true,\"metadata\":{}},{\"name\":\"v\",\"type\":"
     "\"decimal(5,1)\",\"nullable\":true,\"metadata\":{}},{\"name\":\"codes\",\"type\":{\"type\":"
     "\"map\",\"keyType\":\"integer\",\"valueType\":{\"type\":\"struct\",\"fields\":[{\"name\":"
     "\"s\",\"type\":\"varchar(4)\",\"nullable\":true,\"metadata\":{}}]},\"valueContainsNull\":"
     "true},\"nullable\":true,\"metadata\":{}}]},\"containsNull\":true}",
     "array<struct<at:timestamp,v:decimal(5,1),codes:map<int,struct<s:varchar(4)>>>>",
     "ARRAY<STRUCT<at: TIMESTAMP, v: DECIMAL(5,1), codes: MAP<INT, STRUCT<s: STRING>>>>"},
};
#define NNESTED (sizeof nested / sizeof nested[0])

static void test_nested_array_map_struct(void **state)
{
    (void)state;
    for (int form = 0; form < 2; form++) {
        const char *specs[NNESTED * 4];
        for (size_t i = 0; i < NNESTED; i++) {
            specs[4 * i] = nested[i][0];
            specs[4 * i + 1] = nested[i][1];
            specs[4 * i + 2] = nested[i][2];
            specs[4 * i + 3] = "STRUCT";
        }
        char *r = reply_of(specs, NNESTED, form);
        struct zs_schema *s = compile(r);
        for (size_t i = 0; i < NNESTED; i++) {
            const char *want = nested[i][3];
            if (form == 1 && i == 2) /* type_text keeps NOT NULL as written */
                want = "STRUCT<lat: DOUBLE NOT NULL, lon: DOUBLE>";
            if (strcmp(type_of(s, i), want) != 0)
                fail_msg("form %d, %s: %s, want %s", form, nested[i][0], type_of(s, i), want);
        }
        assert_int_equal(s->root.fields[2].type->kind, ZS_TYPE_STRUCT);
        assert_false(s->root.fields[2].type->st->fields[0].nullable);
        zs_schema_destroy(s);
        free(r);
    }
}

/* The same columns written by hand and read from the catalog compile to the same bytes. */
static void test_catalog_columns_equal_hand_written(void **state)
{
    (void)state;
    const char *reply =
        "{\"columns\":[{\"name\":\"device_name\",\"type_text\":\"string\",\"position\":0},"
        "{\"name\":\"temp\",\"type_text\":\"int\",\"position\":1,\"nullable\":true},"
        "{\"name\":\"humidity\",\"type_text\":\"bigint\",\"position\":2}]}";
    struct zs_schema *a = compile(reply);
    struct zs_column_def cols[] = {{"device_name", "string", -1, "optional string", 1},
                                   {"temp", "int32", -1, "optional int32", 2},
                                   {"humidity", "int64", -1, "optional int64", 3}};
    struct zs_schema_opts o = {.message_name = "T", .reject_unknown = true};
    struct zs_schema *b = NULL;
    struct zs_err err;
    assert_rc(zs_schema_create(&o, cols, 3, &b, NULL, &err), ZS_OK);
    struct zs_buf da, db;
    zs_buf_init(&da, 1 << 16);
    zs_buf_init(&db, 1 << 16);
    assert_rc(zs_schema_descriptor(a, &da), ZS_OK);
    assert_rc(zs_schema_descriptor(b, &db), ZS_OK);
    assert_int_equal(da.len, db.len);
    assert_memory_equal(da.data, db.data, da.len);
    struct zs_buf d;
    zs_buf_init(&d, 4096);
    assert_int_equal(zs_schema_diff(a, "the catalog", b, "config.json", &d), 0);
    zs_buf_release(&d);
    zs_buf_release(&da);
    zs_buf_release(&db);
    zs_schema_destroy(a);
    zs_schema_destroy(b);
}

/* Columns come in position order whatever their order in the reply; nullable defaults to
 * true, false means NOT NULL. */
static void test_position_order_and_nullability(void **state)
{
    (void)state;
    struct zs_schema *s =
        compile("{\"columns\":[{\"name\":\"c\",\"type_text\":\"string\",\"position\":2},"
                "{\"name\":\"a\",\"type_text\":\"int\",\"position\":0,\"nullable\":false},"
                "{\"name\":\"b\",\"type_name\":\"LONG\",\"position\":1}],"
                "\"zerobus_station_fetched_at\":1700000000}");
    assert_string_equal(s->root.fields[0].name, "a");
    assert_string_equal(s->root.fields[1].name, "b");
    assert_string_equal(s->root.fields[2].name, "c");
    assert_false(s->root.fields[0].nullable);
    assert_true(s->root.fields[1].nullable);
    zs_schema_destroy(s);
    struct zs_arena *a = zs_arena_create(4096);
    struct zs_uc_table uc;
    struct zs_err err;
    const char *r = "{\"full_name\":\"m.s.t\",\"columns\":[{\"name\":\"x\",\"type_text\":\"int\"}],"
                    "\"zerobus_station_fetched_at\":1700000000}";
    assert_rc(zs_uc_parse_table(a, r, strlen(r), &uc, &err), ZS_OK);
    assert_string_equal(uc.full_name, "m.s.t");
    assert_int_equal(uc.fetched_unix, 1700000000);
    zs_arena_destroy(a);
}

/* Bad replies: a clear error naming the column, never a crash. */
static void test_errors_name_the_column(void **state)
{
    (void)state;
    static const struct {
        const char *reply;
        zs_rc rc;
        const char *msg;
    } cases[] = {
        {"not json", ZS_EPARSE, "not JSON"},
        {"[]", ZS_EPARSE, "not a JSON object"},
        {"{}", ZS_EPARSE, "no \"columns\""},
        {"{\"columns\":[]}", ZS_EPARSE, "no \"columns\""},
        {"{\"columns\":[{\"type_text\":\"int\"}]}", ZS_EPARSE, "columns[0] has no name"},
        {"{\"columns\":[{\"name\":\"x\"}]}", ZS_EPARSE, "column \"x\": no type_json"},
        {"{\"columns\":[{\"name\":\"x\",\"type_json\":\"{\"}]}", ZS_EPARSE,
         "column \"x\": type_json is not JSON"},
        {"{\"columns\":[{\"name\":\"iv\",\"type_json\":\"{\\\"type\\\":\\\"udt\\\"}\"}]}",
         ZS_ESCHEMA, "column \"iv\": unsupported type \"udt\""},
        {"{\"columns\":[{\"name\":\"s\",\"type_json\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\""
         ":[{\\\"name\\\":\\\"a b\\\",\\\"type\\\":\\\"int\\\"}]}\"}]}",
         ZS_ESCHEMA, "struct field \"a b\" is not a protobuf identifier"},
        {"{\"columns\":[{\"name\":\"d\",\"type_name\":\"DECIMAL\"}]}", ZS_ESCHEMA,
         "DECIMAL without type_precision"},
        {"{\"columns\":[{\"name\":\"m\",\"type_name\":\"MAP\"}]}", ZS_ESCHEMA,
         "MAP without type_json or type_text"},
        {"{\"columns\":[{\"name\":\"q\",\"type_json\":\"\\\"in\\\\\\\"jection\\\"\"}]}", ZS_ESCHEMA,
         "unsupported type"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct zs_arena *a = zs_arena_create(4096);
        struct zs_uc_table uc;
        struct zs_err err;
        zs_err_clear(&err);
        zs_rc rc = zs_uc_parse_table(a, cases[i].reply, strlen(cases[i].reply), &uc, &err);
        if (rc != cases[i].rc || strstr(err.msg, cases[i].msg) == NULL)
            fail_msg("case %zu: %s \"%s\", want %s \"%s\"", i, zs_rc_str(rc), err.msg,
                     zs_rc_str(cases[i].rc), cases[i].msg);
        zs_arena_destroy(a);
    }
    /* Types the compiler refuses (INTERVAL): the parser passes them on, compiling names them. */
    struct zs_arena *a = zs_arena_create(4096);
    struct zs_uc_table uc;
    struct zs_err err;
    const char *r = "{\"columns\":[{\"name\":\"iv\",\"type_text\":\"interval day\"}]}";
    assert_rc(zs_uc_parse_table(a, r, strlen(r), &uc, &err), ZS_OK);
    struct zs_schema_opts o = {.message_name = "T"};
    struct zs_schema *s = NULL;
    assert_rc(zs_schema_create(&o, uc.cols, uc.ncols, &s, NULL, &err), ZS_ESCHEMA);
    if (strstr(err.msg, "interval") == NULL && strstr(err.msg, "INTERVAL") == NULL)
        fail_msg("%s", err.msg);
    zs_arena_destroy(a);
}

static void test_list_reply(void **state)
{
    (void)state;
    struct zs_arena *a = zs_arena_create(4096);
    const char **names, *next;
    size_t n;
    struct zs_err err;
    const char *r =
        "{\"tables\":[{\"full_name\":\"m.s.a\",\"columns\":[]},{\"full_name\":\"m.s.b\"}],"
        "\"next_page_token\":\"p2\"}";
    assert_rc(zs_uc_parse_list(a, r, strlen(r), &names, &n, &next, &err), ZS_OK);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "m.s.a");
    assert_string_equal(names[1], "m.s.b");
    assert_string_equal(next, "p2");
    assert_rc(zs_uc_parse_list(a, "{}", 2, &names, &n, &next, &err), ZS_OK);
    assert_int_equal(n, 0);
    assert_null(next);
    assert_rc(zs_uc_parse_list(a, "{\"tables\":[{}]}", 14, &names, &n, &next, &err), ZS_EPARSE);
    zs_arena_destroy(a);
}

static void test_diff_names_every_difference(void **state)
{
    (void)state;
    struct zs_schema *cat = compile(
        "{\"columns\":[{\"name\":\"a\",\"type_text\":\"int\"},{\"name\":\"b\",\"type_text\":"
        "\"string\",\"nullable\":false},{\"name\":\"c\",\"type_text\":\"date\"}]}");
    struct zs_schema *cfg =
        compile("{\"columns\":[{\"name\":\"a\",\"type_text\":\"bigint\"},{\"name\":\"b\","
                "\"type_text\":\"string\"},{\"name\":\"z\",\"type_text\":\"int\"}]}");
    struct zs_buf d;
    zs_buf_init(&d, 8192);
    assert_int_equal(zs_schema_diff(cat, "the catalog", cfg, "config.json", &d), 4);
    const char *t = zs_buf_cstr(&d);
    assert_non_null(strstr(t, "column 'a': INT in the catalog, BIGINT in config.json"));
    assert_non_null(strstr(t, "column 'b': NOT NULL in the catalog, nullable in config.json"));
    assert_non_null(strstr(t, "column 'c' (DATE) is in the catalog, not in config.json"));
    assert_non_null(strstr(t, "column 'z' (INT) is in config.json, not in the catalog"));
    zs_buf_release(&d);
    zs_schema_destroy(cat);
    zs_schema_destroy(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_scalar_type_in_every_form),
        cmocka_unit_test(test_nested_array_map_struct),
        cmocka_unit_test(test_catalog_columns_equal_hand_written),
        cmocka_unit_test(test_position_order_and_nullability),
        cmocka_unit_test(test_errors_name_the_column),
        cmocka_unit_test(test_list_reply),
        cmocka_unit_test(test_diff_names_every_difference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
