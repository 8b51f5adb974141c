/*
 * Differential test: thousands of random records for the all-types table are built as
 * jansson values, dumped with random key order, indentation and escaping, transcoded,
 * decoded with protobuf-c, and compared field by field with the jansson values.
 * Fixed seeds, so a failure reproduces; the seed and record are printed.
 */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alltypes.pb-c.h"
#include "schema/zs_transcode.h"
#include "zs_test.h"

#define RECORDS 4000

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static int64_t rnd_range(int64_t lo, int64_t hi) /* inclusive */
{
    return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}
static int coin(int pct)
{
    return (int)(rnd() % 100) < pct;
}

static const char *const pieces[] = {"a",
                                     "Z",
                                     "0",
                                     " ",
                                     "\"",
                                     "\\",
                                     "/",
                                     "\n",
                                     "\t",
                                     "\x01",
                                     "\xc3\xa9",
                                     "\xe2\x82\xac",
                                     "\xf0\x9f\x98\x80",
                                     "key",
                                     "\x7f"};

static char *rnd_string(char *buf, size_t cap)
{
    size_t n = 0, parts = (size_t)rnd_range(0, 12);
    buf[0] = '\0';
    for (size_t i = 0; i < parts; i++) {
        const char *p = pieces[rnd() % (sizeof pieces / sizeof pieces[0])];
        size_t l = strlen(p);
        if (n + l + 1 >= cap)
            break;
        memcpy(buf + n, p, l + 1);
        n += l;
    }
    return buf;
}

static void civil(int64_t days, int *y, unsigned *m, unsigned *d)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    unsigned doe = (unsigned)(days - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

static json_t *date_value(int64_t days)
{
    if (coin(30))
        return json_integer(days);
    int y;
    unsigned m, d;
    civil(days, &y, &m, &d);
    char s[16];
    snprintf(s, sizeof s, "%04d-%02u-%02u", y, m, d);
    return json_string(s);
}

static json_t *ts_value(int64_t us, int ntz)
{
    if (coin(30))
        return json_integer(us);
    int64_t off_min = ntz ? 0 : rnd_range(-14 * 60, 14 * 60);
    int64_t local = us + off_min * 60 * 1000000;
    int64_t secs = local >= 0 ? local / 1000000 : -((-local + 999999) / 1000000);
    int64_t frac = local - secs * 1000000;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t sod = secs - days * 86400;
    int y;
    unsigned m, d;
    civil(days, &y, &m, &d);
    char s[64];
    int n = snprintf(s, sizeof s, "%04d-%02u-%02uT%02d:%02d:%02d", y, m, d, (int)(sod / 3600),
                     (int)(sod / 60 % 60), (int)(sod % 60));
    if (frac != 0 || coin(20))
        n += snprintf(s + n, sizeof s - (size_t)n, ".%06" PRId64, frac);
    if (!ntz) {
        if (off_min == 0 && coin(50))
            snprintf(s + n, sizeof s - (size_t)n, "Z");
        else
            snprintf(s + n, sizeof s - (size_t)n, "%c%02d:%02d", off_min < 0 ? '-' : '+',
                     (int)(llabs(off_min) / 60), (int)(llabs(off_min) % 60));
    }
    return json_string(s);
}

static json_t *variant_value(int depth)
{
    char buf[64];
    switch (rnd() % (depth > 3 ? 5 : 7)) {
    case 0:
        return json_integer(rnd_range(-1000000, 1000000));
    case 1:
        return json_real((double)rnd_range(-1000000, 1000000) / 64.0);
    case 2:
        return json_string(rnd_string(buf, sizeof buf));
    case 3:
        return json_boolean(coin(50));
    case 4:
        return json_null();
    case 5: {
        json_t *a = json_array();
        for (int i = rnd() % 4; i > 0; i--)
            json_array_append_new(a, variant_value(depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (int i = rnd() % 4; i > 0; i--) {
            char k[8];
            snprintf(k, sizeof k, "k%d", (int)(rnd() % 10));
            json_object_set_new(o, k, variant_value(depth + 1));
        }
        return o;
    }
    }
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static json_t *binary_value(uint8_t *bytes, size_t n)
{
    char s[200];
    size_t k = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)bytes[i] << 16 | (i + 1 < n ? (uint32_t)bytes[i + 1] << 8 : 0) |
                     (i + 2 < n ? bytes[i + 2] : 0);
        s[k++] = b64[v >> 18 & 63];
        s[k++] = b64[v >> 12 & 63];
        s[k++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
        s[k++] = i + 2 < n ? b64[v & 63] : '=';
    }
    s[k] = '\0';
    return json_string(s);
}

/* One record and what each field should decode to (kept in the jansson tree under "__"). */
static json_t *make_record(json_t *expect)
{
    json_t *r = json_object();
    char buf[128];
#define MAYBE(p) if (coin(p))
    MAYBE(60) json_object_set_new(r, "c_tinyint", json_integer(rnd_range(-128, 127)));
    MAYBE(60) json_object_set_new(r, "c_smallint", json_integer(rnd_range(-32768, 32767)));
    MAYBE(60) json_object_set_new(r, "c_int", json_integer(rnd_range(INT32_MIN, INT32_MAX)));
    MAYBE(60) json_object_set_new(r, "c_bigint", json_integer((json_int_t)rnd()));
    MAYBE(60)
    json_object_set_new(r, "c_float",
                        json_real((double)(float)((double)rnd_range(-1e9, 1e9) / 1024.0)));
    MAYBE(60)
    {
        double d;
        uint64_t bits = rnd();
        memcpy(&d, &bits, 8);
        if (!isfinite(d))
            d = 1.0 / 3.0;
        json_object_set_new(r, "c_double", json_real(d));
    }
    MAYBE(60) json_object_set_new(r, "c_boolean", json_boolean(coin(50)));
    MAYBE(60) json_object_set_new(r, "c_string", json_string(rnd_string(buf, sizeof buf)));
    MAYBE(40)
    {
        uint8_t bytes[64];
        size_t n = (size_t)rnd_range(0, 40);
        for (size_t i = 0; i < n; i++)
            bytes[i] = (uint8_t)rnd();
        json_object_set_new(r, "c_binary", binary_value(bytes, n));
        json_object_set_new(expect, "c_binary", json_stringn((const char *)bytes, 0));
        json_object_set_new(expect, "c_binary_hex", json_string(zs_test_hex(bytes, n)));
    }
    MAYBE(50)
    {
        int64_t days = rnd_range(-719162, 2932896);
        json_object_set_new(r, "c_date", date_value(days));
        json_object_set_new(expect, "c_date", json_integer(days));
    }
    MAYBE(50)
    {
        int64_t us = rnd_range(-62135596800LL * 1000000 + 86400000000LL, 253402214400LL * 1000000);
        json_object_set_new(r, "c_timestamp", ts_value(us, 0));
        json_object_set_new(expect, "c_timestamp", json_integer(us));
    }
    MAYBE(50)
    {
        int64_t us = rnd_range(0, 253402214400LL * 1000000);
        json_object_set_new(r, "c_timestamp_ntz", ts_value(us, 1));
        json_object_set_new(expect, "c_timestamp_ntz", json_integer(us));
    }
    MAYBE(50)
    {
        int64_t cents = rnd_range(-9999999999LL, 9999999999LL);
        char txt[32], canon[32];
        uint64_t a = (uint64_t)llabs(cents);
        snprintf(canon, sizeof canon, "%s%" PRIu64 ".%02" PRIu64, cents < 0 ? "-" : "", a / 100,
                 a % 100);
        if (coin(50)) {
            snprintf(txt, sizeof txt, "%s", canon);
            json_object_set_new(r, "c_decimal", json_string(txt));
        } else {
            json_object_set_new(r, "c_decimal", json_integer(cents / 100));
            snprintf(canon, sizeof canon, "%s%" PRIu64 ".00", cents / 100 < 0 ? "-" : "",
                     (uint64_t)llabs(cents / 100));
        }
        json_object_set_new(expect, "c_decimal", json_string(canon));
    }
    MAYBE(40) json_object_set_new(r, "c_variant", variant_value(0));
    MAYBE(50)
    {
        json_t *a = json_array();
        for (int i = rnd() % 6; i > 0; i--)
            json_array_append_new(a, json_integer(rnd_range(INT32_MIN, INT32_MAX)));
        json_object_set_new(r, "c_int_array", a);
    }
    MAYBE(50)
    {
        json_t *a = json_array();
        for (int i = rnd() % 6; i > 0; i--)
            json_array_append_new(a, json_string(rnd_string(buf, sizeof buf)));
        json_object_set_new(r, "c_string_array", a);
    }
    MAYBE(50)
    {
        json_t *s = json_object();
        MAYBE(50) json_object_set_new(s, "a", json_integer(rnd_range(-100, 100)));
        json_object_set_new(s, "b", json_string(rnd_string(buf, sizeof buf)));
        MAYBE(50)
        {
            json_t *in = json_object();
            MAYBE(70) json_object_set_new(in, "x", json_real((double)rnd_range(-1000, 1000) / 8));
            json_object_set_new(s, "inner", in);
        }
        json_object_set_new(r, "c_struct", s);
    }
    MAYBE(50)
    {
        json_t *a = json_array();
        for (int i = rnd() % 5; i > 0; i--) {
            json_t *e = json_object();
            MAYBE(70)
            json_object_set_new(e, "temp", json_real((double)rnd_range(-4000, 4000) / 16));
            MAYBE(70) json_object_set_new(e, "label", json_string(rnd_string(buf, sizeof buf)));
            json_array_append_new(a, e);
        }
        json_object_set_new(r, "readings", a);
    }
    MAYBE(50)
    {
        json_t *m = json_object();
        for (int i = rnd() % 5; i > 0; i--) {
            char k[64];
            snprintf(k, sizeof k, "%s%d", rnd_string(buf, 32), i);
            json_object_set_new(m, k, json_integer((json_int_t)rnd()));
        }
        json_object_set_new(r, "c_map", m);
    }
    MAYBE(50)
    {
        json_t *m = json_object();
        for (int i = rnd() % 5; i > 0; i--) {
            char k[16];
            snprintf(k, sizeof k, "%d", (int)rnd_range(-1000, 1000) * 10 + i);
            json_object_set_new(m, k, json_string(rnd_string(buf, sizeof buf)));
        }
        json_object_set_new(r, "c_int_map", m);
    }
    MAYBE(30)
    {
        json_t *m = json_object();
        for (int i = rnd() % 3; i > 0; i--) {
            char k[8];
            snprintf(k, sizeof k, "k%d", i);
            json_t *v = json_object();
            MAYBE(70) json_object_set_new(v, "v", json_integer(rnd_range(-5, 5)));
            json_object_set_new(m, k, v);
        }
        json_object_set_new(r, "c_struct_map", m);
    }
    MAYBE(30)
    {
        json_t *a = json_array(), *ea = json_array();
        for (int i = rnd() % 4; i > 0; i--) {
            int64_t us = rnd_range(0, 4102444800LL * 1000000);
            json_array_append_new(a, ts_value(us, 0));
            json_array_append_new(ea, json_integer(us));
        }
        json_object_set_new(r, "c_ts_array", a);
        json_object_set_new(expect, "c_ts_array", ea);
    }
    MAYBE(30)
    {
        json_t *m = json_object(), *em = json_object();
        MAYBE(60)
        {
            int64_t d = rnd_range(-1000, 30000);
            json_object_set_new(m, "true", date_value(d));
            json_object_set_new(em, "true", json_integer(d));
        }
        MAYBE(60)
        {
            int64_t d = rnd_range(-1000, 30000);
            json_object_set_new(m, "false", date_value(d));
            json_object_set_new(em, "false", json_integer(d));
        }
        json_object_set_new(r, "c_bool_map", m);
        json_object_set_new(expect, "c_bool_map", em);
    }
    MAYBE(30)
    {
        json_t *a = json_array();
        for (int i = rnd() % 4; i > 0; i--)
            json_array_append_new(a, json_real((double)rnd_range(-1000000, 1000000) / 1000));
        json_object_set_new(r, "c_double_array", a);
    }
    MAYBE(20) json_object_set_new(r, "c_string", json_null()); /* null for a nullable column */
#undef MAYBE
    return r;
}

/* Dump with the keys in a random order. */
static char *dump_shuffled(json_t *r, size_t flags)
{
    const char *keys[64];
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach (r, k, v)
        keys[n++] = k;
    for (size_t i = n; i > 1; i--) {
        size_t j = rnd() % i;
        const char *t = keys[i - 1];
        keys[i - 1] = keys[j];
        keys[j] = t;
    }
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set(o, keys[i], json_object_get(r, keys[i]));
    char *s = json_dumps(o, flags);
    json_decref(o);
    return s;
}

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fail_msg("record %d (%s): " __VA_ARGS__);                                              \
    } while (0)

static void compare(int idx, const char *text, json_t *r, json_t *ex, const ZsTest__AllTypes *m)
{
    json_t *v;
#define INT_FIELD(name)                                                                            \
    v = json_object_get(r, #name);                                                                 \
    CHECK((v != NULL) == (m->has_##name != 0), "%s presence", idx, text, #name);                   \
    if (v)                                                                                         \
        CHECK(json_integer_value(v) == m->name, "%s %" PRId64 " != %" PRId64, idx, text, #name,    \
              (int64_t)json_integer_value(v), (int64_t)m->name);
    INT_FIELD(c_tinyint);
    INT_FIELD(c_smallint);
    INT_FIELD(c_int);
    INT_FIELD(c_bigint);
#undef INT_FIELD
    v = json_object_get(r, "c_float");
    CHECK((v != NULL) == m->has_c_float, "c_float presence", idx, text);
    if (v)
        CHECK((float)json_real_value(v) == m->c_float, "c_float", idx, text);
    v = json_object_get(r, "c_double");
    CHECK((v != NULL) == m->has_c_double, "c_double presence", idx, text);
    if (v)
        CHECK(json_real_value(v) == m->c_double, "c_double %.17g != %.17g", idx, text,
              json_real_value(v), m->c_double);
    v = json_object_get(r, "c_boolean");
    CHECK((v != NULL) == m->has_c_boolean, "c_boolean presence", idx, text);
    if (v)
        CHECK(json_is_true(v) == (m->c_boolean != 0), "c_boolean", idx, text);
    v = json_object_get(r, "c_string");
    if (v == NULL || json_is_null(v))
        CHECK(m->c_string == NULL, "c_string should be absent", idx, text);
    else
        CHECK(m->c_string && strcmp(json_string_value(v), m->c_string) == 0, "c_string", idx, text);
    v = json_object_get(ex, "c_binary_hex");
    CHECK((v != NULL) == m->has_c_binary, "c_binary presence", idx, text);
    if (v)
        CHECK(strcmp(json_string_value(v), zs_test_hex(m->c_binary.data, m->c_binary.len)) == 0,
              "c_binary", idx, text);
#define EXPECT_INT(name)                                                                           \
    v = json_object_get(ex, #name);                                                                \
    CHECK((v != NULL) == (m->has_##name != 0), "%s presence", idx, text, #name);                   \
    if (v)                                                                                         \
        CHECK(json_integer_value(v) == m->name, "%s %" PRId64 " != %" PRId64, idx, text, #name,    \
              (int64_t)json_integer_value(v), (int64_t)m->name);
    EXPECT_INT(c_date);
    EXPECT_INT(c_timestamp);
    EXPECT_INT(c_timestamp_ntz);
#undef EXPECT_INT
    v = json_object_get(ex, "c_decimal");
    CHECK((v != NULL) == (m->c_decimal != NULL), "c_decimal presence", idx, text);
    if (v)
        CHECK(strcmp(json_string_value(v), m->c_decimal) == 0, "c_decimal %s != %s", idx, text,
              json_string_value(v), m->c_decimal);
    v = json_object_get(r, "c_variant");
    if (json_is_null(v))
        v = NULL; /* a JSON null column is SQL NULL: absent */
    CHECK((v != NULL) == (m->c_variant != NULL), "c_variant presence", idx, text);
    if (v) {
        char *compact = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
        char *compact2 = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        CHECK(strcmp(compact, m->c_variant) == 0 || strcmp(compact2, m->c_variant) == 0,
              "c_variant %s != %s", idx, text, compact, m->c_variant);
        free(compact);
        free(compact2);
    }
    v = json_object_get(r, "c_int_array");
    CHECK(m->n_c_int_array == (v ? json_array_size(v) : 0), "c_int_array size", idx, text);
    for (size_t i = 0; i < m->n_c_int_array; i++)
        CHECK(json_integer_value(json_array_get(v, i)) == m->c_int_array[i], "c_int_array", idx,
              text);
    v = json_object_get(r, "c_string_array");
    CHECK(m->n_c_string_array == (v ? json_array_size(v) : 0), "c_string_array size", idx, text);
    for (size_t i = 0; i < m->n_c_string_array; i++)
        CHECK(strcmp(json_string_value(json_array_get(v, i)), m->c_string_array[i]) == 0,
              "c_string_array", idx, text);
    v = json_object_get(r, "c_struct");
    CHECK((v != NULL) == (m->c_struct != NULL), "c_struct presence", idx, text);
    if (v) {
        json_t *a = json_object_get(v, "a"), *in = json_object_get(v, "inner");
        CHECK((a != NULL) == m->c_struct->has_a, "c_struct.a presence", idx, text);
        if (a)
            CHECK(json_integer_value(a) == m->c_struct->a, "c_struct.a", idx, text);
        CHECK(strcmp(json_string_value(json_object_get(v, "b")), m->c_struct->b) == 0, "c_struct.b",
              idx, text);
        CHECK((in != NULL) == (m->c_struct->inner != NULL), "c_struct.inner", idx, text);
        if (in) {
            json_t *x = json_object_get(in, "x");
            CHECK((x != NULL) == m->c_struct->inner->has_x, "inner.x presence", idx, text);
            if (x)
                CHECK(json_real_value(x) == m->c_struct->inner->x, "inner.x", idx, text);
        }
    }
    v = json_object_get(r, "readings");
    CHECK(m->n_readings == (v ? json_array_size(v) : 0), "readings size", idx, text);
    for (size_t i = 0; i < m->n_readings; i++) {
        json_t *e = json_array_get(v, i), *t = json_object_get(e, "temp"),
               *l = json_object_get(e, "label");
        CHECK((t != NULL) == m->readings[i]->has_temp, "readings.temp presence", idx, text);
        if (t)
            CHECK(json_real_value(t) == m->readings[i]->temp, "readings.temp", idx, text);
        CHECK((l != NULL) == (m->readings[i]->label != NULL), "readings.label", idx, text);
        if (l)
            CHECK(strcmp(json_string_value(l), m->readings[i]->label) == 0, "label", idx, text);
    }
    v = json_object_get(r, "c_map");
    CHECK(m->n_c_map == (v ? json_object_size(v) : 0), "c_map size", idx, text);
    for (size_t i = 0; i < m->n_c_map; i++) {
        json_t *x = json_object_get(v, m->c_map[i]->key);
        CHECK(x && json_integer_value(x) == m->c_map[i]->value, "c_map[%s]", idx, text,
              m->c_map[i]->key);
    }
    v = json_object_get(r, "c_int_map");
    CHECK(m->n_c_int_map == (v ? json_object_size(v) : 0), "c_int_map size", idx, text);
    for (size_t i = 0; i < m->n_c_int_map; i++) {
        char k[16];
        snprintf(k, sizeof k, "%d", m->c_int_map[i]->key);
        json_t *x = json_object_get(v, k);
        CHECK(x && strcmp(json_string_value(x), m->c_int_map[i]->value) == 0, "c_int_map", idx,
              text);
    }
    v = json_object_get(r, "c_struct_map");
    CHECK(m->n_c_struct_map == (v ? json_object_size(v) : 0), "c_struct_map size", idx, text);
    for (size_t i = 0; i < m->n_c_struct_map; i++) {
        json_t *x = json_object_get(json_object_get(v, m->c_struct_map[i]->key), "v");
        CHECK((x != NULL) == m->c_struct_map[i]->value->has_v, "c_struct_map.v", idx, text);
        if (x)
            CHECK(json_integer_value(x) == m->c_struct_map[i]->value->v, "c_struct_map", idx, text);
    }
    v = json_object_get(ex, "c_ts_array");
    CHECK(m->n_c_ts_array == (v ? json_array_size(v) : 0), "c_ts_array size", idx, text);
    for (size_t i = 0; i < m->n_c_ts_array; i++)
        CHECK(json_integer_value(json_array_get(v, i)) == m->c_ts_array[i], "c_ts_array", idx,
              text);
    v = json_object_get(ex, "c_bool_map");
    CHECK(m->n_c_bool_map == (v ? json_object_size(v) : 0), "c_bool_map size", idx, text);
    for (size_t i = 0; i < m->n_c_bool_map; i++) {
        json_t *x = json_object_get(v, m->c_bool_map[i]->key ? "true" : "false");
        CHECK(x && json_integer_value(x) == m->c_bool_map[i]->value, "c_bool_map", idx, text);
    }
    v = json_object_get(r, "c_double_array");
    CHECK(m->n_c_double_array == (v ? json_array_size(v) : 0), "c_double_array size", idx, text);
    for (size_t i = 0; i < m->n_c_double_array; i++)
        CHECK(json_real_value(json_array_get(v, i)) == m->c_double_array[i], "c_double_array", idx,
              text);
}

static void test_differential(void **state)
{
    (void)state;
    struct zs_config *c = zs_test_load("tests/data/alltypes.config.json");
    const struct zs_schema *s = zs_test_schema(c, "alltypes");
    struct zs_transcoder *tc = zs_transcoder_create();
    struct zs_buf out, back, again2;
    zs_buf_init(&out, 1 << 20);
    zs_buf_init(&back, 4 << 20);
    zs_buf_init(&again2, 1 << 20);
    rng_state = 0x9E3779B97F4A7C15ull;
    size_t total_bytes = 0;
    for (int i = 0; i < RECORDS; i++) {
        json_t *ex = json_object();
        json_t *r = make_record(ex);
        size_t flags = (coin(50) ? JSON_INDENT((int)(rnd() % 3)) : JSON_COMPACT) |
                       (coin(50) ? JSON_ENSURE_ASCII : 0) | JSON_REAL_PRECISION(17);
        char *text = dump_shuffled(r, flags);
        struct zs_err err;
        char msg[600];
        out.len = 0;
        zs_rc rc = zs_transcode(tc, s, (const uint8_t *)text, strlen(text), &out, &err);
        if (rc != ZS_OK)
            fail_msg("record %d: %s\n%s", i, zs_err_format(&err, msg, sizeof msg), text);
        total_bytes += out.len;
        ZsTest__AllTypes *m = zs_test__all_types__unpack(NULL, out.len, out.data);
        if (m == NULL)
            fail_msg("record %d: protobuf-c cannot decode %s\n%s", i,
                     zs_test_hex(out.data, out.len), text);
        compare(i, text, r, ex, m);
        /* Canonical encoding: protobuf-c re-packs to the same bytes. */
        size_t n = zs_test__all_types__get_packed_size(m);
        uint8_t *again = malloc(n ? n : 1);
        zs_test__all_types__pack(m, again);
        CHECK(n == out.len && memcmp(again, out.data, n) == 0, "not canonical", i, text);
        free(again);
        /* zs_schema_to_json is the inverse: its JSON transcodes to the same bytes. */
        back.len = 0;
        rc = zs_schema_to_json(s, out.data, out.len, &back);
        CHECK(rc == ZS_OK && zs_buf_cstr(&back) != NULL, "zs_schema_to_json failed", i, text);
        again2.len = 0;
        rc = zs_transcode(tc, s, back.data, back.len, &again2, &err);
        if (rc != ZS_OK)
            fail_msg("record %d: the decoded JSON does not transcode: %s\n%s\n%s", i,
                     zs_err_format(&err, msg, sizeof msg), (const char *)back.data, text);
        CHECK(again2.len == out.len && memcmp(again2.data, out.data, out.len) == 0,
              "decoded JSON transcodes to other bytes", i, (const char *)back.data);
        zs_test__all_types__free_unpacked(m, NULL);
        free(text);
        json_decref(r);
        json_decref(ex);
    }
    print_message("%d records, %zu protobuf bytes compared\n", RECORDS, total_bytes);
    assert_true(total_bytes > RECORDS * 20);
    /* Not a record of this schema: refused, nothing written. */
    back.len = 0;
    assert_rc(zs_schema_to_json(s,
                                (const uint8_t *)"\x0a\x05"
                                                 "ab",
                                4, &back),
              ZS_ECORRUPT);
    assert_int_equal(back.len, 0);
    zs_buf_release(&back);
    zs_buf_release(&again2);
    zs_buf_release(&out);
    zs_transcoder_destroy(tc);
    zs_config_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_differential)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
