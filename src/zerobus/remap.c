/*
 * Records encoded for one descriptor, rewritten for another after the table changed
 * (see zerobus_int.h): columns are matched by name, values copied as they are (same type
 * and label required), tags renumbered, fields written in the new numbering's order.
 * Untrusted only in the sense that the records come from the spool (CRC-checked): every
 * read is bounded. Thread: any (a plan is immutable).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/zs_mem.h"
#include "google/protobuf/descriptor.pb-c.h"
#include "zerobus/zerobus_int.h"

typedef Google__Protobuf__DescriptorProto DP;
typedef Google__Protobuf__FieldDescriptorProto FDP;

enum { MAP_DROPPED = -1, MAP_CHANGED = -2 };

struct zb_remap_field {
    uint32_t old_number;
    int to; /* index into new fields, or MAP_DROPPED / MAP_CHANGED */
    char name[128];
};

struct zb_remap {
    struct zb_remap_field *f;
    size_t n;
    uint32_t *new_numbers; /* by new index */
    bool *new_required;
    char (*new_names)[128];
    size_t nnew;
};

/* The nested type a field names (its last path component), or NULL. */
static const DP *nested_of(const DP *root, const FDP *f)
{
    if (f->type_name == NULL)
        return NULL;
    const char *dot = strrchr(f->type_name, '.');
    const char *simple = dot ? dot + 1 : f->type_name;
    for (size_t i = 0; i < root->n_nested_type; i++)
        if (root->nested_type[i]->name != NULL && strcmp(root->nested_type[i]->name, simple) == 0)
            return root->nested_type[i];
    return NULL;
}

/* Same nested message in both descriptors (byte for byte). */
static bool same_nested(const DP *a, const DP *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    size_t la = google__protobuf__descriptor_proto__get_packed_size(a);
    size_t lb = google__protobuf__descriptor_proto__get_packed_size(b);
    if (la != lb)
        return false;
    uint8_t *pa = zs_alloc(la ? la : 1), *pb = zs_alloc(lb ? lb : 1);
    bool same = pa != NULL && pb != NULL;
    if (same) {
        google__protobuf__descriptor_proto__pack(a, pa);
        google__protobuf__descriptor_proto__pack(b, pb);
        same = memcmp(pa, pb, la) == 0;
    }
    zs_free(pa);
    zs_free(pb);
    return same;
}

struct zb_remap *zb_remap_create(const uint8_t *old_desc, size_t old_len, const uint8_t *new_desc,
                                 size_t new_len, char *why, size_t cap)
{
    DP *o = google__protobuf__descriptor_proto__unpack(NULL, old_len, old_desc);
    DP *n = google__protobuf__descriptor_proto__unpack(NULL, new_len, new_desc);
    struct zb_remap *m = zs_calloc(1, sizeof *m);
    if (o == NULL || n == NULL || m == NULL) {
        snprintf(why, cap, "a descriptor does not parse");
        goto fail;
    }
    m->n = o->n_field;
    m->nnew = n->n_field;
    m->f = zs_calloc(m->n ? m->n : 1, sizeof *m->f);
    m->new_numbers = zs_calloc(m->nnew ? m->nnew : 1, sizeof *m->new_numbers);
    m->new_required = zs_calloc(m->nnew ? m->nnew : 1, sizeof *m->new_required);
    m->new_names = zs_calloc(m->nnew ? m->nnew : 1, sizeof *m->new_names);
    if (m->f == NULL || m->new_numbers == NULL || m->new_required == NULL || m->new_names == NULL) {
        snprintf(why, cap, "out of memory");
        goto fail;
    }
    for (size_t k = 0; k < m->nnew; k++) {
        const FDP *nf = n->field[k];
        m->new_numbers[k] = (uint32_t)nf->number;
        m->new_required[k] =
            nf->label == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REQUIRED;
        snprintf(m->new_names[k], sizeof m->new_names[k], "%s", nf->name ? nf->name : "");
    }
    for (size_t i = 0; i < m->n; i++) {
        const FDP *of = o->field[i];
        struct zb_remap_field *rf = &m->f[i];
        rf->old_number = (uint32_t)of->number;
        snprintf(rf->name, sizeof rf->name, "%s", of->name ? of->name : "");
        rf->to = MAP_DROPPED;
        for (size_t k = 0; k < m->nnew; k++) {
            const FDP *nf = n->field[k];
            if (nf->name == NULL || of->name == NULL || strcmp(nf->name, of->name) != 0)
                continue;
            bool rep_o =
                of->label == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REPEATED;
            bool rep_n =
                nf->label == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REPEATED;
            bool same = of->type == nf->type && rep_o == rep_n &&
                        same_nested(nested_of(o, of), nested_of(n, nf));
            rf->to = same ? (int)k : MAP_CHANGED;
            break;
        }
    }
    google__protobuf__descriptor_proto__free_unpacked(o, NULL);
    google__protobuf__descriptor_proto__free_unpacked(n, NULL);
    return m;
fail:
    if (o != NULL)
        google__protobuf__descriptor_proto__free_unpacked(o, NULL);
    if (n != NULL)
        google__protobuf__descriptor_proto__free_unpacked(n, NULL);
    zb_remap_destroy(m);
    return NULL;
}

void zb_remap_destroy(struct zb_remap *m)
{
    if (m == NULL)
        return;
    zs_free(m->f);
    zs_free(m->new_numbers);
    zs_free(m->new_required);
    zs_free(m->new_names);
    zs_free(m);
}

static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

struct span {
    int to;             /* new field index */
    uint32_t wire;      /* wire type */
    const uint8_t *val; /* the value's bytes (length prefix included for wire type 2) */
    size_t len;
};

static int by_new_index(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    if (x->to != y->to)
        return x->to < y->to ? -1 : 1;
    return x->val < y->val ? -1 : x->val > y->val; /* repeated values keep their order */
}

static size_t put_varint(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

int zb_remap_record(const struct zb_remap *m, const uint8_t *rec, size_t len, uint8_t **out,
                    size_t *out_len, char *why, size_t cap)
{
    size_t nspans = 0, spans_cap = 16;
    struct span *spans = zs_alloc(spans_cap * sizeof *spans);
    bool *seen = zs_calloc(m->nnew ? m->nnew : 1, sizeof *seen);
    int rc = -1;
    if (spans == NULL || seen == NULL) {
        snprintf(why, cap, "out of memory");
        goto out;
    }
    const uint8_t *p = rec, *end = rec + len;
    while (p < end) {
        uint64_t key, v;
        if (get_varint(&p, end, &key) != 0) {
            snprintf(why, cap, "not a protobuf record");
            goto out;
        }
        uint32_t number = (uint32_t)(key >> 3), wire = (uint32_t)(key & 7);
        const uint8_t *val = p;
        if (wire == 0) {
            if (get_varint(&p, end, &v) != 0)
                goto bad;
        } else if (wire == 1 || wire == 5) {
            size_t w = wire == 1 ? 8 : 4;
            if ((size_t)(end - p) < w)
                goto bad;
            p += w;
        } else if (wire == 2) {
            if (get_varint(&p, end, &v) != 0 || v > (uint64_t)(end - p))
                goto bad;
            p += v;
        } else {
            goto bad;
        }
        const struct zb_remap_field *f = NULL;
        for (size_t i = 0; i < m->n && f == NULL; i++)
            if (m->f[i].old_number == number)
                f = &m->f[i];
        if (f == NULL) {
            snprintf(why, cap, "field %u is not in the record's descriptor", number);
            goto out;
        }
        if (f->to == MAP_DROPPED) {
            snprintf(why, cap, "column '%s' has a value but is no longer in the table", f->name);
            goto out;
        }
        if (f->to == MAP_CHANGED) {
            snprintf(why, cap, "column '%s' has a value but changed type in the table", f->name);
            goto out;
        }
        if (nspans == spans_cap) {
            void *g = zs_grow(spans, &spans_cap, nspans, sizeof *spans, 16);
            if (g == NULL) {
                snprintf(why, cap, "out of memory");
                goto out;
            }
            spans = g;
        }
        spans[nspans++] = (struct span){f->to, wire, val, (size_t)(p - val)};
        seen[f->to] = true;
    }
    for (size_t k = 0; k < m->nnew; k++) {
        if (m->new_required[k] && !seen[k]) {
            snprintf(why, cap, "column '%s' is NOT NULL in the table and the record has no value",
                     m->new_names[k]);
            goto out;
        }
    }
    qsort(spans, nspans, sizeof *spans, by_new_index);
    uint8_t *o = zs_alloc(len + nspans * 5 + 1); /* a new tag is at most 5 bytes */
    if (o == NULL) {
        snprintf(why, cap, "out of memory");
        goto out;
    }
    size_t w = 0;
    for (size_t i = 0; i < nspans; i++) {
        w += put_varint(o + w, (uint64_t)m->new_numbers[spans[i].to] << 3 | spans[i].wire);
        memcpy(o + w, spans[i].val, spans[i].len);
        w += spans[i].len;
    }
    *out = o;
    *out_len = w;
    rc = 0;
    goto out;
bad:
    snprintf(why, cap, "the record is truncated or malformed");
out:
    zs_free(spans);
    zs_free(seen);
    return rc;
}

int zb_rec_remap(struct zs_zb_table *t, const struct zb_remap *m, struct zb_rec *r, char *reason,
                 size_t cap)
{
    uint8_t *out = NULL;
    size_t out_len = 0;
    char why[300];
    if (zb_remap_record(m, r->data, r->len, &out, &out_len, why, sizeof why) != 0) {
        snprintf(reason, cap, "the table's schema changed and the record no longer fits it: %s",
                 why);
        return -1;
    }
    atomic_fetch_add(&t->outstanding_bytes, (unsigned long long)out_len);
    atomic_fetch_sub(&t->outstanding_bytes, (unsigned long long)r->len);
    zs_free(r->data);
    r->data = out;
    r->len = (uint32_t)out_len;
    return 0;
}
