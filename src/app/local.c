/* See local.h. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app/local.h"
#include "core/zs_buf.h"
#include "core/zs_log.h"
#include "core/zs_mem.h"
#include "schema/zs_schema.h"

/* nbytes random bytes as hex (2 * nbytes + 1 chars). -1 if the kernel gives none. */
static int random_hex(char *out, size_t nbytes)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[40];
    if (nbytes > sizeof b || getrandom(b, nbytes, 0) != (ssize_t)nbytes)
        return -1;
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * nbytes] = '\0';
    zs_wipe(b, sizeof b);
    return 0;
}

/* Write DIR/catalog.json: the tables an earlier one listed (a table without "fields" takes
 * its columns from there, as from Unity Catalog), the configured tables with "fields", and
 * one generated client. */
static int write_catalog(const struct zs_config *c, const char *dir, struct zs_local *l)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/catalog.json", dir);
    json_t *old = json_load_file(path, 0, NULL);
    json_t *tables = json_object_get(old, "tables");
    tables = json_is_object(tables) ? json_incref(tables) : json_object();
    json_decref(old);
    struct zs_buf b;
    zs_buf_init(&b, 1 << 20);
    for (size_t i = 0; c != NULL && i < c->ntables; i++) {
        if (c->tables[i].schema == NULL)
            continue; /* no "fields": the catalog's columns */
        json_t *cols = json_array();
        const struct zs_struct *st = &c->tables[i].schema->root;
        for (size_t k = 0; k < st->nfields; k++) {
            b.len = 0;
            if (zs_type_format(st->fields[k].type, &b) != ZS_OK || zs_buf_cstr(&b) == NULL)
                return -1;
            json_array_append_new(cols, json_pack("{s:s, s:s, s:b}", "name", st->fields[k].name,
                                                  "type", (const char *)b.data, "nullable",
                                                  st->fields[k].nullable));
        }
        json_object_set_new(tables, c->tables[i].table_name, json_pack("{s:o}", "columns", cols));
    }
    zs_buf_release(&b);
    snprintf(l->client_id, sizeof l->client_id, "local-station");
    if (random_hex(l->client_secret, 24) != 0)
        return -1;
    json_t *doc =
        json_pack("{s:o, s:[{s:s, s:s, s:[s]}]}", "tables", tables, "clients", "client_id",
                  l->client_id, "client_secret", l->client_secret, "grants", "*");
    int rc = json_dump_file(doc, path, JSON_INDENT(2)) == 0 ? 0 : -1;
    json_decref(doc);
    if (rc == 0)
        chmod(path, 0600); /* it holds the generated secret */
    return rc;
}

/* Start zerobus-emulator (beside this binary) on loopback and read its READY line. */
int zs_local_start(const struct zs_config *c, const char *dir, struct zs_local *l)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "zerobus-station: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    if (write_catalog(c, dir, l) != 0) {
        fprintf(stderr, "zerobus-station: cannot write %s/catalog.json\n", dir);
        return -1;
    }
    char self[4096], emu[4200], catalog[4200], data[4200];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    *slash = '\0';
    snprintf(emu, sizeof emu, "%s/zerobus-emulator", self);
    snprintf(catalog, sizeof catalog, "%s/catalog.json", dir);
    snprintf(data, sizeof data, "%s/data", dir);
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL); /* exec keeps the mask: give the child signals */
        setpgid(0, 0); /* its own group: a Ctrl-C for the station must not stop it first */
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* and it dies with the station, even a kill -9 */
        dup2(pipefd[1], STDOUT_FILENO);
        close(pipefd[0]);
        close(pipefd[1]);
        /* --auto-create: tables a reload adds are accepted too */
        execl(emu, emu, "--catalog", catalog, "--auto-create", "--data", data, "--host",
              "127.0.0.1", "--port", "0", "--http-port", "0", "--log-level", "warn", (char *)NULL);
        fprintf(stderr, "zerobus-station: cannot run %s: %s\n", emu, strerror(errno));
        _exit(127);
    }
    close(pipefd[1]);
    if (pid < 0) {
        close(pipefd[0]);
        return -1;
    }
    l->pid = pid;
    FILE *f = fdopen(pipefd[0], "r");
    char line[256] = "";
    int grpc = 0, http = 0;
    if (f == NULL || fgets(line, sizeof line, f) == NULL ||
        sscanf(line, "READY grpc=%d http=%d", &grpc, &http) != 2) {
        fprintf(stderr, "zerobus-station: the local emulator did not start\n");
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    snprintf(l->endpoint, sizeof l->endpoint, "http://127.0.0.1:%d", grpc);
    snprintf(l->workspace_url, sizeof l->workspace_url, "http://127.0.0.1:%d", http);
    zs_log(ZS_LOG_INFO, "app", "msg=\"local emulator\" grpc=%d http=%d rows=%s", grpc, http, data);
    return 0;
}

void zs_local_stop(struct zs_local *l)
{
    if (l->pid <= 0)
        return;
    kill(l->pid, SIGTERM);
    int st;
    waitpid(l->pid, &st, 0);
    l->pid = 0;
}

/* Point c at the local emulator l (--local): its endpoints and its client. */
void zs_local_use(struct zs_config *c, const struct zs_local *l)
{
    c->server_endpoint = l->endpoint;
    c->workspace_url = l->workspace_url;
    c->workspace_id = "local";
    free(c->client_id);
    zs_free_secret(c->client_secret);
    c->client_id = strdup(l->client_id);
    c->client_secret = strdup(l->client_secret);
}
