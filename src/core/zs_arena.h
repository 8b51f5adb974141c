/*
 * zs_arena: bump allocation freed in one step (nginx pools, h2o mem pools).
 * Used for long-lived immutable objects (compiled schemas) and per-request scratch.
 * With ZS_ARENA_DEBUG every allocation is its own malloc, so ASan sees overflows.
 * Thread: owned by one thread at a time; objects inside live until zs_arena_destroy.
 */
#ifndef ZS_ARENA_H
#define ZS_ARENA_H

#include <stddef.h>

struct zs_arena;

/* New empty arena; chunk_bytes is the usual chunk size (0 = 4 KiB). NULL on ENOMEM. */
struct zs_arena *zs_arena_create(size_t chunk_bytes);

/* Free every allocation and the arena; NULL does nothing. */
void zs_arena_destroy(struct zs_arena *a);

/* n bytes aligned to 16, uninitialised; NULL on ENOMEM. */
void *zs_arena_alloc(struct zs_arena *a, size_t n);

/* n zeroed bytes; NULL on ENOMEM or count*size overflow. */
void *zs_arena_calloc(struct zs_arena *a, size_t count, size_t size);

/* Copy of s[0..n) plus a NUL; NULL on ENOMEM. */
char *zs_arena_strndup(struct zs_arena *a, const char *s, size_t n);

#endif
