/* ed_agg_actor.c — see ed_agg_actor.h. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/aggregate/ed_agg_actor.h"

#include "actors/aggregate/ed_aggsession.h"
#include "actors/aggregate/ed_aggtable.h"
#include "actors/aggregate/ed_fired.h"
#include "actors/aggregate/ed_aggwin.h"
#include "actors/aggregate/ed_state_store.h"
#include "actors/ed_checkpoint.h"
#include "actors/ed_payload.h"
#include "runtime/ed_buf.h"

/* Changelog rows per message. */
#define ED_CHANGES_PER_BATCH 4096

/* Messages of one sender held back while it is a checkpoint ahead: a FIFO
 * of owned messages q[head .. head + n). */
typedef struct {
    ed_msg_t **q;
    size_t head, n, cap;
} s_held_t;

struct ed_agg_actor {
    ed_plan_t *plan;
    int idx; /* partition */
    ed_agg_stats_t *stats; /* = ed_plan_agg_stats(plan, idx): bumped per row */
    ed_actor_t *self;
    ed_aggtable_t *table;
    ed_aggwin_t *win;         /* watermarks, window assignment and expiry */
    const uint32_t *upstream; /* senders: the actors that key records (the plan's) */
    uint64_t *upstream_ckpt;/* last barrier received from each */
    s_held_t *held;         /* [nupstream] messages held back for alignment */
    uint64_t saved;         /* checkpoint of this run last snapshotted (0: none) */
    uint64_t saved_wm;      /* its senders' watermarks, hashed */
    size_t saved_count;     /* its entries */
    int changed;            /* a batch was applied since that snapshot */
    int nupstream;
    uint64_t flushed;       /* last checkpoint flushed */
    uint32_t *downstream;   /* receivers: sink actor ids fed by any aggregation or alert */
    int ndownstream;
    int *sink_slot;         /* [conf->nsinks] → index in downstream, or -1 */
    ed_batch_t **changes;   /* [ndownstream] CHANGELOG being filled */
    ed_batch_t **alerts;    /* [ndownstream] RECORDS (alerts) being filled */
    ed_buf_t json;
};

static void s_send(ed_agg_actor_t *s, int slot, ed_batch_t **b) {
    if (*b && (*b)->count) {
        ed_msg_t *m = ed_msg_new_batch(ED_MSG_BATCH, b);
        ed_actor_send(s->self, s->downstream[slot], &m);
    }
}

/* Writes the alert record for one crossing: JSON with the rule, the key
 * columns, the metric's value and the threshold. */
static void s_alert(ed_agg_actor_t *s, const ed_conf_alert_t *al, const ed_conf_aggregation_t *ca,
                    const ed_change_t *hdr, const double *value, const uint8_t *key) {
    ed_buf_t *j = &s->json;
    ed_buf_reset(j);
    ed_buf_puts(j, "{\"alert\":");
    ed_buf_json_str(j, al->name, strlen(al->name));
    ed_buf_puts(j, ",\"aggregation\":");
    ed_buf_json_str(j, ca->name, strlen(ca->name));
    ed_buf_puts(j, ",\"key\":{");
    ed_buf_t k = ED_BUF_INIT; /* Kafka message key: parts joined by ':' */
    for (int i = 0; i < ca->nkey; i++) {
        const uint8_t *part = NULL;
        size_t plen = 0;
        ed_key_part(key, hdr->key_len, i, &part, &plen);
        if (i) {
            ed_buf_puts(j, ",");
            ed_buf_puts(&k, ":");
        }
        ed_buf_json_str(j, ca->key[i].column, strlen(ca->key[i].column));
        ed_buf_puts(j, ":");
        ed_buf_json_str(j, (const char *)part, plen);
        ed_buf_append(&k, part, plen);
    }
    ed_buf_puts(j, "}");
    if (hdr->window_start_ms || hdr->window_end_ms)
        ed_buf_printf(j, ",\"window_start\":%lld,\"window_end\":%lld",
                      (long long)hdr->window_start_ms, (long long)hdr->window_end_ms);
    ed_buf_puts(j, ",\"metric\":");
    ed_buf_json_str(j, al->metric, strlen(al->metric));
    ed_buf_puts(j, ",\"value\":");
    ed_buf_json_num(j, value[al->metric_idx]);
    ed_buf_puts(j, ",\"when\":");
    ed_buf_json_str(j, al->when, strlen(al->when));
    ed_buf_puts(j, ",\"threshold\":");
    ed_buf_json_num(j, al->threshold);
    ed_buf_printf(j, ",\"ts\":%lld}", (long long)ed_wall_ms());
    for (int t = 0; t < al->nto; t++) {
        int slot = s->sink_slot[al->to_idx[t]];
        if (!s->alerts[slot])
            s->alerts[slot] = ed_batch_new(ED_BATCH_RECORDS, 4096);
        ed_batch_add_record(s->alerts[slot], k.data ? k.data : "", (uint32_t)k.len, j->data,
                            (uint32_t)j->len, ed_wall_ms());
    }
    ed_buf_free(&k);
    ed_stat_add(&s->stats->alerts, 1);
}

/* A too-late record of an aggregation with `late: SINK`: the input record,
 * unchanged (key, value, event time, source and position, so that the
 * sink's rejects go to the source's rejects sink), to that sink, in the
 * RECORDS batch this flush's alerts use. */
static void s_late(void *ud, uint16_t agg, const ed_record_t *rec) {
    ed_agg_actor_t *s = ud;
    const ed_config_t *conf = ed_plan_config(s->plan);
    int slot = s->sink_slot[conf->aggregations[agg].window.late_idx];
    if (!s->alerts[slot])
        s->alerts[slot] = ed_batch_new(ED_BATCH_RECORDS, 4096);
    ed_batch_add_record_at(s->alerts[slot], ed_record_key(rec), rec->key_len, ed_record_val(rec),
                           rec->val_len, rec->ts_ms, (int)rec->src - 1, ed_record_pos(rec),
                           rec->pos_len);
    if (s->alerts[slot]->count >= ED_CHANGES_PER_BATCH)
        s_send(s, slot, &s->alerts[slot]);
}

static void s_emit(void *ud, const ed_change_t *hdr, const double *delta, const double *value,
                   const double *prev, const uint8_t *key) {
    ed_agg_actor_t *s = ud;
    const ed_config_t *conf = ed_plan_config(s->plan);
    const ed_conf_aggregation_t *ca = &conf->aggregations[hdr->agg];
    ed_stat_add(&s->stats->changes, 1);
    for (int t = 0; t < ca->nto; t++) {
        int slot = s->sink_slot[ca->to_idx[t]];
        if (!s->changes[slot])
            s->changes[slot] = ed_batch_new(ED_BATCH_CHANGELOG, 128 * 1024);
        ed_batch_add_change(s->changes[slot], hdr, delta, value, key);
        if (s->changes[slot]->count >= ED_CHANGES_PER_BATCH)
            s_send(s, slot, &s->changes[slot]);
    }
    int has_prev = hdr->n > hdr->delta_n;
    for (int r = 0; r < conf->nalerts; r++) {
        const ed_conf_alert_t *al = &conf->alerts[r];
        if (al->on_idx != hdr->agg)
            continue;
        int mi = al->metric_idx;
        /* Once per crossing (the previous emitted value, restored with the
         * state after a restart, did not satisfy it); windowed: besides,
         * once per key and window (ed_aggwin_alert_once). */
        if (ed_rule_crossed(al->op, al->threshold, has_prev, prev[mi], value[mi]) &&
            (ca->window.kind == ED_WIN_NONE || ed_aggwin_alert_once(s->win, r, hdr, key)))
            s_alert(s, al, ca, hdr, value, key);
    }
}

/* Entries of state: the table's and the open session windows'. */
static size_t s_entries(const ed_agg_actor_t *s) {
    return ed_aggtable_count(s->table) +
           ed_aggsession_count(ed_aggwin_sessions(s->win), UINT16_MAX);
}

/* Bytes of state: the table's and the open session windows'. */
static size_t s_bytes(const ed_agg_actor_t *s) {
    return ed_aggtable_bytes(s->table) + ed_aggsession_bytes(ed_aggwin_sessions(s->win));
}

/* Entries and bytes of state, for the stats. */
static void s_state_stats(ed_agg_actor_t *s) {
    ed_stat_set(&s->stats->keys, s_entries(s));
    ed_stat_set(&s->stats->bytes, s_bytes(s));
}

/* The peaks of entries and bytes (taken before expiry frees the windows
 * that closed: the most state held between two flushes). Only this actor
 * writes them. */
static void s_state_peaks(ed_agg_actor_t *s) {
    uint64_t e = s_entries(s), b = s_bytes(s);
    if (e > ed_stat_get(&s->stats->entries_peak))
        ed_stat_set(&s->stats->entries_peak, e);
    if (b > ed_stat_get(&s->stats->bytes_peak))
        ed_stat_set(&s->stats->bytes_peak, b);
}

/* Writes the snapshot of checkpoint n (runtime.state_dir), or links the
 * previous one when nothing changed since. Returns -1 (and stops the
 * process) when it cannot. */
static int s_snapshot(ed_agg_actor_t *s, uint64_t n) {
    const ed_state_store_t *store = ed_plan_state(s->plan);
    if (!store)
        return 0;
    uint64_t wm = 0; /* the senders' watermarks, hashed */
    for (int i = 0; i < ed_aggwin_nsenders(s->win); i++)
        wm = (wm ^ (uint64_t)ed_aggwin_sender_watermark(s->win, i)) * 0x100000001b3ull;
    size_t count = s_entries(s);
    char err[512];
    if (s->saved && !s->changed && wm == s->saved_wm && count == s->saved_count &&
        ed_state_store_link(store, s->idx, s->saved, n, err, sizeof err) == 0)
        return 0;
    if (ed_state_store_save(store, s->idx, n, s->table, s->win, NULL, err, sizeof err) < 0) {
        ED_LOG_E(ed_actor_name(s->self), "%s; stopping (checkpoint %llu is not committed)", err,
                 (unsigned long long)n);
        ed_actor_shutdown(s->self, 1, "a state snapshot could not be written");
        return -1;
    }
    s->saved = n;
    s->saved_wm = wm;
    s->saved_count = count;
    s->changed = 0;
    return 0;
}

/* Flushes checkpoint n: the changelog, expiry, the snapshot (with
 * runtime.state_dir), then barrier n to the sinks. Returns -1 when the
 * snapshot cannot be written: the barrier is not forwarded, so n is never
 * committed, and the process stops (input positions stay where the last
 * snapshot is). */
static int s_flush(ed_agg_actor_t *s, uint64_t n, uint32_t flags) {
    ed_aggtable_flush(s->table, s_emit, s);
    ed_agg_stats_t *st = s->stats;
    s_state_peaks(s);
    ed_aggwin_expire(s->win, s->table, ed_wall_ms(), st, s_emit, s);
    s_state_stats(s);
    if (s_snapshot(s, n) < 0)
        return -1;
    for (int i = 0; i < s->ndownstream; i++) {
        s_send(s, i, &s->changes[i]);
        s_send(s, i, &s->alerts[i]);
        ed_msg_t *m = ed_checkpoint_msg(ED_MSG_BARRIER, n, flags, 0);
        ed_actor_send(s->self, s->downstream[i], &m);
    }
    s->flushed = n;
    return 0;
}

/* The index of sender `from` among the plan's senders, or -1. */
static int s_upstream(const ed_agg_actor_t *s, uint32_t from) {
    for (int i = 0; i < s->nupstream; i++)
        if (s->upstream[i] == from)
            return i;
    return -1;
}

/* Handles one batch or barrier of sender `up` that is not held back. */
static void s_handle(ed_agg_actor_t *s, int up, const ed_msg_t *m) {
    if (m->type == ED_MSG_BATCH) {
        s->changed = 1;
        ed_aggwin_batch(s->win, s->table, up, m, ed_wall_ms(), s->stats, s_late, s);
        ed_stat_add(&s->stats->records, m->batch->count);
        return;
    }
    /* Checkpoint n is complete here once every upstream has sent barrier
     * n; each sender's data before its barrier is already in the table
     * (FIFO per sender) and its data after it is held (s_on_message). */
    ed_aggwin_barrier(s->win, up, m);
    s->upstream_ckpt[up] = m->seq;
    uint64_t lowest = UINT64_MAX;
    for (int i = 0; i < s->nupstream; i++)
        if (s->upstream_ckpt[i] < lowest)
            lowest = s->upstream_ckpt[i];
    /* A barrier's flags (final, input end) belong to its own checkpoint;
     * checkpoints completed on the way to it carry none. */
    while (s->flushed < lowest)
        if (s_flush(s, s->flushed + 1,
                    s->flushed + 1 == m->seq ? m->flags & (ED_MSG_F_FINAL | ED_MSG_F_INPUT_END)
                                             : 0) < 0)
            break;
}

/* Queues *msg_p (taken) behind sender up's held messages. */
static void s_hold(ed_agg_actor_t *s, int up, ed_msg_t **msg_p) {
    s_held_t *h = &s->held[up];
    if (h->head + h->n == h->cap) {
        if (h->head) {
            memmove(h->q, h->q + h->head, h->n * sizeof *h->q);
            h->head = 0;
        } else {
            h->cap = h->cap ? h->cap * 2 : 16;
            h->q = ed_realloc(h->q, h->cap * sizeof *h->q);
        }
    }
    h->q[h->head + h->n++] = *msg_p;
    *msg_p = NULL;
}

/* Handles the held messages that may go now: those of senders whose last
 * barrier is flushed, in order, until one of them is ahead again. */
static void s_release(ed_agg_actor_t *s) {
    for (int progress = 1; progress;) {
        progress = 0;
        for (int i = 0; i < s->nupstream; i++) {
            s_held_t *h = &s->held[i];
            while (h->n && s->upstream_ckpt[i] <= s->flushed) {
                ed_msg_t *m = h->q[h->head];
                h->head++;
                if (--h->n == 0)
                    h->head = 0;
                s_handle(s, i, m);
                ed_msg_destroy(&m);
                progress = 1;
            }
        }
    }
}

static int s_on_message(ed_actor_t *a, ed_msg_t **msg_p) {
    ed_agg_actor_t *s = ed_actor_state(a);
    ed_msg_t *m = *msg_p;
    int up = s_upstream(s, m->from);
    if (up < 0 || (m->type != ED_MSG_BATCH && m->type != ED_MSG_BARRIER)) {
        ED_LOG_W(ed_actor_name(a), "unexpected message type %d", (int)m->type);
        return 0;
    }
    /* Barrier alignment: a sender that sent barrier n before the others did
     * is held until n completes, so flush n (and its snapshot) covers
     * exactly the input before the positions committed at n. */
    if (s->upstream_ckpt[up] > s->flushed || s->held[up].n) {
        s_hold(s, up, msg_p);
        return 0;
    }
    s_handle(s, up, m);
    s_release(s);
    return 0;
}

static int s_init(ed_actor_t *a, char *errstr, size_t errstr_size) {
    ed_agg_actor_t *s = ed_actor_state(a);
    s->self = a;
    return 0;
}

const ed_actor_type_t ed_agg_actor = {
    .name = "aggregator", .init = s_init, .on_message = s_on_message, .on_tick = NULL, .stop = NULL};

/* Maps each config sink an aggregation or alert writes to onto its link;
 * -1 if one has none (then the plan is wrong). */
static int s_route(ed_agg_actor_t *s, const ed_config_t *conf, char *errstr, size_t errstr_size) {
    for (int k = 0; k < conf->nsinks; k++) {
        s->sink_slot[k] = -1;
        for (int i = 0; i < s->ndownstream; i++)
            if (s->downstream[i] == ed_plan_sink_id(s->plan, k))
                s->sink_slot[k] = i;
    }
    for (int a = 0; a < conf->naggregations; a++)
        for (int t = 0; t < conf->aggregations[a].nto; t++)
            if (s->sink_slot[conf->aggregations[a].to_idx[t]] < 0)
                return ed_seterr(errstr, errstr_size, ED_ERR,
                                 "plan: aggregator %d has no link to sink '%s' of aggregation "
                                 "'%s'", s->idx, conf->aggregations[a].to[t],
                                 conf->aggregations[a].name);
    for (int a = 0; a < conf->naggregations; a++)
        if (conf->aggregations[a].window.late == ED_WLATE_SINK &&
            s->sink_slot[conf->aggregations[a].window.late_idx] < 0)
            return ed_seterr(errstr, errstr_size, ED_ERR,
                             "plan: aggregator %d has no link to sink '%s', the late sink of "
                             "aggregation '%s'",
                             s->idx, conf->aggregations[a].window.late_sink,
                             conf->aggregations[a].name);
    for (int r = 0; r < conf->nalerts; r++)
        for (int t = 0; t < conf->alerts[r].nto && conf->alerts[r].on_idx >= 0; t++)
            if (s->sink_slot[conf->alerts[r].to_idx[t]] < 0)
                return ed_seterr(errstr, errstr_size, ED_ERR,
                                 "plan: aggregator %d has no link to sink '%s' of alert '%s'",
                                 s->idx, conf->alerts[r].to[t], conf->alerts[r].name);
    return 0;
}

/* Restores the committed snapshot of this partition (runtime.state_dir). */
static int s_restore(ed_agg_actor_t *s, char *errstr, size_t errstr_size) {
    const ed_state_store_t *store = ed_plan_state(s->plan);
    if (!store)
        return 0;
    char from[96];
    if (!ed_state_store_restored(store, from, sizeof from))
        return 0;
    int64_t t0 = ed_now_ms();
    size_t entries = 0;
    if (ed_state_store_restore(store, s->idx, s->table, s->win, &entries, errstr, errstr_size) < 0)
        return -1;
    s_state_stats(s);
    ED_LOG_I("aggregator", "partition %d: restored %zu entries (%s) in %lld ms", s->idx, entries,
             from, (long long)(ed_now_ms() - t0));
    return 0;
}

ed_agg_actor_t *ed_agg_actor_new(ed_plan_t *plan, int p, char *errstr, size_t errstr_size) {
    const ed_config_t *conf = ed_plan_config(plan);
    ed_agg_actor_t *s = ed_calloc(1, sizeof *s);
    s->plan = plan;
    s->idx = p;
    s->stats = ed_plan_agg_stats(plan, p);
    ed_aggspec_t *specs = ed_calloc((size_t)conf->naggregations + 1, sizeof *specs);
    const ed_aggfn_t ***fns = ed_calloc((size_t)conf->naggregations + 1, sizeof *fns);
    for (int a = 0; a < conf->naggregations; a++) {
        const ed_conf_aggregation_t *ca = &conf->aggregations[a];
        fns[a] = ed_calloc((size_t)ca->ncompute + 1, sizeof **fns);
        for (int c = 0; c < ca->ncompute; c++)
            fns[a][c] = ca->compute[c].fn;
        specs[a] = (ed_aggspec_t){.ncompute = ca->ncompute, .fns = fns[a]};
    }
    s->table = ed_aggtable_new(specs, conf->naggregations);
    for (int a = 0; a < conf->naggregations; a++)
        if (conf->aggregations[a].window.kind != ED_WIN_NONE &&
            conf->aggregations[a].window.emit == ED_EMIT_ON_CLOSE)
            ed_aggtable_set_on_close(s->table, (uint16_t)a);
    for (int a = 0; a < conf->naggregations; a++)
        free(fns[a]);
    free(fns);
    free(specs);
    uint32_t self = ed_plan_agg_id(plan, p);
    s->nupstream = ed_plan_senders(plan, self, &s->upstream);
    s->upstream_ckpt = ed_calloc((size_t)s->nupstream + 1, sizeof *s->upstream_ckpt);
    s->held = ed_calloc((size_t)s->nupstream + 1, sizeof *s->held);
    s->ndownstream = ed_plan_receivers_of(plan, self, ED_LINK_CHANGES, NULL, 0);
    s->downstream = ed_calloc((size_t)s->ndownstream + 1, sizeof *s->downstream);
    ed_plan_receivers_of(plan, self, ED_LINK_CHANGES, s->downstream, s->ndownstream);
    s->sink_slot = ed_calloc((size_t)conf->nsinks + 1, sizeof *s->sink_slot);
    s->changes = ed_calloc((size_t)s->ndownstream + 1, sizeof *s->changes);
    s->alerts = ed_calloc((size_t)s->ndownstream + 1, sizeof *s->alerts);
    s->win = ed_aggwin_new(plan, self, s->upstream, s->nupstream, errstr, errstr_size);
    if (!s->win || s_route(s, conf, errstr, errstr_size) < 0 || s_restore(s, errstr, errstr_size) < 0)
        ed_agg_actor_destroy(&s);
    return s;
}

void ed_agg_actor_destroy(ed_agg_actor_t **s_p) {
    ed_agg_actor_t *s = *s_p;
    if (!s)
        return;
    ed_aggtable_destroy(&s->table);
    ed_aggwin_destroy(&s->win);
    for (int i = 0; i < s->ndownstream; i++) {
        ed_batch_destroy(&s->changes[i]);
        ed_batch_destroy(&s->alerts[i]);
    }
    free(s->changes);
    free(s->alerts);
    for (int i = 0; s->held && i < s->nupstream; i++) {
        for (size_t k = 0; k < s->held[i].n; k++)
            ed_msg_destroy(&s->held[i].q[s->held[i].head + k]);
        free(s->held[i].q);
    }
    free(s->held);
    free(s->upstream_ckpt);
    free(s->downstream);
    free(s->sink_slot);
    ed_buf_free(&s->json);
    free(s);
    *s_p = NULL;
}
