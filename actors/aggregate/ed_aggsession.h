/*
 * ed_aggsession.h — the state of session windows in one aggregator actor:
 * per (aggregation, key) the sorted, disjoint open sessions, each with its
 * bounds, its record count and the computes' state blocks (ed_aggfn.h).
 *
 * A record at event time t opens [t, t + gap); it joins every open session
 * of its key that window overlaps (ed_session_place, ed_window.h), so a
 * record within the gap of a session extends it and a record bridging two
 * sessions merges them: their states are merged in time order with each
 * compute's `merge` (count and sum add, min and max compare, avg adds sum
 * and n, first keeps the earlier, last the later, approx_distinct takes the
 * union of the sketches). A session's bounds are
 * [first event time, last event time + gap).
 *
 * Lateness: a session with end + allowed_lateness ≤ the watermark W a
 * record is judged against is final: the record does not merge into it,
 * even when the next close pass has not emitted it yet. The record is
 * judged with the bounds of the session it makes among the others (after
 * merging), as Flink's merging windows are: it is too late when W ≥ merged
 * end + allowed_lateness (so only when it merges nothing); then `late:
 * drop` drops it (nothing changes) and `late: update` makes it a session of
 * its own, never merged, emitted at the next close pass.
 *
 * Sessions are emitted only when they close (`emit: on_close`; the config
 * refuses sessions with on_update): ed_aggsession_close emits, for every
 * session whose end ≤ the free horizon (W − allowed_lateness), one row —
 * delta = value, delta_n = n, window = the session's bounds — and frees it.
 * A key whose sessions all closed is freed too. Closing costs nothing while
 * the horizon is below the earliest end of the aggregation's sessions, and
 * O(keys of every session aggregation) when something closes.
 *
 * Threads: belongs to one aggregator actor, used on its worker only.
 */
#ifndef ED_AGGSESSION_H
#define ED_AGGSESSION_H

#include <stddef.h>
#include <stdint.h>

#include "actors/aggregate/ed_aggtable.h"
#include "actors/aggregate/ed_window.h"

typedef struct ed_aggsession ed_aggsession_t;

/* Creates empty session state for `nspecs` aggregations (specs copied;
 * the function rows stay borrowed). Only aggregations given to
 * ed_aggsession_apply ever hold sessions. Never NULL (OOM aborts). */
ed_aggsession_t *ed_aggsession_new(const ed_aggspec_t *specs, int nspecs);

/* Frees everything and NULLs *s_p. NULL-safe. */
void ed_aggsession_destroy(ed_aggsession_t **s_p);

/* What ed_aggsession_apply did with a record. */
typedef struct {
    ed_window_class_t cls; /* of the merged session against the watermark */
    int merged;            /* existing sessions joined into one beyond the first (≥ 0) */
    int applied;           /* 1: the record is in a session; 0: dropped as too late */
} ed_aggsession_result_t;

/* Adds one record at event time ts_ms (ms since the epoch) with values
 * vals[ncompute] (may be NULL if every compute is count) to the sessions of
 * (agg, key) under spec `w` (a checked ED_WINDOW_SESSION spec, borrowed)
 * and watermark W (ED_WATERMARK_NONE: nothing is late). `hash` =
 * ed_hash64(key, key_len); key bytes are copied. Fills *res. Returns 0, or
 * ED_EINVAL when ts_ms is outside the event-time range (nothing changes). */
int ed_aggsession_apply(ed_aggsession_t *s, uint16_t agg, const ed_window_t *w, int64_t watermark,
                        const uint8_t *key, uint32_t key_len, uint64_t hash, const double *vals,
                        int64_t ts_ms, ed_aggsession_result_t *res);

/* Emits (agg, session bounds, key: one row, as a first flush gives it) and
 * frees every session of aggregation `agg` whose end ≤ horizon_ms, in order
 * of end within each key. Returns the number of sessions closed. */
size_t ed_aggsession_close(ed_aggsession_t *s, uint16_t agg, int64_t horizon_ms,
                           ed_aggtable_emit_fn emit, void *ud);

/* Open sessions of aggregation `agg` (all aggregations: agg = UINT16_MAX). */
size_t ed_aggsession_count(const ed_aggsession_t *s, uint16_t agg);

/* Bytes held: keys, session arrays and the slot array. */
size_t ed_aggsession_bytes(const ed_aggsession_t *s);

/* One open session as a snapshot sees it: all borrowed. */
typedef struct {
    uint16_t agg;
    const uint8_t *key;
    uint32_t key_len;
    int64_t start_ms, end_ms; /* [first event time, last event time + gap) */
    int64_t n;                /* records */
    const uint8_t *state;     /* the computes' state blocks, in config order */
    uint32_t state_size;      /* = ed_aggtable_state_size of the aggregation */
} ed_aggsession_entry_t;

/* Calls `visit` for every open session, a key's sessions in time order.
 * The callback must not modify `s`. Returns the number visited. */
size_t ed_aggsession_each(const ed_aggsession_t *s,
                          void (*visit)(void *ud, const ed_aggsession_entry_t *e), void *ud);

/* Inserts a session read back from a snapshot (copied; what its state owns,
 * a sketch, moves into `s` on success and stays the caller's on error;
 * encode and decode the state with ed_aggfn_save / ed_aggfn_load, never as
 * raw bytes). Returns 0, or
 * ED_EINVAL when agg is out of range, the state size differs, n < 1, the
 * bounds are empty, or it overlaps a session of its key. */
int ed_aggsession_put(ed_aggsession_t *s, const ed_aggsession_entry_t *e);

/* State bytes per session of aggregation `agg`; UINT32_MAX out of range. */
uint32_t ed_aggsession_state_size(const ed_aggsession_t *s, uint16_t agg);

#endif
