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

#endif
