/* Unity Catalog type text: parsing, canonical formatting, and every rejection. */
#include <stdio.h>
#include <string.h>

#include "core/zs_arena.h"
#include "schema/zs_schema.h"
#include "zs_test.h"

static void ok(const char *in, const char *canonical)
{
    struct zs_arena *a = zs_arena_create(0);
    const struct zs_type *t = NULL;
    struct zs_err err;
    zs_err_clear(&err);
    zs_rc rc = zs_type_parse(a, in, &t, &err);
    if (rc != ZS_OK)
        fail_msg("%s: %s", in, err.msg);
    struct zs_buf b;
    zs_buf_init(&b, 4096);
    assert_rc(zs_type_format(t, &b), ZS_OK);
    const char *got = zs_buf_cstr(&b);
    if (strcmp(got, canonical) != 0)
        fail_msg("%s formats as %s, want %s", in, got, canonical);
    zs_buf_release(&b);
    zs_arena_destroy(a);
}

static void bad(const char *in, const char *msg_part)
{
    struct zs_arena *a = zs_arena_create(0);
    const struct zs_type *t = NULL;
    struct zs_err err;
    zs_err_clear(&err);
    zs_rc rc = zs_type_parse(a, in, &t, &err);
    if (rc != ZS_ESCHEMA)
        fail_msg("%s: got %s, want ZS_ESCHEMA", in, zs_rc_str(rc));
    if (strstr(err.msg, msg_part) == NULL)
        fail_msg("%s: message \"%s\" lacks \"%s\"", in, err.msg, msg_part);
    zs_arena_destroy(a);
}

static void test_scalars(void **state)
{
    (void)state;
    static const char *const pairs[][2] = {
        {"TINYINT", "TINYINT"},
        {"byte", "TINYINT"},
        {"SMALLINT", "SMALLINT"},
        {"short", "SMALLINT"},
        {"int", "INT"},
        {"INTEGER", "INT"},
        {"int32", "INT"},
        {"bigint", "BIGINT"},
        {"LONG", "BIGINT"},
        {"int64", "BIGINT"},
        {"float", "FLOAT"},
        {"REAL", "FLOAT"},
        {"double", "DOUBLE"},
        {"boolean", "BOOLEAN"},
        {"bool", "BOOLEAN"},
        {"string", "STRING"},
        {"binary", "BINARY"},
        {"date", "DATE"},
        {"timestamp", "TIMESTAMP"},
        {"TIMESTAMP_LTZ", "TIMESTAMP"},
        {"timestamp_ntz", "TIMESTAMP_NTZ"},
        {"variant", "VARIANT"},
        {"decimal", "DECIMAL(10,0)"},
        {"DECIMAL(38, 10)", "DECIMAL(38,10)"},
        {"numeric(5)", "DECIMAL(5,0)"},
        {" dec ( 1 , 1 ) ", "DECIMAL(1,1)"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        ok(pairs[i][0], pairs[i][1]);
}

static void test_nested(void **state)
{
    (void)state;
    ok("array<int>", "ARRAY<INT>");
    ok("ARRAY < STRUCT < a : INT , b STRING NOT NULL > >",
       "ARRAY<STRUCT<a: INT, b: STRING NOT NULL>>");
    ok("map<string,struct<a:array<bigint>>>", "MAP<STRING, STRUCT<a: ARRAY<BIGINT>>>");
    ok("MAP<INT, STRUCT<x: DOUBLE COMMENT 'it''s x', y: MAP<STRING, DATE>>>",
       "MAP<INT, STRUCT<x: DOUBLE, y: MAP<STRING, DATE>>>");
    ok("struct<a:struct<b:struct<c:timestamp not null>>>",
       "STRUCT<a: STRUCT<b: STRUCT<c: TIMESTAMP NOT NULL>>>");
}

static void test_rejections(void **state)
{
    (void)state;
    bad("", "expected a type name");
    bad("INTERVAL", "unsupported type INTERVAL");
    bad("GEOGRAPHY", "unsupported type");
    bad("INT extra", "unexpected text");
    bad("DECIMAL(39,0)", "precision must be 1..38");
    bad("DECIMAL(0)", "precision must be 1..38");
    bad("DECIMAL(5,6)", "scale must be 0..precision");
    bad("DECIMAL(5", "expected ')'");
    bad("ARRAY<INT", "expected '>'");
    bad("ARRAY INT", "expected '<'");
    bad("ARRAY<ARRAY<INT>>", "wrap the inner value in a STRUCT");
    bad("ARRAY<MAP<STRING,INT>>", "wrap the inner value in a STRUCT");
    bad("MAP<DOUBLE,INT>", "MAP keys must be integral");
    bad("MAP<BINARY,INT>", "MAP keys must be integral");
    bad("MAP<STRING,MAP<STRING,INT>>", "wrap them in a STRUCT");
    bad("MAP<STRING,ARRAY<INT>>", "wrap them in a STRUCT");
    bad("MAP<STRING>", "expected ','");
    bad("STRUCT<>", "at least one field");
    bad("STRUCT<a INT, a STRING>", "duplicate column \"a\"");
    bad("STRUCT<a INT, A STRING>", "duplicate column");
    bad("STRUCT<1a INT>", "expected a field name");
    bad("STRUCT<a INT NOT>", "expected NULL after NOT");
    bad("STRUCT<a INT COMMENT 'x>", "unterminated comment");
    bad("STRUCT<a INT b STRING>", "expected ',' or '>'");
    /* Nesting cap. */
    char deep[600] = "";
    for (int i = 0; i < 40; i++)
        strcat(deep, "STRUCT<a:");
    strcat(deep, "INT");
    for (int i = 0; i < 40; i++)
        strcat(deep, ">");
    bad(deep, "nested too deeply");
}

static void test_column_rules(void **state)
{
    (void)state;
    struct zs_schema_opts so = {.message_name = "M"};
    struct zs_schema *s = NULL;
    struct zs_err err;
    size_t bad_col;
    struct zs_column_def c1[] = {{.name = "a-b", .type = "INT", .nullable = -1}};
    assert_rc(zs_schema_create(&so, c1, 1, &s, &bad_col, &err), ZS_ESCHEMA);
    assert_string_equal(err.where, "name");
    struct zs_column_def c2[] = {{.name = "a", .type = "INT", .nullable = -1, .field_num = 19500}};
    assert_rc(zs_schema_create(&so, c2, 1, &s, &bad_col, &err), ZS_ESCHEMA);
    assert_string_equal(err.where, "field_num");
    struct zs_column_def c3[] = {
        {.name = "a", .type = "int32", .nullable = -1, .proto_type = "optional int64"}};
    assert_rc(zs_schema_create(&so, c3, 1, &s, &bad_col, &err), ZS_ESCHEMA);
    assert_string_equal(err.where, "proto_type");
    assert_non_null(strstr(err.msg, "does not match"));
    struct zs_column_def c4[] = {
        {.name = "a", .type = "int32", .nullable = 1, .proto_type = "required int32"}};
    assert_rc(zs_schema_create(&so, c4, 1, &s, &bad_col, &err), ZS_ESCHEMA);
    assert_non_null(strstr(err.msg, "contradicts"));
    struct zs_column_def c5[] = {
        {.name = "tags", .type = "string", .nullable = -1, .proto_type = "repeated string"}};
    assert_rc(zs_schema_create(&so, c5, 1, &s, &bad_col, &err), ZS_OK);
    assert_int_equal(s->root.fields[0].type->kind, ZS_TYPE_ARRAY);
    zs_schema_destroy(s);
    struct zs_schema_opts bad_pkg = {.message_name = "M", .package = "a..b"};
    assert_rc(zs_schema_create(&bad_pkg, c5, 1, &s, &bad_col, &err), ZS_EINVAL);
    assert_string_equal(err.where, "proto_package");
    struct zs_schema_opts bad_msg = {.message_name = "1M"};
    assert_rc(zs_schema_create(&bad_msg, c5, 1, &s, &bad_col, &err), ZS_EINVAL);
    assert_string_equal(err.where, "message_name");
    /* Automatic numbers skip protobuf's reserved 19000-19999. */
    static struct zs_column_def many[2001];
    static char names[2001][12];
    for (int i = 0; i < 2000; i++) {
        snprintf(names[i], sizeof names[i], "c%d", i);
        many[i] = (struct zs_column_def){.name = names[i], .type = "INT", .nullable = -1};
    }
    assert_rc(zs_schema_create(&so, many, 2000, &s, &bad_col, &err), ZS_OK);
    assert_int_equal(s->root.fields[1999].number, 2000);
    assert_non_null(zs_struct_find(&s->root, "c1234", 5));
    assert_null(zs_struct_find(&s->root, "c2000", 5));
    zs_schema_destroy(s);
    assert_rc(zs_schema_create(&so, many, 2001, &s, &bad_col, &err), ZS_ESCHEMA);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_column_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
