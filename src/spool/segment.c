/*
 * The spool's on-disk format (spool_int.h has the byte layout): pure functions over
 * bytes, so recovery can be unit-tested and fuzzed without files. Thread: any.
 */
#include <stdio.h>
#include <string.h>

#include "core/zs_crc32c.h"
#include "spool/spool_int.h"

_Static_assert(sizeof ZS_SEG_MAGIC - 1 == 8, "the magic is 8 bytes");

zs_rc zs_seg_header_encode(const struct zs_seg_header *h, struct zs_buf *out)
{
    if (h->table_len == 0 || h->table_len > ZS_SEG_MAX_NAME || h->desc_len > ZS_SEG_MAX_DESC)
        return ZS_EINVAL;
    size_t hl = ZS_SEG_FIXED + h->table_len + h->desc_len + 4;
    zs_rc rc = zs_buf_reserve(out, hl);
    if (rc != ZS_OK)
        return rc;
    uint8_t *p = out->data + out->len;
    memcpy(p, ZS_SEG_MAGIC, 8);
    zs_le32(p + 8, ZS_SEG_VERSION);
    zs_le32(p + 12, (uint32_t)hl);
    zs_le64(p + 16, h->first_seq);
    zs_le64(p + 24, h->created_ms);
    zs_le32(p + 32, h->record_type);
    p[36] = (uint8_t)h->table_len;
    p[37] = (uint8_t)(h->table_len >> 8);
    zs_le32(p + 38, (uint32_t)h->desc_len);
    memcpy(p + ZS_SEG_FIXED, h->table, h->table_len);
    if (h->desc_len > 0)
        memcpy(p + ZS_SEG_FIXED + h->table_len, h->desc, h->desc_len);
    zs_le32(p + hl - 4, zs_crc32c(0, p, hl - 4));
    out->len += hl;
    return ZS_OK;
}

zs_rc zs_seg_header_decode(const uint8_t *p, size_t n, struct zs_seg_header *out, size_t *out_len)
{
    if (n < ZS_SEG_FIXED + 4)
        return n >= 8 && memcmp(p, ZS_SEG_MAGIC, 8) != 0 ? ZS_ECORRUPT : ZS_EAGAIN;
    if (memcmp(p, ZS_SEG_MAGIC, 8) != 0 || zs_rd32(p + 8) != ZS_SEG_VERSION)
        return ZS_ECORRUPT;
    uint32_t hl = zs_rd32(p + 12);
    size_t name_len = (size_t)p[36] | (size_t)p[37] << 8;
    uint32_t desc_len = zs_rd32(p + 38);
    if (name_len == 0 || name_len > ZS_SEG_MAX_NAME || desc_len > ZS_SEG_MAX_DESC ||
        (uint64_t)hl != (uint64_t)ZS_SEG_FIXED + name_len + desc_len + 4)
        return ZS_ECORRUPT;
    if (n < hl)
        return ZS_EAGAIN;
    if (zs_crc32c(0, p, hl - 4) != zs_rd32(p + hl - 4))
        return ZS_ECORRUPT;
    *out = (struct zs_seg_header){
        .first_seq = zs_rd64(p + 16),
        .created_ms = zs_rd64(p + 24),
        .record_type = zs_rd32(p + 32),
        .table = (const char *)p + ZS_SEG_FIXED,
        .table_len = name_len,
        .desc = p + ZS_SEG_FIXED + name_len,
        .desc_len = desc_len,
    };
    *out_len = hl;
    return ZS_OK;
}

void zs_seg_frame_head(uint8_t head[ZS_SEG_FRAME], const void *rec, uint32_t len)
{
    zs_le32(head, len);
    zs_le32(head + 4, zs_crc32c(zs_crc32c(0, head, 4), rec, len));
}

zs_rc zs_seg_next(const uint8_t *p, size_t n, size_t *off, struct zs_slice *rec)
{
    size_t o = *off;
    if (o >= n)
        return ZS_ENOTFOUND;
    if (n - o < ZS_SEG_FRAME)
        return ZS_EAGAIN;
    uint32_t len = zs_rd32(p + o);
    if (len > ZS_SEG_MAX_RECORD)
        return ZS_ECORRUPT;
    if (n - o - ZS_SEG_FRAME < len)
        return ZS_EAGAIN;
    uint32_t crc = zs_crc32c(zs_crc32c(0, p + o, 4), p + o + ZS_SEG_FRAME, len);
    if (crc != zs_rd32(p + o + 4))
        return ZS_ECORRUPT;
    *rec = (struct zs_slice){p + o + ZS_SEG_FRAME, len};
    *off = o + ZS_SEG_FRAME + len;
    return ZS_OK;
}

void zs_ckpt_encode(uint8_t out[ZS_CKPT_LEN], uint64_t frontier)
{
    memcpy(out, ZS_CKPT_MAGIC, 8);
    zs_le64(out + 8, frontier);
    zs_le32(out + 16, zs_crc32c(0, out, 16));
}

zs_rc zs_ckpt_decode(const uint8_t *p, size_t n, uint64_t *frontier)
{
    if (n < ZS_CKPT_LEN || memcmp(p, ZS_CKPT_MAGIC, 8) != 0 ||
        zs_crc32c(0, p, 16) != zs_rd32(p + 16))
        return ZS_ECORRUPT;
    *frontier = zs_rd64(p + 8);
    return ZS_OK;
}

void zs_seg_name(char out[32], uint64_t first_seq)
{
    snprintf(out, 32, "%020llu.seg", (unsigned long long)first_seq);
}

int zs_seg_name_parse(const char *name, uint64_t *first_seq)
{
    uint64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9')
            return -1;
        uint64_t d = (uint64_t)(name[i] - '0');
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, d, &v))
            return -1;
    }
    if (strcmp(name + 20, ".seg") != 0)
        return -1;
    *first_seq = v;
    return 0;
}

static int plain(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

void zs_spool_table_dirname(const char *table, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; table[i] != '\0' && o + 4 < cap; i++) {
        unsigned char c = (unsigned char)table[i];
        if (plain(c) && !(i == 0 && c == '.')) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

static int unhex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int zs_spool_table_dirname_parse(const char *dir, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; dir[i] != '\0'; i++) {
        if (o + 1 >= cap)
            return -1;
        if (dir[i] == '%') {
            int a = unhex(dir[i + 1]), b = a < 0 ? -1 : unhex(dir[i + 2]);
            if (a < 0 || b < 0 || (a == 0 && b == 0))
                return -1;
            out[o++] = (char)(a << 4 | b);
            i += 2;
        } else if (plain((unsigned char)dir[i])) {
            out[o++] = dir[i];
        } else {
            return -1;
        }
    }
    out[o] = '\0';
    return o > 0 ? 0 : -1;
}
