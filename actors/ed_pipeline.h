/*
 * ed_pipeline.h — turns a config into actors on a runtime, and runs it.
 *
 * Actors of a pipeline:
 *   one source actor per `sources:` entry (× its `instances`)
 *                                                  (actors/sources/ed_source_actor.c)
 *   `decoders` decoder actors per source actor, if set: they decode and key
 *   the inputs their source actor reads        (actors/decode/ed_decoder_actor.c)
 *   runtime.aggregators aggregator actors, shared by all aggregations
 *                                                  (actors/aggregate/ed_agg_actor.c)
 *   one sink actor per `sinks:` entry              (sinks/ed_sink_actor.c)
 *   one coordinator: starts checkpoints every flush_interval, collects
 *   sink acks, tells sources to commit, drains on shutdown
 *                                                  (actors/ed_coordinator.c)
 * The plan below is immutable once the runtime starts, except for the
 * per-actor stats, each written only by its own actor's worker thread and
 * read by the main thread after the workers have joined.
 */
#ifndef ED_PIPELINE_H
#define ED_PIPELINE_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "config/ed_config.h"
#include "actors/ed_checkpoint.h"
#include "actors/ed_payload.h"
#include "runtime/ed_actor.h"
#include "runtime/ed_hist.h"
#include "sinks/ed_sink.h"

/* Counters of one source actor. Each actor's counters fill their own cache
 * line (they are bumped per record by different worker threads; sharing a
 * line would make those threads invalidate each other's caches). */
typedef struct {
    _Alignas(64)
    uint64_t inputs;   /* raw inputs read (messages, lines, generated events) */
    uint64_t records;  /* decoded records (e.g. words) */
    uint64_t rejected; /* inputs or records rejected (malformed, missing field) */
    uint64_t commits;  /* checkpoints committed */
} ed_source_stats_t;

/* Counters of one aggregator actor; own cache line, as above. */
typedef struct {
    _Alignas(64)
    uint64_t records;  /* keyed records applied */
    uint64_t changes;  /* changelog rows emitted */
    uint64_t alerts;   /* alert records emitted */
    uint64_t keys;     /* distinct entries at the last flush */
    uint64_t bytes;    /* state bytes at the last flush */
} ed_agg_stats_t;

typedef struct ed_plan {
    const ed_config_t *conf; /* borrowed */
    ed_runtime_t *rt;        /* owned */
    uint32_t coordinator;    /* actor id */
    uint32_t *source_ids;    /* [nsource_actors]: every instance of every source, in config order */
    int *source_of;          /* [nsource_actors] config source index of each source actor */
    int nsource_actors;      /* sum of sources[i].instances */
    uint32_t *decoder_ids;   /* [ndecoder_actors]: the decoders of source actor a are
                                decoder_ids[decoder_first[a] .. + sources[source_of[a]].decoders) */
    int *decoder_first;      /* [nsource_actors] */
    int ndecoder_actors;
    uint32_t *agg_ids;       /* [naggs] */
    int naggs;               /* conf->runtime.aggregators, or 0 without aggregations */
    uint32_t *sink_ids;      /* [conf->nsinks] */
    int *sink_nupstream;     /* [conf->nsinks] barriers a sink waits for per checkpoint */
    int64_t exit_when_idle_ms; /* 0 = run until a signal */
    atomic_int stop_requested; /* set by the signal handler thread; read by the coordinator */
    ed_source_stats_t *source_stats; /* [nsource_actors] */
    ed_agg_stats_t *agg_stats;       /* [naggs] */
    ed_sink_stats_t *sink_stats;     /* [conf->nsinks] */
    uint64_t *sink_acked;            /* [conf->nsinks] checkpoints acked */
    uint64_t checkpoints;            /* written by the coordinator: last completed */
    int64_t start_ms;                /* ed_now_ms() when the run started */
    int64_t active_end_ms;           /* coordinator: when the flush covering the latest input was
                                        acked (throughput = records / (active_end - start)) */
    int64_t end_ms;                  /* when the workers stopped */
    ed_hist_t latency;               /* coordinator: ms from an input's produce time (generator
                                        event time, Kafka message timestamp) to the moment its
                                        flush was acked by every sink */
    void **states;                   /* actor states, freed by ed_plan_destroy */
    int nstates;
} ed_plan_t;

/* Builds the actors for `conf` (borrowed; must outlive the plan) on a new
 * runtime. Returns an owned plan or NULL with errstr. */
ed_plan_t *ed_plan_new(const ed_config_t *conf, int64_t exit_when_idle_ms, char *errstr,
                       size_t errstr_size);

/* 1 if sink k receives changelog rows or alerts from some aggregation, so
 * every aggregator actor sends it data and barriers; else 0. */
int ed_plan_sink_fed_by_aggs(const ed_config_t *conf, int k);

/* Writes the plan (actors, partitions, sinks, who feeds whom) for `eddy check`. */
void ed_plan_print(const ed_plan_t *plan, FILE *out);

/* Runs the plan until it drains (signal or idle) or fails; handles SIGINT and
 * SIGTERM (first: drain; second: exit at once). Returns the process exit
 * code: 0 after a clean drain, 1 on failure, 2 on a forced stop. */
int ed_plan_run(ed_plan_t *plan);

/* Writes final counters as one JSON object to `out`. */
void ed_plan_stats_json(const ed_plan_t *plan, FILE *out);

/* Frees the plan and its runtime; NULLs *plan_p. */
void ed_plan_destroy(ed_plan_t **plan_p);

/* Actor types (defined in their own files). Each state struct starts with
 * `ed_plan_t *plan; int idx;`. */
extern const ed_actor_type_t ed_source_actor;
extern const ed_actor_type_t ed_decoder_actor;
extern const ed_actor_type_t ed_agg_actor;
extern const ed_actor_type_t ed_sink_actor;
extern const ed_actor_type_t ed_coordinator_actor;

/* Common head of every actor state struct. */
typedef struct {
    ed_plan_t *plan;
    int idx; /* index among actors of its kind (config index, or aggregator number) */
} ed_actor_head_t;

#endif
