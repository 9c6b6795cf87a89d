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
    ED_MSG_COMMITTED,     /* source → coordinator: positions of checkpoint committed (value
                             0), or the commit failed (value -1: e.g. the disk is full) */
    ED_MSG_SOURCE_STATUS, /* source → coordinator at each barrier: value = inputs read since the
                             previous barrier, batch = their produce times (TIMES, may be NULL);
                             flags ED_MSG_F_EOF when the source is finished. With seq 0: asks
                             for a checkpoint now (end of input, Kafka revoke). */
    ED_MSG_PAUSE,         /* coordinator → source: value 1 = pause reading, 0 = resume */
} ed_msg_type_t;

#define ED_MSG_F_FINAL 0x1u     /* barrier: last checkpoint before shutdown; stop reading */
#define ED_MSG_F_EOF 0x2u       /* source status: source will produce nothing more */
#define ED_MSG_F_NOT_READY 0x4u /* source status: source cannot deliver input yet (no partitions) */
/* KEYED batch or barrier from an actor that keys records (a source actor or
 * a decoder actor): `value` is its watermark after the records it sent
 * before (ms since the epoch; ED_WATERMARK_NONE = INT64_MIN none yet,
 * ED_WATERMARK_END = INT64_MAX its input ended; actors/sources/ed_watermark.h). */
#define ED_MSG_F_WATERMARK 0x8u
#define ED_MSG_F_IDLE 0x10u      /* with ED_MSG_F_WATERMARK: every partition of the sender is idle */
/* Final barrier: the input ended (every source at its end, or
 * --exit-when-idle), not a stop by signal: the keying actors' watermarks go
 * to ED_WATERMARK_END, so every open window closes. */
#define ED_MSG_F_INPUT_END 0x20u

/* Returns a new control message of `type` for checkpoint `n` with `flags`
 * and `value`; owned by the caller (send it or ed_msg_destroy it). */
ed_msg_t *ed_checkpoint_msg(ed_msg_type_t type, uint64_t n, uint32_t flags, int64_t value);

#endif
