/*
 * ed_conf_graph.c — the rules that need the whole pipeline: what feeds
 * each sink, the defaults that depend on the feeding aggregation (redis
 * member and score, the SQL table), and where `decoders` make sense.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/ed_conf_sections.h"
#include "runtime/ed_common.h"

static const char *const s_sink_kind_names[] = {"?",     "postgres", "mariadb",
                                                "redis", "kafka",    "null"};

/* ------------------------------------------------------------------------ */
/* What feeds each sink                                                     */

static int s_has_idx(const int *idx, int n, int want) {
    for (int i = 0; i < n; i++)
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

/* Checks the {column} placeholders of a redis template against the key
 * columns of agg; marks used columns. */
static int s_template_cols(ed_conf_ctx_t *cx, const ed_node_t *n, const ed_conf_sink_t *s, const char *key,
                           const char *t, const ed_conf_aggregation_t *a, int *used) {
    for (const char *p = strchr(t, '{'); p; p = strchr(p, '{')) {
        const char *close = strchr(p, '}');
        size_t len = (size_t)(close - p - 1);
        int found = -1;
        for (int i = 0; i < a->nkey; i++)
            if (strlen(a->key[i].column) == len && !strncmp(a->key[i].column, p + 1, len))
                found = i;
        if (found < 0) {
            const char **cols = ed_calloc((size_t)a->nkey, sizeof *cols);
            for (int i = 0; i < a->nkey; i++)
                cols[i] = a->key[i].column;
            ed_buf_t b = ED_BUF_INIT;
            ed_conf_join(&b, cols, a->nkey);
            int rc = ed_conf_err(cx, n,
                           "placeholder '%.*s' in '%s' of sink '%s' is not a key column of "
                           "aggregation '%s'; expected one of: %s",
                           (int)len + 2, p, key, s->name, a->name, b.data);
            ed_buf_free(&b);
            free(cols);
            return rc;
        }
        used[found] = 1;
        p = close;
    }
    return 0;
}

static int s_link_redis(ed_conf_ctx_t *cx, ed_conf_sink_t *s, const ed_conf_sinkx_t *x,
                        const ed_conf_aggregation_t *a) {
    int *used = ed_calloc((size_t)a->nkey, sizeof *used);
    int rc = s_template_cols(cx, x->zset, s, "zset", s->zset, a, used);
    if (rc < 0)
        goto out;
    if (s->member) {
        int *mused = ed_calloc((size_t)a->nkey, sizeof *mused);
        rc = s_template_cols(cx, x->member, s, "member", s->member, a, mused);
        free(mused);
        if (rc < 0)
            goto out;
    } else {
        /* Default member: the key columns the zset name does not already
         * carry, so each sorted set ranks what varies within it. */
        ed_buf_t b = ED_BUF_INIT;
        for (int i = 0; i < a->nkey; i++)
            if (!used[i])
                ed_buf_printf(&b, "%s{%s}", b.len ? ":" : "", a->key[i].column);
        if (!b.len) {
            rc = ed_conf_err_pos(cx, &s->pos,
                           "every key column of aggregation '%s' is used in 'zset' of sink '%s', "
                           "so members would be empty; expected 'member' set, or fewer "
                           "placeholders in 'zset'",
                           a->name, s->name);
            goto out;
        }
        s->member = b.data;
    }
    if (!s->score) {
        s->score = ed_strdup(a->compute[0].name);
    } else {
        int found = 0;
        for (int i = 0; i < a->ncompute; i++)
            found |= !strcmp(a->compute[i].name, s->score);
        if (!found) {
            const char **names = ed_calloc((size_t)a->ncompute, sizeof *names);
            for (int i = 0; i < a->ncompute; i++)
                names[i] = a->compute[i].name;
            ed_buf_t b = ED_BUF_INIT;
            ed_conf_join(&b, names, a->ncompute);
            ed_conf_suggest(&b, s->score, names, a->ncompute);
            rc = ed_conf_err(cx, x->score,
                       "score '%s' of sink '%s' is not computed by aggregation '%s'; expected one "
                       "of its compute names: %s",
                       s->score, s->name, a->name, b.data);
            ed_buf_free(&b);
            free(names);
        }
    }
out:
    free(used);
    return rc;
}

/* `decoders: N` only helps a source whose inputs are decoded and keyed for
 * some aggregation; anywhere else it would be silently ignored. */
static int s_check_decoders(ed_conf_ctx_t *cx) {
    const ed_config_t *c = ed_conf_ctx_conf(cx);
    for (int i = 0; i < c->nsources; i++) {
        const ed_conf_source_t *s = &c->sources[i];
        if (!s->decoders)
            continue;
        int read = 0;
        for (int a = 0; a < c->naggregations; a++)
            read |= c->aggregations[a].from_idx == i;
        if (!read)
            return ed_conf_err_pos(cx, &s->decoders_pos,
                             "source '%s' has 'decoders: %d' but no aggregation reads it; decoder "
                             "actors decode and key records for aggregations (pass-through "
                             "records are not decoded): remove 'decoders'",
                             s->name, s->decoders);
        if (s->kind == ED_SRC_GENERATOR)
            return ed_conf_err_pos(cx, &s->decoders_pos,
                             "source '%s' is a generator, whose events need no decoding; "
                             "remove 'decoders' (use 'instances' to generate in parallel)",
                             s->name);
    }
    return 0;
}

static int s_link_sinks(ed_conf_ctx_t *cx, ed_conf_sinkx_t *sinkx) {
    ed_config_t *c = ed_conf_ctx_conf(cx);
    for (int i = 0; i < c->nsinks; i++) {
        ed_conf_sink_t *s = &c->sinks[i];
        const char *kind = s_sink_kind_names[s->kind];
        int naggs = 0, agg1 = -1, agg2 = -1, nalerts = 0, alert1 = -1, nsrcs = 0, src1 = -1;
        for (int j = 0; j < c->naggregations; j++) {
            if (!s_has_idx(c->aggregations[j].to_idx, c->aggregations[j].nto, i))
                continue;
            if (!naggs++)
                agg1 = j;
            else if (agg2 < 0)
                agg2 = j;
        }
        for (int j = 0; j < c->nalerts; j++) {
            if (s_has_idx(c->alerts[j].to_idx, c->alerts[j].nto, i) && !nalerts++)
                alert1 = j;
        }
        for (int j = 0; j < c->nsources; j++) {
            const ed_conf_source_t *src = &c->sources[j];
            if ((s_has_name(src->to, src->nto, s->name) ||
                 (src->rejects && !strcmp(src->rejects, s->name))) &&
                !nsrcs++)
                src1 = j;
        }
        s->nfeeds = naggs + nalerts + nsrcs;
        if (!s->nfeeds)
            return ed_conf_err_pos(cx, &s->pos,
                             "sink '%s' is not used by any aggregation, alert or source; expected "
                             "it in a 'to:' (or 'rejects:') list, or remove it",
                             s->name);
        if (s->kind == ED_SINK_KAFKA || s->kind == ED_SINK_NULL) {
            /* Several aggregations may share a kafka/null sink; then no single
             * one feeds it and each changelog row names its aggregation. */
            s->from_agg = naggs == 1 ? agg1 : -1;
            continue;
        }
        /* postgres, mariadb and redis hold one aggregation's rows. */
        if (nalerts)
            return ed_conf_err_pos(cx, &s->pos,
                             "%s sink '%s' takes changelog rows only, but alert '%s' sends to it; "
                             "expected alerts to go to a kafka or null sink",
                             kind, s->name, c->alerts[alert1].name);
        if (nsrcs) {
            const ed_conf_source_t *src = &c->sources[src1];
            int rej = src->rejects && !strcmp(src->rejects, s->name);
            return ed_conf_err_pos(cx, &s->pos,
                             "%s sink '%s' takes changelog rows only, but source '%s' sends %s to "
                             "it; expected %s to go to a kafka or null sink",
                             kind, s->name, src->name, rej ? "rejects" : "records",
                             rej ? "rejects" : "pass-through records");
        }
        if (naggs == 0)
            return ed_conf_err_pos(cx, &s->pos,
                             "%s sink '%s' is not fed by any aggregation; expected exactly one "
                             "aggregation with '%s' in its 'to'",
                             kind, s->name, s->name);
        if (naggs > 1)
            return ed_conf_err_pos(cx, &s->pos,
                             "%s sink '%s' is fed by aggregations '%s' and '%s'; define one sink "
                             "per aggregation",
                             kind, s->name, c->aggregations[agg1].name, c->aggregations[agg2].name);
        s->from_agg = agg1;
        const ed_conf_aggregation_t *a = &c->aggregations[agg1];
        if (s->kind == ED_SINK_REDIS) {
            int rc = s_link_redis(cx, s, &sinkx[i], a);
            if (rc < 0)
                return rc;
        } else if (!s->table) {
            if (!ed_conf_valid_table(a->name))
                return ed_conf_err_pos(cx, &s->pos,
                                 "%s sink '%s' would use the aggregation name '%s' as its table, "
                                 "which is not a valid SQL identifier; expected 'table' set in "
                                 "the sink",
                                 kind, s->name, a->name);
            s->table = ed_strdup(a->name);
        }
    }
    return 0;
}

int ed_conf_check_graph(ed_conf_ctx_t *cx, ed_conf_sinkx_t *sinkx) {
    int rc = s_check_decoders(cx);
    if (rc < 0)
        return rc;
    return s_link_sinks(cx, sinkx);
}
