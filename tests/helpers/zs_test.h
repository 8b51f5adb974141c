/* Shared helpers for the cmocka unit tests. Thread: test main only. */
#ifndef ZS_TEST_H
#define ZS_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config/zs_config.h"
#include "core/zs_rc.h"

/* assert a zs_rc, printing both names on failure. */
#define assert_rc(got, want)                                                                       \
    do {                                                                                           \
        zs_rc got_ = (got), want_ = (want);                                                        \
        if (got_ != want_)                                                                         \
            fail_msg("%s:%d: got %s, want %s", __FILE__, __LINE__, zs_rc_str(got_),                \
                     zs_rc_str(want_));                                                            \
    } while (0)

/* Path of a file under the source tree; static buffer, valid until the next call. */
const char *zs_test_path(const char *rel);

/* Load a config file under the source tree (test fails on error); never NULL. */
struct zs_config *zs_test_load(const char *rel);

/* Schema of table `key` in a loaded config (test fails if absent). */
const struct zs_schema *zs_test_schema(const struct zs_config *c, const char *key);

/* Hex dump of bytes into a static buffer, for messages. */
const char *zs_test_hex(const uint8_t *p, size_t n);

#endif
