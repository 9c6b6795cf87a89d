/*
 * ed_aggtable.h — the state of one aggregator actor: for every
 * (aggregation, window, key) the running aggregates, plus what was last
 * flushed so each flush can emit a changelog of changed keys only.
 *
 * Open-addressing hash table (linear probing, power-of-two capacity, load
 * between 0.1875 and 0.75) keyed by (aggregation, window, key bytes) with the
 * XXH3 hash of the key (ed_hash.h). Changed entries are listed in a
 * dirty vector, so a flush costs O(changed keys), not O(all keys).
 *
 * State can be freed: one key at a time (ed_aggtable_delete, backward-shift
 * deletion, the cell goes back to its page's free list), or a whole window
 * at once (ed_aggtable_evict_window / _evict_ended: the window's pages are
 * released without scanning the other windows' entries). Memory goes back to
 * the operating system when a page empties, and the slot array shrinks when
 * the table does (see ed_aggtable.c for the layout and why).
 *
 * Threads: a table belongs to one aggregator actor and is used on its worker
 * thread only.
 */
#ifndef ED_AGGTABLE_H
#define ED_AGGTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "actors/aggregate/ed_aggfn.h"
#include "config/ed_config.h"
#include "actors/ed_payload.h"

/* What one aggregation computes: ncompute functions, in config order. */
typedef struct {
    int ncompute;
    const ed_aggfn_t *const *fns; /* borrowed; ncompute rows of ed_aggfns[] */
} ed_aggspec_t;

typedef struct ed_aggtable ed_aggtable_t;

/* Creates an empty table for `nspecs` aggregations (specs copied). Returns
 * an owned table; never NULL (OOM aborts). */
ed_aggtable_t *ed_aggtable_new(const ed_aggspec_t *specs, int nspecs);

/* Marks aggregation `agg` as `emit: on_close`: flushes do not emit its
 * entries; they are emitted once, whole, by ed_aggtable_close_ended. Call
 * before the first apply. */
void ed_aggtable_set_on_close(ed_aggtable_t *t, uint16_t agg);

/* Frees the table and everything it holds, and NULLs *t_p. NULL-safe. */
void ed_aggtable_destroy(ed_aggtable_t **t_p);

/* Adds one input record to (agg, window, key): n += 1, and each compute's
 * apply (ed_aggfn.h) gets vals[i] and ts_ms. vals has one entry per compute
 * (ignored for count; may be NULL if every compute is count). ts_ms orders
 * records for first/last: the event time, or the arrival time when the
 * source has no `time` (records of equal ts_ms count in the order applied).
 * window_start/end are ms since the epoch, both 0 for cumulative
 * aggregations. `hash` must be ed_hash64(key, key_len): deleting and
 * evicting recompute it. Key bytes are copied. */
void ed_aggtable_apply(ed_aggtable_t *t, uint16_t agg, int64_t window_start_ms,
                       int64_t window_end_ms, const uint8_t *key, uint32_t key_len, uint64_t hash,
                       const double *vals, int64_t ts_ms);

/* Called per entry at flush (and by ed_aggtable_window_each): hdr (agg,
 * nvals, key_len, window, n, delta_n), delta[nvals] and value[nvals] as
 * documented for ed_change_t in ed_payload.h, prev[nvals] = the values emitted
 * at the previous flush of this entry (meaningless when hdr->n ==
 * hdr->delta_n, i.e. first flush), and the key. All borrowed for the call.
 * The callback must not modify the table. */
typedef void (*ed_aggtable_emit_fn)(void *ud, const ed_change_t *hdr, const double *delta,
                                    const double *value, const double *prev, const uint8_t *key);

/* Emits every entry changed since the last flush, in no particular order,
 * and marks them clean. Entries of an on_close aggregation are not emitted:
 * they only leave the changed list, and keep "nothing flushed yet" (n at
 * the last flush stays 0), so their row at close carries the whole window
 * (delta = value). Returns the number of rows emitted. */
size_t ed_aggtable_flush(ed_aggtable_t *t, ed_aggtable_emit_fn emit, void *ud);

/* Removes the entry (agg, window, key) if it exists: its memory is reused or
 * released, and a change not yet flushed is dropped (flush first to emit
 * it). `hash` = ed_hash64(key, key_len). Returns 1 if an entry was removed,
 * 0 if there was none. */
int ed_aggtable_delete(ed_aggtable_t *t, uint16_t agg, int64_t window_start_ms,
                       int64_t window_end_ms, const uint8_t *key, uint32_t key_len, uint64_t hash);

/* Removes every entry of window [start, end) of aggregation `agg` at once
 * (for a window that closed): changes not yet flushed are dropped, the
 * window's pages are released. Costs O(entries of that window), not
 * O(all entries). Returns the number of entries removed (0 if the window
 * holds none). Cumulative state (start = end = 0) cannot be evicted this
 * way: asserts. */
size_t ed_aggtable_evict_window(ed_aggtable_t *t, uint16_t agg, int64_t window_start_ms,
                                int64_t window_end_ms);

/* Evicts every window of aggregation `agg` whose end is <= end_ms (e.g. the
 * watermark minus the allowed lateness), as ed_aggtable_evict_window does
 * for each. Returns the number of entries removed. */
size_t ed_aggtable_evict_ended(ed_aggtable_t *t, uint16_t agg, int64_t end_ms);

/* For a window that closes under `emit: on_close`: for every window of
 * aggregation `agg` whose end is <= end_ms, in order of (end, start), calls
 * `emit` for each of its entries (the window's final rows, as a first
 * flush would give them: delta = value, delta_n = n), then evicts the
 * window as ed_aggtable_evict_window does. Returns the number of rows
 * emitted (= entries removed). */
size_t ed_aggtable_close_ended(ed_aggtable_t *t, uint16_t agg, int64_t end_ms,
                               ed_aggtable_emit_fn emit, void *ud);

/* Calls `emit` for every entry of window [start, end) of `agg` (changed or
 * not; e.g. the final rows of a window that closes), with the values it
 * would flush now. Marks nothing clean. Returns the number of entries. */
size_t ed_aggtable_window_each(ed_aggtable_t *t, uint16_t agg, int64_t window_start_ms,
                               int64_t window_end_ms, ed_aggtable_emit_fn emit, void *ud);

/* One entry as a snapshot sees it (ed_state_store.c): all borrowed. The
 * state blocks may hold pointers (ed_aggfn_owns): encode them with
 * ed_aggfn_save, never as raw bytes. */
typedef struct {
    uint16_t agg;
    int64_t window_start_ms, window_end_ms; /* both 0: cumulative */
    const uint8_t *key;
    uint32_t key_len;
    int64_t n, n_flushed;  /* records so far, and at the last flush */
    const uint8_t *state;  /* the computes' state blocks, in config order */
    uint32_t state_size;   /* = ed_aggtable_state_size(t, agg) */
} ed_aggtable_entry_t;

typedef void (*ed_aggtable_visit_fn)(void *ud, const ed_aggtable_entry_t *e);

/* Calls `visit` for every entry, group by group: each aggregation's
 * cumulative entries, then each window's, the entries of one group
 * consecutive. The callback must not modify the table. Returns the number
 * of entries visited. */
size_t ed_aggtable_each(const ed_aggtable_t *t, ed_aggtable_visit_fn visit, void *ud);

/* The computes of aggregation `agg` (borrowed rows, valid while t lives)
 * into *out: 0, or ED_EINVAL when `agg` is out of range. A snapshot encodes
 * an entry's state with them (ed_aggfn_save / ed_aggfn_load). */
int ed_aggtable_spec(const ed_aggtable_t *t, uint16_t agg, ed_aggspec_t *out);

/* Bytes of state per entry of aggregation `agg` (the sum of its computes'
 * state_size); UINT32_MAX when `agg` is out of range. */
uint32_t ed_aggtable_state_size(const ed_aggtable_t *t, uint16_t agg);

/* Makes room for `n` more entries at once (a restore knows its count), so
 * the slot array is not rebuilt again and again while they are put. */
void ed_aggtable_reserve(ed_aggtable_t *t, size_t n);

/* Inserts an entry read back from a snapshot: key, counts and state copied
 * as they were (e->state_size must be ed_aggtable_state_size; what the
 * state owns, a sketch, moves into the table on success and stays the
 * caller's on error). It is clean unless n != n_flushed. Returns 0, or
 * ED_EINVAL when agg is out of range, the state size differs, n_flushed >
 * n, or the entry exists already. */
int ed_aggtable_put(ed_aggtable_t *t, const ed_aggtable_entry_t *e);

/* Number of windows of aggregation `agg` that hold entries (open windows,
 * for stats). O(windows of every aggregation). */
size_t ed_aggtable_windows(const ed_aggtable_t *t, uint16_t agg);

/* Number of entries (distinct agg/window/key). */
size_t ed_aggtable_count(const ed_aggtable_t *t);

/* Bytes of memory the table holds: slots, page descriptors, windows, the
 * dirty vector, and the resident part of its entry pages (cells handed out,
 * rounded to 4 KiB; what RSS sees). */
size_t ed_aggtable_bytes(const ed_aggtable_t *t);

#endif
