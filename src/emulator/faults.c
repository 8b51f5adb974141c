/*
 * Fault injection state, set by flags (--faults JSON) or POST /admin/faults.
 * Thread: any, under f->lock.
 */
#include <stdio.h>
#include <string.h>

#include "emulator/emu.h"

void emu_faults_init(struct emu_faults *f)
{
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->lock, NULL);
}

void emu_faults_reset(struct emu_faults *f)
{
    pthread_mutex_lock(&f->lock);
    long long epoch = f->close_signal_epoch;
    pthread_mutex_t lock = f->lock;
    memset(f, 0, sizeof *f);
    f->lock = lock;
    f->close_signal_epoch = epoch; /* streams compare epochs: keep it monotonic */
    pthread_mutex_unlock(&f->lock);
}

static int get_int(json_t *obj, const char *key, long long lo, long long hi, long long *out,
                   char *msg, size_t cap)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        snprintf(msg, cap, "\"%s\" must be an integer in %lld..%lld", key, lo, hi);
        return -1;
    }
    *out = json_integer_value(v);
    return 1;
}

/*
 * Keys: fail_create {count, status, message}; drop_after_records N; stall_acks_ms T;
 * refuse_tokens true|status; expire_tokens true (handled by the caller);
 * rate_limit_rps R; close_signal_now {duration_ms} | true; catalog_status S (the Unity
 * Catalog API answers HTTP S, 0: off); catalog_delay_ms T (its answers wait T ms).
 */
int emu_faults_apply(struct emu_faults *f, json_t *obj, char *msg, size_t cap)
{
    static const char *const known[] = {"fail_create",      "drop_after_records",
                                        "stall_acks_ms",    "refuse_tokens",
                                        "expire_tokens",    "rate_limit_rps",
                                        "close_signal_now", "catalog_status",
                                        "catalog_delay_ms", NULL};
    if (!json_is_object(obj)) {
        snprintf(msg, cap, "faults must be a JSON object");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach (obj, key, v) {
        int ok = 0;
        for (size_t i = 0; known[i] != NULL; i++)
            ok |= strcmp(known[i], key) == 0;
        if (!ok) {
            snprintf(msg, cap, "unknown fault \"%.60s\"", key);
            return -1;
        }
    }
    long long x;
    pthread_mutex_lock(&f->lock);
    int rc = 0;
    json_t *fc = json_object_get(obj, "fail_create");
    if (fc != NULL) {
        long long count = 1, status = EMU_UNAVAILABLE;
        const char *st = json_string_value(json_object_get(fc, "status"));
        if (st != NULL && (status = emu_status_parse(st)) < 0) {
            snprintf(msg, cap, "fail_create.status: unknown gRPC status \"%.40s\"", st);
            rc = -1;
        }
        if (rc == 0 && (st == NULL && get_int(fc, "status", 1, 16, &status, msg, cap) < 0))
            rc = -1;
        if (rc == 0 && get_int(fc, "count", 0, 1000000, &count, msg, cap) < 0)
            rc = -1;
        if (rc == 0) {
            const char *m = json_string_value(json_object_get(fc, "message"));
            f->fail_create_n = (int)count;
            f->fail_create_status = (int)status;
            snprintf(f->fail_create_msg, sizeof f->fail_create_msg, "%s",
                     m ? m : "injected failure");
        }
    }
    if (rc == 0 && (rc = get_int(obj, "drop_after_records", 0, 1LL << 40, &x, msg, cap)) > 0)
        f->drop_after_records = (long)x;
    if (rc >= 0 && (rc = get_int(obj, "stall_acks_ms", 0, 3600000, &x, msg, cap)) > 0)
        f->stall_until_ms = x ? emu_now_ms() + x : 0;
    json_t *rt = json_object_get(obj, "refuse_tokens");
    if (rc >= 0 && rt != NULL) {
        if (json_is_boolean(rt))
            f->refuse_tokens_status = json_is_true(rt) ? 401 : 0;
        else if (json_is_integer(rt) && json_integer_value(rt) >= 400 &&
                 json_integer_value(rt) < 600)
            f->refuse_tokens_status = (int)json_integer_value(rt);
        else {
            snprintf(msg, cap, "\"refuse_tokens\" must be true, false or an HTTP status 400..599");
            rc = -1;
        }
    }
    json_t *cst = json_object_get(obj, "catalog_status");
    if (rc >= 0 && cst != NULL) {
        json_int_t st = json_integer_value(cst);
        if (!json_is_integer(cst) || (st != 0 && (st < 400 || st > 599))) {
            snprintf(msg, cap, "\"catalog_status\" must be 0 or an HTTP status 400..599");
            rc = -1;
        } else {
            f->catalog_status = (int)st;
        }
    }
    if (rc >= 0 && (rc = get_int(obj, "catalog_delay_ms", 0, 60000, &x, msg, cap)) > 0)
        f->catalog_delay_ms = (int)x;
    json_t *rl = json_object_get(obj, "rate_limit_rps");
    if (rc >= 0 && rl != NULL) {
        if (!json_is_number(rl) || json_number_value(rl) < 0) {
            snprintf(msg, cap, "\"rate_limit_rps\" must be a number >= 0");
            rc = -1;
        } else {
            f->rate_limit_rps = json_number_value(rl);
        }
    }
    json_t *cs = json_object_get(obj, "close_signal_now");
    if (rc >= 0 && cs != NULL && !json_is_false(cs)) {
        long long d = 1000;
        if (json_is_object(cs) && get_int(cs, "duration_ms", 0, 3600000, &d, msg, cap) < 0)
            rc = -1;
        else {
            f->close_signal_duration_ms = (int)d;
            f->close_signal_epoch++;
        }
    }
    pthread_mutex_unlock(&f->lock);
    return rc < 0 ? -1 : 0;
}

json_t *emu_faults_json(struct emu_faults *f)
{
    pthread_mutex_lock(&f->lock);
    long long now = emu_now_ms();
    json_t *j = json_pack("{s:{s:i, s:s, s:s}, s:I, s:I, s:i, s:f, s:i}", "fail_create", "count",
                          f->fail_create_n, "status", emu_status_name(f->fail_create_status),
                          "message", f->fail_create_msg, "drop_after_records",
                          (json_int_t)f->drop_after_records, "stall_acks_ms",
                          (json_int_t)(f->stall_until_ms > now ? f->stall_until_ms - now : 0),
                          "refuse_tokens", f->refuse_tokens_status, "rate_limit_rps",
                          f->rate_limit_rps, "catalog_status", f->catalog_status);
    pthread_mutex_unlock(&f->lock);
    return j;
}
