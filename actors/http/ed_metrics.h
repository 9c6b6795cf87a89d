/*
 * ed_metrics.h — the pipeline's figures in the Prometheus text exposition
 * format, version 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/):
 * one `# HELP` and `# TYPE` line per metric family, then its samples, names
 * after Prometheus' naming conventions (`eddy_` prefix, base units —
 * seconds, bytes — and `_total` on counters). The names and their meanings
 * are listed in docs/http.md.
 *
 * Figures come from the plan's live stats (relaxed atomic loads, ed_plan.h)
 * and the runtime's per-actor figures (ed_runtime_actor_stats); histograms
 * from runtime/ed_hist (1 ms resolution) at fixed `le` bounds.
 */
#ifndef ED_METRICS_H
#define ED_METRICS_H

#include "actors/ed_plan.h"
#include "runtime/ed_buf.h"

/* Content type of the exposition. */
#define ED_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Appends every metric of `plan` (borrowed) to b. Thread-safe. */
void ed_metrics_write(ed_plan_t *plan, ed_buf_t *b);

#endif
