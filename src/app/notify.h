/*
 * The service manager's notification protocol (systemd Type=notify, through sd_notify of
 * libsystemd): READY, RELOADING, STOPPING and the watchdog. Without $NOTIFY_SOCKET every
 * call does nothing. Thread: main (the runtime's signal loop).
 */
#ifndef ZS_APP_NOTIFY_H
#define ZS_APP_NOTIFY_H

#include <stdint.h>

/* "READY=1" with a STATUS line (listeners are open, the spool is replaying). */
void zs_notify_ready(const char *status);

/* "RELOADING=1" (SIGHUP taken); zs_notify_ready follows once the reload is done. */
void zs_notify_reloading(void);

/* "STOPPING=1" (SIGTERM or SIGINT taken). */
void zs_notify_stopping(void);

/* The watchdog period the manager asked for ($WATCHDOG_USEC for this process), or 0. */
uint64_t zs_notify_watchdog_usec(void);

/* "WATCHDOG=1": the station is alive (the caller checked its workers). */
void zs_notify_watchdog(void);

#endif
