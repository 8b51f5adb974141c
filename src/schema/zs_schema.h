/*
 * Table schemas: Unity Catalog column types, their protobuf mapping
 * (zerobus-protocol.md §6), the serialized DescriptorProto a Zerobus stream is
 * opened with, the .proto text of a table, and the compiled form the JSON→protobuf
 * transcoder (zs_transcode.h) walks.
 *
 * A struct zs_schema is immutable once created; any thread may read it.
 * All objects reachable from it are owned by it and die with zs_schema_destroy.
 */
#ifndef ZS_SCHEMA_H
#define ZS_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/zs_buf.h"
#include "core/zs_err.h"

enum zs_type_kind {
    ZS_TYPE_TINYINT,
    ZS_TYPE_SMALLINT,
    ZS_TYPE_INT,
    ZS_TYPE_BIGINT,
    ZS_TYPE_FLOAT,
    ZS_TYPE_DOUBLE,
    ZS_TYPE_BOOLEAN,
    ZS_TYPE_STRING,
    ZS_TYPE_BINARY,
    ZS_TYPE_DATE,
    ZS_TYPE_TIMESTAMP,
    ZS_TYPE_TIMESTAMP_NTZ,
    ZS_TYPE_DECIMAL,
    ZS_TYPE_VARIANT,
    ZS_TYPE_ARRAY,
    ZS_TYPE_MAP,
    ZS_TYPE_STRUCT,
};

struct zs_struct;

struct zs_type {
    enum zs_type_kind kind;
    uint8_t precision;           /* DECIMAL: 1..38 */
    uint8_t scale;               /* DECIMAL: 0..precision */
    const struct zs_type *elem;  /* ARRAY: element type (elements are NOT NULL) */
    const struct zs_type *key;   /* MAP: key type (integral, BOOLEAN, STRING, DATE, TIMESTAMP*) */
    const struct zs_type *value; /* MAP: value type (not ARRAY or MAP) */
    const struct zs_struct *st;  /* STRUCT: its fields */
};

struct zs_field {
    const char *name;
    size_t name_len;
    uint32_t number; /* protobuf field number */
    bool nullable;   /* false: NOT NULL (proto2 required) */
    const struct zs_type *type;
    const char *msg_name;   /* nested message of a STRUCT, ARRAY<STRUCT> or MAP value; else NULL */
    const char *entry_name; /* MAP: the map-entry message ("PropsEntry"); else NULL */
    uint8_t tag[5];         /* encoded key (number << 3 | wire type) of one value */
    uint8_t tag_len;
    uint64_t key_head, key_tail; /* name lookup words (schema_int.h zs_key_words) */
};

struct zs_struct {
    const struct zs_field *fields; /* declaration order */
    size_t nfields;
    const uint32_t *slots; /* name hash table: field index + 1, 0 = empty */
    uint32_t slot_mask;
    const uint64_t *required; /* bitmap over field indexes: NOT NULL fields */
    size_t nwords;            /* words in the bitmaps */
    size_t frame_bytes;       /* transcoder scratch this struct and its children need */
};

struct zs_schema {
    const char *package;      /* proto package, may be "" */
    const char *message_name; /* root message name */
    struct zs_struct root;
    unsigned depth; /* deepest nesting of STRUCT/ARRAY/MAP (top level = 1) */
    /* Transcoder options, fixed at compile time. */
    bool reject_unknown;     /* unknown JSON keys are errors (else skipped) */
    unsigned max_depth;      /* JSON nesting limit, VARIANT values included */
    size_t max_record_bytes; /* encoded record ceiling */
    struct zs_arena *arena;  /* owns everything above */
};

/* One column as configured: the seed's form or a Unity Catalog type. */
struct zs_column_def {
    const char *name;
    const char *type;       /* "string"/"int32"/... or "TIMESTAMP", "ARRAY<STRUCT<a:INT>>", ... */
    int nullable;           /* 1, 0, or -1 when not given */
    const char *proto_type; /* seed's "optional string"; NULL when not given */
    int64_t field_num;      /* 0 when not given: position-derived */
};

struct zs_schema_opts {
    const char *package;      /* may be NULL or "" */
    const char *message_name; /* required: a protobuf identifier */
    bool reject_unknown;
    unsigned max_depth;      /* 0 = 64 */
    size_t max_record_bytes; /* 0 = 1 MiB */
};

#define ZS_SCHEMA_MAX_COLUMNS 2000
#define ZS_SCHEMA_MAX_NESTING 32

/*
 * Compile n column definitions into a schema.
 * out:          OUT, set on ZS_OK; the caller owns it (zs_schema_destroy).
 * out_bad_col:  OUT, on ZS_ESCHEMA/ZS_EINVAL the index of the offending column, or
 *               (size_t)-1 for a table-level problem; may be NULL.
 * err:          on failure, where = the column key at fault ("type", "field_num", "name",
 *               "proto_type", "nullable") or the option ("message_name", "proto_package").
 * Returns ZS_OK, ZS_ESCHEMA (bad column or type), ZS_EINVAL (bad option), ZS_ENOMEM.
 */
ZS_MUST_CHECK zs_rc zs_schema_create(const struct zs_schema_opts *opts,
                                     const struct zs_column_def *cols, size_t n,
                                     struct zs_schema **out, size_t *out_bad_col,
                                     struct zs_err *err);

/* Free a schema and everything it owns; NULL does nothing. */
void zs_schema_destroy(struct zs_schema *s);

/*
 * Parse one Unity Catalog type text (case-insensitive): TINYINT ... VARIANT,
 * DECIMAL(p,s), ARRAY<T>, MAP<K,V>, STRUCT<name: T [NOT NULL] [COMMENT '...'], ...>,
 * and the seed's int32/int64/bool aliases. The type is allocated in arena.
 * Returns ZS_OK, ZS_ESCHEMA (err.msg says what and where in the text), ZS_ENOMEM.
 */
ZS_MUST_CHECK zs_rc zs_type_parse(struct zs_arena *arena, const char *text,
                                  const struct zs_type **out, struct zs_err *err);

/* Canonical upper-case type text ("ARRAY<STRUCT<a: INT NOT NULL>>") appended to b. */
ZS_MUST_CHECK zs_rc zs_type_format(const struct zs_type *t, struct zs_buf *b);

/* The .proto scalar a value of t travels as ("int32" for DATE, "string" for DECIMAL, ...,
 * docs/TYPES.md), or NULL for ARRAY, MAP and STRUCT. */
const char *zs_type_pb_scalar(const struct zs_type *t);

/* Upper-case name of a kind ("TIMESTAMP_NTZ"). */
const char *zs_type_kind_name(enum zs_type_kind k);

/*
 * Append the JSON form of one encoded record of s to out (the transcoder's inverse: it
 * transcodes back to the same bytes). DATE and TIMESTAMP come out as ISO text, BINARY as
 * base64, DECIMAL as a string. For cold paths (dead letters, spool dump).
 * Returns ZS_OK; ZS_ECORRUPT (not a record of this schema: out unchanged); ZS_ELIMIT,
 * ZS_ENOMEM (out's cap). Thread: any.
 */
ZS_MUST_CHECK zs_rc zs_schema_to_json(const struct zs_schema *s, const uint8_t *rec, size_t len,
                                      struct zs_buf *out);

/* Field of st named name[0..len) (exact, case-sensitive); NULL if none. */
const struct zs_field *zs_struct_find(const struct zs_struct *st, const char *name, size_t len);

/*
 * Append the serialized google.protobuf.DescriptorProto of the root message (every
 * STRUCT and map entry nested inside it; type names fully qualified with the package,
 * as protoc writes them; labels proto2 optional/required/repeated).
 * Returns ZS_OK, ZS_ELIMIT, ZS_ENOMEM (from the buffer).
 */
ZS_MUST_CHECK zs_rc zs_schema_descriptor(const struct zs_schema *s, struct zs_buf *out);

/* Append the proto2 .proto text for the table. Same returns as zs_schema_descriptor. */
ZS_MUST_CHECK zs_rc zs_schema_proto_text(const struct zs_schema *s, struct zs_buf *out);

/* protoc's CamelCase of a field name plus suffix ("my_props" + "Entry" -> "MyPropsEntry"). */
ZS_MUST_CHECK zs_rc zs_schema_camel(const char *name, const char *suffix, struct zs_buf *out);

#endif
