/* See zs_handoff.h. */
#include <stddef.h>

#include "core/zs_handoff.h"

void zs_handoff_init(struct zs_handoff *q)
{
    pthread_mutex_init(&q->lock, NULL);
    q->head = NULL;
    q->tail = &q->head;
}

void zs_handoff_release(struct zs_handoff *q)
{
    pthread_mutex_destroy(&q->lock);
}

int zs_handoff_push(struct zs_handoff *q, struct zs_handoff_node *n)
{
    n->next = NULL;
    pthread_mutex_lock(&q->lock);
    int was_empty = q->head == NULL;
    *q->tail = n;
    q->tail = &n->next;
    pthread_mutex_unlock(&q->lock);
    return was_empty;
}

struct zs_handoff_node *zs_handoff_take(struct zs_handoff *q)
{
    pthread_mutex_lock(&q->lock);
    struct zs_handoff_node *list = q->head;
    q->head = NULL;
    q->tail = &q->head;
    pthread_mutex_unlock(&q->lock);
    return list;
}
