/* ed_batch.c — see ed_batch.h. */
#include "runtime/ed_batch.h"

#include <stdlib.h>

#include "runtime/ed_common.h"

ed_batch_t *ed_batch_new(int kind, size_t cap_bytes) {
    ed_batch_t *b = ed_calloc(1, sizeof *b);
    b->kind = kind;
    b->cap = cap_bytes < 256 ? 256 : ed_batch_align(cap_bytes);
    b->data = ed_malloc(b->cap);
    return b;
}

void ed_batch_destroy(ed_batch_t **batch_p) {
    if (!batch_p || !*batch_p)
        return;
    free((*batch_p)->data);
    free(*batch_p);
    *batch_p = NULL;
}

void ed_batch_reset(ed_batch_t *b) {
    b->count = 0;
    b->len = 0;
}

void ed_batch_grow(ed_batch_t *b, size_t need) {
    size_t cap = b->cap * 2;
    while (cap < need)
        cap *= 2;
    b->data = ed_realloc(b->data, cap);
    b->cap = cap;
}

void ed_batch_iter_init(ed_batch_iter_t *it, const ed_batch_t *b) {
    it->p = b->data;
    it->end = b->data + b->len;
}
