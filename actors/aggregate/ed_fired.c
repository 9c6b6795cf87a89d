/* ed_fired.c — see ed_fired.h. */
#include "actors/aggregate/ed_fired.h"

#include <stdlib.h>
#include <string.h>

#include "actors/decode/ed_hash.h"
#include "runtime/ed_buf.h"
#include "runtime/ed_common.h"

typedef struct {
    uint64_t fp; /* 0 = empty */
    int64_t we;  /* window end, for expiry */
    uint16_t agg;
} s_mark_t;

struct ed_fired {
    s_mark_t *slots; /* mask + 1 */
    uint32_t mask;
    size_t count;
    uint32_t *per_agg; /* marks per aggregation, [nagg] */
    uint32_t nagg;
    ed_buf_t scratch; /* the bytes a fingerprint is taken of */
};

ed_fired_t *ed_fired_new(void) {
    ed_fired_t *f = ed_calloc(1, sizeof *f);
    f->mask = 15;
    f->slots = ed_calloc(f->mask + 1, sizeof *f->slots);
    return f;
}

void ed_fired_destroy(ed_fired_t **f_p) {
    ed_fired_t *f = *f_p;
    if (!f)
        return;
    free(f->slots);
    free(f->per_agg);
    ed_buf_free(&f->scratch);
    free(f);
    *f_p = NULL;
}

/* Puts m into the slots (not there yet; room guaranteed). */
static void s_put(s_mark_t *slots, uint32_t mask, s_mark_t m) {
    uint32_t i = (uint32_t)m.fp & mask;
    while (slots[i].fp)
        i = (i + 1) & mask;
    slots[i] = m;
}

/* Rebuilds the slots with `cap` of them (a power of two), leaving out the
 * marks of `agg` that end at or before end_ms (agg < 0: none left out). */
static void s_rebuild(ed_fired_t *f, uint32_t cap, int agg, int64_t end_ms) {
    s_mark_t *ns = ed_calloc(cap, sizeof *ns);
    size_t n = 0;
    for (uint32_t i = 0; i <= f->mask; i++) {
        s_mark_t m = f->slots[i];
        if (!m.fp)
            continue;
        if (agg >= 0 && m.agg == (uint16_t)agg && m.we <= end_ms) {
            f->per_agg[m.agg]--;
            continue;
        }
        s_put(ns, cap - 1, m);
        n++;
    }
    free(f->slots);
    f->slots = ns;
    f->mask = cap - 1;
    f->count = n;
}

int ed_fired_mark(ed_fired_t *f, int alert, uint16_t agg, int64_t ws, int64_t we,
                  const uint8_t *key, uint32_t key_len) {
    ed_buf_reset(&f->scratch);
    int64_t head[3] = {alert, ws, we};
    ed_buf_append(&f->scratch, head, sizeof head);
    ed_buf_append(&f->scratch, key, key_len);
    uint64_t fp = ed_hash64(f->scratch.data, f->scratch.len);
    if (!fp)
        fp = 1;
    for (uint32_t i = (uint32_t)fp & f->mask; f->slots[i].fp; i = (i + 1) & f->mask)
        if (f->slots[i].fp == fp)
            return 0;
    if ((f->count + 1) * 2 > (size_t)f->mask + 1)
        s_rebuild(f, (f->mask + 1) * 2, -1, 0);
    if (agg >= f->nagg) {
        uint32_t n = (uint32_t)agg + 1;
        f->per_agg = ed_realloc(f->per_agg, n * sizeof *f->per_agg);
        memset(f->per_agg + f->nagg, 0, (n - f->nagg) * sizeof *f->per_agg);
        f->nagg = n;
    }
    s_put(f->slots, f->mask, (s_mark_t){.fp = fp, .we = we, .agg = agg});
    f->count++;
    f->per_agg[agg]++;
    return 1;
}

void ed_fired_expire(ed_fired_t *f, uint16_t agg, int64_t end_ms) {
    if (agg >= f->nagg || !f->per_agg[agg])
        return;
    uint32_t cap = 16;
    while ((size_t)cap < f->count * 2)
        cap *= 2;
    s_rebuild(f, cap, agg, end_ms);
}

size_t ed_fired_count(const ed_fired_t *f) {
    return f->count;
}

/* ---- threshold crossings ---- */

int ed_cmp(ed_cmp_op_t op, double a, double b) {
    switch (op) {
    case ED_OP_GE:
        return a >= b;
    case ED_OP_GT:
        return a > b;
    case ED_OP_LE:
        return a <= b;
    case ED_OP_LT:
        return a < b;
    case ED_OP_EQ:
        return a == b;
    }
    return 0;
}

int ed_rule_crossed(ed_cmp_op_t op, double threshold, int has_prev, double prev, double now) {
    return ed_cmp(op, now, threshold) && !(has_prev && ed_cmp(op, prev, threshold));
}
