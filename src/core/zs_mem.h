/*
 * Allocation. Two families (as redis' zmalloc and h2o's memory.h):
 *  zs_alloc/zs_realloc may fail (NULL) and serve every size that input controls;
 *  zs_xalloc/zs_xstrdup abort with a log line, for small bookkeeping bounded by config.
 * In ZS_TESTING builds zs_mem_fail_after(n) makes the (n+1)-th zs_alloc/zs_realloc
 * fail, so error paths can be exercised (style rule 9).
 * Thread: any.
 */
#ifndef ZS_MEM_H
#define ZS_MEM_H

#include <stddef.h>

void *zs_alloc(size_t n);
void *zs_calloc(size_t count, size_t size);
void *zs_realloc(void *p, size_t n);
void zs_free(void *p);

void *zs_xalloc(size_t n);
void *zs_xcalloc(size_t count, size_t size);
char *zs_xstrdup(const char *s);
char *zs_xstrndup(const char *s, size_t n);

/*
 * A growable array: room for one more element at index len of items (capacity *cap,
 * elements of elem bytes), doubling from first. Returns the array to use from now on
 * (items itself when there was room; the caller stores it back), or NULL without memory
 * (items and *cap unchanged).
 */
void *zs_grow(void *items, size_t *cap, size_t len, size_t elem, size_t first);

/* Overwrite a secret before it is freed; the compiler may not drop it. */
void zs_wipe(void *p, size_t n);

/* Free a NUL-terminated secret string after wiping it; NULL does nothing. */
void zs_free_secret(char *s);

#ifdef ZS_TESTING
/* Fail every zs_alloc/zs_calloc/zs_realloc after n more succeed; -1 disables. */
void zs_mem_fail_after(long n);
#endif

#endif
