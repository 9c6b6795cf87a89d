/* ed_plan_print.c — `eddy check`'s description of a plan (ed_plan_print,
 * see ed_plan.h): read through the plan's accessors. */
#define _GNU_SOURCE
#include "actors/ed_plan.h"

#include <stdio.h>
#include <string.h>

#include "actors/aggregate/ed_aggwin.h"
#include "actors/aggregate/ed_state_store.h"
#include "actors/decode/ed_transform.h"
#include "actors/decode/ed_where.h"
#include "runtime/ed_buf.h"

static const char *s_fmt(ed_format_t f) {
    return f == ED_FMT_WORDS ? "words" : f == ED_FMT_JSON ? "json" : f == ED_FMT_AVRO ? "avro" : "lines";
}

/* "1 source", "3 sources". */
static void s_count(ed_buf_t *b, int n, const char *one, const char *many) {
    ed_buf_printf(b, "%d %s", n, n == 1 ? one : many);
}

/* What sends to sink k, for the plan: "the changelog of a, alerts of b". */
static void s_sink_feeds(const ed_config_t *conf, int k, ed_buf_t *b) {
    const char *name = conf->sinks[k].name;
    int n = 0;
    for (int a = 0; a < conf->naggregations; a++) {
        for (int t = 0; t < conf->aggregations[a].nto; t++)
            if (conf->aggregations[a].to_idx[t] == k)
                ed_buf_printf(b, "%sthe changelog of %s", n++ ? ", " : "",
                              conf->aggregations[a].name);
        if (conf->aggregations[a].window.late_idx == k)
            ed_buf_printf(b, "%stoo-late records of %s", n++ ? ", " : "",
                          conf->aggregations[a].name);
    }
    for (int r = 0; r < conf->nalerts; r++)
        for (int t = 0; t < conf->alerts[r].nto; t++)
            if (conf->alerts[r].to_idx[t] == k)
                ed_buf_printf(b, "%salerts of %s", n++ ? ", " : "", conf->alerts[r].name);
    for (int i = 0; i < conf->nsources; i++) {
        const ed_conf_source_t *s = &conf->sources[i];
        for (int t = 0; t < s->nto; t++)
            if (!strcmp(s->to[t], name))
                ed_buf_printf(b, "%srecords of %s", n++ ? ", " : "", s->name);
        if (s->rejects && !strcmp(s->rejects, name))
            ed_buf_printf(b, "%srejects of %s", n++ ? ", " : "", s->name);
    }
}

void ed_plan_print(const ed_plan_t *plan, FILE *out) {
    const ed_config_t *conf = ed_plan_config(plan);
    const ed_conf_runtime_t *rt = &conf->runtime;
    char flush[32];
    ed_conf_fmt_ms(flush, sizeof flush, rt->flush_interval_ms);
    ed_buf_t b = ED_BUF_INIT;
    s_count(&b, rt->workers, "worker", "workers");
    ed_buf_puts(&b, " (and one I/O thread per sink), ");
    s_count(&b, ed_plan_naggs(plan), "aggregator partition", "aggregator partitions");
    ed_buf_printf(&b, ", a flush every %s, mailboxes of %d messages, at most ", flush,
                  rt->mailbox_hwm);
    s_count(&b, rt->max_inflight, "flush", "flushes");
    fprintf(out, "pipeline %s\n  runtime: %s in flight\n", conf->path, b.data);
    const ed_conf_http_t *h = &rt->http;
    if (h->enabled) /* never the token itself */
        fprintf(out, "  http: %s (%s%s%s)\n", h->listen,
                h->loopback ? "loopback" : "remote allowed",
                h->token ? ", bearer token from " : "",
                h->token ? (h->token_file ? h->token_file : "the environment") : "");
    ed_buf_reset(&b);
    ed_buf_puts(&b, "1 coordinator, ");
    s_count(&b, ed_plan_nsources(plan), "source actor", "source actors");
    if (ed_plan_ndecoders(plan)) {
        ed_buf_puts(&b, ", ");
        s_count(&b, ed_plan_ndecoders(plan), "decoder", "decoders");
    }
    ed_buf_puts(&b, ", ");
    s_count(&b, ed_plan_naggs(plan), "aggregator", "aggregators");
    ed_buf_puts(&b, ", ");
    s_count(&b, conf->nsinks, "sink", "sinks");
    fprintf(out, "  actors: %s\n", b.data);
    if (ed_plan_state(plan)) {
        char from[96];
        ed_state_store_restored(ed_plan_state(plan), from, sizeof from);
        fprintf(out, "  state: snapshots in %s at every checkpoint; restores %s\n",
                rt->state_dir, from);
    } else if (ed_plan_naggs(plan)) {
        fprintf(out, "  state: in memory only (no runtime.state_dir): a restart starts every "
                     "aggregation empty\n");
    }
    for (int i = 0; i < conf->nsources; i++) {
        const ed_conf_source_t *s = &conf->sources[i];
        ed_buf_reset(&b);
        ed_conf_plugin_describe(s->type, s->opts, &b);
        fprintf(out, "  source %s: %s", s->name, s->type->name);
        if (s->instances > 1)
            fprintf(out, " ×%d instances", s->instances);
        fprintf(out, "%s%s", b.len ? " " : "", b.len ? b.data : "");
        if (s->type->caps & ED_CAP_PAYLOAD)
            fprintf(out, ", format %s", s_fmt(s->format));
        if (s->format == ED_FMT_AVRO && s->schema_file && s->framing)
            fprintf(out, " (schema %s, Confluent framing, schema id %d)", s->schema_file,
                    s->schema_id);
        else if (s->format == ED_FMT_AVRO && s->schema_file)
            fprintf(out, " (schema %s, no framing)", s->schema_file);
        if (s->time_field)
            fprintf(out, ", event time from %s (watermark: max_out_of_orderness %lldms, "
                         "idle_timeout %lldms)",
                    s->time_field, (long long)s->time_max_ooo_ms,
                    (long long)s->time_idle_timeout_ms);
        if (s->decoders)
            fprintf(out, ", decoded by %d decoder actors%s", s->decoders,
                    s->instances > 1 ? " per instance" : "");
        if (s->transforms) {
            fprintf(out, ", transforms:");
            for (int x = 0; x < s->transforms->n; x++)
                fprintf(out, "%s%s", x ? ", " : " ",
                        ed_transform_kind_name(s->transforms->steps[x].kind));
        }
        for (int t = 0; t < s->nto; t++)
            fprintf(out, "%s%s", t ? ", " : " -> records to ", s->to[t]);
        if (s->rejects)
            fprintf(out, "; rejects -> %s", s->rejects);
        fprintf(out, "\n");
    }
    for (int a = 0; a < conf->naggregations; a++) {
        const ed_conf_aggregation_t *ag = &conf->aggregations[a];
        fprintf(out, "  aggregation %s: from %s", ag->name, ag->from);
        if (ag->where)
            fprintf(out, " where %s", ed_where_text(ag->where));
        fprintf(out, ", key (");
        for (int k = 0; k < ag->nkey; k++)
            fprintf(out, "%s%s=%s", k ? ", " : "", ag->key[k].column, ag->key[k].field);
        fprintf(out, "), compute (");
        for (int c = 0; c < ag->ncompute; c++)
            fprintf(out, "%s%s=%s(%s)", c ? ", " : "", ag->compute[c].name, ag->compute[c].fn->name,
                    ag->compute[c].field ? ag->compute[c].field : "");
        fprintf(out, "), ");
        ed_aggwin_describe(ag, out);
        fprintf(out, ", keys spread over %d aggregator partition%s -> ", ed_plan_naggs(plan),
                ed_plan_naggs(plan) == 1 ? "" : "s");
        for (int t = 0; t < ag->nto; t++)
            fprintf(out, "%s%s", t ? ", " : "", ag->to[t]);
        fprintf(out, "%s\n", ag->nto ? "" : "(no sink: watched by alerts only)");
    }
    for (int r = 0; r < conf->nalerts; r++) {
        const ed_conf_alert_t *al = &conf->alerts[r];
        if (al->source_idx >= 0)
            fprintf(out, "  alert %s: every record of source %s where %s -> ", al->name, al->on,
                    ed_where_text(al->where));
        else
            fprintf(out, "  alert %s: on %s when %s (%s) -> ", al->name, al->on, al->when,
                    conf->aggregations[al->on_idx].window.kind == ED_WIN_NONE
                        ? "once per key per crossing"
                    : conf->aggregations[al->on_idx].window.emit == ED_EMIT_ON_CLOSE
                        ? "once per key and window, when it closes"
                        : "once per key and window, at the first flush it holds");
        for (int t = 0; t < al->nto; t++)
            fprintf(out, "%s%s", t ? ", " : "", al->to[t]);
        fprintf(out, "\n");
    }
    for (int k = 0; k < conf->nsinks; k++) {
        const ed_conf_sink_t *s = &conf->sinks[k];
        ed_buf_reset(&b);
        ed_conf_plugin_describe(s->type, s->opts, &b);
        fprintf(out, "  sink %s: %s%s%s", s->name, s->type->name, b.len ? " " : "",
                b.len ? b.data : "");
        ed_buf_reset(&b);
        s_sink_feeds(conf, k, &b);
        fprintf(out, "; receives %s; delivery: %s\n", b.data ? b.data : "nothing",
                conf->runtime.delivery == ED_DELIVERY_EXACTLY_ONCE
                    ? "exactly_once (checkpoint id and input positions stored with each flush)"
                    : "at_least_once");
    }
    ed_buf_free(&b);
}
