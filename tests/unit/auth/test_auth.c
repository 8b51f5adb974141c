/* OAuth request body (protocol §3.1) and reply parsing (§3.2). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/zs_auth.h"
#include "zs_test.h"

/* Percent-decode one form field. */
static char *field(const char *form, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "%s=", key);
    const char *p = strstr(form, pat);
    if (p == NULL)
        return NULL;
    p += strlen(pat);
    char *out = calloc(1, strlen(p) + 1);
    size_t k = 0;
    for (; *p != '\0' && *p != '&'; p++) {
        if (*p == '%') {
            char hex[3] = {p[1], p[2], 0};
            out[k++] = (char)strtol(hex, NULL, 16);
            p += 2;
        } else {
            out[k++] = *p;
        }
    }
    return out;
}

static void test_form(void **state)
{
    (void)state;
    struct zs_buf b;
    zs_buf_init(&b, 1 << 16);
    assert_rc(zs_auth_token_form("main.sales.orders", "1234567890", &b), ZS_OK);
    const char *form = zs_buf_cstr(&b);
    char *gt = field(form, "grant_type"), *scope = field(form, "scope");
    char *res = field(form, "resource"), *det = field(form, "authorization_details");
    assert_string_equal(gt, "client_credentials");
    assert_string_equal(scope, "all-apis");
    assert_string_equal(res, "api://databricks/workspaces/1234567890/zerobusDirectWriteApi");
    json_error_t je;
    json_t *d = json_loads(det, 0, &je);
    assert_non_null(d);
    assert_int_equal(json_array_size(d), 3);
    static const char *const types[] = {"CATALOG", "SCHEMA", "TABLE"};
    static const char *const paths[] = {"main", "main.sales", "main.sales.orders"};
    for (size_t i = 0; i < 3; i++) {
        json_t *o = json_array_get(d, i);
        assert_string_equal(json_string_value(json_object_get(o, "type")),
                            "unity_catalog_privileges");
        assert_string_equal(json_string_value(json_object_get(o, "object_type")), types[i]);
        assert_string_equal(json_string_value(json_object_get(o, "object_full_path")), paths[i]);
    }
    json_t *t = json_array_get(d, 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(t, "privileges"), 0)),
                        "SELECT");
    assert_string_equal(json_string_value(json_array_get(json_object_get(t, "privileges"), 1)),
                        "MODIFY");
    assert_string_equal(json_string_value(json_array_get(json_object_get(t, "operations"), 0)),
                        "zerobuswrite");
    json_decref(d);
    free(gt);
    free(scope);
    free(res);
    free(det);
    b.len = 0;
    assert_rc(zs_auth_token_form("a.b", "1", &b), ZS_EINVAL);
    assert_rc(zs_auth_token_form("a.b.c.d", "1", &b), ZS_EINVAL);
    assert_rc(zs_auth_token_form("a..c", "1", &b), ZS_EINVAL);
    zs_buf_release(&b);
}

static void parse(int status, const char *body, zs_rc want, const char *token, int64_t exp,
                  const char *msg_part)
{
    char tok[64];
    int64_t e = -1;
    struct zs_err err;
    zs_err_clear(&err);
    zs_rc rc = zs_auth_parse_reply(status, body, strlen(body), tok, sizeof tok, &e, &err);
    if (rc != want)
        fail_msg("%d %s: got %s (%s)", status, body, zs_rc_str(rc), err.msg);
    if (rc == ZS_OK) {
        assert_string_equal(tok, token);
        assert_int_equal(e, exp);
    } else if (strstr(err.msg, msg_part) == NULL) {
        fail_msg("%s: message \"%s\" lacks \"%s\"", body, err.msg, msg_part);
    }
}

static void test_reply(void **state)
{
    (void)state;
    parse(200, "{\"access_token\":\"abc.def\",\"token_type\":\"Bearer\",\"expires_in\":3600}",
          ZS_OK, "abc.def", 3600, NULL);
    parse(200, "{\"access_token\":\"t\",\"expires_in\":\"120\"}", ZS_OK, "t", 120, NULL);
    parse(200, "{\"access_token\":\"t\"}", ZS_OK, "t", 0, NULL);
    parse(200, "{\"access_token\":\"t\",\"expires_in\":-5}", ZS_OK, "t", 0, NULL);
    parse(200, "{\"token_type\":\"Bearer\"}", ZS_EPARSE, NULL, 0, "no access_token");
    parse(200, "not json", ZS_EPARSE, NULL, 0, "not a JSON object");
    parse(200, "{\"access_token\":\"has space\"}", ZS_EPARSE, NULL, 0, "header-safe");
    char long_tok[200];
    snprintf(long_tok, sizeof long_tok, "{\"access_token\":\"%0100d\"}", 0);
    parse(200, long_tok, ZS_ELIMIT, NULL, 0, "longer than");
    parse(401, "{\"error\":\"invalid_client\",\"error_description\":\"bad secret\"}", ZS_EAUTH,
          NULL, 0, "HTTP 401: invalid_client: bad secret");
    parse(503, "<html>", ZS_EAUTH, NULL, 0, "HTTP 503");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_form), cmocka_unit_test(test_reply)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
