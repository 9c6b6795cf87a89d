/*
 * ed_checkpoint.h — the messages of the pipeline: data batches and the
 * checkpoint protocol (see docs/architecture.md), carried in the runtime's
 * envelope (runtime/ed_msg.h: `type` is an ed_msg_type_t, `seq` the
 * checkpoint number, `flags` ED_MSG_F_*).
 *
 *   coordinator --BARRIER n--> sources [--INPUTS…, BARRIER n--> decoders]
 *   sources/decoders --KEYED batches…, BARRIER n--> aggregators
 *   aggregators --CHANGELOG/RECORDS batches…, BARRIER n--> sinks
 *   sinks --ACK n--> coordinator --COMMIT n--> sources --COMMITTED n--> coordinator
 */
#ifndef ED_CHECKPOINT_H
#define ED_CHECKPOINT_H

#include <stdint.h>

#include "runtime/ed_msg.h"

typedef enum {
    ED_MSG_BATCH = 1,     /* data: `batch` holds KEYED, CHANGELOG, RECORDS or INPUTS entries */
    ED_MSG_BARRIER,       /* end of checkpoint `seq` from this sender */
    ED_MSG_ACK,           /* sink → coordinator: checkpoint durable (value: rows written) */
    ED_MSG_COMMIT,        /* coordinator → source: commit positions of checkpoint */
    ED_MSG_COMMITTED,     /* source → coordinator: positions of checkpoint committed */
    ED_MSG_SOURCE_STATUS, /* source → coordinator at each barrier: value = inputs read since the
                             previous barrier, batch = their produce times (TIMES, may be NULL);
                             flags ED_MSG_F_EOF when the source is finished. With seq 0: asks
                             for a checkpoint now (end of input, Kafka revoke). */
    ED_MSG_PAUSE,         /* coordinator → source: value 1 = pause reading, 0 = resume */
} ed_msg_type_t;

#define ED_MSG_F_FINAL 0x1u     /* barrier: last checkpoint before shutdown; stop reading */
#define ED_MSG_F_EOF 0x2u       /* source status: source will produce nothing more */
#define ED_MSG_F_NOT_READY 0x4u /* source status: source cannot deliver input yet (no partitions) */

/* Returns a new control message of `type` for checkpoint `n` with `flags`
 * and `value`; owned by the caller (send it or ed_msg_destroy it). */
ed_msg_t *ed_checkpoint_msg(ed_msg_type_t type, uint64_t n, uint32_t flags, int64_t value);

#endif
