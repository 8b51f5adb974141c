/* See zs_prom.h. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/zs_prom.h"

void zs_prom_begin(struct zs_prom *p, struct zs_buf *b)
{
    p->b = b;
    p->rc = ZS_OK;
}

zs_rc zs_prom_end(struct zs_prom *p)
{
    return p->rc;
}

static void put(struct zs_prom *p, const char *s, size_t n)
{
    if (p->rc == ZS_OK)
        p->rc = zs_buf_append(p->b, s, n);
}

static void puts_(struct zs_prom *p, const char *s)
{
    put(p, s, strlen(s));
}

void zs_prom_family(struct zs_prom *p, const char *name, const char *type, const char *help)
{
    puts_(p, "# HELP ");
    puts_(p, name);
    put(p, " ", 1);
    puts_(p, help);
    puts_(p, "\n# TYPE ");
    puts_(p, name);
    put(p, " ", 1);
    puts_(p, type);
    put(p, "\n", 1);
}

static void label_value(struct zs_prom *p, const char *v)
{
    const char *run = v;
    for (; *v; v++) {
        const char *esc = *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" : *v == '\n' ? "\\n" : NULL;
        if (esc == NULL)
            continue;
        put(p, run, (size_t)(v - run));
        puts_(p, esc);
        run = v + 1;
    }
    put(p, run, (size_t)(v - run));
}

/* name{k="v",...,extra_k="extra_v"} with a space after it. */
static void series(struct zs_prom *p, const char *name, const char *suffix,
                   const struct zs_prom_labels *l, const char *extra_k, const char *extra_v)
{
    puts_(p, name);
    if (suffix != NULL)
        puts_(p, suffix);
    unsigned n = l ? l->n : 0;
    if (n > 0 || extra_k != NULL) {
        put(p, "{", 1);
        for (unsigned i = 0; i < n; i++) {
            if (i > 0)
                put(p, ",", 1);
            puts_(p, l->k[i]);
            put(p, "=\"", 2);
            label_value(p, l->v[i]);
            put(p, "\"", 1);
        }
        if (extra_k != NULL) {
            if (n > 0)
                put(p, ",", 1);
            puts_(p, extra_k);
            put(p, "=\"", 2);
            puts_(p, extra_v);
            put(p, "\"", 1);
        }
        put(p, "}", 1);
    }
    put(p, " ", 1);
}

static void u64_line(struct zs_prom *p, uint64_t v)
{
    char num[24];
    char *e = zs_put_u64(num, v);
    *e++ = '\n';
    put(p, num, (size_t)(e - num));
}

static void f64_line(struct zs_prom *p, double v)
{
    char num[40];
    int n = snprintf(num, sizeof num, "%.15g\n", v);
    put(p, num, n > 0 && (size_t)n < sizeof num ? (size_t)n : 0);
}

void zs_prom_u64(struct zs_prom *p, const char *name, const struct zs_prom_labels *l, uint64_t v)
{
    series(p, name, NULL, l, NULL, NULL);
    u64_line(p, v);
}

void zs_prom_f64(struct zs_prom *p, const char *name, const struct zs_prom_labels *l, double v)
{
    series(p, name, NULL, l, NULL, NULL);
    f64_line(p, v);
}

void zs_prom_hist(struct zs_prom *p, const char *name, const struct zs_prom_labels *l,
                  const struct zs_hist_snap *h)
{
    uint64_t cum = 0;
    for (unsigned i = 0; i <= ZS_HIST_BOUNDS; i++) {
        /* the bounds of zs_hist_bounds_us in seconds, as Go's %g writes them */
        static const char *const le[ZS_HIST_BOUNDS + 1] = {
            "5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
            "0.05",  "0.1",    "0.25",    "0.5",    "1",     "2.5",    "5",     "10",   "+Inf"};
        cum += h->n[i];
        series(p, name, "_bucket", l, "le", le[i]);
        u64_line(p, cum);
    }
    series(p, name, "_sum", l, NULL, NULL);
    char sum[48]; /* microseconds as exact decimal seconds */
    snprintf(sum, sizeof sum, "%llu.%06llu\n", (unsigned long long)(h->sum_us / 1000000),
             (unsigned long long)(h->sum_us % 1000000));
    puts_(p, sum);
    series(p, name, "_count", l, NULL, NULL);
    u64_line(p, cum);
}

/* ---------------------------------------------------------------- process */

/* Fields 14, 15 (utime, stime in ticks) and 23 (vsize) of /proc/self/stat. */
static int read_stat(double *cpu_s, double *vsize)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *s = strrchr(buf, ')'); /* the command name may hold spaces */
    if (s == NULL)
        return -1;
    unsigned long long ut = 0, st = 0, vs = 0;
    /* after ")": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
     * utime(14) stime(15) cutime cstime priority nice threads itreal starttime vsize(23) */
    if (sscanf(s + 1,
               " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d "
               "%*d %*u %llu",
               &ut, &st, &vs) != 3)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    *cpu_s = (double)(ut + st) / (double)(hz > 0 ? hz : 100);
    *vsize = (double)vs;
    return 0;
}

static int read_rss(double *rss)
{
    unsigned long long size = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return -1;
    int ok = fscanf(f, "%llu %llu", &size, &res) == 2;
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    *rss = (double)res * (double)(page > 0 ? page : 4096);
    return ok ? 0 : -1;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

void zs_prom_process(struct zs_prom *p, long long start_wall_ms)
{
    double cpu, vsize, rss;
    if (read_stat(&cpu, &vsize) == 0) {
        zs_prom_family(p, "process_cpu_seconds_total", "counter",
                       "Total user and system CPU time spent in seconds.");
        zs_prom_f64(p, "process_cpu_seconds_total", NULL, cpu);
        zs_prom_family(p, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
        zs_prom_f64(p, "process_virtual_memory_bytes", NULL, vsize);
    }
    if (read_rss(&rss) == 0) {
        zs_prom_family(p, "process_resident_memory_bytes", "gauge",
                       "Resident memory size in bytes.");
        zs_prom_f64(p, "process_resident_memory_bytes", NULL, rss);
    }
    int fds = count_fds();
    if (fds >= 0) {
        zs_prom_family(p, "process_open_fds", "gauge", "Number of open file descriptors.");
        zs_prom_u64(p, "process_open_fds", NULL, (uint64_t)fds);
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        zs_prom_family(p, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
        zs_prom_u64(p, "process_max_fds", NULL, (uint64_t)rl.rlim_cur);
    }
    zs_prom_family(p, "process_start_time_seconds", "gauge",
                   "Start time of the process since unix epoch in seconds.");
    zs_prom_f64(p, "process_start_time_seconds", NULL, (double)start_wall_ms / 1000.0);
}
