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

void zs__log(enum zs_log_level lvl, const char *comp, const char *fmt, ...)
{
    char line[2048];
    char stamp[32];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

    char text[1800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);

    int n;
    if (log_json) {
        /* The message text is produced by our own format strings; escape quotes and controls. */
        char esc[1800];
        size_t j = 0;
        for (size_t i = 0; text[i] != '\0' && j + 7 < sizeof esc; i++) {
            unsigned char c = (unsigned char)text[i];
            if (c == '"' || c == '\\') {
                esc[j++] = '\\';
                esc[j++] = (char)c;
            } else if (c < 0x20) {
                j += (size_t)snprintf(esc + j, sizeof esc - j, "\\u%04x", c);
            } else {
                esc[j++] = (char)c;
            }
        }
        esc[j] = '\0';
        n = snprintf(line, sizeof line,
                     "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"comp\":\"%s\",\"msg\":\"%s\"}\n",
                     stamp, ts.tv_nsec / 1000000, level_names[lvl], comp, esc);
    } else {
        n = snprintf(line, sizeof line, "%s.%03ldZ level=%s comp=%s %s\n", stamp,
                     ts.tv_nsec / 1000000, level_names[lvl], comp, text);
    }
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
