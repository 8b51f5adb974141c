/*
 * Batch bodies: JSON arrays and NDJSON. See batch.h for the contract.
 */
#include "api/batch.h"

#include <stdio.h>
#include <string.h>

#include "core/zs_mem.h"

/* Nesting skip_value follows before it gives up (the transcoder refused deeper anyway). */
#define SKIP_DEPTH_MAX 1024

void zs_batch_init(struct zs_batch *b, size_t max_bytes)
{
    memset(b, 0, sizeof *b);
    zs_buf_init(&b->recs, max_bytes);
}

void zs_batch_release(struct zs_batch *b)
{
    zs_buf_release(&b->recs);
    zs_free(b->items);
    zs_free(b->errors);
    memset(b, 0, sizeof *b);
}

static int is_blank(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_blanks(const uint8_t *p, size_t n, size_t i)
{
    while (i < n && is_blank(p[i]))
        i++;
    return i;
}

static zs_rc add_item(struct zs_batch *b, size_t index, size_t rec_off, size_t json_off,
                      size_t json_len)
{
    void *grown = zs_grow(b->items, &b->itemcap, b->nitems, sizeof *b->items, 64);
    if (grown == NULL)
        return ZS_ENOMEM;
    b->items = grown;
    b->items[b->nitems++] =
        (struct zs_batch_item){index, rec_off, b->recs.len - rec_off, json_off, json_len};
    return ZS_OK;
}

/* Copy src into dst[cap], cut to fit at a UTF-8 character boundary (the answer is JSON). */
static void copy_cut(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    if (src[n] != '\0')
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static zs_rc add_error(struct zs_batch *b, size_t index, size_t max_errors, const struct zs_err *e)
{
    b->rejected++;
    if (b->nerrors >= max_errors)
        return ZS_OK;
    void *grown = zs_grow(b->errors, &b->errorcap, b->nerrors, sizeof *b->errors, 16);
    if (grown == NULL)
        return ZS_ENOMEM;
    b->errors = grown;
    struct zs_batch_error *x = &b->errors[b->nerrors++];
    x->index = index;
    copy_cut(x->field, sizeof x->field, e->where);
    copy_cut(x->reason, sizeof x->reason, e->msg);
    return ZS_OK;
}

/*
 * Past one JSON value at p[*pos] (blanks first): strings with their escapes, brackets by
 * depth; a scalar runs to the next ',' ']' '}' or blank. It finds where an invalid record
 * ends so the next can be read; it does not check the value. -1 if the value does not end.
 */
static int skip_value(const uint8_t *p, size_t n, size_t *pos)
{
    size_t i = skip_blanks(p, n, *pos);
    int depth = 0;
    if (i >= n || p[i] == ',' || p[i] == ']' || p[i] == '}')
        return -1;
    while (i < n) {
        uint8_t c = p[i];
        if (c == '"') {
            for (i++; i < n && p[i] != '"'; i++)
                if (p[i] == '\\')
                    i++;
            if (i >= n)
                return -1;
            i++;
            if (depth == 0)
                break; /* a string was the value */
        } else if (c == '{' || c == '[') {
            if (++depth > SKIP_DEPTH_MAX)
                return -1;
            i++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                break; /* the container's close ends a scalar */
            i++;
            if (--depth == 0)
                break;
        } else if (depth == 0 && (c == ',' || is_blank(c))) {
            break;
        } else {
            i++;
        }
    }
    if (depth > 0)
        return -1;
    *pos = i;
    return 0;
}

/* One record at json[0..len) of the body (offset off), index idx: kept or listed. */
static zs_rc one_record(struct zs_batch *b, struct zs_transcoder *tc, const struct zs_schema *s,
                        const uint8_t *body, size_t off, size_t len, size_t idx, size_t max_errors)
{
    struct zs_err e;
    zs_err_clear(&e);
    size_t rec_off = b->recs.len;
    zs_rc rc = zs_transcode(tc, s, body + off, len, &b->recs, &e);
    if (rc == ZS_OK)
        return add_item(b, idx, rec_off, off, len);
    if (rc == ZS_ENOMEM)
        return rc;
    return add_error(b, idx, max_errors, &e);
}

static zs_rc parse_ndjson(struct zs_batch *b, struct zs_transcoder *tc, const struct zs_schema *s,
                          const uint8_t *body, size_t len, size_t max_records, size_t max_errors,
                          struct zs_err *err)
{
    size_t line = 0;
    for (size_t i = 0; i < len; line++) {
        const uint8_t *nl = memchr(body + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - body) : len;
        size_t a = skip_blanks(body, end, i), z = end;
        while (z > a && is_blank(body[z - 1]))
            z--;
        if (a < z) { /* not a blank line */
            if (++b->total > max_records)
                return zs_err_set(err, ZS_ELIMIT, "", "more than %zu records in one request",
                                  max_records);
            zs_rc rc = one_record(b, tc, s, body, a, z - a, line, max_errors);
            if (rc != ZS_OK)
                return rc;
        }
        i = end + 1;
    }
    return ZS_OK;
}

static zs_rc parse_array(struct zs_batch *b, struct zs_transcoder *tc, const struct zs_schema *s,
                         const uint8_t *body, size_t len, size_t max_records, size_t max_errors,
                         struct zs_err *err)
{
    size_t i = skip_blanks(body, len, 0);
    if (i >= len || body[i] != '[')
        return zs_err_set(err, ZS_EPARSE, "$", "expected a JSON array of records");
    i = skip_blanks(body, len, i + 1);
    if (i < len && body[i] == ']')
        return skip_blanks(body, len, i + 1) == len
                   ? ZS_OK
                   : zs_err_set(err, ZS_EPARSE, "$", "unexpected bytes after the array");
    for (size_t idx = 0;; idx++) {
        if (++b->total > max_records)
            return zs_err_set(err, ZS_ELIMIT, "", "more than %zu records in one request",
                              max_records);
        size_t start = skip_blanks(body, len, i), end = start;
        if (skip_value(body, len, &end) != 0)
            return zs_err_set(err, ZS_EPARSE, "$", "malformed array: record %zu at byte %zu", idx,
                              start);
        zs_rc rc = one_record(b, tc, s, body, start, end - start, idx, max_errors);
        if (rc != ZS_OK)
            return rc;
        i = skip_blanks(body, len, end);
        if (i < len && body[i] == ',') {
            i++;
            continue;
        }
        if (i < len && body[i] == ']')
            break;
        return zs_err_set(err, ZS_EPARSE, "$", "malformed array: ',' or ']' expected at byte %zu",
                          i);
    }
    if (skip_blanks(body, len, i + 1) != len)
        return zs_err_set(err, ZS_EPARSE, "$", "unexpected bytes after the array");
    return ZS_OK;
}

zs_rc zs_batch_parse(struct zs_batch *b, struct zs_transcoder *tc, const struct zs_schema *s,
                     enum zs_batch_form form, const uint8_t *body, size_t len, size_t max_records,
                     size_t max_errors, struct zs_err *err)
{
    b->recs.len = 0;
    b->nitems = b->nerrors = b->total = b->rejected = 0;
    zs_rc rc = form == ZS_BATCH_NDJSON
                   ? parse_ndjson(b, tc, s, body, len, max_records, max_errors, err)
                   : parse_array(b, tc, s, body, len, max_records, max_errors, err);
    if (rc == ZS_OK && b->total == 0)
        return zs_err_set(err, ZS_EINVAL, "$", "no records in the request");
    return rc;
}
