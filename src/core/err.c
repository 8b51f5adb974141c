/* zs_err helpers. Thread: caller-owned objects only. */
#include "core/zs_err.h"

#include <stdio.h>
#include <string.h>

void zs_err_clear(struct zs_err *e)
{
    if (e == NULL)
        return;
    e->code = ZS_OK;
    e->where[0] = '\0';
    e->msg[0] = '\0';
}

zs_rc zs_err_vset(struct zs_err *e, zs_rc code, const char *where, const char *fmt, va_list ap)
{
    if (e == NULL)
        return code;
    e->code = code;
    snprintf(e->where, sizeof e->where, "%s", where ? where : "");
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    return code;
}

zs_rc zs_err_set(struct zs_err *e, zs_rc code, const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    zs_err_vset(e, code, where, fmt, ap);
    va_end(ap);
    return code;
}

const char *zs_err_format(const struct zs_err *e, char *out, size_t cap)
{
    if (e->where[0] != '\0')
        snprintf(out, cap, "%s: %s", e->where, e->msg);
    else
        snprintf(out, cap, "%s", e->msg);
    return out;
}

const char *zs_grpc_status_name(int code)
{
    static const char *const n[ZS_GRPC_CODES] = {"OK",
                                                 "CANCELLED",
                                                 "UNKNOWN",
                                                 "INVALID_ARGUMENT",
                                                 "DEADLINE_EXCEEDED",
                                                 "NOT_FOUND",
                                                 "ALREADY_EXISTS",
                                                 "PERMISSION_DENIED",
                                                 "RESOURCE_EXHAUSTED",
                                                 "FAILED_PRECONDITION",
                                                 "ABORTED",
                                                 "OUT_OF_RANGE",
                                                 "UNIMPLEMENTED",
                                                 "INTERNAL",
                                                 "UNAVAILABLE",
                                                 "DATA_LOSS",
                                                 "UNAUTHENTICATED"};
    return code >= 0 && code < ZS_GRPC_CODES ? n[code] : "UNKNOWN";
}
