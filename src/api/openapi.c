/*
 * OpenAPI 3.1 for the configured tables (a typed request schema per table: every column,
 * its JSON type, format and nullability) and the self-contained docs page.
 * Thread: any.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api/zs_api.h"
#include "schema/zs_schema.h"

static json_t *type_schema(const struct zs_type *t, int nullable);

static json_t *struct_schema(const struct zs_struct *st)
{
    json_t *props = json_object(), *req = json_array();
    for (size_t i = 0; i < st->nfields; i++) {
        const struct zs_field *f = &st->fields[i];
        json_object_set_new(props, f->name, type_schema(f->type, f->nullable));
        if (!f->nullable)
            json_array_append_new(req, json_string(f->name));
    }
    json_t *o = json_pack("{s:s, s:o, s:b}", "type", "object", "properties", props,
                          "additionalProperties", 0);
    if (json_array_size(req) > 0)
        json_object_set_new(o, "required", req);
    else
        json_decref(req);
    return o;
}

static json_t *int_schema(long long lo, long long hi, const char *fmt)
{
    json_t *o = json_pack("{s:s, s:I, s:I}", "type", "integer", "minimum", (json_int_t)lo,
                          "maximum", (json_int_t)hi);
    if (fmt)
        json_object_set_new(o, "format", json_string(fmt));
    return o;
}

static json_t *type_schema(const struct zs_type *t, int nullable)
{
    json_t *o;
    char desc[96];
    switch (t->kind) {
    case ZS_TYPE_TINYINT:
        o = int_schema(-128, 127, NULL);
        break;
    case ZS_TYPE_SMALLINT:
        o = int_schema(-32768, 32767, NULL);
        break;
    case ZS_TYPE_INT:
        o = int_schema(-2147483648LL, 2147483647LL, "int32");
        break;
    case ZS_TYPE_BIGINT:
        o = json_pack("{s:s, s:s}", "type", "integer", "format", "int64");
        break;
    case ZS_TYPE_FLOAT:
        o = json_pack("{s:s, s:s}", "type", "number", "format", "float");
        break;
    case ZS_TYPE_DOUBLE:
        o = json_pack("{s:s, s:s}", "type", "number", "format", "double");
        break;
    case ZS_TYPE_BOOLEAN:
        o = json_pack("{s:s}", "type", "boolean");
        break;
    case ZS_TYPE_STRING:
        o = json_pack("{s:s}", "type", "string");
        break;
    case ZS_TYPE_BINARY:
        o = json_pack("{s:s, s:s}", "type", "string", "contentEncoding", "base64");
        break;
    case ZS_TYPE_DATE:
        o = json_pack("{s:[{s:s, s:s}, {s:s}], s:s}", "oneOf", "type", "string", "format", "date",
                      "type", "integer", "description", "YYYY-MM-DD, or days since 1970-01-01");
        break;
    case ZS_TYPE_TIMESTAMP:
    case ZS_TYPE_TIMESTAMP_NTZ:
        o = json_pack("{s:[{s:s, s:s}, {s:s}], s:s}", "oneOf", "type", "string", "format",
                      t->kind == ZS_TYPE_TIMESTAMP ? "date-time" : "date-time-local", "type",
                      "integer", "description",
                      t->kind == ZS_TYPE_TIMESTAMP
                          ? "RFC 3339 with offset, or microseconds since the epoch"
                          : "local date-time without offset, or microseconds");
        break;
    case ZS_TYPE_DECIMAL:
        snprintf(desc, sizeof desc, "DECIMAL(%u,%u) as a number or a numeric string", t->precision,
                 t->scale);
        o = json_pack("{s:[s,s], s:s}", "type", "string", "number", "description", desc);
        break;
    case ZS_TYPE_VARIANT:
        o = json_pack("{s:s}", "description", "any JSON value (VARIANT)");
        break;
    case ZS_TYPE_ARRAY:
        o = json_pack("{s:s, s:o}", "type", "array", "items", type_schema(t->elem, 0));
        break;
    case ZS_TYPE_MAP:
        o = json_pack("{s:s, s:o}", "type", "object", "additionalProperties",
                      type_schema(t->value, 0));
        break;
    case ZS_TYPE_STRUCT:
        o = struct_schema(t->st);
        break;
    default:
        o = json_object();
    }
    if (nullable) {
        json_t *ty = json_object_get(o, "type");
        if (json_is_string(ty))
            json_object_set_new(o, "type", json_pack("[s,s]", json_string_value(ty), "null"));
        else if (json_is_array(ty))
            json_array_append_new(ty, json_string("null"));
    }
    return o;
}

static json_t *error_response(const char *desc)
{
    return json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", desc, "content", "application/json",
                     "schema", "$ref", "#/components/schemas/Error");
}

static json_t *rest_error_response(const char *desc)
{
    return json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", desc, "content", "application/json",
                     "schema", "$ref", "#/components/schemas/RestError");
}

static json_t *encoding_param(void)
{
    return json_pack("{s:s, s:s, s:b, s:s, s:{s:s, s:[s,s,s,s,s]}}", "name", "Content-Encoding",
                     "in", "header", "required", 0, "description",
                     "compressed body (decoded as it is read; station.max_body_bytes caps the "
                     "decoded size: 413 beyond it, 415 for another coding, 400 for corrupt data)",
                     "schema", "type", "string", "enum", "identity", "gzip", "x-gzip", "deflate",
                     "zstd");
}

/* POST /zerobus/v1/tables/{table_name}/insert: Databricks' REST ingest call for table t. */
static json_t *rest_insert(const struct zs_table_cfg *t, const char *ref, json_t *enc)
{
    json_t *responses = json_pack(
        "{s:{s:s, s:{s:{s:{s:s}}}}, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "200", "description",
        "accepted: after the spool commit (disk), queued (memory), or acknowledged by Zerobus "
        "with wait_for_ack=true; the body is {} (with partial=true: accepted, rejected, errors)",
        "content", "application/json", "schema", "type", "object", "400",
        rest_error_response("INVALID_PARAMETER_VALUE: not a JSON array, or a record violates the "
                            "schema (errors lists them; nothing was accepted)"),
        "404", rest_error_response("NOT_FOUND: no configured table has this name"), "413",
        rest_error_response("INVALID_PARAMETER_VALUE: body or batch too large"), "415",
        rest_error_response("INVALID_PARAMETER_VALUE: unknown Content-Encoding"), "429",
        rest_error_response("RESOURCE_EXHAUSTED: too many records in flight (Retry-After)"), "503",
        rest_error_response("TEMPORARILY_UNAVAILABLE: Zerobus or the spool (Retry-After)"), "504",
        rest_error_response("DEADLINE_EXCEEDED: no acknowledgement in time"));
    return json_pack(
        "{s:{s:s, s:s, s:[s], s:[{s:s, s:s, s:b, s:{s:s, s:b}}, {s:s, s:s, s:b, s:{s:s, s:b}}, "
        "O], s:{s:b, s:{s:{s:{s:s, s:{s:s}}}, s:{s:{s:s}}}}, s:o}}",
        "post", "summary", "Databricks Zerobus REST insert (compatible)", "description",
        "The call of Databricks' Zerobus REST API: a client written for it points its base URL "
        "at the station. A JSON array of records, as for /ingest (all or nothing).",
        "tags", t->key, "parameters", "name", "wait_for_ack", "in", "query", "required", 0,
        "schema", "type", "boolean", "default", 0, "name", "partial", "in", "query", "required", 0,
        "schema", "type", "boolean", "default", 0, enc, "requestBody", "required", 1, "content",
        "application/json", "schema", "type", "array", "items", "$ref", ref, "application/x-ndjson",
        "schema", "type", "string", "responses", responses);
}

zs_rc zs_api_openapi(const struct zs_config *c, struct zs_buf *out)
{
    json_t *paths = json_object(), *schemas = json_object();
    json_object_set_new(schemas, "Error",
                        json_pack("{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}}, s:[s,s]}", "type", "object",
                                  "properties", "error", "type", "string", "status_code", "type",
                                  "integer", "field", "type", "string", "required", "error",
                                  "status_code"));
    json_object_set_new(schemas, "RecordError",
                        json_pack("{s:s, s:{s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s}}}", "type",
                                  "object", "properties", "index", "type", "integer", "description",
                                  "position in the array, or line number (from 0) of NDJSON",
                                  "field", "type", "string", "description",
                                  "JSON path of the offending value ($ for the record)", "reason",
                                  "type", "string"));
    json_t *batch_props =
        json_pack("{s:{s:s, s:s}, s:{s:s}, s:{s:s}, s:{s:s, s:{s:s}, s:s}}", "records", "type",
                  "integer", "description", "records in the batch (accepted ones, once accepted)",
                  "accepted", "type", "integer", "rejected", "type", "integer", "errors", "type",
                  "array", "items", "$ref", "#/components/schemas/RecordError", "description",
                  "at most station.max_batch_errors entries; rejected has the total");
    json_object_update(json_object_get(json_object_get(schemas, "Error"), "properties"),
                       batch_props);
    json_object_set_new(schemas, "RestError",
                        json_pack("{s:s, s:{s:{s:s, s:[s,s,s,s,s,s,s,s,s,s]}, s:{s:s}, s:{s:s, "
                                  "s:{s:s}}}, s:[s,s]}",
                                  "type", "object", "properties", "error_code", "type", "string",
                                  "enum", "INVALID_PARAMETER_VALUE", "NOT_FOUND", "BAD_REQUEST",
                                  "UNAUTHENTICATED", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                                  "TEMPORARILY_UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL_ERROR",
                                  "NOT_IMPLEMENTED", "message", "type", "string", "errors", "type",
                                  "array", "items", "$ref", "#/components/schemas/RecordError",
                                  "required", "error_code", "message"));
    json_object_set_new(schemas, "IngestResult",
                        json_pack("{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}}}", "type",
                                  "object", "properties", "status", "type", "string", "table",
                                  "type", "string", "message", "type", "string", "wait_for_ack",
                                  "type", "boolean", "offset", "type", "integer"));
    json_t *result_props = json_object_get(json_object_get(schemas, "IngestResult"), "properties");
    json_object_update(result_props, batch_props);
    json_object_update_new(result_props, json_pack("{s:{s:s}, s:{s:s}, s:{s:s}}", "acknowledged",
                                                   "type", "integer", "failed", "type", "integer",
                                                   "pending", "type", "integer"));
    json_decref(batch_props);
    for (size_t i = 0; i < c->ntables; i++) {
        const struct zs_table_cfg *t = &c->tables[i];
        char path[300], name[300];
        snprintf(name, sizeof name, "%s", t->schema->message_name);
        json_object_set_new(schemas, name, struct_schema(&t->schema->root));
        char ref[340];
        snprintf(ref, sizeof ref, "#/components/schemas/%s", name);
        json_t *responses = json_pack(
            "{s:{s:s, s:{s:{s:{s:s}}}}, s:{s:s, s:{s:{s:{s:s}}}}, s:o, s:o, s:o, s:o, s:o, s:o, "
            "s:o}",
            "200", "description", "durable: acknowledged by Zerobus (wait_for_ack=true)", "content",
            "application/json", "schema", "$ref", "#/components/schemas/IngestResult", "202",
            "description", "queued (wait_for_ack=false)", "content", "application/json", "schema",
            "$ref", "#/components/schemas/IngestResult", "400",
            error_response("not JSON, or the record violates the table's schema (field names the "
                           "JSON path)"),
            "404", error_response("unknown table"), "413", error_response("body too large"), "429",
            error_response("too many records in flight (Retry-After)"), "502",
            error_response("Zerobus rejected the stream (authorization, schema mismatch)"), "503",
            error_response("Zerobus unavailable (Retry-After)"), "504",
            error_response("no acknowledgement in time"));
        snprintf(path, sizeof path, "/ingest/%s", t->key);
        json_object_set_new(
            paths, path,
            json_pack(
                "{s:{s:s, s:s, s:[s], s:[{s:s, s:s, s:b, s:{s:s, s:b}}, {s:s, s:s, s:b, s:s, "
                "s:{s:s, s:b}}], s:{s:b, s:{s:{s:{s:[{s:s}, {s:s, s:{s:s}}]}}, s:{s:{s:s}}}}, "
                "s:o}}",
                "post", "summary", t->table_name, "description",
                "Ingest one record (a JSON object) or a batch (a JSON array of records, or NDJSON: "
                "one record per line) into the Delta table through Zerobus. A batch is all or "
                "nothing unless partial=true; its answer lists invalid records by index "
                "(errors: [{index, field, reason}]) with the counts records, accepted, "
                "rejected.",
                "tags", t->key, "parameters", "name", "wait_for_ack", "in", "query", "required", 0,
                "schema", "type", "boolean", "default", 0, "name", "partial", "in", "query",
                "required", 0, "description",
                "batches: accept the valid records and list the invalid ones", "schema", "type",
                "boolean", "default", 0, "requestBody", "required", 1, "content",
                "application/json", "schema", "oneOf", "$ref", ref, "type", "array", "items",
                "$ref", ref, "application/x-ndjson", "schema", "type", "string", "responses",
                responses));
        json_t *post = json_object_get(json_object_get(paths, path), "post");
        json_t *enc = encoding_param();
        json_array_append(json_object_get(post, "parameters"), enc);
        json_object_set_new(json_object_get(post, "responses"), "415",
                            error_response("unknown Content-Encoding"));
        /* Databricks' REST call, for the first table of each Unity Catalog name. */
        snprintf(path, sizeof path, "/zerobus/v1/tables/%s/insert", t->table_name);
        if (json_object_get(paths, path) == NULL)
            json_object_set_new(paths, path, rest_insert(t, ref, enc));
        json_decref(enc);
        snprintf(path, sizeof path, "/flush/%s", t->key);
        json_object_set_new(
            paths, path,
            json_pack(
                "{s:{s:s, s:s, s:[s], s:{s:{s:s}, s:o, s:o, s:o}}}", "post", "summary",
                "Wait until every record accepted so far is acknowledged", "description",
                "Covers the records since the last flush that saw all of "
                "its records done. Every answer has the counts records, "
                "acknowledged, failed and pending.",
                "tags", t->key, "responses", "200", "description", "every record acknowledged",
                "502", error_response("some records were rejected (dead-lettered)"), "504",
                error_response("flush timed out"), "503", error_response("Zerobus unavailable")));
        snprintf(path, sizeof path, "/health/%s", t->key);
        json_object_set_new(paths, path,
                            json_pack("{s:{s:s, s:[s], s:{s:{s:s}, s:{s:s}}}}", "get", "summary",
                                      "Stream state, last error, in-flight counts", "tags", t->key,
                                      "responses", "200", "description", "healthy", "503",
                                      "description", "degraded"));
    }
    json_object_set_new(paths, "/health",
                        json_pack("{s:{s:s, s:{s:{s:s}, s:{s:s}}}}", "get", "summary",
                                  "Service health", "responses", "200", "description", "healthy",
                                  "503", "description", "degraded, with reasons"));
    json_object_set_new(
        paths, "/metrics",
        json_pack("{s:{s:s, s:s, s:{s:{s:s, s:{s:{s:{s:s}}}}}}}", "get", "summary",
                  "Prometheus metrics", "description",
                  "The Prometheus text format 0.0.4: HTTP requests, records accepted and "
                  "rejected per table, acknowledgements, streams, the spool, the process.",
                  "responses", "200", "description", "the metrics", "content",
                  "text/plain; version=0.0.4", "schema", "type", "string"));
    json_object_set_new(paths, "/",
                        json_pack("{s:{s:s, s:{s:{s:s}}}}", "get", "summary",
                                  "Service information and endpoints", "responses", "200",
                                  "description", "information"));
    /* Ingest keys (access/zs_keys.h): either header; the open routes say so. */
    json_t *schemes =
        json_pack("{s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s}}", "bearer", "type", "http", "scheme",
                  "bearer", "description", "an ingest key: Authorization: Bearer <id>.<secret>",
                  "apiKey", "type", "apiKey", "in", "header", "name", "X-API-Key", "description",
                  "the same key, for clients that cannot set Authorization");
    json_t *doc =
        json_pack("{s:s, s:{s:s, s:s, s:s}, s:o, s:{s:o, s:o}}", "openapi", "3.1.0", "info",
                  "title", "Zerobus Station", "version", ZS_VERSION, "description",
                  "HTTP/JSON gateway to Databricks Zerobus Ingest", "paths", paths, "components",
                  "schemas", schemas, "securitySchemes", schemes);
    const struct zs_station_opts *so = &c->station;
    if (so->auth == ZS_AUTH_KEYS ||
        (so->auth == ZS_AUTH_AUTO && (c->auth_json != NULL || so->keys_file != NULL))) {
        json_object_set_new(doc, "security", json_pack("[{s:[]}, {s:[]}]", "bearer", "apiKey"));
        json_object_set_new(json_object_get(json_object_get(paths, "/"), "get"), "security",
                            json_array());
        json_object_set_new(json_object_get(json_object_get(paths, "/health"), "get"), "security",
                            json_array());
    }
    char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    zs_rc rc = s ? zs_buf_puts(out, s) : ZS_ENOMEM;
    free(s);
    return rc;
}

const char *zs_api_docs_page(void)
{
    /* Renders /openapi.json with plain DOM code: works offline, no CDN, no framework. */
    return "<!doctype html><html><head><meta charset=\"utf-8\"><title>Zerobus Station API</title>"
           "<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}"
           "h2{border-bottom:1px solid #ccc}code,pre{background:#f4f4f4;padding:2px 4px}"
           ".m{font-weight:bold;color:#fff;padding:2px 6px;border-radius:3px}"
           ".post{background:#49cc90}.get{background:#61affe}td,th{text-align:left;padding:2px 8px}"
           "</style></head><body><h1>Zerobus Station API</h1>"
           "<p><label>API key <input id=\"k\" type=\"password\" size=\"50\"></label> "
           "<button id=\"a\">Authorize</button> (kept in this tab only)</p><p id=\"d\">Loading "
           "<a href=\"/openapi.json\">/openapi.json</a>&hellip;</p><div id=\"o\"></div><script>"
           "const kf=document.getElementById('k');kf.value=sessionStorage.getItem('zs_key')||'';"
           "document.getElementById('a').onclick=()=>{sessionStorage.setItem('zs_key',kf.value);"
           "location.reload()};const key=sessionStorage.getItem('zs_key');"
           "fetch('/openapi.json',key?{headers:{Authorization:'Bearer '+key}}:{})"
           ".then(r=>{if(!r.ok)throw new Error(r.status===401?'an API key is needed: "
           "Authorize above':'HTTP '+r.status);return r.json()}).then(doc=>{"
           "document.getElementById('d').textContent=doc.info.description+' (OpenAPI '+"
           "doc.openapi+', version '+doc.info.version+')';const o=document.getElementById('o');"
           "const el=(t,h)=>{const e=document.createElement(t);if(h!==undefined)e.textContent=h;"
           "return e};const schemas=doc.components.schemas;"
           "const ty=s=>s.$ref?s.$ref.split('/').pop():s.type?[].concat(s.type).join('|')+"
           "(s.format?' ('+s.format+')':''):s.oneOf?s.oneOf.map(ty).join(' or '):'any';"
           "for(const [p,ops] of Object.entries(doc.paths)){for(const [m,op] of "
           "Object.entries(ops)){"
           "const h=el('h2');const b=el('span',m.toUpperCase());b.className='m '+m;h.append(b,' "
           "'+p);"
           "o.append(h,el('p',op.summary+(op.description?' — '+op.description:'')));"
           "const b0=op.requestBody&&op.requestBody.content['application/json'].schema;"
           "const rb=b0&&(b0.$ref?b0:b0.items?b0.items:b0.oneOf?b0.oneOf[0]:null);"
           "if(rb&&rb.$ref){const s=schemas[rb.$ref.split('/').pop()];const t=el('table');"
           "t.append(el('tr'));t.rows[0].append(el('th','field'),el('th','type'),el('th','required'"
           "));"
           "for(const [f,fs] of Object.entries(s.properties)){const r=el('tr');"
           "r.append(el('td',f),el('td',ty(fs)),el('td',(s.required||[]).includes(f)?'yes':''));"
           "t.append(r)}o.append(t)}const ul=el('ul');"
           "for(const [c,rs] of Object.entries(op.responses))ul.append(el('li',c+': "
           "'+rs.description));"
           "o.append(ul)}}}).catch(e=>{document.getElementById('d').textContent='cannot load "
           "/openapi.json: '+e})</script></body></html>";
}
