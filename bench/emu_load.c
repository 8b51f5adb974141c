/*
 * bench/emu_load: push N rows of the seed's station_one shape (~60 B as JSON, 22 B as
 * protobuf) into a running zerobus-emulator over one EphemeralStream, in batches of B
 * records with up to W batches unacknowledged, and report rows/s from the first send to
 * the ack of the last batch. A measuring tool written on gRPC core directly (not the
 * station's client). Not a test.
 *
 *   usage: emu_load --port P --http-port H [--table T] [--rows N] [--batch B] [--window W]
 */
#include <arpa/inet.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "zerobus_service.pb-c.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* POST /oidc/v1/token with any credentials (the emulator's default catalog accepts them). */
static int get_token(int port, const char *table, char *out, size_t cap)
{
    char body[1024], req[2048], resp[4096];
    snprintf(body, sizeof body,
             "grant_type=client_credentials&scope=all-apis&authorization_details=%%5B%%7B%%22type"
             "%%22%%3A%%22unity_catalog_privileges%%22%%2C%%22object_type%%22%%3A%%22TABLE%%22%%2C"
             "%%22object_full_path%%22%%3A%%22%s%%22%%7D%%5D",
             table);
    int n = snprintf(
        req, sizeof req,
        "POST /oidc/v1/token HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YmVuY2g6YmVuY2g=\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n"
        "Connection: close\r\n\r\n%s",
        strlen(body), body);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 || write(fd, req, (size_t)n) != n)
        return -1;
    size_t len = 0;
    ssize_t k;
    while (len < sizeof resp - 1 && (k = read(fd, resp + len, sizeof resp - 1 - len)) > 0)
        len += (size_t)k;
    close(fd);
    resp[len] = '\0';
    char *t = strstr(resp, "\"access_token\":\"");
    if (t == NULL)
        return -1;
    t += 16;
    char *e = strchr(t, '"');
    if (e == NULL || (size_t)(e - t) >= cap)
        return -1;
    memcpy(out, t, (size_t)(e - t));
    out[e - t] = '\0';
    return 0;
}

static grpc_byte_buffer *pack_req(Databricks__Zerobus__EphemeralStreamRequest *r)
{
    size_t n = databricks__zerobus__ephemeral_stream_request__get_packed_size(r);
    grpc_slice s = grpc_slice_malloc(n);
    databricks__zerobus__ephemeral_stream_request__pack(r, GRPC_SLICE_START_PTR(s));
    grpc_byte_buffer *b = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return b;
}

static Databricks__Zerobus__EphemeralStreamResponse *unpack_resp(grpc_byte_buffer *b)
{
    grpc_byte_buffer_reader rd;
    grpc_byte_buffer_reader_init(&rd, b);
    grpc_slice s = grpc_byte_buffer_reader_readall(&rd);
    grpc_byte_buffer_reader_destroy(&rd);
    Databricks__Zerobus__EphemeralStreamResponse *r =
        databricks__zerobus__ephemeral_stream_response__unpack(NULL, GRPC_SLICE_LENGTH(s),
                                                               GRPC_SLICE_START_PTR(s));
    grpc_slice_unref(s);
    return r;
}

/* The station_one descriptor, hand-encoded: StationOne{device_name=1 string, temp=2 int32,
 * humidity=3 int64}, all optional. */
static uint8_t descriptor[] = {
    /* not const: protobuf-c takes uint8_t * */
    0x0a, 0x0a, 'S',  't',  'a',  't',  'i',  'o',  'n',  'O',  'n',  'e',  0x12,
    0x13, 0x0a, 0x0b, 'd',  'e',  'v',  'i',  'c',  'e',  '_',  'n',  'a',  'm',
    'e',  0x18, 0x01, 0x20, 0x01, 0x28, 0x09, 0x12, 0x0c, 0x0a, 0x04, 't',  'e',
    'm',  'p',  0x18, 0x02, 0x20, 0x01, 0x28, 0x05, 0x12, 0x10, 0x0a, 0x08, 'h',
    'u',  'm',  'i',  'd',  'i',  't',  'y',  0x18, 0x03, 0x20, 0x01, 0x28, 0x03,
};

int main(int argc, char **argv)
{
    int port = 0, http_port = 0;
    long rows = 1000000, batch = 100, window = 64;
    const char *table = "main.default.station_one";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--http-port") == 0)
            http_port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--table") == 0)
            table = argv[i + 1];
        else if (strcmp(argv[i], "--rows") == 0)
            rows = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--batch") == 0)
            batch = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--window") == 0)
            window = atol(argv[i + 1]);
    }
    char token[256], auth[300];
    if (port == 0 || get_token(http_port, table, token, sizeof token) != 0) {
        fprintf(stderr, "usage: emu_load --port P --http-port H [--rows N] (token failed?)\n");
        return 2;
    }
    snprintf(auth, sizeof auth, "Bearer %s", token);
    grpc_init();
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    grpc_channel_credentials *cr = grpc_insecure_credentials_create();
    grpc_channel *ch = grpc_channel_create(target, cr, NULL);
    grpc_channel_credentials_release(cr);
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    grpc_slice method =
        grpc_slice_from_static_string("/databricks.zerobus.Zerobus/EphemeralStream");
    grpc_call *call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, method, NULL,
                                               gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    grpc_metadata md[2] = {{.key = grpc_slice_from_static_string("authorization"),
                            .value = grpc_slice_from_copied_string(auth)},
                           {.key = grpc_slice_from_static_string("x-databricks-zerobus-table-name"),
                            .value = grpc_slice_from_copied_string(table)}};
    grpc_metadata_array rmd;
    grpc_metadata_array_init(&rmd);
    grpc_op ops[2] = {{.op = GRPC_OP_SEND_INITIAL_METADATA}, {.op = GRPC_OP_RECV_INITIAL_METADATA}};
    ops[0].data.send_initial_metadata.count = 2;
    ops[0].data.send_initial_metadata.metadata = md;
    ops[1].data.recv_initial_metadata.recv_initial_metadata = &rmd;
    grpc_call_start_batch(call, ops, 2, (void *)1, NULL);

    /* Records: one ~22-byte station_one row, repeated. */
    static uint8_t row[] = {0x0a, 0x0a, 's', 'e', 'n',  's',  'o',  'r',
                            '-',  '0',  '0', '1', 0x10, 0x19, 0x18, 0x3c};
    ProtobufCBinaryData *recs = calloc((size_t)batch, sizeof *recs);
    for (long i = 0; i < batch; i++)
        recs[i] = (ProtobufCBinaryData){sizeof row, row};

    Databricks__Zerobus__CreateIngestStreamRequest cr_req =
        DATABRICKS__ZEROBUS__CREATE_INGEST_STREAM_REQUEST__INIT;
    char table_copy[256];
    snprintf(table_copy, sizeof table_copy, "%s", table);
    cr_req.table_name = table_copy;
    cr_req.has_descriptor_proto = 1;
    cr_req.descriptor_proto = (ProtobufCBinaryData){sizeof descriptor, descriptor};
    cr_req.has_record_type = 1;
    cr_req.record_type = DATABRICKS__ZEROBUS__RECORD_TYPE__PROTO;
    Databricks__Zerobus__EphemeralStreamRequest req =
        DATABRICKS__ZEROBUS__EPHEMERAL_STREAM_REQUEST__INIT;
    req.payload_case = DATABRICKS__ZEROBUS__EPHEMERAL_STREAM_REQUEST__PAYLOAD_CREATE_STREAM;
    req.create_stream = &cr_req;
    grpc_byte_buffer *sbuf = pack_req(&req), *rbuf = NULL;
    grpc_op send = {.op = GRPC_OP_SEND_MESSAGE}, recv = {.op = GRPC_OP_RECV_MESSAGE};
    send.data.send_message.send_message = sbuf;
    recv.data.recv_message.recv_message = &rbuf;
    grpc_call_start_batch(call, &send, 1, (void *)2, NULL);
    grpc_call_start_batch(call, &recv, 1, (void *)3, NULL);

    long nbatches = (rows + batch - 1) / batch, sent = 0;
    long long acked = -1;
    int send_busy = 1, created = 0;
    double t0 = 0;
    while (acked < nbatches - 1) {
        grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type != GRPC_OP_COMPLETE)
            break;
        if (ev.tag == (void *)2) {
            grpc_byte_buffer_destroy(sbuf);
            sbuf = NULL;
            send_busy = 0;
        } else if (ev.tag == (void *)3) {
            if (!ev.success || rbuf == NULL) {
                fprintf(stderr, "emu_load: stream ended early (acked %lld)\n", acked);
                return 1;
            }
            Databricks__Zerobus__EphemeralStreamResponse *r = unpack_resp(rbuf);
            grpc_byte_buffer_destroy(rbuf);
            rbuf = NULL;
            if (r &&
                r->payload_case ==
                    DATABRICKS__ZEROBUS__EPHEMERAL_STREAM_RESPONSE__PAYLOAD_CREATE_STREAM_RESPONSE) {
                created = 1;
                t0 = now();
            } else if (
                r &&
                r->payload_case ==
                    DATABRICKS__ZEROBUS__EPHEMERAL_STREAM_RESPONSE__PAYLOAD_INGEST_RECORD_RESPONSE) {
                acked = r->ingest_record_response->durability_ack_up_to_offset;
            }
            databricks__zerobus__ephemeral_stream_response__free_unpacked(r, NULL);
            grpc_call_start_batch(call, &recv, 1, (void *)3, NULL);
        }
        if (created && !send_busy && sent < nbatches && sent - acked - 1 < window) {
            Databricks__Zerobus__ProtoEncodedRecordBatch pb =
                DATABRICKS__ZEROBUS__PROTO_ENCODED_RECORD_BATCH__INIT;
            pb.n_records = (size_t)(sent == nbatches - 1 && rows % batch ? rows % batch : batch);
            pb.records = recs;
            Databricks__Zerobus__IngestRecordBatchRequest br =
                DATABRICKS__ZEROBUS__INGEST_RECORD_BATCH_REQUEST__INIT;
            br.has_offset_id = 1;
            br.offset_id = sent;
            br.batch_case =
                DATABRICKS__ZEROBUS__INGEST_RECORD_BATCH_REQUEST__BATCH_PROTO_ENCODED_BATCH;
            br.proto_encoded_batch = &pb;
            Databricks__Zerobus__EphemeralStreamRequest rq =
                DATABRICKS__ZEROBUS__EPHEMERAL_STREAM_REQUEST__INIT;
            rq.payload_case =
                DATABRICKS__ZEROBUS__EPHEMERAL_STREAM_REQUEST__PAYLOAD_INGEST_RECORD_BATCH;
            rq.ingest_record_batch = &br;
            sbuf = pack_req(&rq);
            send.data.send_message.send_message = sbuf;
            grpc_call_start_batch(call, &send, 1, (void *)2, NULL);
            send_busy = 1;
            sent++;
        }
    }
    double dt = now() - t0;
    printf("emu_load: %ld rows in %ld batches of %ld, window %ld: %.3f s, %.0f rows/s\n", rows,
           nbatches, batch, window, dt, (double)rows / dt);
    grpc_call_cancel(call, NULL);
    grpc_call_unref(call);
    grpc_channel_destroy(ch);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
    grpc_metadata_array_destroy(&rmd);
    free(recs);
    grpc_shutdown();
    return 0;
}
