/* ed_sink_actor.c — see ed_sink_actor.h. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sinks/ed_sink_actor.h"

#include "actors/ed_checkpoint.h"
#include "actors/ed_eo.h"
#include "actors/ed_payload.h"

typedef struct ed_pending {
    uint64_t n;
    int barriers;   /* barriers received for n */
    uint32_t flags; /* ED_MSG_F_FINAL seen */
    ed_batch_t **changes;
    int nchanges, capchanges;
    ed_batch_t **records;
    int nrecords, caprecords;
    uint64_t rows;
    ed_batch_t *rejects; /* documents of the records the plugin refused, to route */
} ed_pending_t;

struct ed_sink_actor {
    ed_plan_t *plan;
    int idx; /* config sink index */
    ed_actor_t *self;
    const ed_conf_sink_t *conf;
    const ed_sink_type_t *type;
    void *ctx;
    ed_sink_ctx_t sc;
    const uint32_t *upstream; /* actor ids that send to this sink (the plan's) */
    uint64_t *upstream_ckpt; /* last barrier from each */
    int nupstream;
    ed_pending_t *pend;      /* ring of checkpoints base .. base+npend-1 */
    int npend, cappend;
    uint64_t base;           /* oldest checkpoint not yet written */
    int64_t backoff_ms;
    int64_t retry_at;
    int failing;             /* consecutive failed attempts of the oldest flush */
    char last_err[512];
    ed_sink_stats_t stats;   /* the plugin's counters, published to the plan's after each
                                write (the plugin writes plain fields; readers need atomics) */
    uint32_t *reject_to;     /* per config source: the actor id of the sink taking the
                                records this sink refuses, 0 = none (ed_config_reject_route) */
    int routes;              /* 1 if any reject_to is set */
};

/* Publishes the plugin's counters to the plan's copy, which other threads
 * read live (ed_plan.h, Threads). */
static void s_publish(ed_sink_actor_t *s) {
    ed_sink_stats_t *st = ed_plan_sink_stats(s->plan, s->idx);
    ed_stat_set(&st->rows_written, s->stats.rows_written);
    ed_stat_set(&st->rows_rejected, s->stats.rows_rejected);
    ed_stat_set(&st->statements, s->stats.statements);
    ed_stat_set(&st->reconnects, s->stats.reconnects);
}

/* Records the outcome of a write attempt for the live figures: err is the
 * failure, NULL after a success that took `ms`. */
static void s_outcome(ed_sink_actor_t *s, const char *err, int64_t ms) {
    ed_sink_live_t *lv = ed_plan_sink_live(s->plan, s->idx);
    s_publish(s);
    if (err) {
        ed_stat_add(&lv->retries, 1);
        ed_stat_set(&lv->failing, (uint64_t)s->failing);
    } else {
        ed_stat_add(&lv->writes, 1);
        ed_hist_add(&lv->write_ms, ms, 1);
        ed_stat_set(&lv->failing, 0);
    }
    pthread_mutex_lock(&lv->lock);
    snprintf(lv->last_err, sizeof lv->last_err, "%s", err ? err : "");
    pthread_mutex_unlock(&lv->lock);
}

static ed_pending_t *s_pending(ed_sink_actor_t *s, uint64_t n) {
    while (s->base + (uint64_t)s->npend <= n) {
        if (s->npend == s->cappend) {
            s->cappend = s->cappend ? s->cappend * 2 : 8;
            s->pend = ed_realloc(s->pend, sizeof *s->pend * (size_t)s->cappend);
        }
        ed_pending_t *p = &s->pend[s->npend];
        memset(p, 0, sizeof *p);
        p->n = s->base + (uint64_t)s->npend;
        s->npend++;
    }
    return &s->pend[n - s->base];
}

static void s_pending_free(ed_pending_t *p) {
    for (int i = 0; i < p->nchanges; i++)
        ed_batch_destroy(&p->changes[i]);
    for (int i = 0; i < p->nrecords; i++)
        ed_batch_destroy(&p->records[i]);
    free(p->changes);
    free(p->records);
    ed_batch_destroy(&p->rejects);
    memset(p, 0, sizeof *p);
}

static int s_upstream_slot(ed_sink_actor_t *s, uint32_t from) {
    for (int i = 0; i < s->nupstream; i++)
        if (s->upstream[i] == from)
            return i;
    return -1;
}

/* Sends the refused records of flush p to the rejects sinks of their
 * sources, then barrier p->n on every link of this sink (the rejects sinks
 * wait for it before they write that checkpoint). */
static void s_forward(ed_sink_actor_t *s, ed_pending_t *p) {
    if (!s->routes)
        return;
    const ed_config_t *conf = ed_plan_config(s->plan);
    if (p->rejects) {
        for (int i = 0; i < conf->nsources; i++) {
            if (!s->reject_to[i])
                continue;
            ed_batch_t *out = NULL;
            ed_batch_iter_t it;
            ed_batch_iter_init(&it, p->rejects);
            const ed_record_t *r;
            while ((r = ed_batch_next_record(&it)))
                if (r->src == i + 1) {
                    if (!out)
                        out = ed_batch_new(ED_BATCH_RECORDS, 4096);
                    ed_batch_add_record_at(out, ed_record_key(r), r->key_len, ed_record_val(r),
                                           r->val_len, r->ts_ms, i, ed_record_pos(r), r->pos_len);
                }
            if (out) {
                ed_msg_t *m = ed_msg_new_batch(ED_MSG_BATCH, &out);
                ed_actor_send(s->self, s->reject_to[i], &m);
            }
        }
    }
    ed_plan_send_barriers(s->plan, s->self, p->n, p->flags);
}

/* Writes complete flushes in order; returns after the first that fails. */
static void s_drain(ed_sink_actor_t *s) {
    while (s->npend && s->pend[0].barriers >= s->nupstream) {
        if (ed_now_ms() < s->retry_at) {
            ed_actor_wake_at(s->self, s->retry_at);
            return;
        }
        ed_pending_t *p = &s->pend[0];
        ed_sink_flush_t f = {.checkpoint = p->n,
                             .changes = p->changes,
                             .nchanges = p->nchanges,
                             .records = p->records,
                             .nrecords = p->nrecords,
                             .rows = p->rows,
                             .rejects = s->routes ? &p->rejects : NULL};
        /* exactly_once: the flush's id and positions go into its transaction. */
        ed_eo_t *eo = ed_plan_eo(s->plan);
        int skipped = 0;
        char *positions = eo && p->rows ? ed_eo_positions(eo, p->n) : NULL;
        ed_sink_eo_t seo = {.pipeline = eo ? ed_eo_pipeline(eo) : NULL,
                            .id = eo ? ed_eo_id(eo, p->n) : 0,
                            .positions = positions,
                            .skipped = &skipped};
        if (positions)
            f.eo = &seo;
        char err[512] = "";
        int64_t t0 = ed_now_ms();
        if (p->rows)
            ed_crash_point("sink_before_write");
        uint64_t written = s->stats.rows_written;
        ed_write_result_t r =
            p->rows ? s->type->write(s->ctx, &f, &s->stats, err, sizeof err) : ED_WRITE_OK;
        free(positions);
        if (skipped) /* nothing was written */
            s->stats.rows_written = written;
        if (skipped)
            ED_LOG_I(s->conf->name,
                     "flush %llu (checkpoint id %llu, %llu rows) was applied before the restart: "
                     "skipped (exactly_once)",
                     (unsigned long long)p->n, (unsigned long long)seo.id,
                     (unsigned long long)p->rows);
        if (p->rows && r == ED_WRITE_OK)
            ed_crash_point("sink_after_write");
        if (p->rows)
            s_outcome(s, r == ED_WRITE_RETRY ? err : NULL, ed_now_ms() - t0);
        if (r == ED_WRITE_RETRY) {
            s->failing++;
            ed_stat_set(&ed_plan_sink_live(s->plan, s->idx)->failing, (uint64_t)s->failing);
            if (s->failing == 1 || s->failing % 10 == 0 || strcmp(err, s->last_err) != 0)
                ED_LOG_W(s->conf->name,
                         "flush %llu (%llu rows) not written: %s (next attempt in %lld ms, "
                         "attempt %d; input is held back meanwhile)",
                         (unsigned long long)p->n, (unsigned long long)p->rows, err,
                         (long long)s->backoff_ms, s->failing);
            snprintf(s->last_err, sizeof s->last_err, "%s", err);
            s->retry_at = ed_now_ms() + s->backoff_ms;
            s->backoff_ms *= 2;
            if (s->backoff_ms > s->conf->retry_max_ms)
                s->backoff_ms = s->conf->retry_max_ms;
            ed_actor_wake_at(s->self, s->retry_at);
            return;
        }
        if (r == ED_WRITE_DROP) {
            /* The plugin counted exactly what it refused in rows_rejected. */
            ED_LOG_E(s->conf->name, "flush %llu (%llu rows): rows rejected for good: %s",
                     (unsigned long long)p->n, (unsigned long long)p->rows, err);
        }
        if (s->failing)
            ED_LOG_I(s->conf->name, "flush %llu written after %d failed attempts",
                     (unsigned long long)p->n, s->failing);
        s->failing = 0;
        s->last_err[0] = 0;
        s->backoff_ms = 100;
        s->retry_at = 0;
        ed_sink_live_t *lv = ed_plan_sink_live(s->plan, s->idx);
        ed_stat_set(&lv->durable, p->n);
        ed_stat_set_i64(&lv->durable_wall_ms, ed_wall_ms());
        s_forward(s, p);
        ed_msg_t *ack = ed_checkpoint_msg(ED_MSG_ACK, p->n, p->flags, (int64_t)p->rows);
        ed_actor_send(s->self, ed_plan_coordinator(s->plan), &ack);
        s_pending_free(p);
        memmove(&s->pend[0], &s->pend[1], sizeof *s->pend * (size_t)(s->npend - 1));
        s->npend--;
        s->base++;
    }
}

static int s_on_message(ed_actor_t *a, ed_msg_t **msg_p) {
    ed_sink_actor_t *s = ed_actor_state(a);
    ed_msg_t *m = *msg_p;
    int slot = s_upstream_slot(s, m->from);
    if (slot < 0) {
        ED_LOG_W(s->conf->name, "message from unexpected actor %u ignored", m->from);
        return 0;
    }
    /* FIFO per sender: a batch belongs to the checkpoint after the last
     * barrier that sender sent. */
    uint64_t n = s->upstream_ckpt[slot] + 1;
    if (m->type == ED_MSG_BARRIER) {
        s->upstream_ckpt[slot] = m->seq;
        ed_pending_t *p = s_pending(s, m->seq);
        p->barriers++;
        p->flags |= m->flags;
        s_drain(s);
        return 0;
    }
    if (m->type != ED_MSG_BATCH)
        return 0;
    ed_pending_t *p = s_pending(s, n);
    ed_batch_t *b = m->batch;
    m->batch = NULL; /* the pending flush owns it now */
    p->rows += b->count;
    if (b->kind == ED_BATCH_CHANGELOG) {
        if (p->nchanges == p->capchanges) {
            p->capchanges = p->capchanges ? p->capchanges * 2 : 8;
            p->changes = ed_realloc(p->changes, sizeof *p->changes * (size_t)p->capchanges);
        }
        p->changes[p->nchanges++] = b;
    } else {
        if (p->nrecords == p->caprecords) {
            p->caprecords = p->caprecords ? p->caprecords * 2 : 8;
            p->records = ed_realloc(p->records, sizeof *p->records * (size_t)p->caprecords);
        }
        p->records[p->nrecords++] = b;
    }
    return 0;
}

static int s_on_tick(ed_actor_t *a, int64_t now) {
    ed_sink_actor_t *s = ed_actor_state(a);
    s_drain(s);
    return 0;
}

static int s_init(ed_actor_t *a, char *errstr, size_t errstr_size) {
    ed_sink_actor_t *s = ed_actor_state(a);
    s->self = a;
    if (!s->backoff_ms)
        s->backoff_ms = 100;
    if (s->ctx)
        return 0;
    char err[512] = "";
    int rc = s->type->init(&s->ctx, &s->sc, err, sizeof err);
    if (rc < 0)
        return ed_seterr(errstr, errstr_size, rc, "sink '%s' (%s:%d:%d): %s", s->conf->name,
                         s->conf->pos.file, s->conf->pos.line, s->conf->pos.col, err);
    return 0;
}

static void s_stop(ed_actor_t *a) {
    ed_sink_actor_t *s = ed_actor_state(a);
    if (s->ctx)
        s->type->destroy(&s->ctx);
}

const ed_actor_type_t ed_sink_actor = {.name = "sink",
                                       .init = s_init,
                                       .on_message = s_on_message,
                                       .on_tick = s_on_tick,
                                       .stop = s_stop};

ed_sink_actor_t *ed_sink_actor_new(ed_plan_t *plan, int k, const ed_sink_type_t *type,
                                   char *errstr, size_t errstr_size) {
    const ed_config_t *conf = ed_plan_config(plan);
    ed_sink_actor_t *s = ed_calloc(1, sizeof *s);
    s->plan = plan;
    s->idx = k;
    s->conf = &conf->sinks[k];
    s->type = type;
    s->sc = (ed_sink_ctx_t){.conf = conf,
                            .sink = s->conf,
                            .agg = s->conf->from_agg >= 0 ? &conf->aggregations[s->conf->from_agg]
                                                          : NULL};
    s->nupstream = ed_plan_senders(plan, ed_plan_sink_id(plan, k), &s->upstream);
    s->upstream_ckpt = ed_calloc((size_t)s->nupstream + 1, sizeof *s->upstream_ckpt);
    s->reject_to = ed_calloc((size_t)conf->nsources + 1, sizeof *s->reject_to);
    for (int i = 0; i < conf->nsources; i++) {
        int to = ed_config_reject_route(conf, k, i);
        if (to >= 0) {
            s->reject_to[i] = ed_plan_sink_id(plan, to);
            s->routes = 1;
        }
    }
    s->base = 1;
    return s;
}

void ed_sink_actor_destroy(ed_sink_actor_t **s_p) {
    ed_sink_actor_t *s = *s_p;
    if (!s)
        return;
    if (s->ctx)
        s->type->destroy(&s->ctx);
    for (int i = 0; i < s->npend; i++)
        s_pending_free(&s->pend[i]);
    free(s->pend);
    free(s->upstream_ckpt);
    free(s->reject_to);
    free(s);
    *s_p = NULL;
}
