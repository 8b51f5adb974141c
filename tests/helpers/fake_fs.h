/*
 * A file-system seam for tests (core/zs_fs.h): the real calls, plus
 *  - failure injection: the n-th pwrite or fdatasync from now fails with an errno;
 *  - a simulated power cut: zs_fake_fs_cut() makes every later call fail (the process
 *    "died"); zs_fake_fs_restore() then puts each file back as the disk would have it:
 *    its content at its last completed fdatasync, plus half of the first write made after
 *    it (a torn write); a file never synced disappears. Renames, unlinks and truncations
 *    are taken as durable at once (the spool never relies on them for a promise).
 * Thread: any (one lock).
 */
#ifndef ZS_FAKE_FS_H
#define ZS_FAKE_FS_H

#include "core/zs_fs.h"

struct zs_fake_fs;

struct zs_fake_fs *zs_fake_fs_create(void);
void zs_fake_fs_destroy(struct zs_fake_fs *f);
const struct zs_fs_ops *zs_fake_fs_ops(struct zs_fake_fs *f);

/* The n-th (1 = next) pwrite / fdatasync fails with -err; 0 disarms. */
void zs_fake_fs_fail_write(struct zs_fake_fs *f, int nth, int err);
void zs_fake_fs_fail_sync(struct zs_fake_fs *f, int nth, int err);

/* Every pwrite fails with -err while on (a full disk); 0 turns it off. */
void zs_fake_fs_full(struct zs_fake_fs *f, int err);

void zs_fake_fs_cut(struct zs_fake_fs *f);
void zs_fake_fs_restore(struct zs_fake_fs *f);

int zs_fake_fs_syncs(struct zs_fake_fs *f); /* completed fdatasync calls */

#endif
