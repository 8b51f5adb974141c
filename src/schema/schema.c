/*
 * Schema compilation: column definitions → struct zs_schema (field numbers, labels,
 * nested message names, name hash tables, required bitmaps, transcoder frame sizes).
 * Thread: any; the result is immutable.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/zs_arena.h"
#include "core/zs_mem.h"
#include "schema/schema_int.h"
#include "schema/transcode_int.h"

int zs_schema__pb_type(const struct zs_type *t)
{
    switch (t->kind) {
    case ZS_TYPE_TINYINT:
    case ZS_TYPE_SMALLINT:
    case ZS_TYPE_INT:
    case ZS_TYPE_DATE:
        return ZS_PB_INT32;
    case ZS_TYPE_BIGINT:
    case ZS_TYPE_TIMESTAMP:
    case ZS_TYPE_TIMESTAMP_NTZ:
        return ZS_PB_INT64;
    case ZS_TYPE_FLOAT:
        return ZS_PB_FLOAT;
    case ZS_TYPE_DOUBLE:
        return ZS_PB_DOUBLE;
    case ZS_TYPE_BOOLEAN:
        return ZS_PB_BOOL;
    case ZS_TYPE_STRING:
    case ZS_TYPE_DECIMAL:
    case ZS_TYPE_VARIANT:
        return ZS_PB_STRING;
    case ZS_TYPE_BINARY:
        return ZS_PB_BYTES;
    case ZS_TYPE_ARRAY:
        return zs_schema__pb_type(t->elem);
    case ZS_TYPE_MAP:
    case ZS_TYPE_STRUCT:
        return ZS_PB_MESSAGE;
    }
    return ZS_PB_MESSAGE;
}

const char *zs_type_pb_scalar(const struct zs_type *t)
{
    if (t->kind == ZS_TYPE_ARRAY || t->kind == ZS_TYPE_MAP || t->kind == ZS_TYPE_STRUCT)
        return NULL;
    return zs_schema__pb_name(zs_schema__pb_type(t));
}

const char *zs_schema__pb_name(int pb_type)
{
    switch (pb_type) {
    case ZS_PB_DOUBLE:
        return "double";
    case ZS_PB_FLOAT:
        return "float";
    case ZS_PB_INT64:
        return "int64";
    case ZS_PB_INT32:
        return "int32";
    case ZS_PB_BOOL:
        return "bool";
    case ZS_PB_STRING:
        return "string";
    case ZS_PB_BYTES:
        return "bytes";
    default:
        return "message";
    }
}

int zs_schema__wire_type(const struct zs_type *t)
{
    switch (zs_schema__pb_type(t)) {
    case ZS_PB_DOUBLE:
        return ZS_WT_I64;
    case ZS_PB_FLOAT:
        return ZS_WT_I32;
    case ZS_PB_INT64:
    case ZS_PB_INT32:
    case ZS_PB_BOOL:
        return ZS_WT_VARINT;
    default:
        return ZS_WT_LEN;
    }
}

zs_rc zs_schema__camel(const char *name, int upper_first, const char *suffix, struct zs_buf *out)
{
    /* protoc's rules (MapEntryName, ToJsonName), so our names match the .proto we print. */
    int cap_next = upper_first;
    for (const char *p = name; *p != '\0'; p++) {
        char c = *p;
        if (c == '_') {
            cap_next = 1;
            continue;
        }
        if (cap_next && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        cap_next = 0;
        zs_rc rc = zs_buf_append(out, &c, 1);
        if (rc != ZS_OK)
            return rc;
    }
    return zs_buf_puts(out, suffix);
}

zs_rc zs_schema_camel(const char *name, const char *suffix, struct zs_buf *out)
{
    return zs_schema__camel(name, 1, suffix, out);
}

static int valid_ident(const char *s, size_t len)
{
    if (len == 0 || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
        return 0;
    for (size_t i = 1; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return 1;
}

const struct zs_field *zs_struct_find(const struct zs_struct *st, const char *name, size_t len)
{
    uint64_t head, tail;
    zs_key_words(name, len, &head, &tail);
    uint32_t i = zs_key_hash(len, head, tail) & st->slot_mask;
    for (;;) {
        uint32_t v = st->slots[i];
        if (v == 0)
            return NULL;
        const struct zs_field *f = &st->fields[v - 1];
        if (f->name_len == len && f->key_head == head && f->key_tail == tail &&
            (len <= 16 || memcmp(f->name + 8, name + 8, len - 16) == 0))
            return f;
        i = (i + 1) & st->slot_mask;
    }
}

/* Next automatic field number after prev, skipping protobuf's reserved 19000-19999. */
static uint32_t next_number(uint32_t prev)
{
    uint32_t n = prev + 1;
    return (n >= 19000 && n <= 19999) ? 20000 : n;
}

/* JSON nesting a value of t adds below its parent object (VARIANT counted as 0 here). */
static unsigned type_depth(const struct zs_type *t);

static unsigned struct_depth(const struct zs_struct *st)
{
    unsigned d = 0;
    for (size_t i = 0; i < st->nfields; i++) {
        unsigned fd = type_depth(st->fields[i].type);
        if (fd > d)
            d = fd;
    }
    return 1 + d;
}

static unsigned type_depth(const struct zs_type *t)
{
    switch (t->kind) {
    case ZS_TYPE_ARRAY:
        return 1 + type_depth(t->elem);
    case ZS_TYPE_MAP:
        return 1 + type_depth(t->value);
    case ZS_TYPE_STRUCT:
        return struct_depth(t->st);
    default:
        return 0;
    }
}

/* Scratch the transcoder needs below one field of type t. */
static size_t child_frame_bytes(const struct zs_type *t)
{
    switch (t->kind) {
    case ZS_TYPE_ARRAY:
        return child_frame_bytes(t->elem);
    case ZS_TYPE_MAP:
        return child_frame_bytes(t->value);
    case ZS_TYPE_STRUCT:
        return t->st->frame_bytes;
    default:
        return 0;
    }
}

static const char *arena_name(struct zs_arena *a, struct zs_buf *b)
{
    return zs_arena_strndup(a, (const char *)b->data, b->len);
}

/* Is name already used by a field or a nested message of the fields before `upto`? */
static int name_taken(const struct zs_field *fs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(fs[i].name, name) == 0)
            return 1;
        if (fs[i].msg_name != NULL && strcmp(fs[i].msg_name, name) == 0)
            return 1;
        if (fs[i].entry_name != NULL && strcmp(fs[i].entry_name, name) == 0)
            return 1;
    }
    return 0;
}

/* Give the fields of one scope their nested message names. */
static zs_rc name_messages(struct zs_arena *a, struct zs_field *fs, size_t n, size_t *bad,
                           struct zs_err *err)
{
    zs_rc rc = ZS_OK;
    struct zs_buf b;
    zs_buf_init(&b, 4096);
    for (size_t i = 0; i < n && rc == ZS_OK; i++) {
        const struct zs_type *t = fs[i].type;
        const struct zs_type *msg = t->kind == ZS_TYPE_ARRAY ? t->elem
                                    : t->kind == ZS_TYPE_MAP ? t->value
                                                             : t;
        if (t->kind == ZS_TYPE_MAP) {
            b.len = 0;
            if ((rc = zs_schema_camel(fs[i].name, "Entry", &b)) != ZS_OK)
                break;
            if ((fs[i].entry_name = arena_name(a, &b)) == NULL) {
                rc = ZS_ENOMEM;
                break;
            }
        }
        if (msg->kind != ZS_TYPE_STRUCT)
            continue;
        /* A struct message is "FooBar" for column foo_bar ("FooBarValue" for map values);
         * a clash with another name in the scope gets "Msg", then a number. */
        for (unsigned attempt = 0; attempt < 100; attempt++) {
            b.len = 0;
            if ((rc = zs_schema_camel(fs[i].name, t->kind == ZS_TYPE_MAP ? "Value" : "", &b)) !=
                ZS_OK)
                break;
            if (attempt > 0 &&
                (rc = zs_buf_printf(&b, attempt == 1 ? "Msg" : "Msg%u", attempt)) != ZS_OK)
                break;
            if ((rc = zs_buf_cstr(&b) ? ZS_OK : ZS_ENOMEM) != ZS_OK)
                break;
            if (!name_taken(fs, n, (const char *)b.data)) {
                if ((fs[i].msg_name = arena_name(a, &b)) == NULL)
                    rc = ZS_ENOMEM;
                break;
            }
        }
    }
    /* Map entry names are fixed by protoc's rule: a clash is the user's to resolve. */
    for (size_t i = 0; i < n && rc == ZS_OK; i++) {
        if (fs[i].entry_name == NULL)
            continue;
        for (size_t j = 0; j < n; j++) {
            if (j != i && (strcmp(fs[j].name, fs[i].entry_name) == 0 ||
                           (fs[j].msg_name && strcmp(fs[j].msg_name, fs[i].entry_name) == 0))) {
                *bad = i;
                rc = zs_err_set(err, ZS_ESCHEMA, "name",
                                "MAP column \"%s\" needs the message name %s, which column \"%s\" "
                                "already uses",
                                fs[i].name, fs[i].entry_name, fs[j].name);
                break;
            }
        }
    }
    zs_buf_release(&b);
    return rc;
}

/*
 * Finish a struct whose fields (name, type, nullable, number) are filled in:
 * checks names and numbers, names nested messages, builds the lookup tables.
 */
static zs_rc finish_struct(struct zs_arena *a, struct zs_struct *st, struct zs_field *fs, size_t n,
                           size_t *bad, struct zs_err *err)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (fs[j].name_len == fs[i].name_len && strcasecmp(fs[j].name, fs[i].name) == 0) {
                *bad = i;
                return zs_err_set(err, ZS_ESCHEMA, "name",
                                  "duplicate column \"%s\" (names are case-insensitive)",
                                  fs[i].name);
            }
            if (fs[j].number == fs[i].number) {
                *bad = i;
                return zs_err_set(err, ZS_ESCHEMA, "field_num",
                                  "field number %u of \"%s\" is already used by \"%s\"",
                                  fs[i].number, fs[i].name, fs[j].name);
            }
        }
    }
    zs_rc rc = name_messages(a, fs, n, bad, err);
    if (rc != ZS_OK)
        return rc;

    size_t nslots = 4;
    while (nslots < 2 * n)
        nslots *= 2;
    uint32_t *slots = zs_arena_calloc(a, nslots, sizeof *slots);
    size_t nwords = (n + 63) / 64;
    uint64_t *req = zs_arena_calloc(a, nwords ? nwords : 1, sizeof *req);
    if (slots == NULL || req == NULL)
        return ZS_ENOMEM;
    size_t child = 0;
    for (size_t i = 0; i < n; i++) {
        zs_key_words(fs[i].name, fs[i].name_len, &fs[i].key_head, &fs[i].key_tail);
        uint32_t h =
            zs_key_hash(fs[i].name_len, fs[i].key_head, fs[i].key_tail) & (uint32_t)(nslots - 1);
        while (slots[h] != 0)
            h = (h + 1) & (uint32_t)(nslots - 1);
        slots[h] = (uint32_t)i + 1;
        if (!fs[i].nullable)
            req[i / 64] |= (uint64_t)1 << (i % 64);
        uint64_t key = ((uint64_t)fs[i].number << 3) | (uint64_t)zs_schema__wire_type(fs[i].type);
        fs[i].tag_len = (uint8_t)zs_varint_put(fs[i].tag, key);
        size_t c = child_frame_bytes(fs[i].type);
        if (c > child)
            child = c;
    }
    st->fields = fs;
    st->nfields = n;
    st->slots = slots;
    st->slot_mask = (uint32_t)(nslots - 1);
    st->required = req;
    st->nwords = nwords;
    st->frame_bytes = zs_tc__frame_bytes(n) + child;
    return ZS_OK;
}

zs_rc zs_schema__struct_from_members(struct zs_arena *a, const struct zs_type_member *m, size_t n,
                                     const struct zs_struct **out, struct zs_err *err,
                                     const char *type_text)
{
    struct zs_field *fs = zs_arena_calloc(a, n, sizeof *fs);
    struct zs_struct *st = zs_arena_calloc(a, 1, sizeof *st);
    if (fs == NULL || st == NULL)
        return ZS_ENOMEM;
    uint32_t num = 0;
    for (size_t i = 0; i < n; i++) {
        if ((fs[i].name = zs_arena_strndup(a, m[i].name, m[i].name_len)) == NULL)
            return ZS_ENOMEM;
        fs[i].name_len = m[i].name_len;
        fs[i].type = m[i].type;
        fs[i].nullable = m[i].nullable;
        fs[i].number = num = next_number(num);
    }
    size_t bad = 0;
    zs_rc rc = finish_struct(a, st, fs, n, &bad, err);
    if (rc == ZS_ESCHEMA) {
        char msg[ZS_ERR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
        return zs_err_set(err, ZS_ESCHEMA, NULL, "type \"%.80s\": %s", type_text, msg);
    }
    *out = st;
    return rc;
}

/* Seed form: "optional string", "required int64", "repeated string". */
static zs_rc apply_proto_type(struct zs_arena *a, const struct zs_column_def *c, struct zs_field *f,
                              struct zs_err *err)
{
    const char *p = c->proto_type;
    while (*p == ' ')
        p++;
    const char *sp = strchr(p, ' ');
    if (sp == NULL)
        return zs_err_set(err, ZS_ESCHEMA, "proto_type",
                          "expected \"optional|required|repeated <type>\", got \"%.60s\"", p);
    size_t llen = (size_t)(sp - p);
    const char *ty = sp;
    while (*ty == ' ')
        ty++;
    size_t tlen = strlen(ty);
    while (tlen > 0 && ty[tlen - 1] == ' ')
        tlen--;
    int repeated = 0;
    if (llen == 8 && strncmp(p, "optional", 8) == 0) {
        if (c->nullable == 0)
            return zs_err_set(err, ZS_ESCHEMA, "proto_type",
                              "\"optional\" contradicts \"nullable\": false");
        f->nullable = true;
    } else if (llen == 8 && strncmp(p, "required", 8) == 0) {
        if (c->nullable == 1)
            return zs_err_set(err, ZS_ESCHEMA, "proto_type",
                              "\"required\" contradicts \"nullable\": true");
        f->nullable = false;
    } else if (llen == 8 && strncmp(p, "repeated", 8) == 0) {
        repeated = 1;
    } else {
        return zs_err_set(err, ZS_ESCHEMA, "proto_type",
                          "label must be optional, required or repeated, got \"%.*s\"",
                          (int)(llen < 20 ? llen : 20), p);
    }
    if (repeated && f->type->kind != ZS_TYPE_ARRAY) {
        struct zs_type *arr = zs_arena_calloc(a, 1, sizeof *arr);
        if (arr == NULL)
            return ZS_ENOMEM;
        arr->kind = ZS_TYPE_ARRAY;
        arr->elem = f->type;
        if (f->type->kind == ZS_TYPE_MAP || f->type->kind == ZS_TYPE_STRUCT)
            return zs_err_set(err, ZS_ESCHEMA, "proto_type",
                              "\"repeated\" needs a scalar type; use ARRAY<...> in \"type\"");
        f->type = arr;
    }
    int pb = zs_schema__pb_type(f->type);
    const char *want = pb == ZS_PB_MESSAGE ? NULL : zs_schema__pb_name(pb);
    if (want == NULL || strlen(want) != tlen || strncmp(ty, want, tlen) != 0)
        return zs_err_set(err, ZS_ESCHEMA, "proto_type",
                          "proto type \"%.*s\" does not match type \"%.60s\" (which maps to %s)",
                          (int)(tlen < 40 ? tlen : 40), ty, c->type, want ? want : "a message");
    return ZS_OK;
}

static zs_rc compile_column(struct zs_arena *a, const struct zs_column_def *c, uint32_t auto_num,
                            struct zs_field *f, struct zs_err *err)
{
    size_t len = c->name ? strlen(c->name) : 0;
    if (!valid_ident(c->name ? c->name : "", len))
        return zs_err_set(err, ZS_ESCHEMA, "name",
                          "column name \"%.64s\" must be letters, digits and underscores, not "
                          "starting with a digit",
                          c->name ? c->name : "");
    if ((f->name = zs_arena_strndup(a, c->name, len)) == NULL)
        return ZS_ENOMEM;
    f->name_len = len;
    zs_rc rc = zs_type_parse(a, c->type, &f->type, err);
    if (rc != ZS_OK) {
        if (rc == ZS_ESCHEMA && err)
            snprintf(err->where, sizeof err->where, "type");
        return rc;
    }
    f->nullable = c->nullable != 0;
    if (c->proto_type != NULL && (rc = apply_proto_type(a, c, f, err)) != ZS_OK)
        return rc;
    if (c->field_num != 0) {
        if (c->field_num < 1 || c->field_num > 536870911 ||
            (c->field_num >= 19000 && c->field_num <= 19999))
            return zs_err_set(err, ZS_ESCHEMA, "field_num",
                              "field number %lld is outside 1..536870911 or in the reserved "
                              "19000..19999",
                              (long long)c->field_num);
        f->number = (uint32_t)c->field_num;
    } else {
        f->number = auto_num;
    }
    return ZS_OK;
}

zs_rc zs_schema_create(const struct zs_schema_opts *o, const struct zs_column_def *cols, size_t n,
                       struct zs_schema **out, size_t *out_bad_col, struct zs_err *err)
{
    size_t bad_dummy;
    size_t *bad = out_bad_col ? out_bad_col : &bad_dummy;
    *bad = (size_t)-1;
    zs_rc rc = ZS_ENOMEM;
    struct zs_arena *a = zs_arena_create(16384);
    struct zs_schema *s = a ? zs_arena_calloc(a, 1, sizeof *s) : NULL;
    if (s == NULL)
        goto out;
    s->arena = a;
    s->reject_unknown = o->reject_unknown;
    s->max_depth = o->max_depth ? o->max_depth : 64;
    s->max_record_bytes = o->max_record_bytes ? o->max_record_bytes : 1u << 20;

    const char *pkg = o->package ? o->package : "";
    for (const char *p = pkg; *p != '\0';) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        if (!valid_ident(p, l)) {
            rc = zs_err_set(err, ZS_EINVAL, "proto_package",
                            "\"%.64s\" is not a protobuf package name (dot-separated identifiers)",
                            pkg);
            goto out;
        }
        p += l + (dot != NULL);
        if (dot != NULL && *p == '\0') {
            rc = zs_err_set(err, ZS_EINVAL, "proto_package", "\"%.64s\" ends with a dot", pkg);
            goto out;
        }
    }
    const char *mn = o->message_name ? o->message_name : "";
    if (!valid_ident(mn, strlen(mn))) {
        rc = zs_err_set(err, ZS_EINVAL, "message_name", "\"%.64s\" is not a protobuf message name",
                        mn);
        goto out;
    }
    if (n == 0 || n > ZS_SCHEMA_MAX_COLUMNS) {
        rc = zs_err_set(err, ZS_ESCHEMA, "fields", "a table needs 1..%d columns, got %zu",
                        ZS_SCHEMA_MAX_COLUMNS, n);
        goto out;
    }
    if ((s->package = zs_arena_strndup(a, pkg, strlen(pkg))) == NULL ||
        (s->message_name = zs_arena_strndup(a, mn, strlen(mn))) == NULL)
        goto out;

    struct zs_field *fs = zs_arena_calloc(a, n, sizeof *fs);
    if (fs == NULL)
        goto out;
    uint32_t num = 0;
    for (size_t i = 0; i < n; i++) {
        num = next_number(num);
        rc = compile_column(a, &cols[i], num, &fs[i], err);
        if (rc != ZS_OK) {
            *bad = i;
            goto out;
        }
    }
    if ((rc = finish_struct(a, &s->root, fs, n, bad, err)) != ZS_OK)
        goto out;
    s->depth = struct_depth(&s->root);
    if (s->depth > s->max_depth) {
        rc = zs_err_set(err, ZS_EINVAL, "max_json_depth",
                        "the table's types nest %u levels deep, more than max_json_depth %u",
                        s->depth, s->max_depth);
        goto out;
    }
    *out = s;
    s = NULL;
    a = NULL;
    rc = ZS_OK;
out:
    zs_arena_destroy(a);
    return rc;
}

void zs_schema_destroy(struct zs_schema *s)
{
    if (s != NULL)
        zs_arena_destroy(s->arena);
}
