/* Config module internals: option tables and the generic loader. Thread: loader only. */
#ifndef ZS_CONFIG_INT_H
#define ZS_CONFIG_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config/zs_config.h"

enum zs_opt_type {
    ZS_OPT_BOOL, /* true/false */
    ZS_OPT_INT,  /* integer */
    ZS_OPT_SIZE, /* bytes: integer or "64KiB", "10MiB", "1GiB" */
    ZS_OPT_MS,   /* milliseconds: integer or "250ms", "5s", "2m" */
    ZS_OPT_ENUM, /* one of enum_values; stored as its index */
    ZS_OPT_PATH, /* a string (a file or directory); stored as const char *, NULL if "" */
};

struct zs_opt {
    const char *key;
    enum zs_opt_type type;
    const char *def; /* default, in the same syntax as the config */
    int64_t min, max;
    size_t offset; /* of the int64_t (ZS_OPT_PATH: const char *) field it fills */
    const char *const *enum_values;
    const char *desc;
    int live; /* ZS_OPT_LIVE: a reload applies it; else it waits for a restart */
};
#define ZS_OPT_LIVE 1
#define ZS_OPT_RESTART 0

struct zs_opt_section {
    const char *name;  /* "station", "tables.<key>" */
    const char *intro; /* one paragraph for the reference */
    const struct zs_opt *opts;
};

extern const struct zs_opt zs_station_opts_table[];
extern const struct zs_opt zs_table_opts_table[];

/* A JSON path being loaded, for messages and line lookup. */
struct zs_jpath {
    int n;
    const char *key[16]; /* NULL for an index step */
    size_t idx[16];
};

struct zs_cfgctx {
    const char *name; /* file name for messages */
    const char *text;
    size_t len;
    struct zs_err *err;
    struct zs_arena *arena; /* owns ZS_OPT_PATH values */
};

/* "file:line: path: msg" into ctx->err; returns code. */
zs_rc zs_config__fail(const struct zs_cfgctx *cx, const struct zs_jpath *jp, zs_rc code,
                      const char *fmt, ...) ZS_PRINTF(4, 5);

/* Fill every option of table at base with its default. */
void zs_opts__defaults(const struct zs_opt *table, void *base);

/* Apply one JSON value to the option named key; ZS_ENOTFOUND if the table has no such key. */
zs_rc zs_opts__apply(const struct zs_cfgctx *cx, const struct zs_jpath *jp,
                     const struct zs_opt *table, const char *key, json_t *v, void *base);

/* Parse an option value text (the default strings, environment values). */
zs_rc zs_opts__parse_text(const struct zs_opt *o, const char *text, int64_t *out);

#endif
