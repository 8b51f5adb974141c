/*
 * Transcoder: every type and every error class. Expected bytes are packed by
 * protobuf-c from messages generated out of tests/data/alltypes.proto and strict.proto
 * (the .proto our `proto` command prints, checked in test_descriptor).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alltypes.pb-c.h"
#include "schema/zs_transcode.h"
#include "strict.pb-c.h"
#include "zs_test.h"

static struct zs_config *cfg;
static const struct zs_schema *all, *strict, *lenient;
static struct zs_transcoder *tc;

static int setup(void **state)
{
    (void)state;
    cfg = zs_test_load("tests/data/alltypes.config.json");
    all = zs_test_schema(cfg, "alltypes");
    strict = zs_test_schema(cfg, "strict");
    lenient = zs_test_schema(cfg, "lenient");
    tc = zs_transcoder_create();
    return tc == NULL;
}

static int teardown(void **state)
{
    (void)state;
    zs_transcoder_destroy(tc);
    zs_config_destroy(cfg);
    return 0;
}

static void check_raw(const struct zs_schema *s, const char *json, size_t len, const uint8_t *want,
                      size_t wlen)
{
    struct zs_buf out;
    struct zs_err err;
    char msg[600];
    zs_buf_init(&out, 1 << 24);
    zs_err_clear(&err);
    zs_rc rc = zs_transcode(tc, s, (const uint8_t *)json, len, &out, &err);
    if (rc != ZS_OK)
        fail_msg("%s\n  failed: %s %s", json, zs_rc_str(rc), zs_err_format(&err, msg, sizeof msg));
    if (out.len != wlen || (wlen && memcmp(out.data, want, wlen) != 0)) {
        char got[4096];
        snprintf(got, sizeof got, "%s", zs_test_hex(out.data, out.len));
        fail_msg("%s\n  got  %s\n  want %s", json, got, zs_test_hex(want, wlen));
    }
    zs_buf_release(&out);
}

static void check(const struct zs_schema *s, const char *json, const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *want = malloc(n ? n : 1);
    protobuf_c_message_pack(m, want);
    check_raw(s, json, strlen(json), want, n);
    free(want);
}

static void check_err(const struct zs_schema *s, const char *json, zs_rc code, const char *where,
                      const char *msg_part)
{
    struct zs_buf out;
    struct zs_err err;
    zs_buf_init(&out, 1 << 24);
    assert_rc(zs_buf_append(&out, "abc", 3), ZS_OK); /* must survive the failure */
    zs_err_clear(&err);
    zs_rc rc = zs_transcode(tc, s, (const uint8_t *)json, strlen(json), &out, &err);
    if (rc != code)
        fail_msg("%s\n  got %s (%s: %s), want %s", json, zs_rc_str(rc), err.where, err.msg,
                 zs_rc_str(code));
    if (strcmp(err.where, where) != 0)
        fail_msg("%s\n  path %s, want %s (%s)", json, err.where, where, err.msg);
    if (strstr(err.msg, msg_part) == NULL)
        fail_msg("%s\n  message \"%s\" lacks \"%s\"", json, err.msg, msg_part);
    assert_int_equal(out.len, 3);
    zs_buf_release(&out);
}

#define MSG(m) (&(m).base)

static void test_integers(void **state)
{
    (void)state;
    ZsTest__AllTypes m = ZS_TEST__ALL_TYPES__INIT;
    m.has_c_tinyint = 1;
    m.c_tinyint = -128;
    check(all, "{\"c_tinyint\": -128}", MSG(m));
    m.c_tinyint = 127;
    check(all, "{\"c_tinyint\":127}", MSG(m));
    check(all, "{\"c_tinyint\":\"127\"}", MSG(m)); /* numeric string, as the original took */
    check(all, "{\"c_tinyint\":127.000}", MSG(m)); /* integral value with a fraction part */
    check(all, "{\"c_tinyint\":1.27e2}", MSG(m));
    m = (ZsTest__AllTypes)ZS_TEST__ALL_TYPES__INIT;
    m.has_c_smallint = 1;
    m.c_smallint = -32768;
    check(all, "{\"c_smallint\":-32768}", MSG(m));
    m = (ZsTest__AllTypes)ZS_TEST__ALL_TYPES__INIT;
    m.has_c_int = 1;
    m.c_int = INT32_MIN;
    check(all, "{\"c_int\":-2147483648}", MSG(m));
    m.c_int = -1;
    check(all, "{\"c_int\":-1}", MSG(m)); /* ten-byte varint, as protobuf encodes int32 */
    m.c_int = 0;
    check(all, "{\"c_int\":0}", MSG(m));
    check(all, "{\"c_int\":-0}", MSG(m));
    check(all, "{\"c_int\":0e5}", MSG(m));
    m = (ZsTest__AllTypes)ZS_TEST__ALL_TYPES__INIT;
    m.has_c_bigint = 1;
    m.c_bigint = INT64_MIN;
    check(all, "{\"c_bigint\":-9223372036854775808}", MSG(m));
    m.c_bigint = INT64_MAX;
    check(all, "{\"c_bigint\":9223372036854775807}", MSG(m));
    m.c_bigint = 1000;
    check(all, "{\"c_bigint\":1E3}", MSG(m));
}

static void test_floats(void **state)
{
    (void)state;
    ZsTest__AllTypes m = ZS_TEST__ALL_TYPES__INIT;
    m.has_c_float = 1;
    m.c_float = 1.5f;
    check(all, "{\"c_float\":1.5}", MSG(m));
    m.c_float = 3.4028234663852886e38f;
    check(all, "{\"c_float\":3.4028234663852886e38}", MSG(m));
    m.c_float = 1e-45f;
    check(all, "{\"c_float\":1e-45}", MSG(m));
    m.c_float = -0.0f;
    check(all, "{\"c_float\":-0.0}", MSG(m));
    m.c_float = NAN;
    check(all, "{\"c_float\":\"NaN\"}", MSG(m));
    m = (ZsTest__AllTypes)ZS_TEST__ALL_TYPES__INIT;
    m.has_c_double = 1;
    m.c_double = 3.141592653589793;
    check(all, "{\"c_double\":3.141592653589793}", MSG(m));
    m.c_double = 0.1;
    check(all, "{\"c_double\":0.1}", MSG(m));
    m.c_double = 1e308;
    check(all, "{\"c_double\":1e308}", MSG(m));
    m.c_double = -2.5e-300;
    check(all, "{\"c_double\":-2.5e-300}", MSG(m));
    m.c_double = 123456789012345678.0;
    check(all, "{\"c_double\":123456789012345678}", MSG(m));
    m.c_double = 2.2250738585072014e-308;
    check(all, "{\"c_double\":2.2250738585072014e-308}", MSG(m));
    m.c_double = 42;
    check(all, "{\"c_double\":\"42\"}", MSG(m));
    m.c_double = -INFINITY;
    check(all, "{\"c_double\":\"-Infinity\"}", MSG(m));
}

static void test_booleans(void **state)
{
    (void)state;
    ZsTest__AllTypes m = ZS_TEST__ALL_TYPES__INIT;
    m.has_c_boolean = 1;
    m.c_boolean = 1;
    check(all, "{\"c_boolean\":true}", MSG(m));
    check(all, "{\"c_boolean\":\"true\"}", MSG(m));
    check(all, "{\"c_boolean\":1}", MSG(m));
    m.c_boolean = 0;
    check(all, "{\"c_boolean\":false}", MSG(m));
    check(all, "{\"c_boolean\":0}", MSG(m));
}

static void test_strings(void **state)
{
    (void)state;
    ZsTest__AllTypes m = ZS_TEST__ALL_TYPES__INIT;
    m.c_string = "hello";
    check(all, "{\"c_string\":\"hello\"}", MSG(m));
    m.c_string = "";
    check(all, "{\"c_string\":\"\"}", MSG(m));
    m.c_string = "q\"b\\s/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80";
    check(all, "{\"c_string\":\"q\\\"b\\\\s\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"}", MSG(m));
    m.c_string = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 raw UTF-8";
    check(all, "{\"c_string\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 raw UTF-8\"}", MSG(m));
    /* 200 bytes: two-byte length prefix. */
    char big[201], json[400];
    memset(big, 'x', 200);
    big[200] = '\0';
    m.c_string = big;
    snprintf(json, sizeof json, "{\"c_string\":\"%s\"}", big);
    check(all, json, MSG(m));
    /* 30 escapes = 180 raw bytes decoding to 30: the length prefix shrinks. */
    char esc[400] = "{\"c_string\":\"";
    for (int i = 0; i < 30; i++)
        strcat(esc, "\\u0041");
    strcat(esc, "\"}");
    m.c_string = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    check(all, esc, MSG(m));
    /* U+0000 is a valid string character (protobuf-c's char * cannot hold it: raw bytes). */
    const uint8_t nul[] = {0x42, 0x03, 'a', 0x00, 'b'};
    const char *j = "{\"c_string\":\"a\\u0000b\"}";
    check_raw(all, j, strlen(j), nul, sizeof nul);
}

static void test_binary(void **state)
{
    (void)state;
    ZsTest__AllTypes m = ZS_TEST__ALL_TYPES__INIT;
    m.has_c_binary = 1;
    m.c_binary.data = (uint8_t *)"hello";
    m.c_binary.len = 5;
    check(all, "{\"c_binary\":\"aGVsbG8=\"}", MSG(m));
    check(all, "{\"c_binary\":\"aGVsbG8\"}", MSG(m));
    m.c_binary.data = (uint8_t *)"\xfb\xff";
    m.c_binary.len = 2;
    check(all, "{\"c_binary\":\"-_8=\"}", MSG(m)); /* URL-safe alphabet */
    check(all, "{\"c_binary\":\"+/8=\"}", MSG(m));
    m.c_binary.len = 0;
    check(all, "{\"c_binary\":\"\"}", MSG(m));
}

static void test_dates_and_timestamps(void **state)
{
    (void)state;
    ZsTest__AllTypes m = ZS_TEST__ALL_TYPES__INIT;
    m.has_c_date = 1;
    m.c_date = 0;
    check(all, "{\"c_date\":\"1970-01-01\"}", MSG(m));
    m.c_date = 19782;
    check(all, "{\"c_date\":\"2024-02-29\"}", MSG(m));
    check(all, "{\"c_date\":19782}", MSG(m));
    m.c_date = -1;
    check(all, "{\"c_date\":\"1969-12-31\"}", MSG(m));
    m.c_date = -719162;
    check(all, "{\"c_date\":\"0001-01-01\"}", MSG(m));
    m.c_date = 2932896;
    check(all, "{\"c_date\":\"9999-12-31\"}", MSG(m));

    m = (ZsTest__AllTypes)ZS_TEST__ALL_TYPES__INIT;
    m.has_c_timestamp = 1;
    m.c_timestamp = 0;
    check(all, "{\"c_timestamp\":\"1970-01-01T00:00:00Z\"}", MSG(m));
    m.c_timestamp = 1714566600123456;
    check(all, "{\"c_timestamp\":\"2024-05-01T12:30:00.123456Z\"}", MSG(m));
    check(all, "{\"c_timestamp\":\"2024-05-01T14:30:00.123456+02:00\"}", MSG(m));
    check(all, "{\"c_timestamp\":\"2024-05-01t09:00:00.123456789-03:30\"}", MSG(m));
    check(all, "{\"c_timestamp\":\"2024-05-01 12:30:00.123456z\"}", MSG(m));
    check(all, "{\"c_timestamp\":1714566600123456}", MSG(m));
    m.c_timestamp = -1;
    check(all, "{\"c_timestamp\":\"1969-12-31T23:59:59.999999Z\"}", MSG(m));
    m.c_timestamp = 1714566600100000;
    check(all, "{\"c_timestamp\":\"2024-05-01T12:30:00.1Z\"}", MSG(m));

    m = (ZsTest__AllTypes)ZS_TEST__ALL_TYPES__INIT;
    m.has_c_timestamp_ntz = 1;
    m.c_timestamp_ntz = 1714566600000000;
    check(all, "{\"c_timestamp_ntz\":\"2024-05-01T12:30:00\"}", MSG(m));
    m.c_timestamp_ntz = 1714566600500000;
    check(all, "{\"c_timestamp_ntz\":\"2024-05-01 12:30:00.5\"}", MSG(m));
}

static void test_decimal(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"\"12.5\"", "12.50"}, {"12.5", "12.50"},
        {"-0.01", "-0.01"},    {"\"12345678.99\"", "12345678.99"},
        {"1e2", "100.00"},     {"0", "0.00"},
        {"1.230", "1.23"},     {"-0.0", "0.00"},
        {"0.5e-1", "0.05"},    {"\"99999999.99\"", "99999999.99"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ZsTest__AllTypes m = ZS_TEST__ALL_TYPES__INIT;
        char json[128], want[64];
        snprintf(want, sizeof want, "%s", cases[i].out);
        m.c_decimal = want;
        snprintf(json, sizeof json, "{\"c_decimal\": %s}", cases[i].in);
        check(all, json, MSG(m));
    }
}

static void test_variant(void **state)
{
    (void)state;
    ZsTest__AllTypes m = ZS_TEST__ALL_TYPES__INIT;
    m.c_variant = "{\"a\":[1,2.5,\"x\",true,null],\"b\":{\"c\":{}}}";
    check(all,
          "{\"c_variant\": { \"a\" : [ 1 , 2.5, \"x\", true, null ],\n \"b\": {\"c\": {} } } }",
          MSG(m));
    m.c_variant = "42";
    check(all, "{\"c_variant\":42}", MSG(m));
    m.c_variant = "\"t\\u00e9xt\"";
    check(all, "{\"c_variant\":\"t\\u00e9xt\"}", MSG(m));
    /* A value over 127 bytes: the length prefix widens after the fact. */
    char json[600], want[600];
    strcpy(want, "[");
    for (int i = 0; i < 60; i++)
        strcat(want, i ? ",\"ab\"" : "\"ab\"");
    strcat(want, "]");
    m.c_variant = want;
    snprintf(json, sizeof json, "{\"c_variant\": %s}", want);
    check(all, json, MSG(m));
}

static void test_arrays(void **state)
{
    (void)state;
    ZsTest__AllTypes m = ZS_TEST__ALL_TYPES__INIT;
    int32_t ints[] = {1, -2, 300};
    m.n_c_int_array = 3;
    m.c_int_array = ints;
    check(all, "{\"c_int_array\":[1, -2, 300]}", MSG(m));
    m.n_c_int_array = 0;
    check(all, "{\"c_int_array\":[]}", MSG(m));
    char *strs[] = {"a", "", "c"};
    m.n_c_string_array = 3;
    m.c_string_array = strs;
    check(all, "{\"c_string_array\":[\"a\",\"\",\"c\"]}", MSG(m));
    m = (ZsTest__AllTypes)ZS_TEST__ALL_TYPES__INIT;
    int64_t ts[] = {1000000, 5};
    m.n_c_ts_array = 2;
    m.c_ts_array = ts;
    check(all, "{\"c_ts_array\":[\"1970-01-01T00:00:01Z\", 5]}", MSG(m));
    m = (ZsTest__AllTypes)ZS_TEST__ALL_TYPES__INIT;
    double ds[] = {1.5, -2};
    m.n_c_double_array = 2;
    m.c_double_array = ds;
    check(all, "{\"c_double_array\":[1.5,-2]}", MSG(m));
}

static void test_structs(void **state)
{
    (void)state;
    ZsTest__AllTypes m = ZS_TEST__ALL_TYPES__INIT;
    ZsTest__AllTypes__CStruct s = ZS_TEST__ALL_TYPES__CSTRUCT__INIT;
    ZsTest__AllTypes__CStruct__Inner in = ZS_TEST__ALL_TYPES__CSTRUCT__INNER__INIT;
    in.has_x = 1;
    in.x = 2.5;
    s.has_a = 1;
    s.a = 1;
    s.b = "x";
    s.inner = &in;
    m.c_struct = &s;
    check(all, "{\"c_struct\":{\"a\":1,\"b\":\"x\",\"inner\":{\"x\":2.5}}}", MSG(m));
    check(all, "{\"c_struct\":{\"inner\":{\"x\":2.5},\"b\":\"x\",\"a\":1}}", MSG(m));
    s.has_a = 0;
    s.inner = NULL;
    check(all, "{\"c_struct\":{\"b\":\"x\",\"inner\":null}}", MSG(m));

    m = (ZsTest__AllTypes)ZS_TEST__ALL_TYPES__INIT;
    ZsTest__AllTypes__Readings r1 = ZS_TEST__ALL_TYPES__READINGS__INIT, r2 = r1, r3 = r1;
    r1.has_temp = 1;
    r1.temp = 21.5;
    r1.label = "a";
    r2.has_temp = 1;
    r2.temp = 22;
    char label[301];
    memset(label, 'L', 300);
    label[300] = '\0';
    r3.label = label; /* element over 127 bytes */
    ZsTest__AllTypes__Readings *rs[] = {&r1, &r2, &r3};
    m.n_readings = 3;
    m.readings = rs;
    char json[800];
    snprintf(json, sizeof json,
             "{\"readings\":[{\"label\":\"a\",\"temp\":21.5},{\"temp\":22},{\"label\":\"%s\"}]}",
             label);
    check(all, json, MSG(m));
}

static void test_maps(void **state)
{
    (void)state;
    ZsTest__AllTypes m = ZS_TEST__ALL_TYPES__INIT;
    ZsTest__AllTypes__CMapEntry e1 = ZS_TEST__ALL_TYPES__CMAP_ENTRY__INIT, e2 = e1;
    e1.key = "a";
    e1.has_value = 1;
    e1.value = 1;
    e2.key = "b\n";
    e2.has_value = 1;
    e2.value = -2;
    ZsTest__AllTypes__CMapEntry *es[] = {&e1, &e2};
    m.n_c_map = 2;
    m.c_map = es;
    check(all, "{\"c_map\":{\"a\":1,\"b\\n\":-2}}", MSG(m));

    m = (ZsTest__AllTypes)ZS_TEST__ALL_TYPES__INIT;
    ZsTest__AllTypes__CIntMapEntry i1 = ZS_TEST__ALL_TYPES__CINT_MAP_ENTRY__INIT, i2 = i1;
    i1.has_key = 1;
    i1.key = 1;
    i1.value = "one";
    i2.has_key = 1;
    i2.key = -5;
    i2.value = "minus five";
    ZsTest__AllTypes__CIntMapEntry *is[] = {&i1, &i2};
    m.n_c_int_map = 2;
    m.c_int_map = is;
    check(all, "{\"c_int_map\":{\"1\":\"one\",\"-5\":\"minus five\"}}", MSG(m));

    m = (ZsTest__AllTypes)ZS_TEST__ALL_TYPES__INIT;
    ZsTest__AllTypes__CStructMapEntry s1 = ZS_TEST__ALL_TYPES__CSTRUCT_MAP_ENTRY__INIT;
    ZsTest__AllTypes__CStructMapValue v1 = ZS_TEST__ALL_TYPES__CSTRUCT_MAP_VALUE__INIT;
    v1.has_v = 1;
    v1.v = 3;
    s1.key = "k";
    s1.value = &v1;
    ZsTest__AllTypes__CStructMapEntry *ss[] = {&s1};
    m.n_c_struct_map = 1;
    m.c_struct_map = ss;
    check(all, "{\"c_struct_map\":{\"k\":{\"v\":3}}}", MSG(m));

    m = (ZsTest__AllTypes)ZS_TEST__ALL_TYPES__INIT;
    ZsTest__AllTypes__CBoolMapEntry b1 = ZS_TEST__ALL_TYPES__CBOOL_MAP_ENTRY__INIT, b2 = b1;
    b1.has_key = b1.has_value = 1;
    b1.key = 1;
    b1.value = 19723;
    b2.has_key = b2.has_value = 1;
    b2.key = 0;
    b2.value = 0;
    ZsTest__AllTypes__CBoolMapEntry *bs[] = {&b1, &b2};
    m.n_c_bool_map = 2;
    m.c_bool_map = bs;
    check(all, "{\"c_bool_map\":{\"true\":\"2024-01-01\",\"false\":0}}", MSG(m));
}

static void test_record_shape(void **state)
{
    (void)state;
    ZsTest__AllTypes m = ZS_TEST__ALL_TYPES__INIT;
    check(all, "{}", MSG(m));
    check(all, " \t\r\n{ } \n", MSG(m));
    check(all, "{\"c_int\":null,\"c_string\":null,\"c_int_array\":null}", MSG(m));
    /* Keys out of field order come out in field-number order. */
    m.c_string = "s";
    m.has_c_int = 1;
    m.c_int = 1;
    m.has_c_tinyint = 1;
    m.c_tinyint = 2;
    check(all, "{\"c_string\":\"s\",\"c_int\":1,\"c_tinyint\":2}", MSG(m));
    /* An escaped key names the same column. */
    check(all, "{\"c_\\u0073tring\":\"s\",\"c_int\":1,\"c_tinyint\":2}", MSG(m));

    ZsTest__Strict st = ZS_TEST__STRICT__INIT;
    char *tags[] = {"t"};
    st.id = 9;
    st.name = "n";
    st.n_tags = 1;
    st.tags = tags;
    check(strict, "{\"id\":9,\"name\":\"n\",\"tags\":[\"t\"]}", &st.base);
    st.note = "x";
    check(strict, "{\"note\":\"x\",\"tags\":[\"t\"],\"name\":\"n\",\"id\":9}", &st.base);

    /* unknown_fields = ignore: any JSON value is skipped. */
    const uint8_t want[] = {0x08, 0x01};
    const char *j = "{\"x\": {\"deep\": [1, 2.5e3, {\"a\": null}]}, \"c\": 1, \"y\": \"z\"}";
    check_raw(lenient, j, strlen(j), want, sizeof want);
    const uint8_t want2[] = {0x12, 0x02, 0x08, 0x07};
    j = "{\"s\": {\"x\": 7, \"other\": [true]}}";
    check_raw(lenient, j, strlen(j), want2, sizeof want2);
}

static void test_transcode_at(void **state)
{
    (void)state;
    const char *in = " {\"c_int\":1} \n{\"c_int\":2}";
    size_t pos = 0;
    struct zs_buf out;
    struct zs_err err;
    zs_buf_init(&out, 1024);
    assert_rc(zs_transcode_at(tc, all, (const uint8_t *)in, strlen(in), &pos, &out, &err), ZS_OK);
    assert_int_equal(pos, 12);
    assert_rc(zs_transcode_at(tc, all, (const uint8_t *)in, strlen(in), &pos, &out, &err), ZS_OK);
    assert_int_equal(pos, strlen(in));
    const uint8_t want[] = {0x18, 0x01, 0x18, 0x02};
    assert_int_equal(out.len, 4);
    assert_memory_equal(out.data, want, 4);
    zs_buf_release(&out);
}

static void test_syntax_errors(void **state)
{
    (void)state;
    check_err(all, "", ZS_EPARSE, "$", "empty input");
    {
        struct zs_buf out;
        struct zs_err err;
        zs_buf_init(&out, 64);
        assert_rc(zs_transcode(tc, all, NULL, 0, &out, &err), ZS_EPARSE); /* NULL, 0: no UB */
        zs_buf_release(&out);
    }
    check_err(all, "   ", ZS_EPARSE, "$", "empty input");
    check_err(all, "{", ZS_EPARSE, "$", "unexpected end of input");
    check_err(all, "{\"c_int\": 1,}", ZS_EPARSE, "$", "expected a string key");
    check_err(all, "{\"c_int\" 1}", ZS_EPARSE, "$", "expected ':'");
    check_err(all, "{\"c_int\": 01}", ZS_EPARSE, "$", "expected ',' or '}'");
    check_err(all, "{\"c_int\": 1.}", ZS_EPARSE, "$.c_int", "expected a number");
    check_err(all, "{\"c_int\": -}", ZS_EPARSE, "$.c_int", "expected a number");
    check_err(all, "{\"c_int\": 1} x", ZS_EPARSE, "$", "trailing data");
    check_err(all, "{\"c_int\": 1}{}", ZS_EPARSE, "$", "trailing data");
    check_err(all, "nul", ZS_EPARSE, "$", "expected a JSON object");
    check_err(all, "{\"c_int\": tru}", ZS_EPARSE, "$.c_int", "invalid JSON");
    check_err(all, "{\"c_string\": \"a\x01\"}", ZS_EPARSE, "$.c_string", "control character");
    check_err(all, "{\"c_string\": \"a\\q\"}", ZS_EPARSE, "$.c_string", "unknown escape");
    check_err(all, "{\"c_string\": \"a\\u12\"}", ZS_EPARSE, "$.c_string", "bad \\u escape");
    check_err(all, "{\"c_string\": \"abc", ZS_EPARSE, "$.c_string", "closing the string");
    check_err(all, "{\"c_variant\": [1, 2}", ZS_EPARSE, "$.c_variant", "',' or ']'");
}

static void test_schema_errors(void **state)
{
    (void)state;
    check_err(all, "[1]", ZS_ESCHEMA, "$", "must be a JSON object, got an array");
    check_err(all, "{\"c_string\": \"\xff\"}", ZS_ESCHEMA, "$.c_string", "not valid UTF-8");
    check_err(all, "{\"c_string\": \"\xc0\xaf\"}", ZS_ESCHEMA, "$.c_string", "not valid UTF-8");
    check_err(all, "{\"c_string\": \"\xed\xa0\x80\"}", ZS_ESCHEMA, "$.c_string", "not valid UTF-8");
    check_err(all, "{\"c_string\": \"\\ud800\"}", ZS_ESCHEMA, "$.c_string", "unpaired UTF-16");
    check_err(all, "{\"c_string\": \"\\udc00x\"}", ZS_ESCHEMA, "$.c_string", "unpaired UTF-16");
    check_err(all, "{\"c_int\":1,\"c_int\":2}", ZS_ESCHEMA, "$.c_int", "duplicate key");
    check_err(all, "{\"c_int\":1,\"c_\\u0069nt\":2}", ZS_ESCHEMA, "$.c_int", "duplicate key");
    check_err(all, "{\"nope\":1}", ZS_ESCHEMA, "$.nope", "unknown field");
    check_err(all, "{\"we ird\":1}", ZS_ESCHEMA, "$[\"we ird\"]", "unknown field");
    check_err(all, "{\"c_struct\":{\"b\":\"x\",\"zzz\":1}}", ZS_ESCHEMA, "$.c_struct.zzz",
              "unknown field");
    check_err(all, "{\"c_struct\":{\"a\":1}}", ZS_ESCHEMA, "$.c_struct.b", "missing required");
    check_err(all, "{\"c_struct\":{\"b\":null}}", ZS_ESCHEMA, "$.c_struct.b",
              "null is not allowed");
    check_err(strict, "{\"id\":1,\"tags\":[]}", ZS_ESCHEMA, "$.name", "missing required");
    check_err(strict, "{\"id\":1,\"name\":null,\"tags\":[]}", ZS_ESCHEMA, "$.name",
              "null is not allowed");
    check_err(strict, "{\"id\":1,\"name\":\"n\"}", ZS_ESCHEMA, "$.tags", "missing required");
    check_err(all, "{\"c_int\": \"abc\"}", ZS_ESCHEMA, "$.c_int", "not a number");
    check_err(all, "{\"c_int\": true}", ZS_ESCHEMA, "$.c_int",
              "expected an integer, got a boolean");
    check_err(all, "{\"c_int\": {}}", ZS_ESCHEMA, "$.c_int", "got an object");
    check_err(all, "{\"c_string\": 5}", ZS_ESCHEMA, "$.c_string",
              "expected a string, got a number");
    check_err(all, "{\"c_boolean\": \"yes\"}", ZS_ESCHEMA, "$.c_boolean", "expected a boolean");
    check_err(all, "{\"c_boolean\": 2}", ZS_ESCHEMA, "$.c_boolean", "expected a boolean");
    check_err(all, "{\"c_tinyint\": 300}", ZS_ESCHEMA, "$.c_tinyint",
              "300 is out of range for TINYINT (-128..127)");
    check_err(all, "{\"c_smallint\": -32769}", ZS_ESCHEMA, "$.c_smallint", "out of range");
    check_err(all, "{\"c_int\": 2147483648}", ZS_ESCHEMA, "$.c_int", "out of range for INT");
    check_err(all, "{\"c_bigint\": 9223372036854775808}", ZS_ESCHEMA, "$.c_bigint", "out of range");
    check_err(all, "{\"c_bigint\": 1e19}", ZS_ESCHEMA, "$.c_bigint", "out of range");
    check_err(all, "{\"c_int\": 1.5}", ZS_ESCHEMA, "$.c_int", "fractional part");
    check_err(all, "{\"c_int\": 15e-1}", ZS_ESCHEMA, "$.c_int", "fractional part");
    check_err(all, "{\"c_float\": 1e39}", ZS_ESCHEMA, "$.c_float", "out of range for FLOAT");
    check_err(all, "{\"c_double\": 1e400}", ZS_ESCHEMA, "$.c_double", "out of range for DOUBLE");
    check_err(all, "{\"c_double\": \"1,5\"}", ZS_ESCHEMA, "$.c_double", "not a number");
    check_err(all, "{\"c_date\": \"2023-02-29\"}", ZS_ESCHEMA, "$.c_date", "YYYY-MM-DD");
    check_err(all, "{\"c_date\": \"2023-13-01\"}", ZS_ESCHEMA, "$.c_date", "YYYY-MM-DD");
    check_err(all, "{\"c_date\": \"0000-01-01\"}", ZS_ESCHEMA, "$.c_date", "YYYY-MM-DD");
    check_err(all, "{\"c_date\": 1.5}", ZS_ESCHEMA, "$.c_date", "fractional");
    check_err(all, "{\"c_timestamp\": \"2024-05-01T12:30:00\"}", ZS_ESCHEMA, "$.c_timestamp",
              "missing UTC offset");
    check_err(all, "{\"c_timestamp\": \"2024-05-01T25:30:00Z\"}", ZS_ESCHEMA, "$.c_timestamp",
              "out of range");
    check_err(all, "{\"c_timestamp\": \"2024-05-01\"}", ZS_ESCHEMA, "$.c_timestamp", "'T'");
    check_err(all, "{\"c_timestamp\": \"2024-05-01T12:30:00.Z\"}", ZS_ESCHEMA, "$.c_timestamp",
              "1 to 9 digits");
    check_err(all, "{\"c_timestamp\": \"2024-05-01T12:30:00+2:00\"}", ZS_ESCHEMA, "$.c_timestamp",
              "+hh:mm");
    check_err(all, "{\"c_timestamp_ntz\": \"2024-05-01T12:30:00Z\"}", ZS_ESCHEMA,
              "$.c_timestamp_ntz", "without 'Z'");
    check_err(all, "{\"c_decimal\": \"1.234\"}", ZS_ESCHEMA, "$.c_decimal",
              "more than 2 digits after the point for DECIMAL(10,2)");
    check_err(all, "{\"c_decimal\": 123456789}", ZS_ESCHEMA, "$.c_decimal",
              "more than 8 digits before the point");
    check_err(all, "{\"c_decimal\": \"12a\"}", ZS_ESCHEMA, "$.c_decimal", "not one");
    check_err(all, "{\"c_decimal\": true}", ZS_ESCHEMA, "$.c_decimal", "decimal number");
    check_err(all, "{\"c_binary\": \"abc$\"}", ZS_ESCHEMA, "$.c_binary", "base64");
    check_err(all, "{\"c_binary\": \"a\"}", ZS_ESCHEMA, "$.c_binary", "base64");
    check_err(all, "{\"c_binary\": \"aGVsbG9=\"}", ZS_ESCHEMA, "$.c_binary", "padding bits");
    check_err(all, "{\"c_binary\": 5}", ZS_ESCHEMA, "$.c_binary", "base64 string");
    check_err(all, "{\"c_int_array\": [1, null]}", ZS_ESCHEMA, "$.c_int_array[1]", "null array");
    check_err(all, "{\"c_int_array\": 5}", ZS_ESCHEMA, "$.c_int_array", "expected an array");
    check_err(all, "{\"readings\": [{}, {\"temp\": \"hot\"}]}", ZS_ESCHEMA, "$.readings[1].temp",
              "not a number");
    check_err(all, "{\"c_struct\": []}", ZS_ESCHEMA, "$.c_struct", "expected an object");
    check_err(all, "{\"c_int_map\": {\"x\": \"a\"}}", ZS_ESCHEMA, "$.c_int_map.x",
              "not an integer");
    check_err(all, "{\"c_int_map\": {\"99999999999\": \"a\"}}", ZS_ESCHEMA,
              "$.c_int_map[\"99999999999\"]", "out of range");
    check_err(all, "{\"c_map\": {\"a\": 1, \"b\": 2, \"a\": 3}}", ZS_ESCHEMA, "$.c_map",
              "duplicate map key");
    check_err(all, "{\"c_map\": {\"a\": null}}", ZS_ESCHEMA, "$.c_map.a", "null map values");
    /* A key that fails to scan is not on the path (found by fuzz_transcode). */
    check_err(all, "{\"c_map\": {\"\\ud800\": 1}}", ZS_ESCHEMA, "$.c_map", "unpaired UTF-16");
    check_err(all, "{\"c_map\": {\"a\": 1, \"b\x01\": 2}}", ZS_EPARSE, "$.c_map",
              "control character");
    check_err(all, "{\"c_bool_map\": {\"yes\": 1}}", ZS_ESCHEMA, "$.c_bool_map.yes", "BOOLEAN");
    check_err(all, "{\"c_struct_map\": {\"k\": {\"v\": \"x\"}}}", ZS_ESCHEMA, "$.c_struct_map.k.v",
              "not a number");
}

static void test_limits(void **state)
{
    (void)state;
    /* Nesting: 70 arrays inside a VARIANT pass the default max_json_depth of 64. */
    char deep[400] = "{\"c_variant\":";
    for (int i = 0; i < 70; i++)
        strcat(deep, "[");
    for (int i = 0; i < 70; i++)
        strcat(deep, "]");
    strcat(deep, "}");
    check_err(all, deep, ZS_ELIMIT, "$.c_variant", "max_json_depth (64)");
    check_err(lenient, deep + 0, ZS_ELIMIT, "$", "max_json_depth");

    /* Record size: a schema with a 64-byte ceiling. */
    struct zs_column_def col = {.name = "s", .type = "STRING", .nullable = -1};
    struct zs_schema_opts so = {.message_name = "M", .max_record_bytes = 64};
    struct zs_schema *small = NULL;
    assert_rc(zs_schema_create(&so, &col, 1, &small, NULL, NULL), ZS_OK);
    char json[400];
    snprintf(json, sizeof json, "{\"s\":\"%080d\"}", 0); /* found when the record ends */
    check_err(small, json, ZS_ELIMIT, "$", "max_record_bytes (64)");
    snprintf(json, sizeof json, "{\"s\":\"%0200d\"}", 0); /* found at the field */
    check_err(small, json, ZS_ELIMIT, "$.s", "max_record_bytes (64)");
    snprintf(json, sizeof json, "{\"s\":\"%060d\"}", 0);
    struct zs_buf out;
    struct zs_err err;
    zs_buf_init(&out, 1024);
    assert_rc(zs_transcode(tc, small, (const uint8_t *)json, strlen(json), &out, &err), ZS_OK);
    assert_int_equal(out.len, 62);
    zs_buf_release(&out);
    /* The caller's buffer ceiling. */
    zs_buf_init(&out, 8);
    assert_rc(zs_transcode(tc, small, (const uint8_t *)json, strlen(json), &out, &err), ZS_ELIMIT);
    assert_int_equal(out.len, 0);
    zs_buf_release(&out);
    zs_schema_destroy(small);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integers),      cmocka_unit_test(test_floats),
        cmocka_unit_test(test_booleans),      cmocka_unit_test(test_strings),
        cmocka_unit_test(test_binary),        cmocka_unit_test(test_dates_and_timestamps),
        cmocka_unit_test(test_decimal),       cmocka_unit_test(test_variant),
        cmocka_unit_test(test_arrays),        cmocka_unit_test(test_structs),
        cmocka_unit_test(test_maps),          cmocka_unit_test(test_record_shape),
        cmocka_unit_test(test_transcode_at),  cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_schema_errors), cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
