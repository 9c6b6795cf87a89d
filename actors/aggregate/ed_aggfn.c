/* ed_aggfn.c — the aggregate functions. See ed_aggfn.h.
 *
 * The since-last-flush sum of sum/avg is accumulated on its own (rather than
 * computed as total - total at the last flush) so a delta is exactly the sum
 * of its inputs; `prev` is exactly what was emitted, so alert crossings
 * never flicker from rounding.
 */
#include "actors/aggregate/ed_aggfn.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "actors/aggregate/ed_hll.h"
#include "runtime/ed_common.h"

/* ---- column inserts ---- */

static double s_ins_delta(double delta, double value, int64_t delta_n) {
    return delta;
}

static double s_ins_value(double delta, double value, int64_t delta_n) {
    return value;
}

static double s_ins_delta_n(double delta, double value, int64_t delta_n) {
    return (double)delta_n;
}

/* The average of what the row adds, so that a new table row, like every
 * updated one, has avg == avg_sum / avg_n; the value when it adds nothing. */
static double s_ins_avg(double delta, double value, int64_t delta_n) {
    return delta_n ? delta / (double)delta_n : value;
}

/* ---- row merges ---- */

static void s_row_add(double *d, double *v, double d2, double v2) {
    *d += d2;
    *v = v2; /* the later row carries the newer total */
}

static void s_row_min(double *d, double *v, double d2, double v2) {
    *d = *v = fmin(*v, v2);
}

static void s_row_max(double *d, double *v, double d2, double v2) {
    *d = *v = fmax(*v, v2);
}

/* first/last rows: delta is the time of the value. */
static void s_row_first(double *d, double *v, double d2, double v2) {
    if (d2 < *d) {
        *d = d2;
        *v = v2;
    }
}

static void s_row_last(double *d, double *v, double d2, double v2) {
    if (d2 >= *d) {
        *d = d2;
        *v = v2;
    }
}

/* ---- count: no state (the entry counts records) ---- */

static void s_count_merge(void *dst, const void *src, int64_t n_dst, int64_t n_src) {
}

static void s_count_emit(const void *st, int64_t n, int64_t n_flushed, double *delta,
                         double *value, double *prev) {
    *delta = (double)(n - n_flushed);
    *value = (double)n;
    *prev = (double)n_flushed;
}

/* ---- sum and avg: total, previous emitted value, sum since the last flush ---- */

typedef struct {
    double total, prev, since;
} s_sum_t;

static void s_sum_apply(void *st, int64_t n_before, double v, int64_t ts_ms) {
    s_sum_t *s = st;
    s->total += v;
    s->since += v;
}

static void s_sum_merge(void *dst, const void *src, int64_t n_dst, int64_t n_src) {
    s_sum_t *d = dst;
    const s_sum_t *s = src;
    d->total += s->total;
    d->since += s->since;
}

static void s_sum_emit(const void *st, int64_t n, int64_t n_flushed, double *delta, double *value,
                       double *prev) {
    const s_sum_t *s = st;
    *delta = s->since;
    *value = s->total;
    *prev = s->prev;
}

static void s_avg_emit(const void *st, int64_t n, int64_t n_flushed, double *delta, double *value,
                       double *prev) {
    const s_sum_t *s = st;
    *delta = s->since;
    *value = n ? s->total / (double)n : 0.0;
    *prev = s->prev;
}

static void s_sum_flushed(void *st, double value) {
    s_sum_t *s = st;
    s->prev = value;
    s->since = 0.0;
}

/* ---- min and max: current, previous emitted value ---- */

typedef struct {
    double cur, prev;
} s_ext_t;

static void s_min_apply(void *st, int64_t n_before, double v, int64_t ts_ms) {
    s_ext_t *s = st;
    if (n_before == 0 || v < s->cur)
        s->cur = v;
}

static void s_max_apply(void *st, int64_t n_before, double v, int64_t ts_ms) {
    s_ext_t *s = st;
    if (n_before == 0 || v > s->cur)
        s->cur = v;
}

static void s_min_merge(void *dst, const void *src, int64_t n_dst, int64_t n_src) {
    if (n_src)
        s_min_apply(dst, n_dst, ((const s_ext_t *)src)->cur, 0);
}

static void s_max_merge(void *dst, const void *src, int64_t n_dst, int64_t n_src) {
    if (n_src)
        s_max_apply(dst, n_dst, ((const s_ext_t *)src)->cur, 0);
}

static void s_ext_emit(const void *st, int64_t n, int64_t n_flushed, double *delta, double *value,
                       double *prev) {
    const s_ext_t *s = st;
    *delta = *value = s->cur;
    *prev = s->prev;
}

static void s_ext_flushed(void *st, double value) {
    ((s_ext_t *)st)->prev = value;
}

/* ---- first and last: the value, its time, previous emitted value ---- */

typedef struct {
    double value;
    int64_t ts_ms;
    double prev;
} s_pick_t;

/* Earliest by time; of equal times the first applied (earliest arrival). */
static void s_first_apply(void *st, int64_t n_before, double v, int64_t ts_ms) {
    s_pick_t *s = st;
    if (n_before == 0 || ts_ms < s->ts_ms) {
        s->value = v;
        s->ts_ms = ts_ms;
    }
}

/* Latest by time; of equal times the last applied (latest arrival). */
static void s_last_apply(void *st, int64_t n_before, double v, int64_t ts_ms) {
    s_pick_t *s = st;
    if (n_before == 0 || ts_ms >= s->ts_ms) {
        s->value = v;
        s->ts_ms = ts_ms;
    }
}

static void s_first_merge(void *dst, const void *src, int64_t n_dst, int64_t n_src) {
    const s_pick_t *s = src;
    if (n_src)
        s_first_apply(dst, n_dst, s->value, s->ts_ms);
}

static void s_last_merge(void *dst, const void *src, int64_t n_dst, int64_t n_src) {
    const s_pick_t *s = src;
    if (n_src)
        s_last_apply(dst, n_dst, s->value, s->ts_ms);
}

static void s_pick_emit(const void *st, int64_t n, int64_t n_flushed, double *delta,
                        double *value, double *prev) {
    const s_pick_t *s = st;
    *delta = (double)s->ts_ms;
    *value = s->value;
    *prev = s->prev;
}

static void s_pick_flushed(void *st, double value) {
    ((s_pick_t *)st)->prev = value;
}

/* ---- approx_distinct: a HyperLogLog sketch (ed_hll.h), previous emitted value ---- */

typedef struct {
    ed_hll_t *sk; /* owned; NULL until the first value */
    double prev;
} s_hll_t;

static void s_hll_apply(void *st, int64_t n_before, double v, int64_t ts_ms) {
    ed_hll_add_hash(&((s_hll_t *)st)->sk, ed_aggfn_v_hash(v));
}

static void s_hll_merge(void *dst, const void *src, int64_t n_dst, int64_t n_src) {
    /* Every sketch of eddy has precision ED_HLL_P: the union cannot fail. */
    int rc = ed_hll_merge(&((s_hll_t *)dst)->sk, ((const s_hll_t *)src)->sk);
    (void)rc;
    assert(rc == 0);
}

static void s_hll_emit(const void *st, int64_t n, int64_t n_flushed, double *delta, double *value,
                       double *prev) {
    const s_hll_t *s = st;
    *delta = *value = round(ed_hll_estimate(s->sk));
    *prev = s->prev;
}

static void s_hll_flushed(void *st, double value) {
    ((s_hll_t *)st)->prev = value;
}

static void s_hll_release(void *st) {
    s_hll_t *s = st;
    ed_hll_destroy(&s->sk);
    s->prev = 0;
}

/* Encoding: prev (8 bytes, host order), the sketch's length (u32, 0 = no
 * sketch yet), the sketch's own encoding (ed_hll.h, validated on load). */
static void s_hll_save(const void *st, ed_buf_t *b) {
    const s_hll_t *s = st;
    uint32_t len = (uint32_t)ed_hll_size(s->sk);
    ed_buf_append(b, &s->prev, sizeof s->prev);
    ed_buf_append(b, &len, sizeof len);
    if (len)
        ed_buf_append(b, ed_hll_bytes(s->sk), len);
}

static int s_hll_load(void *st, const uint8_t *p, size_t len, size_t *used, char *errstr,
                      size_t errstr_size) {
    s_hll_t *s = st;
    uint32_t n;
    if (len < sizeof s->prev + sizeof n)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "approx_distinct state: %zu bytes, shorter than its 12-byte head", len);
    memcpy(&s->prev, p, sizeof s->prev);
    memcpy(&n, p + sizeof s->prev, sizeof n);
    size_t head = sizeof s->prev + sizeof n;
    if (n > len - head)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "approx_distinct state: a sketch of %u bytes in the %zu left", n,
                         len - head);
    s->sk = NULL;
    if (n && ed_hll_decode(p + head, n, &s->sk, errstr, errstr_size) < 0) {
        s->prev = 0;
        return ED_EINVAL;
    }
    *used = head + n;
    return 0;
}

/* ---- the table ---- */

#define S_ADD "{o} + {n}"

const ed_aggfn_t ed_aggfns[] = {
    {.name = "count",
     .summary = "number of records",
     .takes_field = 0,
     .state_size = 0,
     .additive = 1,
     .redis = "ZINCRBY",
     .apply = NULL,
     .merge = s_count_merge,
     .emit = s_count_emit,
     .flushed = NULL,
     .merge_row = s_row_add,
     .ncols = 1,
     .cols = {{NULL, ED_AGGFN_BIGINT, s_ins_delta, S_ADD, NULL}}},
    {.name = "sum",
     .summary = "sum of a numeric field",
     .takes_field = 1,
     .state_size = sizeof(s_sum_t),
     .additive = 1,
     .redis = "ZINCRBY",
     .apply = s_sum_apply,
     .merge = s_sum_merge,
     .emit = s_sum_emit,
     .flushed = s_sum_flushed,
     .merge_row = s_row_add,
     .ncols = 1,
     .cols = {{NULL, ED_AGGFN_DOUBLE, s_ins_delta, S_ADD, NULL}}},
    {.name = "min",
     .summary = "smallest value",
     .takes_field = 1,
     .state_size = sizeof(s_ext_t),
     .additive = 0,
     .redis = "ZADD",
     .apply = s_min_apply,
     .merge = s_min_merge,
     .emit = s_ext_emit,
     .flushed = s_ext_flushed,
     .merge_row = s_row_min,
     .ncols = 1,
     /* MariaDB's LEAST is NULL if either side is (a NaN written as NULL). */
     .cols = {{NULL, ED_AGGFN_DOUBLE, s_ins_value, "LEAST({o}, {n})",
               "COALESCE(LEAST({o}, {n}), {n}, {o})"}}},
    {.name = "max",
     .summary = "largest value",
     .takes_field = 1,
     .state_size = sizeof(s_ext_t),
     .additive = 0,
     .redis = "ZADD",
     .apply = s_max_apply,
     .merge = s_max_merge,
     .emit = s_ext_emit,
     .flushed = s_ext_flushed,
     .merge_row = s_row_max,
     .ncols = 1,
     .cols = {{NULL, ED_AGGFN_DOUBLE, s_ins_value, "GREATEST({o}, {n})",
               "COALESCE(GREATEST({o}, {n}), {n}, {o})"}}},
    {.name = "avg",
     .summary = "mean",
     .takes_field = 1,
     .state_size = sizeof(s_sum_t),
     .additive = 0,
     .redis = "ZADD",
     .apply = s_sum_apply,
     .merge = s_sum_merge,
     .emit = s_avg_emit,
     .flushed = s_sum_flushed,
     .merge_row = s_row_add,
     .ncols = 3,
     .cols = {{NULL, ED_AGGFN_DOUBLE, s_ins_avg, "({o_sum} + {n_sum}) / NULLIF({o_n} + {n_n}, 0)",
               NULL},
              {"_sum", ED_AGGFN_DOUBLE_SUM, s_ins_delta, S_ADD, NULL},
              {"_n", ED_AGGFN_BIGINT, s_ins_delta_n, S_ADD, NULL}}},
    {.name = "first",
     .summary = "the value of the earliest record by event time (the source's `time`; "
                "without it, by arrival at the aggregator); of equal times, the first to arrive",
     .takes_field = 1,
     .state_size = sizeof(s_pick_t),
     .additive = 0,
     .redis = "ZADD",
     .apply = s_first_apply,
     .merge = s_first_merge,
     .emit = s_pick_emit,
     .flushed = s_pick_flushed,
     .merge_row = s_row_first,
     .ncols = 2,
     .cols = {{NULL, ED_AGGFN_DOUBLE, s_ins_value, "CASE WHEN {n_ts} < {o_ts} THEN {n} ELSE {o} END",
               NULL},
              {"_ts", ED_AGGFN_BIGINT, s_ins_delta, "LEAST({o}, {n})", NULL}}},
    {.name = "last",
     .summary = "the value of the latest record by event time (the source's `time`; "
                "without it, by arrival at the aggregator); of equal times, the last to arrive",
     .takes_field = 1,
     .state_size = sizeof(s_pick_t),
     .additive = 0,
     .redis = "ZADD",
     .apply = s_last_apply,
     .merge = s_last_merge,
     .emit = s_pick_emit,
     .flushed = s_pick_flushed,
     .merge_row = s_row_last,
     .ncols = 2,
     .cols = {{NULL, ED_AGGFN_DOUBLE, s_ins_value,
               "CASE WHEN {n_ts} >= {o_ts} THEN {n} ELSE {o} END", NULL},
              {"_ts", ED_AGGFN_BIGINT, s_ins_delta, "GREATEST({o}, {n})", NULL}}},
    /* The estimate of one aggregator's sketch only grows (Ertl's estimator is
     * monotone in the registers), so SQL keeps the larger of the row's and
     * the table's: a restart without state_dir, or a `late: update` version
     * of an evicted window, does not lower a value already written. */
    {.name = "approx_distinct",
     .summary = "an estimate of the number of distinct values (HyperLogLog, 2^15 registers: "
                "standard error 0.57 %, within 2 % for 99.95 % of estimates; values are distinct "
                "by their text)",
     .takes_field = 1,
     .input = ED_AGGFN_IN_HASH,
     .state_size = sizeof(s_hll_t),
     .additive = 0,
     .redis = "ZADD",
     .apply = s_hll_apply,
     .merge = s_hll_merge,
     .emit = s_hll_emit,
     .flushed = s_hll_flushed,
     .merge_row = s_row_max,
     .release = s_hll_release,
     .save = s_hll_save,
     .load = s_hll_load,
     .ncols = 1,
     .cols = {{NULL, ED_AGGFN_BIGINT, s_ins_value, "GREATEST({o}, {n})", NULL}}},
};

const int ed_naggfns = (int)(sizeof ed_aggfns / sizeof ed_aggfns[0]);

const ed_aggfn_t *ed_aggfn_find(const char *name, size_t len) {
    for (int i = 0; i < ed_naggfns; i++)
        if (strlen(ed_aggfns[i].name) == len && !strncasecmp(name, ed_aggfns[i].name, len))
            return &ed_aggfns[i];
    return NULL;
}

int ed_aggfn_owns(const ed_aggfn_t *const *fns, int n) {
    for (int c = 0; c < n; c++)
        if (fns[c]->release)
            return 1;
    return 0;
}

void ed_aggfn_release(const ed_aggfn_t *const *fns, int n, uint8_t *state) {
    for (int c = 0; c < n; state += fns[c]->state_size, c++)
        if (fns[c]->release)
            fns[c]->release(state);
}

void ed_aggfn_save(const ed_aggfn_t *const *fns, int n, const uint8_t *state, ed_buf_t *b) {
    for (int c = 0; c < n; state += fns[c]->state_size, c++) {
        if (fns[c]->save)
            fns[c]->save(state, b);
        else
            ed_buf_append(b, state, fns[c]->state_size);
    }
}

int ed_aggfn_load(const ed_aggfn_t *const *fns, int n, uint8_t *state, const uint8_t *p,
                  size_t len, size_t *used, char *errstr, size_t errstr_size) {
    uint8_t *st = state;
    size_t at = 0, total = 0;
    for (int c = 0; c < n; c++)
        total += fns[c]->state_size;
    memset(state, 0, total);
    for (int c = 0; c < n; st += fns[c]->state_size, c++) {
        size_t k = fns[c]->state_size;
        if (fns[c]->load) {
            if (fns[c]->load(st, p + at, len - at, &k, errstr, errstr_size) < 0) {
                ed_aggfn_release(fns, c, state);
                memset(state, 0, total);
                return ED_EINVAL;
            }
        } else if (k > len - at) {
            ed_aggfn_release(fns, c, state);
            memset(state, 0, total);
            return ed_seterr(errstr, errstr_size, ED_EINVAL,
                             "%s state: %zu bytes, %zu left", fns[c]->name, k, len - at);
        } else {
            memcpy(st, p + at, k);
        }
        at += k;
    }
    *used = at;
    return 0;
}

const char *ed_aggfn_list(char *buf, size_t n) {
    size_t used = 0;
    if (n)
        buf[0] = '\0';
    for (int i = 0; i < ed_naggfns && used < n; i++) {
        int w = snprintf(buf + used, n - used, "%s%s%s", i ? ", " : "", ed_aggfns[i].name,
                         ed_aggfns[i].takes_field ? "(FIELD)" : "");
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}
