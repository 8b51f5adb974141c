/* Configuration: the seed format, .env, precedence, and every error class with its location. */
#include <stdio.h>
#include <string.h>

#include "core/zs_mem.h"
#include "zs_test.h"

static const char *fake_env_id;
static const char *fake_getenv(const char *name)
{
    if (strcmp(name, "DATABRICKS_CLIENT_ID") == 0)
        return fake_env_id;
    if (strcmp(name, "HOME_REGION") == 0)
        return "eu";
    return NULL;
}

static const char *no_env(const char *name)
{
    (void)name;
    return NULL;
}

static void test_seed_example(void **state)
{
    (void)state;
    struct zs_config *c = zs_test_load("examples/config.json");
    assert_int_equal(c->ntables, 2);
    assert_string_equal(c->workspace_id, "workspace-id");
    const struct zs_table_cfg *t = zs_config_table(c, "station_one", 11);
    assert_non_null(t);
    assert_string_equal(t->table_name, "main.zerobus.station_one");
    assert_string_equal(t->schema->message_name, "StationOne");
    assert_string_equal(t->schema->package, "station_one");
    assert_int_equal(t->schema->root.nfields, 3);
    assert_int_equal(t->record_type, ZS_RECORD_PROTO);
    assert_int_equal(t->unknown_fields, 0);
    t = zs_config_table(c, "station_two", 11);
    assert_non_null(t);
    assert_int_equal(t->schema->root.nfields, 4);
    assert_null(zs_config_table(c, "station_three", 13));
    assert_null(c->client_secret);
    zs_config_destroy(c);
}

static struct zs_config *parse(const char *text, const struct zs_dotenv *d, struct zs_err *err)
{
    struct zs_config *c = NULL;
    zs_err_clear(err);
    zs_rc rc = zs_config_parse("t.json", text, strlen(text), d, no_env, &c, err);
    return rc == ZS_OK ? c : NULL;
}

#define DB                                                                                         \
    "\"databricks\": {\"server_endpoint\": \"ws1.zerobus.r.cloud.databricks.com\", "               \
    "\"workspace_url\": \"https://x.cloud.databricks.com\"}"

static void expect_error(const char *text, zs_rc code, const char *where, const char *msg)
{
    struct zs_err err;
    struct zs_config *c = parse(text, NULL, &err);
    if (c != NULL)
        fail_msg("accepted: %s", text);
    if (err.code != code || strcmp(err.where, where) != 0 || strstr(err.msg, msg) == NULL)
        fail_msg("%s\n  got %s \"%s: %s\"\n  want %s \"%s: ...%s...\"", text, zs_rc_str(err.code),
                 err.where, err.msg, zs_rc_str(code), where, msg);
}

static void test_errors_name_file_line_path(void **state)
{
    (void)state;
    expect_error("{", ZS_EPARSE, "", "t.json:1:1: invalid JSON");
    expect_error("{\"a\": 1, \"a\": 2}", ZS_EPARSE, "", "duplicate object key");
    expect_error("[]", ZS_EINVAL, "t.json:1", "must be a JSON object");
    expect_error("{\n\"tables\": {}\n}", ZS_EINVAL, "t.json:1: databricks", "missing required key");
    expect_error("{" DB ",\n \"extra\": 1}", ZS_EINVAL, "t.json:2: extra", "unknown key \"extra\"");
    expect_error("{\"databricks\": {\"server_endpoint\": \"h\",\n \"workspace_url\": 5}}",
                 ZS_EINVAL, "t.json:2: databricks.workspace_url",
                 "expected a string, got a number");
    expect_error("{\"databricks\": {\"server_endpoint\": \"h\", \"workspace_url\": \"ftp://x\"}}",
                 ZS_EINVAL, "t.json:1: databricks.workspace_url", "must start with https://");
    expect_error("{\"databricks\": {\"server_endpoint\": \"h\", \"workspace_url\": \"https://x\", "
                 "\"token\": \"t\"}}",
                 ZS_EINVAL, "t.json:1: databricks.token", "unknown key");
    expect_error("{" DB "}", ZS_EINVAL, "t.json:1: tables", "missing required key");
    expect_error("{" DB ", \"tables\": {}}", ZS_EINVAL, "t.json:1: tables", "no tables");
    expect_error("{" DB ", \"tables\": {\"a/b\": {}}}", ZS_EINVAL, "t.json:1: tables.a/b",
                 "must be letters, digits");
    expect_error("{" DB ", \"tables\": {\"t\": {\"table_name\": \"a.b\", \"fields\": []}}}",
                 ZS_EINVAL, "t.json:1: tables.t.table_name", "is not catalog.schema.table");
    expect_error("{" DB ", \"tables\": {\"t\": 5}}", ZS_EINVAL, "t.json:1: tables.t",
                 "expected an object or a table name");
    expect_error("{" DB ", \"tables\": {\"t\": \"a.b\"}}", ZS_EINVAL, "t.json:1: tables.t",
                 "is not catalog.schema.table");
    expect_error("{" DB ", \"tables\": [\"a.b.c\", \"x.y.c\"]}", ZS_EINVAL, "t.json:1: tables[1]",
                 "a second table named \"c\"");
    expect_error("{" DB ", \"tables\": [\"a.b.c\", 7]}", ZS_EINVAL, "t.json:1: tables[1]",
                 "expected a table name");
    expect_error("{" DB ", \"tables\": {\"t\": {\"table_name\": \"a.b.c\", \"fields\": {}}}}",
                 ZS_EINVAL, "t.json:1: tables.t.fields", "expected an array");
    expect_error("{" DB ", \"tables\": {\"t\": {\"table_name\": \"a.b.c\", \"fields\": []}}}",
                 ZS_ESCHEMA, "t.json:1: tables.t.fields", "1..2000 columns");
    /* The style guide's own example, with exact lines. */
    expect_error("{\n" DB ",\n\"tables\": {\n \"orders\": {\n  \"table_name\": \"m.s.orders\",\n"
                 "  \"fields\": [\n   {\"name\": \"id\", \"type\": \"BIGINT\"},\n"
                 "   {\"name\": \"note\",\n    \"proto_typ\": \"optional string\"}\n  ]\n }\n}\n}",
                 ZS_EINVAL, "t.json:9: tables.orders.fields[1].proto_typ",
                 "unknown key \"proto_typ\"");
    expect_error("{" DB ", \"tables\": {\"t\": {\"table_name\": \"a.b.c\", \"fields\": [\n"
                 "{\"name\": \"a\", \"type\": \"int32\", \"field_num\": 1},\n"
                 "{\"name\": \"b\", \"type\": \"int32\", \"field_num\": 1}]}}}",
                 ZS_ESCHEMA, "t.json:3: tables.t.fields[1].field_num",
                 "field number 1 of \"b\" is already used by \"a\"");
    expect_error("{" DB ", \"tables\": {\"t\": {\"table_name\": \"a.b.c\", \"fields\": [\n"
                 "{\"name\": \"a\", \"type\": \"FOO\"}]}}}",
                 ZS_ESCHEMA, "t.json:2: tables.t.fields[0].type", "unsupported type FOO");
    expect_error("{" DB ", \"tables\": {\"t\": {\"table_name\": \"a.b.c\", \"fields\": [\n"
                 "{\"name\": \"a\", \"type\": \"INT\", \"nullable\": \"no\"}]}}}",
                 ZS_EINVAL, "t.json:2: tables.t.fields[0].nullable", "expected true or false");
    expect_error("{" DB ", \"tables\": {\"t\": {\"table_name\": \"a.b.c\", \"fields\": [\n"
                 "{\"type\": \"INT\"}]}}}",
                 ZS_EINVAL, "t.json:2: tables.t.fields[0].name", "missing required key");
    expect_error("{" DB ", \"tables\": {\"t\": {\"table_name\": \"a.b.c\", \"fields\": [\n"
                 "{\"name\": \"a b\", \"type\": \"INT\"}]}}}",
                 ZS_ESCHEMA, "t.json:2: tables.t.fields[0].name",
                 "letters, digits and underscores");
    expect_error("{" DB
                 ", \"tables\": {\"t\": {\"table_name\": \"a.b.c\", \"message_name\": \"9x\","
                 " \"fields\": [{\"name\": \"a\", \"type\": \"INT\"}]}}}",
                 ZS_EINVAL, "t.json:1: tables.t.message_name", "not a protobuf message name");
    expect_error("{" DB ", \"station\": {\"max_json_depth\": 0}, \"tables\": {}}", ZS_EINVAL,
                 "t.json:1: station.max_json_depth", "0 is outside 1..256");
    expect_error("{" DB ", \"station\": {\"max_record_bytes\": \"2 bananas\"}, \"tables\": {}}",
                 ZS_EINVAL, "t.json:1: station.max_record_bytes", "expected a size");
    expect_error("{" DB ", \"station\": {\"colour\": 1}, \"tables\": {}}", ZS_EINVAL,
                 "t.json:1: station.colour", "unknown key");
    expect_error("{" DB ", \"tables\": {\"t\": {\"table_name\": \"a.b.c\", \"unknown_fields\": "
                 "\"maybe\", \"fields\": [{\"name\": \"a\", \"type\": \"INT\"}]}}}",
                 ZS_EINVAL, "t.json:1: tables.t.unknown_fields",
                 "expected one of \"reject\", \"ignore\"");
}

static void test_extensions(void **state)
{
    (void)state;
    struct zs_err err;
    struct zs_config *c = parse(
        "{\"databricks\": {\"server_endpoint\": \"http://127.0.0.1:5000\", \"workspace_url\": "
        "\"http://127.0.0.1:5001\"}, \"station\": {\"unknown_fields\": \"ignore\", "
        "\"max_record_bytes\": \"64KiB\", \"max_json_depth\": 8}, \"tables\": {\"t\": "
        "{\"table_name\": \"a.b.c\", \"record_type\": \"json\", \"fields\": [{\"name\": \"a\", "
        "\"type\": \"INT\", \"comment\": \"free text\"}]}, \"u\": {\"table_name\": \"a.b.d\", "
        "\"unknown_fields\": \"reject\", \"fields\": [{\"name\": \"a\", \"type\": \"INT\"}]}}}",
        NULL, &err);
    if (c == NULL)
        fail_msg("%s: %s", err.where, err.msg);
    assert_string_equal(c->workspace_id, "127");
    assert_int_equal(c->station.max_record_bytes, 65536);
    const struct zs_table_cfg *t = zs_config_table(c, "t", 1);
    assert_int_equal(t->record_type, ZS_RECORD_JSON);
    assert_int_equal(t->unknown_fields, 1); /* inherited */
    assert_true(!t->schema->reject_unknown);
    assert_int_equal(t->schema->max_depth, 8);
    assert_string_equal(t->message_name, "T");
    assert_int_equal(zs_config_table(c, "u", 1)->unknown_fields, 0);
    zs_config_destroy(c);
}

static const char env_text[] = "# comment\n"
                               "export DATABRICKS_CLIENT_ID=id-from-dotenv\n"
                               "DATABRICKS_CLIENT_SECRET = 's3cr3t value #not comment'\n"
                               "QUOTED=\"line1\\nline2 \\\"q\\\"\"\n"
                               "UNQUOTED=abc   # trailing comment\n"
                               "EXPANDED=${HOME_REGION}-${UNQUOTED}-${MISSING:-dflt}\n"
                               "MULTI=\"a\nb\"\n"
                               "not a key value line\n"
                               "EMPTY=\n";

static void test_dotenv(void **state)
{
    (void)state;
    struct zs_dotenv *d = NULL;
    struct zs_err err;
    assert_rc(zs_dotenv_parse(".env", env_text, strlen(env_text), fake_getenv, &d, &err), ZS_OK);
    assert_string_equal(zs_dotenv_get(d, "DATABRICKS_CLIENT_ID"), "id-from-dotenv");
    assert_string_equal(zs_dotenv_get(d, "DATABRICKS_CLIENT_SECRET"), "s3cr3t value #not comment");
    assert_string_equal(zs_dotenv_get(d, "QUOTED"), "line1\nline2 \"q\"");
    assert_string_equal(zs_dotenv_get(d, "UNQUOTED"), "abc");
    assert_string_equal(zs_dotenv_get(d, "EXPANDED"), "eu-abc-dflt");
    assert_string_equal(zs_dotenv_get(d, "MULTI"), "a\nb");
    assert_string_equal(zs_dotenv_get(d, "EMPTY"), "");
    assert_null(zs_dotenv_get(d, "not"));
    assert_int_equal(d->bad_lines, 1);
    assert_int_equal(d->first_bad_line, 9);
    zs_dotenv_destroy(d);
    const char bad[] = "A=1\nB=\"unterminated\n";
    assert_rc(zs_dotenv_parse(".env", bad, strlen(bad), fake_getenv, &d, &err), ZS_EPARSE);
    assert_non_null(strstr(err.msg, ".env:2: unterminated double quote"));
}

static void test_precedence_and_secrets(void **state)
{
    (void)state;
    struct zs_dotenv *d = NULL;
    struct zs_err err;
    assert_rc(zs_dotenv_parse(".env", env_text, strlen(env_text), fake_getenv, &d, &err), ZS_OK);
    struct zs_buf text;
    assert_rc(zs_read_file(zs_test_path("examples/config.json"), 1 << 20, &text, &err), ZS_OK);
    struct zs_config *c = NULL;
    fake_env_id = "id-from-environment";
    assert_rc(
        zs_config_parse("c.json", (const char *)text.data, text.len, d, fake_getenv, &c, &err),
        ZS_OK);
    assert_string_equal(c->client_id, "id-from-environment"); /* the environment wins */
    assert_string_equal(c->client_secret, "s3cr3t value #not comment");
    assert_int_equal(c->env_warnings, 1);
    zs_config_destroy(c);
    fake_env_id = NULL;
    assert_rc(
        zs_config_parse("c.json", (const char *)text.data, text.len, d, fake_getenv, &c, &err),
        ZS_OK);
    assert_string_equal(c->client_id, "id-from-dotenv");
    zs_config_destroy(c);
    /* An error with a secret loaded never shows it. */
    const char *broken = "{\"databricks\": 1}";
    assert_rc(zs_config_parse("c.json", broken, strlen(broken), d, fake_getenv, &c, &err),
              ZS_EINVAL);
    assert_null(strstr(err.msg, "s3cr3t"));
    assert_null(strstr(err.where, "s3cr3t"));
    zs_buf_release(&text);
    zs_dotenv_destroy(d);
}

static void test_load_files(void **state)
{
    (void)state;
    struct zs_config *c = NULL;
    struct zs_err err;
    assert_rc(zs_config_load("/nonexistent/config.json", NULL, &c, &err), ZS_ENOTFOUND);
    assert_non_null(strstr(err.msg, "/nonexistent/config.json"));
    assert_rc(zs_config_load(zs_test_path("examples/config.json"), "/nonexistent/.env", &c, &err),
              ZS_ENOTFOUND);
    c = zs_test_load("tests/data/alltypes.config.json");
    assert_non_null(c->env_path);
    zs_config_destroy(c);
}

static void test_reference_lists_every_option(void **state)
{
    (void)state;
    struct zs_buf b;
    zs_buf_init(&b, 1 << 20);
    assert_rc(zs_config_reference(&b), ZS_OK);
    const char *s = zs_buf_cstr(&b);
    assert_non_null(strstr(s, "| `max_record_bytes` | size | `1MiB` | 64..10420224 |"));
    assert_non_null(strstr(s, "| `unknown_fields` | enum | `reject` | `reject`, `ignore` |"));
    assert_non_null(strstr(s, "| `record_type` | enum | `proto` | `proto`, `json` |"));
    zs_buf_release(&b);
}

#ifdef ZS_TESTING
/* Every allocation of a config load fails in turn: ZS_ENOMEM each time, never a leak. */
static void test_allocation_failures(void **state)
{
    (void)state;
    struct zs_buf text;
    struct zs_err err;
    assert_rc(zs_read_file(zs_test_path("tests/data/alltypes.config.json"), 1 << 20, &text, &err),
              ZS_OK);
    int succeeded = 0;
    for (long n = 0; n < 100000 && !succeeded; n++) {
        struct zs_config *c = NULL;
        struct zs_dotenv *d = NULL;
        zs_mem_fail_after(n);
        zs_rc rc = zs_dotenv_parse(".env", env_text, strlen(env_text), fake_getenv, &d, &err);
        if (rc == ZS_OK)
            rc = zs_config_parse("c.json", (const char *)text.data, text.len, d, no_env, &c, &err);
        zs_mem_fail_after(-1);
        if (rc == ZS_OK)
            succeeded = 1;
        else if (rc != ZS_ENOMEM)
            fail_msg("allocation %ld failed: got %s (%s)", n, zs_rc_str(rc), err.msg);
        zs_config_destroy(c);
        zs_dotenv_destroy(d);
    }
    assert_true(succeeded);
    zs_buf_release(&text);
}
#endif

/* Tables given by name only: the columns come from the catalog (schema NULL until then). */
static void test_table_names_only(void **state)
{
    (void)state;
    struct zs_err err;
    static const char *const texts[] = {
        "{" DB ", \"tables\": {\"orders\": \"main.sales.orders\", \"t2\": {\"table_name\": "
        "\"main.sales.t2\", \"unknown_fields\": \"ignore\"}}}",
        "{" DB ", \"tables\": [\"main.sales.orders\", \"main.sales.t2\"]}",
    };
    for (size_t i = 0; i < 2; i++) {
        struct zs_config *c = parse(texts[i], NULL, &err);
        assert_non_null(c);
        assert_int_equal(c->ntables, 2);
        const struct zs_table_cfg *t = zs_config_table(c, "orders", 6);
        assert_non_null(t);
        assert_string_equal(t->table_name, "main.sales.orders");
        assert_true(t->from_catalog);
        assert_null(t->schema);
        assert_string_equal(t->message_name, "Orders");
        t = zs_config_table(c, "t2", 2);
        assert_non_null(t);
        assert_true(t->from_catalog);
        assert_int_equal(t->unknown_fields, i == 0 ? 1 : 0);
        zs_config_destroy(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_example),
        cmocka_unit_test(test_table_names_only),
        cmocka_unit_test(test_errors_name_file_line_path),
        cmocka_unit_test(test_extensions),
        cmocka_unit_test(test_dotenv),
        cmocka_unit_test(test_precedence_and_secrets),
        cmocka_unit_test(test_load_files),
        cmocka_unit_test(test_reference_lists_every_option),
#ifdef ZS_TESTING
        cmocka_unit_test(test_allocation_failures),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
