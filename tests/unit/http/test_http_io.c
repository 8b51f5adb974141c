/*
 * The HTTP connection over its fake transport, and the strict chunked decoder: every
 * framing http-parser lets through and a proxy could read otherwise is refused (400, close);
 * valid forms (extensions, trailers, leading zeros) are read; a client that does not read
 * its answers stops the pipeline until it does; a long pipeline is served in turns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>

#include "core/zs_buf.h"
#include "http/body_decode.h"
#include "http/chunked.h"
#include "http/http_int.h"
#include "zs_test.h"

/* ---------------------------------------------------------------- the decoder alone */

struct sink {
    char data[256];
    size_t len;
};

static int to_sink(void *ctx, const char *p, size_t n)
{
    struct sink *s = ctx;
    if (s->len + n > sizeof s->data)
        return -1;
    memcpy(s->data + s->len, p, n);
    s->len += n;
    return 0;
}

/* Decode text whole and byte by byte: both must agree (rc, bytes taken, body). */
static enum zs_chunked_rc decode(const char *text, struct sink *out, size_t *used)
{
    size_t n = strlen(text);
    struct zs_chunked d;
    zs_chunked_init(&d);
    *out = (struct sink){0};
    enum zs_chunked_rc whole = zs_chunked_feed(&d, text, n, 64, to_sink, out, used);

    struct sink split = {0};
    size_t taken = 0, k;
    enum zs_chunked_rc rc = ZS_CHUNKED_MORE;
    zs_chunked_init(&d);
    for (size_t i = 0; i < n && rc == ZS_CHUNKED_MORE; i++) {
        rc = zs_chunked_feed(&d, text + i, 1, 64, to_sink, &split, &k);
        taken += k;
    }
    assert_int_equal(rc, whole);
    assert_int_equal(taken, *used);
    assert_int_equal(split.len, out->len);
    assert_memory_equal(split.data, out->data, out->len);
    return whole;
}

static void test_chunked_valid(void **state)
{
    (void)state;
    static const struct {
        const char *in, *body;
    } ok[] = {
        {"3\r\nabc\r\n0\r\n\r\n", "abc"},
        {"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", "abcde"},
        {"0003\r\nabc\r\n000\r\n\r\n", "abc"},
        {"A\r\n0123456789\r\n0\r\n\r\n", "0123456789"},
        {"3;name=value\r\nabc\r\n0;x\r\n\r\n", "abc"},
        {"3;a=\"b c\" ; d\r\nabc\r\n0\r\n\r\n", "abc"},
        {"3\r\nabc\r\n0\r\nExpires: never\r\nX-Sum:1\r\n\r\n", "abc"},
        {"0\r\n\r\n", ""},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct sink out;
        size_t used;
        enum zs_chunked_rc rc = decode(ok[i].in, &out, &used);
        if (rc != ZS_CHUNKED_DONE)
            fail_msg("case %zu (%s): rc %d", i, ok[i].in, (int)rc);
        assert_int_equal(used, strlen(ok[i].in));
        assert_int_equal(out.len, strlen(ok[i].body));
        assert_memory_equal(out.data, ok[i].body, out.len);
    }
    /* Bytes after the body are not taken: the next request starts there. */
    struct sink out;
    size_t used;
    assert_int_equal(decode("1\r\na\r\n0\r\n\r\nGET / HTTP/1.1\r\n", &out, &used), ZS_CHUNKED_DONE);
    assert_int_equal(used, 11);
    /* An unfinished body asks for more, having taken everything. */
    assert_int_equal(decode("5\r\nab", &out, &used), ZS_CHUNKED_MORE);
    assert_int_equal(used, 5);
    assert_int_equal(out.len, 2);
}

static void test_chunked_refused(void **state)
{
    (void)state;
    static const struct {
        const char *in, *why;
    } bad[] = {
        {"3\nabc\r\n0\r\n\r\n", "bare LF"},                 /* size line */
        {"3\r\nabc\n0\r\n\r\n", "bare LF"},                 /* after data */
        {"3\r\nabcXY0\r\n\r\n", "followed by CRLF"},        /* junk for the CRLF */
        {"3\r\nabc\rX0\r\n\r\n", "followed by CRLF"},       /* CR, then junk */
        {"3\r\nabc\r\n0\r\n\n", "bare LF"},                 /* the last line */
        {"3\r\nabc\r\n0\n\r\n", "bare LF"},                 /* the last chunk */
        {"3 \r\nabc\r\n0\r\n\r\n", "invalid chunk size"},   /* blank after the size */
        {"\t3\r\nabc\r\n0\r\n\r\n", "invalid chunk size"},  /* blank before */
        {"0x3\r\nabc\r\n0\r\n\r\n", "invalid chunk size"},  /* a prefix */
        {"+3\r\nabc\r\n0\r\n\r\n", "invalid chunk size"},   /* a sign */
        {"\r\nabc\r\n0\r\n\r\n", "invalid chunk size"},     /* no digits */
        {"3;a\nabc\r\n0\r\n\r\n", "bare LF"},               /* extension ends in LF */
        {"3;a\x01\r\nabc\r\n0\r\n\r\n", "chunk extension"}, /* control character */
        {"3\rabc\r\n0\r\n\r\n", "must end with CRLF"},      /* CR without LF */
        {"0\r\nX\r\n\r\n", "trailer"},                      /* trailer without colon */
        {"0\r\n: v\r\n\r\n", "trailer"},                    /* trailer without name */
        {"0\r\nX : v\r\n\r\n", "trailer"},                  /* blank before the colon */
        {"0\r\n folded\r\n\r\n", "trailer"},                /* obs-fold */
        {"0\r\nX: v\nY: w\r\n\r\n", "bare LF"},             /* trailer line ends in LF */
        {"0\r\nX: v\r\r\n", "must end with CRLF"},          /* CR CR */
        {"0\r\n\rX", "must end with CRLF"},                 /* the final CR, junk */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sink out;
        size_t used;
        struct zs_chunked d;
        enum zs_chunked_rc rc = decode(bad[i].in, &out, &used);
        if (rc != ZS_CHUNKED_ERROR)
            fail_msg("case %zu (%s): rc %d, want an error", i, bad[i].in, (int)rc);
        zs_chunked_init(&d);
        (void)zs_chunked_feed(&d, bad[i].in, strlen(bad[i].in), 64, to_sink, &out, &used);
        if (d.error == NULL || strstr(d.error, bad[i].why) == NULL)
            fail_msg("case %zu: reason \"%s\", want \"%s\"", i, d.error ? d.error : "", bad[i].why);
    }
}

static void test_chunked_limits(void **state)
{
    (void)state;
    struct sink out;
    size_t used;
    /* 16 significant hex digits: beyond 2^60 */
    assert_int_equal(decode("1000000000000000\r\n", &out, &used), ZS_CHUNKED_LIMIT);
    /* leading zeros do not count */
    assert_int_equal(decode("00000000000000000000003\r\nabc\r\n0\r\n\r\n", &out, &used),
                     ZS_CHUNKED_DONE);
    /* extensions and trailers: 64 bytes in decode() */
    char big[200] = "1;";
    memset(big + 2, 'e', 80);
    strcpy(big + 82, "\r\na\r\n0\r\n\r\n");
    assert_int_equal(decode(big, &out, &used), ZS_CHUNKED_LIMIT);
    /* the data sink refuses (the body cap): the decoder stops where the data starts */
    char huge[400];
    snprintf(huge, sizeof huge, "12c\r\n%0300d\r\n0\r\n\r\n", 0);
    struct zs_chunked d;
    zs_chunked_init(&d);
    out.len = 0;
    assert_int_equal(zs_chunked_feed(&d, huge, strlen(huge), 64, to_sink, &out, &used),
                     ZS_CHUNKED_LIMIT);
    assert_int_equal(used, 5);
    assert_string_equal(d.error, "request body too large");
}

/* ---------------------------------------------------------------- Content-Encoding */

/* gzip (window_bits 31), zlib (15) or raw deflate (-15) of in, into out; returns its size. */
static size_t deflate_to(const void *in, size_t len, int window_bits, uint8_t *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    return n;
}

/* Letters that compress, but not to nothing. */
static void fill_text(char *text, size_t n)
{
    for (size_t i = 0; i < n; i++)
        text[i] = (char)('a' + (i * 7 + i / 13) % 26);
}

static void test_body_codings(void **state)
{
    (void)state;
    enum zs_body_coding c;
    assert_int_equal(zs_body_coding_parse((const uint8_t *)" GZip ", 6, &c), 0);
    assert_int_equal(c, ZS_CODING_GZIP);
    assert_int_equal(zs_body_coding_parse((const uint8_t *)"x-gzip", 6, &c), 0);
    assert_int_equal(zs_body_coding_parse((const uint8_t *)"zstd", 4, &c), 0);
    assert_int_equal(c, ZS_CODING_ZSTD);
    assert_int_equal(zs_body_coding_parse((const uint8_t *)"br", 2, &c), -1);
    assert_int_equal(zs_body_coding_parse((const uint8_t *)"gzip, zstd", 10, &c), -1);

    static char text[100000];
    fill_text(text, sizeof text);
    static uint8_t packed[200000];
    struct zs_buf out;
    zs_buf_init(&out, 1u << 30);
    const char *why;
    const int bits[] = {31, 15, -15};
    const enum zs_body_coding codings[] = {ZS_CODING_GZIP, ZS_CODING_DEFLATE, ZS_CODING_DEFLATE};
    for (size_t k = 0; k < 3; k++) {
        size_t n = deflate_to(text, sizeof text, bits[k], packed, sizeof packed);
        assert_rc(zs_body_decode(codings[k], packed, n, sizeof text, &out, &why), ZS_OK);
        assert_int_equal(out.len, sizeof text);
        assert_memory_equal(out.data, text, sizeof text);
        /* one byte of room less: too large */
        assert_rc(zs_body_decode(codings[k], packed, n, sizeof text - 1, &out, &why), ZS_ELIMIT);
        assert_true(out.len <= sizeof text - 1);
        /* truncated, and followed by junk */
        assert_rc(zs_body_decode(codings[k], packed, n / 2, sizeof text, &out, &why), ZS_EPARSE);
        assert_non_null(strstr(why, "truncated"));
        packed[n] = 'x';
        assert_rc(zs_body_decode(codings[k], packed, n + 1, sizeof text, &out, &why), ZS_EPARSE);
    }
    size_t n = ZSTD_compress(packed, sizeof packed, text, sizeof text, 3);
    assert_false(ZSTD_isError(n));
    assert_rc(zs_body_decode(ZS_CODING_ZSTD, packed, n, sizeof text, &out, &why), ZS_OK);
    assert_memory_equal(out.data, text, sizeof text);
    assert_rc(zs_body_decode(ZS_CODING_ZSTD, packed, n, 1000, &out, &why), ZS_ELIMIT);
    assert_rc(zs_body_decode(ZS_CODING_ZSTD, packed, n - 3, sizeof text, &out, &why), ZS_EPARSE);
    packed[10] ^= 0xff;
    assert_rc(zs_body_decode(ZS_CODING_ZSTD, packed, n, sizeof text, &out, &why), ZS_EPARSE);
    /* a bomb: 64 MiB of zeros, stopped at the 1 MiB cap */
    size_t big = 64u << 20;
    char *zeros = calloc(1, big);
    assert_non_null(zeros);
    n = deflate_to(zeros, big, 31, packed, sizeof packed);
    free(zeros);
    assert_rc(zs_body_decode(ZS_CODING_GZIP, packed, n, 1u << 20, &out, &why), ZS_ELIMIT);
    assert_true(out.len <= 1u << 20);
    assert_true(out.cap <= (1u << 20) + 65536);
    zs_buf_release(&out);
}

/* Decode packed[0..n) in pieces of step bytes (as reads deliver it). */
static zs_rc decode_in_pieces(enum zs_body_coding coding, const uint8_t *packed, size_t n,
                              size_t step, size_t cap, struct zs_buf *out)
{
    struct zs_body_decoder d;
    const char *why;
    out->len = 0;
    zs_rc rc = zs_body_decoder_init(&d, coding, cap);
    for (size_t i = 0; rc == ZS_OK && i < n; i += step)
        rc = zs_body_decoder_feed(&d, packed + i, n - i < step ? n - i : step, out, &why);
    if (rc == ZS_OK)
        rc = zs_body_decoder_finish(&d, &why);
    zs_body_decoder_release(&d);
    return rc;
}

/* As the body arrives: any split of the compressed bytes decodes the same, and a body that
 * decodes to exactly the cap fits even when its trailer comes in a later piece. */
static void test_body_decoder_pieces(void **state)
{
    (void)state;
    static char text[20000];
    fill_text(text, sizeof text);
    static uint8_t packed[40000];
    struct zs_buf out;
    zs_buf_init(&out, 1u << 30);
    const size_t steps[] = {1, 2, 7, 100, 4096, sizeof packed};
    for (int k = 0; k < 4; k++) {
        enum zs_body_coding coding = k == 3   ? ZS_CODING_ZSTD
                                     : k == 0 ? ZS_CODING_GZIP
                                              : ZS_CODING_DEFLATE;
        size_t n = k == 3 ? ZSTD_compress(packed, sizeof packed, text, sizeof text, 3)
                          : deflate_to(text, sizeof text,
                                       k == 0   ? 31
                                       : k == 1 ? 15
                                                : -15,
                                       packed, sizeof packed);
        assert_false(ZSTD_isError(n));
        for (size_t j = 0; j < sizeof steps / sizeof steps[0]; j++) {
            assert_rc(decode_in_pieces(coding, packed, n, steps[j], sizeof text, &out), ZS_OK);
            assert_int_equal(out.len, sizeof text);
            assert_memory_equal(out.data, text, sizeof text);
            assert_rc(decode_in_pieces(coding, packed, n, steps[j], sizeof text - 1, &out),
                      ZS_ELIMIT);
            assert_rc(decode_in_pieces(coding, packed, n - 1, steps[j], sizeof text, &out),
                      ZS_EPARSE); /* truncated: told at the end */
        }
    }
    /* identity is capped the same way */
    assert_rc(decode_in_pieces(ZS_CODING_IDENTITY, (const uint8_t *)text, 100, 7, 100, &out),
              ZS_OK);
    assert_rc(decode_in_pieces(ZS_CODING_IDENTITY, (const uint8_t *)text, 101, 7, 100, &out),
              ZS_ELIMIT);
    zs_buf_release(&out);
}

/* ---------------------------------------------------------------- a connection, faked */

static int handled;
static size_t reply_bytes; /* each answer's body size */

static void handler(struct zs_http_req *r, void *ctx)
{
    (void)ctx;
    static char big[128 * 1024];
    handled++;
    if (r->body.len > 0) {
        zs_http_respond(r, 200, "text/plain", r->body.ptr, r->body.len, NULL);
        return;
    }
    memset(big, 'x', sizeof big);
    zs_http_respond(r, 200, "text/plain", big, reply_bytes, NULL);
}

struct rig {
    uv_loop_t loop;
    struct zs_http_fake *f;
};

static void rig_open(struct rig *g)
{
    uv_loop_init(&g->loop);
    struct zs_http_opts o = {.max_header_bytes = 2048, .max_body_bytes = 4096};
    g->f = zs_http__fake_create(&g->loop, &o, handler, NULL);
    handled = 0;
    reply_bytes = 2;
}

static void rig_close(struct rig *g)
{
    zs_http__fake_destroy(g->f);
    uv_run(&g->loop, UV_RUN_NOWAIT);
    assert_int_equal(uv_loop_close(&g->loop), 0);
}

static size_t count(const struct zs_buf *b, const char *needle)
{
    size_t n = 0, k = strlen(needle);
    for (size_t i = 0; i + k <= b->len; i++)
        n += memcmp(b->data + i, needle, k) == 0;
    return n;
}

static int feed(struct rig *g, const char *s)
{
    return zs_http__fake_feed(g->f, (const uint8_t *)s, strlen(s));
}

static void test_conn_chunked_body(void **state)
{
    (void)state;
    struct rig g;
    rig_open(&g);
    /* split anywhere: the body is the same */
    const char *req = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "4;x=y\r\nwiki\r\n5\r\npedia\r\n0\r\nT: 1\r\n\r\n"
                      "GET /n HTTP/1.1\r\n\r\n";
    for (const char *p = req; *p; p++)
        assert_int_equal(zs_http__fake_feed(g.f, (const uint8_t *)p, 1), 0);
    const struct zs_buf *out = zs_http__fake_output(g.f);
    assert_int_equal(handled, 2);
    assert_non_null(memmem(out->data, out->len, "\r\n\r\nwikipedia", 13));
    assert_int_equal(count(out, "HTTP/1.1 200 "), 2);
    assert_false(zs_http__fake_closed(g.f));
    rig_close(&g);
}

static void test_conn_chunked_refusals(void **state)
{
    (void)state;
    static const char *framing[] = {
        "3\r\nabcXY0\r\n\r\n", "3\nabc\r\n0\r\n\r\n",    "3\r\nabc\n0\r\n\r\n",
        "3\r\nabc\r\n0\r\n\n", "3 \r\nabc\r\n0\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof framing / sizeof framing[0]; i++) {
        struct rig g;
        rig_open(&g);
        char req[256];
        /* What a lenient reader would take as a second request must never be served. */
        snprintf(req, sizeof req,
                 "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n%s"
                 "GET /smuggled HTTP/1.1\r\n\r\n",
                 framing[i]);
        assert_int_equal(feed(&g, req), -1);
        const struct zs_buf *out = zs_http__fake_output(g.f);
        if (out->len < 13 || memcmp(out->data, "HTTP/1.1 400 ", 13) != 0)
            fail_msg("case %zu: %.*s", i, (int)out->len, (const char *)out->data);
        assert_non_null(memmem(out->data, out->len, "Connection: close", 17));
        assert_non_null(memmem(out->data, out->len, "\"error\":", 8));
        assert_int_equal(handled, 0);
        assert_true(zs_http__fake_closed(g.f));
        rig_close(&g);
    }
    /* a chunked body over max_body_bytes: 413 */
    struct rig g;
    rig_open(&g);
    char big[6000] = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1388\r\n";
    memset(big + strlen(big), 'b', 5000);
    assert_int_equal(feed(&g, big), -1);
    assert_memory_equal(zs_http__fake_output(g.f)->data, "HTTP/1.1 413 ", 13);
    rig_close(&g);
}

/* A header line folded onto the one before (obs-fold): 400, in one read or byte by byte. */
static void test_conn_obs_fold(void **state)
{
    (void)state;
    static const char *heads[] = {
        "POST /c HTTP/1.1\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
        "GET / HTTP/1.1\r\nX-A: 1\r\n\t2\r\n\r\n",
        "\r\nGET / HTTP/1.1\r\nHost: x\r\n y\r\n\r\n",
    };
    for (size_t i = 0; i < 2 * (sizeof heads / sizeof heads[0]); i++) {
        struct rig g;
        rig_open(&g);
        const char *h = heads[i / 2];
        int rc = 0;
        if (i % 2 == 0)
            rc = feed(&g, h);
        for (const char *p = h; i % 2 == 1 && *p && rc == 0; p++)
            rc = zs_http__fake_feed(g.f, (const uint8_t *)p, 1);
        assert_int_equal(rc, -1);
        assert_int_equal(handled, 0);
        const struct zs_buf *out = zs_http__fake_output(g.f);
        assert_memory_equal(out->data, "HTTP/1.1 400 ", 13);
        assert_non_null(memmem(out->data, out->len, "obs-fold", 8));
        rig_close(&g);
    }
    /* A space inside a value, a body with "\n " in it, and a second request: all fine. */
    struct rig g;
    rig_open(&g);
    assert_int_equal(feed(&g, "POST / HTTP/1.1\r\nX-A: a b\r\nContent-Length: 4\r\n\r\n\n \n\t"
                              "\r\nGET / HTTP/1.1\r\n\r\n"),
                     0);
    assert_int_equal(handled, 2);
    rig_close(&g);
}

/* 300 pipelined requests in one read: all answered in order, in turns of the loop. */
static void test_conn_long_pipeline(void **state)
{
    (void)state;
    struct rig g;
    rig_open(&g);
    struct zs_buf in;
    zs_buf_init(&in, 1u << 20);
    for (int i = 0; i < 300; i++) {
        char line[64];
        int n = snprintf(line, sizeof line, "GET /%d HTTP/1.1\r\n\r\n", i);
        assert_rc(zs_buf_append(&in, line, (size_t)n), ZS_OK);
    }
    assert_int_equal(zs_http__fake_feed(g.f, in.data, in.len), 0);
    assert_int_equal(handled, 300);
    assert_int_equal(count(zs_http__fake_output(g.f), "HTTP/1.1 200 "), 300);
    zs_buf_release(&in);
    rig_close(&g);
}

/* A client that does not read: answering stops once 1 MiB waits, and goes on when read. */
static void test_conn_slow_reader(void **state)
{
    (void)state;
    struct rig g;
    rig_open(&g);
    reply_bytes = 128 * 1024;
    zs_http__fake_hold(g.f);
    struct zs_buf in;
    zs_buf_init(&in, 1u << 20);
    for (int i = 0; i < 40; i++)
        assert_rc(zs_buf_append(&in, "GET / HTTP/1.1\r\n\r\n", 18), ZS_OK);
    assert_int_equal(zs_http__fake_feed(g.f, in.data, in.len), 0);
    int first = handled;
    assert_true(first >= 8 && first < 40); /* 8 answers of 128 KiB fill 1 MiB */
    zs_http__fake_release(g.f);
    assert_int_equal(handled, 40);
    assert_int_equal(count(zs_http__fake_output(g.f), "HTTP/1.1 200 "), 40);
    assert_false(zs_http__fake_closed(g.f));
    zs_buf_release(&in);
    rig_close(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunked_valid),         cmocka_unit_test(test_chunked_refused),
        cmocka_unit_test(test_chunked_limits),        cmocka_unit_test(test_body_codings),
        cmocka_unit_test(test_body_decoder_pieces),   cmocka_unit_test(test_conn_chunked_body),
        cmocka_unit_test(test_conn_chunked_refusals), cmocka_unit_test(test_conn_obs_fold),
        cmocka_unit_test(test_conn_long_pipeline),    cmocka_unit_test(test_conn_slow_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
