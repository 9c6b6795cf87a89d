/*
 * ed_fired.h — which windowed alerts already fired: a set of
 * (alert, window, key) so that an alert on an `emit: on_update` windowed
 * aggregation fires at most once per key and window, however often the
 * window's value crosses its threshold; and when a value crosses a
 * threshold (ed_rule_crossed).
 *
 * Members are 64-bit fingerprints (XXH3-64 of alert index, window bounds and
 * key bytes, ed_hash64) with the window's aggregation and end, in an
 * open-addressing table (linear probing, load ≤ 1/2). Two different
 * members share a fingerprint with probability 2^-64 per pair; then the
 * second would not fire (documented in docs/config.md, alerts). A member
 * lives until its window expires (ed_fired_expire with the window's free
 * horizon), so the set holds only the fired (key, window)s of open windows:
 * 24 bytes each at ≥ 1/2 load, i.e. ≤ 48 bytes per alert fired. The set
 * is not part of the state snapshot (ed_state_store): the aggregator also
 * requires a crossing against the restored previous value, so after a
 * restart only a window that left the range and re-entered it refires.
 *
 * Threads: belongs to one aggregator actor, used on its worker only.
 */
#ifndef ED_FIRED_H
#define ED_FIRED_H

#include <stddef.h>
#include <stdint.h>

#include "config/ed_config.h"

typedef struct ed_fired ed_fired_t;

/* An empty set. Returns an owned object; never NULL (OOM aborts). */
ed_fired_t *ed_fired_new(void);

/* Frees and NULLs *f_p. NULL-safe. */
void ed_fired_destroy(ed_fired_t **f_p);

/* Marks alert `alert` as fired for key[0..key_len) in window [ws, we) of
 * aggregation `agg`. Returns 1 if it was not marked before (the alert
 * fires now), 0 if it was (it fired already). */
int ed_fired_mark(ed_fired_t *f, int alert, uint16_t agg, int64_t ws, int64_t we,
                  const uint8_t *key, uint32_t key_len);

/* Forgets every mark of aggregation `agg` whose window ends at or before
 * end_ms (the windows ed_aggtable_evict_ended frees). O(capacity) when the
 * set holds marks of `agg`, O(1) otherwise. */
void ed_fired_expire(ed_fired_t *f, uint16_t agg, int64_t end_ms);

/* Number of marks held (for tests). */
size_t ed_fired_count(const ed_fired_t *f);

/* Returns 1 if `a op b`, else 0. */
int ed_cmp(ed_cmp_op_t op, double a, double b);

/* Threshold crossing for alerts: 1 if the condition (value op threshold)
 * holds now and did not hold at the previous flush (or there was none:
 * has_prev = 0), else 0. So an alert fires once per key per crossing. */
int ed_rule_crossed(ed_cmp_op_t op, double threshold, int has_prev, double prev, double now);

#endif
