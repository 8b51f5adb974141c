/*
 * zerobus-emulator: a local Zerobus Ingest server (gRPC EphemeralStream, OAuth token
 * endpoint, Unity Catalog tables API, fault injection, NDJSON store). See docs/EMULATOR.md.
 * Thread: main runs the libuv loop (HTTP, signals); gRPC and the store have their own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "core/zs_log.h"
#include "emulator/emu.h"
#include "emulator/emu_http.h"
#include "http/zs_http.h"

#ifndef ZS_VERSION
#define ZS_VERSION "0.0.0"
#endif

static const char usage[] =
    "usage: zerobus-emulator [options]\n"
    "       zerobus-emulator stats [--host H] --http-port P\n"
    "\n"
    "A local Zerobus Ingest server: gRPC databricks.zerobus.Zerobus/EphemeralStream, the OAuth\n"
    "token endpoint (POST /oidc/v1/token), the Unity Catalog tables API, and fault injection.\n"
    "Accepted rows are appended to DIR/<catalog.schema.table>.ndjson and fsync'd before the\n"
    "ack that covers them. Once both ports listen it prints \"READY grpc=PORT http=PORT\".\n"
    "\n"
    "options:\n"
    "  --catalog FILE          tables (Unity Catalog columns) and OAuth clients with grants\n"
    "  --auto-create           accept any table; its schema comes from the first descriptor\n"
    "  --data DIR              where rows are stored (default ./zerobus-data)\n"
    "  --store ndjson|none     none: decode and ack, keep nothing (transport benchmarks)\n"
    "  --host ADDR             listen address (default 127.0.0.1)\n"
    "  --port N                gRPC port (default 50051; 0 = ephemeral)\n"
    "  --http-port N           OAuth/UC/admin port (default 50052; 0 = ephemeral)\n"
    "  --tls-cert F --tls-key F  serve gRPC over TLS instead of plaintext h2c\n"
    "  --token-ttl-s N         OAuth token lifetime (default 3600)\n"
    "  --ack-delay-ms N|A-B    ack latency, fixed or random in A..B (default 0)\n"
    "  --stream-lifetime-s N   streams end after N s with UNAVAILABLE (default 900)\n"
    "  --close-signal-s N      CloseStreamSignal this long before the end (default 30)\n"
    "  --max-message-bytes N   larger requests fail INVALID_ARGUMENT (default 10485760)\n"
    "  --lenient-offsets       accept any offset_id sequence (default: 0,1,2,... enforced)\n"
    "  --faults JSON           initial faults, as for POST /admin/faults\n"
    "  --log-level LEVEL       error|warn|info|debug (default info)\n"
    "  --help, --version\n";

static struct emu E;
static uv_signal_t sig_term, sig_int;
static struct zs_http_server *http;

static void on_signal(uv_signal_t *h, int signum)
{
    (void)h;
    zs_log(ZS_LOG_INFO, "emu", "msg=\"stopping\" signal=%d", signum);
    emu_grpc_stop(&E);  /* streams get their status after their durable acks */
    emu_store_stop(&E); /* flushes and fsyncs what is left */
    zs_http_server_close(http);
    uv_close((uv_handle_t *)&sig_term, NULL);
    uv_close((uv_handle_t *)&sig_int, NULL);
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int cmd_stats(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    long port = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--host") == 0 && i + 1 < argc)
            host = argv[++i];
        else if (strcmp(argv[i], "--http-port") == 0 && i + 1 < argc &&
                 parse_int(argv[++i], 1, 65535, &port) == 0)
            continue;
        else {
            fputs(usage, stderr);
            return 2;
        }
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (port == 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 || fd < 0 ||
        connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        fprintf(stderr, "zerobus-emulator: cannot reach %s:%ld\n", host, port);
        if (fd >= 0)
            close(fd);
        return 1;
    }
    const char req[] = "GET /api/stats HTTP/1.1\r\nHost: emulator\r\nConnection: close\r\n\r\n";
    if (write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) {
        close(fd);
        return 1;
    }
    char buf[65536];
    size_t n = 0;
    ssize_t k;
    while (n < sizeof buf - 1 && (k = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)k;
    close(fd);
    buf[n] = '\0';
    char *body = strstr(buf, "\r\n\r\n");
    if (body == NULL || strncmp(buf, "HTTP/1.1 200", 12) != 0) {
        fprintf(stderr, "zerobus-emulator: unexpected answer from %s:%ld\n", host, port);
        return 1;
    }
    json_error_t je;
    json_t *j = json_loads(body + 4, 0, &je);
    char *pretty = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    printf("%s\n", pretty ? pretty : body + 4);
    free(pretty);
    json_decref(j);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "stats") == 0)
        return cmd_stats(argc - 2, argv + 2);
    struct emu_config *c = &E.cfg;
    *c = (struct emu_config){.host = "127.0.0.1",
                             .grpc_port = 50051,
                             .http_port = 50052,
                             .data_dir = "zerobus-data",
                             .token_ttl_s = 0,
                             .stream_lifetime_ms = 900000,
                             .close_signal_ms = 30000,
                             .max_message_bytes = 10L << 20,
                             .strict_offsets = true};
    const char *faults = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        int used = 1;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("zerobus-emulator %s\n", ZS_VERSION);
            return 0;
        } else if (strcmp(a, "--auto-create") == 0) {
            c->auto_create = true;
            used = 0;
        } else if (strcmp(a, "--lenient-offsets") == 0) {
            c->strict_offsets = false;
            used = 0;
        } else if (v == NULL) {
            fprintf(stderr, "zerobus-emulator: %s needs a value (or is unknown)\n%s", a, usage);
            return 2;
        } else if (strcmp(a, "--catalog") == 0) {
            c->catalog_path = v;
        } else if (strcmp(a, "--data") == 0) {
            c->data_dir = v;
        } else if (strcmp(a, "--store") == 0 &&
                   (strcmp(v, "none") == 0 || strcmp(v, "ndjson") == 0)) {
            c->store_none = strcmp(v, "none") == 0;
        } else if (strcmp(a, "--host") == 0) {
            c->host = v;
        } else if (strcmp(a, "--port") == 0 && parse_int(v, 0, 65535, &n) == 0) {
            c->grpc_port = (int)n;
        } else if (strcmp(a, "--http-port") == 0 && parse_int(v, 0, 65535, &n) == 0) {
            c->http_port = (int)n;
        } else if (strcmp(a, "--tls-cert") == 0) {
            c->tls_cert = v;
        } else if (strcmp(a, "--tls-key") == 0) {
            c->tls_key = v;
        } else if (strcmp(a, "--token-ttl-s") == 0 && parse_int(v, 1, 86400 * 7, &n) == 0) {
            c->token_ttl_s = (int)n;
        } else if (strcmp(a, "--ack-delay-ms") == 0) {
            int lo, hi;
            if (sscanf(v, "%d-%d", &lo, &hi) == 2 && lo >= 0 && hi >= lo && hi <= 600000) {
                c->ack_delay_min_ms = lo;
                c->ack_delay_max_ms = hi;
            } else if (parse_int(v, 0, 600000, &n) == 0) {
                c->ack_delay_min_ms = c->ack_delay_max_ms = (int)n;
            } else {
                fprintf(stderr, "zerobus-emulator: --ack-delay-ms takes N or A-B\n");
                return 2;
            }
        } else if (strcmp(a, "--stream-lifetime-s") == 0 && parse_int(v, 1, 86400, &n) == 0) {
            c->stream_lifetime_ms = (int)n * 1000;
        } else if (strcmp(a, "--close-signal-s") == 0 && parse_int(v, 0, 86400, &n) == 0) {
            c->close_signal_ms = (int)n * 1000;
        } else if (strcmp(a, "--max-message-bytes") == 0 && parse_int(v, 1024, 1L << 28, &n) == 0) {
            c->max_message_bytes = n;
        } else if (strcmp(a, "--faults") == 0) {
            faults = v;
        } else if (strcmp(a, "--log-level") == 0) {
            enum zs_log_level lvl;
            if (zs_log_parse_level(v, &lvl) != ZS_OK) {
                fprintf(stderr, "zerobus-emulator: bad --log-level %s\n", v);
                return 2;
            }
            zs_log_set_level(lvl);
        } else {
            fprintf(stderr, "zerobus-emulator: bad option %s %s\n\n%s", a, v, usage);
            return 2;
        }
        i += used;
    }
    if (c->close_signal_ms >= c->stream_lifetime_ms)
        c->close_signal_ms = c->stream_lifetime_ms / 2;
    if (c->catalog_path == NULL && !c->auto_create) {
        fprintf(stderr, "zerobus-emulator: give --catalog FILE or --auto-create\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    pthread_mutex_init(&E.cat_lock, NULL);
    pthread_mutex_init(&E.auth_lock, NULL);
    struct emu_faults faults_state;
    emu_faults_init(&faults_state);
    E.faults = &faults_state;
    struct zs_err err;
    char msg[600];
    zs_err_clear(&err);
    int rc = 1, grpc_port = 0;
    if (faults != NULL) {
        json_error_t je;
        json_t *j = json_loads(faults, 0, &je);
        if (j == NULL || emu_faults_apply(E.faults, j, msg, sizeof msg) != 0) {
            fprintf(stderr, "zerobus-emulator: --faults: %s\n", j ? msg : je.text);
            json_decref(j);
            return 2;
        }
        json_decref(j);
    }
    uv_loop_t *loop = uv_default_loop();
    if (emu_catalog_load(&E, &err) != ZS_OK || emu_store_start(&E, &err) != ZS_OK)
        goto out;
    struct zs_http_opts ho = {
        .host = c->host, .port = (uint16_t)c->http_port, .max_body_bytes = 1 << 20, .exclusive = 1};
    if (zs_http_server_start(loop, &ho, emu_http_handle, &E, &http, &err) != ZS_OK ||
        emu_grpc_start(&E, &grpc_port, &err) != ZS_OK)
        goto out;
    uv_signal_init(loop, &sig_term);
    uv_signal_init(loop, &sig_int);
    uv_signal_start(&sig_term, on_signal, SIGTERM);
    uv_signal_start(&sig_int, on_signal, SIGINT);
    zs_log(ZS_LOG_INFO, "emu", "msg=\"listening\" grpc=%d http=%d store=%s", grpc_port,
           zs_http_server_port(http), c->store_none ? "none" : c->data_dir);
    printf("READY grpc=%d http=%u\n", grpc_port, zs_http_server_port(http));
    fflush(stdout);
    uv_run(loop, UV_RUN_DEFAULT);
    rc = 0;
out:
    if (rc != 0) {
        fprintf(stderr, "zerobus-emulator: %s\n", zs_err_format(&err, msg, sizeof msg));
        emu_grpc_stop(&E);
        emu_store_stop(&E);
        if (http != NULL) {
            zs_http_server_close(http);
            uv_run(loop, UV_RUN_DEFAULT);
        }
    }
    uv_loop_close(loop);
    emu_auth_free(&E);
    emu_catalog_free(&E);
    pthread_mutex_destroy(&faults_state.lock);
    return rc;
}
