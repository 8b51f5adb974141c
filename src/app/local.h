/*
 * --local DIR: a zerobus-emulator child on loopback as Zerobus, OAuth and Unity Catalog
 * (serve, init). DIR/catalog.json keeps the tables an earlier run listed; tables with
 * "fields" are written into it, tables without take their columns from it.
 * Thread: main.
 */
#ifndef ZS_APP_LOCAL_H
#define ZS_APP_LOCAL_H

#include <sys/types.h>

#include "config/zs_config.h"

struct zs_local {
    pid_t pid;
    char endpoint[64], workspace_url[64];
    char client_id[64], client_secret[80]; /* SECRET: generated for this run */
};

/* Write DIR/catalog.json (c's tables with fields, may be NULL) and start the emulator
 * (beside this binary); returns once it printed READY. 0, or -1 (printed to stderr). */
int zs_local_start(const struct zs_config *c, const char *dir, struct zs_local *l);
/* SIGTERM and wait; nothing if not started. */
void zs_local_stop(struct zs_local *l);
/* Point c at the emulator: its endpoints and its generated client. */
void zs_local_use(struct zs_config *c, const struct zs_local *l);

#endif
