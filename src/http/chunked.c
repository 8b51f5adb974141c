/*
 * Strict chunked transfer coding decoder. See chunked.h for the contract.
 */
#include "http/chunked.h"

enum {
    S_SIZE_FIRST, /* the first hex digit of a chunk size */
    S_SIZE,       /* more digits, ';' or CR */
    S_EXT,        /* chunk extensions up to CR */
    S_SIZE_LF,    /* LF of the size line */
    S_DATA,       /* chunk data */
    S_DATA_CR,    /* CR after the data */
    S_DATA_LF,    /* LF after the data */
    S_TRAILER,    /* a trailer field's first character, or CR of the final line */
    S_TRAILER_NAME,
    S_TRAILER_VALUE,
    S_TRAILER_LF,
    S_END_LF /* LF of the final line */
};

/* Hex digits of a chunk size, leading zeros aside: 15 are 2^60 bytes, plenty. */
#define SIZE_DIGITS_MAX 15

void zs_chunked_init(struct zs_chunked *d)
{
    *d = (struct zs_chunked){.state = S_SIZE_FIRST};
}

static int hex(unsigned char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch |= 0x20;
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Field value and extension characters: visible, obs-text, space, tab. */
static int is_text(unsigned char ch)
{
    return ch == ' ' || ch == '\t' || (ch > 0x20 && ch != 0x7f);
}

/* The reason for an unexpected byte where a CR or LF belongs. */
static const char *line_error(unsigned char ch, const char *otherwise)
{
    return ch == '\n' ? "bare LF in chunk framing (CRLF required)" : otherwise;
}

enum zs_chunked_rc zs_chunked_feed(struct zs_chunked *d, const char *p, size_t n, size_t meta_max,
                                   zs_chunked_data_fn on_data, void *ctx, size_t *consumed)
{
    size_t i = 0;
    enum zs_chunked_rc rc = ZS_CHUNKED_MORE;
    while (i < n && rc == ZS_CHUNKED_MORE) {
        unsigned char ch = (unsigned char)p[i];
        switch (d->state) {
        case S_SIZE_FIRST:
        case S_SIZE: {
            int v = hex(ch);
            if (v >= 0) {
                if (d->left > 0 || v > 0)
                    d->digits++;
                if (d->digits > SIZE_DIGITS_MAX) {
                    d->error = "chunk size too large";
                    rc = ZS_CHUNKED_LIMIT;
                    break;
                }
                d->left = d->left << 4 | (uint64_t)v;
                d->state = S_SIZE;
            } else if (d->state == S_SIZE && ch == ';') {
                d->state = S_EXT;
            } else if (d->state == S_SIZE && ch == '\r') {
                d->state = S_SIZE_LF;
            } else {
                d->error = line_error(ch, "invalid chunk size (hex digits, then ';' or CRLF)");
                rc = ZS_CHUNKED_ERROR;
                break;
            }
            i++;
            break;
        }
        case S_EXT:
            if (ch == '\r') {
                d->state = S_SIZE_LF;
            } else if (!is_text(ch)) {
                d->error = line_error(ch, "invalid character in a chunk extension");
                rc = ZS_CHUNKED_ERROR;
                break;
            } else if (++d->meta > meta_max) {
                d->error = "chunk extensions and trailers too large";
                rc = ZS_CHUNKED_LIMIT;
                break;
            }
            i++;
            break;
        case S_SIZE_LF:
            if (ch != '\n') {
                d->error = "chunk size line must end with CRLF";
                rc = ZS_CHUNKED_ERROR;
                break;
            }
            d->state = d->left > 0 ? S_DATA : S_TRAILER;
            d->digits = 0;
            i++;
            break;
        case S_DATA: {
            size_t take = n - i < d->left ? n - i : (size_t)d->left;
            if (on_data(ctx, p + i, take) != 0) {
                d->error = "request body too large";
                rc = ZS_CHUNKED_LIMIT;
                break;
            }
            d->left -= take;
            i += take;
            if (d->left == 0)
                d->state = S_DATA_CR;
            break;
        }
        case S_DATA_CR:
        case S_DATA_LF:
            if (ch != (d->state == S_DATA_CR ? '\r' : '\n')) {
                d->error = line_error(ch, "chunk data must be followed by CRLF");
                rc = ZS_CHUNKED_ERROR;
                break;
            }
            d->state = d->state == S_DATA_CR ? S_DATA_LF : S_SIZE_FIRST;
            i++;
            break;
        case S_TRAILER:
        case S_TRAILER_NAME:
        case S_TRAILER_VALUE:
            if (d->state == S_TRAILER && ch == '\r') {
                d->state = S_END_LF;
            } else if (d->state != S_TRAILER_VALUE && zs_http_is_tchar(ch)) {
                d->state = S_TRAILER_NAME;
            } else if (d->state == S_TRAILER_NAME && ch == ':') {
                d->state = S_TRAILER_VALUE;
            } else if (d->state == S_TRAILER_VALUE && ch == '\r') {
                d->state = S_TRAILER_LF;
            } else if (d->state != S_TRAILER_VALUE || !is_text(ch)) {
                d->error = line_error(ch, "invalid trailer field after the last chunk");
                rc = ZS_CHUNKED_ERROR;
                break;
            }
            if (++d->meta > meta_max) {
                d->error = "chunk extensions and trailers too large";
                rc = ZS_CHUNKED_LIMIT;
                break;
            }
            i++;
            break;
        case S_TRAILER_LF:
        case S_END_LF:
            if (ch != '\n') {
                d->error = "trailer lines must end with CRLF";
                rc = ZS_CHUNKED_ERROR;
                break;
            }
            i++;
            if (d->state == S_END_LF)
                rc = ZS_CHUNKED_DONE;
            d->state = S_TRAILER;
            break;
        }
    }
    *consumed = i;
    return rc;
}
