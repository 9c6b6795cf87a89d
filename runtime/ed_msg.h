/*
 * ed_msg.h — messages between actors.
 *
 * A message is a small heap object passed between actors *by pointer* over a
 * ZeroMQ inproc socket (only the 8-byte pointer is copied): ownership of the
 * message and its batch moves with it. Whoever holds an ed_msg_t frees it with
 * ed_msg_destroy (the runtime does so after on_message unless the handler took
 * it).
 *
 * Checkpoint protocol (see docs/architecture.md):
 *   coordinator --BARRIER n--> sources --BATCH…, BARRIER n--> aggregators
 *   aggregators --CHANGELOG/RECORDS batches, BARRIER n--> sinks
 *   sinks --ACK n--> coordinator --COMMIT n--> sources --COMMITTED n--> coordinator
 */
#ifndef ED_MSG_H
#define ED_MSG_H

#include <stdint.h>

#include "runtime/ed_batch.h"
#include "runtime/ed_hist.h"

typedef enum {
    ED_MSG_BATCH = 1,   /* data: `batch` holds KEYED, CHANGELOG or RECORDS entries */
    ED_MSG_BARRIER,     /* end of checkpoint `checkpoint` from this sender */
    ED_MSG_ACK,         /* sink → coordinator: checkpoint durable (value: rows written) */
    ED_MSG_COMMIT,      /* coordinator → source: commit positions of checkpoint */
    ED_MSG_COMMITTED,   /* source → coordinator: positions of checkpoint committed */
    ED_MSG_SOURCE_STATUS, /* source → coordinator at each barrier: value = inputs read since the
                             previous barrier; flags ED_MSG_F_EOF when the source is finished */
    ED_MSG_PAUSE,       /* coordinator → source: value 1 = pause reading, 0 = resume */
} ed_msg_type_t;

#define ED_MSG_F_FINAL 0x1u /* barrier: last checkpoint before shutdown; stop reading */
#define ED_MSG_F_EOF 0x2u   /* source status: source will produce nothing more */
#define ED_MSG_F_NOT_READY 0x4u /* source status: source cannot deliver input yet (no partitions) */

typedef struct ed_msg {
    ed_msg_type_t type;
    uint32_t from;         /* sender actor id (set by ed_actor_send) */
    uint32_t to;           /* receiver actor id (set by ed_actor_send) */
    uint32_t flags;        /* ED_MSG_F_* */
    uint64_t checkpoint;   /* BARRIER, ACK, COMMIT, COMMITTED, SOURCE_STATUS */
    int64_t value;         /* type-specific, see ed_msg_type_t */
    ed_batch_t *batch;     /* BATCH: owned by the message */
    ed_tsbag_t times;      /* SOURCE_STATUS: produce times of the inputs in this checkpoint
                              (owned; for latency, see ed_hist.h) */
    struct ed_msg *next;   /* runtime-internal: outbox / inbox link */
} ed_msg_t;

/* Returns a new zeroed message of `type`; never NULL (OOM aborts). */
ed_msg_t *ed_msg_new(ed_msg_type_t type);

/* Returns a new BATCH message that takes ownership of *batch_p (NULLed). */
ed_msg_t *ed_msg_new_batch(ed_batch_t **batch_p);

/* Frees the message and its batch, NULLs *msg_p. NULL-safe. */
void ed_msg_destroy(ed_msg_t **msg_p);

#endif
