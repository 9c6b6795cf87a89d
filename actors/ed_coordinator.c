/*
 * ed_coordinator.c — the checkpoint coordinator.
 *
 * Every flush_interval it starts checkpoint n by sending BARRIER n to every
 * source. When every sink has acked n (its writes for n are durable), it
 * sends COMMIT n to every source, which commits the input positions
 * snapshotted at barrier n: at-least-once. With runtime.max_inflight
 * checkpoints un-acked (a sink is failing or slow) it pauses the sources, so
 * input is held back and memory stays bounded; it resumes them when acks
 * catch up.
 *
 * Shutdown drains: on SIGINT/SIGTERM (ed_plan_stop_requested), when every
 * source reached its end, or after --exit-when-idle of no input with
 * everything acked, it sends a FINAL barrier; sources stop reading, the
 * final flush is written and acked, sources commit, then the runtime stops
 * with exit code 0 (1 if a source could not commit its positions: a restart
 * then reads that input again).
 *
 * With runtime.state_dir, a checkpoint every sink acked is also the
 * aggregators' last complete snapshot: the coordinator writes the COMMITTED
 * marker (actors/aggregate/ed_state_store.h) before it tells the sources to
 * commit.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/ed_coordinator.h"

#include "actors/aggregate/ed_state_store.h"
#include "actors/ed_checkpoint.h"
#include "actors/ed_eo.h"
#include "actors/ed_payload.h"

/* A checkpoint in flight: sink acks and source statuses so far, and what
 * the statuses said. It completes when every sink acked it and every source
 * reported on it (statuses are sent at the barrier, long before acks). */
typedef struct {
    int acks;
    int statuses;
    uint64_t inputs; /* inputs read during it, all sources */
    int eof;         /* sources that reported their end */
    int not_ready;   /* sources that cannot deliver yet (Kafka: no partitions) */
    ed_batch_t *times; /* TIMES: produce times of its inputs, all sources (owned) */
    int64_t start_ms;  /* ed_now_ms() when it started (checkpoint duration) */
} ed_ckpt_t;

struct ed_coordinator {
    ed_plan_t *plan;
    ed_actor_t *self;
    int64_t flush_interval_ms;
    int max_inflight;
    uint64_t started;   /* last checkpoint started */
    uint64_t completed; /* last checkpoint acked by every sink */
    ed_ckpt_t *pend;    /* pend[n - completed - 1] for started, not completed checkpoints */
    int cappend;
    int nsinks, nsources;
    int paused;
    int draining;
    uint64_t final_n;
    int committed_final; /* sources that answered the final commit */
    int final_failed;    /* of them, those that could not commit it (exit status 1) */
    int64_t next_ckpt_ms;
    int64_t idle_since_ms;      /* when a complete checkpoint first showed no input from any
                                   source (all ready); 0 while input flows */
    uint64_t last_input_ckpt;   /* checkpoint covering the latest reported input */
    int eof_sources;            /* sources that reported EOF at the last completed checkpoint */
};
typedef struct ed_coordinator ed_coord_t;

static void s_record_latency(ed_coord_t *c, ed_batch_t **times_p) {
    if (!*times_p)
        return;
    int64_t now = ed_wall_ms();
    ed_batch_iter_t it;
    ed_batch_iter_init(&it, *times_p);
    const ed_tscount_t *t;
    while ((t = ed_batch_next_time(&it)))
        ed_hist_add(&ed_plan_run_stats(c->plan)->latency, now - t->ts_ms, t->count);
    ed_batch_destroy(times_p);
}

static void s_broadcast(ed_coord_t *c, ed_msg_type_t type, uint64_t n, uint32_t flags,
                        int64_t value) {
    for (int i = 0; i < c->nsources; i++) {
        ed_msg_t *m = ed_checkpoint_msg(type, n, flags, value);
        ed_actor_send(c->self, ed_plan_source_id(c->plan, i), &m);
    }
}

static void s_start_checkpoint(ed_coord_t *c, uint32_t flags) {
    uint64_t n = ++c->started;
    uint64_t inflight = c->started - c->completed;
    if ((int)inflight > c->cappend) {
        c->pend = ed_realloc(c->pend, sizeof *c->pend * (size_t)(c->cappend * 2));
        memset(c->pend + c->cappend, 0, sizeof *c->pend * (size_t)c->cappend);
        c->cappend *= 2;
    }
    c->pend[inflight - 1] = (ed_ckpt_t){.start_ms = ed_now_ms()};
    if (flags & ED_MSG_F_FINAL) {
        c->draining = 1;
        c->final_n = n;
    }
    s_broadcast(c, ED_MSG_BARRIER, n, flags, 0);
}

/* `flags` adds ED_MSG_F_INPUT_END when the input ended (every source at its
 * end, or --exit-when-idle): watermarks then go to the end and every window
 * closes. A signal stops without it, leaving open windows open. */
static void s_begin_drain(ed_coord_t *c, const char *why, uint32_t flags) {
    if (c->draining)
        return;
    ED_LOG_I("coordinator", "draining: %s; writing the final flush and committing input positions",
             why);
    if (c->paused) {
        c->paused = 0;
        s_broadcast(c, ED_MSG_PAUSE, 0, 0, 0);
    }
    s_start_checkpoint(c, ED_MSG_F_FINAL | flags);
}

static int s_on_tick(ed_actor_t *a, int64_t now) {
    ed_coord_t *c = ed_actor_state(a);
    ed_plan_t *plan = c->plan;
    int64_t idle_ms = ed_plan_exit_when_idle_ms(plan);
    if (!c->draining && ed_plan_stop_requested(plan))
        s_begin_drain(c, "signal received", 0);
    /* Idle only on evidence: a completed checkpoint during which no ready
     * source read anything, then the whole idle duration more. */
    if (!c->draining && idle_ms > 0 && c->idle_since_ms && c->completed >= c->last_input_ckpt &&
        now - c->idle_since_ms >= idle_ms) {
        char why[128];
        snprintf(why, sizeof why, "no new input for %lld ms and every flush acked",
                 (long long)idle_ms);
        s_begin_drain(c, why, ED_MSG_F_INPUT_END);
    }
    if (!c->draining && c->eof_sources == c->nsources && c->completed >= c->last_input_ckpt)
        s_begin_drain(c, "every source reached its end", ED_MSG_F_INPUT_END);
    if (!c->draining && now >= c->next_ckpt_ms) {
        int inflight = (int)(c->started - c->completed);
        if (inflight < c->max_inflight) {
            s_start_checkpoint(c, 0);
        } else if (!c->paused) {
            c->paused = 1;
            ED_LOG_W("coordinator",
                     "%d flushes not yet acked by every sink; pausing sources (backpressure)",
                     inflight);
            s_broadcast(c, ED_MSG_PAUSE, 0, 0, 1);
        }
        c->next_ckpt_ms = now + c->flush_interval_ms;
    }
    /* Tick often enough to notice signals promptly. */
    int64_t next = c->next_ckpt_ms;
    if (next > now + 100)
        next = now + 100;
    ed_actor_wake_at(a, next);
    return 0;
}

/* Completes checkpoints in order once every sink acked and every source
 * reported: records latency (produce time → now, when the flush is durable
 * everywhere), updates idleness and end-of-input, tells sources to commit,
 * and resumes paused sources when acks caught up. */
static void s_complete(ed_coord_t *c) {
    while (c->completed < c->started && c->pend[0].acks >= c->nsinks &&
           c->pend[0].statuses >= c->nsources) {
        ed_ckpt_t *k = &c->pend[0];
        c->completed++;
        c->eof_sources = k->eof; /* EOF is sticky: the latest count is the count */
        if (k->inputs || k->not_ready)
            c->idle_since_ms = 0;
        else if (!c->idle_since_ms)
            c->idle_since_ms = ed_now_ms();
        s_record_latency(c, &k->times);
        int64_t now = ed_now_ms();
        ed_run_stats_t *run = ed_plan_run_stats(c->plan);
        ed_hist_add(&run->checkpoint_ms, now - k->start_ms, 1);
        memmove(c->pend, c->pend + 1, sizeof *c->pend * (size_t)(c->cappend - 1));
        c->pend[c->cappend - 1] = (ed_ckpt_t){0};
        ed_stat_set(&run->checkpoints, c->completed);
        ed_stat_set_i64(&run->durable_wall_ms, ed_wall_ms());
        if (c->completed == c->last_input_ckpt)
            ed_stat_set_i64(&run->active_end_ms, now);
        /* The marker before the offsets: a crash between the two restores
         * state n and re-reads from offsets at or before n (at-least-once);
         * the other order could restore older state than the offsets. */
        char err[512];
        ed_state_store_t *store = ed_plan_state(c->plan);
        if (store && ed_state_store_commit(store, c->completed, err, sizeof err) < 0) {
            ED_LOG_E("coordinator", "%s; stopping without committing input positions", err);
            ed_actor_shutdown(c->self, 1, "the state marker could not be written");
            return;
        }
        if (ed_plan_eo(c->plan)) /* every sink has n: older positions are not needed */
            ed_eo_release(ed_plan_eo(c->plan), c->completed);
        s_broadcast(c, ED_MSG_COMMIT, c->completed,
                    c->completed == c->final_n ? ED_MSG_F_FINAL : 0, 0);
    }
    if (c->paused && (int)(c->started - c->completed) < c->max_inflight) {
        c->paused = 0;
        ED_LOG_I("coordinator", "sinks caught up; resuming sources");
        s_broadcast(c, ED_MSG_PAUSE, 0, 0, 0);
    }
}

static int s_on_message(ed_actor_t *a, ed_msg_t **msg_p) {
    ed_coord_t *c = ed_actor_state(a);
    ed_msg_t *m = *msg_p;
    int64_t now = ed_now_ms();
    switch (m->type) {
    case ED_MSG_ACK: {
        if (m->seq <= c->completed || m->seq > c->started)
            break;
        c->pend[m->seq - c->completed - 1].acks++;
        s_complete(c);
        break;
    }
    case ED_MSG_SOURCE_STATUS: {
        if (m->seq == 0) {
            /* A source just reached its end, or needs a checkpoint now
             * (Kafka commit on revoke): start one at once rather than at
             * the next flush interval. */
            c->next_ckpt_ms = now;
            break;
        }
        if (m->seq <= c->completed || m->seq > c->started) {
            ED_LOG_W("coordinator", "status for checkpoint %llu outside %llu..%llu ignored",
                     (unsigned long long)m->seq, (unsigned long long)c->completed + 1,
                     (unsigned long long)c->started);
            break;
        }
        ed_ckpt_t *k = &c->pend[m->seq - c->completed - 1];
        if (m->batch) {
            ed_batch_iter_t it;
            ed_batch_iter_init(&it, m->batch);
            const ed_tscount_t *t;
            while ((t = ed_batch_next_time(&it)))
                ed_batch_add_time(&k->times, t->ts_ms, t->count);
        }
        k->statuses++;
        k->inputs += (uint64_t)(m->value > 0 ? m->value : 0);
        k->eof += (m->flags & ED_MSG_F_EOF) != 0;
        k->not_ready += (m->flags & ED_MSG_F_NOT_READY) != 0;
        if (m->value > 0 && m->seq > c->last_input_ckpt)
            c->last_input_ckpt = m->seq;
        s_complete(c);
        break;
    }
    case ED_MSG_COMMITTED:
        if (!c->draining || m->seq != c->final_n)
            break;
        c->final_failed += m->value < 0;
        if (++c->committed_final < c->nsources)
            break;
        if (c->final_failed) {
            ED_LOG_E("coordinator", "final checkpoint %llu: %d source(s) could not commit their "
                     "input positions (logged above); exiting with status 1",
                     (unsigned long long)c->final_n, c->final_failed);
            ed_actor_shutdown(a, 1, "input positions not committed");
        } else {
            ED_LOG_I("coordinator", "final checkpoint %llu committed; exiting",
                     (unsigned long long)c->final_n);
            ed_actor_shutdown(a, 0, "drained");
        }
        break;
    default:
        break;
    }
    return 0;
}

static int s_init(ed_actor_t *a, char *errstr, size_t errstr_size) {
    ed_coord_t *c = ed_actor_state(a);
    c->self = a;
    int64_t now = ed_now_ms();
    c->next_ckpt_ms = now + c->flush_interval_ms;
    ed_actor_wake_at(a, now + 100);
    return 0;
}

const ed_actor_type_t ed_coordinator_actor = {
    .name = "coordinator", .init = s_init, .on_message = s_on_message, .on_tick = s_on_tick};

ed_coordinator_t *ed_coordinator_new(ed_plan_t *plan) {
    const ed_config_t *conf = ed_plan_config(plan);
    ed_coord_t *c = ed_calloc(1, sizeof *c);
    c->plan = plan;
    c->flush_interval_ms = conf->runtime.flush_interval_ms;
    c->max_inflight = conf->runtime.max_inflight;
    c->nsinks = conf->nsinks;
    c->nsources = ed_plan_nsources(plan);
    c->cappend = 16;
    c->pend = ed_calloc((size_t)c->cappend, sizeof *c->pend);
    return c;
}

void ed_coordinator_destroy(ed_coordinator_t **c_p) {
    ed_coord_t *c = *c_p;
    if (!c)
        return;
    for (int i = 0; i < c->cappend; i++)
        ed_batch_destroy(&c->pend[i].times);
    free(c->pend);
    free(c);
    *c_p = NULL;
}
