/*
 * NDJSON store with group commit: the gRPC thread appends lines to a table's pending
 * buffer; the writer thread swaps the buffers out, writes and fsyncs them, then publishes
 * the batch sequence as durable. Streams ack only what is durable (an ack means durable,
 * as in Zerobus). With --store none batches are durable at once.
 * Thread: append on the gRPC thread, writing on the writer thread, under st->lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/zs_log.h"
#include "emulator/emu.h"

struct emu_store {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    int running, stop, failed;
    struct emu *e;
};

static int open_table_file(struct emu *e, struct emu_table *t)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.ndjson", e->cfg.data_dir, t->name);
    t->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (t->fd < 0) {
        zs_log(ZS_LOG_ERROR, "emu", "msg=\"cannot open store file\" table=%s errno=%d", t->name,
               errno);
        return -1;
    }
    /* A line without its newline is a write an earlier emulator did not finish (killed):
     * never acknowledged (rows are synced before the ack). Cut it, so the next row does
     * not glue onto it. */
    off_t end = lseek(t->fd, 0, SEEK_END), cut = end;
    char buf[4096];
    while (cut > 0) {
        size_t n = cut < (off_t)sizeof buf ? (size_t)cut : sizeof buf;
        if (pread(t->fd, buf, n, cut - (off_t)n) != (ssize_t)n)
            break;
        size_t i = n;
        while (i > 0 && buf[i - 1] != '\n')
            i--;
        if (i > 0) {
            cut = cut - (off_t)n + (off_t)i;
            break;
        }
        cut -= (off_t)n;
    }
    if (cut < end) {
        if (ftruncate(t->fd, cut) != 0 || fsync(t->fd) != 0)
            return -1;
        zs_log(ZS_LOG_WARN, "emu",
               "msg=\"torn last row cut (it was never acknowledged)\" "
               "table=%s bytes=%lld",
               t->name, (long long)(end - cut));
    }
    return 0;
}

static void *writer(void *arg)
{
    struct emu_store *st = arg;
    struct emu *e = st->e;
    pthread_mutex_lock(&st->lock);
    for (;;) {
        /* Tables are only ever added at the head: a snapshot of the head is a stable list. */
        pthread_mutex_lock(&e->cat_lock);
        struct emu_table *head = e->tables;
        pthread_mutex_unlock(&e->cat_lock);
        int work = 0;
        for (struct emu_table *t = head; t != NULL; t = t->next)
            work |= t->pending.len > 0;
        if (!work) {
            if (st->stop)
                break;
            pthread_cond_wait(&st->wake, &st->lock);
            continue;
        }
        for (struct emu_table *t = head; t != NULL; t = t->next) {
            if (t->pending.len == 0)
                continue;
            struct zs_buf data = t->pending;
            uint64_t seq = t->appended_seq;
            zs_buf_init(&t->pending, data.max);
            pthread_mutex_unlock(&st->lock);
            int ok = t->fd >= 0 || open_table_file(e, t) == 0;
            size_t off = 0;
            while (ok && off < data.len) {
                ssize_t n = write(t->fd, data.data + off, data.len - off);
                if (n < 0 && errno == EINTR)
                    continue;
                ok = n > 0;
                off += n > 0 ? (size_t)n : 0;
            }
            if (ok && fdatasync(t->fd) != 0)
                ok = 0;
            zs_buf_release(&data);
            pthread_mutex_lock(&st->lock);
            if (ok)
                atomic_store(&t->durable_seq, seq);
            else
                st->failed = 1; /* never acked: streams time out, as with a lost disk */
        }
    }
    pthread_mutex_unlock(&st->lock);
    return NULL;
}

zs_rc emu_store_start(struct emu *e, struct zs_err *err)
{
    struct emu_store *st = calloc(1, sizeof *st);
    if (st == NULL)
        return ZS_ENOMEM;
    st->e = e;
    pthread_mutex_init(&st->lock, NULL);
    pthread_cond_init(&st->wake, NULL);
    e->store = st;
    if (e->cfg.store_none)
        return ZS_OK;
    if (mkdir(e->cfg.data_dir, 0755) != 0 && errno != EEXIST)
        return zs_err_set(err, ZS_EIO, NULL, "cannot create %s: %s", e->cfg.data_dir,
                          strerror(errno));
    if (pthread_create(&st->thread, NULL, writer, st) != 0)
        return zs_err_set(err, ZS_EIO, NULL, "cannot start the store writer");
    st->running = 1;
    return ZS_OK;
}

uint64_t emu_store_append(struct emu *e, struct emu_table *t, const uint8_t *lines, size_t len,
                          long rows)
{
    struct emu_store *st = e->store;
    atomic_fetch_add(&t->st.rows, rows);
    atomic_fetch_add(&t->st.bytes, (long long)len);
    pthread_mutex_lock(&st->lock);
    uint64_t seq = ++t->appended_seq;
    if (e->cfg.store_none) {
        atomic_store(&t->durable_seq, seq);
    } else if (zs_buf_append(&t->pending, lines, len) != ZS_OK) {
        seq = 0;
    } else {
        pthread_cond_signal(&st->wake);
    }
    pthread_mutex_unlock(&st->lock);
    return seq;
}

void emu_store_stop(struct emu *e)
{
    struct emu_store *st = e->store;
    if (st == NULL)
        return;
    if (st->running) {
        pthread_mutex_lock(&st->lock);
        st->stop = 1;
        pthread_cond_signal(&st->wake);
        pthread_mutex_unlock(&st->lock);
        pthread_join(st->thread, NULL);
    }
    pthread_mutex_destroy(&st->lock);
    pthread_cond_destroy(&st->wake);
    free(st);
    e->store = NULL;
}
