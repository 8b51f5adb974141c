/* Names of zs_rc codes and errno conversion. Thread: any. */
#include "core/zs_rc.h"

#include <errno.h>

const char *zs_rc_str(zs_rc rc)
{
    static const char *const names[ZS_RC_COUNT_] = {
        [ZS_OK] = "ZS_OK",
        [ZS_EAGAIN] = "ZS_EAGAIN",
        [ZS_ENOMEM] = "ZS_ENOMEM",
        [ZS_EINVAL] = "ZS_EINVAL",
        [ZS_ELIMIT] = "ZS_ELIMIT",
        [ZS_ENOTFOUND] = "ZS_ENOTFOUND",
        [ZS_EPARSE] = "ZS_EPARSE",
        [ZS_ESCHEMA] = "ZS_ESCHEMA",
        [ZS_EAUTH] = "ZS_EAUTH",
        [ZS_EIO] = "ZS_EIO",
        [ZS_ENOSPC] = "ZS_ENOSPC",
        [ZS_ECORRUPT] = "ZS_ECORRUPT",
        [ZS_ETIMEDOUT] = "ZS_ETIMEDOUT",
        [ZS_EUNAVAIL] = "ZS_EUNAVAIL",
        [ZS_ECANCELED] = "ZS_ECANCELED",
        [ZS_ESTATE] = "ZS_ESTATE",
        [ZS_EINTERNAL] = "ZS_EINTERNAL",
    };
    if ((unsigned)rc >= ZS_RC_COUNT_)
        return "ZS_E?";
    return names[rc];
}

zs_rc zs_rc_from_errno(int err)
{
    switch (err) {
    case 0:
        return ZS_OK;
    case EAGAIN:
        return ZS_EAGAIN;
    case ENOMEM:
        return ZS_ENOMEM;
    case EINVAL:
        return ZS_EINVAL;
    case ENOENT:
        return ZS_ENOTFOUND;
    case ENOSPC:
    case EDQUOT:
        return ZS_ENOSPC;
    case ETIMEDOUT:
        return ZS_ETIMEDOUT;
    case ECANCELED:
        return ZS_ECANCELED;
    case EACCES:
    case EPERM:
        return ZS_EAUTH;
    default:
        return ZS_EIO;
    }
}
