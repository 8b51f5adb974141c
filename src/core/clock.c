/* See zs_clock.h. */
#include <time.h>

#include "core/zs_clock.h"

long long zs_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long zs_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double zs_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

long long zs_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void zs_iso_utc(long long unix_s, char *out, unsigned long cap)
{
    time_t at = (time_t)unix_s;
    struct tm tm;
    if (cap == 0)
        return;
    out[0] = '\0';
    if (gmtime_r(&at, &tm) != NULL)
        strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
