/*
 * Ingest API keys: the keys document, the check of a presented key, new keys, the
 * Authorization / X-API-Key headers. See zs_keys.h.
 */
#include "access/zs_keys.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "core/zs_mem.h"

struct zs_keys {
    atomic_int refs;
    size_t n, cap;
    struct zs_key *keys;
};

struct zs_keys *zs_keys_new(void)
{
    struct zs_keys *ks = calloc(1, sizeof *ks);
    if (ks != NULL)
        atomic_init(&ks->refs, 1);
    return ks;
}

void zs_keys_ref(struct zs_keys *ks)
{
    atomic_fetch_add(&ks->refs, 1);
}

void zs_keys_unref(struct zs_keys *ks)
{
    if (ks == NULL || atomic_fetch_sub(&ks->refs, 1) != 1)
        return;
    for (size_t i = 0; i < ks->n; i++) {
        for (size_t t = 0; t < ks->keys[i].ntables; t++)
            free(ks->keys[i].tables[t]);
        free(ks->keys[i].tables);
    }
    free(ks->keys);
    free(ks);
}

size_t zs_keys_count(const struct zs_keys *ks)
{
    return ks->n;
}

const struct zs_key *zs_keys_at(const struct zs_keys *ks, size_t i)
{
    return i < ks->n ? &ks->keys[i] : NULL;
}

int zs_key_id_valid(const char *id, size_t len)
{
    if (len == 0 || len > ZS_KEY_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static zs_rc fail(struct zs_err *err, const char *name, size_t i, const char *field,
                  const char *msg)
{
    return zs_err_set(err, ZS_EINVAL, NULL, "%s: keys[%zu]%s%s: %s", name, i, field[0] ? "." : "",
                      field, msg);
}

static zs_rc parse_tables(struct zs_key *k, json_t *v, const char *name, size_t i,
                          struct zs_err *err)
{
    if (json_is_string(v) && strcmp(json_string_value(v), "*") == 0) {
        k->all_tables = 1;
        return ZS_OK;
    }
    if (!json_is_array(v) || json_array_size(v) == 0)
        return fail(err, name, i, "tables", "expected \"*\" or a non-empty list of table keys");
    k->tables = calloc(json_array_size(v), sizeof *k->tables);
    if (k->tables == NULL)
        return ZS_ENOMEM;
    size_t j;
    json_t *t;
    json_array_foreach (v, j, t) {
        if (!json_is_string(t) || json_string_length(t) == 0 || json_string_length(t) > 256)
            return fail(err, name, i, "tables", "each table is a non-empty string");
        if (strcmp(json_string_value(t), "*") == 0) {
            k->all_tables = 1;
            continue;
        }
        if ((k->tables[k->ntables] = strdup(json_string_value(t))) == NULL)
            return ZS_ENOMEM;
        k->ntables++;
    }
    return ZS_OK;
}

static zs_rc parse_rights(struct zs_key *k, json_t *v, const char *name, size_t i,
                          struct zs_err *err)
{
    if (v == NULL) {
        k->rights = ZS_RIGHT_INGEST;
        return ZS_OK;
    }
    if (!json_is_array(v) || json_array_size(v) == 0)
        return fail(err, name, i, "rights",
                    "expected a non-empty list of \"ingest\", \"flush\", \"admin\"");
    size_t j;
    json_t *r;
    json_array_foreach (v, j, r) {
        const char *s = json_is_string(r) ? json_string_value(r) : "";
        if (strcmp(s, "ingest") == 0)
            k->rights |= ZS_RIGHT_INGEST;
        else if (strcmp(s, "flush") == 0)
            k->rights |= ZS_RIGHT_FLUSH;
        else if (strcmp(s, "admin") == 0)
            k->rights |= ZS_RIGHT_ADMIN;
        else
            return fail(err, name, i, "rights", "a right is \"ingest\", \"flush\" or \"admin\"");
    }
    return ZS_OK;
}

static zs_rc parse_key(struct zs_keys *ks, json_t *o, const char *name, size_t i,
                       struct zs_err *err)
{
    static const char *const known[] = {"id", "sha256", "tables", "rights", "comment", NULL};
    if (!json_is_object(o))
        return fail(err, name, i, "", "expected an object");
    const char *kname;
    json_t *v;
    json_object_foreach (o, kname, v) {
        int ok = 0;
        for (const char *const *p = known; *p != NULL && !ok; p++)
            ok = strcmp(*p, kname) == 0;
        if (!ok) {
            char msg[120];
            snprintf(msg, sizeof msg, "unknown key \"%.64s\"", kname);
            return fail(err, name, i, "", msg);
        }
    }
    json_t *id = json_object_get(o, "id"), *hash = json_object_get(o, "sha256");
    if (!json_is_string(id) || !zs_key_id_valid(json_string_value(id), json_string_length(id)))
        return fail(err, name, i, "id", "1 to 64 of A-Z, a-z, 0-9, '_' and '-'");
    for (size_t j = 0; j < ks->n; j++)
        if (strcmp(ks->keys[j].id, json_string_value(id)) == 0)
            return fail(err, name, i, "id", "the same id twice");
    void *grown = zs_grow(ks->keys, &ks->cap, ks->n, sizeof *ks->keys, 8);
    if (grown == NULL)
        return ZS_ENOMEM;
    ks->keys = grown;
    struct zs_key *k = &ks->keys[ks->n];
    memset(k, 0, sizeof *k);
    ks->n++; /* owned by ks from now on, even half filled: unref frees it */
    memcpy(k->id, json_string_value(id), json_string_length(id) + 1);
    const char *h = json_is_string(hash) ? json_string_value(hash) : "";
    if (strlen(h) != 64)
        return fail(err, name, i, "sha256", "expected the 64 hex digits of the key's SHA-256");
    for (size_t j = 0; j < 32; j++) {
        int hi = hexval(h[2 * j]), lo = hexval(h[2 * j + 1]);
        if (hi < 0 || lo < 0)
            return fail(err, name, i, "sha256", "expected the 64 hex digits of the key's SHA-256");
        k->sha256[j] = (uint8_t)(hi << 4 | lo);
    }
    json_t *tables = json_object_get(o, "tables");
    if (tables == NULL)
        return fail(err, name, i, "tables", "missing: \"*\" or a list of table keys");
    zs_rc rc = parse_tables(k, tables, name, i, err);
    if (rc == ZS_OK)
        rc = parse_rights(k, json_object_get(o, "rights"), name, i, err);
    return rc;
}

zs_rc zs_keys_parse(struct zs_keys *ks, const char *name, const char *text, size_t len,
                    struct zs_err *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return zs_err_set(err, ZS_EPARSE, NULL, "%s:%d:%d: invalid JSON: %s", name, jerr.line,
                          jerr.column, jerr.text);
    zs_rc rc = ZS_OK;
    json_t *list = json_is_object(root) ? json_object_get(root, "keys") : NULL;
    if (!json_is_array(list) || json_object_size(root) != 1) {
        rc = zs_err_set(err, ZS_EINVAL, NULL, "%s: expected {\"keys\": [...]}", name);
    } else {
        size_t i;
        json_t *o;
        json_array_foreach (list, i, o) {
            if ((rc = parse_key(ks, o, name, i, err)) != ZS_OK)
                break;
        }
    }
    if (rc == ZS_ENOMEM)
        zs_err_set(err, rc, NULL, "%s: out of memory", name);
    json_decref(root);
    return rc;
}

const char *zs_keys_unknown_table(const struct zs_keys *ks, const char *const *tables, size_t n)
{
    for (size_t i = 0; i < ks->n; i++) {
        for (size_t t = 0; t < ks->keys[i].ntables; t++) {
            size_t j = 0;
            while (j < n && strcmp(tables[j], ks->keys[i].tables[t]) != 0)
                j++;
            if (j == n)
                return ks->keys[i].tables[t];
        }
    }
    return NULL;
}

const struct zs_key *zs_keys_check(const struct zs_keys *ks, const uint8_t *key, size_t len)
{
    const uint8_t *dot = memchr(key, '.', len < ZS_KEY_ID_MAX + 1 ? len : ZS_KEY_ID_MAX + 1);
    if (ks == NULL || dot == NULL)
        return NULL;
    size_t idlen = (size_t)(dot - key);
    for (size_t i = 0; i < ks->n; i++) {
        const struct zs_key *k = &ks->keys[i];
        if (strlen(k->id) != idlen || memcmp(k->id, key, idlen) != 0)
            continue;
        uint8_t md[32];
        SHA256(key, len, md);
        return CRYPTO_memcmp(md, k->sha256, sizeof md) == 0 ? k : NULL;
    }
    return NULL;
}

const struct zs_key *zs_keys_find_id(const struct zs_keys *ks, const char *id)
{
    for (size_t i = 0; ks != NULL && i < ks->n; i++)
        if (strcmp(ks->keys[i].id, id) == 0)
            return &ks->keys[i];
    return NULL;
}

int zs_key_has_right(const struct zs_key *k, unsigned right)
{
    return (k->rights & right) == right;
}

int zs_key_allows(const struct zs_key *k, const char *table, size_t table_len, unsigned right)
{
    if ((k->rights & right) != right)
        return 0;
    if (k->all_tables)
        return 1;
    for (size_t t = 0; t < k->ntables; t++)
        if (strlen(k->tables[t]) == table_len && memcmp(k->tables[t], table, table_len) == 0)
            return 1;
    return 0;
}

zs_rc zs_keys_generate(const char *id, char *key_out, size_t cap, char *hex_out, size_t hex_cap,
                       struct zs_err *err)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t idlen = strlen(id);
    if (!zs_key_id_valid(id, idlen))
        return zs_err_set(err, ZS_EINVAL, "--id", "1 to 64 of A-Z, a-z, 0-9, '_' and '-'");
    if (cap < idlen + 2 + ZS_KEY_SECRET_LEN || hex_cap < 65)
        return zs_err_set(err, ZS_EINVAL, NULL, "buffer too small");
    uint8_t raw[33] = {0};
    if (getrandom(raw, 32, 0) != 32)
        return zs_err_set(err, ZS_EIO, NULL, "getrandom failed");
    char *p = key_out;
    memcpy(p, id, idlen);
    p += idlen;
    *p++ = '.';
    for (size_t i = 0; i < 32; i += 3) { /* 10 groups of 3 bytes, then 2: 43 characters */
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
        *p++ = b64[v >> 18 & 63];
        *p++ = b64[v >> 12 & 63];
        *p++ = b64[v >> 6 & 63];
        if (i + 2 < 32)
            *p++ = b64[v & 63];
    }
    *p = '\0';
    zs_wipe(raw, sizeof raw);
    uint8_t md[32];
    SHA256((const uint8_t *)key_out, (size_t)(p - key_out), md);
    for (size_t i = 0; i < 32; i++)
        snprintf(hex_out + 2 * i, 3, "%02x", md[i]);
    return ZS_OK;
}

/* RFC 7235 token68: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/", then "=" padding. */
static int token68(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
                     (p[i] >= '0' && p[i] <= '9') || p[i] == '-' || p[i] == '.' || p[i] == '_' ||
                     p[i] == '~' || p[i] == '+' || p[i] == '/'))
        i++;
    if (i == 0)
        return 0;
    while (i < n && p[i] == '=')
        i++;
    return i == n;
}

static void trim(const uint8_t **p, size_t *n)
{
    while (*n > 0 && (**p == ' ' || **p == '\t'))
        (*p)++, (*n)--;
    while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
        (*n)--;
}

int zs_keys_from_headers(const uint8_t *authorization, size_t alen, const uint8_t *api_key,
                         size_t klen, const uint8_t **key, size_t *key_len)
{
    const uint8_t *p;
    size_t n;
    if (authorization != NULL) {
        p = authorization;
        n = alen;
        trim(&p, &n);
        if (n < 7 || strncasecmp((const char *)p, "bearer", 6) != 0 ||
            (p[6] != ' ' && p[6] != '\t'))
            return -1;
        p += 7;
        n -= 7;
        trim(&p, &n);
    } else if (api_key != NULL) {
        p = api_key;
        n = klen;
        trim(&p, &n);
    } else {
        return 0;
    }
    if (!token68(p, n))
        return -1;
    *key = p;
    *key_len = n;
    return 1;
}
