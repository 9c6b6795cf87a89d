/* ed_alloc.c — see ed_alloc.h. */
#define _GNU_SOURCE
#include "runtime/ed_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_oom(size_t size) {
    fprintf(stderr, "eddy: ERROR out of memory allocating %zu bytes; exiting\n", size);
    abort();
}

void *ed_malloc(size_t size) {
    void *p = malloc(size ? size : 1);
    if (!p)
        s_oom(size);
    return p;
}
void *ed_calloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        s_oom(n * size);
    return p;
}
void *ed_realloc(void *p, size_t size) {
    void *q = realloc(p, size ? size : 1);
    if (!q)
        s_oom(size);
    return q;
}
char *ed_strdup(const char *s) {
    char *p = strdup(s);
    if (!p)
        s_oom(strlen(s));
    return p;
}
char *ed_strndup(const char *s, size_t n) {
    char *p = strndup(s, n);
    if (!p)
        s_oom(n);
    return p;
}
