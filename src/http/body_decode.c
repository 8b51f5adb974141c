/*
 * Request body decompression with zlib and libzstd. See body_decode.h.
 */
#include "http/body_decode.h"

#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>

/* Output produced per step: the cap is checked between steps. */
#define STEP (64u * 1024)

int zs_body_coding_parse(const uint8_t *v, size_t len, enum zs_body_coding *out)
{
    while (len > 0 && (v[0] == ' ' || v[0] == '\t'))
        v++, len--;
    while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    static const struct {
        const char *name;
        enum zs_body_coding c;
    } names[] = {{"identity", ZS_CODING_IDENTITY},
                 {"gzip", ZS_CODING_GZIP},
                 {"x-gzip", ZS_CODING_GZIP},
                 {"deflate", ZS_CODING_DEFLATE},
                 {"zstd", ZS_CODING_ZSTD}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (len == strlen(names[i].name) && strncasecmp((const char *)v, names[i].name, len) == 0) {
            *out = names[i].c;
            return 0;
        }
    }
    return -1;
}

/* Room for the next step of output, within the cap. */
static zs_rc room(struct zs_buf *out, size_t max_out, size_t *avail)
{
    if (out->len >= max_out)
        return ZS_ELIMIT;
    size_t want = max_out - out->len < STEP ? max_out - out->len : STEP;
    zs_rc rc = zs_buf_reserve(out, want);
    if (rc != ZS_OK)
        return rc == ZS_ELIMIT ? ZS_ELIMIT : ZS_ENOMEM;
    *avail = want;
    return ZS_OK;
}

static zs_rc inflate_all(const uint8_t *in, size_t len, size_t max_out, int window_bits,
                         struct zs_buf *out, const char **why)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, window_bits) != Z_OK)
        return ZS_ENOMEM;
    z.next_in = (Bytef *)(uintptr_t)in; /* zlib does not write through it */
    z.avail_in = (uInt)len;
    zs_rc rc = ZS_OK;
    int zr = Z_OK;
    while (zr != Z_STREAM_END) {
        size_t avail;
        if ((rc = room(out, max_out, &avail)) != ZS_OK) {
            *why = rc == ZS_ELIMIT ? "decoded body too large" : "out of memory";
            break;
        }
        z.next_out = out->data + out->len;
        z.avail_out = (uInt)avail;
        zr = inflate(&z, Z_NO_FLUSH);
        out->len += avail - z.avail_out;
        if (zr == Z_NEED_DICT || zr == Z_DATA_ERROR || zr == Z_MEM_ERROR ||
            (zr == Z_BUF_ERROR && z.avail_in == 0)) {
            rc = zr == Z_MEM_ERROR ? ZS_ENOMEM : ZS_EPARSE;
            *why = z.avail_in == 0 && zr == Z_BUF_ERROR ? "compressed body is truncated"
                                                        : "compressed body is corrupt";
            break;
        }
    }
    if (rc == ZS_OK && z.avail_in != 0) {
        rc = ZS_EPARSE;
        *why = "bytes after the end of the compressed body";
    }
    inflateEnd(&z);
    return rc;
}

static zs_rc unzstd_all(const uint8_t *in, size_t len, size_t max_out, struct zs_buf *out,
                        const char **why)
{
    ZSTD_DCtx *d = ZSTD_createDCtx();
    if (d == NULL)
        return ZS_ENOMEM;
    /* A frame's window is capped too: a header may ask for gigabytes of it. */
    ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, 27);
    ZSTD_inBuffer ib = {in, len, 0};
    zs_rc rc = ZS_OK;
    size_t zr = 1;
    while (ib.pos < ib.size || zr != 0) {
        size_t avail;
        if ((rc = room(out, max_out, &avail)) != ZS_OK) {
            *why = rc == ZS_ELIMIT ? "decoded body too large" : "out of memory";
            break;
        }
        ZSTD_outBuffer ob = {out->data + out->len, avail, 0};
        zr = ZSTD_decompressStream(d, &ob, &ib);
        out->len += ob.pos;
        if (ZSTD_isError(zr)) {
            rc = ZS_EPARSE;
            *why = "compressed body is corrupt";
            break;
        }
        if (zr != 0 && ib.pos == ib.size && ob.pos < avail) {
            rc = ZS_EPARSE; /* all flushed, the frame not over, no input left */
            *why = "compressed body is truncated";
            break;
        }
    }
    ZSTD_freeDCtx(d);
    return rc;
}

zs_rc zs_body_decode(enum zs_body_coding coding, const uint8_t *in, size_t len, size_t max_out,
                     struct zs_buf *out, const char **why)
{
    out->len = 0;
    *why = "";
    switch (coding) {
    case ZS_CODING_GZIP:
        return inflate_all(in, len, max_out, 16 + MAX_WBITS, out, why);
    case ZS_CODING_DEFLATE:
        /* RFC 9110 says zlib format; some clients send raw deflate: the first byte tells. */
        return inflate_all(in, len, max_out,
                           len > 0 && (in[0] & 0x0f) == 8 ? MAX_WBITS : -MAX_WBITS, out, why);
    case ZS_CODING_ZSTD:
        return unzstd_all(in, len, max_out, out, why);
    case ZS_CODING_IDENTITY:
    default:
        if (len > max_out) {
            *why = "body too large";
            return ZS_ELIMIT;
        }
        return zs_buf_append(out, in, len);
    }
}
