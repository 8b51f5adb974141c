/* Shared helpers for the cmocka unit tests. */
#include "zs_test.h"

#include <stdio.h>
#include <string.h>

const char *zs_test_path(const char *rel)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", ZS_SOURCE_DIR, rel);
    return buf;
}

struct zs_config *zs_test_load(const char *rel)
{
    struct zs_config *c = NULL;
    struct zs_err err;
    char msg[600];
    char path[4096], env[4096];
    zs_err_clear(&err);
    snprintf(path, sizeof path, "%s", zs_test_path(rel));
    snprintf(env, sizeof env, "%s", zs_test_path("tests/data/empty.env"));
    zs_rc rc = zs_config_load(path, env, &c, &err);
    if (rc != ZS_OK)
        fail_msg("loading %s: %s", rel, zs_err_format(&err, msg, sizeof msg));
    return c;
}

const struct zs_schema *zs_test_schema(const struct zs_config *c, const char *key)
{
    const struct zs_table_cfg *t = zs_config_table(c, key, strlen(key));
    if (t == NULL)
        fail_msg("no table %s", key);
    return t->schema;
}

const char *zs_test_hex(const uint8_t *p, size_t n)
{
    static char buf[8192];
    size_t k = 0;
    for (size_t i = 0; i < n && k + 3 < sizeof buf; i++)
        k += (size_t)snprintf(buf + k, sizeof buf - k, "%02x", p[i]);
    buf[k] = '\0';
    return buf;
}
