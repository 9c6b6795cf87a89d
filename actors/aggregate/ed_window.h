/*
 * ed_window.h — event-time window assignment, lateness and session merging.
 *
 * Pure functions over a window spec (no state, no clock, no allocation): the
 * aggregator asks which windows a record belongs to, whether each is on time,
 * late or too late against its watermark, when a window is complete and when
 * its state may be freed. Times are milliseconds since the Unix epoch
 * (int64); durations are milliseconds.
 *
 * Shapes
 *   tumbling D         windows [k·D, (k+1)·D) for every integer k
 *   hopping D slide S  windows [k·S, k·S + D); S ≤ D and D a multiple of S,
 *                      so a record belongs to exactly D/S windows
 *   session GAP        per key: a record at t opens [t, t + GAP); sessions
 *                      whose half-open intervals overlap merge (two records
 *                      of a key are in one session iff a chain of records
 *                      less than GAP apart joins them; a silence of GAP or
 *                      more splits them — Flink merges also at exactly GAP,
 *                      eddy keeps the end exclusive as for every window)
 * Bounds are aligned to the epoch: start inclusive, end exclusive. Negative
 * timestamps (before 1970) use floor division, so t = -1 with D = 10 lies in
 * [-10, 0). Event times must lie in [ED_EVENT_TIME_MIN, ED_EVENT_TIME_MAX]
 * (about ±285,000 years, and exact as a double); outside that the record is
 * refused (ED_EINVAL) and the caller rejects it as bad input.
 *
 * Watermark contract (see actors/sources/ed_watermark.h): a watermark W says
 * "no record with event time < W is expected any more". Against W a window
 * [s, e) is
 *   open       W < e                 records update it: ED_WINDOW_ON_TIME
 *   complete   e ≤ W < e + L         results are final (emit: on_close emits
 *                                    now); records still update it and emit
 *                                    a corrected row: ED_WINDOW_LATE
 *   expired    W ≥ e + L             its state may be freed; a record for it
 *                                    is ED_WINDOW_TOO_LATE and follows `late`
 * where L = allowed_lateness. With L = 0 no record is ever LATE.
 *
 * Late policy for a record that is too late (ed_window_route): a hopping
 * record may be too late for its oldest windows and on time for newer ones.
 * As in Flink's WindowOperator, the record is *too late* only if it is too
 * late for every window it belongs to; then `late: drop` drops it (the caller
 * counts it per aggregation), `late: <sink>` sends it unchanged to that sink
 * (a dead-letter topic) and `late: update` applies it anyway. Expired windows
 * of a record that still has live windows are skipped under drop and sink
 * (their rows are final and their state is gone) and counted in
 * ed_window_route's `skipped`; under update every window is applied, an
 * expired one as a new row version (the aggregator recreates its state, emits
 * it at the next flush and frees it again at once, since W ≥ e + L).
 *
 * How the aggregator will use this (integration after the aggregation table
 * of lane state and the config rework land):
 *   - config fills an ed_window_t from `window:` and calls
 *     ed_window_check(); the message it returns is prefixed with the
 *     file:line:col of the `window:` node;
 *   - the aggregator allocates one ed_window_hit_t array of
 *     ed_window_count() entries per aggregation at init;
 *   - per record: ed_window_route(w, ts, W, hits, ...) with W the
 *     aggregator's watermark *before* the batch that carries the record
 *     (ed_wmin_get); APPLY → apply the record to each hit's (key, window)
 *     state; DROP → count late_dropped; SINK → pass the record to w->late_sink;
 *     ED_EINVAL → a counted, routed reject naming the record's position;
 *   - sessions: the aggregator keeps per key the sorted, disjoint sessions
 *     (bounds + state); ed_session_place() says which of them a record
 *     merges and the merged bounds; the aggregator merges their states with
 *     the aggregate functions' merge, replaces them (ed_session_apply shows
 *     the array edit) and classifies the merged window with
 *     ed_window_classify(w, merged.end_ms, W);
 *   - after each batch, when its watermark advanced: windows with end ≤ W
 *     are complete (emit: on_close emits their final row); windows with
 *     end ≤ ed_window_free_before(w, W) are expired and freed. For tumbling
 *     and hopping windows every end is a multiple of the slide, so the
 *     aggregator can keep its windows in slide-sized buckets and walk them in
 *     order of end.
 */
#ifndef ED_WINDOW_H
#define ED_WINDOW_H

#include <stddef.h>
#include <stdint.h>

/* Valid event times, ms since the epoch: ±2^53 (exact in a double). */
#define ED_EVENT_TIME_MIN (-(INT64_C(1) << 53))
#define ED_EVENT_TIME_MAX (INT64_C(1) << 53)
/* Longest window size, slide, gap or allowed lateness: 2^50 ms (~35,700
 * years), so bounds plus lateness never overflow an int64. */
#define ED_WINDOW_DURATION_MAX (INT64_C(1) << 50)
/* Most windows one record may belong to (hopping size / slide). */
#define ED_WINDOW_MAX_PER_RECORD 10000

typedef enum {
    ED_WINDOW_TUMBLING = 1, /* size_ms */
    ED_WINDOW_HOPPING,      /* size_ms, slide_ms */
    ED_WINDOW_SESSION,      /* gap_ms, per key */
} ed_window_type_t;

/* What to do with a record that is too late (W ≥ end + allowed lateness). */
typedef enum {
    ED_LATE_DROP = 0, /* count it (per aggregation) and drop it: the default */
    ED_LATE_UPDATE,   /* apply it anyway, as a new row version */
    ED_LATE_SINK,     /* send it unchanged to the sink named late_sink */
} ed_late_policy_t;

/* A window spec. Filled by config (`window:`), then checked. */
typedef struct {
    ed_window_type_t type;
    int64_t size_ms;             /* tumbling / hopping size D, > 0 */
    int64_t slide_ms;            /* hopping slide S; ignored (= size) for tumbling */
    int64_t gap_ms;              /* session gap, > 0 */
    int64_t allowed_lateness_ms; /* ≥ 0; default 0 */
    ed_late_policy_t late;       /* default ED_LATE_DROP */
    const char *late_sink;       /* ED_LATE_SINK: the sink's name (borrowed), else NULL */
} ed_window_t;

/* Bounds of one window: [start_ms, end_ms). */
typedef struct {
    int64_t start_ms;
    int64_t end_ms;
} ed_window_bounds_t;

/* Where a record stands against one of its windows. */
typedef enum {
    ED_WINDOW_ON_TIME = 0, /* W < end: the window is open */
    ED_WINDOW_LATE,        /* end ≤ W < end + L: complete, still updated */
    ED_WINDOW_TOO_LATE,    /* W ≥ end + L: expired, follows the late policy */
} ed_window_class_t;

/* One window a record updates, with its class. */
typedef struct {
    ed_window_bounds_t bounds;
    ed_window_class_t cls;
} ed_window_hit_t;

/* Verdict of ed_window_route for a whole record. */
typedef enum {
    ED_ROUTE_APPLY = 0, /* apply the record to hits[0..*nhits) */
    ED_ROUTE_DROP,      /* too late for every window, `late: drop`: count and drop */
    ED_ROUTE_SINK,      /* too late for every window, `late: SINK`: send to late_sink */
} ed_window_route_t;

/* Checks a spec: durations > 0 and ≤ ED_WINDOW_DURATION_MAX, slide ≤ size
 * and dividing it, at most ED_WINDOW_MAX_PER_RECORD windows per record,
 * allowed lateness ≥ 0, a late sink name exactly with ED_LATE_SINK. For
 * tumbling windows sets slide_ms = size_ms. Returns 0, or ED_EINVAL with one
 * sentence in errstr that says what is wrong and what to write instead
 * (without a position: the caller prefixes file:line:col). */
int ed_window_check(ed_window_t *w, char *errstr, size_t errstr_size);

/* Number of windows a record belongs to: 1 for tumbling and session,
 * size / slide for hopping. w must have passed ed_window_check. */
int ed_window_count(const ed_window_t *w);

/* Floor of ts to a multiple of `step` (> 0), correct for negative ts:
 * the largest k·step ≤ ts. ts within the event-time range. */
int64_t ed_window_floor(int64_t ts, int64_t step);

/* Writes the windows of a tumbling or hopping spec that contain ts into
 * out[0..n), n = ed_window_count(w), newest first (out[0] is the window
 * starting at floor(ts, slide), out[i] starts i·slide earlier). `cap` must
 * be ≥ ed_window_count(w) (an assert). Returns n, or ED_EINVAL if ts is
 * outside [ED_EVENT_TIME_MIN, ED_EVENT_TIME_MAX]. For a session spec
 * writes the record's own window [ts, ts + gap) (before merging) and
 * returns 1. */
int ed_window_assign(const ed_window_t *w, int64_t ts, ed_window_bounds_t *out, int cap);

/* Class of a window ending at end_ms against watermark W (any int64,
 * including INT64_MIN "none yet" and INT64_MAX "end of input"). */
ed_window_class_t ed_window_classify(const ed_window_t *w, int64_t end_ms, int64_t watermark);

/* 1 if the window ending at end_ms is complete under W (W ≥ end): its
 * result is final and `emit: on_close` emits it; else 0. */
int ed_window_is_complete(int64_t end_ms, int64_t watermark);

/* 1 if the window's state may be freed under W (W ≥ end + allowed
 * lateness); else 0. */
int ed_window_can_free(const ed_window_t *w, int64_t end_ms, int64_t watermark);

/* The free horizon: every window with end ≤ the returned value is expired
 * under W. W − allowed lateness, saturating at INT64_MIN. */
int64_t ed_window_free_before(const ed_window_t *w, int64_t watermark);

/* The routing decision for one record of a tumbling or hopping spec at ts
 * against watermark W (see the header comment): fills hits[0..*nhits) with
 * the windows to update (newest first) and their classes, sets *skipped to
 * the number of expired windows left out (drop and sink policies), and
 * returns the verdict. `cap` ≥ ed_window_count(w). On DROP and SINK *nhits
 * is 0. Returns ED_EINVAL (negative) if ts is out of range. Session specs
 * go through ed_session_place instead (an assert). */
int ed_window_route(const ed_window_t *w, int64_t ts, int64_t watermark, ed_window_hit_t *hits,
                    int cap, int *nhits, int *skipped);

/* Where a record lands among one key's sessions. */
typedef struct {
    ed_window_bounds_t bounds; /* the session after adding the record (merged bounds) */
    int first;                 /* index of the first existing session it merges */
    int count; /* existing sessions [first, first + count) that merge into
                * `bounds`; 0 = a new session, to be inserted at index `first` */
} ed_session_place_t;

/* Places a record at ts among n sorted, disjoint sessions of one key
 * (sessions[i].end_ms ≤ sessions[i+1].start_ms; borrowed, not modified) for
 * a session gap of gap_ms: the record's window [ts, ts + gap) merges every
 * session it overlaps (start < ts + gap and ts < end), which form one
 * contiguous run. count == 1 with bounds equal to that session's means the
 * record falls inside it and nothing merges. O(log n). Returns 0, or
 * ED_EINVAL if ts is out of range (then *out is untouched). */
int ed_session_place(int64_t gap_ms, const ed_window_bounds_t *sessions, int n, int64_t ts,
                     ed_session_place_t *out);

/* Applies a placement to the array (capacity ≥ n + 1): replaces
 * sessions[first, first + count) by the merged bounds, or inserts them at
 * `first` when count is 0. Returns the new n. Keeps the array sorted and
 * disjoint. The caller does the same edit on its per-session states. */
int ed_session_apply(ed_window_bounds_t *sessions, int n, const ed_session_place_t *p);

#endif
