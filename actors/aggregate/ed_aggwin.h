/*
 * ed_aggwin.h — event time and windows inside one aggregator actor: the
 * watermark of each source it reads, the window assignment and lateness of
 * each record, and the freeing of windows that expired.
 *
 * Watermarks (actors/sources/ed_watermark.h). Every KEYED record carries
 * the watermark its sender (a source or decoder actor) had just before it
 * (ed_keyed_t.wm_ms), and every KEYED batch and barrier the sender's
 * watermark after it (ED_MSG_F_WATERMARK, ED_MSG_F_IDLE). Per source, the
 * aggregator's watermark is the lowest over that source's senders that are
 * not idle (ed_wmin_t): aggregations of different sources do not hold each
 * other back. A record is judged against that watermark as it stood just
 * before the record, so with one upstream whether it is late does not
 * depend on where batches were cut. A source without `time` uses
 * processing time: records fall in the windows of their arrival time here
 * and are never late, and the watermark is this actor's wall clock
 * (ed_wall_ms) at each flush; at the end of input it is the end.
 *
 * Windows (actors/aggregate/ed_window.h). A record of a tumbling or hopping
 * aggregation is applied to every window it belongs to that is not
 * expired (ed_window_route); one too late for all of them follows `late`:
 * drop (counted), SINK (the input record it carries goes unchanged to that
 * sink, counted as routed) or update (applied anyway, emitted at the next
 * flush as a new row version, then freed). After each flush (the changelog of changed
 * windows is out), every window with end + allowed_lateness ≤ the
 * watermark closes: it is freed at once (ed_aggtable_evict_ended), since
 * no record will update it any more. Under `emit: on_update` its final row
 * was already emitted by a flush; under `emit: on_close` flushes emit
 * nothing of it, and closing emits its one row per key, with the whole
 * window's values, just before freeing it (ed_aggtable_close_ended): so an
 * on_close window is emitted exactly once, when W ≥ end + allowed_lateness
 * (a `late: update` record for a closed window makes a new window state
 * that is emitted again, as a new row version, at the next close). At the
 * end of input (ED_MSG_F_INPUT_END upstream) the watermark is
 * ED_WATERMARK_END and every window closes.
 *
 * State layout (for snapshots). The windows' state is the aggregation
 * table's (ed_aggtable.h): one group per (aggregation, window start, end),
 * one entry per key with n, n at the last flush and the computes' state.
 * An on_close entry's n at the last flush stays 0 until it is emitted. This
 * object itself holds only watermarks: per sender the highest taken
 * (s_up_t.last) and per source their minimum (ed_wmin_t), and which
 * windowed alerts fired for which (key, window) of an on_update aggregation
 * (ed_fired.h; forgotten when the window expires).
 *
 * Threads: belongs to one aggregator actor, used on its worker only.
 */
#ifndef ED_AGGWIN_H
#define ED_AGGWIN_H

#include <stdint.h>
#include <stdio.h>

#include "actors/aggregate/ed_aggtable.h"
#include "actors/ed_payload.h"
#include "actors/ed_plan.h"
#include "runtime/ed_msg.h"

typedef struct ed_aggwin ed_aggwin_t;

/* Creates the window state of the aggregator actor `self` of `plan`
 * (borrowed, must outlive it), whose senders are upstream[0..nupstream)
 * (borrowed; the plan's list). Returns an owned object, or NULL with errstr
 * if a sender is not a keying actor of the plan or a window spec fails
 * ed_window_check (the config should have refused it). */
ed_aggwin_t *ed_aggwin_new(ed_plan_t *plan, uint32_t self, const uint32_t *upstream,
                           int nupstream, char *errstr, size_t errstr_size);

/* Frees and NULLs *w_p. NULL-safe. */
void ed_aggwin_destroy(ed_aggwin_t **w_p);

/* Receives a record of aggregation `agg` that is too late for every window
 * it belongs to, under `late: SINK`: `rec` is the input record it carried
 * (ED_KEYED_F_RECORD; borrowed from the batch for the call), to be sent
 * unchanged to the aggregation's late sink. */
typedef void (*ed_aggwin_late_fn)(void *ud, uint16_t agg, const ed_record_t *rec);

/* Applies KEYED batch message m (borrowed) from upstream number `up` (an
 * index into the senders given to ed_aggwin_new) to `t`: each record to its
 * aggregation's cumulative state or to each of its windows, as the header
 * comment says; then takes the batch's watermark. `arrival_ms` (wall
 * clock) is the time of records whose source has no `time`, and orders
 * first/last for them. Counts late records in `st`; passes the too-late
 * records of `late: SINK` aggregations to `late` (ud its argument). */
void ed_aggwin_batch(ed_aggwin_t *w, ed_aggtable_t *t, int up, const ed_msg_t *m,
                     int64_t arrival_ms, ed_agg_stats_t *st, ed_aggwin_late_fn late, void *ud);

/* Takes the watermark a barrier from upstream `up` carries (if any). */
void ed_aggwin_barrier(ed_aggwin_t *w, int up, const ed_msg_t *m);

/* After a flush emitted the changelog: frees every window whose state
 * expired under its source's watermark (wall clock `now_ms` for sources
 * without `time`); a window of an `emit: on_close` aggregation is first
 * passed to `emit` (ud its argument), one row per key: its final row.
 * Counts closed windows and records the windows still open in `st`. */
void ed_aggwin_expire(ed_aggwin_t *w, ed_aggtable_t *t, int64_t now_ms, ed_agg_stats_t *st,
                      ed_aggtable_emit_fn emit, void *ud);

/* Whether alert `alert`, whose condition holds for the row (hdr, key) of
 * windowed aggregation hdr->agg, fires now: under emit: on_close always
 * (the row is emitted once, at close); under on_update only the first time
 * for that key and window (the mark is kept until the window expires).
 * Returns 1 to fire, 0 if it fired already. */
int ed_aggwin_alert_once(ed_aggwin_t *w, int alert, const ed_change_t *hdr, const uint8_t *key);

/* The watermark aggregation `agg` is judged against now (ms since the
 * epoch; ED_WATERMARK_NONE before any, ED_WATERMARK_END after the end of
 * input); for a source without `time`, now_ms until the end. For stats and
 * tests. */
int64_t ed_aggwin_watermark(const ed_aggwin_t *w, int agg, int64_t now_ms);

/* Snapshot hooks (actors/aggregate/ed_state_store.c). The number of
 * senders, the config source index sender `up` keys, and the highest
 * watermark taken from it (ED_WATERMARK_NONE before any). */
int ed_aggwin_nsenders(const ed_aggwin_t *w);
int ed_aggwin_sender_source(const ed_aggwin_t *w, int up);
int64_t ed_aggwin_sender_watermark(const ed_aggwin_t *w, int up);

/* The session windows' state (ed_aggsession.h; borrowed, owned by w): for
 * snapshots, stats and tests. */
struct ed_aggsession;
struct ed_aggsession *ed_aggwin_sessions(const ed_aggwin_t *w);

/* Restores sender `up`'s watermark from a snapshot, as if it had sent `wm`
 * (not idle): watermarks never go back, so a restarted sender that starts
 * lower does not reopen what was judged before the restart. */
void ed_aggwin_restore_watermark(ed_aggwin_t *w, int up, int64_t wm);

/* Writes how aggregation `ag` groups time, for `eddy check`: "cumulative",
 * or e.g. "tumbling 60000ms windows, allowed lateness 10000ms, late drop,
 * emit on_update". */
void ed_aggwin_describe(const ed_conf_aggregation_t *ag, FILE *out);

#endif
