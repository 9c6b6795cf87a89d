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
 * Threads): a handler never locks or waits for an actor.
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

/* Appends /v1/pipeline's JSON for `plan` to b. */
void ed_http_pipeline_json(ed_plan_t *plan, ed_buf_t *b);

#endif
