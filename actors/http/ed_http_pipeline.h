/*
 * ed_http_pipeline.h — the pipeline's routes on the HTTP endpoint
 * (docs/http.md):
 *
 *   /healthz      200 "ok": the process is alive and serving
 *   /readyz       200 when the first checkpoint is durable in every sink and
 *                 no sink's last write failed; else 503 with a JSON reason
 *   /metrics      Prometheus text exposition format 0.0.4 (ed_metrics.h)
 *   /v1/pipeline  the plan (actors, links) and live figures, as JSON
 *
 * Every figure is read live from the plan with relaxed atomics (ed_plan.h,
 * Threads), or copied from a table an actor publishes whole (a sink's last
 * error, the per partition figures of ed_source_parts.h) under a mutex held
 * for the copy only: a handler never waits for an actor.
 */
#ifndef ED_HTTP_PIPELINE_H
#define ED_HTTP_PIPELINE_H

#include "actors/ed_plan.h"
#include "actors/http/ed_http.h"

/* Adds the pipeline's routes to h for `plan` (borrowed; must outlive the
 * server's last request: destroy the server first). Returns 0 or
 * ED_EINVAL (a route already taken). */
int ed_http_pipeline_routes(ed_http_t *h, ed_plan_t *plan);

/* Appends the readiness of `plan` to b as JSON {"ready": bool, "reason":
 * "…", "checkpoints": n, "sinks": {…}}; returns 1 if ready, 0 if not. */
int ed_http_readiness(ed_plan_t *plan, ed_buf_t *b);

/* The watermark of config source i (ms since the epoch): the lowest of its
 * keyers' (in its source actors or their decoders), what its aggregators
 * see; ED_WATERMARK_NONE for a source without `time:` or before its first
 * event time, ED_WATERMARK_END once its input ended. */
int64_t ed_http_source_watermark(ed_plan_t *plan, int i);

/* The partitions config source i reads now, as its drivers last published
 * them (Kafka: librdkafka's statistics, ed_source_parts.h): one entry per
 * topic and partition (if two instances report one during a rebalance, the
 * one read further), sorted by topic then partition, each with its
 * watermark: the lowest of the source's keyers that saw the partition (by
 * partition number), or ED_WATERMARK_NONE. Returns the count, *out owned
 * (free(); NULL for 0) and *at_ms (may be NULL) the wall clock of the
 * newest publish (0: none yet). */
int ed_http_source_parts(ed_plan_t *plan, int i, ed_part_fig_t **out, int64_t *at_ms);

/* Appends /v1/pipeline's JSON for `plan` to b. */
void ed_http_pipeline_json(ed_plan_t *plan, ed_buf_t *b);

#endif
