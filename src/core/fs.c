/*
 * zs_fs_posix: the spool's file-system calls, straight to the kernel. Thread: any.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/zs_fs.h"

static int p_open(void *ctx, const char *path, int flags, int mode)
{
    (void)ctx;
    int fd = open(path, flags | O_CLOEXEC, mode);
    return fd >= 0 ? fd : -errno;
}

static ssize_t p_pwrite(void *ctx, int fd, const void *buf, size_t n, off_t off)
{
    (void)ctx;
    ssize_t r = pwrite(fd, buf, n, off);
    return r >= 0 ? r : -errno;
}

static ssize_t p_pread(void *ctx, int fd, void *buf, size_t n, off_t off)
{
    (void)ctx;
    ssize_t r = pread(fd, buf, n, off);
    return r >= 0 ? r : -errno;
}

static int p_fdatasync(void *ctx, int fd)
{
    (void)ctx;
    return fdatasync(fd) == 0 ? 0 : -errno;
}

static int p_ftruncate(void *ctx, int fd, off_t len)
{
    (void)ctx;
    return ftruncate(fd, len) == 0 ? 0 : -errno;
}

static int p_close(void *ctx, int fd)
{
    (void)ctx;
    return close(fd) == 0 ? 0 : -errno;
}

static int p_rename(void *ctx, const char *from, const char *to)
{
    (void)ctx;
    return rename(from, to) == 0 ? 0 : -errno;
}

static int p_unlink(void *ctx, const char *path)
{
    (void)ctx;
    return unlink(path) == 0 ? 0 : -errno;
}

const struct zs_fs_ops zs_fs_posix = {
    .open = p_open,
    .pwrite = p_pwrite,
    .pread = p_pread,
    .fdatasync = p_fdatasync,
    .ftruncate = p_ftruncate,
    .close = p_close,
    .rename = p_rename,
    .unlink = p_unlink,
};

int zs_fs_pwrite_all(const struct zs_fs_ops *fs, int fd, const void *buf, size_t n, off_t off)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = fs->pwrite(fs->ctx, fd, p, n, off);
        if (w < 0 && w != -EINTR)
            return (int)w;
        if (w == 0)
            return -EIO;
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            off += w;
        }
    }
    return 0;
}

int zs_fs_write_atomic(const char *path, const void *data, size_t n, int mode)
{
    char tmp[4200], dir[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    int fd = p_open(NULL, tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0)
        return fd;
    int rc = zs_fs_pwrite_all(&zs_fs_posix, fd, data, n, 0);
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc != 0) {
        unlink(tmp);
        return rc;
    }
    snprintf(dir, sizeof dir, "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) { /* the rename itself: best effort where directories cannot be synced */
        (void)fsync(dfd);
        close(dfd);
    }
    return 0;
}

int zs_fs_mkdir_p(const char *dir, char *failed, size_t cap)
{
    char p[4096];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char was = *s;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            snprintf(failed, cap, "%s", p);
            return -e;
        }
        if (was == '\0')
            return 0;
        *s = '/';
    }
}
