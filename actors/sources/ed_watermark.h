/*
 * ed_watermark.h — event-time watermarks: per partition, per source, and the
 * minimum an aggregator takes over its upstreams.
 *
 * A watermark W is a promise: "no record with event time < W is expected
 * any more" (actors/aggregate/ed_window.h classifies records and windows
 * against it). Times are ms since the Unix epoch; ED_WATERMARK_NONE
 * (INT64_MIN) means nothing is known yet (every window stays open),
 * ED_WATERMARK_END (INT64_MAX) means the input ended (every window is
 * complete). Nothing here reads a clock: every call that depends on time
 * takes `now_ms` (monotonic ms, ed_now_ms() in production, a fake clock in
 * tests), so the behaviour is a pure function of the calls.
 *
 * Source side (ed_watermark_t, one per actor that extracts event times):
 *   - a partition is a (topic, partition number) pair: a Kafka source with
 *     `topics: [a, b]` tracks a/0 and b/0 apart. Topic NULL means none (a
 *     directory or a generator source, which use partition -1);
 *   - per partition: W_p = highest event time seen − max_out_of_orderness;
 *   - the source's W = the lowest W_p over its *active* partitions: those
 *     that had input within idle_timeout. A partition silent for
 *     idle_timeout or longer is *idle* and left out until it speaks again,
 *     as Flink's idleness. A partition that was assigned but has not spoken
 *     yet counts as active (holding W at NONE) until idle_timeout after its
 *     assignment, so when a replay starts, the partition that answers first
 *     does not make the others' first records late;
 *   - W never goes back: it is the maximum of every value computed so far.
 *     An idle partition that speaks again re-enters the minimum; if its
 *     records are behind W they are late (classified by the window), and W
 *     does not move back for them;
 *   - all partitions idle (or none assigned): W holds its last value and
 *     the source reports itself idle, so that aggregators leave it out of
 *     their minimum while other upstreams are active. If every upstream of
 *     an aggregator is idle, the aggregator's W holds as well: windows stay
 *     open until input resumes or the input ends (ed_watermark_finish, sent
 *     as ED_WATERMARK_END at the end of a bounded input or on drain) —
 *     the same as Flink, which never advances event time without events;
 *   - idle_timeout 0 turns idleness off: a silent partition holds W.
 *   - a source without `time:` uses processing time: the caller passes the
 *     wall clock (ed_wall_ms) as each record's event time.
 *
 * Aggregator side (ed_wmin_t): W = the lowest over its upstreams (sources
 * or decoder actors) that are not idle; monotonic; an upstream not heard
 * from yet holds W at NONE. Upstream values are kept monotonic too, so a
 * restarted upstream that starts again from NONE does not pull W back.
 *
 * How the pipeline will use this (integration after lanes state and config
 * land; the message layout belongs to the runtime):
 *   - the actor that extracts event times (the source actor, or each decoder
 *     actor with `decoders: N` — a decoder sees an in-order subsequence of
 *     each partition, for which the same bound holds) owns one
 *     ed_watermark_t; it calls ed_watermark_assign/revoke from the Kafka
 *     rebalance callback (a directory or generator source uses partition -1),
 *     ed_watermark_observe for every record with its event time, and
 *     ed_watermark_current before it sends batches and barriers;
 *   - every KEYED batch and every barrier carries (watermark, idle) of its
 *     sender; records of a batch are classified against the aggregator's W
 *     *before* the batch, then ed_wmin_update applies the batch's watermark;
 *   - when ed_wmin_update reports an advance, the aggregator closes and
 *     frees windows (ed_window_is_complete / ed_window_free_before);
 *   - on checkpoint the aggregator stores its W with its window state, so
 *     after a restart it neither reopens closed windows nor closes open ones
 *     early; sources start again from NONE and are ignored until they pass it.
 */
#ifndef ED_WATERMARK_H
#define ED_WATERMARK_H

#include <stddef.h>
#include <stdint.h>

#define ED_WATERMARK_NONE INT64_MIN /* nothing known yet: every window open */
#define ED_WATERMARK_END INT64_MAX  /* input ended: every window complete */

typedef struct ed_watermark ed_watermark_t;

/* Creates a tracker with no partitions. max_out_of_orderness_ms ≥ 0 (how
 * far behind the highest event time a record may arrive and still be on
 * time); idle_timeout_ms ≥ 0 (0 = partitions are never idle). Both checked
 * by the caller's config (an assert here). Never NULL. */
ed_watermark_t *ed_watermark_new(int64_t max_out_of_orderness_ms, int64_t idle_timeout_ms);

/* Frees the tracker and NULLs *wm_p. NULL-safe. */
void ed_watermark_destroy(ed_watermark_t **wm_p);

/* Registers partition (topic, partition) at now_ms (a Kafka assignment);
 * `topic` (NULL = none) is copied. It holds the watermark at NONE until it
 * has input or idle_timeout passes. Assigning a partition already present
 * resets it to "assigned, no input" (a re-assignment after a rebalance
 * re-reads from the committed offset). */
void ed_watermark_assign(ed_watermark_t *wm, const char *topic, int32_t partition,
                         int64_t now_ms);

/* Removes partition (topic, partition) (revoked); unknown partitions are
 * ignored. */
void ed_watermark_revoke(ed_watermark_t *wm, const char *topic, int32_t partition);

/* Records that (topic, partition) delivered a record with event time
 * event_ms at now_ms: raises its highest event time and marks it active.
 * An unknown partition is assigned first (its topic copied). O(length of
 * the topic name) when consecutive calls name the same partition, O(log
 * partitions) comparisons otherwise. Returns 1 if the partition's highest
 * event time rose (or it had none), so the caller knows when
 * ed_watermark_current may have moved for a reason other than idleness;
 * else 0. */
int ed_watermark_observe(ed_watermark_t *wm, const char *topic, int32_t partition,
                         int64_t event_ms, int64_t now_ms);

/* The source's watermark at now_ms (see the header comment), monotonic over
 * calls; sets *idle (may be NULL) to 1 if no partition is active (all idle,
 * or none assigned), else 0. After ed_watermark_finish returns
 * ED_WATERMARK_END with *idle = 0. O(partitions). */
int64_t ed_watermark_current(ed_watermark_t *wm, int64_t now_ms, int *idle);

/* Marks the end of input (bounded input exhausted, or draining for a
 * clean stop): from now on the watermark is ED_WATERMARK_END. */
void ed_watermark_finish(ed_watermark_t *wm);

/* The own watermark of (topic, partition) (highest event time − bound), or
 * NONE if it had no input since its assignment. Sets *found (may be NULL)
 * to 1 if the partition is known, else 0 (and returns NONE). For stats and
 * tests. */
int64_t ed_watermark_partition(const ed_watermark_t *wm, const char *topic, int32_t partition,
                               int *found);

/* Number of partitions known. */
int ed_watermark_npartitions(const ed_watermark_t *wm);

/* The i-th known partition (0 ≤ i < ed_watermark_npartitions, else an
 * assert), in order of (topic, partition), partitions without a topic
 * first: sets *topic (the tracker's copy, valid until that partition is
 * revoked or the tracker destroyed; NULL = none) and *partition, and
 * returns its own watermark (as ed_watermark_partition). For stats. */
int64_t ed_watermark_nth(const ed_watermark_t *wm, int i, const char **topic,
                         int32_t *partition);

typedef struct ed_wmin ed_wmin_t;

/* Creates the combined watermark of an actor with `nupstreams` ≥ 1
 * upstreams, numbered 0..n-1 by the caller (e.g. its index of the sender's
 * actor id); each starts active at NONE. Never NULL. */
ed_wmin_t *ed_wmin_new(int nupstreams);

/* Frees and NULLs *m_p. NULL-safe. */
void ed_wmin_destroy(ed_wmin_t **m_p);

/* Applies what upstream `i` reported with a batch or barrier: its
 * watermark and whether it is idle. Values below what the upstream
 * reported before are ignored (its watermark is kept monotonic). Returns 1
 * if the combined watermark advanced, else 0. `i` out of range is an
 * assert. */
int ed_wmin_update(ed_wmin_t *m, int i, int64_t watermark, int idle);

/* The combined watermark: the lowest over upstreams that are not idle,
 * never below a value returned before; held when all are idle. */
int64_t ed_wmin_get(const ed_wmin_t *m);

/* 1 if every upstream is idle (the combined watermark is held), else 0. */
int ed_wmin_idle(const ed_wmin_t *m);

#endif
