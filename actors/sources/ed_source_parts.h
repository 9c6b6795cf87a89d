/*
 * ed_source_parts.h — per source partition figures (Kafka offsets and lag,
 * event-time watermark), published by the thread that knows them to the
 * HTTP endpoint (/metrics, /v1/pipeline) that reads them.
 *
 * A cell holds an immutable snapshot: an array of figures, replaced whole.
 * The writer (the Kafka driver in its librdkafka statistics callback, a
 * keyer at a flush after a watermark rose, both on their actor's worker thread)
 * builds the new array without a lock, then swaps the pointer under the
 * cell's mutex; a reader copies the array under the mutex. The lock is held
 * for a pointer swap or a copy of a few hundred bytes per partition, never
 * while parsing or formatting, so a scrape cannot slow the data path.
 */
#ifndef ED_SOURCE_PARTS_H
#define ED_SOURCE_PARTS_H

#include <pthread.h>
#include <stdint.h>

/* Kafka topic names are at most 249 bytes. */
#define ED_PART_TOPIC_MAX 256

/* The figures of one partition; -1 where not known. */
typedef struct {
    char topic[ED_PART_TOPIC_MAX]; /* Kafka topic ("" for a keyer's watermark table) */
    int32_t partition;             /* Kafka partition */
    int64_t committed;   /* committed offset of the consumer group (next offset a restart reads) */
    int64_t read;        /* offset of the last message handed to eddy + 1 (librdkafka app_offset) */
    int64_t end;         /* end offset on the broker: the high watermark, or the last stable
                            offset when isolation.level is read_committed (librdkafka's default) */
    int64_t lag;         /* end − committed: records not yet committed (consumer lag) */
    int64_t watermark_ms; /* the partition's event-time watermark (ms since the epoch), or
                             ED_WATERMARK_NONE (no event time yet) */
} ed_part_fig_t;

/* One published table of figures. Initialise with ed_part_cell_init. */
typedef struct {
    pthread_mutex_t lock; /* guards v, n, at_ms */
    ed_part_fig_t *v;     /* [n] owned, immutable once published */
    int n;
    int64_t at_ms;        /* wall clock (ms since the epoch) of the publish, 0 = never */
} ed_part_cell_t;

/* Initialises an empty cell. */
void ed_part_cell_init(ed_part_cell_t *c);

/* Frees the cell's table and its mutex. */
void ed_part_cell_destroy(ed_part_cell_t *c);

/* Replaces the cell's table by *v_p ([n] figures, from ed_malloc; taken,
 * *v_p NULLed; NULL with n = 0 empties it), stamped at_ms (wall clock).
 * The old table is freed after the lock is released. */
void ed_part_cell_publish(ed_part_cell_t *c, ed_part_fig_t **v_p, int n, int64_t at_ms);

/* A copy of the cell's table: returns its count and sets *out (owned, free
 * with free(); NULL when the count is 0) and *at_ms (may be NULL). */
int ed_part_cell_copy(ed_part_cell_t *c, ed_part_fig_t **out, int64_t *at_ms);

#endif
