/*
 * Request body decompression with zlib and libzstd. See body_decode.h.
 */
#include "http/body_decode.h"

#include <stdlib.h>
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

/*
 * Where the next step of output goes: room in out, within the cap; at the cap, a one-byte
 * probe (a stream may end exactly there: only a byte written to the probe is one too many).
 */
static zs_rc window(struct zs_buf *out, size_t max_out, uint8_t *probe, uint8_t **w, size_t *avail)
{
    if (out->len >= max_out) {
        *w = probe;
        *avail = 1;
        return ZS_OK;
    }
    size_t want = max_out - out->len < STEP ? max_out - out->len : STEP;
    zs_rc rc = zs_buf_reserve(out, want);
    if (rc != ZS_OK)
        return rc == ZS_ELIMIT ? ZS_ELIMIT : ZS_ENOMEM;
    *w = out->data + out->len;
    *avail = want;
    return ZS_OK;
}

/* Count a step's output n, written at w. Returns ZS_OK, or ZS_ELIMIT past the cap. */
static zs_rc produced(struct zs_buf *out, const uint8_t *w, const uint8_t *probe, size_t n,
                      const char **why)
{
    if (w != probe) {
        out->len += n;
        return ZS_OK;
    }
    if (n == 0)
        return ZS_OK;
    *why = "decoded body too large";
    return ZS_ELIMIT;
}

static zs_rc no_room(zs_rc rc, const char **why)
{
    *why = rc == ZS_ELIMIT ? "decoded body too large" : "out of memory";
    return rc;
}

static zs_rc inflate_feed(struct zs_body_decoder *d, const uint8_t *in, size_t len,
                          struct zs_buf *out, const char **why)
{
    z_stream *z = d->z;
    if (!d->started) {
        /* RFC 9110 says zlib format for deflate; some clients send raw deflate: the first
         * byte tells (a zlib header's low nibble is 8, the method). */
        int bits = d->coding == ZS_CODING_GZIP ? 16 + MAX_WBITS
                   : (in[0] & 0x0f) == 8       ? MAX_WBITS
                                               : -MAX_WBITS;
        if (inflateInit2(z, bits) != Z_OK)
            return ZS_ENOMEM;
        d->started = 1;
    }
    z->next_in = (Bytef *)(uintptr_t)in; /* zlib does not write through it */
    z->avail_in = (uInt)len;
    int pending = 0; /* the last step filled the output: inflate may hold more */
    while (!d->done && (z->avail_in > 0 || pending)) {
        size_t avail;
        uint8_t probe[1], *w;
        zs_rc rc = window(out, d->max_out, probe, &w, &avail);
        if (rc != ZS_OK)
            return no_room(rc, why);
        z->next_out = w;
        z->avail_out = (uInt)avail;
        int zr = inflate(z, Z_NO_FLUSH);
        if ((rc = produced(out, w, probe, avail - z->avail_out, why)) != ZS_OK)
            return rc;
        if (zr == Z_STREAM_END) {
            d->done = 1;
        } else if (zr == Z_NEED_DICT || zr == Z_DATA_ERROR || zr == Z_MEM_ERROR) {
            *why = zr == Z_MEM_ERROR ? "out of memory" : "compressed body is corrupt";
            return zr == Z_MEM_ERROR ? ZS_ENOMEM : ZS_EPARSE;
        } else if (zr == Z_BUF_ERROR) {
            break; /* no progress: it needs more input */
        }
        pending = z->avail_out == 0;
    }
    if (d->done && z->avail_in > 0) {
        *why = "bytes after the end of the compressed body";
        return ZS_EPARSE;
    }
    return ZS_OK;
}

static zs_rc unzstd_feed(struct zs_body_decoder *d, const uint8_t *in, size_t len,
                         struct zs_buf *out, const char **why)
{
    ZSTD_inBuffer ib = {in, len, 0};
    for (;;) {
        size_t avail;
        uint8_t probe[1], *w;
        zs_rc rc = window(out, d->max_out, probe, &w, &avail);
        if (rc != ZS_OK)
            return no_room(rc, why);
        ZSTD_outBuffer ob = {w, avail, 0};
        d->hint = ZSTD_decompressStream(d->z, &ob, &ib);
        if (ZSTD_isError(d->hint)) {
            *why = "compressed body is corrupt";
            return ZS_EPARSE;
        }
        if ((rc = produced(out, w, probe, ob.pos, why)) != ZS_OK)
            return rc;
        if (ib.pos == ib.size && (ob.pos < avail || d->hint == 0))
            return ZS_OK; /* all read, all flushed */
    }
}

zs_rc zs_body_decoder_init(struct zs_body_decoder *d, enum zs_body_coding coding, size_t max_out)
{
    *d = (struct zs_body_decoder){.coding = coding, .max_out = max_out, .hint = 1};
    if (coding == ZS_CODING_GZIP || coding == ZS_CODING_DEFLATE) {
        d->z = calloc(1, sizeof(z_stream));
    } else if (coding == ZS_CODING_ZSTD) {
        d->z = ZSTD_createDCtx();
        /* A frame's window is capped too: a header may ask for gigabytes of it. */
        if (d->z != NULL)
            ZSTD_DCtx_setParameter(d->z, ZSTD_d_windowLogMax, 27);
        d->started = 1;
    } else {
        return ZS_OK;
    }
    return d->z != NULL ? ZS_OK : ZS_ENOMEM;
}

zs_rc zs_body_decoder_feed(struct zs_body_decoder *d, const uint8_t *in, size_t len,
                           struct zs_buf *out, const char **why)
{
    *why = "";
    if (len == 0)
        return ZS_OK;
    switch (d->coding) {
    case ZS_CODING_GZIP:
    case ZS_CODING_DEFLATE:
        if (d->done) {
            *why = "bytes after the end of the compressed body";
            return ZS_EPARSE;
        }
        return inflate_feed(d, in, len, out, why);
    case ZS_CODING_ZSTD:
        return unzstd_feed(d, in, len, out, why);
    case ZS_CODING_IDENTITY:
    default:
        if (len > d->max_out - (out->len < d->max_out ? out->len : d->max_out)) {
            *why = "body too large";
            return ZS_ELIMIT;
        }
        return zs_buf_append(out, in, len) == ZS_OK ? ZS_OK : ZS_ENOMEM;
    }
}

zs_rc zs_body_decoder_finish(struct zs_body_decoder *d, const char **why)
{
    *why = "";
    int over = d->coding == ZS_CODING_ZSTD       ? d->hint == 0
               : d->coding == ZS_CODING_IDENTITY ? 1
                                                 : d->done;
    if (over)
        return ZS_OK;
    *why = "compressed body is truncated";
    return ZS_EPARSE;
}

void zs_body_decoder_release(struct zs_body_decoder *d)
{
    if (d->z == NULL)
        return;
    if (d->coding == ZS_CODING_ZSTD) {
        ZSTD_freeDCtx(d->z);
    } else {
        if (d->started)
            inflateEnd(d->z);
        free(d->z);
    }
    d->z = NULL;
}

zs_rc zs_body_decode(enum zs_body_coding coding, const uint8_t *in, size_t len, size_t max_out,
                     struct zs_buf *out, const char **why)
{
    struct zs_body_decoder d;
    out->len = 0;
    *why = "";
    zs_rc rc = zs_body_decoder_init(&d, coding, max_out);
    if (rc == ZS_OK)
        rc = zs_body_decoder_feed(&d, in, len, out, why);
    if (rc == ZS_OK)
        rc = zs_body_decoder_finish(&d, why);
    else if (rc == ZS_ENOMEM && (*why)[0] == '\0')
        *why = "out of memory";
    zs_body_decoder_release(&d);
    return rc;
}
