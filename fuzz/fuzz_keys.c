/*
 * Fuzz the keys document parser (a keys file or the auth section), then look up keys made
 * from the input in what it built. Checks: a parse either succeeds or names why; every key
 * it kept has a valid id and a non-empty scope; a lookup finds only a key whose id it has.
 */
#include "zs_fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "access/zs_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct zs_err err;
    zs_err_clear(&err);
    struct zs_keys *ks = zs_keys_new();
    if (ks == NULL)
        return 0;
    zs_rc rc = zs_keys_parse(ks, "fuzz", (const char *)data, size, &err);
    if (rc != ZS_OK && err.msg[0] == '\0')
        abort();
    for (size_t i = 0; rc == ZS_OK && i < zs_keys_count(ks); i++) {
        const struct zs_key *k = zs_keys_at(ks, i);
        if (!zs_key_id_valid(k->id, strlen(k->id)) || (!k->all_tables && k->ntables == 0) ||
            k->rights == 0)
            abort();
    }
    /* the input itself as a presented key, and "<id>.<input>" for the first id */
    const struct zs_key *k = zs_keys_check(ks, data, size);
    if (k != NULL && (size <= strlen(k->id) || memcmp(data, k->id, strlen(k->id)) != 0))
        abort();
    zs_keys_unref(ks);
    return 0;
}
