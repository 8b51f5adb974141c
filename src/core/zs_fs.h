/*
 * The file-system seam of the spool (style.md §4): the calls whose failure or loss at a
 * power cut the tests must provoke. zs_fs_posix is the real one; tests/helpers has a fake
 * that injects ENOSPC/EIO and simulates a power cut (everything written after the last
 * completed sync is lost, the last write torn).
 * Every op returns >= 0 on success and -errno on failure (read errno once, at the call).
 * Thread: any (the posix ops are the system calls; a fake documents its own).
 */
#ifndef ZS_FS_H
#define ZS_FS_H

#include <stddef.h>
#include <sys/types.h>

struct zs_fs_ops {
    int (*open)(void *ctx, const char *path, int flags, int mode); /* fd */
    ssize_t (*pwrite)(void *ctx, int fd, const void *buf, size_t n, off_t off);
    ssize_t (*pread)(void *ctx, int fd, void *buf, size_t n, off_t off);
    int (*fdatasync)(void *ctx, int fd);
    int (*ftruncate)(void *ctx, int fd, off_t len);
    int (*close)(void *ctx, int fd);
    int (*rename)(void *ctx, const char *from, const char *to);
    int (*unlink)(void *ctx, const char *path);
    void *ctx;
};

extern const struct zs_fs_ops zs_fs_posix;

/* Write all n bytes at off (retrying short writes): 0 or -errno. */
int zs_fs_pwrite_all(const struct zs_fs_ops *fs, int fd, const void *buf, size_t n, off_t off);

/*
 * Create dir and its missing parents (mode 0755; existing ones are fine). 0, or -errno with
 * the directory that could not be made in failed (cap bytes). Thread: any.
 */
int zs_fs_mkdir_p(const char *dir, char *failed, size_t cap);

/*
 * Replace path with n bytes of data, atomically and durably: written to path.tmp,
 * fsync'd, renamed over path, the directory fsync'd; mode for a new file. A reader sees
 * the old or the new content, never a mix. 0 or -errno (path.tmp removed). Thread: any.
 */
int zs_fs_write_atomic(const char *path, const void *data, size_t n, int mode);

#endif
