/* Core: capped buffers, arenas, error records, status names, allocation failure hooks. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/zs_arena.h"
#include "core/zs_buf.h"
#include "core/zs_err.h"
#include "core/zs_handoff.h"
#include "core/zs_hist.h"
#include "core/zs_prom.h"
#include "core/zs_log.h"
#include "core/zs_mem.h"
#include "zs_test.h"

static void test_buf_ceiling(void **state)
{
    (void)state;
    struct zs_buf b;
    zs_buf_init(&b, 10);
    assert_rc(zs_buf_append(&b, "0123456789", 10), ZS_OK);
    assert_int_equal(b.len, 10);
    assert_true(b.cap <= 10);
    assert_rc(zs_buf_append(&b, "x", 1), ZS_ELIMIT);
    assert_int_equal(b.len, 10); /* unchanged on error */
    assert_rc(zs_buf_reserve(&b, SIZE_MAX), ZS_ELIMIT);
    assert_null(zs_buf_cstr(&b)); /* no room for the NUL either */
    zs_buf_release(&b);
    zs_buf_init(&b, 1 << 20);
    assert_rc(zs_buf_printf(&b, "%s=%d", "n", 42), ZS_OK);
    assert_rc(zs_buf_puts(&b, "!"), ZS_OK);
    assert_string_equal(zs_buf_cstr(&b), "n=42!");
    for (int i = 0; i < 1000; i++)
        assert_rc(zs_buf_append(&b, "abcdefgh", 8), ZS_OK);
    assert_int_equal(b.len, 8005);
    zs_buf_release(&b);
    assert_null(b.data);
}

static void test_put(void **state)
{
    (void)state;
    char out[64];
    char *p = ZS_PUT_LIT(out, "n=");
    p = zs_put_u64(p, 0);
    *p++ = ',';
    p = zs_put_u64(p, 7);
    *p++ = ',';
    p = zs_put_u64(p, 1000000);
    *p++ = ',';
    p = zs_put_u64(p, UINT64_MAX);
    *p = '\0';
    assert_string_equal(out, "n=0,7,1000000,18446744073709551615");
    assert_int_equal(p - out, 34);
}

static void test_arena(void **state)
{
    (void)state;
    struct zs_arena *a = zs_arena_create(256);
    char *s = zs_arena_strndup(a, "hello world", 5);
    assert_string_equal(s, "hello");
    uint64_t *z = zs_arena_calloc(a, 100, sizeof *z); /* larger than the chunk */
    for (int i = 0; i < 100; i++)
        assert_int_equal(z[i], 0);
    void *p1 = zs_arena_alloc(a, 3), *p2 = zs_arena_alloc(a, 3);
    assert_int_equal((uintptr_t)p1 % 16, 0);
    assert_int_equal((uintptr_t)p2 % 16, 0);
    assert_null(zs_arena_calloc(a, SIZE_MAX / 2, 4)); /* overflow */
    zs_arena_destroy(a);
    zs_arena_destroy(NULL);
}

static void test_err(void **state)
{
    (void)state;
    struct zs_err e;
    char out[64];
    zs_err_clear(&e);
    assert_rc(e.code, ZS_OK);
    assert_rc(zs_err_set(&e, ZS_ESCHEMA, "$.a", "bad %d", 7), ZS_ESCHEMA);
    assert_string_equal(zs_err_format(&e, out, sizeof out), "$.a: bad 7");
    zs_err_set(&e, ZS_EIO, NULL, "plain");
    assert_string_equal(zs_err_format(&e, out, sizeof out), "plain");
    assert_rc(zs_err_set(NULL, ZS_EIO, NULL, "dropped"), ZS_EIO);
    char longmsg[600];
    memset(longmsg, 'm', sizeof longmsg - 1);
    longmsg[sizeof longmsg - 1] = '\0';
    zs_err_set(&e, ZS_EIO, NULL, "%s", longmsg);
    assert_int_equal(strlen(e.msg), ZS_ERR_MSG_MAX - 1); /* truncated, terminated */
}

static void test_rc_names(void **state)
{
    (void)state;
    for (int i = 0; i < ZS_RC_COUNT_; i++)
        assert_int_equal(strncmp(zs_rc_str((zs_rc)i), "ZS_", 3), 0);
    assert_string_equal(zs_rc_str(ZS_EPARSE), "ZS_EPARSE");
    assert_string_equal(zs_rc_str((zs_rc)999), "ZS_E?");
    assert_rc(zs_rc_from_errno(ENOSPC), ZS_ENOSPC);
    assert_rc(zs_rc_from_errno(ENOENT), ZS_ENOTFOUND);
    assert_rc(zs_rc_from_errno(EBADF), ZS_EIO);
}

static void test_log_levels(void **state)
{
    (void)state;
    enum zs_log_level lvl;
    assert_rc(zs_log_parse_level("debug", &lvl), ZS_OK);
    assert_int_equal(lvl, ZS_LOG_DEBUG);
    assert_rc(zs_log_parse_level("loud", &lvl), ZS_EINVAL);
    zs_log_set_level(ZS_LOG_ERROR);
    int evaluated = 0;
    zs_log(ZS_LOG_DEBUG, "test", "x=%d", ++evaluated); /* off: arguments not evaluated */
    assert_int_equal(evaluated, 0);
    zs_log_set_level(ZS_LOG_INFO);
}

#ifdef ZS_TESTING
static void test_fail_injection(void **state)
{
    (void)state;
    zs_mem_fail_after(1);
    void *a = zs_alloc(8);
    void *b = zs_alloc(8);
    zs_mem_fail_after(-1);
    assert_non_null(a);
    assert_null(b);
    zs_free(a);
    struct zs_buf buf;
    zs_buf_init(&buf, 100);
    zs_mem_fail_after(0);
    assert_rc(zs_buf_append(&buf, "x", 1), ZS_ENOMEM);
    zs_mem_fail_after(-1);
    assert_int_equal(buf.len, 0);
}
#endif

/* --log-format json: every key=value its own field, parsed back with jansson. */
static void test_log_json_fields(void **state)
{
    (void)state;
    char line[1024];
    size_t n = zs_log__json(line, sizeof line, "2026-12-04T15:00:00.000Z", "warn", "zb",
                            "msg=\"stream failed\" table=main.s.t slot=0 records=2 ratio=0.5 "
                            "error=\"INVALID_ARGUMENT: at column \"temp\"\" id=007");
    assert_true(n > 0 && line[n - 1] == '\n');
    json_error_t e;
    json_t *j = json_loadb(line, n, 0, &e);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "time")), "2026-12-04T15:00:00.000Z");
    assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(j, "comp")), "zb");
    assert_string_equal(json_string_value(json_object_get(j, "msg")), "stream failed");
    assert_string_equal(json_string_value(json_object_get(j, "table")), "main.s.t");
    assert_int_equal(json_integer_value(json_object_get(j, "slot")), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "records")), 2);
    assert_true(json_real_value(json_object_get(j, "ratio")) == 0.5);
    assert_string_equal(json_string_value(json_object_get(j, "error")),
                        "INVALID_ARGUMENT: at column \"temp\"");
    assert_string_equal(json_string_value(json_object_get(j, "id")), "007"); /* not a number */
    json_decref(j);
    /* Free text (no key=value) is the message; controls are escaped. */
    n = zs_log__json(line, sizeof line, "t", "info", "app", "plain\ttext");
    j = json_loadb(line, n, 0, &e);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "msg")), "plain\ttext");
    json_decref(j);
    /* A line that does not fit is cut, never overflows. */
    char small[64];
    n = zs_log__json(small, sizeof small, "t", "info", "app", "msg=\"a very long message\" k=v");
    assert_true(n <= sizeof small);
}

struct item {
    struct zs_handoff_node node;
    int v;
};

static void test_handoff_fifo(void **state)
{
    (void)state;
    struct zs_handoff q;
    zs_handoff_init(&q);
    struct item it[3] = {{.v = 1}, {.v = 2}, {.v = 3}};
    assert_int_equal(zs_handoff_push(&q, &it[0].node), 1); /* was empty: wake the consumer */
    assert_int_equal(zs_handoff_push(&q, &it[1].node), 0);
    struct zs_handoff_node *n = zs_handoff_take(&q);
    assert_int_equal(((struct item *)n)->v, 1);
    assert_int_equal(((struct item *)n->next)->v, 2);
    assert_null(n->next->next);
    assert_null(zs_handoff_take(&q));
    assert_int_equal(zs_handoff_push(&q, &it[2].node), 1);
    assert_int_equal(((struct item *)zs_handoff_take(&q))->v, 3);
    zs_handoff_release(&q);
}

static void test_hist_buckets(void **state)
{
    (void)state;
    struct zs_hist h;
    memset(&h, 0, sizeof h);
    zs_hist_observe(&h, 0);        /* le 5e-05 */
    zs_hist_observe(&h, 50);       /* le 5e-05: the bound is inclusive */
    zs_hist_observe(&h, 51);       /* le 0.0001 */
    zs_hist_observe(&h, 20000000); /* +Inf */
    struct zs_hist_snap a = {0}, b = {0};
    zs_hist_add(&a, &h);
    assert_int_equal(a.n[0], 2);
    assert_int_equal(a.n[1], 1);
    assert_int_equal(a.n[ZS_HIST_BOUNDS], 1);
    assert_int_equal(a.sum_us, 20000101);
    zs_hist_merge(&b, &a);
    zs_hist_merge(&b, &a);
    assert_int_equal(b.n[0], 4);
    assert_int_equal(b.sum_us, 40000202);
}

static void test_prom_text(void **state)
{
    (void)state;
    struct zs_buf b;
    zs_buf_init(&b, 1 << 16);
    struct zs_prom p;
    zs_prom_begin(&p, &b);
    zs_prom_family(&p, "x_total", "counter", "Things.");
    struct zs_prom_labels l = {.n = 2, .k = {"table", "why"}, .v = {"a\"b\\c\nd", "ok"}};
    zs_prom_u64(&p, "x_total", &l, 18446744073709551615ull);
    zs_prom_u64(&p, "x_total", NULL, 0);
    struct zs_hist h;
    memset(&h, 0, sizeof h);
    zs_hist_observe(&h, 75);
    zs_hist_observe(&h, 1500000);
    struct zs_hist_snap s = {0};
    zs_hist_add(&s, &h);
    struct zs_prom_labels one = {.n = 1, .k = {"route"}, .v = {"ingest"}};
    zs_prom_hist(&p, "d_seconds", &one, &s);
    assert_rc(zs_prom_end(&p), ZS_OK);
    const char *t = zs_buf_cstr(&b);
    assert_non_null(strstr(t, "# HELP x_total Things.\n# TYPE x_total counter\n"));
    assert_non_null(
        strstr(t, "x_total{table=\"a\\\"b\\\\c\\nd\",why=\"ok\"} 18446744073709551615\n"));
    assert_non_null(strstr(t, "\nx_total 0\n"));
    /* cumulative buckets, exact sum, count */
    assert_non_null(strstr(t, "d_seconds_bucket{route=\"ingest\",le=\"5e-05\"} 0\n"));
    assert_non_null(strstr(t, "d_seconds_bucket{route=\"ingest\",le=\"0.0001\"} 1\n"));
    assert_non_null(strstr(t, "d_seconds_bucket{route=\"ingest\",le=\"1\"} 1\n"));
    assert_non_null(strstr(t, "d_seconds_bucket{route=\"ingest\",le=\"2.5\"} 2\n"));
    assert_non_null(strstr(t, "d_seconds_bucket{route=\"ingest\",le=\"+Inf\"} 2\n"));
    assert_non_null(strstr(t, "d_seconds_sum{route=\"ingest\"} 1.500075\n"));
    assert_non_null(strstr(t, "d_seconds_count{route=\"ingest\"} 2\n"));
    /* every le is its bound in seconds, in order */
    const char *q = strstr(t, "d_seconds_bucket");
    for (unsigned i = 0; i < ZS_HIST_BOUNDS; i++) {
        q = strstr(q, ",le=\"");
        assert_non_null(q);
        q += 5;
        double le = strtod(q, NULL);
        assert_true(le * 1e6 > (double)zs_hist_bounds_us[i] - 0.5 &&
                    le * 1e6 < (double)zs_hist_bounds_us[i] + 0.5);
    }
    assert_int_equal(strncmp(strstr(q, ",le=\"") + 5, "+Inf\"", 5), 0);
    /* a buffer that cannot grow: the error sticks, nothing past it is written */
    struct zs_buf small;
    zs_buf_init(&small, 20);
    zs_prom_begin(&p, &small);
    zs_prom_family(&p, "x_total", "counter", "Things.");
    zs_prom_u64(&p, "y", NULL, 1);
    assert_rc(zs_prom_end(&p), ZS_ELIMIT);
    assert_true(small.len <= 20);
    zs_buf_release(&small);
    zs_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_json_fields), cmocka_unit_test(test_handoff_fifo),
        cmocka_unit_test(test_buf_ceiling),     cmocka_unit_test(test_put),
        cmocka_unit_test(test_arena),           cmocka_unit_test(test_err),
        cmocka_unit_test(test_rc_names),        cmocka_unit_test(test_log_levels),
#ifdef ZS_TESTING
        cmocka_unit_test(test_fail_injection),  cmocka_unit_test(test_hist_buckets),
        cmocka_unit_test(test_prom_text),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
