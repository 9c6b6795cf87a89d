/*
 * ed_aggtable.h — the state of one aggregator actor: for every
 * (aggregation, window, key) the running aggregates, plus what was last
 * flushed so each flush can emit a changelog of changed keys only.
 *
 * Open-addressing hash table (linear probing, power-of-two capacity, max load
 * 0.75) keyed by (agg, window_start, key bytes) with the XXH3 hash of the key
 * (ed_hash.h). Changed entries are linked in a dirty list, so a flush
 * costs O(changed keys), not O(all keys).
 */
#ifndef ED_AGGTABLE_H
#define ED_AGGTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "config/ed_config.h"
#include "actors/ed_payload.h"

/* What one aggregation computes: ncompute functions, in config order. */
typedef struct {
    int ncompute;
    const ed_aggfn_t *fns; /* borrowed; ncompute entries */
} ed_aggspec_t;

typedef struct ed_aggtable ed_aggtable_t;

/* Creates an empty table for `nspecs` aggregations (specs copied). */
ed_aggtable_t *ed_aggtable_new(const ed_aggspec_t *specs, int nspecs);

/* Frees the table and NULLs *t_p. NULL-safe. */
void ed_aggtable_destroy(ed_aggtable_t **t_p);

/* Adds one input record to (agg, window, key): n += 1 and per compute i:
 * count += 1; sum += vals[i]; min/max; avg keeps (sum, n). vals has one
 * entry per compute (ignored for count). window_start/end are 0 for
 * cumulative aggregations. `hash` is ed_hash64(key, key_len). */
void ed_aggtable_apply(ed_aggtable_t *t, uint16_t agg, int64_t window_start_ms,
                       int64_t window_end_ms, const uint8_t *key, uint32_t key_len, uint64_t hash,
                       const double *vals);

/* Called per changed entry at flush: hdr (agg, nvals, key_len, window,
 * n, delta_n), delta[nvals] and value[nvals] as documented for ed_change_t
 * in ed_payload.h, prev[nvals] = the values emitted at the previous flush of
 * this entry (meaningless when hdr->n == hdr->delta_n, i.e. first flush),
 * and the key. All borrowed for the call. */
typedef void (*ed_aggtable_emit_fn)(void *ud, const ed_change_t *hdr, const double *delta,
                                    const double *value, const double *prev, const uint8_t *key);

/* Emits every entry changed since the last flush, in no particular order,
 * and marks them clean. Returns the number of rows emitted. */
size_t ed_aggtable_flush(ed_aggtable_t *t, ed_aggtable_emit_fn emit, void *ud);

/* Number of entries (distinct agg/window/key). */
size_t ed_aggtable_count(const ed_aggtable_t *t);

/* Bytes of memory held by the table (slots, entries, keys). */
size_t ed_aggtable_bytes(const ed_aggtable_t *t);

/* Returns 1 if `a op b`, else 0. */
int ed_cmp(ed_cmp_op_t op, double a, double b);

/* Threshold crossing for alerts: 1 if the condition (value op threshold)
 * holds now and did not hold at the previous flush (or there was none:
 * has_prev = 0), else 0. So an alert fires once per key per crossing. */
int ed_rule_crossed(ed_cmp_op_t op, double threshold, int has_prev, double prev, double now);

#endif
