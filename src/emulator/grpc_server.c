/*
 * The emulator's gRPC service: databricks.zerobus.Zerobus/EphemeralStream on gRPC core's
 * C API. One completion-queue thread owns every stream; it wakes at least every 2 ms to
 * send acks that became durable (store writer) and due (--ack-delay-ms), close signals and
 * lifetime ends. One send is in flight per call; acks are coalesced to the highest offset.
 * Thread: the CQ thread, except emu_grpc_start/stop (main).
 */
#include <fcntl.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/zs_log.h"
#include "emulator/emu.h"
#include "zerobus_service.pb-c.h"

#define METHOD "/databricks.zerobus.Zerobus/EphemeralStream"

enum op { OP_NEW = 1, OP_RECV, OP_SEND, OP_STATUS, OP_CLOSE };

struct stream;
struct tag {
    struct stream *s;
    enum op op;
};

struct pend {
    int64_t offset;
    uint64_t seq;
    long long due_ms;
};

struct stream {
    struct tag t_new, t_recv, t_send, t_status, t_close;
    struct emu *e;
    grpc_call *call;
    grpc_metadata_array md;
    gpr_timespec deadline;
    grpc_byte_buffer *rbuf, *sbuf;
    int cancelled;
    int ops;
    int started, recv_done, send_busy, status_sent, close_done;
    int created, create_resp_pending, signal_pending, signal_ms;
    struct emu_table *table;
    struct emu_desc *desc;
    const struct emu_col *cols; /* JSON streams: the columns at create */
    size_t ncols;
    unsigned schema_version; /* the table's at create */
    int record_type;
    int64_t next_offset, ack_target, acked;
    struct pend *pend;
    size_t npend, pend_cap, pend_head;
    long long records, opened_ms, lifetime_end_ms, signal_at_ms, fault_epoch;
    double rl_tokens;
    long long rl_last_ms;
    int final_pending, final_code;
    int final_after_acks; /* fail once what was accepted before is acked (quota rejections) */
    char final_msg[400];
    char stream_id[40];
    char table_hdr[256], auth[512];
    struct zs_buf lines;
    int generic; /* any other method: answered UNIMPLEMENTED */
    grpc_call_details details;
    struct stream *next, *prev;
};

struct grpc_state {
    grpc_server *server;
    grpc_completion_queue *cq;
    void *method;
    pthread_t thread;
    struct stream *streams;
    atomic_int shutting_down; /* main thread sets it, the completion-queue thread reads it */
};

static struct grpc_state G;

static void request_call(struct emu *e);
static void request_generic(struct emu *e);

/* ---------------------------------------------------------------- helpers */

static void uuid4(char out[40])
{
    unsigned char b[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, b, sizeof b) != (ssize_t)sizeof b)
        for (size_t i = 0; i < sizeof b; i++)
            b[i] = (unsigned char)(rand() & 0xff);
    if (fd >= 0)
        close(fd);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

static void md_value(grpc_metadata_array *md, const char *key, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; i < md->count; i++) {
        if (grpc_slice_str_cmp(md->metadata[i].key, key) == 0) {
            size_t n = GRPC_SLICE_LENGTH(md->metadata[i].value);
            if (n >= cap)
                n = cap - 1;
            memcpy(out, GRPC_SLICE_START_PTR(md->metadata[i].value), n);
            out[n] = '\0';
            return;
        }
    }
}

static void fail_stream(struct stream *s, int code, const char *fmt, ...) ZS_PRINTF(3, 4);
static void fail_stream(struct stream *s, int code, const char *fmt, ...)
{
    if (s->final_pending || s->status_sent)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->final_msg, sizeof s->final_msg, fmt, ap);
    va_end(ap);
    s->final_pending = 1;
    s->final_code = code;
    if (code != EMU_OK && s->table != NULL)
        atomic_fetch_add(&s->table->st.errors[code], 1);
    zs_log(ZS_LOG_INFO, "emu",
           "msg=\"stream closed\" stream_id=%s table=%s status=%s detail=\"%s\"",
           s->stream_id[0] ? s->stream_id : "-", s->table ? s->table->name : "-",
           emu_status_name(code), s->final_msg);
}

static void send_response(struct stream *s, Databricks__Zerobus__EphemeralStreamResponse *r)
{
    size_t n = databricks__zerobus__ephemeral_stream_response__get_packed_size(r);
    grpc_slice sl = grpc_slice_malloc(n);
    databricks__zerobus__ephemeral_stream_response__pack(r, GRPC_SLICE_START_PTR(sl));
    s->sbuf = grpc_raw_byte_buffer_create(&sl, 1);
    grpc_slice_unref(sl);
    grpc_op op = {.op = GRPC_OP_SEND_MESSAGE};
    op.data.send_message.send_message = s->sbuf;
    if (grpc_call_start_batch(s->call, &op, 1, &s->t_send, NULL) == GRPC_CALL_OK) {
        s->send_busy = 1;
        s->ops++;
    } else {
        grpc_byte_buffer_destroy(s->sbuf);
        s->sbuf = NULL;
    }
}

/* Send the next thing this stream owes: create response, close signal, ack, final status. */
static void pump(struct stream *s)
{
    if (s->send_busy || s->status_sent || s->close_done)
        return;
    Databricks__Zerobus__EphemeralStreamResponse r =
        DATABRICKS__ZEROBUS__EPHEMERAL_STREAM_RESPONSE__INIT;
    if (s->create_resp_pending) {
        Databricks__Zerobus__CreateIngestStreamResponse c =
            DATABRICKS__ZEROBUS__CREATE_INGEST_STREAM_RESPONSE__INIT;
        c.stream_id = s->stream_id;
        r.payload_case =
            DATABRICKS__ZEROBUS__EPHEMERAL_STREAM_RESPONSE__PAYLOAD_CREATE_STREAM_RESPONSE;
        r.create_stream_response = &c;
        s->create_resp_pending = 0;
        send_response(s, &r);
        return;
    }
    if (s->ack_target > s->acked) {
        Databricks__Zerobus__IngestRecordResponse a =
            DATABRICKS__ZEROBUS__INGEST_RECORD_RESPONSE__INIT;
        a.has_durability_ack_up_to_offset = 1;
        a.durability_ack_up_to_offset = s->ack_target;
        r.payload_case =
            DATABRICKS__ZEROBUS__EPHEMERAL_STREAM_RESPONSE__PAYLOAD_INGEST_RECORD_RESPONSE;
        r.ingest_record_response = &a;
        s->acked = s->ack_target;
        atomic_fetch_add(&s->table->st.acks, 1);
        send_response(s, &r);
        return;
    }
    if (s->signal_pending) {
        Google__Protobuf__Duration d = GOOGLE__PROTOBUF__DURATION__INIT;
        Databricks__Zerobus__CloseStreamSignal c = DATABRICKS__ZEROBUS__CLOSE_STREAM_SIGNAL__INIT;
        d.seconds = s->signal_ms / 1000;
        d.nanos = (s->signal_ms % 1000) * 1000000;
        c.duration = &d;
        r.payload_case =
            DATABRICKS__ZEROBUS__EPHEMERAL_STREAM_RESPONSE__PAYLOAD_CLOSE_STREAM_SIGNAL;
        r.close_stream_signal = &c;
        s->signal_pending = 0;
        send_response(s, &r);
        return;
    }
    if (s->final_pending) {
        grpc_slice details = grpc_slice_from_copied_string(s->final_msg);
        grpc_op op = {.op = GRPC_OP_SEND_STATUS_FROM_SERVER};
        op.data.send_status_from_server.status = (grpc_status_code)s->final_code;
        op.data.send_status_from_server.status_details = &details;
        op.data.send_status_from_server.trailing_metadata_count = 0;
        if (grpc_call_start_batch(s->call, &op, 1, &s->t_status, NULL) == GRPC_CALL_OK) {
            s->ops++;
            s->status_sent = 1;
        }
        grpc_slice_unref(details);
    }
}

static void start_recv(struct stream *s)
{
    if (s->recv_done || s->final_pending || s->status_sent)
        return;
    grpc_op op = {.op = GRPC_OP_RECV_MESSAGE};
    op.data.recv_message.recv_message = &s->rbuf;
    if (grpc_call_start_batch(s->call, &op, 1, &s->t_recv, NULL) == GRPC_CALL_OK)
        s->ops++;
}

static long long ack_delay(struct emu *e)
{
    int lo = e->cfg.ack_delay_min_ms, hi = e->cfg.ack_delay_max_ms;
    return hi > lo ? lo + rand() % (hi - lo + 1) : lo;
}

/* ---------------------------------------------------------------- requests */

static void handle_create(struct stream *s, Databricks__Zerobus__CreateIngestStreamRequest *c)
{
    struct emu *e = s->e;
    char msg[400];
    struct emu_faults *f = e->faults;
    pthread_mutex_lock(&f->lock);
    int inject = f->fail_create_n > 0 ? f->fail_create_status : 0;
    if (inject)
        f->fail_create_n--;
    snprintf(msg, sizeof msg, "%s", f->fail_create_msg);
    pthread_mutex_unlock(&f->lock);
    const char *name = c->table_name;
    if (name != NULL)
        s->table = emu_table_get(e, name, false);
    if (inject) {
        fail_stream(s, inject, "%s", msg);
        return;
    }
    int code = emu_auth_check(e, s->auth[0] ? s->auth : NULL, NULL, msg, sizeof msg);
    if (code != EMU_OK) {
        fail_stream(s, code, "%s", msg);
        return;
    }
    if (name == NULL || name[0] == '\0') {
        fail_stream(s, EMU_INVALID_ARGUMENT, "create_stream.table_name is required");
        return;
    }
    if (s->table == NULL && (s->table = emu_table_get(e, name, true)) == NULL) {
        fail_stream(s, EMU_NOT_FOUND, "table %.200s does not exist", name);
        return;
    }
    if ((code = emu_auth_check(e, s->auth, s->table->name, msg, sizeof msg)) != EMU_OK) {
        fail_stream(s, code, "%s", msg);
        return;
    }
    if (s->table_hdr[0] == '\0' || strcasecmp(s->table_hdr, name) != 0) {
        fail_stream(s, EMU_INVALID_ARGUMENT,
                    "metadata x-databricks-zerobus-table-name (\"%.100s\") must equal "
                    "create_stream.table_name (\"%.100s\")",
                    s->table_hdr, name);
        return;
    }
    /* record_type absent means PROTO (the field's documented default, protocol §10.3). */
    s->record_type = c->has_record_type ? (int)c->record_type : 1;
    if (s->record_type != 1 && s->record_type != 2) {
        fail_stream(s, EMU_INVALID_ARGUMENT, "record_type must be PROTO or JSON");
        return;
    }
    s->schema_version = atomic_load(&s->table->schema_version);
    pthread_mutex_lock(&e->cat_lock);
    s->cols = s->table->cols;
    s->ncols = s->table->ncols;
    pthread_mutex_unlock(&e->cat_lock);
    if (s->record_type == 1) {
        if (!c->has_descriptor_proto || c->descriptor_proto.len == 0) {
            fail_stream(s, EMU_INVALID_ARGUMENT, "descriptor_proto is required for PROTO streams");
            return;
        }
        s->desc = emu_desc_create(e, s->table, c->descriptor_proto.data, c->descriptor_proto.len,
                                  msg, sizeof msg);
        if (s->desc == NULL) {
            fail_stream(s, EMU_INVALID_ARGUMENT, "%s", msg);
            return;
        }
    }
    uuid4(s->stream_id);
    s->created = 1;
    s->create_resp_pending = 1;
    s->opened_ms = emu_now_ms();
    s->lifetime_end_ms = s->opened_ms + e->cfg.stream_lifetime_ms;
    s->signal_at_ms = s->lifetime_end_ms - e->cfg.close_signal_ms;
    s->rl_last_ms = s->opened_ms;
    pthread_mutex_lock(&f->lock);
    s->fault_epoch = f->close_signal_epoch;
    pthread_mutex_unlock(&f->lock);
    atomic_fetch_add(&s->table->st.streams, 1);
    atomic_fetch_add(&e->streams_open, 1);
    zs_log(ZS_LOG_INFO, "emu", "msg=\"stream opened\" stream_id=%s table=%s record_type=%s",
           s->stream_id, s->table->name, s->record_type == 1 ? "PROTO" : "JSON");
}

static int decode_one(struct stream *s, const uint8_t *p, size_t n, int is_json, long idx)
{
    char msg[300];
    int rc = -1;
    if (is_json != (s->record_type == 2))
        snprintf(msg, sizeof msg, "a %s record on a %s stream", is_json ? "JSON" : "PROTO",
                 s->record_type == 2 ? "JSON" : "PROTO");
    else if (is_json)
        rc = emu_decode_json(s->cols, s->ncols, (const char *)p, n, &s->lines, msg, sizeof msg);
    else
        rc = emu_decode_proto(s->desc, p, n, &s->lines, msg, sizeof msg);
    if (rc != 0)
        fail_stream(s, EMU_INVALID_ARGUMENT, "record %ld at offset %lld does not decode: %s", idx,
                    (long long)s->next_offset, msg);
    return rc;
}

static void handle_ingest(struct stream *s, int64_t offset, int has_offset, size_t nrec,
                          const ProtobufCBinaryData *bin, char *const *json, int is_json)
{
    struct emu *e = s->e;
    if (s->final_after_acks)
        return; /* past a rejection: nothing more is accepted (the client replays it) */
    if (!has_offset) {
        fail_stream(s, EMU_INVALID_ARGUMENT, "offset_id is required");
        return;
    }
    if (s->schema_version != atomic_load(&s->table->schema_version)) {
        fail_stream(s, EMU_INVALID_ARGUMENT,
                    "the table's schema changed since the stream was created (ALTER TABLE): "
                    "the descriptor no longer matches the table");
        return;
    }
    if (e->cfg.strict_offsets && offset != s->next_offset) {
        fail_stream(s, EMU_INVALID_ARGUMENT, "offset_id %lld out of sequence: expected %lld",
                    (long long)offset, (long long)s->next_offset);
        return;
    }
    struct emu_faults *f = e->faults;
    long long now = emu_now_ms();
    pthread_mutex_lock(&f->lock);
    long drop = f->drop_after_records;
    double rps = f->rate_limit_rps;
    if (drop > 0 && s->records + (long long)nrec > drop)
        f->drop_after_records = 0; /* one stream, once */
    pthread_mutex_unlock(&f->lock);
    if (drop > 0 && s->records + (long long)nrec > drop) {
        fail_stream(s, EMU_UNAVAILABLE, "stream dropped after %lld records (fault injection)",
                    s->records);
        return;
    }
    if (rps > 0) {
        if (s->rl_last_ms == s->opened_ms && s->rl_tokens == 0)
            s->rl_tokens = rps; /* a new stream starts with a full second of quota */
        s->rl_tokens += (double)(now - s->rl_last_ms) * rps / 1000.0;
        if (s->rl_tokens > rps)
            s->rl_tokens = rps;
        s->rl_last_ms = now;
        if (s->rl_tokens < (double)nrec) {
            /* Reject the excess, but first acknowledge what was accepted and made durable. */
            s->final_after_acks = 1;
            s->final_code = EMU_RESOURCE_EXHAUSTED;
            snprintf(s->final_msg, sizeof s->final_msg,
                     "stream exceeded its quota of %.0f records/s (fault injection)", rps);
            return;
        }
        s->rl_tokens -= (double)nrec;
    }
    s->lines.len = 0;
    for (size_t i = 0; i < nrec; i++) {
        if (decode_one(s, is_json ? (const uint8_t *)json[i] : bin[i].data,
                       is_json ? strlen(json[i]) : bin[i].len, is_json, (long)i) != 0)
            return;
    }
    uint64_t seq = emu_store_append(e, s->table, s->lines.data, s->lines.len, (long)nrec);
    if (seq == 0) {
        fail_stream(s, EMU_INTERNAL, "store append failed");
        return;
    }
    if (s->npend - s->pend_head == s->pend_cap - s->pend_head && s->pend_head > 0) {
        memmove(s->pend, s->pend + s->pend_head, (s->npend - s->pend_head) * sizeof *s->pend);
        s->npend -= s->pend_head;
        s->pend_head = 0;
    }
    if (s->npend == s->pend_cap) {
        size_t cap = s->pend_cap ? s->pend_cap * 2 : 64;
        struct pend *p = realloc(s->pend, cap * sizeof *p);
        if (p == NULL) {
            fail_stream(s, EMU_INTERNAL, "out of memory");
            return;
        }
        s->pend = p;
        s->pend_cap = cap;
    }
    s->pend[s->npend++] = (struct pend){offset, seq, now + ack_delay(e)};
    s->records += (long long)nrec;
    s->next_offset = offset + 1;
    atomic_fetch_add(&s->table->st.records_in, (long long)nrec);
}

static void handle_message(struct stream *s)
{
    struct emu *e = s->e;
    size_t len = grpc_byte_buffer_length(s->rbuf);
    if ((long)len > e->cfg.max_message_bytes) {
        fail_stream(s, EMU_INVALID_ARGUMENT,
                    "message of %zu bytes exceeds the maximum allowed size of %ld bytes", len,
                    e->cfg.max_message_bytes);
        return;
    }
    grpc_byte_buffer_reader rd;
    grpc_byte_buffer_reader_init(&rd, s->rbuf);
    grpc_slice sl = grpc_byte_buffer_reader_readall(&rd);
    grpc_byte_buffer_reader_destroy(&rd);
    Databricks__Zerobus__EphemeralStreamRequest *req =
        databricks__zerobus__ephemeral_stream_request__unpack(NULL, GRPC_SLICE_LENGTH(sl),
                                                              GRPC_SLICE_START_PTR(sl));
    grpc_slice_unref(sl);
    if (req == NULL) {
        fail_stream(s, EMU_INVALID_ARGUMENT, "request is not an EphemeralStreamRequest");
        return;
    }
    switch (req->payload_case) {
    case DATABRICKS__ZEROBUS__EPHEMERAL_STREAM_REQUEST__PAYLOAD_CREATE_STREAM:
        if (s->created)
            fail_stream(s, EMU_INVALID_ARGUMENT, "create_stream may only be the first message");
        else
            handle_create(s, req->create_stream);
        break;
    case DATABRICKS__ZEROBUS__EPHEMERAL_STREAM_REQUEST__PAYLOAD_INGEST_RECORD: {
        Databricks__Zerobus__IngestRecordRequest *r = req->ingest_record;
        if (!s->created) {
            fail_stream(s, EMU_INVALID_ARGUMENT, "first message must be CreateStream");
        } else if (r->record_case ==
                   DATABRICKS__ZEROBUS__INGEST_RECORD_REQUEST__RECORD_JSON_RECORD) {
            handle_ingest(s, r->offset_id, r->has_offset_id, 1, NULL, &r->json_record, 1);
        } else if (r->record_case ==
                   DATABRICKS__ZEROBUS__INGEST_RECORD_REQUEST__RECORD_PROTO_ENCODED_RECORD) {
            handle_ingest(s, r->offset_id, r->has_offset_id, 1, &r->proto_encoded_record, NULL, 0);
        } else {
            fail_stream(s, EMU_INVALID_ARGUMENT, "ingest_record carries no record");
        }
        break;
    }
    case DATABRICKS__ZEROBUS__EPHEMERAL_STREAM_REQUEST__PAYLOAD_INGEST_RECORD_BATCH: {
        Databricks__Zerobus__IngestRecordBatchRequest *b = req->ingest_record_batch;
        if (!s->created)
            fail_stream(s, EMU_INVALID_ARGUMENT, "first message must be CreateStream");
        else if (b->batch_case ==
                 DATABRICKS__ZEROBUS__INGEST_RECORD_BATCH_REQUEST__BATCH_JSON_BATCH)
            handle_ingest(s, b->offset_id, b->has_offset_id, b->json_batch->n_records, NULL,
                          b->json_batch->records, 1);
        else if (b->batch_case ==
                 DATABRICKS__ZEROBUS__INGEST_RECORD_BATCH_REQUEST__BATCH_PROTO_ENCODED_BATCH)
            handle_ingest(s, b->offset_id, b->has_offset_id, b->proto_encoded_batch->n_records,
                          b->proto_encoded_batch->records, NULL, 0);
        else
            fail_stream(s, EMU_INVALID_ARGUMENT, "ingest_record_batch carries no batch");
        break;
    }
    default:
        fail_stream(s, EMU_INVALID_ARGUMENT, "empty EphemeralStreamRequest");
    }
    databricks__zerobus__ephemeral_stream_request__free_unpacked(req, NULL);
}

/* ---------------------------------------------------------------- lifecycle */

static struct stream *stream_new(struct emu *e)
{
    struct stream *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->e = e;
    s->t_new = (struct tag){s, OP_NEW};
    s->t_recv = (struct tag){s, OP_RECV};
    s->t_send = (struct tag){s, OP_SEND};
    s->t_status = (struct tag){s, OP_STATUS};
    s->t_close = (struct tag){s, OP_CLOSE};
    s->acked = -1;
    s->ack_target = -1;
    zs_buf_init(&s->lines, (size_t)64 << 20);
    grpc_metadata_array_init(&s->md);
    return s;
}

static void stream_free(struct stream *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else if (G.streams == s)
        G.streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    if (s->created)
        atomic_fetch_sub(&s->e->streams_open, 1);
    if (s->call)
        grpc_call_unref(s->call);
    grpc_metadata_array_destroy(&s->md);
    if (s->generic)
        grpc_call_details_destroy(&s->details);
    emu_desc_destroy(s->desc);
    zs_buf_release(&s->lines);
    free(s->pend);
    free(s);
}

static void stream_start(struct stream *s)
{
    s->started = 1;
    s->next = G.streams;
    if (G.streams)
        G.streams->prev = s;
    G.streams = s;
    md_value(&s->md, "x-databricks-zerobus-table-name", s->table_hdr, sizeof s->table_hdr);
    md_value(&s->md, "authorization", s->auth, sizeof s->auth);
    /* Initial metadata at once: the Rust SDK waits for response headers (protocol §2.6). */
    grpc_op ops[2] = {{.op = GRPC_OP_SEND_INITIAL_METADATA}, {.op = GRPC_OP_RECV_MESSAGE}};
    ops[0].data.send_initial_metadata.count = 0;
    ops[1].data.recv_message.recv_message = &s->rbuf;
    if (grpc_call_start_batch(s->call, ops, 2, &s->t_recv, NULL) == GRPC_CALL_OK)
        s->ops++;
    grpc_op close_op = {.op = GRPC_OP_RECV_CLOSE_ON_SERVER};
    close_op.data.recv_close_on_server.cancelled = &s->cancelled;
    if (grpc_call_start_batch(s->call, &close_op, 1, &s->t_close, NULL) == GRPC_CALL_OK)
        s->ops++;
}

static void on_event(struct tag *t, int ok)
{
    struct stream *s = t->s;
    struct emu *e = s->e;
    switch (t->op) {
    case OP_NEW:
        if (!ok) {
            stream_free(s);
            return;
        }
        if (s->generic) {
            /* PersistentStream, RetireStream, anything else: UNIMPLEMENTED (protocol §1.5). */
            if (!G.shutting_down)
                request_generic(e);
            grpc_slice details = grpc_slice_from_static_string("method not implemented");
            grpc_op ops[3] = {{.op = GRPC_OP_SEND_INITIAL_METADATA},
                              {.op = GRPC_OP_SEND_STATUS_FROM_SERVER},
                              {.op = GRPC_OP_RECV_CLOSE_ON_SERVER}};
            ops[1].data.send_status_from_server.status = GRPC_STATUS_UNIMPLEMENTED;
            ops[1].data.send_status_from_server.status_details = &details;
            ops[2].data.recv_close_on_server.cancelled = &s->cancelled;
            if (grpc_call_start_batch(s->call, ops, 3, &s->t_close, NULL) == GRPC_CALL_OK)
                s->ops++;
            else
                stream_free(s);
            return;
        }
        if (!G.shutting_down)
            request_call(e);
        stream_start(s);
        return;
    case OP_RECV:
        s->ops--;
        if (!ok || s->rbuf == NULL) {
            s->recv_done = 1; /* half-close: ack what arrived, then OK */
        } else {
            handle_message(s);
            grpc_byte_buffer_destroy(s->rbuf);
            s->rbuf = NULL;
            start_recv(s);
        }
        break;
    case OP_SEND:
        s->ops--;
        s->send_busy = 0;
        grpc_byte_buffer_destroy(s->sbuf);
        s->sbuf = NULL;
        break;
    case OP_STATUS:
        s->ops--;
        break;
    case OP_CLOSE:
        s->ops--;
        s->close_done = 1;
        break;
    }
    pump(s);
    if (s->close_done && s->ops == 0)
        stream_free(s);
}

static void request_call(struct emu *e)
{
    struct stream *s = stream_new(e);
    if (s == NULL)
        return;
    if (grpc_server_request_registered_call(G.server, G.method, &s->call, &s->deadline, &s->md,
                                            NULL, G.cq, G.cq, &s->t_new) != GRPC_CALL_OK)
        stream_free(s);
}

static void request_generic(struct emu *e)
{
    struct stream *s = stream_new(e);
    if (s == NULL)
        return;
    s->generic = 1;
    grpc_call_details_init(&s->details);
    if (grpc_server_request_call(G.server, &s->call, &s->details, &s->md, G.cq, G.cq, &s->t_new) !=
        GRPC_CALL_OK)
        stream_free(s);
}

/* Acks that became durable and due, close signals, lifetime ends, half-closes, shutdown. */
static void tick(struct emu *e)
{
    long long now = emu_now_ms();
    struct emu_faults *f = e->faults;
    pthread_mutex_lock(&f->lock);
    int stalled = f->stall_until_ms > now;
    long long epoch = f->close_signal_epoch;
    int signal_ms = f->close_signal_duration_ms;
    pthread_mutex_unlock(&f->lock);
    int stopping = atomic_load(&e->stopping);
    for (struct stream *s = G.streams, *next; s != NULL; s = next) {
        next = s->next;
        if (s->status_sent || s->close_done)
            continue;
        if (s->created && s->schema_version != atomic_load(&s->table->schema_version)) {
            fail_stream(s, EMU_INVALID_ARGUMENT,
                        "the table's schema changed since the stream was created (ALTER "
                        "TABLE): the descriptor no longer matches the table");
        } else if (s->created) {
            uint64_t durable = atomic_load(&s->table->durable_seq);
            while (!stalled && s->pend_head < s->npend && s->pend[s->pend_head].seq <= durable &&
                   s->pend[s->pend_head].due_ms <= now)
                s->ack_target = s->pend[s->pend_head++].offset;
            if (epoch != s->fault_epoch) {
                s->fault_epoch = epoch;
                s->signal_pending = 1;
                s->signal_ms = signal_ms;
                s->lifetime_end_ms = now + signal_ms;
                s->signal_at_ms = now;
            } else if (now >= s->signal_at_ms && s->signal_at_ms > 0 && !s->signal_pending &&
                       s->signal_ms == 0) {
                s->signal_pending = 1;
                s->signal_ms = (int)(s->lifetime_end_ms - now);
            }
            if (now >= s->lifetime_end_ms)
                fail_stream(s, EMU_UNAVAILABLE,
                            "Stream timeout reached. Closing the stream (ID: %s). Error Code: "
                            "6002, Error State: 0.",
                            s->stream_id);
        }
        int all_acked = s->pend_head == s->npend && s->ack_target == s->acked;
        if (s->final_after_acks && all_acked && !s->final_pending) {
            char msg[sizeof s->final_msg];
            snprintf(msg, sizeof msg, "%s", s->final_msg);
            fail_stream(s, s->final_code, "%s", msg);
        }
        if (s->recv_done && all_acked)
            fail_stream(s, EMU_OK, "stream closed by the client");
        if (stopping && (all_acked || stopping > 1))
            fail_stream(s, EMU_UNAVAILABLE, "the emulator is shutting down");
        pump(s);
    }
}

/* Time left to the next millisecond boundary of the monotonic clock, in µs (1..1000). */
static long us_to_next_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1000 - (ts.tv_nsec / 1000) % 1000;
}

/* A call is under way (not just the ones requested from the server, waiting for a client). */
static int has_calls(void)
{
    for (const struct stream *s = G.streams; s != NULL; s = s->next)
        if (s->call != NULL && !s->status_sent)
            return 1;
    return 0;
}

/* Events as they come, each followed by a tick() (a batch that is durable and due is acked
 * at once; acks coalesce while a stream's previous write is in flight), and a tick at every
 * millisecond boundary for timers (ack delays, the store's group commits, faults) while a
 * call is under way; without calls, 10 wake-ups a second. */
static void *cq_thread(void *arg)
{
    struct emu *e = arg;
    for (;;) {
        long wait_us = has_calls() ? us_to_next_ms() : 100000;
        gpr_timespec dl =
            gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_micros(wait_us, GPR_TIMESPAN));
        grpc_event ev = grpc_completion_queue_next(G.cq, dl, NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type == GRPC_OP_COMPLETE && ev.tag != NULL && ev.tag != (void *)&G)
            on_event(ev.tag, ev.success);
        tick(e);
    }
    return NULL;
}

static char *read_pem(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (buf != NULL && n == 0) {
        free(buf);
        buf = NULL;
    }
    return buf;
}

static void log_bridge(gpr_log_func_args *args)
{
    zs_log(ZS_LOG_WARN, "grpc", "msg=\"%s\" file=%s line=%d", args->message, args->file,
           args->line);
}

zs_rc emu_grpc_start(struct emu *e, int *out_port, struct zs_err *err)
{
    gpr_set_log_function(log_bridge);
    gpr_set_log_verbosity(GPR_LOG_SEVERITY_ERROR);
    grpc_init();
    grpc_arg args[] = {
        {.type = GRPC_ARG_INTEGER,
         .key = GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS,
         .value.integer = 1},
        {.type = GRPC_ARG_INTEGER,
         .key = GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
         .value.integer = 5000},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_HTTP2_MAX_PING_STRIKES, .value.integer = 0},
        {.type = GRPC_ARG_INTEGER,
         .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
         .value.integer = (int)(e->cfg.max_message_bytes * 4)},
        /* gRPC sets SO_REUSEPORT by default: a second emulator would share the port
         * silently. Without it, binding a taken port fails and the emulator says so. */
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ALLOW_REUSEPORT, .value.integer = 0},
    };
    grpc_channel_args ca = {.num_args = sizeof args / sizeof args[0], .args = args};
    G.cq = grpc_completion_queue_create_for_next(NULL);
    G.server = grpc_server_create(&ca, NULL);
    grpc_server_register_completion_queue(G.server, G.cq, NULL);
    G.method = grpc_server_register_method(G.server, METHOD, NULL, GRPC_SRM_PAYLOAD_NONE, 0);
    grpc_server_credentials *creds;
    char *cert = NULL, *key = NULL;
    if (e->cfg.tls_cert != NULL) {
        cert = read_pem(e->cfg.tls_cert);
        key = read_pem(e->cfg.tls_key ? e->cfg.tls_key : "");
        if (cert == NULL || key == NULL) {
            free(cert);
            free(key);
            return zs_err_set(err, ZS_EIO, NULL, "cannot read --tls-cert/--tls-key");
        }
        grpc_ssl_pem_key_cert_pair pair = {.private_key = key, .cert_chain = cert};
        creds = grpc_ssl_server_credentials_create(NULL, &pair, 1, 0, NULL);
    } else {
        creds = grpc_insecure_server_credentials_create();
    }
    char addr[300];
    snprintf(addr, sizeof addr, "%s:%d", e->cfg.host, e->cfg.grpc_port);
    int port = grpc_server_add_http2_port(G.server, addr, creds);
    grpc_server_credentials_release(creds);
    if (key != NULL)
        memset(key, 0, strlen(key));
    free(cert);
    free(key);
    if (port <= 0)
        return zs_err_set(err, ZS_EIO, NULL, "cannot listen for gRPC on %s", addr);
    grpc_server_start(G.server);
    for (int i = 0; i < 8; i++) /* a few calls waiting, so bursts of streams open quickly */
        request_call(e);
    request_generic(e);
    if (pthread_create(&G.thread, NULL, cq_thread, e) != 0)
        return zs_err_set(err, ZS_EIO, NULL, "cannot start the gRPC thread");
    *out_port = port;
    return ZS_OK;
}

void emu_grpc_stop(struct emu *e)
{
    if (G.server == NULL)
        return;
    /* Streams first get their status (after their durable acks, up to a second). */
    atomic_store(&e->stopping, 1);
    long long until = emu_now_ms() + 1000;
    while (atomic_load(&e->streams_open) > 0 && emu_now_ms() < until)
        usleep(2000);
    atomic_store(&e->stopping, 2);
    usleep(20000);
    G.shutting_down = 1;
    grpc_server_shutdown_and_notify(G.server, G.cq, &G);
    grpc_server_cancel_all_calls(G.server);
    usleep(20000);
    grpc_completion_queue_shutdown(G.cq);
    pthread_join(G.thread, NULL);
    grpc_server_destroy(G.server);
    grpc_completion_queue_destroy(G.cq);
    G.server = NULL;
    grpc_shutdown();
}
