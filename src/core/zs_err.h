/*
 * zs_err: the detail of a failure, written once by the site that detects it
 * (like curl's failf). Callers pass the zs_rc up unchanged; only a boundary
 * (HTTP handler, CLI, stream supervisor) prints or logs it.
 * Thread: owned by the caller that passed it in.
 */
#ifndef ZS_ERR_H
#define ZS_ERR_H

#include <stdarg.h>
#include <stddef.h>

#include "core/zs_rc.h"

#define ZS_ERR_WHERE_MAX 256
#define ZS_ERR_MSG_MAX 512

struct zs_err {
    zs_rc code;                   /* ZS_OK while nothing failed */
    char where[ZS_ERR_WHERE_MAX]; /* JSON path ("$.a[3].b") or "file:line: path"; may be "" */
    char msg[ZS_ERR_MSG_MAX];     /* reason a person understands; never holds secrets */
};

/* Reset to ZS_OK with empty strings. e may be NULL. */
void zs_err_clear(struct zs_err *e);

/*
 * Record a failure; returns code so that sites can `return zs_err_set(...)`.
 * e may be NULL (the detail is dropped). where may be NULL. Text is truncated to fit.
 */
zs_rc zs_err_set(struct zs_err *e, zs_rc code, const char *where, const char *fmt, ...)
    ZS_PRINTF(4, 5);
zs_rc zs_err_vset(struct zs_err *e, zs_rc code, const char *where, const char *fmt, va_list ap)
    ZS_PRINTF(4, 0);

/* gRPC status codes 0 (OK) ... 16 (UNAUTHENTICATED). */
#define ZS_GRPC_CODES 17

/* The name of a gRPC status code ("UNAVAILABLE" for 14), "UNKNOWN" outside 0..16. */
const char *zs_grpc_status_name(int code);

/* "where: msg" (or "msg" when where is empty) into out; returns out. */
const char *zs_err_format(const struct zs_err *e, char *out, size_t cap);

#endif
