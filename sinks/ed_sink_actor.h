/*
 * ed_sink_actor.h — the sink actor: wraps one sink plugin (sinks/ed_sink.h).
 *
 * It collects the batches of each checkpoint from its senders (the plan's
 * links into it) and, once every sender has sent that checkpoint's barrier,
 * hands the whole flush to the plugin. Flushes are written strictly in
 * checkpoint order. OK → ACK n to the coordinator; RETRY → the same flush
 * again after a backoff (100 ms doubling to the sink's retry_max) while
 * newer checkpoints queue behind it; DROP → the plugin counted the rows as
 * rejected; logged, and acked. A flush without rows is acked without
 * calling the plugin. Records the plugin refused (ed_sink_flush_t.rejects)
 * go, once the flush is done, to the rejects sink of their source
 * (ed_config_reject_route), followed by the checkpoint's barrier.
 */
#ifndef ED_SINK_ACTOR_H
#define ED_SINK_ACTOR_H

#include "actors/ed_plan.h"
#include "runtime/ed_actor.h"
#include "sinks/ed_sink.h"

typedef struct ed_sink_actor ed_sink_actor_t;

/* The actor type; its state is an ed_sink_actor_t. */
extern const ed_actor_type_t ed_sink_actor;

/* Creates the state of the actor for config sink k, writing through the
 * plugin `type` (borrowed, static). `plan` is borrowed and must outlive it.
 * The plugin instance is created in the actor's init (on its worker).
 * Returns an owned state; never NULL today (errstr kept for plugins that
 * can refuse a config at construction). */
ed_sink_actor_t *ed_sink_actor_new(ed_plan_t *plan, int k, const ed_sink_type_t *type,
                                   char *errstr, size_t errstr_size);

/* Frees the state, its pending flushes and (if init ran) the plugin
 * instance; NULLs *s_p. NULL-safe. */
void ed_sink_actor_destroy(ed_sink_actor_t **s_p);

#endif
