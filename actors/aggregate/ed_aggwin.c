/* ed_aggwin.c — see ed_aggwin.h. */
#define _GNU_SOURCE
#include "actors/aggregate/ed_aggwin.h"

#include <stdio.h>
#include <stdlib.h>

#include "actors/aggregate/ed_aggsession.h"
#include "actors/aggregate/ed_fired.h"
#include "actors/aggregate/ed_window.h"
#include "actors/ed_checkpoint.h"
#include "actors/ed_payload.h"
#include "actors/sources/ed_watermark.h"
#include "runtime/ed_common.h"
#include "runtime/ed_stat.h"

typedef struct {
    int windowed;    /* 0: cumulative */
    int event_time;  /* its source has `time` */
    int src;         /* config source index */
    int on_close;    /* emit: on_close */
    ed_window_t spec; /* when windowed, checked */
    ed_agg_late_t *late; /* the plan's late counters of this aggregation (shared) */
} s_agg_t;

typedef struct {
    int src;      /* config source index of this sender */
    int sub;      /* its index among that source's senders (the ed_wmin_t slot) */
    int64_t last; /* highest watermark taken from it */
} s_up_t;

struct ed_aggwin {
    s_agg_t *aggs; /* [naggs] */
    int naggs;
    s_up_t *up; /* [nup] */
    int nup;
    ed_wmin_t **src_wm; /* [nsources] per config source, NULL if no sender of it */
    int nsources;
    ed_window_hit_t *hits; /* scratch: the windows of one record */
    int cap;
    ed_fired_t *fired; /* windowed on_update alerts that fired, per (key, window) */
    ed_aggsession_t *sessions; /* open session windows of every session aggregation */
};

/* The config source index of keying actor `id`, or -1. */
static int s_source_of(const ed_plan_t *plan, uint32_t id) {
    for (int slot = 0; slot < ed_plan_nsources(plan); slot++)
        if (ed_plan_source_id(plan, slot) == id)
            return ed_plan_source_config(plan, slot);
    for (int d = 0; d < ed_plan_ndecoders(plan); d++)
        if (ed_plan_decoder_id(plan, d) == id)
            return ed_plan_source_config(plan, ed_plan_decoder_source(plan, d));
    return -1;
}

ed_aggwin_t *ed_aggwin_new(ed_plan_t *plan, uint32_t self, const uint32_t *upstream,
                           int nupstream, char *errstr, size_t errstr_size) {
    const ed_config_t *conf = ed_plan_config(plan);
    ed_aggwin_t *w = ed_calloc(1, sizeof *w);
    w->naggs = conf->naggregations;
    w->aggs = ed_calloc((size_t)w->naggs + 1, sizeof *w->aggs);
    w->nsources = conf->nsources;
    w->src_wm = ed_calloc((size_t)w->nsources + 1, sizeof *w->src_wm);
    w->nup = nupstream;
    w->up = ed_calloc((size_t)nupstream + 1, sizeof *w->up);
    w->cap = 1;
    w->fired = ed_fired_new();
    ed_aggspec_t *specs = ed_calloc((size_t)w->naggs + 1, sizeof *specs);
    for (int a = 0; a < w->naggs; a++) {
        const ed_conf_aggregation_t *ca = &conf->aggregations[a];
        const ed_aggfn_t **fns = ed_calloc((size_t)ca->ncompute + 1, sizeof *fns);
        for (int c = 0; c < ca->ncompute; c++)
            fns[c] = ca->compute[c].fn;
        specs[a] = (ed_aggspec_t){.ncompute = ca->ncompute, .fns = fns};
    }
    w->sessions = ed_aggsession_new(specs, w->naggs);
    for (int a = 0; a < w->naggs; a++)
        free((void *)specs[a].fns);
    free(specs);
    for (int a = 0; a < w->naggs; a++) {
        const ed_conf_aggregation_t *ca = &conf->aggregations[a];
        s_agg_t *ag = &w->aggs[a];
        ag->src = ca->from_idx;
        ag->late = ed_plan_agg_late(plan, a);
        ag->event_time = ca->from_idx >= 0 && conf->sources[ca->from_idx].time_field != NULL;
        if (ca->window.kind == ED_WIN_NONE)
            continue;
        ag->windowed = 1;
        ag->on_close = ca->window.emit == ED_EMIT_ON_CLOSE;
        ag->spec = (ed_window_t){
            .type = ca->window.kind == ED_WIN_HOPPING   ? ED_WINDOW_HOPPING
                    : ca->window.kind == ED_WIN_SESSION ? ED_WINDOW_SESSION
                                                        : ED_WINDOW_TUMBLING,
            .size_ms = ca->window.kind == ED_WIN_SESSION ? 0 : ca->window.size_ms,
            .slide_ms = ca->window.kind == ED_WIN_SESSION ? 0 : ca->window.slide_ms,
            .gap_ms = ca->window.kind == ED_WIN_SESSION ? ca->window.size_ms : 0,
            .allowed_lateness_ms = ca->window.allowed_lateness_ms,
            .late = ca->window.late == ED_WLATE_UPDATE ? ED_LATE_UPDATE
                    : ca->window.late == ED_WLATE_SINK ? ED_LATE_SINK
                                                       : ED_LATE_DROP,
            .late_sink = ca->window.late == ED_WLATE_SINK ? ca->window.late_sink : NULL,
        };
        char err[256];
        if (ed_window_check(&ag->spec, err, sizeof err) < 0) {
            ed_seterr(errstr, errstr_size, ED_EINVAL, "%s:%d:%d: aggregation '%s': %s",
                      ca->pos.file, ca->pos.line, ca->pos.col, ca->name, err);
            ed_aggwin_destroy(&w);
            return NULL;
        }
        if (ed_window_count(&ag->spec) > w->cap)
            w->cap = ed_window_count(&ag->spec);
    }
    w->hits = ed_calloc((size_t)w->cap, sizeof *w->hits);
    int *nper = ed_calloc((size_t)w->nsources + 1, sizeof *nper);
    for (int i = 0; i < nupstream; i++) {
        int src = s_source_of(plan, upstream[i]);
        if (src < 0) {
            ed_seterr(errstr, errstr_size, ED_ERR,
                      "plan: aggregator actor %u has sender %u, which keys no source", self,
                      upstream[i]);
            free(nper);
            ed_aggwin_destroy(&w);
            return NULL;
        }
        w->up[i] = (s_up_t){.src = src, .sub = nper[src]++, .last = ED_WATERMARK_NONE};
    }
    for (int s = 0; s < w->nsources; s++)
        if (nper[s])
            w->src_wm[s] = ed_wmin_new(nper[s]);
    free(nper);
    return w;
}

void ed_aggwin_destroy(ed_aggwin_t **w_p) {
    ed_aggwin_t *w = *w_p;
    if (!w)
        return;
    for (int s = 0; s < w->nsources; s++)
        ed_wmin_destroy(&w->src_wm[s]);
    free(w->src_wm);
    free(w->aggs);
    free(w->up);
    free(w->hits);
    ed_fired_destroy(&w->fired);
    ed_aggsession_destroy(&w->sessions);
    free(w);
    *w_p = NULL;
}

/* Takes watermark `wm` (idle or not) of sender `up`. */
static void s_take(ed_aggwin_t *w, int up, int64_t wm, int idle) {
    s_up_t *u = &w->up[up];
    if (wm > u->last)
        u->last = wm;
    ed_wmin_update(w->src_wm[u->src], u->sub, wm, idle);
}

/* A record too late for every window it belongs to, not applied: counted
 * as dropped, or passed to `late` (late: SINK) with the input record it
 * carries; per aggregator partition (st) and per aggregation (ag->late). */
static void s_too_late(const s_agg_t *ag, const ed_keyed_t *e, ed_agg_stats_t *st,
                       ed_aggwin_late_fn late, void *ud) {
    const ed_record_t *rec = ed_keyed_record(e);
    if (ag->spec.late != ED_LATE_SINK || !rec || !late) {
        /* Without its record (not expected: the keyer attaches it under
         * late: SINK) it cannot be routed, and is counted as dropped. */
        ed_stat_add(&st->late_dropped, 1);
        ed_stat_add_shared(&ag->late->dropped, 1);
        return;
    }
    ed_stat_add(&st->late_routed, 1);
    ed_stat_add_shared(&ag->late->routed, 1);
    late(ud, e->agg, rec);
}

/* One record of a session aggregation (ed_aggsession.h). */
static void s_session(ed_aggwin_t *w, const s_agg_t *ag, const ed_keyed_t *e, int64_t ts,
                      int64_t wm, ed_agg_stats_t *st, ed_aggwin_late_fn late, void *ud) {
    ed_aggsession_result_t res;
    if (ed_aggsession_apply(w->sessions, e->agg, &ag->spec, wm, ed_keyed_key(e), e->key_len,
                            e->hash, ed_keyed_vals(e), ts, &res) < 0) {
        ed_stat_add(&st->time_invalid, 1); /* the keyer checks the range: not expected */
        return;
    }
    if (!res.applied) {
        s_too_late(ag, e, st, late, ud);
    } else if (res.cls == ED_WINDOW_TOO_LATE) {
        ed_stat_add(&st->late_updates, 1);
        ed_stat_add_shared(&ag->late->updated, 1);
    }
}

void ed_aggwin_batch(ed_aggwin_t *w, ed_aggtable_t *t, int up, const ed_msg_t *m,
                     int64_t arrival_ms, ed_agg_stats_t *st, ed_aggwin_late_fn late, void *ud) {
    s_up_t *u = &w->up[up];
    const ed_wmin_t *wmin = w->src_wm[u->src];
    ed_batch_iter_t it;
    ed_batch_iter_init(&it, m->batch);
    const ed_keyed_t *e;
    while ((e = ed_batch_next_keyed(&it))) {
        const s_agg_t *ag = &w->aggs[e->agg];
        const uint8_t *key = ed_keyed_key(e);
        /* Without a `time` field, records are ordered by arrival: the
         * batch's arrival time here, and within it (and within a
         * millisecond) the order they are applied in. */
        int64_t ts = ag->event_time ? e->ts_ms : arrival_ms;
        if (e->wm_ms > u->last)
            s_take(w, up, e->wm_ms, 0); /* a sender with a record is active */
        if (!ag->windowed) {
            ed_aggtable_apply(t, e->agg, 0, 0, key, e->key_len, e->hash, ed_keyed_vals(e), ts);
            continue;
        }
        /* Processing time: a record is in the windows of its arrival, never
         * late. */
        int64_t wm = ag->event_time ? ed_wmin_get(wmin) : ED_WATERMARK_NONE;
        if (ag->spec.type == ED_WINDOW_SESSION) {
            s_session(w, ag, e, ts, wm, st, late, ud);
            continue;
        }
        int nhits = 0, skipped = 0;
        int r = ed_window_route(&ag->spec, ts, wm, w->hits, w->cap, &nhits, &skipped);
        if (r < 0) {
            ed_stat_add(&st->time_invalid, 1); /* the keyer checks the range: not expected */
            continue;
        }
        if (r != ED_ROUTE_APPLY) {
            s_too_late(ag, e, st, late, ud);
            continue;
        }
        ed_stat_add(&st->windows_skipped, (uint64_t)skipped);
        int updated = 0;
        for (int i = 0; i < nhits; i++) {
            if (w->hits[i].cls == ED_WINDOW_TOO_LATE) {
                ed_stat_add(&st->late_updates, 1);
                updated = 1;
            }
            ed_aggtable_apply(t, e->agg, w->hits[i].bounds.start_ms, w->hits[i].bounds.end_ms,
                              key, e->key_len, e->hash, ed_keyed_vals(e), ts);
        }
        if (updated)
            ed_stat_add_shared(&ag->late->updated, 1); /* the record, once */
    }
    if (m->flags & ED_MSG_F_WATERMARK)
        s_take(w, up, m->value, (m->flags & ED_MSG_F_IDLE) != 0);
}

void ed_aggwin_barrier(ed_aggwin_t *w, int up, const ed_msg_t *m) {
    if (m->flags & ED_MSG_F_WATERMARK)
        s_take(w, up, m->value, (m->flags & ED_MSG_F_IDLE) != 0);
}

int64_t ed_aggwin_watermark(const ed_aggwin_t *w, int agg, int64_t now_ms) {
    const s_agg_t *ag = &w->aggs[agg];
    const ed_wmin_t *wmin = ag->src >= 0 ? w->src_wm[ag->src] : NULL;
    int64_t wm = wmin ? ed_wmin_get(wmin) : ED_WATERMARK_NONE;
    if (ag->event_time || wm == ED_WATERMARK_END)
        return wm;
    return now_ms;
}

void ed_aggwin_expire(ed_aggwin_t *w, ed_aggtable_t *t, int64_t now_ms, ed_agg_stats_t *st,
                      ed_aggtable_emit_fn emit, void *ud) {
    uint64_t open = 0;
    for (int a = 0; a < w->naggs; a++) {
        const s_agg_t *ag = &w->aggs[a];
        if (!ag->windowed)
            continue;
        int64_t wm = ed_aggwin_watermark(w, a, now_ms);
        if (wm != ED_WATERMARK_NONE) {
            size_t before = ed_aggtable_windows(t, (uint16_t)a);
            int64_t horizon = ed_window_free_before(&ag->spec, wm);
            if (ag->spec.type == ED_WINDOW_SESSION) {
                ed_stat_add(&st->windows_closed,
                            ed_aggsession_close(w->sessions, (uint16_t)a, horizon, emit, ud));
            } else {
                if (ag->on_close) {
                    ed_aggtable_close_ended(t, (uint16_t)a, horizon, emit, ud);
                } else {
                    ed_aggtable_evict_ended(t, (uint16_t)a, horizon);
                    ed_fired_expire(w->fired, (uint16_t)a, horizon);
                }
                ed_stat_add(&st->windows_closed, before - ed_aggtable_windows(t, (uint16_t)a));
            }
        }
        open += ag->spec.type == ED_WINDOW_SESSION ? ed_aggsession_count(w->sessions, (uint16_t)a)
                                                   : ed_aggtable_windows(t, (uint16_t)a);
    }
    ed_stat_set(&st->windows_open, open);
}

int ed_aggwin_nsenders(const ed_aggwin_t *w) { return w->nup; }
ed_aggsession_t *ed_aggwin_sessions(const ed_aggwin_t *w) { return w->sessions; }
int ed_aggwin_sender_source(const ed_aggwin_t *w, int up) { return w->up[up].src; }
int64_t ed_aggwin_sender_watermark(const ed_aggwin_t *w, int up) { return w->up[up].last; }

void ed_aggwin_restore_watermark(ed_aggwin_t *w, int up, int64_t wm) {
    if (wm != ED_WATERMARK_NONE)
        s_take(w, up, wm, 0);
}

int ed_aggwin_alert_once(ed_aggwin_t *w, int alert, const ed_change_t *hdr, const uint8_t *key) {
    if (w->aggs[hdr->agg].on_close)
        return 1;
    return ed_fired_mark(w->fired, alert, hdr->agg, hdr->window_start_ms, hdr->window_end_ms, key,
                         hdr->key_len);
}

void ed_aggwin_describe(const ed_conf_aggregation_t *ag, FILE *out) {
    if (ag->window.kind == ED_WIN_NONE) {
        fprintf(out, "cumulative");
        return;
    }
    if (ag->window.kind == ED_WIN_SESSION)
        fprintf(out, "session windows with a %lldms gap", (long long)ag->window.size_ms);
    else if (ag->window.kind == ED_WIN_HOPPING)
        fprintf(out, "hopping %lldms windows sliding by %lldms", (long long)ag->window.size_ms,
                (long long)ag->window.slide_ms);
    else
        fprintf(out, "tumbling %lldms windows", (long long)ag->window.size_ms);
    fprintf(out, ", allowed lateness %lldms, late %s%s, emit %s",
            (long long)ag->window.allowed_lateness_ms,
            ag->window.late == ED_WLATE_UPDATE ? "update"
            : ag->window.late == ED_WLATE_SINK ? "to sink "
                                               : "drop",
            ag->window.late == ED_WLATE_SINK ? ag->window.late_sink : "",
            ag->window.emit == ED_EMIT_ON_CLOSE ? "on_close" : "on_update");
}
