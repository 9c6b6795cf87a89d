/*
 * ed_msg.h — the message envelope between actors.
 *
 * A message is a small heap object passed between actors *by pointer* over a
 * ZeroMQ inproc socket (only the 8-byte pointer is copied): ownership of the
 * message and its batch moves with it. Whoever holds an ed_msg_t frees it with
 * ed_msg_destroy (the runtime does so after on_message unless the handler took
 * it).
 *
 * The runtime reads only `from`, `to` and `next`. What `type`, `flags`, `seq`,
 * `value` and the batch mean is defined by the layer that sends the message
 * (eddy's pipeline: actors/ed_checkpoint.h for the types, actors/ed_payload.h
 * for the batch layouts).
 */
#ifndef ED_MSG_H
#define ED_MSG_H

#include <stdint.h>

#include "runtime/ed_batch.h"

typedef struct ed_msg {
    int type;            /* what the message means; defined by the sending layer */
    uint32_t from;       /* sender actor id (set by ed_actor_send) */
    uint32_t to;         /* receiver actor id (set by ed_actor_send) */
    uint32_t flags;      /* type-specific bits */
    uint64_t seq;        /* type-specific sequence number (the pipeline: checkpoint number) */
    int64_t value;       /* type-specific */
    ed_batch_t *batch;   /* payload owned by the message, or NULL */
    struct ed_msg *next; /* runtime-internal: outbox / inbox link */
} ed_msg_t;

/* Returns a new zeroed message of `type`; never NULL (OOM aborts). */
ed_msg_t *ed_msg_new(int type);

/* Returns a new message of `type` that takes ownership of *batch_p (NULLed;
 * a NULL *batch_p gives a message without payload). Never NULL. */
ed_msg_t *ed_msg_new_batch(int type, ed_batch_t **batch_p);

/* Frees the message and its batch, NULLs *msg_p. NULL-safe. */
void ed_msg_destroy(ed_msg_t **msg_p);

#endif
