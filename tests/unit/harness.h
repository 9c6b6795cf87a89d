/*
 * harness.h — the deterministic actor harness of the unit tests.
 *
 * A test builds a real plan from a YAML string (no runtime is started, no
 * thread runs), creates the state of the actor under test with its own
 * constructor, wraps it in a detached actor with the id the plan gave it
 * (runtime/ed_actor.h), and calls its callbacks step by step with a fake
 * clock (runtime/ed_clock.h). What the actor sends is captured in order;
 * h_expect takes the next message and checks it. No sleeps, no timing.
 *
 * Include after <cmocka.h>. Everything here is static: each test file is
 * its own program.
 */
#ifndef ED_TEST_HARNESS_H
#define ED_TEST_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/aggregate/ed_agg_actor.h"
#include "actors/ed_checkpoint.h"
#include "actors/ed_payload.h"
#include "actors/ed_plan.h"
#include "actors/ed_registry.h"
#include "actors/sources/ed_source.h"
#include "config/ed_config.h"
#include "runtime/ed_actor.h"
#include "runtime/ed_clock.h"

/* The fake time tests start at (ms). */
#define H_T0 1000000

/* A config and the plan built from it. */
typedef struct {
    ed_config_t *conf;
    ed_plan_t *plan;
} h_pipe_t;

/* Loads `yaml` and builds its plan (exit_when_idle_ms as --exit-when-idle);
 * fails the test on any error. Fakes the clock at H_T0. */
static inline h_pipe_t h_pipe(const char *yaml, int64_t exit_when_idle_ms) {
    h_pipe_t p = {0};
    char err[1024] = "";
    ed_clock_fake(H_T0);
    if (ed_config_load_string(yaml, "test.yaml", ed_registry(), &p.conf, err, sizeof err) != 0)
        fail_msg("config: %s", err);
    p.plan = ed_plan_new(p.conf, exit_when_idle_ms, err, sizeof err);
    if (!p.plan)
        fail_msg("plan: %s", err);
    return p;
}

static inline void h_pipe_free(h_pipe_t *p) {
    ed_plan_destroy(&p->plan);
    ed_config_destroy(&p->conf);
    ed_clock_real();
}

/* Line `line` of file `file` as a source driver hands it to a keyer:
 * payload `data` (borrowed), message key `key` (borrowed, may be NULL). */
static inline ed_input_t h_file_input(const char *data, const char *key, const char *file,
                                      int64_t line) {
    return (ed_input_t){.data = data,
                        .len = strlen(data),
                        .key = key,
                        .key_len = key ? strlen(key) : 0,
                        .partition = -1,
                        .offset = line,
                        .file = file};
}

/* Message `offset` of Kafka partition (topic, partition) as the Kafka
 * driver hands it to a keyer: payload `data` and `topic` borrowed, no key. */
static inline ed_input_t h_kafka_input(const char *data, const char *topic, int32_t partition,
                                       int64_t offset) {
    return (ed_input_t){.data = data,
                        .len = strlen(data),
                        .topic = topic,
                        .partition = partition,
                        .offset = offset};
}

/* A control message of `type` for checkpoint n, as if sent by `from`. */
static inline ed_msg_t *h_msg(ed_msg_type_t type, uint64_t n, uint32_t flags, int64_t value,
                              uint32_t from) {
    ed_msg_t *m = ed_checkpoint_msg(type, n, flags, value);
    m->from = from;
    return m;
}

/* A data message carrying *batch_p (taken), as if sent by `from`. */
static inline ed_msg_t *h_batch_msg(ed_batch_t **batch_p, uint32_t from) {
    ed_msg_t *m = ed_msg_new_batch(ED_MSG_BATCH, batch_p);
    m->from = from;
    return m;
}

/* Delivers m to the actor; the handler must succeed. */
static inline void h_deliver(ed_actor_t *a, ed_msg_t *m) {
    assert_int_equal(ed_actor_step_message(a, &m), 0);
}

/* Takes the next captured message and checks its type, receiver and (for
 * control messages) checkpoint; returns it (the caller destroys it). */
static inline ed_msg_t *h_expect(ed_actor_t *a, ed_msg_type_t type, uint32_t to, uint64_t n) {
    ed_msg_t *m = ed_actor_take_sent(a);
    if (!m)
        fail_msg("expected message type %d to %u (checkpoint %llu); nothing was sent",
                 (int)type, to, (unsigned long long)n);
    if (m->type != (int)type || m->to != to || (type != ED_MSG_BATCH && m->seq != n))
        fail_msg("expected type %d to %u checkpoint %llu; got type %d to %u checkpoint %llu",
                 (int)type, to, (unsigned long long)n, m->type, m->to,
                 (unsigned long long)m->seq);
    return m;
}

/* Takes and frees the next captured message after checking it (h_expect). */
static inline void h_expect_drop(ed_actor_t *a, ed_msg_type_t type, uint32_t to, uint64_t n) {
    ed_msg_t *m = h_expect(a, type, to, n);
    ed_msg_destroy(&m);
}

/* Checks that the actor sent nothing (more). */
static inline void h_expect_none(ed_actor_t *a) {
    ed_msg_t *m = ed_actor_take_sent(a);
    if (m)
        fail_msg("expected no message; got type %d to %u checkpoint %llu", m->type, m->to,
                 (unsigned long long)m->seq);
}

/* Frees every captured message; returns how many there were. */
static inline int h_discard(ed_actor_t *a) {
    int n = 0;
    ed_msg_t *m;
    while ((m = ed_actor_take_sent(a))) {
        ed_msg_destroy(&m);
        n++;
    }
    return n;
}

/* Moves the fake clock to `now` and ticks the actor; the tick must succeed. */
static inline void h_tick(ed_actor_t *a, int64_t now) {
    ed_clock_fake(now);
    assert_int_equal(ed_actor_step_tick(a, now), 0);
}

/* The senders the plan gave actor `id`, into ids[0 .. max); returns how many. */
static inline int h_senders(const h_pipe_t *p, uint32_t id, uint32_t *ids, int max) {
    const uint32_t *s;
    int n = ed_plan_senders(p->plan, id, &s);
    for (int i = 0; i < n && i < max; i++)
        ids[i] = s[i];
    return n;
}

/* Aggregator partition `idx` of pipe p under test: its state (made with
 * its own constructor, which restores runtime.state_dir) in a detached
 * actor with the plan's id, initialised. Fails the test on any error. */
typedef struct {
    ed_agg_actor_t *state;
    ed_actor_t *a;
} h_agg_t;

static inline h_agg_t h_agg_new(h_pipe_t *p, int idx) {
    h_agg_t g = {0};
    char err[1024] = "";
    g.state = ed_agg_actor_new(p->plan, idx, err, sizeof err);
    if (!g.state)
        fail_msg("aggregator %d: %s", idx, err);
    g.a = ed_actor_new_detached(&ed_agg_actor, "aggregator", g.state, ed_plan_agg_id(p->plan, idx));
    assert_int_equal(ed_actor_step_init(g.a, err, sizeof err), 0);
    return g;
}

/* Discards what it still sent and frees it. */
static inline void h_agg_free(h_agg_t *g) {
    h_discard(g->a);
    ed_actor_destroy_detached(&g->a);
    ed_agg_actor_destroy(&g->state);
}

#endif
