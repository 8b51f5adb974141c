/* OAuth request body and reply parsing (see zs_auth.h). Thread: any. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/zs_auth.h"

zs_rc zs_auth_url_escape(struct zs_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        zs_rc rc;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            rc = zs_buf_append(b, &c, 1);
        } else {
            char enc[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = zs_buf_append(b, enc, 3);
        }
        if (rc != ZS_OK)
            return rc;
    }
    return ZS_OK;
}

zs_rc zs_auth_token_form(const char *table, const char *workspace_id, struct zs_buf *out)
{
    char cat[256], sch[256], tab[256];
    if (sscanf(table, "%255[^.].%255[^.].%255[^.]", cat, sch, tab) != 3 ||
        strlen(cat) + strlen(sch) + strlen(tab) + 2 != strlen(table))
        return ZS_EINVAL;
    char schema_path[520];
    snprintf(schema_path, sizeof schema_path, "%s.%s", cat, sch);
    json_t *d =
        json_pack("[{s:s, s:[s], s:s, s:s}, {s:s, s:[s], s:s, s:s},"
                  " {s:s, s:[s,s], s:s, s:s, s:[s]}]",
                  "type", "unity_catalog_privileges", "privileges", "USE CATALOG", "object_type",
                  "CATALOG", "object_full_path", cat, "type", "unity_catalog_privileges",
                  "privileges", "USE SCHEMA", "object_type", "SCHEMA", "object_full_path",
                  schema_path, "type", "unity_catalog_privileges", "privileges", "SELECT", "MODIFY",
                  "object_type", "TABLE", "object_full_path", table, "operations", "zerobuswrite");
    char *details = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    if (details == NULL)
        return ZS_ENOMEM;
    char resource[512];
    snprintf(resource, sizeof resource, "api://databricks/workspaces/%s/zerobusDirectWriteApi",
             workspace_id ? workspace_id : "");
    zs_rc rc = zs_buf_puts(out, "grant_type=client_credentials&scope=all-apis&resource=");
    if (rc == ZS_OK)
        rc = zs_auth_url_escape(out, resource);
    if (rc == ZS_OK)
        rc = zs_buf_puts(out, "&authorization_details=");
    if (rc == ZS_OK)
        rc = zs_auth_url_escape(out, details);
    free(details);
    return rc;
}

zs_rc zs_auth_parse_reply(int status, const char *body, size_t len, char *token, size_t cap,
                          int64_t *expires_in, struct zs_err *err)
{
    json_error_t je;
    json_t *j = json_loadb(body, len, 0, &je);
    zs_rc rc = ZS_EPARSE;
    *expires_in = 0;
    if (status < 200 || status > 299) {
        const char *e = json_string_value(json_object_get(j, "error"));
        const char *d = json_string_value(json_object_get(j, "error_description"));
        zs_err_set(err, ZS_EAUTH, NULL, "token endpoint answered HTTP %d%s%.80s%s%.160s", status,
                   e ? ": " : "", e ? e : "", d ? ": " : "", d ? d : "");
        json_decref(j);
        return ZS_EAUTH;
    }
    const char *t = json_string_value(json_object_get(j, "access_token"));
    if (j == NULL || !json_is_object(j)) {
        zs_err_set(err, rc, NULL, "token reply is not a JSON object");
    } else if (t == NULL || t[0] == '\0') {
        zs_err_set(err, rc, NULL, "token reply has no access_token");
    } else if (strlen(t) >= cap) {
        rc = zs_err_set(err, ZS_ELIMIT, NULL, "access_token longer than %zu bytes", cap - 1);
    } else {
        rc = ZS_OK;
        for (const char *p = t; *p != '\0'; p++)
            if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
                rc = zs_err_set(err, ZS_EPARSE, NULL, "access_token is not a header-safe value");
        if (rc == ZS_OK) {
            memcpy(token, t, strlen(t) + 1);
            /* expires_in: integer, or an integer in a string (newer SDKs accept both). */
            json_t *e = json_object_get(j, "expires_in");
            if (json_is_integer(e) && json_integer_value(e) > 0)
                *expires_in = json_integer_value(e);
            else if (json_is_string(e))
                *expires_in = strtoll(json_string_value(e), NULL, 10) > 0
                                  ? strtoll(json_string_value(e), NULL, 10)
                                  : 0;
        }
    }
    json_decref(j);
    return rc;
}
