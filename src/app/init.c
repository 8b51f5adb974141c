/*
 * zerobus-station init: a config.json whose fields come from Unity Catalog, written in the
 * original service's format (seed types and proto_type where they exist, Unity Catalog
 * type text for the others), and a .env template. Thread: main.
 */
#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/cli.h"
#include "app/init.h"
#include "app/local.h"
#include "catalog/zs_catalog.h"
#include "core/zs_arena.h"
#include "core/zs_fs.h"
#include "core/zs_mem.h"

static const char usage_init[] =
    "usage: zerobus-station init --workspace-url URL [--server-endpoint HOST]\n"
    "                            (--table CATALOG.SCHEMA.TABLE ... | --schema CATALOG.SCHEMA)\n"
    "                            [--output FILE] [--force] [--env-file FILE]\n"
    "       zerobus-station init --local DIR (--table ... | --schema ...) [--output FILE]\n"
    "\n"
    "Read the tables' columns from Unity Catalog (workspace URL, credentials\n"
    "DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET from the environment or --env-file)\n"
    "and write a complete configuration (default config.json; --force replaces one) with\n"
    "every table's fields in the original service's format, and a .env template beside it\n"
    "(an existing .env is kept).\n"
    "--schema lists a schema's tables. --local DIR asks the catalog of a local emulator\n"
    "(DIR/catalog.json, as `zerobus-station --local DIR` uses). Route keys are the table\n"
    "names. Then run `zerobus-station check`.\n";

/* The original service's "type" for the kinds it had (named by their protobuf scalar);
 * NULL: Unity Catalog text. */
static const char *seed_type(const struct zs_type *t)
{
    switch (t->kind) {
    case ZS_TYPE_INT:
    case ZS_TYPE_BIGINT:
    case ZS_TYPE_FLOAT:
    case ZS_TYPE_DOUBLE:
    case ZS_TYPE_BOOLEAN:
    case ZS_TYPE_STRING:
        return zs_type_pb_scalar(t);
    default:
        return NULL;
    }
}

/* The fields array of a compiled schema, in the original's format. */
static json_t *fields_json(const struct zs_schema *s)
{
    json_t *fields = json_array();
    struct zs_buf b;
    zs_buf_init(&b, 1 << 20);
    for (size_t i = 0; i < s->root.nfields; i++) {
        const struct zs_field *f = &s->root.fields[i];
        b.len = 0;
        const char *type = seed_type(f->type);
        if (type == NULL) {
            if (zs_type_format(f->type, &b) != ZS_OK || zs_buf_cstr(&b) == NULL)
                type = "?";
            else
                type = (const char *)b.data;
        }
        json_t *o = json_pack("{s:s, s:s}", "name", f->name, "type", type);
        const char *pb = zs_type_pb_scalar(f->type);
        if (pb != NULL) {
            char pt[64];
            snprintf(pt, sizeof pt, "%s %s", f->nullable ? "optional" : "required", pb);
            json_object_set_new(o, "proto_type", json_string(pt));
        } else if (!f->nullable) {
            json_object_set_new(o, "nullable", json_false());
        }
        json_object_set_new(o, "field_num", json_integer(f->number));
        json_array_append_new(fields, o);
    }
    zs_buf_release(&b);
    return fields;
}

/* Credentials: the environment, then --env-file (or ./.env). Strings owned by *d or env. */
static void credentials(const struct zs_cli *a, struct zs_dotenv **d, const char **id,
                        const char **secret)
{
    *id = getenv("DATABRICKS_CLIENT_ID");
    *secret = getenv("DATABRICKS_CLIENT_SECRET");
    const char *path = a->env_file ? a->env_file : ".env";
    struct zs_buf text;
    struct zs_err err;
    if (zs_read_file(path, 1 << 20, &text, &err) != ZS_OK)
        return;
    if (zs_dotenv_parse(path, (const char *)text.data, text.len, NULL, d, &err) == ZS_OK) {
        if (*id == NULL)
            *id = zs_dotenv_get(*d, "DATABRICKS_CLIENT_ID");
        if (*secret == NULL)
            *secret = zs_dotenv_get(*d, "DATABRICKS_CLIENT_SECRET");
    }
    zs_wipe(text.data, text.len);
    zs_buf_release(&text);
}

static int write_text(const char *path, const char *text, int mode, bool force)
{
    if (!force && access(path, F_OK) == 0) {
        fprintf(stderr, "zerobus-station: init: %s exists (--force replaces it)\n", path);
        return -1;
    }
    int rc = zs_fs_write_atomic(path, text, strlen(text), mode);
    if (rc != 0)
        fprintf(stderr, "zerobus-station: init: cannot write %s: %s\n", path, strerror(-rc));
    return rc == 0 ? 0 : -1;
}

/* One table: fetch, compile with the route key's names, add to tables. 0 or -1 (printed). */
static int add_table(struct zs_catalog *k, const char *name, json_t *tables)
{
    const char *dot = strrchr(name, '.');
    char key[300];
    snprintf(key, sizeof key, "%s", dot ? dot + 1 : name);
    if (json_object_get(tables, key) != NULL) { /* the same table name in two schemas */
        const char *d1 = strchr(name, '.');
        snprintf(key, sizeof key, "%.*s_%s", d1 && dot ? (int)(dot - d1 - 1) : 0, d1 ? d1 + 1 : "",
                 dot ? dot + 1 : name);
    }
    struct zs_buf body, camel;
    struct zs_err err;
    zs_err_clear(&err);
    zs_buf_init(&camel, 4096);
    zs_rc rc = zs_catalog_get_table(k, name, &body, &err);
    struct zs_arena *a = zs_arena_create(4096);
    struct zs_uc_table uc;
    struct zs_schema *s = NULL;
    if (rc == ZS_OK) {
        rc = zs_uc_parse_table(a, (const char *)body.data, body.len, &uc, &err);
        zs_buf_release(&body);
    }
    if (rc == ZS_OK && (rc = zs_schema_camel(key, "", &camel)) == ZS_OK &&
        zs_buf_cstr(&camel) != NULL) {
        for (size_t i = 0; i < camel.len; i++)
            if (camel.data[i] == '-')
                camel.data[i] = '_';
        struct zs_schema_opts o = {.package = key, .message_name = (const char *)camel.data};
        rc = zs_schema_create(&o, uc.cols, uc.ncols, &s, NULL, &err);
    }
    if (rc != ZS_OK) {
        fprintf(stderr, "zerobus-station: init: %s: %s\n", name,
                err.msg[0] ? err.msg : zs_rc_str(rc));
    } else {
        json_object_set_new(tables, key,
                            json_pack("{s:s, s:s, s:s, s:o}", "table_name", name, "proto_package",
                                      key, "message_name", (const char *)camel.data, "fields",
                                      fields_json(s)));
        printf("%s: %zu columns -> POST /ingest/%s\n", name, s->root.nfields, key);
    }
    zs_schema_destroy(s);
    zs_arena_destroy(a);
    zs_buf_release(&camel);
    return rc == ZS_OK ? 0 : -1;
}

int zs_cmd_init(int argc, char **argv)
{
    struct zs_cli a = {0};
    int r = zs_cli_parse(argc, argv, "init", CLI_INIT | CLI_ENV_FILE, 0, 0, usage_init, &a);
    if (r != 0)
        return r > 0 ? 0 : 2;
    if ((a.ninit_tables == 0 && a.schema == NULL) || (a.workspace_url == NULL && a.local == NULL)) {
        fprintf(stderr, "zerobus-station: init needs --workspace-url (or --local DIR) and "
                        "--table or --schema\nTry 'zerobus-station init --help'.\n");
        return 2;
    }
    struct zs_dotenv *env = NULL;
    struct zs_local l = {0};
    struct zs_catalog k = {.workspace_url = a.workspace_url, .timeout_ms = 30000};
    credentials(&a, &env, &k.client_id, &k.client_secret);
    int rc = 1;
    json_t *tables = json_object(), *doc = NULL;
    struct zs_buf names;
    zs_buf_init(&names, 16 << 20);
    if (a.local != NULL) {
        if (zs_local_start(NULL, a.local, &l) != 0)
            goto out;
        k.workspace_url = l.workspace_url;
        k.client_id = l.client_id;
        k.client_secret = l.client_secret;
    }
    for (int i = 0; i < a.ninit_tables; i++)
        if (zs_buf_printf(&names, "%s\n", a.init_tables[i]) != ZS_OK)
            goto out;
    if (a.schema != NULL) {
        char cat[256];
        const char *dot = strchr(a.schema, '.');
        struct zs_err err;
        zs_err_clear(&err);
        if (dot == NULL || strchr(dot + 1, '.') != NULL || dot == a.schema ||
            (size_t)(dot - a.schema) >= sizeof cat) {
            fprintf(stderr, "zerobus-station: init: --schema \"%s\" is not catalog.schema\n",
                    a.schema);
            goto out;
        }
        snprintf(cat, sizeof cat, "%.*s", (int)(dot - a.schema), a.schema);
        size_t before = names.len;
        if (zs_catalog_list_tables(&k, cat, dot + 1, &names, &err) != ZS_OK) {
            fprintf(stderr, "zerobus-station: init: %s: %s\n", a.schema, err.msg);
            goto out;
        }
        if (names.len == before) {
            fprintf(stderr, "zerobus-station: init: %s has no tables\n", a.schema);
            goto out;
        }
    }
    if (zs_buf_cstr(&names) == NULL)
        goto out;
    int bad = 0;
    for (char *save = NULL, *n = strtok_r((char *)names.data, "\n", &save); n != NULL;
         n = strtok_r(NULL, "\n", &save))
        bad |= add_table(&k, n, tables);
    if (bad)
        goto out;
    const char *endpoint = a.server_endpoint ? a.server_endpoint
                           : a.local != NULL
                               ? "http://127.0.0.1:50051"
                               : "<workspace-id>.zerobus.<region>.cloud.databricks.com";
    doc =
        json_pack("{s:{s:s, s:s}, s:O}", "databricks", "server_endpoint", endpoint, "workspace_url",
                  a.local != NULL ? "http://127.0.0.1:50052" : a.workspace_url, "tables", tables);
    char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    const char *out = a.output ? a.output : "config.json";
    char dir[4096], envp[4200], envtext[600];
    snprintf(dir, sizeof dir, "%s", out);
    snprintf(envp, sizeof envp, "%s/.env", dirname(dir));
    snprintf(envtext, sizeof envtext,
             "# zerobus-station credentials: a service principal with USE CATALOG, USE SCHEMA,\n"
             "# SELECT and MODIFY on the tables of config.json (and its OAuth secret).\n"
             "DATABRICKS_CLIENT_ID=%s\nDATABRICKS_CLIENT_SECRET=\n",
             a.local == NULL && k.client_id ? k.client_id : "");
    if (text != NULL && write_text(out, text, 0644, a.force) == 0) {
        rc = 0;
        printf("wrote %s (%zu tables)\n", out, json_object_size(tables));
        if (access(envp, F_OK) == 0) /* never replaced: it may hold the secret */
            printf("kept %s\n", envp);
        else if (write_text(envp, envtext, 0600, true) == 0)
            printf("wrote %s: fill in DATABRICKS_CLIENT_SECRET\n", envp);
        else
            rc = 1;
        if (a.server_endpoint == NULL && a.local == NULL)
            printf("set databricks.server_endpoint (the workspace's Zerobus endpoint), then run "
                   "zerobus-station check --config %s\n",
                   out);
    }
    free(text);
out:
    zs_local_stop(&l);
    zs_wipe(l.client_secret, sizeof l.client_secret);
    zs_catalog_clear(&k);
    zs_dotenv_destroy(env);
    json_decref(doc);
    json_decref(tables);
    zs_buf_release(&names);
    return rc;
}
