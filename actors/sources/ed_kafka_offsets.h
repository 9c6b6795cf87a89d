/*
 * ed_kafka_offsets.h — the offset book of a Kafka source: how far each
 * partition was read, the offsets each checkpoint covers, and the offsets
 * of commits that failed.
 *
 * Positions: per partition read since its assignment, next = last emitted
 * offset + 1. ed_kafka_offsets_checkpoint(n) records {topic, partition,
 * next} of the partitions that advanced since the previous checkpoint;
 * ed_kafka_offsets_take(n) merges the checkpoints ≤ n (later ones win),
 * after the offsets of failed commits, into the one list to commit.
 * Committing is the driver's business (ed_source_kafka.c); this module
 * only keeps the books, calls no broker and does not block.
 */
#ifndef ED_KAFKA_OFFSETS_H
#define ED_KAFKA_OFFSETS_H

#include <librdkafka/rdkafka.h>
#include <stdint.h>

typedef struct ed_kafka_offsets ed_kafka_offsets_t;

/* Returns an empty book (owned; free with ed_kafka_offsets_destroy). Aborts
 * on OOM like every ed_malloc. */
ed_kafka_offsets_t *ed_kafka_offsets_new(void);

/* Frees the book and everything in it and NULLs *offsets_p. NULL-safe. */
void ed_kafka_offsets_destroy(ed_kafka_offsets_t **offsets_p);

/* Records that the message at `offset` of topic/partition was emitted:
 * its position becomes offset + 1 and counts as advanced. topic is copied
 * the first time a partition is seen. */
void ed_kafka_offsets_advance(ed_kafka_offsets_t *o, const char *topic, int32_t partition,
                              int64_t offset);

/* The position (last emitted offset + 1) of topic/partition, or -1 when
 * nothing was emitted from it since its assignment. */
int64_t ed_kafka_offsets_next(ed_kafka_offsets_t *o, const char *topic, int32_t partition);

/* Sets (or adds) every position of the book into `into` (exactly_once:
 * the positions a checkpoint covers). */
void ed_kafka_offsets_positions(const ed_kafka_offsets_t *o, rd_kafka_topic_partition_list_t *into);

/* Records checkpoint n (increasing from call to call): the positions of
 * the partitions that advanced since the previous checkpoint. Nothing is
 * recorded when none did. */
void ed_kafka_offsets_checkpoint(ed_kafka_offsets_t *o, uint64_t n);

/* Returns the offsets to commit for checkpoints ≤ n — the offsets of failed
 * commits, overridden by those checkpoints in order — and removes them from
 * the book; or NULL when there is nothing to commit. The list is owned by
 * the caller (rd_kafka_topic_partition_list_destroy); hand it back with
 * ed_kafka_offsets_requeue if committing it fails. */
rd_kafka_topic_partition_list_t *ed_kafka_offsets_take(ed_kafka_offsets_t *o, uint64_t n);

/* Takes back a list from ed_kafka_offsets_take whose commit failed, to be
 * merged into the next one (the higher offset of a partition wins); takes
 * ownership and NULLs *list_p. */
void ed_kafka_offsets_requeue(ed_kafka_offsets_t *o, rd_kafka_topic_partition_list_t **list_p);

/* Queues the offset of topic/partition whose commit failed (reported by the
 * commit callback) for the next commit, unless a higher offset is queued
 * already. Returns 1, or 0 (ignored) when the partition has no position any
 * more: it was revoked meanwhile. */
int ed_kafka_offsets_retry(ed_kafka_offsets_t *o, const char *topic, int32_t partition,
                           int64_t offset);

/* 1 if something read from a partition of `parts` is not committed yet: a
 * position advanced since the last checkpoint, a checkpoint not committed,
 * or a failed commit; else 0. */
int ed_kafka_offsets_uncommitted(const ed_kafka_offsets_t *o,
                                 const rd_kafka_topic_partition_list_t *parts);

/* Forgets positions, uncommitted checkpoints and failed commits of the
 * partitions in `parts` (NULL = all), as when they are revoked. */
void ed_kafka_offsets_forget(ed_kafka_offsets_t *o, const rd_kafka_topic_partition_list_t *parts);

#endif
