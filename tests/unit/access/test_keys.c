/* Ingest API keys (access/zs_keys.h): the keys document, the check, scopes, new keys, the
 * Authorization and X-API-Key headers. */
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "access/zs_keys.h"
#include "zs_test.h"

/* A keys document with one key for id, whose SHA-256 is that of key. */
static void doc_for(const char *id, const char *key, const char *rest, char *out, size_t cap)
{
    uint8_t md[32];
    char hex[65];
    SHA256((const uint8_t *)key, strlen(key), md);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    snprintf(out, cap, "{\"keys\": [{\"id\": \"%s\", \"sha256\": \"%s\", %s}]}", id, hex, rest);
}

static void test_check_and_scope(void **state)
{
    (void)state;
    char key[128], hex[65], doc[512];
    struct zs_err err;
    zs_err_clear(&err);
    assert_rc(zs_keys_generate("edge-01", key, sizeof key, hex, sizeof hex, &err), ZS_OK);
    assert_int_equal(strlen(key), strlen("edge-01.") + ZS_KEY_SECRET_LEN);
    for (const char *p = key + 8; *p; p++)
        assert_true(zs_key_id_valid(p, 1)); /* URL-safe: A-Z a-z 0-9 - _ */
    snprintf(doc, sizeof doc,
             "{\"keys\": [{\"id\": \"edge-01\", \"sha256\": \"%s\", \"tables\": [\"a\", \"b\"]}]}",
             hex);
    struct zs_keys *ks = zs_keys_new();
    assert_rc(zs_keys_parse(ks, "k.json", doc, strlen(doc), &err), ZS_OK);
    const struct zs_key *k = zs_keys_check(ks, (const uint8_t *)key, strlen(key));
    assert_non_null(k);
    assert_string_equal(k->id, "edge-01");
    assert_true(zs_key_allows(k, "a", 1, ZS_RIGHT_INGEST));
    assert_true(zs_key_allows(k, "b", 1, ZS_RIGHT_INGEST));
    assert_false(zs_key_allows(k, "c", 1, ZS_RIGHT_INGEST));
    assert_false(zs_key_allows(k, "ab", 2, ZS_RIGHT_INGEST));
    assert_false(zs_key_allows(k, "a", 1, ZS_RIGHT_FLUSH)); /* rights default to ingest */
    /* one character off anywhere, shorter, longer, another id: no key */
    char bad[128];
    for (size_t i = 0; i < strlen(key); i++) {
        snprintf(bad, sizeof bad, "%s", key);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        assert_null(zs_keys_check(ks, (const uint8_t *)bad, strlen(bad)));
    }
    assert_null(zs_keys_check(ks, (const uint8_t *)key, strlen(key) - 1));
    snprintf(bad, sizeof bad, "%sA", key);
    assert_null(zs_keys_check(ks, (const uint8_t *)bad, strlen(bad)));
    assert_null(zs_keys_check(ks, (const uint8_t *)"edge-01", 7));
    assert_null(zs_keys_check(NULL, (const uint8_t *)key, strlen(key)));
    /* two keys never repeat */
    char key2[128], hex2[65];
    assert_rc(zs_keys_generate("edge-01", key2, sizeof key2, hex2, sizeof hex2, &err), ZS_OK);
    assert_string_not_equal(key, key2);
    assert_rc(zs_keys_generate("bad id", key2, sizeof key2, hex2, sizeof hex2, &err), ZS_EINVAL);
    /* tables and unknown tables */
    const char *cfg[] = {"a", "c"};
    assert_string_equal(zs_keys_unknown_table(ks, cfg, 2), "b");
    const char *cfg2[] = {"b", "a"};
    assert_null(zs_keys_unknown_table(ks, cfg2, 2));
    zs_keys_unref(ks);
}

static void test_rights_and_star(void **state)
{
    (void)state;
    char doc[512];
    struct zs_err err;
    struct zs_keys *ks = zs_keys_new();
    doc_for("ops", "ops.secret", "\"tables\": \"*\", \"rights\": [\"flush\", \"admin\"]", doc,
            sizeof doc);
    assert_rc(zs_keys_parse(ks, "k", doc, strlen(doc), &err), ZS_OK);
    const struct zs_key *k = zs_keys_check(ks, (const uint8_t *)"ops.secret", 10);
    assert_non_null(k);
    assert_true(zs_key_allows(k, "anything", 8, ZS_RIGHT_FLUSH));
    assert_true(zs_key_allows(k, "x", 1, ZS_RIGHT_ADMIN));
    assert_false(zs_key_allows(k, "x", 1, ZS_RIGHT_INGEST)); /* only what it lists */
    /* the same id again, from a second document: refused */
    assert_rc(zs_keys_parse(ks, "k2", doc, strlen(doc), &err), ZS_EINVAL);
    assert_non_null(strstr(err.msg, "the same id twice"));
    assert_int_equal(zs_keys_count(ks), 1);
    zs_keys_ref(ks);
    zs_keys_unref(ks);
    assert_non_null(zs_keys_at(ks, 0));
    zs_keys_unref(ks);
}

static void test_bad_documents(void **state)
{
    (void)state;
    static const struct {
        const char *doc, *words;
    } bad[] = {
        {"nope", "invalid JSON"},
        {"[]", "expected {\"keys\""},
        {"{\"keys\": [], \"x\": 1}", "expected {\"keys\""},
        {"{\"keys\": [1]}", "keys[0]: expected an object"},
        {"{\"keys\": [{\"id\": \"a b\", \"sha256\": \"\", \"tables\": \"*\"}]}", "keys[0].id"},
        {"{\"keys\": [{\"id\": \"a\", \"sha256\": \"00\", \"tables\": \"*\"}]}", "keys[0].sha256"},
        {"{\"keys\": [{\"id\": \"a\", \"sha256\": \"zz00000000000000000000000000000000000000000000"
         "000000000000000000\", \"tables\": \"*\"}]}",
         "keys[0].sha256"},
        {"{\"keys\": [{\"id\": \"a\", \"sha256\": \"0000000000000000000000000000000000000000000000"
         "000000000000000000\"}]}",
         "keys[0].tables: missing"},
        {"{\"keys\": [{\"id\": \"a\", \"sha256\": \"0000000000000000000000000000000000000000000000"
         "000000000000000000\", \"tables\": []}]}",
         "keys[0].tables"},
        {"{\"keys\": [{\"id\": \"a\", \"sha256\": \"0000000000000000000000000000000000000000000000"
         "000000000000000000\", \"tables\": \"*\", \"rights\": [\"root\"]}]}",
         "keys[0].rights"},
        {"{\"keys\": [{\"id\": \"a\", \"sha256\": \"0000000000000000000000000000000000000000000000"
         "000000000000000000\", \"tables\": \"*\", \"rights\": []}]}",
         "keys[0].rights: expected a non-empty list"}, /* found by fuzz_keys */
        {"{\"keys\": [{\"id\": \"a\", \"secret\": \"x\"}]}", "unknown key \"secret\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct zs_err err;
        zs_err_clear(&err);
        struct zs_keys *ks = zs_keys_new();
        zs_rc rc = zs_keys_parse(ks, "f.json", bad[i].doc, strlen(bad[i].doc), &err);
        assert_true(rc == ZS_EINVAL || rc == ZS_EPARSE);
        if (strstr(err.msg, bad[i].words) == NULL)
            fail_msg("%s: got \"%s\", want \"%s\"", bad[i].doc, err.msg, bad[i].words);
        zs_keys_unref(ks);
    }
}

static int from(const char *auth, const char *api, const char *want)
{
    const uint8_t *k = NULL;
    size_t n = 0;
    int r = zs_keys_from_headers((const uint8_t *)auth, auth ? strlen(auth) : 0,
                                 (const uint8_t *)api, api ? strlen(api) : 0, &k, &n);
    if (r == 1 && (strlen(want) != n || memcmp(k, want, n) != 0))
        fail_msg("got \"%.*s\", want \"%s\"", (int)n, (const char *)k, want);
    return r;
}

static void test_headers(void **state)
{
    (void)state;
    assert_int_equal(from("Bearer a.b", NULL, "a.b"), 1);
    assert_int_equal(from("bearer   a.b  ", NULL, "a.b"), 1);
    assert_int_equal(from("BEARER\ta.b", NULL, "a.b"), 1);
    assert_int_equal(from(NULL, " a.b ", "a.b"), 1);
    assert_int_equal(from("Bearer a.b", "c.d", "a.b"), 1); /* Authorization wins */
    assert_int_equal(from("Bearer abc==", NULL, "abc=="), 1);
    assert_int_equal(from(NULL, NULL, ""), 0);
    assert_int_equal(from("Basic Zm9v", NULL, ""), -1);
    assert_int_equal(from("Bearer", NULL, ""), -1);
    assert_int_equal(from("Bearer ", NULL, ""), -1);
    assert_int_equal(from("Bearera.b", NULL, ""), -1);
    assert_int_equal(from("Bearer a b", NULL, ""), -1);
    assert_int_equal(from("Bearer a=b", NULL, ""), -1);
    assert_int_equal(from("Bearer =", NULL, ""), -1);
    assert_int_equal(from(NULL, "", ""), -1);
    assert_int_equal(from(NULL, "a\"b", ""), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_and_scope),
        cmocka_unit_test(test_rights_and_star),
        cmocka_unit_test(test_bad_documents),
        cmocka_unit_test(test_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
