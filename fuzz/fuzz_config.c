/*
 * Fuzz the configuration loader: config.json text, optionally followed by
 * "\n--- .env\n" and .env text. Every failure must carry a message; nothing may crash.
 */
#include "zs_fuzz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/zs_config.h"

static const char *no_env(const char *name)
{
    (void)name;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char sep[] = "\n--- .env\n";
    const char *text = (const char *)data;
    size_t cfg_len = size, env_off = size;
    for (size_t i = 0; i + sizeof sep - 1 <= size; i++) {
        if (memcmp(text + i, sep, sizeof sep - 1) == 0) {
            cfg_len = i;
            env_off = i + sizeof sep - 1;
            break;
        }
    }
    struct zs_err err;
    struct zs_dotenv *d = NULL;
    if (env_off < size || cfg_len < size) {
        zs_rc rc = zs_dotenv_parse(".env", text + env_off, size - env_off, no_env, &d, &err);
        if (rc != ZS_OK && err.msg[0] == '\0')
            abort();
    }
    struct zs_config *c = NULL;
    zs_err_clear(&err);
    zs_rc rc = zs_config_parse("fuzz.json", text, cfg_len, d, no_env, &c, &err);
    if (rc != ZS_OK && (err.code != rc || err.msg[0] == '\0'))
        abort();
    if (rc == ZS_OK) {
        struct zs_buf b;
        zs_buf_init(&b, 64 << 20);
        for (size_t i = 0; i < c->ntables; i++) {
            b.len = 0;
            if (zs_schema_descriptor(c->tables[i].schema, &b) != ZS_OK ||
                zs_schema_proto_text(c->tables[i].schema, &b) != ZS_OK)
                abort();
        }
        zs_buf_release(&b);
    }
    zs_config_destroy(c);
    zs_dotenv_destroy(d);
    return 0;
}
