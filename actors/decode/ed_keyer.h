/*
 * ed_keyer.h — the per-record work between reading an input and the
 * aggregators: decode the input (ed_decode.h), take the key fields and the
 * compute inputs of every aggregation that reads the source, hash the
 * composite key (XXH3), and append a KEYED entry to the batch of the
 * aggregator actor that owns the hash. An aggregation's `where:` filter
 * (ed_where.h) is applied first: records it rejects are counted (filtered)
 * and not keyed. Records matching a per-record alert on the source (`alerts:
 * {x: {on: SOURCE, where: …}}`) go unchanged (the input's payload and key)
 * to the alert's sinks as RECORDS, on the owner's ALERTS links. Records that
 * cannot be keyed are counted, logged with their position and routed to the
 * source's rejects sink.
 *
 * A keyer lives inside one actor: the source actor itself (decoding in the
 * source, `decoders: 0`) or one decoder actor of a source (`decoders: N`,
 * actors/decode/ed_decoder_actor.c). It sends through that actor and is used only
 * from its worker thread.
 */
#ifndef ED_KEYER_H
#define ED_KEYER_H

#include <stdint.h>

#include "actors/ed_plan.h"
#include "runtime/ed_actor.h"
#include "actors/sources/ed_source.h"

typedef struct ed_keyer ed_keyer_t;

/* Creates a keyer for actor `owner` (a source actor or a decoder actor of
 * the plan), which sends what the keyer makes on its links: KEYED batches
 * to the aggregator of each key's partition, rejected inputs to the
 * REJECTS link if it has one, matching records of per-record alerts to
 * their sinks on its ALERTS links. Counts go to ed_plan_source_stats(plan,
 * slot) (records, rejected) and to the filters' ed_plan_agg_where_stats /
 * ed_plan_alert_where_stats, added atomically, as the decoder actors of one
 * source share them. `src` is the source config the owner uses (borrowed,
 * must outlive the keyer). Returns an owned keyer, or NULL with errstr
 * naming the source and its config position (a field the format does not
 * have). */
ed_keyer_t *ed_keyer_new(ed_plan_t *plan, uint32_t owner, const ed_conf_source_t *src, int slot,
                         char *errstr, size_t errstr_size);

/* Frees the keyer and its unsent batches; NULLs *k_p. NULL-safe. */
void ed_keyer_destroy(ed_keyer_t **k_p);

/* 1 if the keyer has work to do per input (aggregations or per-record
 * alerts read the source); 0 for pass-through-only sources. */
int ed_keyer_active(const ed_keyer_t *k);

/* Sets the time (monotonic ms, ed_now_ms()) the inputs that follow were
 * read at: the owner calls it once per read or batch, before their
 * ed_keyer_input calls, so event times mark partitions active without a
 * clock read per record (that read was ~13 % of bench S7's tumbling run). */
void ed_keyer_begin(ed_keyer_t *k, int64_t now_ms);

/* Decodes and keys one input, appending to the aggregator batches; full
 * batches (src->batch_size entries) are sent through `self` at once. Event
 * times are observed at the time of the last ed_keyer_begin. */
void ed_keyer_input(ed_keyer_t *k, ed_actor_t *self, const ed_input_t *in);

/* Sends every partial batch (aggregators, alerts and rejects) through `self`; at a
 * barrier, the owner calls this before it sends the barrier on its links. */
void ed_keyer_flush(ed_keyer_t *k, ed_actor_t *self);

/* At barrier n (with the barrier's `flags`): sends every partial batch
 * (ed_keyer_flush), then BARRIER n on every link of `self` carrying the
 * keyer's watermark (ED_MSG_F_WATERMARK, ED_MSG_F_IDLE when every partition
 * is idle). With ED_MSG_F_INPUT_END in flags the input ended: the watermark
 * becomes ED_WATERMARK_END first, so every window downstream closes. */
void ed_keyer_barrier(ed_keyer_t *k, ed_actor_t *self, uint64_t n, uint32_t flags);

/* The keyer's watermark now (actors/sources/ed_watermark.h: per input
 * partition, the highest event time seen minus time.max_out_of_orderness,
 * the lowest over partitions active within time.idle_timeout; monotonic).
 * ED_WATERMARK_NONE until a record with a valid event time, and always for
 * a source without `time` (processing time: the aggregator uses its clock).
 * Sets *idle (may be NULL) to 1 when no partition is active. Every KEYED
 * batch carries it in its message (ED_MSG_F_WATERMARK) and every KEYED
 * record the value just before it (ed_keyed_t.wm_ms). */
int64_t ed_keyer_watermark(ed_keyer_t *k, int *idle);

/* Marks the end of input: the watermark is ED_WATERMARK_END from now on. */
void ed_keyer_finish(ed_keyer_t *k);

/* The partitions the source is assigned now (parts[n], borrowed; Kafka
 * (topic, partition) pairs, a/0 and b/0 apart): each new one holds the
 * watermark at NONE until it has input or time.idle_timeout passes
 * (ed_watermark_assign), so the partition that answers first does not make
 * the others' first records late; partitions no longer listed are revoked.
 * No-op without `time:`. */
void ed_keyer_assign(ed_keyer_t *k, const ed_topic_part_t *parts, int n);

/* When the oldest unsent partial batch must go (ed_now_ms() clock), or 0 if
 * none is waiting. */
int64_t ed_keyer_deadline(const ed_keyer_t *k);

#endif
