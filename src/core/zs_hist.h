/*
 * A latency histogram with fixed bucket bounds (the Prometheus histogram's cumulative
 * buckets are computed when it is read). One thread writes a histogram (a worker, the
 * client thread), any thread reads it: relaxed atomics, no lock, no fetch_add.
 */
#ifndef ZS_HIST_H
#define ZS_HIST_H

#include <stdatomic.h>
#include <stdint.h>

/* Upper bounds in microseconds, 50 us ... 10 s; one more bucket holds the rest (+Inf). */
#define ZS_HIST_BOUNDS 17
extern const uint64_t zs_hist_bounds_us[ZS_HIST_BOUNDS];

struct zs_hist {
    atomic_ullong n[ZS_HIST_BOUNDS + 1]; /* observations in (bound[i-1], bound[i]] */
    atomic_ullong sum_us;
};

/* What a reader sees; zs_hist_add merges several. */
struct zs_hist_snap {
    uint64_t n[ZS_HIST_BOUNDS + 1];
    uint64_t sum_us;
};

/* Add by to a counter that only the calling thread writes (others read it relaxed): a load
 * and a store, no locked instruction on the hot path. */
static inline void zs_counter_add(atomic_ullong *c, uint64_t by)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
                          memory_order_relaxed);
}

/* Count one observation of us microseconds. Thread: the histogram's one writer. */
void zs_hist_observe(struct zs_hist *h, uint64_t us);

/* Add h's counts into out (which the caller zeroed first). Thread: any. */
void zs_hist_add(struct zs_hist_snap *out, const struct zs_hist *h);

/* Add a snapshot into another. */
void zs_hist_merge(struct zs_hist_snap *out, const struct zs_hist_snap *in);

#endif
