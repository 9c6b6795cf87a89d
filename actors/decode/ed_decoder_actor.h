/*
 * ed_decoder_actor.h — one of the N decoder actors of a source actor
 * (`sources.X.decoders: N`). The source actor only reads: it packs raw
 * inputs into INPUTS batches and hands them round-robin to its decoders,
 * which decode and key them (actors/decode/ed_keyer.h) on the worker pool,
 * so decoding — most of a JSON pipeline's CPU — uses every worker instead
 * of the one that hosts the source.
 *
 * A decoder has one sender (its source actor), so barriers need no
 * alignment here: barrier n arrives after all of the source's inputs before
 * it (FIFO per sender), is applied after them, and goes on every link the
 * plan gave the decoder (every aggregator, the rejects sink), whose
 * receivers align it with their other senders.
 */
#ifndef ED_DECODER_ACTOR_H
#define ED_DECODER_ACTOR_H

#include "actors/ed_plan.h"
#include "runtime/ed_actor.h"

typedef struct ed_decoder_actor ed_decoder_actor_t;

/* The actor type; its state is an ed_decoder_actor_t. */
extern const ed_actor_type_t ed_decoder_actor;

/* Creates the state of decoder d of the plan. `plan` is borrowed and must
 * outlive it. Returns an owned state, or NULL with errstr (a field the
 * source's format does not have). */
ed_decoder_actor_t *ed_decoder_actor_new(ed_plan_t *plan, int d, char *errstr,
                                         size_t errstr_size);

/* Frees the state and its keyer; NULLs *s_p. NULL-safe. */
void ed_decoder_actor_destroy(ed_decoder_actor_t **s_p);

#endif
