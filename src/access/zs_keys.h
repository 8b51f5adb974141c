/*
 * Ingest API keys: who may write where (issue 13). A key is "<id>.<secret>": the id names
 * it (logs, scopes, revocation), the secret is 43 URL-safe characters from 32 random bytes.
 * The station stores only SHA-256 of the whole key: 256 bits of entropy need neither a
 * salt nor a slow hash (those protect guessable passwords); a leaked keys file does not
 * give the keys. Presented keys are compared with the stored hash in constant time.
 *
 * A keys document (the `auth` section of config.json, or the file station.keys_file):
 *   {"keys": [{"id": "edge-01", "sha256": "<64 hex>", "tables": ["station_one"] | "*",
 *              "rights": ["ingest", "flush", "admin"]}]}
 * rights default to ["ingest"]; tables is required.
 *
 * A struct zs_keys is immutable once built and reference-counted: the gateway's workers
 * hold references while a reload builds the next set. Thread: any (ref/unref atomic).
 */
#ifndef ZS_KEYS_H
#define ZS_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "core/zs_err.h"

#define ZS_KEY_ID_MAX 64
#define ZS_KEY_SECRET_LEN 43 /* base64url of 32 bytes, unpadded */

enum zs_right { ZS_RIGHT_INGEST = 1, ZS_RIGHT_FLUSH = 2, ZS_RIGHT_ADMIN = 4 };

struct zs_key {
    char id[ZS_KEY_ID_MAX + 1];
    uint8_t sha256[32];
    unsigned rights; /* enum zs_right bits */
    int all_tables;  /* "*" */
    char **tables;   /* table keys (route keys of config.json) */
    size_t ntables;
};

struct zs_keys;

/* An empty set (refcount 1), or NULL without memory. */
struct zs_keys *zs_keys_new(void);
void zs_keys_ref(struct zs_keys *ks);
void zs_keys_unref(struct zs_keys *ks); /* NULL does nothing; frees at zero */
size_t zs_keys_count(const struct zs_keys *ks);
const struct zs_key *zs_keys_at(const struct zs_keys *ks, size_t i);

/*
 * Add the keys of a keys document (text[0..len), name for messages) to ks, which must not
 * be shared yet. Returns ZS_OK; ZS_EPARSE (not JSON); ZS_EINVAL (unknown key, bad id, hash,
 * right or table list, an id already in ks): err names the JSON path; ZS_ENOMEM.
 */
ZS_MUST_CHECK zs_rc zs_keys_parse(struct zs_keys *ks, const char *name, const char *text,
                                  size_t len, struct zs_err *err);

/* The first table of a key's scope that is not in tables[0..n), or NULL. */
const char *zs_keys_unknown_table(const struct zs_keys *ks, const char *const *tables, size_t n);

/*
 * The key a client presented (key[0..len), as sent), or NULL when no key of ks matches:
 * its id is looked up, then the SHA-256 of the whole key compared in constant time.
 */
const struct zs_key *zs_keys_check(const struct zs_keys *ks, const uint8_t *key, size_t len);

/* The key whose id is id (a verified client certificate's CN stands for it), or NULL. */
const struct zs_key *zs_keys_find_id(const struct zs_keys *ks, const char *id);

/* k may do right on table (a route key). */
int zs_key_allows(const struct zs_key *k, const char *table, size_t table_len, unsigned right);

/* k has right, whatever its tables (the admin right is station-wide). */
int zs_key_has_right(const struct zs_key *k, unsigned right);

/*
 * A new key for id: key_out gets "<id>.<secret>" (NUL-terminated; cap >= id + 45),
 * hex_out the 64 hex digits of its SHA-256 (cap >= 65). From getrandom(2).
 * Returns ZS_OK, ZS_EINVAL (bad id), ZS_EIO (no randomness).
 */
ZS_MUST_CHECK zs_rc zs_keys_generate(const char *id, char *key_out, size_t cap, char *hex_out,
                                     size_t hex_cap, struct zs_err *err);

/* id is 1..64 of [A-Za-z0-9_-]. */
int zs_key_id_valid(const char *id, size_t len);

/*
 * The key a request carries: "Authorization: Bearer <key>" (scheme case-insensitive, then
 * blanks), else "X-API-Key: <key>"; blanks around the value are ignored. Given the raw
 * header values (NULL when absent). Returns 1 and the key's span, 0 when neither header is
 * there, -1 when one is there but malformed (another scheme, no token, a character a
 * token68 may not hold).
 */
int zs_keys_from_headers(const uint8_t *authorization, size_t alen, const uint8_t *api_key,
                         size_t klen, const uint8_t **key, size_t *key_len);

#endif
