/*
 * ed_kafka_stats.h — the per-partition figures of a librdkafka statistics
 * document (the JSON string the stats callback receives every
 * statistics.interval.ms; its fields are described in librdkafka's
 * STATISTICS.md, "partitions": consumer_lag, committed_offset, app_offset,
 * hi_offset, ls_offset, desired).
 *
 * Parsed with eddy's JSON parser (actors/decode/ed_json.h) on the thread
 * that serves the callback; nothing else in the document is converted.
 */
#ifndef ED_KAFKA_STATS_H
#define ED_KAFKA_STATS_H

#include <stddef.h>

#include "actors/decode/ed_json.h"
#include "actors/sources/ed_source_parts.h"

/* Parses the statistics document doc[0..len) with `json` (a reusable parser,
 * borrowed) into the figures of the partitions the consumer has assigned —
 * those with "desired": true and a partition ≥ 0 (the statistics also list
 * the topic's other partitions, and -1, librdkafka's unassigned
 * partition) — in the document's order. Per partition: committed =
 * committed_offset, read = app_offset, end = ls_offset if read_committed
 * (isolation.level=read_committed, librdkafka's default) else hi_offset, lag
 * = consumer_lag (librdkafka computes it against the same end); offsets
 * librdkafka does not know (-1001, or -1) become -1; watermark_ms is
 * ED_WATERMARK_NONE (the keyers know it). Returns the number of partitions
 * (≥ 0) and sets *out (owned, free with free(); NULL for 0), or ED_EINVAL
 * with errstr naming what is wrong ("librdkafka statistics: invalid JSON
 * at byte 17: …", "librdkafka statistics: topic 'x' has no 'partitions'
 * object"). */
int ed_kafka_stats_parse(ed_json_t *json, const char *doc, size_t len, int read_committed,
                         ed_part_fig_t **out, char *errstr, size_t errstr_size);

#endif
