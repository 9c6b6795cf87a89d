/* ed_decoder_actor.c — see ed_decoder_actor.h.
 *
 * Records of one key may pass through different decoders, so an aggregator
 * may apply them in another order than they were read; cumulative count,
 * sum, min, max and avg do not depend on that order. */
#define _GNU_SOURCE
#include <stdlib.h>

#include "actors/decode/ed_decoder_actor.h"

#include "actors/decode/ed_keyer.h"
#include "actors/ed_checkpoint.h"
#include "actors/ed_payload.h"

struct ed_decoder_actor {
    ed_plan_t *plan;
    int idx;      /* decoder actor index in the plan */
    int src_slot; /* its source actor's slot */
    ed_keyer_t *keyer;
};
typedef struct ed_decoder_actor ed_dec_actor_t;

static void s_arm(ed_actor_t *a, ed_dec_actor_t *s) {
    int64_t due = ed_keyer_deadline(s->keyer);
    if (due)
        ed_actor_wake_at(a, due);
}

static int s_on_message(ed_actor_t *a, ed_msg_t **msg_p) {
    ed_dec_actor_t *s = ed_actor_state(a);
    ed_msg_t *m = *msg_p;
    switch (m->type) {
    case ED_MSG_BATCH: {
        ed_batch_iter_t it;
        ed_batch_iter_init(&it, m->batch);
        ed_keyer_begin(s->keyer, ed_now_ms()); /* one clock read per batch */
        const ed_inputrec_t *e;
        while ((e = ed_batch_next_input(&it))) {
            ed_input_t in = {
                .data = ed_inputrec_data(e),
                .len = e->len,
                .key = ed_inputrec_key(e),
                .key_len = ed_inputrec_keyn(e),
                .topic = ed_inputrec_topic(e),
                .partition = e->partition,
                .offset = e->offset,
                .file = ed_inputrec_file(e),
                .ts_ms = e->ts_ms,
                .num = e->num,
            };
            ed_keyer_input(s->keyer, a, &in);
        }
        s_arm(a, s);
        break;
    }
    case ED_MSG_BARRIER:
        ed_keyer_barrier(s->keyer, a, m->seq, m->flags);
        break;
    default:
        ED_LOG_W(ed_actor_name(a), "unexpected message type %d", (int)m->type);
    }
    return 0;
}

static int s_on_tick(ed_actor_t *a, int64_t now) {
    ed_dec_actor_t *s = ed_actor_state(a);
    int64_t due = ed_keyer_deadline(s->keyer);
    if (due && now >= due)
        ed_keyer_flush(s->keyer, a);
    else
        s_arm(a, s);
    return 0;
}

const ed_actor_type_t ed_decoder_actor = {.name = "decoder",
                                          .init = NULL,
                                          .on_message = s_on_message,
                                          .on_tick = s_on_tick,
                                          .stop = NULL};

ed_decoder_actor_t *ed_decoder_actor_new(ed_plan_t *plan, int d, char *errstr,
                                         size_t errstr_size) {
    ed_dec_actor_t *s = ed_calloc(1, sizeof *s);
    s->plan = plan;
    s->idx = d;
    s->src_slot = ed_plan_decoder_source(plan, d);
    const ed_conf_source_t *src =
        &ed_plan_config(plan)->sources[ed_plan_source_config(plan, s->src_slot)];
    s->keyer = ed_keyer_new(plan, ed_plan_decoder_id(plan, d), src, s->src_slot, errstr,
                            errstr_size);
    if (!s->keyer)
        ed_decoder_actor_destroy(&s);
    return s;
}

void ed_decoder_actor_destroy(ed_decoder_actor_t **s_p) {
    ed_dec_actor_t *s = *s_p;
    if (!s)
        return;
    ed_keyer_destroy(&s->keyer);
    free(s);
    *s_p = NULL;
}
