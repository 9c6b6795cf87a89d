/*
 * ed_hist.h — a latency histogram (log-linear buckets, HdrHistogram-style):
 * exact 1 ms buckets below 1024 ms, then 64 sub-buckets per power of two, so
 * any recorded value is reported within 1.6 % of itself. Fixed size
 * (ED_HIST_BUCKETS × 8 bytes), no allocation; not thread-safe.
 *
 * Also ed_tscount_t: per-checkpoint counts of input timestamps, which a
 * source sends to the coordinator so that latency can be measured when the
 * checkpoint becomes durable (see docs/architecture.md, "Latency").
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
} ed_hist_t;

/* Records `count` occurrences of `value` (ms; negative values count as 0). */
void ed_hist_add(ed_hist_t *h, int64_t value, uint64_t count);

/* The value at percentile p (0 < p ≤ 100), in ms: the upper bound of the
 * bucket holding it (≤ 1.6 % above the true value). 0 if nothing recorded. */
int64_t ed_hist_percentile(const ed_hist_t *h, double p);

/* Input timestamps seen in one checkpoint: (ts_ms, count) pairs. */
typedef struct {
    int64_t ts_ms;
    uint64_t count;
} ed_tscount_t;

typedef struct {
    ed_tscount_t *v; /* owned */
    size_t n, cap;
} ed_tsbag_t;

/* Counts `count` inputs produced at ts_ms (ms since epoch; 0 = unknown,
 * ignored). Consecutive equal timestamps share one entry, so an ordered
 * stream costs one entry per distinct millisecond. */
void ed_tsbag_add(ed_tsbag_t *b, int64_t ts_ms, uint64_t count);

/* Frees the entries; the bag can be reused. */
void ed_tsbag_free(ed_tsbag_t *b);

#endif
