/* ed_keyer_new.c — building a keyer from the plan and freeing it (see
 * ed_keyer.h; the keying itself is ed_keyer.c, the shared types
 * ed_keyer_int.h). */
#define _GNU_SOURCE
#include "actors/decode/ed_keyer_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/aggregate/ed_aggfn.h"
#include "actors/aggregate/ed_window.h"
#include "runtime/ed_buf.h"

static const char *const s_meta_names[] = {NULL,         "@key",    "@file",      "@topic",
                                           "@partition", "@offset", "@timestamp", "@value"};

static ed_meta_t s_meta_of(const char *field) {
    for (size_t i = 1; i < ED_ARRAY_SIZE(s_meta_names); i++)
        if (strcmp(field, s_meta_names[i]) == 0)
            return (ed_meta_t)i;
    return ED_META_NONE;
}

/* Resolves a field name to a ref, adding decoder slots as needed. */
static ed_fieldref_t s_ref(ed_keyer_t *k, const char *field) {
    ed_fieldref_t r = {.meta = s_meta_of(field), .slot = -1, .name = field};
    if (r.meta != ED_META_NONE)
        return r;
    for (int i = 0; i < k->ndec; i++)
        if (strcmp(k->dec_fields[i], field) == 0) {
            r.slot = i;
            return r;
        }
    k->dec_fields = ed_realloc(k->dec_fields, sizeof *k->dec_fields * (size_t)(k->ndec + 1));
    k->dec_fields[k->ndec] = field;
    r.slot = k->ndec++;
    return r;
}

static void s_wm_init(ed_keyer_t *k, const ed_conf_source_t *src) {
    k->wm = ed_watermark_new(src->time_max_ooo_ms, src->time_idle_timeout_ms);
    k->wm_cur = ED_WATERMARK_NONE;
    k->read_ms = ed_now_ms(); /* until the owner's first ed_keyer_begin */
    if (src->time_field) {
        ed_watermark_assign(k->wm, NULL, S_PART_WAIT, k->read_ms);
        k->wm_waiting = 1;
    }
}

/* Resolves the fields of `where` (may be NULL) into filter f. */
static void s_filter_init(ed_keyer_t *k, ed_filter_t *f, const struct ed_where *where,
                          ed_where_stats_t *stats) {
    *f = (ed_filter_t){.stats = stats};
    if (!where)
        return;
    f->n = ed_where_nfields(where);
    f->refs = ed_calloc((size_t)f->n, sizeof *f->refs);
    f->vals = ed_calloc((size_t)f->n, sizeof *f->vals);
    for (int i = 0; i < f->n; i++)
        f->refs[i] = s_ref(k, ed_where_field(where, i));
    f->cx = ed_where_ctx_new(where);
}

static void s_filter_free(ed_filter_t *f) {
    ed_where_ctx_destroy(&f->cx);
    free(f->refs);
    free(f->vals);
}

/* The per-record alerts on config source idx, with their sinks; 0, or -1
 * with errstr if the plan gave `owner` no ALERTS link to one of them. */
static int s_alerts_new(ed_keyer_t *k, uint32_t owner, int idx, char *errstr,
                        size_t errstr_size) {
    const ed_config_t *conf = ed_plan_config(k->plan);
    int nlinks = ed_plan_receivers_of(k->plan, owner, ED_LINK_ALERTS, NULL, 0);
    uint32_t *links = ed_calloc((size_t)nlinks + 1, sizeof *links);
    ed_plan_receivers_of(k->plan, owner, ED_LINK_ALERTS, links, nlinks);
    int rc = 0;
    for (int r = 0; r < conf->nalerts; r++) {
        const ed_conf_alert_t *al = &conf->alerts[r];
        if (al->source_idx != idx)
            continue;
        k->alerts = ed_realloc(k->alerts, sizeof *k->alerts * (size_t)(k->nalerts + 1));
        ed_src_alert_t *sa = &k->alerts[k->nalerts++];
        s_filter_init(k, &sa->filter, al->where, ed_plan_alert_where_stats(k->plan, r));
        sa->nsinks = al->nto;
        sa->sinks = ed_calloc((size_t)al->nto, sizeof *sa->sinks);
        for (int t = 0; t < al->nto; t++) {
            sa->sinks[t] = al->to_idx[t];
            int linked = 0;
            for (int i = 0; i < nlinks; i++)
                linked |= links[i] == ed_plan_sink_id(k->plan, al->to_idx[t]);
            if (!linked && !rc)
                rc = ed_seterr(errstr, errstr_size, ED_ERR,
                               "plan: alert '%s' on source '%s': actor %u has no link to sink '%s'",
                               al->name, k->src->name, owner, al->to[t]);
        }
    }
    free(links);
    k->alert_out = ed_calloc((size_t)conf->nsinks + 1, sizeof *k->alert_out);
    return rc;
}

/* The receivers of owner's links of `kind` into *ids, with one (empty)
 * batch slot each in *out; returns their number. */
static int s_links(ed_plan_t *plan, uint32_t owner, ed_link_kind_t kind, uint32_t **ids,
                   ed_batch_t ***out) {
    int n = ed_plan_receivers_of(plan, owner, kind, NULL, 0);
    *ids = ed_calloc((size_t)n + 1, sizeof **ids);
    ed_plan_receivers_of(plan, owner, kind, *ids, n);
    *out = ed_calloc((size_t)n + 1, sizeof **out);
    return n;
}

ed_keyer_t *ed_keyer_new(ed_plan_t *plan, uint32_t owner, const ed_conf_source_t *src, int slot,
                         char *errstr, size_t errstr_size) {
    const ed_config_t *conf = ed_plan_config(plan);
    ed_keyer_t *k = ed_calloc(1, sizeof *k);
    k->plan = plan;
    k->src = src;
    k->slot = slot;
    k->wm_cell = ed_plan_watermark_cell(plan, owner);
    ed_stat_set_i64(k->wm_cell, ED_WATERMARK_NONE);
    k->wm_parts = ed_plan_parts_cell(plan, owner, ED_PARTS_WATERMARKS);
    int idx = ed_config_source_idx(conf, src->name);
    k->src_idx = idx;
    if (src->time_field) {
        k->time_ref = s_ref(k, src->time_field);
        k->has_time = 1;
    }
    s_wm_init(k, src);
    for (int a = 0; a < conf->naggregations; a++) {
        const ed_conf_aggregation_t *ca = &conf->aggregations[a];
        if (ca->from_idx != idx)
            continue;
        k->aggs = ed_realloc(k->aggs, sizeof *k->aggs * (size_t)(k->naggs + 1));
        ed_src_agg_t *sa = &k->aggs[k->naggs++];
        sa->agg = a;
        s_filter_init(k, &sa->filter, ca->where, ed_plan_agg_where_stats(plan, a));
        sa->nkey = ca->nkey;
        sa->key = ed_calloc((size_t)ca->nkey, sizeof *sa->key);
        for (int i = 0; i < ca->nkey; i++)
            sa->key[i] = s_ref(k, ca->key[i].field);
        sa->with_record = ca->window.late == ED_WLATE_SINK;
        sa->nvals = ca->ncompute;
        sa->vals = ed_calloc((size_t)ca->ncompute, sizeof *sa->vals);
        sa->hashed = ed_calloc((size_t)ca->ncompute + 1, 1);
        for (int c = 0; c < ca->ncompute; c++) {
            sa->vals[c] = ca->compute[c].field ? s_ref(k, ca->compute[c].field)
                                               : (ed_fieldref_t){.slot = -1, .name = "count"};
            sa->hashed[c] = ca->compute[c].fn->input == ED_AGGFN_IN_HASH;
        }
    }
    if (s_alerts_new(k, owner, idx, errstr, errstr_size) < 0) {
        ed_keyer_destroy(&k);
        return NULL;
    }
    int payload = (src->type->caps & ED_CAP_PAYLOAD) != 0;
    if (payload && (k->naggs || k->nalerts || k->has_time)) {
        int rc = src->format == ED_FMT_AVRO
                     ? ed_decoder_new_avro(&k->dec, src->avro, (ed_avro_framing_t)src->framing,
                                           (uint32_t)src->schema_id, k->dec_fields, k->ndec,
                                           errstr, errstr_size)
                     : ed_decoder_new(&k->dec, src->format, k->dec_fields, k->ndec, errstr,
                                      errstr_size);
        if (rc < 0) {
            char tmp[512];
            snprintf(tmp, sizeof tmp, "%s:%d:%d: source '%s': %s", src->pos.file, src->pos.line,
                     src->pos.col, src->name, errstr);
            ed_seterr(errstr, errstr_size, ED_EINVAL, "%s", tmp);
            ed_keyer_destroy(&k);
            return NULL;
        }
    } else if (!payload && k->ndec) {
        /* The loader refuses such fields already (ed_conf_check_field). */
        ed_seterr(errstr, errstr_size, ED_EINVAL,
                  "%s:%d:%d: source '%s' (%s) has only meta fields, not '%s'", src->pos.file,
                  src->pos.line, src->pos.col, src->name, src->type->name, k->dec_fields[0]);
        ed_keyer_destroy(&k);
        return NULL;
    }
    k->nparts = s_links(plan, owner, ED_LINK_KEYED, &k->agg_ids, &k->agg_out);
    k->has_rejects = ed_plan_receivers_of(plan, owner, ED_LINK_REJECTS, &k->rejects_id, 1) > 0;
    if (src->transforms) {
        if (ed_xrun_new(src->transforms, &k->xrun, errstr, errstr_size) < 0) {
            ed_keyer_destroy(&k);
            return NULL;
        }
        k->ndirect = s_links(plan, owner, ED_LINK_RECORDS, &k->direct, &k->direct_out);
    }
    if (k->naggs && !k->nparts) {
        ed_seterr(errstr, errstr_size, ED_ERR,
                  "plan: source '%s' has aggregations but its actor %u no link to an aggregator",
                  src->name, owner);
        ed_keyer_destroy(&k);
        return NULL;
    }
    return k;
}

void ed_keyer_destroy(ed_keyer_t **k_p) {
    if (!k_p || !*k_p)
        return;
    ed_keyer_t *k = *k_p;
    ed_stat_set_i64(k->wm_cell, ED_WATERMARK_END); /* no keyer here any more */
    ed_part_cell_publish(k->wm_parts, NULL, 0, ed_wall_ms());
    for (int a = 0; a < k->naggs; a++) {
        free(k->aggs[a].key);
        free(k->aggs[a].vals);
        free(k->aggs[a].hashed);
        s_filter_free(&k->aggs[a].filter);
    }
    free(k->aggs);
    for (int r = 0; r < k->nalerts; r++) {
        s_filter_free(&k->alerts[r].filter);
        free(k->alerts[r].sinks);
    }
    free(k->alerts);
    if (k->alert_out)
        for (int sk = 0; sk < ed_plan_config(k->plan)->nsinks; sk++)
            ed_batch_destroy(&k->alert_out[sk]);
    free(k->alert_out);
    free(k->dec_fields);
    ed_watermark_destroy(&k->wm);
    ed_decoder_destroy(&k->dec);
    if (k->agg_out)
        for (int p = 0; p < k->nparts; p++)
            ed_batch_destroy(&k->agg_out[p]);
    free(k->agg_out);
    free(k->agg_ids);
    ed_batch_destroy(&k->rejects_out);
    for (int i = 0; i < k->ndirect; i++)
        ed_batch_destroy(&k->direct_out[i]);
    free(k->direct_out);
    free(k->direct);
    ed_xrun_destroy(&k->xrun);
    free(k);
    *k_p = NULL;
}
