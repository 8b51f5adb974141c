/*
 * Logging: one key=value line per event on stderr (or JSON with zs_log_set_json).
 * zs_log() costs one branch when the level is off and never evaluates its arguments
 * then (redis serverLog). Never pass payloads, tokens, secrets or Authorization
 * headers: log sizes, counts, field paths and codes.
 * Thread: any; each line is written with one write(2).
 */
#ifndef ZS_LOG_H
#define ZS_LOG_H

#include "core/zs_rc.h"

enum zs_log_level { ZS_LOG_ERROR, ZS_LOG_WARN, ZS_LOG_INFO, ZS_LOG_DEBUG, ZS_LOG_TRACE };

extern int zs_log_level_;

/* Set the threshold (messages above it are dropped). */
void zs_log_set_level(enum zs_log_level lvl);

/* Parse "error|warn|info|debug|trace"; ZS_EINVAL on anything else. */
ZS_MUST_CHECK zs_rc zs_log_parse_level(const char *s, enum zs_log_level *out);

/* Emit lines as JSON objects instead of key=value text. */
void zs_log_set_json(int on);

#define zs_log_enabled(lvl) ((int)(lvl) <= zs_log_level_)

/* comp: module name ("config", "schema", ...); fmt: "key=value ..." pairs after msg. */
#define zs_log(lvl, comp, ...)                                                                     \
    do {                                                                                           \
        if (zs_log_enabled(lvl))                                                                   \
            zs__log((lvl), (comp), __VA_ARGS__);                                                   \
    } while (0)

void zs__log(enum zs_log_level lvl, const char *comp, const char *fmt, ...) ZS_PRINTF(3, 4);

/* The JSON line of zs_log_set_json (tests): {"time","level","comp", and each key=value of
 * text as a field, "msg" included}; returns its length (with the newline; cut at cap). */
#include <stddef.h>
size_t zs_log__json(char *out, size_t cap, const char *stamp, const char *level, const char *comp,
                    const char *text);

#endif
