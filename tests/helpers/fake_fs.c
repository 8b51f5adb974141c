/* See fake_fs.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_fs.h"

#define MAXF 256

struct ffile {
    char path[1024];
    int fd;           /* open fd, or -1 */
    uint8_t *durable; /* content at the last completed fdatasync */
    size_t dlen;
    int synced;    /* ever synced */
    uint8_t *torn; /* the first write after the last sync (beyond dlen) */
    size_t torn_len;
    off_t torn_off;
    int gone;
};

struct zs_fake_fs {
    struct zs_fs_ops ops;
    pthread_mutex_t lock;
    struct ffile f[MAXF];
    int n;
    int fail_write, fail_write_err, fail_sync, fail_sync_err, full_err, cut, syncs;
};

static struct ffile *by_fd(struct zs_fake_fs *f, int fd)
{
    for (int i = 0; i < f->n; i++)
        if (f->f[i].fd == fd)
            return &f->f[i];
    return NULL;
}

static struct ffile *by_path(struct zs_fake_fs *f, const char *path)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->f[i].path, path) == 0)
            return &f->f[i];
    return NULL;
}

static int f_open(void *ctx, const char *path, int flags, int mode)
{
    struct zs_fake_fs *f = ctx;
    pthread_mutex_lock(&f->lock);
    int existed = access(path, F_OK) == 0;
    int fd = f->cut ? -EIO : open(path, flags | O_CLOEXEC, mode);
    if (fd < 0 && !f->cut)
        fd = -errno;
    if (fd >= 0 && (flags & (O_WRONLY | O_RDWR))) {
        struct ffile *e = by_path(f, path);
        if (e == NULL && f->n < MAXF) {
            e = &f->f[f->n++];
            memset(e, 0, sizeof *e);
            snprintf(e->path, sizeof e->path, "%s", path);
            /* What was there before the test touched it counts as durable. */
            if (existed && !(flags & O_TRUNC)) {
                off_t end = lseek(fd, 0, SEEK_END);
                e->durable = malloc(end > 0 ? (size_t)end : 1);
                e->dlen = end > 0 ? (size_t)pread(fd, e->durable, (size_t)end, 0) : 0;
                e->synced = 1;
            }
        }
        if (e != NULL) {
            e->fd = fd;
            e->gone = 0;
        }
    }
    pthread_mutex_unlock(&f->lock);
    return fd;
}

static ssize_t f_pwrite(void *ctx, int fd, const void *buf, size_t n, off_t off)
{
    struct zs_fake_fs *f = ctx;
    pthread_mutex_lock(&f->lock);
    ssize_t r;
    if (f->cut) {
        r = -EIO;
    } else if (f->full_err) {
        r = -f->full_err;
    } else if (f->fail_write > 0 && --f->fail_write == 0) {
        r = -f->fail_write_err;
    } else {
        r = pwrite(fd, buf, n, off);
        if (r < 0)
            r = -errno;
        struct ffile *e = by_fd(f, fd);
        if (r > 0 && e != NULL && e->torn == NULL && (size_t)off + (size_t)r > e->dlen) {
            e->torn = malloc((size_t)r);
            memcpy(e->torn, buf, (size_t)r);
            e->torn_len = (size_t)r;
            e->torn_off = off;
        }
    }
    pthread_mutex_unlock(&f->lock);
    return r;
}

static ssize_t f_pread(void *ctx, int fd, void *buf, size_t n, off_t off)
{
    struct zs_fake_fs *f = ctx;
    if (f->cut)
        return -EIO;
    ssize_t r = pread(fd, buf, n, off);
    return r >= 0 ? r : -errno;
}

static int f_fdatasync(void *ctx, int fd)
{
    struct zs_fake_fs *f = ctx;
    pthread_mutex_lock(&f->lock);
    int r = 0;
    if (f->cut) {
        r = -EIO;
    } else if (f->fail_sync > 0 && --f->fail_sync == 0) {
        r = -f->fail_sync_err;
    } else {
        struct ffile *e = by_fd(f, fd);
        if (e != NULL) {
            off_t end = lseek(fd, 0, SEEK_END);
            free(e->durable);
            e->durable = malloc(end > 0 ? (size_t)end : 1);
            e->dlen = end > 0 ? (size_t)pread(fd, e->durable, (size_t)end, 0) : 0;
            e->synced = 1;
            free(e->torn);
            e->torn = NULL;
        }
        f->syncs++;
    }
    pthread_mutex_unlock(&f->lock);
    return r;
}

static int f_ftruncate(void *ctx, int fd, off_t len)
{
    struct zs_fake_fs *f = ctx;
    if (f->cut)
        return -EIO;
    int r = ftruncate(fd, len) == 0 ? 0 : -errno;
    pthread_mutex_lock(&f->lock);
    struct ffile *e = by_fd(f, fd);
    if (r == 0 && e != NULL && e->dlen > (size_t)len)
        e->dlen = (size_t)len;
    pthread_mutex_unlock(&f->lock);
    return r;
}

static int f_close(void *ctx, int fd)
{
    struct zs_fake_fs *f = ctx;
    pthread_mutex_lock(&f->lock);
    struct ffile *e = by_fd(f, fd);
    if (e != NULL)
        e->fd = -1;
    pthread_mutex_unlock(&f->lock);
    return close(fd) == 0 ? 0 : -errno;
}

static int f_rename(void *ctx, const char *from, const char *to)
{
    struct zs_fake_fs *f = ctx;
    if (f->cut)
        return -EIO;
    int r = rename(from, to) == 0 ? 0 : -errno;
    pthread_mutex_lock(&f->lock);
    struct ffile *e = by_path(f, from);
    if (r == 0 && e != NULL)
        snprintf(e->path, sizeof e->path, "%s", to);
    pthread_mutex_unlock(&f->lock);
    return r;
}

static int f_unlink(void *ctx, const char *path)
{
    struct zs_fake_fs *f = ctx;
    if (f->cut)
        return -EIO;
    int r = unlink(path) == 0 ? 0 : -errno;
    pthread_mutex_lock(&f->lock);
    struct ffile *e = by_path(f, path);
    if (r == 0 && e != NULL)
        e->gone = 1;
    pthread_mutex_unlock(&f->lock);
    return r;
}

struct zs_fake_fs *zs_fake_fs_create(void)
{
    struct zs_fake_fs *f = calloc(1, sizeof *f);
    pthread_mutex_init(&f->lock, NULL);
    f->ops = (struct zs_fs_ops){.open = f_open,
                                .pwrite = f_pwrite,
                                .pread = f_pread,
                                .fdatasync = f_fdatasync,
                                .ftruncate = f_ftruncate,
                                .close = f_close,
                                .rename = f_rename,
                                .unlink = f_unlink,
                                .ctx = f};
    return f;
}

void zs_fake_fs_destroy(struct zs_fake_fs *f)
{
    for (int i = 0; i < f->n; i++) {
        free(f->f[i].durable);
        free(f->f[i].torn);
    }
    pthread_mutex_destroy(&f->lock);
    free(f);
}

const struct zs_fs_ops *zs_fake_fs_ops(struct zs_fake_fs *f)
{
    return &f->ops;
}

void zs_fake_fs_fail_write(struct zs_fake_fs *f, int nth, int err)
{
    pthread_mutex_lock(&f->lock);
    f->fail_write = nth;
    f->fail_write_err = err;
    pthread_mutex_unlock(&f->lock);
}

void zs_fake_fs_fail_sync(struct zs_fake_fs *f, int nth, int err)
{
    pthread_mutex_lock(&f->lock);
    f->fail_sync = nth;
    f->fail_sync_err = err;
    pthread_mutex_unlock(&f->lock);
}

void zs_fake_fs_full(struct zs_fake_fs *f, int err)
{
    pthread_mutex_lock(&f->lock);
    f->full_err = err;
    pthread_mutex_unlock(&f->lock);
}

void zs_fake_fs_cut(struct zs_fake_fs *f)
{
    pthread_mutex_lock(&f->lock);
    f->cut = 1;
    pthread_mutex_unlock(&f->lock);
}

void zs_fake_fs_restore(struct zs_fake_fs *f)
{
    pthread_mutex_lock(&f->lock);
    for (int i = 0; i < f->n; i++) {
        struct ffile *e = &f->f[i];
        if (e->gone)
            continue;
        if (!e->synced) {
            unlink(e->path);
            continue;
        }
        int fd = open(e->path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd < 0)
            continue;
        if (e->dlen > 0 && pwrite(fd, e->durable, e->dlen, 0) != (ssize_t)e->dlen)
            abort();
        if (e->torn != NULL && e->torn_len > 1 && (size_t)e->torn_off == e->dlen &&
            pwrite(fd, e->torn, e->torn_len / 2, e->torn_off) != (ssize_t)(e->torn_len / 2))
            abort();
        close(fd);
    }
    f->cut = 0;
    pthread_mutex_unlock(&f->lock);
}

int zs_fake_fs_syncs(struct zs_fake_fs *f)
{
    pthread_mutex_lock(&f->lock);
    int n = f->syncs;
    pthread_mutex_unlock(&f->lock);
    return n;
}
