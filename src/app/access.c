/* The station's ingest keys and the keys command. See access.h. */
#include "app/access.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/cli.h"
#include "core/zs_buf.h"
#include "core/zs_log.h"
#include "core/zs_mem.h"

#define KEYS_FILE_MAX (16u << 20)

static zs_rc add_file(struct zs_keys *ks, const char *path, struct zs_err *err)
{
    struct zs_buf b;
    zs_rc rc = zs_read_file(path, KEYS_FILE_MAX, &b, err);
    if (rc != ZS_OK)
        return rc;
    rc = zs_keys_parse(ks, path, (const char *)b.data, b.len, err);
    zs_buf_release(&b);
    return rc;
}

zs_rc zs_access_load(const struct zs_config *c, struct zs_keys **out, struct zs_err *err)
{
    const struct zs_station_opts *so = &c->station;
    *out = NULL;
    int any = c->auth_json != NULL || so->keys_file != NULL;
    if (so->auth == ZS_AUTH_NONE || (so->auth == ZS_AUTH_AUTO && !any))
        return ZS_OK;
    struct zs_keys *ks = zs_keys_new();
    if (ks == NULL)
        return zs_err_set(err, ZS_ENOMEM, NULL, "out of memory");
    zs_rc rc = ZS_OK;
    if (c->auth_json != NULL) {
        char name[4200];
        snprintf(name, sizeof name, "%s: auth", c->path);
        rc = zs_keys_parse(ks, name, c->auth_json, strlen(c->auth_json), err);
    }
    if (rc == ZS_OK && so->keys_file != NULL) {
        char path[4096];
        zs_config_path(c, so->keys_file, path, sizeof path);
        rc = add_file(ks, path, err);
    }
    if (rc == ZS_OK) {
        const char **names = calloc(c->ntables ? c->ntables : 1, sizeof *names);
        if (names == NULL) {
            rc = zs_err_set(err, ZS_ENOMEM, NULL, "out of memory");
        } else {
            for (size_t i = 0; i < c->ntables; i++)
                names[i] = c->tables[i].key;
            const char *bad = zs_keys_unknown_table(ks, names, c->ntables);
            if (bad != NULL)
                rc = zs_err_set(err, ZS_EINVAL, NULL,
                                "a key names the table \"%.100s\", which is "
                                "not configured",
                                bad);
            free(names);
        }
    }
    if (rc != ZS_OK) {
        zs_keys_unref(ks);
        return rc;
    }
    *out = ks;
    return ZS_OK;
}

/* ---------------------------------------------------------------- the keys command */

static const char usage_keys[] =
    "usage: zerobus-station keys [--keys-file F | --config FILE] new --id ID --tables A,B\n"
    "                            [--flush] [--admin]\n"
    "       zerobus-station keys [--keys-file F | --config FILE] list\n"
    "       zerobus-station keys [--keys-file F | --config FILE] revoke ID\n"
    "\n"
    "new: make a key for ID with rights on the tables A, B (table keys, or '*'): ingest, and\n"
    "flush / admin when asked. The key is printed once; the keys file keeps only its SHA-256\n"
    "(the entry is added to it; a new file is 0600, an existing one keeps its mode).\n"
    "list: the ids, tables and rights. revoke: remove ID. The keys file is --keys-file F, else "
    "station.keys_file of the\n"
    "configuration. A running station re-reads it on SIGHUP.\n";

/* The keys document at path as JSON ({"keys": []} if the file does not exist). */
static json_t *read_doc(const char *path, struct zs_err *err)
{
    struct zs_buf b;
    zs_rc rc = zs_read_file(path, KEYS_FILE_MAX, &b, err);
    if (rc == ZS_ENOTFOUND)
        return json_pack("{s:[]}", "keys");
    if (rc != ZS_OK)
        return NULL;
    struct zs_keys *ks = zs_keys_new();
    rc = ks ? zs_keys_parse(ks, path, (const char *)b.data, b.len, err) : ZS_ENOMEM;
    zs_keys_unref(ks);
    json_t *doc = rc == ZS_OK ? json_loadb((const char *)b.data, b.len, 0, NULL) : NULL;
    zs_buf_release(&b);
    return doc;
}

/* read_doc, the error printed. */
static json_t *open_doc(const char *path)
{
    struct zs_err err;
    zs_err_clear(&err);
    json_t *doc = read_doc(path, &err);
    if (doc == NULL)
        fprintf(stderr, "zerobus-station: keys: %s\n", err.msg);
    return doc;
}

/* Replace path with doc: a temporary file, fsync, rename. A new file is 0600; an existing
 * one keeps its mode and group (the file holds digests, not keys: an operator may have made
 * it readable to the service's user, e.g. 0640 or, under DynamicUser=, 0644). */
static int write_doc(const char *path, json_t *doc)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    struct stat was;
    int existed = stat(path, &was) == 0;
    int fd = text ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    int ok = fd >= 0;
    if (ok && existed) {
        if (fchown(fd, (uid_t)-1, was.st_gid) != 0) {
            /* not in that group: the file stays ours */
        }
        ok = fchmod(fd, was.st_mode & 07777) == 0;
    }
    if (ok) {
        size_t n = strlen(text), off = 0;
        while (ok && off < n) {
            ssize_t w = write(fd, text + off, n - off);
            ok = w > 0;
            off += w > 0 ? (size_t)w : 0;
        }
        ok = ok && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
        ok = close(fd) == 0 && ok;
        ok = ok && rename(tmp, path) == 0;
        if (!ok)
            unlink(tmp);
    }
    if (!ok)
        fprintf(stderr, "zerobus-station: keys: cannot write %s: %s\n", path, strerror(errno));
    free(text);
    return ok ? 0 : 1;
}

static int keys_new(const struct zs_cli *a, const char *path, const struct zs_config *c)
{
    if (a->key_id == NULL || a->key_tables == NULL) {
        fprintf(stderr, "zerobus-station: keys new needs --id and --tables\n"
                        "Try 'zerobus-station keys --help'.\n");
        return 2;
    }
    json_t *tables = json_array();
    char *list = strdup(a->key_tables);
    int all = 0, bad = 0;
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t != NULL;
         t = strtok_r(NULL, ",", &save)) {
        all |= strcmp(t, "*") == 0;
        if (c != NULL && strcmp(t, "*") != 0 && zs_config_table(c, t, strlen(t)) == NULL) {
            fprintf(stderr, "zerobus-station: keys: %s has no table \"%s\"\n", c->path, t);
            bad = 1;
        }
        json_array_append_new(tables, json_string(t));
    }
    free(list);
    json_t *rights = json_pack("[s]", "ingest");
    if (a->key_flush)
        json_array_append_new(rights, json_string("flush"));
    if (a->key_admin)
        json_array_append_new(rights, json_string("admin"));
    char key[ZS_KEY_ID_MAX + ZS_KEY_SECRET_LEN + 8], hex[65];
    struct zs_err err;
    zs_err_clear(&err);
    json_t *doc = NULL;
    int rc = 1;
    if (bad || json_array_size(tables) == 0) {
        if (!bad)
            fprintf(stderr, "zerobus-station: keys: --tables names no table\n");
        goto out;
    }
    if (zs_keys_generate(a->key_id, key, sizeof key, hex, sizeof hex, &err) != ZS_OK) {
        fprintf(stderr, "zerobus-station: keys: %s: %s\n", err.where, err.msg);
        goto out;
    }
    json_t *entry = json_pack("{s:s, s:s, s:o, s:O}", "id", a->key_id, "sha256", hex, "tables",
                              all ? json_string("*") : json_incref(tables), "rights", rights);
    if (path != NULL) {
        if ((doc = open_doc(path)) == NULL) {
            json_decref(entry);
            goto out;
        }
        size_t i;
        json_t *k;
        json_array_foreach (json_object_get(doc, "keys"), i, k) {
            if (strcmp(json_string_value(json_object_get(k, "id")), a->key_id) == 0) {
                fprintf(stderr,
                        "zerobus-station: keys: %s already has the id \"%s\" (revoke it "
                        "first)\n",
                        path, a->key_id);
                json_decref(entry);
                goto out;
            }
        }
        json_array_append(json_object_get(doc, "keys"), entry);
        if (write_doc(path, doc) != 0) {
            json_decref(entry);
            goto out;
        }
    }
    char *line = json_dumps(entry, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s\n", key);
    fprintf(stderr,
            "The key above is shown once: give it to the client (Authorization: Bearer KEY).\n"
            "%s %s\n%s\n",
            path ? "Added to" : "Add this entry to the \"keys\" list of the keys file",
            path ? path : "", line ? line : "");
    free(line);
    json_decref(entry);
    zs_wipe(key, sizeof key);
    rc = 0;
out:
    json_decref(doc);
    json_decref(tables);
    json_decref(rights);
    return rc;
}

static int keys_list(const char *path)
{
    json_t *doc = open_doc(path);
    if (doc == NULL)
        return 1;
    size_t i;
    json_t *k;
    printf("%-24s %-12s %s\n", "ID", "RIGHTS", "TABLES");
    json_array_foreach (json_object_get(doc, "keys"), i, k) {
        char rights[64] = "", tables[512] = "";
        json_t *r = json_object_get(k, "rights"), *t = json_object_get(k, "tables"), *v;
        size_t j;
        if (r == NULL)
            snprintf(rights, sizeof rights, "ingest");
        json_array_foreach (r, j, v)
            snprintf(rights + strlen(rights), sizeof rights - strlen(rights), "%s%s", j ? "," : "",
                     json_string_value(v));
        if (json_is_string(t))
            snprintf(tables, sizeof tables, "%s", json_string_value(t));
        json_array_foreach (t, j, v)
            snprintf(tables + strlen(tables), sizeof tables - strlen(tables), "%s%s", j ? "," : "",
                     json_string_value(v));
        printf("%-24s %-12s %s\n", json_string_value(json_object_get(k, "id")), rights, tables);
    }
    json_decref(doc);
    return 0;
}

static int keys_revoke(const char *path, const char *id)
{
    json_t *doc = open_doc(path);
    if (doc == NULL)
        return 1;
    json_t *list = json_object_get(doc, "keys");
    size_t i;
    json_t *k;
    int found = 0;
    json_array_foreach (list, i, k) {
        if (strcmp(json_string_value(json_object_get(k, "id")), id) == 0) {
            json_array_remove(list, i);
            found = 1;
            break;
        }
    }
    int rc = 1;
    if (!found)
        fprintf(stderr, "zerobus-station: keys: %s has no key \"%s\"\n", path, id);
    else if ((rc = write_doc(path, doc)) == 0)
        fprintf(stderr, "Revoked \"%s\" in %s; send SIGHUP to a running station.\n", id, path);
    json_decref(doc);
    return rc;
}

int zs_keys_cmd(int argc, char **argv)
{
    struct zs_cli a = {0};
    int r = zs_cli_parse(argc, argv, "keys", CLI_CONFIG | CLI_ENV_FILE | CLI_KEYS, 1, 2, usage_keys,
                         &a);
    if (r != 0)
        return r > 0 ? 0 : 2;
    const char *verb = a.pos[0];
    int is_new = strcmp(verb, "new") == 0, is_list = strcmp(verb, "list") == 0,
        is_revoke = strcmp(verb, "revoke") == 0;
    if ((!is_new && !is_list && !is_revoke) || (is_revoke != (a.npos == 2))) {
        fprintf(stderr, "zerobus-station: keys: say new, list, or revoke ID\n"
                        "Try 'zerobus-station keys --help'.\n");
        return 2;
    }
    /* The configuration: for the keys file's path (unless --keys-file) and the tables. */
    struct zs_config *c = NULL;
    struct zs_err err;
    zs_err_clear(&err);
    if ((a.keys_file == NULL || a.config_given) &&
        zs_config_load(a.config, a.env_file, &c, &err) != ZS_OK) {
        char msg[600];
        fprintf(stderr, "zerobus-station: %s\n", zs_err_format(&err, msg, sizeof msg));
        return 1;
    }
    char path[4096];
    const char *p = a.keys_file;
    if (p == NULL && c->station.keys_file != NULL) {
        zs_config_path(c, c->station.keys_file, path, sizeof path);
        p = path;
    }
    int rc;
    if (p == NULL && !is_new) {
        fprintf(stderr,
                "zerobus-station: keys: no keys file: give --keys-file, or set "
                "station.keys_file in %s\n",
                c->path);
        rc = 1;
    } else {
        rc = is_new ? keys_new(&a, p, c) : is_list ? keys_list(p) : keys_revoke(p, a.pos[1]);
    }
    zs_config_destroy(c);
    return rc;
}
