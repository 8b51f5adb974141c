/* Allocator wrappers; see zs_mem.h. Thread: any. */
#include "core/zs_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#ifdef ZS_TESTING
#include <stdatomic.h>

/* Atomic: a test sets it while a server thread allocates. */
static atomic_long fail_countdown = -1;

void zs_mem_fail_after(long n)
{
    atomic_store(&fail_countdown, n);
}

static int should_fail(void)
{
    long n = atomic_load(&fail_countdown);
    while (n > 0 && !atomic_compare_exchange_weak(&fail_countdown, &n, n - 1))
        ;
    return n == 0;
}
#else
#define should_fail() 0
#endif

void *zs_alloc(size_t n)
{
    return should_fail() ? NULL : malloc(n ? n : 1);
}

void *zs_calloc(size_t count, size_t size)
{
    return should_fail() ? NULL : calloc(count ? count : 1, size ? size : 1);
}

void *zs_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : realloc(p, n ? n : 1);
}

void zs_free(void *p)
{
    free(p);
}

static void oom(size_t n)
{
    fprintf(stderr, "level=fatal comp=core msg=\"out of memory\" bytes=%zu\n", n);
    abort();
}

void *zs_xalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        oom(n);
    return p;
}

void *zs_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p == NULL)
        oom(count * size);
    return p;
}

char *zs_xstrndup(const char *s, size_t n)
{
    char *p = zs_xalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *zs_xstrdup(const char *s)
{
    return zs_xstrndup(s, strlen(s));
}

void zs_wipe(void *p, size_t n)
{
    if (p != NULL)
        explicit_bzero(p, n);
}

void *zs_grow(void *items, size_t *cap, size_t len, size_t elem, size_t first)
{
    if (len < *cap)
        return items;
    size_t n = *cap ? 2 * *cap : first;
    void *v = n > SIZE_MAX / elem ? NULL : zs_realloc(items, n * elem);
    if (v != NULL)
        *cap = n;
    return v;
}

void zs_free_secret(char *s)
{
    if (s == NULL)
        return;
    zs_wipe(s, strlen(s));
    free(s);
}
