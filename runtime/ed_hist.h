/*
 * ed_hist.h — a latency histogram (log-linear buckets, HdrHistogram-style):
 * exact 1 ms buckets below 1024 ms, then 64 sub-buckets per power of two, so
 * any recorded value is reported within 1.6 % of itself. Fixed size
 * (ED_HIST_BUCKETS × 8 bytes), no allocation.
 *
 * Threads: one writer (ed_hist_add); readers on other threads may call
 * ed_hist_percentile and ed_hist_count_le at any time (every field is
 * stored and loaded with relaxed atomics, runtime/ed_stat.h): they see a
 * histogram a few values behind, never a torn value.
 */
#ifndef ED_HIST_H
#define ED_HIST_H

#include <stddef.h>
#include <stdint.h>

#define ED_HIST_LINEAR 1024
#define ED_HIST_SUB 64
#define ED_HIST_BUCKETS (ED_HIST_LINEAR + ED_HIST_SUB * 33)

typedef struct {
    uint64_t counts[ED_HIST_BUCKETS];
    uint64_t total; /* values recorded */
    int64_t max;    /* largest value recorded */
    uint64_t sum;   /* sum of the values recorded (negative ones as 0) */
} ed_hist_t;

/* Records `count` occurrences of `value` (ms; negative values count as 0). */
void ed_hist_add(ed_hist_t *h, int64_t value, uint64_t count);

/* The value at percentile p (0 < p ≤ 100), in ms: the upper bound of the
 * bucket holding it (≤ 1.6 % above the true value). 0 if nothing recorded. */
int64_t ed_hist_percentile(const ed_hist_t *h, double p);

/* How many recorded values are ≤ le (ms), counting whole buckets: those
 * whose largest value is ≤ le (exact below 1024 ms; above, a bucket that
 * straddles le counts as above it). For Prometheus `le` buckets. */
uint64_t ed_hist_count_le(const ed_hist_t *h, int64_t le);

#endif
