/*
 * Writing the Prometheus text exposition format 0.0.4: a family's HELP and TYPE lines,
 * then its samples. Errors are sticky: after the buffer refuses to grow, every call does
 * nothing and zs_prom_end returns the error, so callers write without checking each line.
 * Thread: one writer at a time (the buffer's owner).
 */
#ifndef ZS_PROM_H
#define ZS_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "core/zs_buf.h"
#include "core/zs_hist.h"

struct zs_prom {
    struct zs_buf *b; /* borrowed */
    zs_rc rc;
};

/* Label values are escaped here (backslash, double quote, newline); the caller's label
 * names are [a-zA-Z_][a-zA-Z0-9_]* by construction. At most ZS_PROM_LABELS pairs. */
#define ZS_PROM_LABELS 4
struct zs_prom_labels {
    unsigned n;
    const char *k[ZS_PROM_LABELS];
    const char *v[ZS_PROM_LABELS];
};

void zs_prom_begin(struct zs_prom *p, struct zs_buf *b);

/* "# HELP name help\n# TYPE name type\n" (type: counter, gauge, histogram). */
void zs_prom_family(struct zs_prom *p, const char *name, const char *type, const char *help);

/* One sample: name{labels} value (labels may be NULL). */
void zs_prom_u64(struct zs_prom *p, const char *name, const struct zs_prom_labels *l, uint64_t v);
void zs_prom_f64(struct zs_prom *p, const char *name, const struct zs_prom_labels *l, double v);

/* A histogram's samples: name_bucket{labels,le="..."} (cumulative, seconds), name_sum
 * (seconds), name_count. */
void zs_prom_hist(struct zs_prom *p, const char *name, const struct zs_prom_labels *l,
                  const struct zs_hist_snap *h);

/* ZS_OK, or the first error a write met (ZS_ELIMIT, ZS_ENOMEM). */
zs_rc zs_prom_end(struct zs_prom *p);

/* The process's standard metrics (process_cpu_seconds_total, process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_open_fds, process_max_fds,
 * process_start_time_seconds) read from /proc/self; a file that cannot be read leaves its
 * families out. start_wall_ms: when the process started (zs_wall_ms). */
void zs_prom_process(struct zs_prom *p, long long start_wall_ms);

#endif
