/* test_keyer.c — the keyer (decode → key → hash → partition), inside a
 * detached source actor (tests/unit/harness.h): composite keys and compute
 * values from JSON and meta fields, each record in the batch of the
 * aggregator that owns its hash (checked against ed_hash64 and
 * ed_hash_partition computed here), full batches sent at once, partial ones
 * after linger, rejects counted and routed to the rejects sink with their
 * position and reason; `where:` filters before keying, per-record alerts
 * to their sinks. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "actors/aggregate/ed_aggfn.h"
#include "actors/decode/ed_hash.h"
#include "actors/decode/ed_keyer.h"
#include "actors/sources/ed_watermark.h"
#include "tests/unit/harness.h"

#define NAGGS 4

static const char *s_yaml = "runtime: { aggregators: 4 }\n"
                            "sources:\n"
                            "  orders:\n"
                            "    directory: { path: /nonexistent/eddy-test-keyer }\n"
                            "    format: json\n"
                            "    rejects: dead\n"
                            "    batch_size: %d\n"
                            "    linger: 200ms\n"
                            "aggregations:\n"
                            "  by_user:\n"
                            "    from: orders\n"
                            "    key: [user, {f: \"@file\"}]\n"
                            "    compute: { n: count, amount: \"sum(amount)\" }\n"
                            "    to: out\n"
                            "sinks:\n"
                            "  out: { null: {} }\n"
                            "  dead: { null: {} }\n";

/* A JSON source with a rejects sink, then `aggregations:` (the test's). */
#define S_JSON_SRC                                                                                 \
    "runtime: { aggregators: 4 }\n"                                                                \
    "sources:\n"                                                                                   \
    "  orders:\n"                                                                                  \
    "    directory: { path: /nonexistent/eddy-test-keyer }\n"                                      \
    "    format: json\n"                                                                           \
    "    rejects: dead\n"                                                                          \
    "aggregations:\n"

static const ed_actor_type_t s_owner_type = {.name = "owner"};

typedef struct {
    h_pipe_t p;
    ed_keyer_t *k;
    ed_actor_t *self; /* the source actor the keyer sends through */
    uint32_t aggs[NAGGS], dead;
    int64_t line;
} fx_t;

static fx_t *s_fx_yaml(const char *yaml) {
    fx_t *f = calloc(1, sizeof *f);
    f->p = h_pipe(yaml, 0);
    const ed_config_t *conf = ed_plan_config(f->p.plan);
    uint32_t id = ed_plan_source_id(f->p.plan, 0);
    for (int p = 0; p < NAGGS; p++)
        f->aggs[p] = ed_plan_agg_id(f->p.plan, p);
    f->dead = ed_plan_sink_id(f->p.plan, ed_config_sink_idx(conf, "dead"));
    char err[512] = "";
    f->k = ed_keyer_new(f->p.plan, id, &conf->sources[0], 0, err, sizeof err);
    if (!f->k)
        fail_msg("keyer: %s", err);
    assert_true(ed_keyer_active(f->k));
    f->self = ed_actor_new_detached(&s_owner_type, "orders", NULL, id);
    return f;
}

static fx_t *s_fx(int batch_size) {
    char yaml[2048];
    snprintf(yaml, sizeof yaml, s_yaml, batch_size);
    return s_fx_yaml(yaml);
}

static void s_fx_free(fx_t *f) {
    ed_keyer_destroy(&f->k);
    assert_null(f->k);
    ed_actor_destroy_detached(&f->self);
    h_pipe_free(&f->p);
    free(f);
}

/* Feeds one line of file "f.json" (the next line number). */
static void s_input(fx_t *f, const char *json) {
    ed_input_t in = h_file_input(json, "f.json", "f.json", ++f->line);
    ed_keyer_begin(f->k, ed_now_ms());
    ed_keyer_input(f->k, f->self, &in);
}

/* The composite key (user, "f.json") as the keyer must build it. */
static size_t s_key(uint8_t *buf, const char *user) {
    size_t len = 0;
    ed_key_append(buf, &len, user, strlen(user));
    ed_key_append(buf, &len, "f.json", 6);
    return len;
}

static void test_keys_and_partitions(void **unused) {
    fx_t *f = s_fx(4096);
    enum { N = 200 };
    char line[128];
    for (int i = 0; i < N; i++) {
        snprintf(line, sizeof line, "{\"user\":\"u%d\",\"amount\":%d,\"x\":[1,2]}", i, i);
        s_input(f, line);
    }
    h_expect_none(f->self); /* nothing full: all waits for the flush */
    ed_keyer_flush(f->k, f->self);
    int seen[N] = {0}, per_agg[NAGGS] = {0};
    ed_msg_t *m;
    while ((m = ed_actor_take_sent(f->self))) {
        assert_int_equal(m->type, ED_MSG_BATCH);
        assert_int_equal(m->batch->kind, ED_BATCH_KEYED);
        int p = 0;
        while (p < NAGGS && f->aggs[p] != m->to)
            p++;
        assert_true(p < NAGGS);
        ed_batch_iter_t it;
        ed_batch_iter_init(&it, m->batch);
        const ed_keyed_t *e;
        while ((e = ed_batch_next_keyed(&it))) {
            const double *v = ed_keyed_vals(e);
            int i = (int)v[1];
            assert_true(i >= 0 && i < N);
            char user[16];
            snprintf(user, sizeof user, "u%d", i);
            uint8_t key[64];
            size_t klen = s_key(key, user);
            assert_int_equal(e->agg, 0);
            assert_int_equal(e->nvals, 2);
            assert_int_equal(e->key_len, klen);
            assert_memory_equal(ed_keyed_key(e), key, klen);
            assert_true(e->hash == ed_hash64(key, klen));
            assert_int_equal(ed_hash_partition(e->hash, NAGGS), p);
            seen[i]++;
            per_agg[p]++;
        }
        ed_msg_destroy(&m);
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    for (int p = 0; p < NAGGS; p++)
        assert_true(per_agg[p] > 0); /* 200 keys spread over every partition */
    assert_int_equal(ed_plan_source_stats(f->p.plan, 0)->records, N);
    assert_int_equal(ed_plan_source_stats(f->p.plan, 0)->rejected, 0);
    s_fx_free(f);
}

static void test_full_batch_goes_at_once_partial_after_linger(void **unused) {
    fx_t *f = s_fx(2); /* batch_size: 2 */
    assert_int_equal(ed_keyer_deadline(f->k), 0);
    /* Find two users of the same partition, and one of another. */
    uint8_t key[64];
    const char *u[3] = {NULL, NULL, NULL};
    static char names[64][16];
    uint32_t p0 = 0;
    for (int i = 0; i < 64 && !(u[1] && u[2]); i++) {
        snprintf(names[i], sizeof names[i], "v%d", i);
        uint32_t p = ed_hash_partition(ed_hash64(key, s_key(key, names[i])), NAGGS);
        if (!u[0]) {
            u[0] = names[i];
            p0 = p;
        } else if (p == p0 && !u[1]) {
            u[1] = names[i];
        } else if (p != p0 && !u[2]) {
            u[2] = names[i];
        }
    }
    assert_non_null(u[1]);
    char line[64];
    snprintf(line, sizeof line, "{\"user\":\"%.15s\",\"amount\":1}", u[2]);
    s_input(f, line);
    assert_int_equal(ed_keyer_deadline(f->k), H_T0 + 200); /* linger from the first entry */
    snprintf(line, sizeof line, "{\"user\":\"%.15s\",\"amount\":1}", u[0]);
    s_input(f, line);
    h_expect_none(f->self);
    snprintf(line, sizeof line, "{\"user\":\"%.15s\",\"amount\":1}", u[1]);
    s_input(f, line); /* second entry for p0: full, sent now */
    ed_msg_t *m = h_expect(f->self, ED_MSG_BATCH, f->aggs[p0], 0);
    assert_int_equal(m->batch->count, 2);
    ed_msg_destroy(&m);
    h_expect_none(f->self);
    ed_keyer_flush(f->k, f->self); /* the owner does this when linger is due */
    m = ed_actor_take_sent(f->self);
    assert_non_null(m);
    assert_int_equal(m->batch->count, 1);
    assert_true(m->to != f->aggs[p0]);
    ed_msg_destroy(&m);
    h_expect_none(f->self);
    assert_int_equal(ed_keyer_deadline(f->k), 0);
    s_fx_free(f);
}

/* The rejects batch went to the dead sink and holds `n` records whose JSON
 * contains each of the `n` strings in want (in order). */
static void s_expect_rejects(fx_t *f, int n, const char *const *want) {
    ed_msg_t *m = h_expect(f->self, ED_MSG_BATCH, f->dead, 0);
    assert_int_equal(m->batch->kind, ED_BATCH_RECORDS);
    assert_int_equal(m->batch->count, n);
    ed_batch_iter_t it;
    ed_batch_iter_init(&it, m->batch);
    const ed_record_t *r;
    for (int i = 0; (r = ed_batch_next_record(&it)); i++) {
        const char *v = (const char *)ed_record_val(r);
        if (!memmem(v, r->val_len, want[i], strlen(want[i])))
            fail_msg("reject %d: '%.*s' lacks '%s'", i, (int)r->val_len, v, want[i]);
        assert_non_null(memmem(v, r->val_len, "\"source\":\"orders\"", 17));
    }
    ed_msg_destroy(&m);
}

static void test_rejects_counted_and_routed(void **unused) {
    fx_t *f = s_fx(4096);
    s_input(f, "{\"user\":\"a\",\"amount\":1}");                /* line 1: fine */
    s_input(f, "{\"amount\":2}");                               /* 2: no key field */
    s_input(f, "{\"user\":\"b\",\"amount\":\"lots\"}");          /* 3: not a number */
    s_input(f, "{\"user\":\"c\",");                              /* 4: bad JSON */
    s_input(f, "{\"user\":null,\"amount\":1}");                 /* 5: null key */
    s_input(f, "{\"user\":\"d\",\"amount\":4}");                 /* 6: fine */
    assert_int_equal(ed_plan_source_stats(f->p.plan, 0)->rejected, 0); /* published on send */
    ed_keyer_flush(f->k, f->self);
    const ed_source_stats_t *st = ed_plan_source_stats(f->p.plan, 0);
    assert_int_equal(st->rejected, 4);
    int keyed = 0;
    ed_msg_t *m;
    /* KEYED batches first (by partition), then the rejects. */
    while ((m = ed_actor_take_sent(f->self))) {
        if (m->to == f->dead) {
            ed_batch_iter_t it;
            ed_batch_iter_init(&it, m->batch);
            const char *want[] = {"\"position\":\"f.json:2\"", "\"position\":\"f.json:3\"",
                                  "\"position\":\"f.json:4\"", "\"position\":\"f.json:5\""};
            const char *why[] = {"key field 'user' is missing", "field 'amount' is not a number",
                                 "\"error\":", "key field 'user' is null"};
            const ed_record_t *r;
            int i = 0;
            while ((r = ed_batch_next_record(&it))) {
                const char *v = (const char *)ed_record_val(r);
                assert_non_null(memmem(v, r->val_len, want[i], strlen(want[i])));
                assert_non_null(memmem(v, r->val_len, why[i], strlen(why[i])));
                char pos[32]; /* the record key is the position */
                snprintf(pos, sizeof pos, "f.json:%d", i + 2);
                assert_int_equal(r->key_len, strlen(pos));
                assert_memory_equal(ed_record_key(r), pos, strlen(pos));
                i++;
            }
            assert_int_equal(i, 4);
            ed_msg_destroy(&m);
            continue;
        }
        keyed += (int)m->batch->count;
        ed_msg_destroy(&m);
    }
    assert_int_equal(keyed, 2);
    s_fx_free(f);
}

static void test_rejects_batch_alone(void **unused) {
    fx_t *f = s_fx(4096);
    s_input(f, "not json at all");
    ed_keyer_flush(f->k, f->self);
    const char *want[] = {"\"input\":\"not json at all\""};
    s_expect_rejects(f, 1, want);
    h_expect_none(f->self);
    assert_int_equal(ed_plan_source_stats(f->p.plan, 0)->rejected, 1);
    assert_int_equal(ed_plan_source_stats(f->p.plan, 0)->records, 0);
    s_fx_free(f);
}

/* `where:` runs before keying: filtered records are counted, not keyed,
 * and not rejected for a key field only they lack; a per-record alert on
 * the source sends each matching input unchanged to its sink, on a link the
 * plan made (so the sink waits for this actor's barrier). */
static void test_where_and_record_alerts(void **unused) {
    fx_t *f = s_fx_yaml(S_JSON_SRC
                        "  big:\n"
                        "    from: orders\n"
                        "    where: 'amount > 10 and status != \"cancelled\"'\n"
                        "    key: [user, {f: \"@file\"}]\n"
                        "    compute: { n: count, amount: \"sum(amount)\" }\n"
                        "    to: out\n"
                        "alerts:\n"
                        "  crit: { on: orders, where: 'status == \"failed\"', to: [crit] }\n"
                        "sinks:\n"
                        "  out: { null: {} }\n"
                        "  dead: { null: {} }\n"
                        "  crit: { null: {} }\n");
    const ed_config_t *conf = ed_plan_config(f->p.plan);
    uint32_t crit = ed_plan_sink_id(f->p.plan, ed_config_sink_idx(conf, "crit"));
    uint32_t senders[8];
    assert_int_equal(h_senders(&f->p, crit, senders, 8), 1);
    assert_int_equal(senders[0], ed_plan_source_id(f->p.plan, 0));
    const char *lines[] = {
        "{\"user\":\"a\",\"amount\":50,\"status\":\"paid\"}",   /* 1: counted */
        "{\"amount\":5,\"status\":\"failed\"}",                    /* 2: filtered; alert */
        "{\"user\":\"b\",\"amount\":\"99\",\"status\":\"paid\"}", /* 3: "99" is no number */
        "{\"user\":\"c\",\"amount\":20,\"status\":\"failed\"}", /* 4: counted; alert */
        "{\"user\":\"d\",\"amount\":30}",                          /* 5: no status */
        "{\"amount\":40,\"status\":\"paid\"}",                     /* 6: passes, no key */
    };
    for (size_t i = 0; i < ED_ARRAY_SIZE(lines); i++)
        s_input(f, lines[i]);
    ed_keyer_flush(f->k, f->self);
    int keyed = 0, alerts = 0, rejects = 0;
    ed_msg_t *m;
    while ((m = ed_actor_take_sent(f->self))) {
        ed_batch_iter_t it;
        ed_batch_iter_init(&it, m->batch);
        if (m->to == crit) {
            const ed_record_t *r;
            const char *want[] = {lines[1], lines[3]};
            while ((r = ed_batch_next_record(&it))) {
                assert_true(alerts < 2);
                assert_int_equal(r->val_len, strlen(want[alerts]));
                assert_memory_equal(ed_record_val(r), want[alerts], r->val_len);
                assert_int_equal(r->key_len, 6); /* the input's key */
                alerts++;
            }
        } else if (m->to == f->dead) {
            rejects += (int)m->batch->count;
        } else {
            const ed_keyed_t *e;
            while ((e = ed_batch_next_keyed(&it))) {
                double v = ed_keyed_vals(e)[1];
                assert_true(v == 50 || v == 20 || v == 40);
                keyed++;
            }
        }
        ed_msg_destroy(&m);
    }
    assert_int_equal(alerts, 2);
    assert_int_equal(keyed, 2);
    assert_int_equal(rejects, 1); /* line 6: it passed the filter, then lacked its key */
    const ed_where_stats_t *w = ed_plan_agg_where_stats(f->p.plan, 0);
    assert_int_equal(w->passed, 3);
    assert_int_equal(w->filtered, 3);
    assert_int_equal(w->wrong_type, 1); /* "99" > 10 */
    assert_int_equal(w->missing, 1);    /* line 5's status */
    const ed_where_stats_t *a = ed_plan_alert_where_stats(f->p.plan, 0);
    assert_int_equal(a->passed, 2);
    assert_int_equal(a->filtered, 4);
    assert_int_equal(a->missing, 1);
    assert_int_equal(ed_plan_source_stats(f->p.plan, 0)->rejected, 1);
    s_fx_free(f);
}

/* Event time: each KEYED record carries the watermark just before it
 * (highest event time so far − max_out_of_orderness), barriers the
 * watermark after everything sent; a missing or bad time is a reject. */
static const char *s_time_yaml = "runtime: { aggregators: 4 }\n"
                                 "sources:\n"
                                 "  orders:\n"
                                 "    directory: { path: /nonexistent/eddy-test-keyer }\n"
                                 "    format: json\n"
                                 "    rejects: dead\n"
                                 "    time: { field: ts, format: epoch_ms,\n"
                                 "            max_out_of_orderness: 100ms, idle_timeout: 1s }\n"
                                 "aggregations:\n"
                                 "  by_user:\n"
                                 "    from: orders\n"
                                 "    key: [user]\n"
                                 "    window: { tumbling: 1s }\n"
                                 "    compute: { n: count, i: \"sum(i)\" }\n"
                                 "    to: out\n"
                                 "sinks:\n"
                                 "  out: { null: {} }\n"
                                 "  dead: { null: {} }\n";

/* Feeds `json` as the next input of Kafka partition (topic, part). */
static void s_input_tp(fx_t *f, const char *topic, int32_t part, const char *json) {
    ed_input_t in = h_kafka_input(json, topic, part, ++f->line);
    ed_keyer_begin(f->k, ed_now_ms());
    ed_keyer_input(f->k, f->self, &in);
}

/* Feeds `json` as the next input of partition `part` of topic "orders". */
static void s_input_part(fx_t *f, int32_t part, const char *json) {
    s_input_tp(f, "orders", part, json);
}

/* Flushes and reads every KEYED record's (ts, wm) by its "i" into ts[i],
 * wm[i]; returns the records rejected to the dead sink. */
static int s_stamps(fx_t *f, int64_t *ts, int64_t *wm, int n) {
    ed_keyer_flush(f->k, f->self);
    int rejects = 0;
    ed_msg_t *m;
    while ((m = ed_actor_take_sent(f->self))) {
        assert_int_equal(m->type, ED_MSG_BATCH);
        ed_batch_iter_t it;
        ed_batch_iter_init(&it, m->batch);
        if (m->to == f->dead) {
            rejects += (int)m->batch->count;
        } else {
            assert_true(m->flags & ED_MSG_F_WATERMARK);
            const ed_keyed_t *e;
            while ((e = ed_batch_next_keyed(&it))) {
                int i = (int)ed_keyed_vals(e)[1];
                assert_true(i >= 0 && i < n);
                ts[i] = e->ts_ms;
                wm[i] = e->wm_ms;
            }
        }
        ed_msg_destroy(&m);
    }
    return rejects;
}

/* Sends barrier n and checks the watermark every link got. */
static void s_expect_barrier_wm(fx_t *f, uint64_t n, uint32_t flags, int64_t want, int idle) {
    ed_keyer_barrier(f->k, f->self, n, flags);
    int links = 0;
    ed_msg_t *m;
    while ((m = ed_actor_take_sent(f->self))) {
        assert_int_equal(m->type, ED_MSG_BARRIER);
        assert_int_equal(m->seq, n);
        assert_true(m->flags & ED_MSG_F_WATERMARK);
        assert_int_equal((m->flags & ED_MSG_F_IDLE) != 0, idle);
        assert_true(m->value == want);
        links++;
        ed_msg_destroy(&m);
    }
    assert_int_equal(links, NAGGS + 1); /* the aggregators and the rejects sink */
}

static void test_event_time_watermarks(void **unused) {
    fx_t *f = s_fx_yaml(s_time_yaml);
    s_input_part(f, 0, "{\"user\":\"a\",\"i\":0,\"ts\":1000}");
    s_input_part(f, 0, "{\"user\":\"b\",\"i\":1,\"ts\":950}");
    s_input_part(f, 0, "{\"user\":\"c\",\"i\":9}");              /* no ts: reject */
    s_input_part(f, 0, "{\"user\":\"c\",\"i\":9,\"ts\":\"abc\"}"); /* bad ts: reject */
    s_input_part(f, 0, "{\"i\":9,\"ts\":3000}"); /* no key: rejected, but its time counts */
    s_input_part(f, 0, "{\"user\":\"d\",\"i\":2,\"ts\":3001}");
    int64_t ts[3] = {0}, wm[3] = {0};
    assert_int_equal(s_stamps(f, ts, wm, 3), 3);
    assert_true(ts[0] == 1000 && wm[0] == ED_WATERMARK_NONE);
    assert_true(ts[1] == 950 && wm[1] == 900);
    assert_true(ts[2] == 3001 && wm[2] == 2900);
    s_expect_barrier_wm(f, 1, 0, 2901, 0);
    /* Partition 1 speaks; partition 0 falls silent for idle_timeout and
     * is left out: the watermark follows partition 1 alone. */
    s_input_part(f, 1, "{\"user\":\"a\",\"i\":0,\"ts\":2950}");
    assert_int_equal(s_stamps(f, ts, wm, 3), 0);
    assert_true(wm[0] == 2901);
    s_expect_barrier_wm(f, 2, 0, 2901, 0); /* min(2901, 2850), but never back */
    ed_clock_fake(H_T0 + 1000);
    s_input_part(f, 1, "{\"user\":\"a\",\"i\":1,\"ts\":5000}");
    s_input_part(f, 1, "{\"user\":\"a\",\"i\":2,\"ts\":5001}");
    assert_int_equal(s_stamps(f, ts, wm, 3), 0);
    assert_true(wm[0] == 2901 && wm[1] == 2901 && wm[2] == 4900);
    /* Both silent: held, and said idle; the end of input ends it. */
    ed_clock_fake(H_T0 + 3000);
    s_expect_barrier_wm(f, 3, 0, 4901, 1);
    s_expect_barrier_wm(f, 4, ED_MSG_F_INPUT_END, ED_WATERMARK_END, 0);
    assert_int_equal(ed_plan_source_stats(f->p.plan, 0)->rejected, 3);
    s_fx_free(f);
}

/* Assigned partitions hold the watermark before their first record: the
 * partition that answers first (1, at 5000) does not make partition 0's
 * first record (1000) late; then the lowest wins. Without the assignment
 * the watermark would be 4900 at once (the bug: 1000 late). */
static void test_assigned_partitions_hold_the_watermark(void **unused) {
    fx_t *f = s_fx_yaml(s_time_yaml);
    const ed_topic_part_t parts[] = {{"orders", 0}, {"orders", 1}};
    int64_t ts[4], wm[4];
    ed_keyer_assign(f->k, parts, 2);
    s_input_part(f, 1, "{\"user\":\"a\",\"i\":0,\"ts\":5000}");
    assert_int_equal(s_stamps(f, ts, wm, 4), 0);
    s_expect_barrier_wm(f, 1, 0, ED_WATERMARK_NONE, 0);
    s_input_part(f, 0, "{\"user\":\"b\",\"i\":1,\"ts\":1000}");
    assert_int_equal(s_stamps(f, ts, wm, 4), 0);
    assert_true(ts[1] == 1000 && wm[1] == ED_WATERMARK_NONE); /* judged on time, not late */
    s_expect_barrier_wm(f, 2, 0, 900, 0);
    /* partition 0 revoked: partition 1 alone */
    ed_keyer_assign(f->k, parts + 1, 1);
    s_expect_barrier_wm(f, 3, 0, 4900, 0);
    /* a partition assigned and silent for idle_timeout stops holding it */
    const ed_topic_part_t more[] = {{"orders", 1}, {"orders", 2}};
    ed_keyer_assign(f->k, more, 2);
    s_input_part(f, 1, "{\"user\":\"a\",\"i\":2,\"ts\":6000}");
    s_stamps(f, ts, wm, 4);
    s_expect_barrier_wm(f, 4, 0, 4900, 0);
    ed_clock_fake(H_T0 + 999); /* partition 2 still holds it */
    s_input_part(f, 1, "{\"user\":\"a\",\"i\":3,\"ts\":6001}");
    s_stamps(f, ts, wm, 4);
    s_expect_barrier_wm(f, 5, 0, 4900, 0);
    ed_clock_fake(H_T0 + 1000); /* silent for idle_timeout: left out */
    s_expect_barrier_wm(f, 6, 0, 5901, 0);
    assert_int_equal(ed_plan_source_stats(f->p.plan, 0)->rejected, 0);
    s_fx_free(f);
}

/* The keyer's published table of partition watermarks (ED_PARTS_WATERMARKS):
 * the watermark of (topic, part), or fails if it is not there. */
static int64_t s_published_wm(fx_t *f, const char *topic, int32_t part) {
    ed_part_fig_t *v;
    int n = ed_part_cell_copy(ed_plan_parts_cell(f->p.plan, ed_plan_source_id(f->p.plan, 0),
                                                 ED_PARTS_WATERMARKS),
                              &v, NULL);
    int64_t w = 0;
    int found = 0;
    for (int i = 0; i < n; i++)
        if (!strcmp(v[i].topic, topic) && v[i].partition == part) {
            w = v[i].watermark_ms;
            found++;
        }
    free(v);
    if (found != 1)
        fail_msg("partition %s/%d published %d times", topic, (int)part, found);
    return w;
}

/* Partitions of two topics with the same number are apart (a source with
 * `topics: [a, b]`): a/0 runs ahead, b/0 assigned and silent holds the
 * source's watermark, and b/0's first record (far behind a/0) is on time.
 * Keyed by number alone, a/0 and b/0 were one partition: the watermark
 * was 4900 after a/0's first record and b/0's 2000 came late. */
static void test_topics_apart(void **unused) {
    fx_t *f = s_fx_yaml(s_time_yaml);
    const ed_topic_part_t parts[] = {{"a", 0}, {"b", 0}};
    int64_t ts[4], wm[4];
    ed_keyer_assign(f->k, parts, 2);
    s_input_tp(f, "a", 0, "{\"user\":\"x\",\"i\":0,\"ts\":5000}");
    assert_int_equal(s_stamps(f, ts, wm, 4), 0);
    s_expect_barrier_wm(f, 1, 0, ED_WATERMARK_NONE, 0); /* held by b/0 */
    s_input_tp(f, "b", 0, "{\"user\":\"y\",\"i\":1,\"ts\":2000}");
    assert_int_equal(s_stamps(f, ts, wm, 4), 0);
    assert_true(ts[1] == 2000 && wm[1] == ED_WATERMARK_NONE); /* not late */
    s_expect_barrier_wm(f, 2, 0, 1900, 0);
    s_input_tp(f, "a", 0, "{\"user\":\"x\",\"i\":2,\"ts\":9000}");
    assert_int_equal(s_stamps(f, ts, wm, 4), 0);
    assert_true(wm[2] == 1900);
    s_expect_barrier_wm(f, 3, 0, 1900, 0); /* still b/0's */
    assert_true(s_published_wm(f, "a", 0) == 8900);
    assert_true(s_published_wm(f, "b", 0) == 1900);
    /* b/0 catches up: the lower of the two */
    s_input_tp(f, "b", 0, "{\"user\":\"y\",\"i\":3,\"ts\":7000}");
    assert_int_equal(s_stamps(f, ts, wm, 4), 0);
    s_expect_barrier_wm(f, 4, 0, 6900, 0);
    /* b/0 revoked: a/0 alone; a/1 (same topic, other number) is apart too */
    const ed_topic_part_t next[] = {{"a", 0}, {"a", 1}};
    ed_keyer_assign(f->k, next, 2);
    s_expect_barrier_wm(f, 5, 0, 6900, 0); /* a/1 holds it, never back */
    s_input_tp(f, "a", 1, "{\"user\":\"z\",\"i\":0,\"ts\":9500}");
    s_stamps(f, ts, wm, 4);
    s_expect_barrier_wm(f, 6, 0, 8900, 0);
    assert_int_equal(ed_plan_source_stats(f->p.plan, 0)->rejected, 0);
    s_fx_free(f);
}

/* approx_distinct takes the XXH3 hash of the field's text (as a key's):
 * a string's decoded bytes, a number as written (1.50 ≠ 1.5), a numeric
 * meta field's text (@offset, which the other computes read as a number
 * without text); missing and null are rejects naming the field. */
static void test_approx_distinct_hashes_the_text(void **unused) {
    fx_t *f = s_fx_yaml(S_JSON_SRC
                        "  a:\n"
                        "    from: orders\n"
                        "    key: [k]\n"
                        "    compute: { d: \"approx_distinct(c)\", o: \"approx_distinct(@offset)\", "
                        "s: \"sum(@offset)\" }\n"
                        "    to: out\n"
                        "sinks:\n"
                        "  out: { null: {} }\n"
                        "  dead: { null: {} }\n");
    s_input(f, "{\"k\":\"x\",\"c\":\"caf\\u00e9\"}"); /* line 1 */
    s_input(f, "{\"k\":\"x\",\"c\":1.50}");           /* 2 */
    s_input(f, "{\"k\":\"x\",\"c\":true}");           /* 3 */
    s_input(f, "{\"k\":\"x\"}");                      /* 4: missing */
    s_input(f, "{\"k\":\"x\",\"c\":null}");           /* 5: null */
    ed_keyer_flush(f->k, f->self);
    const char *text[] = {"caf\xc3\xa9", "1.50", "true"};
    int n = 0;
    ed_msg_t *m;
    while ((m = ed_actor_take_sent(f->self))) {
        if (m->to == f->dead) {
            ed_batch_iter_t it;
            ed_batch_iter_init(&it, m->batch);
            const char *why[] = {"field 'c' is missing", "field 'c' is null"};
            const ed_record_t *r;
            int i = 0;
            while ((r = ed_batch_next_record(&it))) {
                assert_true(i < 2);
                assert_non_null(memmem(ed_record_val(r), r->val_len, why[i], strlen(why[i])));
                i++;
            }
            assert_int_equal(i, 2);
            ed_msg_destroy(&m);
            continue;
        }
        ed_batch_iter_t it;
        ed_batch_iter_init(&it, m->batch);
        const ed_keyed_t *e;
        while ((e = ed_batch_next_keyed(&it))) {
            const double *v = ed_keyed_vals(e);
            int line = (int)v[2]; /* sum(@offset): the line as a number */
            assert_true(line >= 1 && line <= 3);
            const char *t = text[line - 1];
            char off[8];
            snprintf(off, sizeof off, "%d", line);
            assert_true(ed_aggfn_v_hash(v[0]) == ed_hash64(t, strlen(t)));
            assert_true(ed_aggfn_v_hash(v[1]) == ed_hash64(off, strlen(off)));
            n++;
        }
        ed_msg_destroy(&m);
    }
    assert_int_equal(n, 3);
    assert_int_equal(ed_plan_source_stats(f->p.plan, 0)->rejected, 2);
    s_fx_free(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_and_partitions),
        cmocka_unit_test(test_full_batch_goes_at_once_partial_after_linger),
        cmocka_unit_test(test_rejects_counted_and_routed),
        cmocka_unit_test(test_rejects_batch_alone),
        cmocka_unit_test(test_where_and_record_alerts),
        cmocka_unit_test(test_event_time_watermarks),
        cmocka_unit_test(test_assigned_partitions_hold_the_watermark),
        cmocka_unit_test(test_topics_apart),
        cmocka_unit_test(test_approx_distinct_hashes_the_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
