/*
 * `zerobus-station spool status|dump`: read a spool directory without taking its lock, so
 * they work beside a running station (read-only; a segment being written may end in a
 * partial frame, which is where reading stops). Thread: main.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/zs_clock.h"
#include "spool/spool_int.h"
#include "spool/zs_spool.h"

struct scan {
    uint64_t segments, pending, pending_bytes, frontier, last_seq;
    long long oldest_ms; /* creation of the oldest segment with a pending record */
    int record_type;
};

/* Visit every record after the checkpoint; fn may be NULL (count only). */
typedef void (*rec_fn)(void *ctx, uint64_t seq, const uint8_t *rec, size_t len, int record_type);

static zs_rc slurp(const char *path, struct zs_buf *b)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return errno == ENOENT ? ZS_ENOTFOUND : ZS_EIO;
    b->len = 0;
    zs_rc rc = ZS_OK;
    for (;;) {
        if ((rc = zs_buf_reserve(b, 1 << 16)) != ZS_OK)
            break;
        size_t n = fread(b->data + b->len, 1, b->cap - b->len, f);
        b->len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static zs_rc scan_table(const char *tdir, struct scan *sc, rec_fn fn, void *ctx)
{
    memset(sc, 0, sizeof *sc);
    struct zs_buf b;
    zs_buf_init(&b, (size_t)16 << 30);
    char path[4400];
    snprintf(path, sizeof path, "%s/checkpoint", tdir);
    if (slurp(path, &b) == ZS_OK && zs_ckpt_decode(b.data, b.len, &sc->frontier) != ZS_OK)
        sc->frontier = 0;
    DIR *d = opendir(tdir);
    if (d == NULL) {
        zs_buf_release(&b);
        return ZS_EIO;
    }
    uint64_t *firsts = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        uint64_t f;
        if (zs_seg_name_parse(e->d_name, &f) != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *v = realloc(firsts, cap * sizeof *v);
            if (v == NULL)
                break;
            firsts = v;
        }
        firsts[n++] = f;
    }
    closedir(d);
    if (n > 1)
        qsort(firsts, n, sizeof *firsts, cmp_u64);
    for (size_t i = 0; i < n; i++) {
        char name[32];
        zs_seg_name(name, firsts[i]);
        snprintf(path, sizeof path, "%s/%s", tdir, name);
        if (slurp(path, &b) != ZS_OK)
            continue;
        struct zs_seg_header h;
        size_t off;
        if (zs_seg_header_decode(b.data, b.len, &h, &off) != ZS_OK)
            continue; /* the station moves such a file aside at its next start */
        sc->segments++;
        sc->record_type = (int)h.record_type;
        uint64_t seq = h.first_seq;
        struct zs_slice rec;
        while (zs_seg_next(b.data, b.len, &off, &rec) == ZS_OK) {
            if (seq > sc->frontier) {
                if (sc->pending == 0)
                    sc->oldest_ms = (long long)h.created_ms;
                sc->pending++;
                sc->pending_bytes += ZS_SEG_FRAME + rec.len;
                if (fn != NULL)
                    fn(ctx, seq, rec.ptr, rec.len, (int)h.record_type);
            }
            sc->last_seq = seq++;
        }
    }
    free(firsts);
    zs_buf_release(&b);
    return ZS_OK;
}

static uint64_t count_lines(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    uint64_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

zs_rc zs_spool_status(const char *dir, FILE *out, struct zs_err *err)
{
    char tdir[4200];
    snprintf(tdir, sizeof tdir, "%s/tables", dir);
    DIR *d = opendir(tdir);
    if (d == NULL)
        return zs_err_set(err, errno == ENOENT ? ZS_ENOTFOUND : ZS_EIO, NULL,
                          "%s: not a spool directory (no tables/)", dir);
    fprintf(out, "spool: %s\n", dir);
    fprintf(out, "%-40s %9s %12s %14s %12s %12s\n", "table", "segments", "pending", "pending_bytes",
            "oldest_age_s", "dead_letters");
    struct dirent *e;
    int any = 0;
    while ((e = readdir(d)) != NULL) {
        char name[1100], path[8400], dl[8400];
        if (e->d_name[0] == '.' || zs_spool_table_dirname_parse(e->d_name, name, sizeof name) != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", tdir, e->d_name);
        snprintf(dl, sizeof dl, "%s/dead-letter/%s.ndjson", dir, e->d_name);
        struct scan sc;
        if (scan_table(path, &sc, NULL, NULL) != ZS_OK)
            continue;
        long long age = sc.pending > 0 ? (zs_wall_ms() - sc.oldest_ms) / 1000 : 0;
        fprintf(out, "%-40s %9" PRIu64 " %12" PRIu64 " %14" PRIu64 " %12lld %12" PRIu64 "\n", name,
                sc.segments, sc.pending, sc.pending_bytes, age < 0 ? 0 : age, count_lines(dl));
        any = 1;
    }
    closedir(d);
    if (!any)
        fprintf(out, "(no tables)\n");
    return ZS_OK;
}

struct dump_ctx {
    FILE *out;
    const char *table;
    zs_spool_decode_fn decode;
    const void *decode_ctx;
    struct zs_buf b64, json;
};

static void dump_one(void *ctx, uint64_t seq, const uint8_t *rec, size_t len, int record_type)
{
    struct dump_ctx *dc = ctx;
    dc->b64.len = 0;
    if (zs_buf_base64(&dc->b64, rec, len) != ZS_OK)
        return;
    fprintf(dc->out, "{\"seq\":%" PRIu64, seq);
    dc->json.len = 0;
    if (record_type == 2) /* JSON records are JSON text */
        fprintf(dc->out, ",\"record\":%.*s", (int)len, (const char *)rec);
    else if (dc->decode != NULL &&
             dc->decode(dc->decode_ctx, dc->table, rec, len, &dc->json) == ZS_OK)
        fprintf(dc->out, ",\"record\":%.*s", (int)dc->json.len, (const char *)dc->json.data);
    fprintf(dc->out, ",\"record_base64\":\"%s\"}\n", (const char *)dc->b64.data);
}

zs_rc zs_spool_dump(const char *dir, const char *table, FILE *out, zs_spool_decode_fn decode,
                    const void *decode_ctx, struct zs_err *err)
{
    char dn[4000], path[8400];
    zs_spool_table_dirname(table, dn, sizeof dn);
    snprintf(path, sizeof path, "%s/tables/%s", dir, dn);
    struct dump_ctx dc = {.out = out, .table = table, .decode = decode, .decode_ctx = decode_ctx};
    zs_buf_init(&dc.b64, (size_t)64 << 20);
    zs_buf_init(&dc.json, (size_t)64 << 20);
    struct scan sc;
    zs_rc rc = scan_table(path, &sc, dump_one, &dc);
    zs_buf_release(&dc.b64);
    zs_buf_release(&dc.json);
    if (rc != ZS_OK)
        return zs_err_set(err, ZS_ENOTFOUND, NULL, "%s: no spooled table %s", dir, table);
    return ZS_OK;
}
