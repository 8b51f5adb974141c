/*
 * bench/transcode: JSON→protobuf records/s and MB/s on one core, for the seed's 60-byte
 * records (station_one) and ~1 KB nested IoT records, with jansson's DOM parse of the
 * same bytes as a baseline measured in the same run. Prints the median of 5 rounds.
 * Not a test: figures go to docs/BENCHMARKS.md.
 *
 *   usage: transcode [SECONDS_PER_ROUND [FILTER]]   (default 1.0; FILTER: run only the
 *          cases whose name contains it, e.g. for perf)
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/zs_config.h"
#include "schema/zs_transcode.h"

#define VARIANTS 4096
#define ROUNDS 5

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ull;
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

struct corpus {
    char *rec[VARIANTS];
    size_t len[VARIANTS];
    size_t bytes;
};

static void make_small(struct corpus *c)
{
    for (int i = 0; i < VARIANTS; i++) {
        char b[128];
        int n = snprintf(b, sizeof b,
                         "{\"device_name\": \"sensor-%03u\", \"temp\": %u, \"humidity\": %u}",
                         rnd(1000), rnd(50), rnd(100));
        c->rec[i] = strdup(b);
        c->len[i] = (size_t)n;
        c->bytes += (size_t)n;
    }
}

static void make_large(struct corpus *c)
{
    static const char *const kinds[] = {"temperature", "humidity", "pressure", "co2", "voc"};
    static const char *const units[] = {"celsius", "percent", "hPa", "ppm", "ppb"};
    for (int i = 0; i < VARIANTS; i++) {
        char b[2048];
        int n = snprintf(
            b, sizeof b,
            "{\"device_id\": \"dev-%05u-%04x\", \"event_time\": "
            "\"2026-11-%02uT%02u:%02u:%02u.%06uZ\", "
            "\"firmware\": \"v%u.%u.%u-build%u\", \"seq\": %u%05u, \"battery\": %u.%u, "
            "\"online\": %s, \"location\": {\"lat\": 52.%06u, \"lon\": 13.%06u, "
            "\"site\": \"Warehouse %u, Gate %c\", \"floor\": %u}, \"readings\": [",
            rnd(100000), rnd(65536), 1 + rnd(28), rnd(24), rnd(60), rnd(60), rnd(1000000), rnd(5),
            rnd(20), rnd(50), rnd(1000), rnd(100000), rnd(100000), rnd(100), rnd(10),
            rnd(2) ? "true" : "false", rnd(1000000), rnd(1000000), rnd(20), 'A' + rnd(6), rnd(8));
        for (int k = 0; k < 5; k++)
            n += snprintf(b + n, sizeof b - (size_t)n,
                          "%s{\"sensor\": \"s-%u-%s\", \"kind\": \"%s\", \"value\": %u.%03u, "
                          "\"unit\": \"%s\", \"ok\": %s}",
                          k ? ", " : "", rnd(64), kinds[k], kinds[k], rnd(2000), rnd(1000),
                          units[k], rnd(10) ? "true" : "false");
        n += snprintf(b + n, sizeof b - (size_t)n,
                      "], \"tags\": {\"region\": \"eu-central\", \"customer\": \"acme-%u\", "
                      "\"line\": \"L%u\", \"shift\": \"night\"}, \"errors\": [%u, %u, %u], "
                      "\"note\": \"periodic report from the gateway; nothing unusual \\u2713\"}",
                      rnd(500), rnd(12), rnd(100), rnd(100), rnd(100));
        c->rec[i] = strdup(b);
        c->len[i] = (size_t)n;
        c->bytes += (size_t)n;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Records per second of fn over the corpus, median of ROUNDS rounds of `secs` each. */
static const char *filter;

static double run(const char *name, const struct corpus *c, double secs,
                  int (*fn)(const char *rec, size_t len, void *ctx), void *ctx)
{
    if (filter != NULL && strstr(name, filter) == NULL)
        return 1;
    double rates[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        size_t done = 0;
        double t0 = now(), t;
        do {
            for (int i = 0; i < 256; i++, done++) {
                size_t k = done % VARIANTS;
                if (fn(c->rec[k], c->len[k], ctx) != 0) {
                    fprintf(stderr, "%s: record %zu failed\n", name, k);
                    exit(1);
                }
            }
            t = now();
        } while (t - t0 < secs);
        rates[r] = (double)done / (t - t0);
    }
    qsort(rates, ROUNDS, sizeof rates[0], cmp_double);
    double avg_len = (double)c->bytes / VARIANTS;
    printf("%-34s %10.0f records/s %8.1f MB/s (JSON in, %.0f B/record; rounds %.0f..%.0f)\n", name,
           rates[ROUNDS / 2], rates[ROUNDS / 2] * avg_len / 1e6, avg_len, rates[0],
           rates[ROUNDS - 1]);
    return rates[ROUNDS / 2];
}

struct tctx {
    struct zs_transcoder *tc;
    const struct zs_schema *s;
    struct zs_buf out;
};

static int do_transcode(const char *rec, size_t len, void *ctx)
{
    struct tctx *t = ctx;
    struct zs_err err;
    t->out.len = 0;
    return zs_transcode(t->tc, t->s, (const uint8_t *)rec, len, &t->out, &err) != ZS_OK;
}

static int do_jansson(const char *rec, size_t len, void *ctx)
{
    (void)ctx;
    json_error_t e;
    json_t *v = json_loadb(rec, len, 0, &e);
    if (v == NULL)
        return 1;
    json_decref(v);
    return 0;
}

static const struct zs_schema *schema(const char *path, const char *key, struct zs_config **keep)
{
    struct zs_err err;
    char msg[600];
    if (zs_config_load(path, "/dev/null", keep, &err) != ZS_OK) {
        fprintf(stderr, "%s\n", zs_err_format(&err, msg, sizeof msg));
        exit(1);
    }
    return zs_config_table(*keep, key, strlen(key))->schema;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    filter = argc > 2 ? argv[2] : NULL;
    struct zs_config *c1 = NULL, *c2 = NULL;
    struct tctx small = {.tc = zs_transcoder_create(),
                         .s = schema(ZS_SOURCE_DIR "/examples/config.json", "station_one", &c1)};
    struct tctx large = {.tc = zs_transcoder_create(),
                         .s = schema(ZS_SOURCE_DIR "/bench/data/iot.config.json", "iot", &c2)};
    zs_buf_init(&small.out, 1 << 20);
    zs_buf_init(&large.out, 1 << 20);
    struct corpus cs = {0}, cl = {0};
    make_small(&cs);
    make_large(&cl);
    printf(
        "transcode benchmark: one thread, %d distinct records per corpus, median of %d x %.1fs\n",
        VARIANTS, ROUNDS, secs);
    double a = run("transcode 60B seed records", &cs, secs, do_transcode, &small);
    double b = run("jansson parse 60B (baseline)", &cs, secs, do_jansson, NULL);
    double c = run("transcode ~1KB nested records", &cl, secs, do_transcode, &large);
    double d = run("jansson parse ~1KB (baseline)", &cl, secs, do_jansson, NULL);
    if (filter == NULL)
        printf("ratio transcode/jansson: 60B %.2fx, 1KB %.2fx\n", a / b, c / d);
    for (int i = 0; i < VARIANTS; i++) {
        free(cs.rec[i]);
        free(cl.rec[i]);
    }
    zs_buf_release(&small.out);
    zs_buf_release(&large.out);
    zs_transcoder_destroy(small.tc);
    zs_transcoder_destroy(large.tc);
    zs_config_destroy(c1);
    zs_config_destroy(c2);
    return 0;
}
