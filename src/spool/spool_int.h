/*
 * Spool internals: the on-disk format (segment.c: pure functions over bytes, fuzzed), and
 * helpers shared by the daemon side (spool.c) and the offline tools (tools.c).
 *
 * Segment file (little-endian integers):
 *   0   8  magic "ZSSPOOL1"
 *   8   4  format version (1)
 *   12  4  header length H, the whole header including its CRC
 *   16  8  sequence number of the first record
 *   24  8  creation time, ms since the epoch
 *   32  4  record type (1 proto, 2 json)
 *   36  2  table name length N
 *   38  4  descriptor length D
 *   42  N  table name (catalog.schema.table)
 *   42+N D descriptor (serialized DescriptorProto the records were encoded with)
 *   H-4 4  CRC-32C of bytes [0, H-4)
 * then frames: 4 length L, 4 CRC-32C of (the 4 length bytes, the L record bytes), L bytes.
 * Records are numbered first_seq, first_seq+1, ... in file order.
 */
#ifndef ZS_SPOOL_INT_H
#define ZS_SPOOL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/zs_buf.h"
#include "core/zs_err.h"

#define ZS_SEG_MAGIC "ZSSPOOL1"
#define ZS_SEG_VERSION 1u
#define ZS_SEG_FIXED 42u              /* header bytes before the name */
#define ZS_SEG_FRAME 8u               /* frame head: length + CRC */
#define ZS_SEG_MAX_RECORD (10u << 20) /* larger lengths are corruption */
#define ZS_SEG_MAX_NAME 1024u
#define ZS_SEG_MAX_DESC (16u << 20)
#define ZS_CKPT_MAGIC "ZSCKPT01"
#define ZS_CKPT_LEN 20u /* magic, frontier (8), CRC-32C of the 16 bytes before */

struct zs_seg_header {
    uint64_t first_seq;
    uint64_t created_ms;
    uint32_t record_type;
    const char *table; /* decode: points into the input, not NUL-terminated */
    size_t table_len;
    const uint8_t *desc; /* decode: points into the input */
    size_t desc_len;
};

/* Append the encoded header to out. ZS_OK, ZS_ELIMIT/ZS_ENOMEM (buffer), ZS_EINVAL. */
ZS_MUST_CHECK zs_rc zs_seg_header_encode(const struct zs_seg_header *h, struct zs_buf *out);

/*
 * Decode a header from the start of p[0..n). *out_len: its length. ZS_OK; ZS_EAGAIN: n is
 * too short to tell (a torn header); ZS_ECORRUPT: not a segment, or a bad CRC.
 */
ZS_MUST_CHECK zs_rc zs_seg_header_decode(const uint8_t *p, size_t n, struct zs_seg_header *out,
                                         size_t *out_len);

/* The 8-byte frame head of a record. */
void zs_seg_frame_head(uint8_t head[ZS_SEG_FRAME], const void *rec, uint32_t len);

/*
 * The frame at p[*off..n): ZS_OK with rec set and *off past it; ZS_ENOTFOUND at a clean
 * end (*off == n); ZS_EAGAIN: the frame goes past n (torn, or read more); ZS_ECORRUPT:
 * a bad length or CRC. *off is unchanged unless ZS_OK.
 */
ZS_MUST_CHECK zs_rc zs_seg_next(const uint8_t *p, size_t n, size_t *off, struct zs_slice *rec);

/* Checkpoint file body: every record with seq <= frontier is acknowledged. */
void zs_ckpt_encode(uint8_t out[ZS_CKPT_LEN], uint64_t frontier);
ZS_MUST_CHECK zs_rc zs_ckpt_decode(const uint8_t *p, size_t n, uint64_t *frontier);

/* Segment file name for first_seq: 20 digits + ".seg" (sorts in sequence order). */
void zs_seg_name(char out[32], uint64_t first_seq);
/* Parse a segment file name; 0 ok, -1 not a segment name. */
int zs_seg_name_parse(const char *name, uint64_t *first_seq);

/* Directory name of a table: bytes outside [A-Za-z0-9_-.] and a leading '.' as %XX. */
void zs_spool_table_dirname(const char *table, char *out, size_t cap);
/* The inverse; 0 ok, -1 malformed. */
int zs_spool_table_dirname_parse(const char *dir, char *out, size_t cap);

/* Little-endian helpers. */
static inline void zs_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline void zs_le64(uint8_t *p, uint64_t v)
{
    zs_le32(p, (uint32_t)v);
    zs_le32(p + 4, (uint32_t)(v >> 32));
}
static inline uint32_t zs_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t zs_rd64(const uint8_t *p)
{
    return (uint64_t)zs_rd32(p) | (uint64_t)zs_rd32(p + 4) << 32;
}

#endif
