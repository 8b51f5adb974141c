/*
 * The one clock helper: monotonic time for timeouts, wall time for what is shown or
 * stored (redis monotonic.h). Thread: any.
 */
#ifndef ZS_CLOCK_H
#define ZS_CLOCK_H

/* CLOCK_MONOTONIC in milliseconds (timeouts, lingers, backoff). */
long long zs_mono_ms(void);

/* CLOCK_REALTIME in milliseconds since the epoch (ages stored on disk, log times). */
long long zs_wall_ms(void);

/* CLOCK_MONOTONIC in microseconds (latencies). */
long long zs_mono_us(void);

/* CLOCK_MONOTONIC in seconds, as a double (rates). */
double zs_mono_s(void);

/* Seconds since the epoch as "YYYY-MM-DDTHH:MM:SSZ" into out (at least 21 bytes). */
void zs_iso_utc(long long unix_s, char *out, unsigned long cap);

#endif
