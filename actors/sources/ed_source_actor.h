/*
 * ed_source_actor.h — a source actor: reads inputs through a source driver
 * (actors/sources/ed_source.h), forwards pass-through records straight to
 * its sinks, and decodes and keys records for the aggregators
 * (actors/decode/ed_keyer.h) itself or, with `decoders: N`, hands batches of
 * raw inputs round-robin to its N decoder actors.
 *
 * Checkpoints (actors/ed_checkpoint.h): on BARRIER n from the coordinator
 * it sends everything read so far, snapshots the driver's positions, sends
 * barrier n on every link the plan gave it and reports its status (inputs
 * read, their produce times, end of input) to the coordinator; on COMMIT n
 * it commits the positions of n and answers COMMITTED n; PAUSE 1/0 stops
 * and resumes reading (backpressure). A FINAL barrier stops reading.
 */
#ifndef ED_SOURCE_ACTOR_H
#define ED_SOURCE_ACTOR_H

#include "actors/ed_plan.h"
#include "runtime/ed_actor.h"

typedef struct ed_source_actor ed_source_actor_t;

/* The actor type; its state is an ed_source_actor_t. */
extern const ed_actor_type_t ed_source_actor;

/* Creates the state of source actor `slot` (every instance of every
 * source, in config order). `plan` is borrowed and must outlive it. The
 * driver is opened in the actor's init (on its worker). Returns an owned
 * state, or NULL with errstr (no driver for the source's kind, a field its
 * format does not have). */
ed_source_actor_t *ed_source_actor_new(ed_plan_t *plan, int slot, char *errstr,
                                       size_t errstr_size);

/* Frees the state (closing the driver if it is open) and NULLs *s_p.
 * NULL-safe. */
void ed_source_actor_destroy(ed_source_actor_t **s_p);

#endif
