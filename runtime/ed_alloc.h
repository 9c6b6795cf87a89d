/*
 * ed_alloc.h — allocation that never returns NULL.
 */
#ifndef ED_ALLOC_H
#define ED_ALLOC_H

#include <stddef.h>

/* Allocation that aborts the process with a message on failure: eddy treats
 * out-of-memory as fatal rather than threading ENOMEM through every path. */
void *ed_malloc(size_t size);
void *ed_calloc(size_t n, size_t size);
void *ed_realloc(void *p, size_t size);
char *ed_strdup(const char *s);
char *ed_strndup(const char *s, size_t n);

#endif
