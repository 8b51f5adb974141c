/*
 * zs_rc: the one status type of zerobus-station (modelled on curl's CURLcode).
 * Thread: any; everything here is pure.
 */
#ifndef ZS_RC_H
#define ZS_RC_H

#define ZS_MUST_CHECK __attribute__((warn_unused_result))
#define ZS_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

typedef enum zs_rc {
    ZS_OK = 0,
    ZS_EAGAIN,    /* full or not ready: backpressure, not a failure */
    ZS_ENOMEM,    /* allocation failed */
    ZS_EINVAL,    /* invalid argument or option value */
    ZS_ELIMIT,    /* a configured size or count limit was exceeded */
    ZS_ENOTFOUND, /* no such table, file or key */
    ZS_EPARSE,    /* input is not well-formed (JSON syntax, base64, date text) */
    ZS_ESCHEMA,   /* well-formed input that violates the table schema */
    ZS_EAUTH,     /* authentication or authorization failed */
    ZS_EIO,       /* an I/O call failed */
    ZS_ENOSPC,    /* disk full */
    ZS_ECORRUPT,  /* stored data failed a check */
    ZS_ETIMEDOUT, /* a deadline passed */
    ZS_EUNAVAIL,  /* upstream unavailable */
    ZS_ECANCELED, /* operation canceled (shutdown) */
    ZS_ESTATE,    /* call not valid in the object's current state */
    ZS_EINTERNAL, /* a bug or an unexpected library failure */
    ZS_RC_COUNT_
} zs_rc;

/* Short stable name of a code ("ZS_EPARSE"); never NULL. */
const char *zs_rc_str(zs_rc rc);

/* Map an errno value (read once, right after the failing call) to a zs_rc. */
zs_rc zs_rc_from_errno(int err);

#endif
