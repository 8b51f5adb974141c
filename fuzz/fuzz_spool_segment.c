/*
 * Fuzz the spool's recovery of what a crash (or a disk) left: byte 0 picks the mode.
 *  even: the pure parsers (segment header, frames, checkpoint) over the bytes; every frame
 *        they accept must re-frame to the same bytes and stay inside the input.
 *  odd:  a spool directory holding the bytes as a table's last segment (the next 20 bytes
 *        as its checkpoint) is opened, recovered, delivered to a sink that acknowledges at
 *        once, and closed: a corrupted spool never crashes the station, and the records it
 *        delivers are numbered without holes or repeats.
 */
#include "zs_fuzz.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/zs_log.h"
#include "spool/spool_int.h"
#include "spool/zs_spool.h"

static void check_frames(const uint8_t *p, size_t n, size_t off)
{
    struct zs_slice rec;
    size_t prev = off;
    while (zs_seg_next(p, n, &off, &rec) == ZS_OK) {
        uint8_t head[ZS_SEG_FRAME];
        if (off <= prev || off > n || rec.ptr < p || rec.ptr + rec.len > p + n)
            abort();
        zs_seg_frame_head(head, rec.ptr, (uint32_t)rec.len);
        if (memcmp(head, rec.ptr - ZS_SEG_FRAME, ZS_SEG_FRAME) != 0)
            abort();
        prev = off;
    }
}

static uint64_t next_seq, delivered;
static int bad_order;

static zs_rc k_table_add(void *ctx, const char *name, int record_type, const uint8_t *desc,
                         size_t desc_len, bool eager, void **out, struct zs_err *err)
{
    (void)ctx, (void)name, (void)record_type, (void)desc, (void)desc_len, (void)eager, (void)err;
    *out = (void *)1;
    return ZS_OK;
}

static zs_rc k_submit(void *ctx, void *table, const void *rec, size_t len, bool waited, uint64_t id,
                      zs_spool_sink_done_fn done, void *done_ctx)
{
    (void)ctx, (void)table, (void)waited;
    if (next_seq != 0 && id <= next_seq)
        bad_order = 1; /* spool order, never twice */
    next_seq = id;
    delivered++;
    done(done_ctx, id, rec, len, ZS_OK, NULL, false);
    return ZS_OK;
}

static void k_state(void *ctx, void *table, struct zs_spool_upstream *out)
{
    (void)ctx, (void)table;
    memset(out, 0, sizeof *out);
    out->state = "open";
}

static const struct zs_spool_sink_ops sink = {
    .table_add = k_table_add, .submit = k_submit, .state = k_state};

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || (n > 0 && write(fd, p, n) != (ssize_t)n))
        abort();
    close(fd);
}

static const char *root;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    if (strcmp(path, root) != 0 && remove(path) != 0)
        abort();
    return 0;
}

static void recover(const uint8_t *p, size_t n)
{
    static char dir[64];
    if (dir[0] == '\0') {
        snprintf(dir, sizeof dir, "/tmp/zs-fuzz-spool-XXXXXX");
        if (mkdtemp(dir) == NULL)
            abort();
        zs_log_set_level(ZS_LOG_ERROR);
    }
    char path[300];
    root = dir;
    if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) /* empty it, without a shell */
        abort();
    snprintf(path, sizeof path, "%s/tables", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/tables/main.s.t", dir);
    mkdir(path, 0755);
    size_t ck = n < ZS_CKPT_LEN ? n : ZS_CKPT_LEN;
    snprintf(path, sizeof path, "%s/tables/main.s.t/checkpoint", dir);
    write_file(path, p, ck);
    snprintf(path, sizeof path, "%s/tables/main.s.t/00000000000000000001.seg", dir);
    write_file(path, p + ck, n - ck);
    struct zs_spool_opts o = {.mode = ZS_SPOOL_DISK,
                              .dir = dir,
                              .segment_bytes = 1 << 20,
                              .max_bytes = 1 << 30,
                              .max_pending_bytes = 1 << 20,
                              .wait_timeout_ms = 1000,
                              .sink = &sink};
    struct zs_spool *sp = NULL;
    struct zs_spool_table *t = NULL;
    struct zs_err err;
    next_seq = delivered = 0;
    bad_order = 0;
    if (zs_spool_open(&o, &sp, &err) != ZS_OK)
        abort(); /* the directory is fine: only its contents are fuzzed */
    static const uint8_t desc[] = {0x0a, 0x01, 'M'};
    int var;
    if (zs_spool_table_add(sp, "main.s.t", 1, desc, sizeof desc, false, &t, &var, &err) == ZS_OK &&
        zs_spool_start(sp, &err) == ZS_OK) {
        /* Wait (bounded) until the spool has delivered what it recovered. */
        struct zs_spool_table_state st;
        for (int i = 0; i < 2000; i++) {
            zs_spool_table_state(t, &st);
            if (st.pending == 0)
                break;
            usleep(100);
        }
    }
    zs_spool_destroy(sp);
    if (bad_order)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    if (data[0] % 2 == 1) {
        recover(p, n);
        return 0;
    }
    struct zs_seg_header h;
    size_t hl = 0;
    zs_rc rc = zs_seg_header_decode(p, n, &h, &hl);
    if (rc == ZS_OK) {
        if (hl > n || h.table + h.table_len > (const char *)p + n || h.desc + h.desc_len > p + n)
            abort();
        check_frames(p, n, hl);
    }
    check_frames(p, n, 0); /* frames without a header */
    uint64_t f;
    if (zs_ckpt_decode(p, n, &f) == ZS_OK && n < ZS_CKPT_LEN)
        abort();
    return 0;
}
