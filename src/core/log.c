/* Logging to stderr; see zs_log.h. Thread: any. */
#include "core/zs_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int zs_log_level_ = ZS_LOG_INFO;
static int log_json;

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

void zs_log_set_level(enum zs_log_level lvl)
{
    zs_log_level_ = (int)lvl;
}

void zs_log_set_json(int on)
{
    log_json = on;
}

zs_rc zs_log_parse_level(const char *s, enum zs_log_level *out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum zs_log_level)i;
            return ZS_OK;
        }
    }
    return ZS_EINVAL;
}

/* Append c JSON-escaped. */
static size_t put_esc(char *out, size_t o, size_t cap, const char *s, size_t n)
{
    for (size_t i = 0; i < n && o + 7 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    return o;
}

static int is_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* At p: a key followed by '='? Returns the key's length, or 0. */
static size_t key_at(const char *p)
{
    size_t n = 0;
    while (is_key_char(p[n]))
        n++;
    return n > 0 && p[n] == '=' ? n : 0;
}

static int is_number(const char *s, size_t n)
{
    size_t i = s[0] == '-' ? 1 : 0, digits = 0, dots = 0;
    if (i == n || (n - i > 1 && s[i] == '0' && s[i + 1] != '.'))
        return 0;
    for (; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9')
            digits++;
        else if (s[i] == '.' && dots++ == 0 && digits > 0 && i + 1 < n)
            continue;
        else
            return 0;
    }
    return digits > 0;
}

/*
 * The JSON form of one line: {"time","level","comp","msg", then every key=value of text
 * as its own field}. A quoted value ends at a quote followed by the end or by " key=", so
 * the quotes that error texts carry inside stay in the value; bare numbers become numbers.
 */
size_t zs_log__json(char *out, size_t cap, const char *stamp, const char *level, const char *comp,
                    const char *text)
{
    size_t o = (size_t)snprintf(out, cap, "{\"time\":\"%s\",\"level\":\"%s\",\"comp\":\"%s\"",
                                stamp, level, comp);
    const char *p = text;
    int have_msg = 0;
    while (*p != '\0' && o + 16 < cap) {
        while (*p == ' ')
            p++;
        size_t kl = key_at(p);
        if (kl == 0) { /* free text: the rest is the message */
            if (*p == '\0')
                break;
            o += (size_t)snprintf(out + o, cap - o, ",\"%s\":\"", have_msg ? "text" : "msg");
            o = put_esc(out, o, cap, p, strlen(p));
            if (o + 2 < cap)
                out[o++] = '"';
            have_msg = 1;
            break;
        }
        const char *key = p, *v = p + kl + 1, *ve;
        if (*v == '"') {
            v++;
            ve = v;
            for (;;) { /* the closing quote: one followed by the end or " key=" */
                ve = strchr(ve, '"');
                if (ve == NULL) {
                    ve = v + strlen(v);
                    p = ve;
                    break;
                }
                if (ve[1] == '\0' || (ve[1] == ' ' && key_at(ve + 2) > 0)) {
                    p = ve + 1;
                    break;
                }
                ve++;
            }
        } else {
            ve = v;
            while (*ve != '\0' && *ve != ' ')
                ve++;
            p = ve;
        }
        int is_msg = kl == 3 && memcmp(key, "msg", 3) == 0;
        if ((kl == 4 && memcmp(key, "time", 4) == 0) || (kl == 5 && !memcmp(key, "level", 5)) ||
            (kl == 4 && memcmp(key, "comp", 4) == 0))
            continue; /* ours */
        have_msg |= is_msg;
        if (o + kl + 8 >= cap)
            break;
        out[o++] = ',';
        out[o++] = '"';
        memcpy(out + o, key, kl);
        o += kl;
        out[o++] = '"';
        out[o++] = ':';
        if (key[kl + 1] != '"' && is_number(v, (size_t)(ve - v)) && o + (size_t)(ve - v) < cap) {
            memcpy(out + o, v, (size_t)(ve - v));
            o += (size_t)(ve - v);
        } else {
            out[o++] = '"';
            o = put_esc(out, o, cap, v, (size_t)(ve - v));
            if (o + 2 < cap)
                out[o++] = '"';
        }
    }
    if (o + 2 < cap) {
        out[o++] = '}';
        out[o++] = '\n';
    }
    return o;
}

void zs__log(enum zs_log_level lvl, const char *comp, const char *fmt, ...)
{
    char line[4096];
    char stamp[40];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t sl = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp + sl, sizeof stamp - sl, ".%03ldZ", ts.tv_nsec / 1000000);

    char text[1800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);

    size_t len;
    if (log_json) {
        len = zs_log__json(line, sizeof line, stamp, level_names[lvl], comp, text);
    } else {
        int n = snprintf(line, sizeof line, "%s level=%s comp=%s %s\n", stamp, level_names[lvl],
                         comp, text);
        if (n < 0)
            return;
        len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    }
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
