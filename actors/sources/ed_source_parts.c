/* ed_source_parts.c — see ed_source_parts.h. */
#include "actors/sources/ed_source_parts.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/ed_common.h"

void ed_part_cell_init(ed_part_cell_t *c) {
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
}

void ed_part_cell_destroy(ed_part_cell_t *c) {
    free(c->v);
    c->v = NULL;
    c->n = 0;
    pthread_mutex_destroy(&c->lock);
}

void ed_part_cell_publish(ed_part_cell_t *c, ed_part_fig_t **v_p, int n, int64_t at_ms) {
    ed_part_fig_t *v = v_p ? *v_p : NULL;
    if (v_p)
        *v_p = NULL;
    pthread_mutex_lock(&c->lock);
    ed_part_fig_t *old = c->v;
    c->v = v;
    c->n = v ? n : 0;
    c->at_ms = at_ms;
    pthread_mutex_unlock(&c->lock);
    free(old);
}

int ed_part_cell_copy(ed_part_cell_t *c, ed_part_fig_t **out, int64_t *at_ms) {
    pthread_mutex_lock(&c->lock);
    int n = c->n;
    ed_part_fig_t *v = NULL;
    if (n > 0) {
        v = ed_malloc(sizeof *v * (size_t)n);
        memcpy(v, c->v, sizeof *v * (size_t)n);
    }
    if (at_ms)
        *at_ms = c->at_ms;
    pthread_mutex_unlock(&c->lock);
    *out = v;
    return n;
}
