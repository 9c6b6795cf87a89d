/* ed_http_pipeline.c — see ed_http_pipeline.h. */
#define _GNU_SOURCE
#include "actors/http/ed_http_pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/http/ed_metrics.h"
#include "actors/sources/ed_watermark.h"
#include "runtime/ed_common.h"

static void s_str(ed_buf_t *b, const char *s) { ed_buf_json_str(b, s, strlen(s)); }

/* A copy of sink k's last error (taken under its lock). */
static void s_last_err(ed_plan_t *plan, int k, char *out, size_t size) {
    ed_sink_live_t *lv = ed_plan_sink_live(plan, k);
    pthread_mutex_lock(&lv->lock);
    snprintf(out, size, "%s", lv->last_err);
    pthread_mutex_unlock(&lv->lock);
}

int ed_http_readiness(ed_plan_t *plan, ed_buf_t *b) {
    const ed_config_t *conf = ed_plan_config(plan);
    uint64_t ckpt = ed_stat_get(&ed_plan_run_stats(plan)->checkpoints);
    ed_buf_t why = ED_BUF_INIT, sinks = ED_BUF_INIT;
    char err[512];
    for (int k = 0; k < conf->nsinks; k++) {
        const ed_sink_live_t *lv = ed_plan_sink_live(plan, k);
        uint64_t failing = ed_stat_get(&lv->failing), durable = ed_stat_get(&lv->durable);
        s_last_err(plan, k, err, sizeof err);
        if (failing && !why.len)
            ed_buf_printf(&why, "sink '%s' cannot write (%llu failed attempts): %s",
                          conf->sinks[k].name, (unsigned long long)failing, err);
        ed_buf_puts(&sinks, k ? "," : "");
        s_str(&sinks, conf->sinks[k].name);
        ed_buf_printf(&sinks, ":{\"last_durable_checkpoint\":%llu,\"failing_attempts\":%llu,"
                              "\"last_error\":",
                      (unsigned long long)durable, (unsigned long long)failing);
        s_str(&sinks, err);
        ed_buf_puts(&sinks, "}");
    }
    if (!why.len && ckpt == 0) {
        ed_buf_puts(&why, "no checkpoint is durable in every sink yet");
        int n = 0;
        for (int k = 0; k < conf->nsinks; k++)
            if (ed_stat_get(&ed_plan_sink_live(plan, k)->durable) == 0)
                ed_buf_printf(&why, "%s'%s'", n++ ? ", " : " (waiting for sink ",
                              conf->sinks[k].name);
        if (n)
            ed_buf_puts(&why, ")");
    }
    int ready = why.len == 0;
    ed_buf_printf(b, "{\"ready\":%s,\"reason\":", ready ? "true" : "false");
    s_str(b, ready ? "" : why.data);
    ed_buf_printf(b, ",\"checkpoints\":%llu,\"sinks\":{%s}}", (unsigned long long)ckpt,
                  sinks.data ? sinks.data : "");
    ed_buf_free(&why);
    ed_buf_free(&sinks);
    return ready;
}

static const char *const s_link_kinds[] = {"inputs", "keyed", "records", "rejects", "changes",
                                           "alerts"};

/* "actors": the runtime's actors with their live figures and outgoing links. */
static void s_actors_json(ed_plan_t *plan, ed_buf_t *b) {
    ed_runtime_t *rt = ed_plan_runtime(plan);
    int64_t now = ed_now_ms();
    ed_buf_puts(b, "\"actors\":[");
    for (int i = 0; i < ed_runtime_nactors(rt); i++) {
        ed_actor_stats_t a;
        ed_runtime_actor_stats(rt, (uint32_t)i, now, &a);
        ed_buf_printf(b, "%s{\"id\":%d,\"name\":", i ? "," : "", i);
        s_str(b, ed_runtime_actor_name(rt, (uint32_t)i));
        ed_buf_puts(b, ",\"kind\":");
        s_str(b, ed_runtime_actor_type(rt, (uint32_t)i));
        ed_buf_printf(b,
                      ",\"worker\":%d,\"messages_in\":%llu,\"messages_out\":%llu,"
                      "\"records_in\":%llu,\"records_out\":%llu,\"mailbox\":%llu,"
                      "\"blocked\":%s,\"backpressure_ms\":%llu,\"restarts\":%llu,\"to\":[",
                      a.worker, (unsigned long long)a.msgs_in, (unsigned long long)a.msgs_out,
                      (unsigned long long)a.records_in, (unsigned long long)a.records_out,
                      (unsigned long long)a.mailbox, a.blocked ? "true" : "false",
                      (unsigned long long)a.blocked_ms, (unsigned long long)a.restarts);
        const ed_plan_link_t *links;
        int nl = ed_plan_receivers(plan, (uint32_t)i, &links);
        for (int l = 0; l < nl; l++) {
            ed_buf_printf(b, "%s{\"to\":%u,\"kinds\":[", l ? "," : "", links[l].to);
            for (size_t k = 0, n = 0; k < ED_ARRAY_SIZE(s_link_kinds); k++)
                if (links[l].kinds & (1u << k))
                    ed_buf_printf(b, "%s\"%s\"", n++ ? "," : "", s_link_kinds[k]);
            ed_buf_puts(b, "]}");
        }
        ed_buf_puts(b, "]}");
    }
    ed_buf_puts(b, "]");
}

int64_t ed_http_source_watermark(ed_plan_t *plan, int i) {
    if (!ed_plan_config(plan)->sources[i].time_field)
        return ED_WATERMARK_NONE;
    int64_t low = ED_WATERMARK_END;
    for (int a = 0; a < ed_plan_nsources(plan); a++)
        if (ed_plan_source_config(plan, a) == i) {
            int64_t w = ed_stat_get_i64(ed_plan_watermark_cell(plan, ed_plan_source_id(plan, a)));
            low = w < low ? w : low;
        }
    for (int d = 0; d < ed_plan_ndecoders(plan); d++)
        if (ed_plan_source_config(plan, ed_plan_decoder_source(plan, d)) == i) {
            int64_t w = ed_stat_get_i64(ed_plan_watermark_cell(plan, ed_plan_decoder_id(plan, d)));
            low = w < low ? w : low;
        }
    return low;
}

static int s_part_cmp(const void *a, const void *b) {
    const ed_part_fig_t *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    if (c)
        return c;
    if (x->partition != y->partition)
        return x->partition < y->partition ? -1 : 1;
    return x->read > y->read ? -1 : x->read < y->read; /* the one read further first */
}

/* Appends the table of `cell` to *v (n, cap); returns its publish time. */
static int64_t s_take_cell(ed_part_cell_t *cell, ed_part_fig_t **v, int *n, int *cap) {
    ed_part_fig_t *c;
    int64_t at = 0;
    int m = ed_part_cell_copy(cell, &c, &at);
    if (*n + m > *cap) {
        *cap = *n + m;
        *v = ed_realloc(*v, sizeof **v * (size_t)*cap);
    }
    if (m)
        memcpy(*v + *n, c, sizeof *c * (size_t)m);
    *n += m;
    free(c);
    return at;
}

/* Lowers w to the watermark of (topic, partition) in the keyer tables
 * wm[nwm] (with decoders: N each decoder has its own), if it is there. */
static int64_t s_part_wm(const ed_part_fig_t *wm, int nwm, const char *topic, int32_t partition,
                         int64_t w) {
    for (int j = 0; j < nwm; j++)
        if (wm[j].partition == partition && !strcmp(wm[j].topic, topic) &&
            (w == ED_WATERMARK_NONE || wm[j].watermark_ms < w))
            w = wm[j].watermark_ms;
    return w;
}

int ed_http_source_parts(ed_plan_t *plan, int i, ed_part_fig_t **out, int64_t *at_ms) {
    ed_part_fig_t *v = NULL, *wm = NULL;
    int n = 0, cap = 0, nwm = 0, capwm = 0;
    int64_t at = 0;
    for (int a = 0; a < ed_plan_nsources(plan); a++) {
        if (ed_plan_source_config(plan, a) != i)
            continue;
        uint32_t id = ed_plan_source_id(plan, a);
        int64_t t = s_take_cell(ed_plan_parts_cell(plan, id, ED_PARTS_OFFSETS), &v, &n, &cap);
        at = t > at ? t : at;
        s_take_cell(ed_plan_parts_cell(plan, id, ED_PARTS_WATERMARKS), &wm, &nwm, &capwm);
    }
    for (int d = 0; d < ed_plan_ndecoders(plan); d++)
        if (ed_plan_source_config(plan, ed_plan_decoder_source(plan, d)) == i)
            s_take_cell(ed_plan_parts_cell(plan, ed_plan_decoder_id(plan, d), ED_PARTS_WATERMARKS),
                        &wm, &nwm, &capwm);
    if (n > 1)
        qsort(v, (size_t)n, sizeof *v, s_part_cmp);
    int m = 0;
    for (int j = 0; j < n; j++) {
        if (m && !strcmp(v[m - 1].topic, v[j].topic) && v[m - 1].partition == v[j].partition)
            continue; /* reported by two instances: the first read further */
        v[m] = v[j];
        v[m].watermark_ms = s_part_wm(wm, nwm, v[m].topic, v[m].partition, ED_WATERMARK_NONE);
        m++;
    }
    free(wm);
    if (!m) {
        free(v);
        v = NULL;
    }
    *out = v;
    if (at_ms)
        *at_ms = at;
    return m;
}

/* A figure, or null when not known (-1). */
static void s_fig(ed_buf_t *b, const char *name, int64_t v) {
    if (v < 0)
        ed_buf_printf(b, ",\"%s\":null", name);
    else
        ed_buf_printf(b, ",\"%s\":%lld", name, (long long)v);
}

/* "partitions" of config source i (ed_http_source_parts). */
static void s_parts_json(ed_plan_t *plan, int i, ed_buf_t *b) {
    ed_part_fig_t *v;
    int64_t at;
    int n = ed_http_source_parts(plan, i, &v, &at);
    ed_buf_puts(b, ",\"partitions\":[");
    for (int j = 0; j < n; j++) {
        ed_buf_puts(b, j ? ",{\"topic\":" : "{\"topic\":");
        s_str(b, v[j].topic);
        ed_buf_printf(b, ",\"partition\":%d", (int)v[j].partition);
        s_fig(b, "committed_offset", v[j].committed);
        s_fig(b, "read_offset", v[j].read);
        s_fig(b, "end_offset", v[j].end);
        s_fig(b, "lag_records", v[j].lag);
        if (v[j].watermark_ms == ED_WATERMARK_NONE)
            ed_buf_puts(b, ",\"watermark_ms\":null}");
        else
            ed_buf_printf(b, ",\"watermark_ms\":%lld}", (long long)v[j].watermark_ms);
    }
    ed_buf_printf(b, "],\"partitions_unix_ms\":%lld", (long long)at);
    free(v);
}

/* "aggregations" and "sinks": what the config says, and per sink its live
 * delivery figures. */
static void s_config_json(ed_plan_t *plan, ed_buf_t *b) {
    const ed_config_t *conf = ed_plan_config(plan);
    ed_buf_puts(b, ",\"sources\":[");
    for (int i = 0; i < conf->nsources; i++) {
        ed_buf_printf(b, "%s{\"name\":", i ? "," : "");
        s_str(b, conf->sources[i].name);
        ed_buf_puts(b, ",\"type\":");
        s_str(b, conf->sources[i].type->name);
        ed_buf_printf(b, ",\"instances\":%d,\"decoders\":%d", conf->sources[i].instances,
                      conf->sources[i].decoders);
        int64_t wm = ed_http_source_watermark(plan, i);
        if (wm == ED_WATERMARK_NONE || wm == ED_WATERMARK_END)
            ed_buf_printf(b, ",\"watermark_ms\":null,\"lag_ms\":null,\"input_ended\":%s",
                          wm == ED_WATERMARK_END ? "true" : "false");
        else
            ed_buf_printf(b, ",\"watermark_ms\":%lld,\"lag_ms\":%lld,\"input_ended\":false",
                          (long long)wm, (long long)(ed_wall_ms() - wm));
        s_parts_json(plan, i, b);
        ed_buf_puts(b, "}");
    }
    ed_buf_puts(b, "],\"aggregations\":[");
    for (int a = 0; a < conf->naggregations; a++) {
        const ed_conf_aggregation_t *ag = &conf->aggregations[a];
        ed_buf_printf(b, "%s{\"name\":", a ? "," : "");
        s_str(b, ag->name);
        ed_buf_puts(b, ",\"from\":");
        s_str(b, ag->from);
        ed_buf_puts(b, ",\"key\":[");
        for (int k = 0; k < ag->nkey; k++) {
            ed_buf_puts(b, k ? "," : "");
            s_str(b, ag->key[k].column);
        }
        ed_buf_puts(b, "],\"to\":[");
        for (int t = 0; t < ag->nto; t++) {
            ed_buf_puts(b, t ? "," : "");
            s_str(b, ag->to[t]);
        }
        ed_buf_puts(b, "]}");
    }
    ed_buf_puts(b, "],\"sinks\":[");
    char err[512];
    for (int k = 0; k < conf->nsinks; k++) {
        const ed_sink_live_t *lv = ed_plan_sink_live(plan, k);
        ed_buf_printf(b, "%s{\"name\":", k ? "," : "");
        s_str(b, conf->sinks[k].name);
        ed_buf_puts(b, ",\"type\":");
        s_str(b, conf->sinks[k].type->name);
        ed_buf_printf(b,
                      ",\"actor\":%u,\"writes\":%llu,\"retries\":%llu,\"failing_attempts\":%llu,"
                      "\"last_durable_checkpoint\":%llu,\"last_durable_unix_ms\":%lld,"
                      "\"write_ms_p50\":%lld,\"write_ms_p99\":%lld,\"last_error\":",
                      ed_plan_sink_id(plan, k), (unsigned long long)ed_stat_get(&lv->writes),
                      (unsigned long long)ed_stat_get(&lv->retries),
                      (unsigned long long)ed_stat_get(&lv->failing),
                      (unsigned long long)ed_stat_get(&lv->durable),
                      (long long)ed_stat_get_i64(&lv->durable_wall_ms),
                      (long long)ed_hist_percentile(&lv->write_ms, 50),
                      (long long)ed_hist_percentile(&lv->write_ms, 99));
        s_last_err(plan, k, err, sizeof err);
        s_str(b, err);
        ed_buf_puts(b, "}");
    }
    ed_buf_puts(b, "]");
}

void ed_http_pipeline_json(ed_plan_t *plan, ed_buf_t *b) {
    const ed_config_t *conf = ed_plan_config(plan);
    const ed_conf_runtime_t *rt = &conf->runtime;
    ed_buf_puts(b, "{\"pipeline\":");
    s_str(b, conf->path);
    ed_buf_printf(b,
                  ",\"runtime\":{\"workers\":%d,\"aggregators\":%d,\"flush_interval_ms\":%lld,"
                  "\"mailbox_hwm\":%d,\"max_inflight\":%d},\"readiness\":",
                  rt->workers, ed_plan_naggs(plan), (long long)rt->flush_interval_ms,
                  rt->mailbox_hwm, rt->max_inflight);
    ed_http_readiness(plan, b);
    ed_buf_puts(b, ",");
    s_actors_json(plan, b);
    s_config_json(plan, b);
    /* The same object `eddy run --stats` writes at exit, live. */
    char *stats = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&stats, &n);
    if (f) {
        ed_plan_stats_json(plan, f);
        fclose(f);
    }
    ed_buf_puts(b, ",\"stats\":");
    ed_buf_puts(b, stats && n ? stats : "null");
    free(stats);
    ed_buf_puts(b, "}\n");
}

/* ---- handlers ---- */

static void s_healthz(void *ud, const ed_http_req_t *req, ed_http_resp_t *resp) {
    ed_buf_puts(&resp->body, "ok\n");
}

static void s_readyz(void *ud, const ed_http_req_t *req, ed_http_resp_t *resp) {
    resp->content_type = "application/json";
    if (!ed_http_readiness(ud, &resp->body))
        resp->status = 503;
    ed_buf_puts(&resp->body, "\n");
}

static void s_metrics(void *ud, const ed_http_req_t *req, ed_http_resp_t *resp) {
    resp->content_type = ED_METRICS_CONTENT_TYPE;
    ed_metrics_write(ud, &resp->body);
}

static void s_pipeline(void *ud, const ed_http_req_t *req, ed_http_resp_t *resp) {
    resp->content_type = "application/json";
    ed_http_pipeline_json(ud, &resp->body);
}

int ed_http_pipeline_routes(ed_http_t *h, ed_plan_t *plan) {
    if (ed_http_route(h, "/healthz", s_healthz, plan) < 0 ||
        ed_http_route(h, "/readyz", s_readyz, plan) < 0 ||
        ed_http_route(h, "/metrics", s_metrics, plan) < 0 ||
        ed_http_route(h, "/v1/pipeline", s_pipeline, plan) < 0)
        return ED_EINVAL;
    return 0;
}
