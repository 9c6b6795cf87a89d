/* ed_hist.c — see ed_hist.h. */
#include "runtime/ed_hist.h"

#include "runtime/ed_stat.h"

static int s_bucket(int64_t v) {
    if (v < ED_HIST_LINEAR)
        return (int)(v < 0 ? 0 : v);
    /* v in [2^e, 2^(e+1)), e ≥ 10: 64 sub-buckets of width 2^(e-6). */
    int e = 63 - __builtin_clzll((unsigned long long)v);
    int sub = (int)((v >> (e - 6)) & (ED_HIST_SUB - 1));
    int b = ED_HIST_LINEAR + (e - 10) * ED_HIST_SUB + sub;
    return b < ED_HIST_BUCKETS ? b : ED_HIST_BUCKETS - 1;
}

/* Largest value that falls in bucket b. */
static int64_t s_upper(int b) {
    if (b < ED_HIST_LINEAR)
        return b;
    int e = 10 + (b - ED_HIST_LINEAR) / ED_HIST_SUB;
    int sub = (b - ED_HIST_LINEAR) % ED_HIST_SUB;
    int64_t width = (int64_t)1 << (e - 6);
    return ((int64_t)1 << e) + (int64_t)(sub + 1) * width - 1;
}

void ed_hist_add(ed_hist_t *h, int64_t value, uint64_t count) {
    if (value < 0)
        value = 0;
    ed_stat_add(&h->counts[s_bucket(value)], count);
    ed_stat_add(&h->total, count);
    ed_stat_add(&h->sum, (uint64_t)value * count);
    if (value > h->max)
        ed_stat_set_i64(&h->max, value);
}

int64_t ed_hist_percentile(const ed_hist_t *h, double p) {
    uint64_t total = ed_stat_get(&h->total);
    int64_t max = ed_stat_get_i64(&h->max);
    if (!total)
        return 0;
    /* The smallest value v such that at least p % of the values are ≤ v. */
    uint64_t rank = (uint64_t)((p / 100.0) * (double)total + 0.5);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (int b = 0; b < ED_HIST_BUCKETS; b++) {
        seen += ed_stat_get(&h->counts[b]);
        if (seen >= rank) {
            int64_t u = s_upper(b);
            return u < max ? u : max;
        }
    }
    return max;
}

uint64_t ed_hist_count_le(const ed_hist_t *h, int64_t le) {
    uint64_t n = 0;
    for (int b = 0; b < ED_HIST_BUCKETS && s_upper(b) <= le; b++)
        n += ed_stat_get(&h->counts[b]);
    return n;
}
