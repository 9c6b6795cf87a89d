/*
 * ed_conf_graph.c — the rules that need the whole pipeline: what feeds
 * each sink against what its type takes (ED_CAP_*), the sink type's link
 * with the aggregation that feeds it, and where `decoders` make sense.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/ed_conf_sections.h"
#include "runtime/ed_common.h"

static int s_has_idx(const int *idx, int n, int want) {
    for (int i = 0; idx && i < n; i++)
        if (idx[i] == want)
            return 1;
    return 0;
}

static int s_has_name(char *const *names, int n, const char *want) {
    for (int i = 0; i < n; i++)
        if (names[i] && !strcmp(names[i], want))
            return 1;
    return 0;
}

/* "a kafka or null sink": the sink types with capability cap. */
static void s_sinks_with(ed_buf_t *b, const ed_conf_registry_t *reg, unsigned cap) {
    const char *names[64];
    int n = 0;
    for (int i = 0; i < reg->nsinks && n < 64; i++)
        if ((reg->sinks[i]->caps & cap) && !(reg->sinks[i]->caps & ED_CAP_PLANNED))
            names[n++] = reg->sinks[i]->name;
    ed_buf_puts(b, n ? "a " : "no sink");
    for (int i = 0; i < n; i++)
        ed_buf_printf(b, "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ", names[i]);
    if (n)
        ed_buf_puts(b, " sink");
}

/* What a type takes, in a message: "takes changelog rows only". */
static const char *s_takes(unsigned caps) {
    if ((caps & (ED_CAP_RECORDS | ED_CAP_ALERTS)) == 0)
        return "takes changelog rows only";
    if ((caps & (ED_CAP_CHANGELOG | ED_CAP_CHANGELOGS)) == 0)
        return "takes records only";
    return "does not take these";
}

/* `decoders: N` only helps a source whose inputs are decoded and keyed for
 * some aggregation or per-record alert; anywhere else it would be silently
 * ignored. */
static void s_check_decoders(ed_conf_state_t *st) {
    ed_conf_ctx_t *cx = st->cx;
    const ed_config_t *c = ed_conf_ctx_conf(cx);
    for (int i = 0; i < c->nsources; i++) {
        const ed_conf_source_t *s = &c->sources[i];
        if (!s->decoders || st->src_bad[i])
            continue;
        int read = 0, unsure = 0;
        for (int a = 0; a < c->naggregations; a++) {
            read |= c->aggregations[a].from_idx == i;
            unsure |= c->aggregations[a].from_idx < 0;
        }
        for (int r = 0; r < c->nalerts; r++)
            read |= c->alerts[r].source_idx == i;
        read |= s->transforms && s->nto; /* transformed pass-through records */
        if (!read && !unsure)
            ed_conf_err_pos(cx, &s->decoders_pos,
                            "source '%s' has 'decoders: %d' but no aggregation, per-record "
                            "alert or transform reads it; decoder actors decode and key records "
                            "for them (pass-through records without transforms are not "
                            "decoded): remove 'decoders'",
                            s->name, s->decoders);
        else if (!(s->type->caps & ED_CAP_PAYLOAD))
            ed_conf_err_pos(cx, &s->decoders_pos,
                            "source '%s' is a %s source, whose events need no decoding; remove "
                            "'decoders' (use 'instances' to generate in parallel)",
                            s->name, s->type->name);
    }
}

/* The sink type's link with the one aggregation feeding sink i. */
static void s_link(ed_conf_state_t *st, int i, const ed_conf_aggregation_t *a) {
    ed_conf_ctx_t *cx = st->cx;
    ed_conf_sink_t *s = &ed_conf_ctx_conf(cx)->sinks[i];
    ed_conf_check_t ck;
    ed_conf_check_setup(&ck, cx, NULL, s, st->sinkn[i].kn, st->sinkn[i].body, st->sinkn[i].block);
    s->type->link(&ck, s->opts, a);
}

static void s_link_sinks(ed_conf_state_t *st) {
    ed_conf_ctx_t *cx = st->cx;
    const ed_conf_registry_t *reg = ed_conf_ctx_registry(cx);
    ed_config_t *c = ed_conf_ctx_conf(cx);
    for (int i = 0; i < c->nsinks; i++) {
        ed_conf_sink_t *s = &c->sinks[i];
        int naggs = 0, agg1 = -1, agg2 = -1, nalerts = 0, alert1 = -1, nsrcs = 0, src1 = -1;
        int feeder_bad = 0, windowed = -1, nlate = 0, late1 = -1;
        for (int j = 0; j < c->naggregations; j++) {
            if (!s_has_idx(c->aggregations[j].to_idx, c->aggregations[j].nto, i))
                continue;
            feeder_bad |= st->agg_bad[j];
            if (c->aggregations[j].window.kind != ED_WIN_NONE && windowed < 0)
                windowed = j;
            if (!naggs++)
                agg1 = j;
            else if (agg2 < 0)
                agg2 = j;
        }
        for (int j = 0; j < c->nalerts; j++)
            if (s_has_idx(c->alerts[j].to_idx, c->alerts[j].nto, i) && !nalerts++)
                alert1 = j;
        for (int j = 0; j < c->naggregations; j++)
            if (c->aggregations[j].window.late == ED_WLATE_SINK &&
                c->aggregations[j].window.late_idx == i && !nlate++)
                late1 = j;
        for (int j = 0; j < c->nsources; j++) {
            const ed_conf_source_t *src = &c->sources[j];
            if ((s_has_name(src->to, src->nto, s->name) ||
                 (src->rejects && !strcmp(src->rejects, s->name))) &&
                !nsrcs++)
                src1 = j;
        }
        s->nfeeds = naggs + nalerts + nsrcs + nlate;
        if (!s->nfeeds) {
            if (!st->refs_bad)
                ed_conf_err_pos(cx, &s->pos,
                                "sink '%s' is not used by any aggregation, alert or source; "
                                "expected it in a 'to:' (or 'rejects:', or a window's "
                                "'late:') list, or remove it",
                                s->name);
            continue;
        }
        if (!s->type || st->sink_bad[i])
            continue;
        unsigned caps = s->type->caps;
        const char *kind = s->type->name;
        ed_buf_t b = ED_BUF_INIT;
        if (nalerts && !(caps & ED_CAP_ALERTS)) {
            s_sinks_with(&b, reg, ED_CAP_ALERTS);
            ed_conf_err_pos(cx, &s->pos,
                            "%s sink '%s' %s, but alert '%s' sends to it; expected alerts to go "
                            "to %s",
                            kind, s->name, s_takes(caps), c->alerts[alert1].name, b.data);
        } else if (nsrcs && !(caps & ED_CAP_RECORDS)) {
            const ed_conf_source_t *src = &c->sources[src1];
            int rej = src->rejects && !strcmp(src->rejects, s->name);
            s_sinks_with(&b, reg, ED_CAP_RECORDS);
            ed_conf_err_pos(cx, &s->pos,
                            "%s sink '%s' %s, but source '%s' sends %s to it; expected %s to go "
                            "to %s",
                            kind, s->name, s_takes(caps), src->name, rej ? "rejects" : "records",
                            rej ? "rejects" : "pass-through records", b.data);
        } else if (nlate && !(caps & ED_CAP_RECORDS)) {
            const ed_conf_aggregation_t *a = &c->aggregations[late1];
            s_sinks_with(&b, reg, ED_CAP_RECORDS);
            ed_conf_err_pos(cx, &a->window.late_pos,
                            "'late: %s' in window of aggregation '%s': %s sink '%s' %s, but "
                            "too-late records go to it unchanged; expected a sink that takes "
                            "records (a dead-letter topic): %s",
                            s->name, a->name, kind, s->name, s_takes(caps), b.data);
        } else if (naggs && !(caps & (ED_CAP_CHANGELOG | ED_CAP_CHANGELOGS))) {
            s_sinks_with(&b, reg, ED_CAP_CHANGELOG);
            ed_conf_err_pos(cx, &s->pos,
                            "%s sink '%s' %s, but aggregation '%s' sends its changelog to it; "
                            "expected changelogs to go to %s",
                            kind, s->name, s_takes(caps), c->aggregations[agg1].name, b.data);
        } else if (naggs > 1 && !(caps & ED_CAP_CHANGELOGS)) {
            ed_conf_err_pos(cx, &s->pos,
                            "%s sink '%s' is fed by aggregations '%s' and '%s'; define one sink "
                            "per aggregation",
                            kind, s->name, c->aggregations[agg1].name,
                            c->aggregations[agg2].name);
        } else if (windowed >= 0 && !(caps & ED_CAP_WINDOWS)) {
            s_sinks_with(&b, reg, ED_CAP_WINDOWS);
            ed_conf_err_pos(cx, &s->pos,
                            "%s sink '%s' cannot take windowed rows, but windowed aggregation "
                            "'%s' sends its changelog to it; expected windowed changelogs to go "
                            "to %s",
                            kind, s->name, c->aggregations[windowed].name, b.data);
        } else if (!naggs && !nlate && !(caps & (ED_CAP_RECORDS | ED_CAP_ALERTS))) {
            ed_conf_err_pos(cx, &s->pos,
                            "%s sink '%s' is not fed by any aggregation; expected exactly one "
                            "aggregation with '%s' in its 'to'",
                            kind, s->name, s->name);
        } else {
            /* Several aggregations may share a sink that takes them all; then
             * no single one feeds it and each changelog row names its
             * aggregation. */
            s->from_agg = naggs == 1 ? agg1 : -1;
            if (naggs == 1 && s->type->link && !feeder_bad)
                s_link(st, i, &c->aggregations[agg1]);
            if ((nsrcs || nalerts || nlate) && s->type->link_records) {
                ed_conf_check_t ck;
                ed_conf_check_setup(&ck, cx, NULL, s, st->sinkn[i].kn, st->sinkn[i].body,
                                    st->sinkn[i].block);
                s->type->link_records(&ck, s->opts);
            }
        }
        ed_buf_free(&b);
    }
}

/* The records a sink refuses go to the rejects sink of their source
 * (ed_config_reject_route); that sink writes a flush only after the sink
 * sending it rejects did, so those routes must not form a cycle. */
static void s_check_reject_routes(ed_conf_state_t *st) {
    ed_conf_ctx_t *cx = st->cx;
    const ed_config_t *c = ed_conf_ctx_conf(cx);
    if (st->refs_bad)
        return;
    int n = c->nsinks;
    /* reach[a * n + b]: a's rejects reach b (transitive closure; n is small). */
    char *reach = ed_calloc((size_t)n * (size_t)n + 1, 1);
    for (int k = 0; k < n; k++)
        for (int i = 0; i < c->nsources; i++) {
            int to = ed_config_reject_route(c, k, i);
            if (to >= 0)
                reach[k * n + to] = 1;
        }
    for (int m = 0; m < n; m++)
        for (int a = 0; a < n; a++)
            for (int b = 0; b < n && reach[a * n + m]; b++)
                reach[a * n + b] |= reach[m * n + b];
    for (int k = 0; k < n; k++)
        if (reach[k * n + k])
            ed_conf_err_pos(cx, &c->sinks[k].pos,
                            "the records sink '%s' rejects go, through the `rejects:` of their "
                            "sources, to sinks whose rejects come back to '%s'; expected "
                            "rejects sinks that do not reject into each other (a kafka or null "
                            "sink for rejects)",
                            c->sinks[k].name, c->sinks[k].name);
    free(reach);
}

/* runtime.delivery: exactly_once needs every sink to keep its checkpoint in
 * its own transaction and every source to replay to given positions; what
 * cannot is refused by name (docs/guarantees.md). */
static void s_check_delivery(ed_conf_state_t *st) {
    ed_conf_ctx_t *cx = st->cx;
    const ed_config_t *c = ed_conf_ctx_conf(cx);
    if (c->runtime.delivery != ED_DELIVERY_EXACTLY_ONCE)
        return;
    static const char why[] = "; use `delivery: at_least_once`, or see docs/guarantees.md for "
                              "what exactly_once covers (issue 10)";
    static const ed_conf_pos_t top = {NULL, 1, 1};
    if (c->runtime.state_dir)
        ed_conf_err_pos(cx, &top,
                        "runtime.delivery: exactly_once with runtime.state_dir is not built yet%s",
                        why);
    for (int i = 0; i < c->nsinks; i++)
        if (c->sinks[i].type && !(c->sinks[i].type->caps & ED_CAP_EXACTLY_ONCE))
            ed_conf_err_pos(cx, &c->sinks[i].pos,
                            "sink '%s': a %s sink cannot do runtime.delivery: exactly_once yet "
                            "(postgres, mariadb, sqlite and redis sinks can)%s",
                            c->sinks[i].name, c->sinks[i].type->name, why);
    /* Their results depend on state a restart without state_dir loses. */
    for (int i = 0; i < c->naggregations; i++)
        if (c->aggregations[i].window.kind != ED_WIN_NONE)
            ed_conf_err_pos(cx, &c->aggregations[i].pos,
                            "aggregation '%s': windows with runtime.delivery: exactly_once are "
                            "not built yet (they need runtime.state_dir, which exactly_once does "
                            "not take yet)%s",
                            c->aggregations[i].name, why);
    for (int i = 0; i < c->nalerts; i++)
        ed_conf_err_pos(cx, &c->alerts[i].pos,
                        "alert '%s': alerts with runtime.delivery: exactly_once are not built "
                        "yet%s",
                        c->alerts[i].name, why);
    for (int i = 0; i < c->nsources; i++) {
        const ed_conf_source_t *s = &c->sources[i];
        if (s->type && !(s->type->caps & ED_CAP_REPLAY))
            ed_conf_err_pos(cx, &s->pos,
                            "source '%s': a %s source cannot do runtime.delivery: exactly_once "
                            "yet (kafka sources can)%s",
                            s->name, s->type->name, why);
        else if (s->instances > 1)
            ed_conf_err_pos(cx, &s->pos,
                            "source '%s': instances: %d with runtime.delivery: exactly_once is "
                            "not built yet (one consumer per source and one process)%s",
                            s->name, s->instances, why);
    }
}

int ed_conf_check_graph(ed_conf_state_t *st) {
    int nerr = ed_conf_nerrors(st->cx);
    s_check_delivery(st);
    s_check_decoders(st);
    s_link_sinks(st);
    s_check_reject_routes(st);
    return ed_conf_nerrors(st->cx) > nerr ? ED_EINVAL : 0;
}
