/*
 * The station's ingest keys, from its configuration: the `auth` section of config.json and
 * the file station.keys_file (re-read on SIGHUP), and the `keys` command that manages that
 * file. Thread: main.
 */
#ifndef ZS_APP_ACCESS_H
#define ZS_APP_ACCESS_H

#include "access/zs_keys.h"
#include "config/zs_config.h"
#include "core/zs_err.h"

/*
 * The keys c asks for: *out is NULL when authentication is off (station.auth `none`, or
 * `auto` without any key), else a set (possibly empty with `keys`: every request 401) the
 * caller owns (zs_keys_unref). Every table a key names must be configured. Returns ZS_OK;
 * ZS_ENOTFOUND / ZS_EIO (keys file), ZS_EPARSE / ZS_EINVAL (a key, err names it),
 * ZS_ENOMEM.
 */
ZS_MUST_CHECK zs_rc zs_access_load(const struct zs_config *c, struct zs_keys **out,
                                   struct zs_err *err);

/* zerobus-station keys new|list|revoke ... (argv[0] is "keys"). Returns the exit status. */
int zs_keys_cmd(int argc, char **argv);

#endif
