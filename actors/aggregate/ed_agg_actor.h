/*
 * ed_agg_actor.h — an aggregator actor: owns the state of the keys that
 * hash to its partition, for every aggregation.
 *
 * KEYED batches are applied to its table as they come. Checkpoint n is
 * complete here once every sender (the plan's links into it: the actors
 * that key records) has sent barrier n; each sender's data before its
 * barrier is then in the table (FIFO per sender). It then emits the
 * changelog of the changed keys to the aggregations' sinks, evaluates the
 * alert rules on those rows, and sends barrier n on every link it has.
 * Data of a later checkpoint that arrived early is flushed with n —
 * harmless, since sinks apply deltas.
 */
#ifndef ED_AGG_ACTOR_H
#define ED_AGG_ACTOR_H

#include "actors/ed_plan.h"
#include "runtime/ed_actor.h"

typedef struct ed_agg_actor ed_agg_actor_t;

/* The actor type; its state is an ed_agg_actor_t. */
extern const ed_actor_type_t ed_agg_actor;

/* Creates the state of aggregator p (partition p of runtime.aggregators).
 * `plan` is borrowed and must outlive it. Returns an owned state, or NULL
 * with errstr if the plan links it to no sink that an aggregation or
 * alert writes to (a plan bug, reported rather than hung on). */
ed_agg_actor_t *ed_agg_actor_new(ed_plan_t *plan, int p, char *errstr, size_t errstr_size);

/* Frees the state, its table and unsent batches; NULLs *s_p. NULL-safe. */
void ed_agg_actor_destroy(ed_agg_actor_t **s_p);

#endif
