/*
 * The serialized google.protobuf.DescriptorProto of a table (zerobus-protocol.md §5.1)
 * and its proto2 .proto text. Both walk the schema in the same order so that the
 * descriptor equals what protoc builds from the printed .proto: nested STRUCT messages
 * first (declaration order), then map entries, type names fully qualified, json_name
 * set as protoc sets it. Thread: any.
 */
#include <string.h>

#include "schema/schema_int.h"

/* DescriptorProto / FieldDescriptorProto / MessageOptions field numbers. */
enum { D_NAME = 1, D_FIELD = 2, D_NESTED = 3, D_OPTIONS = 7 };
enum { F_NAME = 1, F_NUMBER = 3, F_LABEL = 4, F_TYPE = 5, F_TYPE_NAME = 6, F_JSON_NAME = 10 };
enum { O_MAP_ENTRY = 7 };
enum { LABEL_OPTIONAL = 1, LABEL_REQUIRED = 2, LABEL_REPEATED = 3 };

static zs_rc put_varint_field(struct zs_buf *b, unsigned num, uint64_t v)
{
    uint8_t tmp[20];
    unsigned n = zs_varint_put(tmp, (uint64_t)num << 3 | ZS_WT_VARINT);
    n += zs_varint_put(tmp + n, v);
    return zs_buf_append(b, tmp, n);
}

static zs_rc put_bytes_field(struct zs_buf *b, unsigned num, const void *p, size_t len)
{
    uint8_t tmp[20];
    unsigned n = zs_varint_put(tmp, (uint64_t)num << 3 | ZS_WT_LEN);
    n += zs_varint_put(tmp + n, len);
    zs_rc rc = zs_buf_append(b, tmp, n);
    return rc != ZS_OK ? rc : zs_buf_append(b, p, len);
}

static zs_rc put_str_field(struct zs_buf *b, unsigned num, const char *s)
{
    return put_bytes_field(b, num, s, strlen(s));
}

/* One FieldDescriptorProto. type_name: fully qualified message name, or NULL. */
static zs_rc field_proto(struct zs_buf *out, const char *name, uint32_t number, int label, int type,
                         const char *scope, const char *type_name)
{
    struct zs_buf f, jn;
    zs_buf_init(&f, out->max);
    zs_buf_init(&jn, 4096);
    zs_rc rc;
    if ((rc = put_str_field(&f, F_NAME, name)) != ZS_OK ||
        (rc = put_varint_field(&f, F_NUMBER, number)) != ZS_OK ||
        (rc = put_varint_field(&f, F_LABEL, (uint64_t)label)) != ZS_OK ||
        (rc = put_varint_field(&f, F_TYPE, (uint64_t)type)) != ZS_OK)
        goto out;
    if (type_name != NULL) {
        if ((rc = zs_buf_printf(&jn, "%s.%s", scope, type_name)) != ZS_OK ||
            (rc = put_bytes_field(&f, F_TYPE_NAME, jn.data, jn.len)) != ZS_OK)
            goto out;
        jn.len = 0;
    }
    if ((rc = zs_schema__camel(name, 0, "", &jn)) != ZS_OK ||
        (rc = put_bytes_field(&f, F_JSON_NAME, jn.data, jn.len)) != ZS_OK)
        goto out;
    rc = put_bytes_field(out, D_FIELD, f.data, f.len);
out:
    zs_buf_release(&f);
    zs_buf_release(&jn);
    return rc;
}

static zs_rc message_proto(struct zs_buf *out, unsigned as_field, const char *name,
                           const struct zs_struct *st, const char *outer_scope);

/* Map entry message: key = 1, value = 2, options { map_entry: true }. */
static zs_rc entry_proto(struct zs_buf *out, const struct zs_field *f, const char *scope)
{
    struct zs_buf m, sub;
    zs_buf_init(&m, out->max);
    zs_buf_init(&sub, out->max);
    const struct zs_type *v = f->type->value;
    zs_rc rc;
    if ((rc = put_str_field(&m, D_NAME, f->entry_name)) != ZS_OK ||
        (rc = field_proto(&m, "key", 1, LABEL_OPTIONAL, zs_schema__pb_type(f->type->key), scope,
                          NULL)) != ZS_OK ||
        (rc = field_proto(&m, "value", 2, LABEL_OPTIONAL, zs_schema__pb_type(v), scope,
                          v->kind == ZS_TYPE_STRUCT ? f->msg_name : NULL)) != ZS_OK ||
        (rc = put_varint_field(&sub, O_MAP_ENTRY, 1)) != ZS_OK ||
        (rc = put_bytes_field(&m, D_OPTIONS, sub.data, sub.len)) != ZS_OK)
        goto out;
    rc = put_bytes_field(out, D_NESTED, m.data, m.len);
out:
    zs_buf_release(&m);
    zs_buf_release(&sub);
    return rc;
}

/* The STRUCT behind a field (itself, its ARRAY element or MAP value), or NULL. */
static const struct zs_struct *field_struct(const struct zs_field *f)
{
    const struct zs_type *t = f->type;
    if (t->kind == ZS_TYPE_ARRAY)
        t = t->elem;
    else if (t->kind == ZS_TYPE_MAP)
        t = t->value;
    return t->kind == ZS_TYPE_STRUCT ? t->st : NULL;
}

static zs_rc message_proto(struct zs_buf *out, unsigned as_field, const char *name,
                           const struct zs_struct *st, const char *outer_scope)
{
    struct zs_buf m, scope;
    zs_buf_init(&m, out->max);
    zs_buf_init(&scope, 1 << 16);
    zs_rc rc;
    if ((rc = zs_buf_printf(&scope, "%s.%s", outer_scope, name)) != ZS_OK ||
        zs_buf_cstr(&scope) == NULL || (rc = put_str_field(&m, D_NAME, name)) != ZS_OK)
        goto out;
    const char *sc = (const char *)scope.data;
    for (size_t i = 0; i < st->nfields; i++) {
        const struct zs_field *f = &st->fields[i];
        int label = f->type->kind == ZS_TYPE_ARRAY || f->type->kind == ZS_TYPE_MAP
                        ? LABEL_REPEATED
                        : (f->nullable ? LABEL_OPTIONAL : LABEL_REQUIRED);
        const char *tn = f->type->kind == ZS_TYPE_MAP ? f->entry_name : f->msg_name;
        if ((rc = field_proto(&m, f->name, f->number, label, zs_schema__pb_type(f->type), sc,
                              tn)) != ZS_OK)
            goto out;
    }
    for (size_t i = 0; i < st->nfields; i++) {
        const struct zs_struct *sub = field_struct(&st->fields[i]);
        if (sub != NULL &&
            (rc = message_proto(&m, D_NESTED, st->fields[i].msg_name, sub, sc)) != ZS_OK)
            goto out;
    }
    for (size_t i = 0; i < st->nfields; i++) {
        if (st->fields[i].entry_name != NULL && (rc = entry_proto(&m, &st->fields[i], sc)) != ZS_OK)
            goto out;
    }
    rc = as_field ? put_bytes_field(out, as_field, m.data, m.len)
                  : zs_buf_append(out, m.data, m.len);
out:
    zs_buf_release(&m);
    zs_buf_release(&scope);
    return rc;
}

zs_rc zs_schema_descriptor(const struct zs_schema *s, struct zs_buf *out)
{
    char scope[512];
    size_t n = strlen(s->package);
    if (n + 2 > sizeof scope)
        return ZS_ELIMIT;
    scope[0] = '\0';
    if (n > 0) {
        scope[0] = '.';
        memcpy(scope + 1, s->package, n + 1);
    }
    return message_proto(out, 0, s->message_name, &s->root, scope);
}

/* ---------------------------------------------------------------- .proto text */

static const char *uc_note(const struct zs_type *t)
{
    switch (t->kind) {
    case ZS_TYPE_TINYINT:
    case ZS_TYPE_SMALLINT:
    case ZS_TYPE_DATE:
    case ZS_TYPE_TIMESTAMP:
    case ZS_TYPE_TIMESTAMP_NTZ:
    case ZS_TYPE_DECIMAL:
    case ZS_TYPE_VARIANT:
        return zs_type_kind_name(t->kind);
    default:
        return NULL;
    }
}

static zs_rc proto_message(struct zs_buf *b, const char *name, const struct zs_struct *st,
                           int indent)
{
    zs_rc rc = zs_buf_printf(b, "%*smessage %s {\n", indent, "", name);
    for (size_t i = 0; i < st->nfields && rc == ZS_OK; i++) {
        const struct zs_struct *sub = field_struct(&st->fields[i]);
        if (sub != NULL)
            rc = proto_message(b, st->fields[i].msg_name, sub, indent + 2);
    }
    for (size_t i = 0; i < st->nfields && rc == ZS_OK; i++) {
        const struct zs_field *f = &st->fields[i];
        const struct zs_type *t = f->type;
        rc = zs_buf_printf(b, "%*s", indent + 2, "");
        if (rc != ZS_OK)
            break;
        if (t->kind == ZS_TYPE_MAP) {
            const char *vt = t->value->kind == ZS_TYPE_STRUCT
                                 ? f->msg_name
                                 : zs_schema__pb_name(zs_schema__pb_type(t->value));
            rc = zs_buf_printf(b, "map<%s, %s> %s = %u;",
                               zs_schema__pb_name(zs_schema__pb_type(t->key)), vt, f->name,
                               f->number);
        } else {
            const struct zs_type *et = t->kind == ZS_TYPE_ARRAY ? t->elem : t;
            const char *label = t->kind == ZS_TYPE_ARRAY ? "repeated"
                                : f->nullable            ? "optional"
                                                         : "required";
            const char *tn = et->kind == ZS_TYPE_STRUCT
                                 ? f->msg_name
                                 : zs_schema__pb_name(zs_schema__pb_type(et));
            rc = zs_buf_printf(b, "%s %s %s = %u;", label, tn, f->name, f->number);
        }
        if (rc != ZS_OK)
            break;
        const struct zs_type *nt = t->kind == ZS_TYPE_ARRAY ? t->elem
                                   : t->kind == ZS_TYPE_MAP ? t->value
                                                            : t;
        const char *note = uc_note(nt);
        if (note == NULL && t->kind == ZS_TYPE_MAP)
            note = uc_note(t->key);
        if (note != NULL) {
            rc = zs_buf_puts(b, " // ");
            if (rc == ZS_OK)
                rc = zs_type_format(t, b);
        }
        if (rc == ZS_OK)
            rc = zs_buf_puts(b, "\n");
    }
    if (rc == ZS_OK)
        rc = zs_buf_printf(b, "%*s}\n", indent, "");
    return rc;
}

zs_rc zs_schema_proto_text(const struct zs_schema *s, struct zs_buf *out)
{
    zs_rc rc = zs_buf_puts(out, "syntax = \"proto2\";\n\n");
    if (rc == ZS_OK && s->package[0] != '\0')
        rc = zs_buf_printf(out, "package %s;\n\n", s->package);
    if (rc == ZS_OK)
        rc = proto_message(out, s->message_name, &s->root, 0);
    return rc;
}
