/* Internals shared by the schema module's files. Thread: any (pure helpers). */
#ifndef ZS_SCHEMA_INT_H
#define ZS_SCHEMA_INT_H

#include <stdint.h>
#include <string.h>

#include "schema/zs_schema.h"

enum { ZS_WT_VARINT = 0, ZS_WT_I64 = 1, ZS_WT_LEN = 2, ZS_WT_I32 = 5 };

/* google.protobuf.FieldDescriptorProto.Type values. */
enum {
    ZS_PB_DOUBLE = 1,
    ZS_PB_FLOAT = 2,
    ZS_PB_INT64 = 3,
    ZS_PB_INT32 = 5,
    ZS_PB_BOOL = 8,
    ZS_PB_STRING = 9,
    ZS_PB_MESSAGE = 11,
    ZS_PB_BYTES = 12,
};

/* Protobuf scalar of a non-container kind: ZS_PB_* value. STRUCT → ZS_PB_MESSAGE. */
int zs_schema__pb_type(const struct zs_type *t);

/* .proto spelling of a ZS_PB_* scalar ("int32", "string", ...). */
const char *zs_schema__pb_name(int pb_type);

/* Wire type of one encoded value of t (for ARRAY: of one element; MAP/STRUCT: LEN). */
int zs_schema__wire_type(const struct zs_type *t);

/*
 * protoc's CamelCase of a field name: drop '_', upper-case the letter after each, and the
 * first letter when upper_first (message names) but not for json_name; then add suffix.
 */
zs_rc zs_schema__camel(const char *name, int upper_first, const char *suffix, struct zs_buf *out);

/* A STRUCT<...> member as parsed from type text. */
struct zs_type_member {
    const char *name; /* points into the type text */
    size_t name_len;
    const struct zs_type *type;
    bool nullable;
};

/* Build the zs_struct of a STRUCT type from its members (schema.c). ZS_ESCHEMA, ZS_ENOMEM. */
zs_rc zs_schema__struct_from_members(struct zs_arena *arena, const struct zs_type_member *m,
                                     size_t n, const struct zs_struct **out, struct zs_err *err,
                                     const char *type_text);

/*
 * Column lookup key: the first and last 8 bytes of a name (zero-padded below 8) plus its
 * length. Equal words and lengths mean equal names up to 16 bytes; longer names compare
 * their middle too. One multiply-mix hash serves the open-addressing table.
 */
static inline void zs_key_words(const void *name, size_t len, uint64_t *head, uint64_t *tail)
{
    uint64_t h = 0, t = 0;
    if (len >= 8) {
        memcpy(&h, name, 8);
        memcpy(&t, (const uint8_t *)name + len - 8, 8);
    } else {
        memcpy(&h, name, len);
        t = h;
    }
    *head = h;
    *tail = t;
}

static inline uint32_t zs_key_hash(size_t len, uint64_t head, uint64_t tail)
{
    uint64_t x = (head * 0x9E3779B97F4A7C15ull) ^ (tail * 0xC2B2AE3D27D4EB4Full) ^ len;
    x ^= x >> 29;
    return (uint32_t)(x ^ (x >> 32));
}

static inline unsigned zs_varint_len(uint64_t v)
{
    unsigned n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Write v as a varint at p (room for 10 bytes); returns bytes written. */
static inline unsigned zs_varint_put(uint8_t *p, uint64_t v)
{
    unsigned n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

#endif
