/*
 * ed_top_board.c — snapshots, rank movement and rates of `eddy top` boards.
 */
#include "actors/top/ed_top_board.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ed_common.h"

/* An unescaped *, ? or [ makes a MATCH pattern (Redis glob syntax; a
 * backslash escapes the next character). */
static int s_is_pattern(const char *s) {
    for (; *s; s++) {
        if (*s == '\\' && s[1])
            s++;
        else if (*s == '*' || *s == '?' || *s == '[')
            return 1;
    }
    return 0;
}

ed_top_board_t *ed_top_board_new(const char *spec) {
    ed_top_board_t *b = ed_calloc(1, sizeof *b);
    b->spec = ed_strdup(spec);
    b->is_pattern = s_is_pattern(spec);
    if (!b->is_pattern) {
        size_t n = strlen(spec), j = 0;
        b->literal = ed_malloc(n + 1);
        for (size_t i = 0; i < n; i++) {
            if (spec[i] == '\\' && i + 1 < n)
                i++;
            b->literal[j++] = spec[i];
        }
        b->literal[j] = 0;
        b->literal_len = j;
    }
    return b;
}

void ed_top_snap_clear(ed_top_snap_t *s) {
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].member);
        free(s->v[i].score);
    }
    free(s->v);
    free(s->key);
    memset(s, 0, sizeof *s);
}

void ed_top_snap_add(ed_top_snap_t *s, const char *member, size_t len, const char *score,
                     size_t score_len) {
    if ((s->n & (s->n - 1)) == 0) /* grow at powers of two */
        s->v = ed_realloc(s->v, (s->n ? 2 * s->n : 1) * sizeof *s->v);
    ed_top_entry_t *e = &s->v[s->n++];
    e->member = ed_malloc(len + 1);
    memcpy(e->member, member, len);
    e->member[len] = 0;
    e->len = len;
    e->score = ed_strndup(score, score_len);
    e->value = strtod(e->score, NULL); /* Redis writes "inf" and "-inf" too: strtod reads them */
}

void ed_top_board_destroy(ed_top_board_t **b_p) {
    if (!b_p || !*b_p)
        return;
    ed_top_board_t *b = *b_p;
    ed_top_snap_clear(&b->cur);
    free(b->d);
    free(b->spec);
    free(b->literal);
    free(b->cursor);
    free(b->cand);
    free(b->follow);
    free(b);
    *b_p = NULL;
}

/* Members of the previous snapshot sorted by bytes, for lookups. */
typedef struct {
    const ed_top_entry_t *e;
    int rank;
} s_ref_t;

static int s_cmp_bytes(const char *a, size_t alen, const char *b, size_t blen) {
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

static int s_ref_cmp(const void *x, const void *y) {
    const s_ref_t *a = x, *b = y;
    return s_cmp_bytes(a->e->member, a->e->len, b->e->member, b->e->len);
}

void ed_top_board_set(ed_top_board_t *b, ed_top_snap_t *snap) {
    ed_top_delta_t *d = ed_calloc(snap->n ? snap->n : 1, sizeof *d);
    ed_top_snap_t *prev = b->has_data ? &b->cur : NULL;
    int same_key = prev && prev->key && snap->key && prev->key_len == snap->key_len &&
                   !memcmp(prev->key, snap->key, snap->key_len);
    b->dt_s = 0;
    if (same_key) {
        double dt = (double)(snap->at_ms - prev->at_ms) / 1000.0;
        b->dt_s = dt;
        s_ref_t *refs = ed_calloc(prev->n ? prev->n : 1, sizeof *refs);
        for (size_t i = 0; i < prev->n; i++)
            refs[i] = (s_ref_t){&prev->v[i], (int)i + 1};
        qsort(refs, prev->n, sizeof *refs, s_ref_cmp);
        for (size_t i = 0; i < snap->n; i++) {
            ed_top_entry_t probe = {.member = snap->v[i].member, .len = snap->v[i].len};
            s_ref_t key = {&probe, 0};
            const s_ref_t *r = bsearch(&key, refs, prev->n, sizeof *refs, s_ref_cmp);
            int rank = (int)i + 1;
            if (!r) {
                d[i].move = (size_t)rank <= prev->asked ? ED_TOP_MOVE_NEW : ED_TOP_MOVE_UNKNOWN;
                continue;
            }
            if (r->rank > rank)
                d[i] = (ed_top_delta_t){.move = ED_TOP_MOVE_UP, .by = r->rank - rank};
            else if (r->rank < rank)
                d[i] = (ed_top_delta_t){.move = ED_TOP_MOVE_DOWN, .by = rank - r->rank};
            else
                d[i].move = ED_TOP_MOVE_SAME;
            if (dt > 0) {
                d[i].has_rate = 1;
                d[i].rate = (snap->v[i].value - r->e->value) / dt;
            }
        }
        free(refs);
    }
    ed_top_snap_clear(&b->cur);
    b->cur = *snap;
    memset(snap, 0, sizeof *snap);
    free(b->d);
    b->d = d;
    b->has_data = 1;
    b->err[0] = 0;
}

void ed_top_board_fail(ed_top_board_t *b, const char *why) {
    snprintf(b->err, sizeof b->err, "%s", why);
}

/* The digits at the end of a key: their start (after leading zeros) and
 * count; *numbered = 0 when the key does not end in a digit. */
static void s_tail_number(const char *k, size_t n, size_t *start, size_t *len, int *numbered) {
    size_t i = n;
    while (i > 0 && k[i - 1] >= '0' && k[i - 1] <= '9')
        i--;
    *numbered = i < n;
    while (*numbered && i < n - 1 && k[i] == '0')
        i++;
    *start = i;
    *len = *numbered ? n - i : 0;
}

int ed_top_key_newer(const char *a, size_t alen, const char *b, size_t blen) {
    size_t as, al, bs, bl;
    int an, bn;
    s_tail_number(a, alen, &as, &al, &an);
    s_tail_number(b, blen, &bs, &bl, &bn);
    if (an != bn)
        return an > bn;
    if (an) {
        if (al != bl)
            return al > bl;
        int c = memcmp(a + as, b + bs, al);
        if (c)
            return c > 0;
    }
    return s_cmp_bytes(a, alen, b, blen) > 0;
}
