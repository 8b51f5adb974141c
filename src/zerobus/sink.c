/*
 * The Zerobus client as the spool's sink (zs_spool_sink_ops): the spool hands records
 * over here, and gets their acknowledgements back with the sequence number it gave.
 * Thread: as zs_zerobus.h (submit from any thread, completions on the client thread).
 */
#include <string.h>

#include "zerobus/zs_zerobus.h"

static zs_rc s_table_add(void *ctx, const char *name, int record_type, const uint8_t *desc,
                         size_t desc_len, bool eager, void **out, struct zs_err *err)
{
    struct zs_zb_table *t = NULL;
    zs_rc rc = zs_zb_table_add(ctx, name, record_type, desc, desc_len, eager, &t, err);
    if (rc == ZS_OK)
        *out = t;
    return rc;
}

static zs_rc s_submit(void *ctx, void *table, const void *rec, size_t len, bool waited, uint64_t id,
                      zs_spool_sink_done_fn done, void *done_ctx)
{
    (void)ctx;
    return zs_zb_submit_rec(table, rec, len, waited, id, done, done_ctx);
}

static void s_state(void *ctx, void *table, struct zs_spool_upstream *out)
{
    (void)ctx;
    struct zs_zb_table_state st;
    zs_zb_table_state(table, &st);
    *out = (struct zs_spool_upstream){
        .state = st.state,
        .failing = st.failing,
        .queued = st.queued,
        .inflight = st.inflight,
        .acked = st.acked,
        .failed = st.failed,
        .recoveries = st.recoveries,
        .replayed = st.replayed,
        .streams_opened = st.streams_opened,
        .last_ok_ms = st.last_ok_ms,
        .last_fail_ms = st.last_fail_ms,
    };
    memcpy(out->last_error, st.last_error, sizeof out->last_error);
    out->close_signals = st.close_signals;
    memcpy(out->errors, st.errors, sizeof out->errors);
    memcpy(out->fatal, st.fatal, sizeof out->fatal);
    out->ack_latency = st.ack_latency;
}

const struct zs_spool_sink_ops zs_zb_sink_ops = {
    .table_add = s_table_add,
    .submit = s_submit,
    .state = s_state,
};
