/* ed_metrics.c — see ed_metrics.h. */
#define _GNU_SOURCE
#include "actors/http/ed_metrics.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/http/ed_http_pipeline.h"
#include "actors/sources/ed_watermark.h"
#include "runtime/ed_common.h"

/* Histogram bounds, ms (the `le` labels are these in seconds): from 1 ms,
 * the histograms' resolution, to a minute. */
static const int64_t s_le_ms[] = {1,    2,    5,    10,    25,    50,    100,  250,
                                  500,  1000, 2500, 5000,  10000, 30000, 60000};

/* "# HELP name help" and "# TYPE name type". */
static void s_head(ed_buf_t *b, const char *name, const char *type, const char *help) {
    ed_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Appends key="value", escaping the value as the format requires (\\, \", \n). */
static void s_label(ed_buf_t *b, const char *key, const char *v) {
    ed_buf_printf(b, "%s%s=\"", b->len ? "," : "", key);
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            ed_buf_printf(b, "\\%c", *v);
        else if (*v == '\n')
            ed_buf_puts(b, "\\n");
        else
            ed_buf_append(b, v, 1);
    }
    ed_buf_puts(b, "\"");
}

/* One sample: name{labels} value. */
static void s_u64(ed_buf_t *b, const char *name, const ed_buf_t *labels, uint64_t v) {
    if (labels && labels->len)
        ed_buf_printf(b, "%s{%s} %llu\n", name, labels->data, (unsigned long long)v);
    else
        ed_buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

/* A sample in seconds from a figure in ms. */
static void s_sec(ed_buf_t *b, const char *name, const ed_buf_t *labels, int64_t ms) {
    if (labels && labels->len)
        ed_buf_printf(b, "%s{%s} %.3f\n", name, labels->data, (double)ms / 1000.0);
    else
        ed_buf_printf(b, "%s %.3f\n", name, (double)ms / 1000.0);
}

/* The samples of one histogram (ms values) in seconds: cumulative buckets,
 * +Inf, _sum and _count. Every bucket is read after the one before, and
 * counts only grow, so the buckets are monotonic and +Inf = _count. */
static void s_hist(ed_buf_t *b, const char *name, const ed_buf_t *labels, const ed_hist_t *h) {
    const char *sep = labels && labels->len ? "," : "";
    const char *lab = labels && labels->len ? labels->data : "";
    for (size_t i = 0; i < ED_ARRAY_SIZE(s_le_ms); i++)
        ed_buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, lab, sep,
                      (double)s_le_ms[i] / 1000.0,
                      (unsigned long long)ed_hist_count_le(h, s_le_ms[i]));
    uint64_t count = ed_hist_count_le(h, INT64_MAX);
    ed_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, lab, sep,
                  (unsigned long long)count);
    ed_buf_printf(b, "%s_sum%s%s%s %.3f\n", name, *lab ? "{" : "", lab, *lab ? "}" : "",
                  (double)ed_stat_get(&h->sum) / 1000.0);
    ed_buf_printf(b, "%s_count%s%s%s %llu\n", name, *lab ? "{" : "", lab, *lab ? "}" : "",
                  (unsigned long long)count);
}

/* A metric family: name, Prometheus type, HELP text. */
typedef struct {
    const char *name, *type, *help;
} s_fam_t;

/* ---- per actor (the runtime's figures) ---- */

typedef enum { A_MSG_IN, A_MSG_OUT, A_REC_IN, A_REC_OUT, A_MAILBOX, A_BLOCKED, A_BLOCKED_NOW,
               A_RESTARTS } s_actor_fig_t;

static const s_fam_t s_actor_fams[] = {
    [A_MSG_IN] = {"eddy_actor_messages_in_total", "counter", "Messages the actor handled."},
    [A_MSG_OUT] = {"eddy_actor_messages_out_total", "counter", "Messages the actor sent."},
    [A_REC_IN] = {"eddy_actor_records_in_total", "counter",
                  "Records (batch entries: inputs, keyed records, changelog rows) the actor "
                  "received."},
    [A_REC_OUT] = {"eddy_actor_records_out_total", "counter",
                   "Records (batch entries) the actor sent."},
    [A_MAILBOX] = {"eddy_actor_mailbox_depth", "gauge",
                   "Messages sent to the actor and not handled yet (its mailbox depth)."},
    [A_BLOCKED] = {"eddy_actor_backpressure_seconds_total", "counter",
                   "Time the actor was blocked by backpressure (its outbox waited for room in a "
                   "full mailbox)."},
    [A_BLOCKED_NOW] = {"eddy_actor_blocked", "gauge",
                       "1 while the actor is blocked by backpressure, else 0."},
    [A_RESTARTS] = {"eddy_actor_restarts_total", "counter",
                    "Failures the actor's supervisor restarted it after."},
};

static void s_actors(ed_plan_t *plan, ed_buf_t *b) {
    ed_runtime_t *rt = ed_plan_runtime(plan);
    int n = ed_runtime_nactors(rt);
    int64_t now = ed_now_ms();
    ed_actor_stats_t *st = ed_calloc((size_t)n + 1, sizeof *st);
    ed_buf_t *lab = ed_calloc((size_t)n + 1, sizeof *lab);
    for (int i = 0; i < n; i++) {
        ed_runtime_actor_stats(rt, (uint32_t)i, now, &st[i]);
        s_label(&lab[i], "actor", ed_runtime_actor_name(rt, (uint32_t)i));
        s_label(&lab[i], "kind", ed_runtime_actor_type(rt, (uint32_t)i));
    }
    for (size_t f = 0; f < ED_ARRAY_SIZE(s_actor_fams); f++) {
        s_head(b, s_actor_fams[f].name, s_actor_fams[f].type, s_actor_fams[f].help);
        for (int i = 0; i < n; i++) {
            const ed_actor_stats_t *a = &st[i];
            const char *name = s_actor_fams[f].name;
            switch ((s_actor_fig_t)f) {
            case A_MSG_IN: s_u64(b, name, &lab[i], a->msgs_in); break;
            case A_MSG_OUT: s_u64(b, name, &lab[i], a->msgs_out); break;
            case A_REC_IN: s_u64(b, name, &lab[i], a->records_in); break;
            case A_REC_OUT: s_u64(b, name, &lab[i], a->records_out); break;
            case A_MAILBOX: s_u64(b, name, &lab[i], a->mailbox); break;
            case A_BLOCKED: s_sec(b, name, &lab[i], (int64_t)a->blocked_ms); break;
            case A_BLOCKED_NOW: s_u64(b, name, &lab[i], (uint64_t)a->blocked); break;
            case A_RESTARTS: s_u64(b, name, &lab[i], a->restarts); break;
            }
        }
    }
    for (int i = 0; i < n; i++)
        ed_buf_free(&lab[i]);
    free(lab);
    free(st);
}

/* ---- sources, aggregators, aggregations, sinks, checkpoints ---- */

/* The counters of one family over every source actor; off is the offset of
 * the field in ed_source_stats_t. */
static void s_sources(ed_plan_t *plan, ed_buf_t *b, const char *name, const char *help,
                      size_t off) {
    const ed_config_t *conf = ed_plan_config(plan);
    s_head(b, name, "counter", help);
    ed_buf_t lab = ED_BUF_INIT;
    for (int i = 0; i < ed_plan_nsources(plan); i++) {
        ed_buf_reset(&lab);
        s_label(&lab, "source", conf->sources[ed_plan_source_config(plan, i)].name);
        char inst[16];
        snprintf(inst, sizeof inst, "%d", ed_plan_source_instance(plan, i));
        s_label(&lab, "instance", inst);
        const uint64_t *v = (const uint64_t *)((const char *)ed_plan_source_stats(plan, i) + off);
        s_u64(b, name, &lab, ed_stat_get(v));
    }
    ed_buf_free(&lab);
}

/* Per source: its watermark; per source partition (Kafka, from librdkafka's
 * statistics): offsets, lag and watermark. Figures not known yet (no
 * commit, no event time) have no sample. */
static void s_partitions(ed_plan_t *plan, ed_buf_t *b) {
    const ed_config_t *conf = ed_plan_config(plan);
    s_head(b, "eddy_source_watermark_seconds", "gauge",
           "The source's event-time watermark, Unix time: the lowest of its keyers', what its "
           "aggregators see (no sample before the first event time or after the input ended).");
    ed_buf_t lab = ED_BUF_INIT;
    for (int i = 0; i < conf->nsources; i++) {
        int64_t wm = ed_http_source_watermark(plan, i);
        if (wm == ED_WATERMARK_NONE || wm == ED_WATERMARK_END)
            continue;
        ed_buf_reset(&lab);
        s_label(&lab, "source", conf->sources[i].name);
        s_sec(b, "eddy_source_watermark_seconds", &lab, wm);
    }
    static const s_fam_t fams[] = {
        {"eddy_source_partition_lag_records", "gauge",
         "Records of the partition not committed yet: end offset - committed offset "
         "(librdkafka consumer_lag)."},
        {"eddy_source_partition_committed_offset", "gauge",
         "The consumer group's committed offset of the partition (where a restart reads)."},
        {"eddy_source_partition_read_offset", "gauge",
         "Offset of the last message of the partition handed to eddy + 1 (librdkafka "
         "app_offset)."},
        {"eddy_source_partition_end_offset", "gauge",
         "End offset of the partition on the broker (high watermark; last stable offset with "
         "isolation.level=read_committed)."},
        {"eddy_source_partition_watermark_seconds", "gauge",
         "The partition's event-time watermark, Unix time: its highest event time - "
         "max_out_of_orderness."},
    };
    ed_part_fig_t **v = ed_calloc((size_t)conf->nsources + 1, sizeof *v);
    int *n = ed_calloc((size_t)conf->nsources + 1, sizeof *n);
    for (int i = 0; i < conf->nsources; i++)
        n[i] = ed_http_source_parts(plan, i, &v[i], NULL);
    for (size_t f = 0; f < ED_ARRAY_SIZE(fams); f++) {
        s_head(b, fams[f].name, fams[f].type, fams[f].help);
        for (int i = 0; i < conf->nsources; i++)
            for (int j = 0; j < n[i]; j++) {
                const ed_part_fig_t *p = &v[i][j];
                int64_t x = f == 0 ? p->lag : f == 1 ? p->committed : f == 2 ? p->read
                          : f == 3 ? p->end : p->watermark_ms;
                if (f < 4 ? x < 0 : x == ED_WATERMARK_NONE)
                    continue;
                ed_buf_reset(&lab);
                s_label(&lab, "source", conf->sources[i].name);
                s_label(&lab, "topic", p->topic);
                char part[16];
                snprintf(part, sizeof part, "%d", (int)p->partition);
                s_label(&lab, "partition", part);
                if (f < 4)
                    s_u64(b, fams[f].name, &lab, (uint64_t)x);
                else
                    s_sec(b, fams[f].name, &lab, x);
            }
    }
    for (int i = 0; i < conf->nsources; i++)
        free(v[i]);
    free(v);
    free(n);
    ed_buf_free(&lab);
}

static void s_aggregators(ed_plan_t *plan, ed_buf_t *b, const char *name, const char *type,
                          const char *help, size_t off) {
    s_head(b, name, type, help);
    ed_buf_t lab = ED_BUF_INIT;
    for (int p = 0; p < ed_plan_naggs(plan); p++) {
        ed_buf_reset(&lab);
        char part[16];
        snprintf(part, sizeof part, "%d", p);
        s_label(&lab, "partition", part);
        const uint64_t *v = (const uint64_t *)((const char *)ed_plan_agg_stats(plan, p) + off);
        s_u64(b, name, &lab, ed_stat_get(v));
    }
    ed_buf_free(&lab);
}

/* Per aggregation: its `where:` counters. The window figures are per
 * aggregator (s_aggregators): the aggregator counts them over its windowed
 * aggregations. */
static void s_aggregations(ed_plan_t *plan, ed_buf_t *b) {
    const ed_config_t *conf = ed_plan_config(plan);
    static const struct {
        const char *name, *help;
        size_t off; /* in ed_where_stats_t */
    } fams[] = {
        {"eddy_aggregation_records_passed_total",
         "Records its where: filter let through (aggregations with a filter only).",
         offsetof(ed_where_stats_t, passed)},
        {"eddy_aggregation_records_filtered_total",
         "Records its where: filter left out (aggregations with a filter only).",
         offsetof(ed_where_stats_t, filtered)},
    };
    ed_buf_t lab = ED_BUF_INIT;
    for (size_t f = 0; f < ED_ARRAY_SIZE(fams); f++) {
        s_head(b, fams[f].name, "counter", fams[f].help);
        for (int a = 0; a < conf->naggregations; a++) {
            if (!conf->aggregations[a].where)
                continue;
            ed_buf_reset(&lab);
            s_label(&lab, "aggregation", conf->aggregations[a].name);
            const ed_where_stats_t *w = ed_plan_agg_where_stats(plan, a);
            uint64_t v = ed_stat_get((const uint64_t *)((const char *)w + fams[f].off));
            s_u64(b, fams[f].name, &lab, v);
        }
    }
    static const struct {
        const char *name, *help;
        size_t off;
        int sink_only;
    } lates[] = {
        {"eddy_aggregation_late_records_dropped_total",
         "Records too late for every window, dropped (late: drop).",
         offsetof(ed_agg_late_t, dropped), 0},
        {"eddy_aggregation_late_records_updated_total",
         "Records too late for at least one window, applied to it anyway (late: update).",
         offsetof(ed_agg_late_t, updated), 0},
        {"eddy_aggregation_late_records_routed_total",
         "Records too late for every window, sent unchanged to the late sink (aggregations "
         "with late: SINK only).",
         offsetof(ed_agg_late_t, routed), 1},
    };
    for (size_t f = 0; f < ED_ARRAY_SIZE(lates); f++) {
        s_head(b, lates[f].name, "counter", lates[f].help);
        for (int a = 0; a < conf->naggregations; a++) {
            const ed_conf_aggregation_t *ag = &conf->aggregations[a];
            if (ag->window.kind == ED_WIN_NONE ||
                (lates[f].sink_only && ag->window.late != ED_WLATE_SINK))
                continue;
            ed_buf_reset(&lab);
            s_label(&lab, "aggregation", ag->name);
            if (lates[f].sink_only)
                s_label(&lab, "sink", ag->window.late_sink);
            const uint64_t *v =
                (const uint64_t *)((const char *)ed_plan_agg_late(plan, a) + lates[f].off);
            s_u64(b, lates[f].name, &lab, ed_stat_get(v));
        }
    }
    ed_buf_free(&lab);
}

typedef enum { K_WRITTEN, K_REJECTED, K_STATEMENTS, K_RECONNECTS, K_RETRIES, K_FAILING,
               K_DURABLE, K_DURABLE_TS } s_sink_fig_t;

static const s_fam_t s_sink_fams[] = {
    [K_WRITTEN] = {"eddy_sink_rows_written_total", "counter", "Rows or records made durable."},
    [K_REJECTED] = {"eddy_sink_rows_rejected_total", "counter",
                    "Rows refused for good (counted, logged, routed; never retried)."},
    [K_STATEMENTS] = {"eddy_sink_statements_total", "counter",
                      "Statements, pipelined commands or produced messages sent."},
    [K_RECONNECTS] = {"eddy_sink_reconnects_total", "counter",
                      "Successful reconnects after a failure."},
    [K_RETRIES] = {"eddy_sink_retries_total", "counter",
                   "Write attempts that failed transiently and were retried."},
    [K_FAILING] = {"eddy_sink_failing_attempts", "gauge",
                   "Consecutive failed attempts of the oldest flush (0: healthy)."},
    [K_DURABLE] = {"eddy_sink_last_durable_checkpoint", "gauge",
                   "Number of the last checkpoint the sink made durable (0: none yet)."},
    [K_DURABLE_TS] = {"eddy_sink_last_durable_timestamp_seconds", "gauge",
                      "Unix time when the sink last made a checkpoint durable (0: never)."},
};

static void s_sinks(ed_plan_t *plan, ed_buf_t *b) {
    const ed_config_t *conf = ed_plan_config(plan);
    ed_buf_t *lab = ed_calloc((size_t)conf->nsinks + 1, sizeof *lab);
    for (int k = 0; k < conf->nsinks; k++)
        s_label(&lab[k], "sink", conf->sinks[k].name);
    for (size_t f = 0; f < ED_ARRAY_SIZE(s_sink_fams); f++) {
        const char *name = s_sink_fams[f].name;
        s_head(b, name, s_sink_fams[f].type, s_sink_fams[f].help);
        for (int k = 0; k < conf->nsinks; k++) {
            const ed_sink_stats_t *st = ed_plan_sink_stats(plan, k);
            const ed_sink_live_t *lv = ed_plan_sink_live(plan, k);
            switch ((s_sink_fig_t)f) {
            case K_WRITTEN: s_u64(b, name, &lab[k], ed_stat_get(&st->rows_written)); break;
            case K_REJECTED: s_u64(b, name, &lab[k], ed_stat_get(&st->rows_rejected)); break;
            case K_STATEMENTS: s_u64(b, name, &lab[k], ed_stat_get(&st->statements)); break;
            case K_RECONNECTS: s_u64(b, name, &lab[k], ed_stat_get(&st->reconnects)); break;
            case K_RETRIES: s_u64(b, name, &lab[k], ed_stat_get(&lv->retries)); break;
            case K_FAILING: s_u64(b, name, &lab[k], ed_stat_get(&lv->failing)); break;
            case K_DURABLE: s_u64(b, name, &lab[k], ed_stat_get(&lv->durable)); break;
            case K_DURABLE_TS:
                s_sec(b, name, &lab[k], ed_stat_get_i64(&lv->durable_wall_ms));
                break;
            }
        }
    }
    s_head(b, "eddy_sink_write_duration_seconds", "histogram",
           "Time of each successful write of a flush to the sink's server (1 ms resolution).");
    for (int k = 0; k < conf->nsinks; k++)
        s_hist(b, "eddy_sink_write_duration_seconds", &lab[k], &ed_plan_sink_live(plan, k)->write_ms);
    for (int k = 0; k < conf->nsinks; k++)
        ed_buf_free(&lab[k]);
    free(lab);
}

static void s_run(ed_plan_t *plan, ed_buf_t *b) {
    const ed_run_stats_t *run = ed_plan_run_stats(plan);
    s_head(b, "eddy_checkpoints_total", "counter",
           "Checkpoints completed: durable in every sink, input positions then committed.");
    s_u64(b, "eddy_checkpoints_total", NULL, ed_stat_get(&run->checkpoints));
    s_head(b, "eddy_last_checkpoint_timestamp_seconds", "gauge",
           "Unix time when the last checkpoint completed (0: none yet).");
    s_sec(b, "eddy_last_checkpoint_timestamp_seconds", NULL,
          ed_stat_get_i64(&run->durable_wall_ms));
    s_head(b, "eddy_checkpoint_duration_seconds", "histogram",
           "Time from the start of a checkpoint (barriers sent) to its completion (acked by "
           "every sink), 1 ms resolution.");
    s_hist(b, "eddy_checkpoint_duration_seconds", NULL, &run->checkpoint_ms);
    s_head(b, "eddy_end_to_end_latency_seconds", "histogram",
           "Time from an input's production (generator event time, Kafka message timestamp) "
           "to the moment its effect was durable in every sink, 1 ms resolution.");
    s_hist(b, "eddy_end_to_end_latency_seconds", NULL, &run->latency);
    int64_t start = ed_plan_start_ms(plan);
    s_head(b, "eddy_uptime_seconds", "gauge", "Time since the pipeline started.");
    s_sec(b, "eddy_uptime_seconds", NULL, start ? ed_now_ms() - start : 0);
}

void ed_metrics_write(ed_plan_t *plan, ed_buf_t *b) {
    s_actors(plan, b);
    s_sources(plan, b, "eddy_source_inputs_total",
              "Raw inputs read (messages, lines, generated events).",
              offsetof(ed_source_stats_t, inputs));
    s_sources(plan, b, "eddy_source_records_total", "Records decoded from the inputs.",
              offsetof(ed_source_stats_t, records));
    s_sources(plan, b, "eddy_source_rejected_total",
              "Inputs or records rejected (malformed, missing field): counted, logged, routed.",
              offsetof(ed_source_stats_t, rejected));
    s_sources(plan, b, "eddy_source_filtered_total",
              "Records dropped by the source's transforms (where, Lua returning nil).",
              offsetof(ed_source_stats_t, filtered));
    s_sources(plan, b, "eddy_source_commits_total", "Input position commits done.",
              offsetof(ed_source_stats_t, commits));
    s_partitions(plan, b);
    s_aggregators(plan, b, "eddy_aggregator_records_total", "counter",
                  "Keyed records applied to the aggregator's state.",
                  offsetof(ed_agg_stats_t, records));
    s_aggregators(plan, b, "eddy_aggregator_changes_total", "counter",
                  "Changelog rows emitted.", offsetof(ed_agg_stats_t, changes));
    s_aggregators(plan, b, "eddy_aggregator_alerts_total", "counter", "Alert records emitted.",
                  offsetof(ed_agg_stats_t, alerts));
    s_aggregators(plan, b, "eddy_aggregator_keys", "gauge",
                  "Distinct keys (per window) in the aggregator's state at its last flush.",
                  offsetof(ed_agg_stats_t, keys));
    s_aggregators(plan, b, "eddy_aggregator_state_bytes", "gauge",
                  "Bytes of the aggregator's state at its last flush.",
                  offsetof(ed_agg_stats_t, bytes));
    s_aggregators(plan, b, "eddy_aggregator_open_windows", "gauge",
                  "Windows holding state in the aggregator after its last flush, summed over "
                  "its windowed aggregations (sessions count one each).",
                  offsetof(ed_agg_stats_t, windows_open));
    s_aggregators(plan, b, "eddy_aggregator_windows_closed_total", "counter",
                  "Windows closed and freed: the watermark passed their end plus the allowed "
                  "lateness.",
                  offsetof(ed_agg_stats_t, windows_closed));
    s_aggregators(plan, b, "eddy_aggregator_late_records_dropped_total", "counter",
                  "Records too late for every window they belong to, dropped (late: drop).",
                  offsetof(ed_agg_stats_t, late_dropped));
    s_aggregators(plan, b, "eddy_aggregator_late_updates_total", "counter",
                  "Closed windows updated by a late record (late: update).",
                  offsetof(ed_agg_stats_t, late_updates));
    s_aggregators(plan, b, "eddy_aggregator_late_records_routed_total", "counter",
                  "Records too late for every window they belong to, sent unchanged to the "
                  "aggregation's late sink (late: SINK).",
                  offsetof(ed_agg_stats_t, late_routed));
    s_aggregations(plan, b);
    s_sinks(plan, b);
    s_run(plan, b);
}
