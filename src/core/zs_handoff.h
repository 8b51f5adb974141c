/*
 * The hand-off queue: work given by one thread to another, in FIFO order, under a mutex
 * (libuv's async pattern: the producer pushes and rings, the consumer takes everything at
 * once, since wake-ups coalesce). Intrusive: embed a struct zs_handoff_node in the item.
 * Thread: push from any thread; take on the consumer's.
 */
#ifndef ZS_HANDOFF_H
#define ZS_HANDOFF_H

#include <pthread.h>

struct zs_handoff_node {
    struct zs_handoff_node *next;
};

struct zs_handoff {
    pthread_mutex_t lock;
    struct zs_handoff_node *head, **tail;
};

void zs_handoff_init(struct zs_handoff *q);
void zs_handoff_release(struct zs_handoff *q); /* the queue must be empty */

/* Append n; returns 1 if the queue was empty (the consumer may need a wake-up). */
int zs_handoff_push(struct zs_handoff *q, struct zs_handoff_node *n);

/* Take every queued node, oldest first (a NULL-terminated list), or NULL. */
struct zs_handoff_node *zs_handoff_take(struct zs_handoff *q);

#endif
