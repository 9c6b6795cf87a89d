/*
 * ed_coordinator.h — the checkpoint coordinator actor (one per plan).
 *
 * Every runtime.flush_interval it starts checkpoint n by sending BARRIER n
 * to every source actor. When every sink has acked n and every source has
 * reported its status for n, it records latency and tells the sources to
 * commit (COMMIT n). With runtime.max_inflight checkpoints not yet acked it
 * pauses the sources (PAUSE 1) and resumes them (PAUSE 0) when acks catch
 * up. It drains — a FINAL barrier, then exit 0 once every source committed
 * it — on a stop request (signal), when every source reached its end, or
 * after --exit-when-idle without input with everything acked.
 */
#ifndef ED_COORDINATOR_H
#define ED_COORDINATOR_H

#include "actors/ed_plan.h"
#include "runtime/ed_actor.h"

typedef struct ed_coordinator ed_coordinator_t;

/* The actor type; its state is an ed_coordinator_t. */
extern const ed_actor_type_t ed_coordinator_actor;

/* Creates the coordinator's state for `plan` (borrowed; must outlive it).
 * Returns an owned state; never NULL (OOM aborts). */
ed_coordinator_t *ed_coordinator_new(ed_plan_t *plan);

/* Frees the state and NULLs *c_p. NULL-safe. */
void ed_coordinator_destroy(ed_coordinator_t **c_p);

#endif
