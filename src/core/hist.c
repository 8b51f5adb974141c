/* See zs_hist.h. */
#include "core/zs_hist.h"

const uint64_t zs_hist_bounds_us[ZS_HIST_BOUNDS] = {
    50,    100,    250,    500,    1000,    2500,    5000,    10000,    25000,
    50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

void zs_hist_observe(struct zs_hist *h, uint64_t us)
{
    unsigned i = 0;
    while (i < ZS_HIST_BOUNDS && us > zs_hist_bounds_us[i])
        i++;
    zs_counter_add(&h->n[i], 1);
    zs_counter_add(&h->sum_us, us);
}

void zs_hist_add(struct zs_hist_snap *out, const struct zs_hist *h)
{
    for (unsigned i = 0; i <= ZS_HIST_BOUNDS; i++)
        out->n[i] += atomic_load_explicit(&h->n[i], memory_order_relaxed);
    out->sum_us += atomic_load_explicit(&h->sum_us, memory_order_relaxed);
}

void zs_hist_merge(struct zs_hist_snap *out, const struct zs_hist_snap *in)
{
    for (unsigned i = 0; i <= ZS_HIST_BOUNDS; i++)
        out->n[i] += in->n[i];
    out->sum_us += in->sum_us;
}
