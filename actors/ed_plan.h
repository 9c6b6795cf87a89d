/*
 * ed_plan.h — the plan: turns a config into actors on a runtime, decides
 * once how they are wired, and runs it.
 *
 * Actors of a pipeline (ids in this order, from 0):
 *   one coordinator: starts checkpoints every flush_interval, collects
 *   sink acks, tells sources to commit, drains on shutdown
 *                                                  (actors/ed_coordinator.h)
 *   one source actor per `sources:` entry (× its `instances`)
 *                                                  (actors/sources/ed_source_actor.h)
 *   `decoders` decoder actors per source actor, if set: they decode and key
 *   the inputs their source actor reads        (actors/decode/ed_decoder_actor.h)
 *   runtime.aggregators aggregator actors, shared by all aggregations
 *                                                  (actors/aggregate/ed_agg_actor.h)
 *   one sink actor per `sinks:` entry              (sinks/ed_sink_actor.h)
 *
 * Wiring: ed_plan_new computes every link (sender → receiver, and what
 * travels on it) once. Every link carries the checkpoint barriers: an actor
 * sends barrier n on each of its links (ed_plan_receivers) after the data of
 * checkpoint n, and a receiver completes checkpoint n when it has barrier n
 * from each of its senders (ed_plan_senders). Both lists come from the same
 * links, so a receiver never waits for a barrier nobody sends. The
 * coordinator's control messages (BARRIER to sources, ACK, status, COMMIT)
 * are not links: it talks to every source actor and hears from every sink.
 *
 * Threads: the plan is immutable once the runtime starts, except for the
 * per-actor stats, each written only by its own actor's worker thread (the
 * decoders of one source add to its counters atomically), the run stats
 * written only by the coordinator, and the stop request (atomic). Stats are
 * stored with relaxed atomics (runtime/ed_stat.h), so any thread may read
 * them live with ed_stat_get (the HTTP endpoint does); after the workers
 * joined, plain reads see the final figures. A sink's last error is
 * guarded by its ed_sink_live_t lock.
 */
#ifndef ED_PLAN_H
#define ED_PLAN_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "actors/sources/ed_source_parts.h"
#include "config/ed_config.h"
#include "runtime/ed_actor.h"
#include "runtime/ed_hist.h"
#include "runtime/ed_stat.h"
#include "sinks/ed_sink.h"

typedef struct ed_plan ed_plan_t;

/* Counters of one source actor. Each actor's counters fill their own cache
 * line (they are bumped per record by different worker threads; sharing a
 * line would make those threads invalidate each other's caches). */
typedef struct {
    _Alignas(64)
    uint64_t inputs;   /* raw inputs read (messages, lines, generated events) */
    uint64_t records;  /* decoded records (e.g. words) */
    uint64_t rejected; /* inputs or records rejected (malformed, missing field) */
    uint64_t commits;  /* checkpoints committed */
    uint64_t filtered; /* records dropped by transforms (a `where` step, Lua returning nil) */
} ed_source_stats_t;

/* Counters of one aggregator actor; own cache line, as above. */
typedef struct {
    _Alignas(64)
    uint64_t records;  /* keyed records applied */
    uint64_t changes;  /* changelog rows emitted */
    uint64_t alerts;   /* alert records emitted */
    uint64_t keys;     /* distinct entries at the last flush */
    uint64_t bytes;    /* state bytes at the last flush */
    uint64_t entries_peak; /* most entries at a flush, counted before expiry frees windows */
    uint64_t bytes_peak;   /* most state bytes at a flush, counted before expiry */
    uint64_t late_dropped;    /* records too late for every window (`late: drop`) */
    uint64_t late_updates;    /* windows updated after they expired (`late: update`) */
    uint64_t late_routed;     /* records too late for every window, sent to the late sink
                                 (`late: SINK`) */
    uint64_t windows_skipped; /* expired windows left out of records still applied to others */
    uint64_t windows_open;    /* windows holding state after the last flush */
    uint64_t windows_closed;  /* windows freed (expired under the watermark) */
    uint64_t time_invalid;    /* records whose event time no window takes (not expected: the
                                 keyer rejects them) */
} ed_agg_stats_t;

/* Counters of one `where:` filter (an aggregation's or a per-record
 * alert's), summed over every keyer evaluating it: added atomically by those
 * keyers (decoder actors on several workers share them) whenever they send a
 * batch, read after the workers joined. See ed_where.h for the meanings. */
typedef struct {
    uint64_t passed;       /* records that matched (were counted / alerted) */
    uint64_t filtered;     /* records that did not */
    uint64_t missing;      /* predicates false because a field was missing or null */
    uint64_t wrong_type;   /* predicates false because a value had another type */
    uint64_t regex_failed; /* `matches` that hit PCRE2's match limit */
} ed_where_stats_t;

/* What a sink actor records besides its plugin's counters (ed_sink_stats_t,
 * which it publishes after each write). Written by the sink's worker. */
typedef struct {
    uint64_t retries;        /* write attempts that returned RETRY */
    uint64_t failing;        /* consecutive failed attempts of its oldest flush; 0 = the
                                last attempt succeeded (or none was made yet) */
    uint64_t writes;         /* write attempts that succeeded (OK or DROP) */
    uint64_t durable;        /* last checkpoint it made durable and acked; 0 = none */
    int64_t durable_wall_ms; /* ed_wall_ms() of that ack; 0 = none */
    ed_hist_t write_ms;      /* ms per successful write attempt (one flush) */
    pthread_mutex_t lock;    /* guards last_err */
    char last_err[512];      /* why the last attempt failed; "" while healthy */
} ed_sink_live_t;

/* What the coordinator records about the run (read live: runtime/ed_stat.h). */
typedef struct {
    uint64_t checkpoints;  /* last checkpoint completed (acked by every sink) */
    int64_t durable_wall_ms; /* ed_wall_ms() when it completed; 0 = none yet */
    ed_hist_t checkpoint_ms; /* ms from the start of each checkpoint (barriers sent) to its
                                completion (acked by every sink) */
    int64_t active_end_ms; /* ed_now_ms() when the flush covering the latest input was acked
                              (throughput = records / (active_end - start)); 0 = never */
    ed_hist_t latency;     /* ms from an input's produce time (generator event time, Kafka
                              message timestamp) to the moment its flush was acked by every sink */
} ed_run_stats_t;

/* What travels on a link besides barriers (a bit set: a source may pass
 * records through to the sink that also takes its rejects). */
typedef enum {
    ED_LINK_INPUTS = 1u << 0,  /* source → one of its decoders: INPUTS batches, round robin */
    ED_LINK_KEYED = 1u << 1,   /* source or decoder → aggregator: KEYED batches */
    ED_LINK_RECORDS = 1u << 2, /* source (its decoders, with transforms) → pass-through sink (`to:`): RECORDS */
    ED_LINK_REJECTS = 1u << 3, /* source or decoder → the source's rejects sink; a sink that
                                  refuses records → their source's rejects sink: RECORDS */
    ED_LINK_CHANGES = 1u << 4, /* aggregator → sink: CHANGELOG rows, alert RECORDS */
    ED_LINK_ALERTS = 1u << 5,  /* source or decoder → sink of a per-record alert on the
                                  source (`on:` a source, `where:`): RECORDS */
} ed_link_kind_t;

/* One outgoing link of an actor. */
typedef struct {
    uint32_t to;    /* receiver actor id */
    unsigned kinds; /* ed_link_kind_t bits */
} ed_plan_link_t;

/* Builds the actors for `conf` (borrowed; must outlive the plan) on a new
 * runtime (not started). exit_when_idle_ms > 0 drains after that long
 * without input (--exit-when-idle). Returns an owned plan, or NULL with
 * errstr (a config the runtime cannot run: no sinks, an unbuilt feature, a
 * field a source's format lacks). */
ed_plan_t *ed_plan_new(const ed_config_t *conf, int64_t exit_when_idle_ms, char *errstr,
                       size_t errstr_size);

/* Frees the plan, its runtime and every actor state; NULLs *plan_p.
 * NULL-safe. Call after ed_plan_run returned (or instead of it). */
void ed_plan_destroy(ed_plan_t **plan_p);

/* Writes the plan (actors, partitions, sinks, who feeds whom) for `eddy check`. */
void ed_plan_print(const ed_plan_t *plan, FILE *out);

/* Runs the plan until it drains (signal or idle) or fails; handles SIGINT and
 * SIGTERM (first: drain; second: exit at once). Returns the process exit
 * code: 0 after a clean drain, 1 on failure, 2 on a forced stop. */
int ed_plan_run(ed_plan_t *plan);

/* Writes final counters as one JSON object to `out`. */
void ed_plan_stats_json(const ed_plan_t *plan, FILE *out);

/* ---- read by the actors (and by tests that drive them) ---- */

/* The config the plan was built from (borrowed). */
const ed_config_t *ed_plan_config(const ed_plan_t *plan);

/* The links `actor` sends on, in the order the plan made them: KEYED links
 * in partition order (aggregator 0 first), INPUTS links in decoder order.
 * Returns how many; *links is borrowed from the plan. */
int ed_plan_receivers(const ed_plan_t *plan, uint32_t actor, const ed_plan_link_t **links);

/* The receivers of `actor` over links with any of `kinds`, in order, into
 * ids[0 .. max); returns how many there are (may exceed max). */
int ed_plan_receivers_of(const ed_plan_t *plan, uint32_t actor, unsigned kinds, uint32_t *ids,
                         int max);

/* The actors that send to `actor` — each sends it one barrier per
 * checkpoint, so this count is what it waits for. *ids borrowed. */
int ed_plan_senders(const ed_plan_t *plan, uint32_t actor, const uint32_t **ids);

/* Sends BARRIER n with `flags` (ED_MSG_F_*) from `self` on every link the
 * plan gave it, in link order. Call after the data of checkpoint n went
 * out: per link, messages arrive in the order sent. */
void ed_plan_send_barriers(const ed_plan_t *plan, ed_actor_t *self, uint64_t n, uint32_t flags);

/* As ed_plan_send_barriers, with `value` in every barrier (the sender's
 * watermark, with ED_MSG_F_WATERMARK in flags). */
void ed_plan_send_barriers_value(const ed_plan_t *plan, ed_actor_t *self, uint64_t n,
                                 uint32_t flags, int64_t value);

/* Actor ids. Source actors are numbered by slot (every instance of every
 * source, in config order), decoders by their index d, aggregators by
 * partition p, sinks by config index k. */
uint32_t ed_plan_coordinator(const ed_plan_t *plan);
int ed_plan_nsources(const ed_plan_t *plan); /* source actors, instances counted */
uint32_t ed_plan_source_id(const ed_plan_t *plan, int slot);
int ed_plan_ndecoders(const ed_plan_t *plan);
uint32_t ed_plan_decoder_id(const ed_plan_t *plan, int d);
int ed_plan_naggs(const ed_plan_t *plan); /* runtime.aggregators, or 0 without aggregations */
uint32_t ed_plan_agg_id(const ed_plan_t *plan, int p);
uint32_t ed_plan_sink_id(const ed_plan_t *plan, int k);

/* Config source index of source actor `slot`, and which instance it is. */
int ed_plan_source_config(const ed_plan_t *plan, int slot);
int ed_plan_source_instance(const ed_plan_t *plan, int slot);

/* Source actor slot that decoder d decodes for. */
int ed_plan_decoder_source(const ed_plan_t *plan, int d);

/* Counters, written by their actor's worker (see Threads above). */
ed_source_stats_t *ed_plan_source_stats(ed_plan_t *plan, int slot);
ed_agg_stats_t *ed_plan_agg_stats(ed_plan_t *plan, int p);
ed_sink_stats_t *ed_plan_sink_stats(ed_plan_t *plan, int k);
ed_run_stats_t *ed_plan_run_stats(ed_plan_t *plan);
ed_sink_live_t *ed_plan_sink_live(ed_plan_t *plan, int k);

/* Where the keyer of actor `actor` (a source or decoder actor) publishes
 * its watermark (ms since the epoch; ED_WATERMARK_NONE before the first
 * event time, ED_WATERMARK_END once its input ended): written by that
 * actor's worker only (ed_stat_set_i64), read by any thread. Cells of
 * actors without a keyer hold ED_WATERMARK_END. */
int64_t *ed_plan_watermark_cell(ed_plan_t *plan, uint32_t actor);

/* Where actor `actor` publishes per source partition figures
 * (ed_source_parts.h; written by that actor's worker, read by any thread):
 * ED_PARTS_OFFSETS, a source actor's driver (Kafka: offsets and lag from
 * librdkafka's statistics); ED_PARTS_WATERMARKS, the keyer of a source or
 * decoder actor (each partition's watermark, after it rose, at a flush). */
enum { ED_PARTS_OFFSETS = 0, ED_PARTS_WATERMARKS = 1 };
ed_part_cell_t *ed_plan_parts_cell(ed_plan_t *plan, uint32_t actor, int which);

/* The runtime the actors run on (borrowed): ed_runtime_actor_stats. */
ed_runtime_t *ed_plan_runtime(ed_plan_t *plan);

/* The state store of runtime.state_dir (actors/aggregate/ed_state_store.h),
 * opened (and its COMMITTED marker checked) by ed_plan_new; NULL without
 * state_dir or aggregations. Borrowed. */
struct ed_state_store *ed_plan_state(const ed_plan_t *plan);

/* The exactly-once books (actors/ed_eo.h) with runtime.delivery:
 * exactly_once, else NULL. Created by ed_plan_new; ed_plan_run reads the
 * sinks' stored checkpoints into them before the runtime starts. Borrowed. */
struct ed_eo *ed_plan_eo(const ed_plan_t *plan);

/* ed_now_ms() when ed_plan_run started the runtime; 0 before. */
int64_t ed_plan_start_ms(const ed_plan_t *plan);
/* The `where:` counters of config aggregation a / config alert r (zero for
 * an aggregation without `where`, an alert on an aggregation). */
ed_where_stats_t *ed_plan_agg_where_stats(ed_plan_t *plan, int a);
ed_where_stats_t *ed_plan_alert_where_stats(ed_plan_t *plan, int r);
/* The late records of one windowed aggregation, over every aggregator
 * partition: added atomically (ed_stat_add_shared) by the aggregators
 * (actors/aggregate/ed_aggwin.c, where each record is judged), read with
 * ed_stat_get. Records, not windows: a hopping record counts once. */
typedef struct {
    uint64_t dropped; /* too late for every window, dropped (`late: drop`) */
    uint64_t updated; /* too late for at least one window, applied to it anyway
                         (`late: update`) */
    uint64_t routed;  /* too late for every window, sent to the late sink (`late: SINK`) */
} ed_agg_late_t;

/* The late counters of config aggregation a (0 ≤ a < naggregations). */
ed_agg_late_t *ed_plan_agg_late(ed_plan_t *plan, int a);

/* --exit-when-idle in ms (0 = run until a signal or the end of input). */
int64_t ed_plan_exit_when_idle_ms(const ed_plan_t *plan);

/* Asks for a drain (the first SIGINT/SIGTERM does this); the coordinator
 * notices on its next tick. Thread-safe. */
void ed_plan_request_stop(ed_plan_t *plan);

/* 1 once ed_plan_request_stop was called. Thread-safe. */
int ed_plan_stop_requested(const ed_plan_t *plan);

#endif
