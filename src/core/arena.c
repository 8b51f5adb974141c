/* Bump arena; see zs_arena.h. Thread: owner only. */
#include "core/zs_arena.h"

#include <stdint.h>
#include <string.h>

#include "core/zs_mem.h"

struct chunk {
    struct chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

struct zs_arena {
    struct chunk *head;
    size_t chunk_bytes;
};

struct zs_arena *zs_arena_create(size_t chunk_bytes)
{
    struct zs_arena *a = zs_alloc(sizeof *a);
    if (a == NULL)
        return NULL;
    a->head = NULL;
    a->chunk_bytes = chunk_bytes ? chunk_bytes : 4096;
    return a;
}

void zs_arena_destroy(struct zs_arena *a)
{
    if (a == NULL)
        return;
    struct chunk *c = a->head;
    while (c != NULL) {
        struct chunk *next = c->next;
        zs_free(c);
        c = next;
    }
    zs_free(a);
}

/* Link a new chunk at the head, or just behind it when `behind` (keeps head's free room). */
static struct chunk *new_chunk(struct zs_arena *a, size_t size, int behind)
{
    size_t total;
    if (__builtin_add_overflow(size, sizeof(struct chunk), &total))
        return NULL;
    struct chunk *c = zs_alloc(total);
    if (c == NULL)
        return NULL;
    c->size = size;
    c->used = 0;
    if (behind && a->head != NULL) {
        c->next = a->head->next;
        a->head->next = c;
    } else {
        c->next = a->head;
        a->head = c;
    }
    return c;
}

void *zs_arena_alloc(struct zs_arena *a, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n)
        return NULL;
#ifdef ZS_ARENA_DEBUG
    struct chunk *c = new_chunk(a, n, 0);
    return c ? c->data : NULL;
#else
    struct chunk *c = a->head;
    if (c == NULL || c->size - c->used < need) {
        /* Large requests get their own chunk so the current one keeps its free space. */
        if (need > a->chunk_bytes / 4) {
            struct chunk *big = new_chunk(a, need, 1);
            return big ? big->data : NULL;
        }
        c = new_chunk(a, a->chunk_bytes, 0);
        if (c == NULL)
            return NULL;
    }
    void *p = c->data + c->used;
    c->used += need;
    return p;
#endif
}

void *zs_arena_calloc(struct zs_arena *a, size_t count, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(count, size, &n))
        return NULL;
    void *p = zs_arena_alloc(a, n);
    if (p != NULL)
        memset(p, 0, n);
    return p;
}

char *zs_arena_strndup(struct zs_arena *a, const char *s, size_t n)
{
    char *p = zs_arena_alloc(a, n + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}
