/*
 * bench/epoll_hello: the ceiling for HTTP benchmarks on this machine. A minimal epoll
 * server (SO_REUSEPORT, one thread per core) that reads a request (headers and a
 * Content-Length body) and answers a fixed 202 JSON, keep-alive. No parsing beyond that,
 * no validation: what a gateway could do at best. Not a server to use.
 *
 *   usage: epoll_hello PORT [THREADS]     prints "READY http=PORT"
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char reply[] = "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\n"
                            "Content-Length: 20\r\n\r\n{\"status\":\"success\"}";
static int port;

struct cst {
    int fd;
    size_t len;
    char buf[8192];
};

static int listener(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4096) != 0) {
        perror("bind");
        exit(1);
    }
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    port = ntohs(a.sin_port);
    return fd;
}

/* Number of complete requests at the front of c->buf; consumes them. */
static int consume(struct cst *c)
{
    int n = 0;
    for (;;) {
        char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (end == NULL)
            return n;
        size_t hl = (size_t)(end + 4 - c->buf), bl = 0;
        char *cl = strcasestr(c->buf, "content-length:");
        if (cl != NULL && cl < end)
            bl = strtoul(cl + 15, NULL, 10);
        if (c->len < hl + bl)
            return n;
        memmove(c->buf, c->buf + hl + bl, c->len - hl - bl);
        c->len -= hl + bl;
        n++;
    }
}

static void *run(void *arg)
{
    int lfd = arg ? *(int *)arg : listener();
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    struct epoll_event evs[256];
    char out[sizeof reply * 64];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    int one = 1;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct cst *c = calloc(1, sizeof *c);
                    c->fd = fd;
                    struct epoll_event ce = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
                }
                continue;
            }
            struct cst *c = evs[i].data.ptr;
            ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
            if (r <= 0) {
                close(c->fd);
                free(c);
                continue;
            }
            c->len += (size_t)r;
            int k = consume(c);
            size_t ol = 0;
            for (int j = 0; j < k && ol + sizeof reply < sizeof out; j++) {
                memcpy(out + ol, reply, sizeof reply - 1);
                ol += sizeof reply - 1;
            }
            if (ol > 0 && write(c->fd, out, ol) < 0 && errno != EAGAIN) {
                close(c->fd);
                free(c);
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    port = argc > 1 ? atoi(argv[1]) : 0;
    int threads = argc > 2 ? atoi(argv[2]) : 2;
    int first = listener();
    printf("READY http=%d\n", port);
    fflush(stdout);
    for (int i = 1; i < threads; i++) {
        pthread_t t;
        pthread_create(&t, NULL, run, NULL);
    }
    run(&first);
    return 0;
}
