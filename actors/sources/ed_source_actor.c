/* ed_source_actor.c — see ed_source_actor.h. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/sources/ed_source_actor.h"

#include "actors/decode/ed_keyer.h"
#include "actors/ed_checkpoint.h"
#include "actors/ed_eo.h"
#include "actors/ed_payload.h"
#include "actors/sources/ed_source.h"

/* Inputs read per tick before yielding to the worker loop. */
#define ED_READ_BUDGET 4096

struct ed_source_actor {
    ed_plan_t *plan;
    int idx;                 /* config source index */
    int slot;                /* source actor index (instances counted) */
    ed_source_stats_t *stats; /* = ed_plan_source_stats(plan, slot): bumped per input */
    ed_conf_source_t local;  /* this instance's copy of the source config (generator share) */
    void *local_opts;        /* its own copy of the options when the type adjusts them per instance */
    const ed_conf_source_t *src; /* = &local */
    const ed_source_type_t *drv;
    void *drv_ctx;
    ed_keyer_t *keyer;       /* decoding here (decoders: 0) */
    uint32_t *decoder_ids;   /* [ndecoders] its decoder actors: the plan's INPUTS links */
    int ndecoders;
    int next_decoder;        /* round-robin */
    ed_batch_t *inputs_out;  /* INPUTS batch for the next decoder */
    uint32_t *direct;        /* [ndirect] pass-through sinks (to:): the plan's RECORDS links */
    int ndirect;
    ed_batch_t **direct_out; /* [ndirect] RECORDS batches */
    int64_t linger_deadline; /* when the oldest unsent partial batch must go (ms), or 0 */
    uint64_t inputs_since_barrier;
    ed_batch_t *times;       /* TIMES: produce times of inputs since the last barrier (latency) */
    uint64_t parts_version;  /* the driver's partitions() last handed to the keyer */
    int eof, paused, stopped, opened;
    ed_actor_t *self;
    ed_eo_t *eo;             /* exactly_once books, or NULL */
    struct {                 /* barriers not passed on yet: a replay checkpoint waits until */
        uint64_t n;          /* the driver reached its positions, and later ones wait behind */
        uint32_t flags;
    } *bars;
    int nbars, capbars;
    int limited;             /* the driver's limit is set: for replay checkpoint `armed` */
    uint64_t armed;
    int64_t armed_ms;        /* when its barrier arrived and started waiting, or 0 */
    int commit_failures;     /* commits failed in a row (e.g. the state file's disk is full) */
    int64_t commit_warned_ms; /* when the last of them was logged */
    char commit_err[512];    /* its error, to log a different one at once */
};
typedef struct ed_source_actor ed_src_actor_t;

static void s_send_direct(ed_src_actor_t *s, int i) {
    if (s->direct_out[i] && s->direct_out[i]->count) {
        ed_msg_t *m = ed_msg_new_batch(ED_MSG_BATCH, &s->direct_out[i]);
        ed_actor_send(s->self, s->direct[i], &m);
    }
}

static void s_arm_linger(ed_src_actor_t *s) {
    if (!s->linger_deadline)
        s->linger_deadline = ed_now_ms() + s->src->linger_ms;
}

static void s_add_direct(ed_src_actor_t *s, int i, const ed_input_t *in, const char *pos,
                         size_t pos_len) {
    if (!s->direct_out[i])
        s->direct_out[i] = ed_batch_new(ED_BATCH_RECORDS, 64 * 1024);
    ed_batch_add_record_at(s->direct_out[i], in->key, in->key ? (uint32_t)in->key_len : 0,
                           in->data, (uint32_t)in->len, in->ts_ms, s->idx, pos, pos_len);
    if (s->direct_out[i]->count >= (uint32_t)s->src->batch_size)
        s_send_direct(s, i);
    else
        s_arm_linger(s);
}

/* Sends the pending INPUTS batch to the next decoder actor. */
static void s_send_inputs(ed_src_actor_t *s) {
    if (s->inputs_out && s->inputs_out->count) {
        ed_msg_t *m = ed_msg_new_batch(ED_MSG_BATCH, &s->inputs_out);
        ed_actor_send(s->self, s->decoder_ids[s->next_decoder], &m);
        s->next_decoder = (s->next_decoder + 1) % s->ndecoders;
    }
}

static void s_add_input(ed_src_actor_t *s, const ed_input_t *in) {
    if (!s->inputs_out)
        s->inputs_out = ed_batch_new(ED_BATCH_INPUTS, 256 * 1024);
    size_t tl = in->topic ? strlen(in->topic) : 0, fl = in->file ? strlen(in->file) : 0;
    ed_inputrec_t h = {
        .len = (uint32_t)in->len,
        .key_len = in->key ? (uint32_t)in->key_len : ED_INPUT_NO_KEY,
        .topic_len = (uint16_t)(tl < ED_INPUT_ABSENT ? tl : ED_INPUT_ABSENT - 1),
        .file_len = (uint16_t)(fl < ED_INPUT_ABSENT ? fl : ED_INPUT_ABSENT - 1),
        .partition = in->partition,
        .offset = in->offset,
        .ts_ms = in->ts_ms,
        .num = in->num,
    };
    ed_batch_add_input(s->inputs_out, &h, in->data, in->key, in->topic, in->file);
    if (s->inputs_out->count >= (uint32_t)s->src->batch_size)
        s_send_inputs(s);
    else
        s_arm_linger(s);
}

static void s_flush_all(ed_src_actor_t *s) {
    if (s->keyer)
        ed_keyer_flush(s->keyer, s->self);
    s_send_inputs(s);
    for (int i = 0; i < s->ndirect; i++)
        s_send_direct(s, i);
    s->linger_deadline = 0;
}

static void s_on_input(void *ud, const ed_input_t *in) {
    ed_src_actor_t *s = ud;
    ed_stat_add(&s->stats->inputs, 1);
    s->inputs_since_barrier++;
    ed_batch_add_time(&s->times, in->ts_ms, 1);
    if (s->ndirect) {
        /* Where it was read, for the rejects of a sink that refuses it. */
        char pos[512];
        size_t pl = ed_input_position(in, pos, sizeof pos);
        for (int i = 0; i < s->ndirect; i++)
            s_add_direct(s, i, in, pos, pl);
    }
    if (s->ndecoders)
        s_add_input(s, in);
    else if (s->keyer)
        ed_keyer_input(s->keyer, s->self, in);
}

static void s_arm_replay(ed_src_actor_t *s, uint64_t n);

static int s_init(ed_actor_t *a, char *errstr, size_t errstr_size) {
    ed_src_actor_t *s = ed_actor_state(a);
    s->self = a;
    if (s->opened)
        return 0;
    int rc = s->drv->open(&s->drv_ctx, ed_plan_config(s->plan), s->src, errstr, errstr_size);
    if (rc < 0)
        return rc;
    s->opened = 1;
    if (s->eo) { /* exactly_once: start where the sink furthest behind stopped */
        char *start = ed_eo_start_for(s->eo, s->src->name);
        if (start)
            s->drv->seek(s->drv_ctx, start);
        free(start);
        s_arm_replay(s, 1);
    }
    if (s->drv->publish_to)
        s->drv->publish_to(s->drv_ctx, ed_plan_parts_cell(s->plan, ed_plan_source_id(s->plan, s->slot),
                                                          ED_PARTS_OFFSETS));
    ed_actor_watch_fd(a, s->drv->fd(s->drv_ctx));
    ed_actor_wake_now(a);
    return 0;
}

static void s_stop(ed_actor_t *a) {
    ed_src_actor_t *s = ed_actor_state(a);
    if (s->opened)
        s->drv->close(&s->drv_ctx);
    s->opened = 0;
    ed_actor_watch_fd(a, -1);
}

static void s_send_ctl(ed_src_actor_t *s, uint32_t to, ed_msg_type_t type, uint64_t n,
                       uint32_t flags, int64_t value) {
    ed_msg_t *m = ed_checkpoint_msg(type, n, flags, value);
    ed_actor_send(s->self, to, &m);
}

/* Hands the driver's assigned partitions to the keyer when they changed
 * (Kafka: a rebalance, served by read()), so that partitions without
 * input yet hold the watermark. */
static void s_track_partitions(ed_src_actor_t *s) {
    uint64_t v;
    ed_topic_part_t parts[1024];
    int n = s->drv->partitions(s->drv_ctx, &v, parts, (int)ED_ARRAY_SIZE(parts));
    if (v == s->parts_version)
        return;
    s->parts_version = v;
    ed_keyer_assign(s->keyer, parts, n < (int)ED_ARRAY_SIZE(parts) ? n : (int)ED_ARRAY_SIZE(parts));
}

/* Barrier n: everything read so far belongs to checkpoint n: send it,
 * snapshot positions, then pass the barrier downstream (FIFO after the
 * data) and report to the coordinator. */
static void s_barrier(ed_src_actor_t *s, uint64_t n, uint32_t mflags) {
    if (mflags & ED_MSG_F_FINAL)
        s->stopped = 1;
    /* A source at its end ends its event time too: its keyer's (or its
     * decoders') watermark goes to the end, closing every window. */
    uint32_t bflags = mflags | (s->eof ? ED_MSG_F_INPUT_END : 0);
    s_flush_all(s);
    s->drv->checkpoint(s->drv_ctx, n);
    if (s->eo) {
        ed_buf_t pos = ED_BUF_INIT;
        s->drv->positions(s->drv_ctx, &pos);
        ed_eo_put(s->eo, s->slot, s->src->name, n, pos.data ? pos.data : "");
        ed_buf_free(&pos);
    }
    ed_crash_point("source_barrier");
    if (s->keyer)
        ed_keyer_barrier(s->keyer, s->self, n, bflags);
    else
        ed_plan_send_barriers(s->plan, s->self, n, bflags);
    uint32_t flags = s->eof ? ED_MSG_F_EOF : 0;
    if (s->drv->ready && !s->drv->ready(s->drv_ctx))
        flags |= ED_MSG_F_NOT_READY;
    ed_msg_t *st = ed_checkpoint_msg(ED_MSG_SOURCE_STATUS, n, flags,
                                     (int64_t)s->inputs_since_barrier);
    st->batch = s->times; /* the message takes the times */
    s->times = NULL;
    ed_actor_send(s->self, ed_plan_coordinator(s->plan), &st);
    s->inputs_since_barrier = 0;
}

/* exactly_once: sets the driver's limit to the positions replay
 * checkpoint n was stored with, before anything past them can be read:
 * at open for the first, as the previous barrier passes for the next. */
static void s_arm_replay(ed_src_actor_t *s, uint64_t n) {
    char *target = NULL;
    if (!s->eo || !ed_eo_target_for(s->eo, n, s->src->name, &target))
        return;
    s->drv->limit(s->drv_ctx, target);
    free(target);
    s->limited = 1;
    s->armed = n;
    if (s->paused && s->opened)
        s->drv->pause(s->drv_ctx, 0);
    ED_LOG_I(s->src->name, "exactly_once: replay checkpoint %llu (id %llu) ends at the positions "
             "stored with it", (unsigned long long)n, (unsigned long long)ed_eo_id(s->eo, n));
}

/* Passes the queued barriers in order. A replay checkpoint (exactly_once)
 * waits until the driver reached the positions its id was stored with
 * (s_arm_replay), so its flush covers exactly the input of the original one
 * (actors/ed_eo.h). */
static void s_pass_barriers(ed_src_actor_t *s) {
    while (s->nbars) {
        uint64_t n = s->bars[0].n;
        if (s->limited && s->armed == n) {
            if (!s->drv->at_limit(s->drv_ctx)) {
                int64_t now = ed_now_ms();
                if (!s->armed_ms) {
                    s->armed_ms = now;
                } else if (now - s->armed_ms > 30000) {
                    ED_LOG_W(s->src->name, "exactly_once: replay checkpoint %llu has waited 30 s "
                             "for the positions stored with it; is input missing from the "
                             "topic (retention, a topic created again) or a partition not "
                             "assigned?", (unsigned long long)n);
                    s->armed_ms = now;
                }
                ed_actor_wake_at(s->self, now + 1000); /* look again, and warn in time */
                return;
            }
            s->armed_ms = 0;
            s->drv->limit(s->drv_ctx, NULL);
            s->limited = 0;
            s->armed = 0;
            if (s->paused)
                s->drv->pause(s->drv_ctx, 1);
            ed_actor_wake_now(s->self); /* what was held back may go now */
        }
        s_barrier(s, n, s->bars[0].flags);
        memmove(s->bars, s->bars + 1, sizeof *s->bars * (size_t)(s->nbars - 1));
        s->nbars--;
        s_arm_replay(s, n + 1);
    }
}

static int s_on_tick(ed_actor_t *a, int64_t now) {
    ed_src_actor_t *s = ed_actor_state(a);
    /* Read even while paused: the driver then returns 0 but keeps its
     * consumer polled (rebalances, group membership). */
    if (!s->stopped && !s->eof) {
        char err[512] = "";
        if (s->keyer)
            ed_keyer_begin(s->keyer, ed_now_ms()); /* one clock read per read */
        int n = s->drv->read(s->drv_ctx, ED_READ_BUDGET, s_on_input, s, &s->eof, err, sizeof err);
        if (n < 0) {
            ED_LOG_E(s->src->name, "read failed: %s", err);
            return n;
        }
        if (s->keyer && s->drv->partitions)
            s_track_partitions(s);
        if (s->nbars)
            s_pass_barriers(s);
        if (s->eof) {
            /* Tell the coordinator now, so it checks (and drains) at once
             * instead of at the next flush interval. */
            s_flush_all(s);
            s_send_ctl(s, ed_plan_coordinator(s->plan), ED_MSG_SOURCE_STATUS, 0, ED_MSG_F_EOF, 0);
        } else if (s->drv->wants_checkpoint && s->drv->wants_checkpoint(s->drv_ctx)) {
            /* e.g. Kafka partitions revoked, held until committed */
            s_send_ctl(s, ed_plan_coordinator(s->plan), ED_MSG_SOURCE_STATUS, 0, 0, 0);
        }
        if (n >= ED_READ_BUDGET)
            ed_actor_wake_now(a); /* more may be waiting */
        else if (s->paused && !s->limited)
            ed_actor_wake_at(a, now + 500); /* keep the consumer polled */
        else if (s->drv->fd(s->drv_ctx) < 0)
            ed_actor_wake_at(a, now + (n > 0 ? 0 : 10)); /* no fd to wait on: poll */
    }
    int64_t due = s->linger_deadline, kd = s->keyer ? ed_keyer_deadline(s->keyer) : 0;
    if (kd && (!due || kd < due))
        due = kd;
    if (due) {
        if (now >= due)
            s_flush_all(s);
        else
            ed_actor_wake_at(a, due);
    }
    return 0;
}


/* A commit failed: positions stay those last committed, and the next
 * commit covers these too. Logged at the first failure, when the error
 * changes and every 30 s (not at every checkpoint); a failed final commit
 * is an error: nothing later covers it. */
static void s_commit_failed(ed_src_actor_t *s, uint64_t n, int final, const char *err) {
    s->commit_failures++;
    if (final) {
        ED_LOG_E(s->src->name, "the input positions of source '%s' at the final checkpoint %llu "
                 "were not saved: %s; a restart reads again the input since the positions last "
                 "saved (at-least-once)", s->src->name, (unsigned long long)n, err);
        return;
    }
    int64_t now = ed_now_ms();
    if (s->commit_failures > 1 && now - s->commit_warned_ms < 30000 && !strcmp(err, s->commit_err))
        return;
    ED_LOG_W(s->src->name, "commit of checkpoint %llu failed (%d in a row): %s; reading and "
             "writing go on, and a restart would read again the input since the positions last "
             "saved", (unsigned long long)n, s->commit_failures, err);
    s->commit_warned_ms = now;
    snprintf(s->commit_err, sizeof s->commit_err, "%s", err);
}

static int s_on_message(ed_actor_t *a, ed_msg_t **msg_p) {
    ed_src_actor_t *s = ed_actor_state(a);
    ed_msg_t *m = *msg_p;
    switch (m->type) {
    case ED_MSG_BARRIER: {
        if (s->nbars == s->capbars) {
            s->capbars = s->capbars ? 2 * s->capbars : 4;
            s->bars = ed_realloc(s->bars, sizeof *s->bars * (size_t)s->capbars);
        }
        s->bars[s->nbars].n = m->seq;
        s->bars[s->nbars++].flags = m->flags;
        s_pass_barriers(s);
        break;
    }
    case ED_MSG_COMMIT: {
        char err[512] = "";
        int failed = s->drv->commit(s->drv_ctx, m->seq, err, sizeof err) < 0;
        if (failed) {
            s_commit_failed(s, m->seq, (m->flags & ED_MSG_F_FINAL) != 0, err);
        } else {
            ed_stat_add(&s->stats->commits, 1);
            if (s->commit_failures)
                ED_LOG_I(s->src->name, "input positions committed again at checkpoint %llu, "
                         "after %d failed commit(s)", (unsigned long long)m->seq,
                         s->commit_failures);
            s->commit_failures = 0;
        }
        /* value -1: not committed; the coordinator's exit status says so */
        s_send_ctl(s, ed_plan_coordinator(s->plan), ED_MSG_COMMITTED, m->seq, m->flags,
                   failed ? -1 : 0);
        break;
    }
    case ED_MSG_PAUSE:
        s->paused = m->value != 0;
        /* A replay checkpoint waiting for its positions keeps reading: the
         * checkpoints paused behind it cannot complete before it does, and
         * its limit bounds what is read. The pause applies once it passed. */
        if (!s->limited)
            s->drv->pause(s->drv_ctx, s->paused);
        if (!s->paused)
            ed_actor_wake_now(a);
        break;
    default:
        ED_LOG_W(s->src->name, "unexpected message type %d", (int)m->type);
    }
    return 0;
}

const ed_actor_type_t ed_source_actor = {.name = "source",
                                         .init = s_init,
                                         .on_message = s_on_message,
                                         .on_tick = s_on_tick,
                                         .stop = s_stop};

/* ---- construction (called by ed_plan_new, before the runtime starts) ---- */

ed_source_actor_t *ed_source_actor_new(ed_plan_t *plan, int slot, char *errstr,
                                       size_t errstr_size) {
    const ed_config_t *conf = ed_plan_config(plan);
    int idx = ed_plan_source_config(plan, slot), instance = ed_plan_source_instance(plan, slot);
    uint32_t self = ed_plan_source_id(plan, slot);
    ed_src_actor_t *s = ed_calloc(1, sizeof *s);
    s->plan = plan;
    s->idx = idx;
    s->slot = slot;
    s->stats = ed_plan_source_stats(plan, slot);
    s->eo = ed_plan_eo(plan);
    /* A shallow copy (strings stay borrowed from the config): instances of a
     * generator split its events and draw from different seeds (the type's
     * `instance` hook); Kafka instances are consumers of the same group and
     * need no change. */
    s->local = conf->sources[idx];
    s->drv = ed_source_type_of(&s->local);
    if (!s->drv) {
        ed_seterr(errstr, errstr_size, ED_EINVAL, "source '%s': no driver for its type",
                  s->local.name);
        ed_source_actor_destroy(&s);
        return NULL;
    }
    if (s->drv->instance && s->local.instances > 1 && s->drv->conf.opts_size) {
        s->local_opts = ed_malloc(s->drv->conf.opts_size);
        memcpy(s->local_opts, s->local.opts, s->drv->conf.opts_size);
        s->drv->instance(s->local_opts, instance, s->local.instances);
        s->local.opts = s->local_opts;
    }
    s->src = &s->local;
    if (s->src->decoders > 0) {
        /* The decoder actors key the inputs; their keyers also check the
         * fields against the format. (The config allows decoders only on a
         * source that some aggregation or per-record alert reads.) */
        s->ndecoders = ed_plan_receivers_of(plan, self, ED_LINK_INPUTS, NULL, 0);
        s->decoder_ids = ed_calloc((size_t)s->ndecoders + 1, sizeof *s->decoder_ids);
        ed_plan_receivers_of(plan, self, ED_LINK_INPUTS, s->decoder_ids, s->ndecoders);
    } else {
        s->keyer = ed_keyer_new(plan, self, s->src, slot, errstr, errstr_size);
        if (!s->keyer) {
            ed_source_actor_destroy(&s);
            return NULL;
        }
        if (!ed_keyer_active(s->keyer))
            ed_keyer_destroy(&s->keyer);
    }
    /* Pass-through sinks (the keyer's after transforms); the rejects sink
     * takes rejects from the keyer and barriers on the plan's links. */
    if (!s->src->transforms)
        s->ndirect = ed_plan_receivers_of(plan, self, ED_LINK_RECORDS, NULL, 0);
    s->direct = ed_calloc((size_t)s->ndirect + 1, sizeof *s->direct);
    ed_plan_receivers_of(plan, self, ED_LINK_RECORDS, s->direct, s->ndirect);
    s->direct_out = ed_calloc((size_t)s->ndirect + 1, sizeof *s->direct_out);
    return s;
}

void ed_source_actor_destroy(ed_source_actor_t **s_p) {
    ed_src_actor_t *s = *s_p;
    if (!s)
        return;
    if (s->opened)
        s->drv->close(&s->drv_ctx);
    ed_keyer_destroy(&s->keyer);
    free(s->local_opts);
    ed_batch_destroy(&s->inputs_out);
    ed_batch_destroy(&s->times);
    for (int i = 0; i < s->ndirect; i++)
        ed_batch_destroy(&s->direct_out[i]);
    free(s->direct_out);
    free(s->direct);
    free(s->decoder_ids);
    free(s->bars);
    free(s);
    *s_p = NULL;
}
