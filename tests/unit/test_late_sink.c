/* test_late_sink.c — `late: SINK`, step by step (tests/unit/harness.h):
 * the keyer attaches the input record to the keyed records of an
 * aggregation with a late sink (and only of those), the KEYED layout
 * carries it past keys of any length, and the aggregator sends a record
 * too late for every window it belongs to unchanged to the late sink (key,
 * value, event time, source and position), counts it per partition and per
 * aggregation, and applies a record with a live window as before. The
 * lateness of each record is worked out by hand from the window
 * definitions (ed_window.h). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "actors/decode/ed_hash.h"
#include "actors/decode/ed_keyer.h"
#include "actors/sources/ed_watermark.h"
#include "tests/unit/harness.h"

static const char *s_yaml =
    "runtime: { aggregators: 1 }\n"
    "sources:\n"
    "  orders:\n"
    "    directory: { path: /nonexistent/eddy-test-late }\n"
    "    format: json\n"
    "    time: { field: ts, format: epoch_ms }\n"
    "aggregations:\n"
    "  tum:\n"
    "    from: orders\n"
    "    key: [user]\n"
    "    window: { tumbling: 10s, late: dlq }\n"
    "    to: out\n"
    "  hop:\n"
    "    from: orders\n"
    "    key: [user]\n"
    "    window: { hopping: 10s, slide: 5s, late: dlq }\n"
    "    to: out\n"
    "  ses:\n"
    "    from: orders\n"
    "    key: [user]\n"
    "    window: { session: 2s, late: dlq2, emit: on_close }\n"
    "    to: out\n"
    "  plain:\n"
    "    from: orders\n"
    "    key: [user]\n"
    "    window: { tumbling: 10s }\n"
    "    to: out\n"
    "  upd:\n"
    "    from: orders\n"
    "    key: [user]\n"
    "    window: { hopping: 10s, slide: 5s, late: update }\n"
    "    to: out\n"
    "sinks:\n"
    "  out: { null: {} }\n"
    "  dlq: { null: {} }\n"
    "  dlq2: { null: {} }\n";

enum { TUM = 0, HOP = 1, SES = 2, PLAIN = 3, UPD = 4 };

static const ed_actor_type_t s_owner_type = {.name = "owner"};

static void test_keyed_record_layout(void **unused) {
    /* Keys of every length up to 17 bytes, with and without a record, in
     * one batch: each entry reads back whole and in order. */
    ed_batch_t *b = ed_batch_new(ED_BATCH_KEYED, 64);
    const char *key = "abcdefghijklmnopq";
    double vals[3] = {1, 2, 3};
    for (int i = 0; i < 18; i++) {
        char val[32], pos[32];
        int vl = snprintf(val, sizeof val, "{\"i\":%d}", i);
        int pl = snprintf(pos, sizeof pos, "f:%d", i);
        ed_keyed_input_t in = {.key = i % 3 ? "k" : NULL, .key_len = 1, .val = val,
                               .val_len = (uint32_t)vl, .src = 2, .pos = pos,
                               .pos_len = (size_t)pl};
        if (i % 2)
            ed_batch_add_keyed(b, (uint16_t)i, i, -i, vals, (uint16_t)(i % 4), key, (uint32_t)i,
                               (uint64_t)i);
        else
            ed_batch_add_keyed_record(b, (uint16_t)i, i, -i, vals, (uint16_t)(i % 4), key,
                                      (uint32_t)i, (uint64_t)i, &in);
    }
    ed_batch_iter_t it;
    ed_batch_iter_init(&it, b);
    const ed_keyed_t *e;
    int i = 0;
    while ((e = ed_batch_next_keyed(&it))) {
        assert_int_equal(e->agg, i);
        assert_int_equal(e->nvals, i % 4);
        assert_int_equal(e->key_len, i);
        assert_memory_equal(ed_keyed_key(e), key, (size_t)i);
        assert_true(e->ts_ms == i && e->wm_ms == -i && e->hash == (uint64_t)i);
        const ed_record_t *r = ed_keyed_record(e);
        if (i % 2) {
            assert_null(r);
        } else {
            assert_non_null(r);
            assert_int_equal((uintptr_t)r % 8, 0);
            char val[32], pos[32];
            snprintf(val, sizeof val, "{\"i\":%d}", i);
            snprintf(pos, sizeof pos, "f:%d", i);
            assert_int_equal(r->key_len, i % 3 ? 1 : 0);
            assert_int_equal(r->val_len, strlen(val));
            assert_memory_equal(ed_record_val(r), val, strlen(val));
            assert_int_equal(r->pos_len, strlen(pos));
            assert_memory_equal(ed_record_pos(r), pos, strlen(pos));
            assert_true(r->ts_ms == i && r->src == 3);
        }
        i++;
    }
    assert_int_equal(i, 18);
    assert_int_equal(b->count, 18);
    ed_batch_destroy(&b);
}

typedef struct {
    h_pipe_t p;
    ed_keyer_t *k;
    ed_actor_t *src; /* the source actor the keyer sends through */
    h_agg_t g;
    uint32_t dlq, dlq2;
    int64_t line;
    int with_record[5]; /* keyed records seen per aggregation that carried their input */
    int without[5];     /* and that did not */
} fx_t;

static fx_t *s_fx(void) {
    fx_t *f = calloc(1, sizeof *f);
    f->p = h_pipe(s_yaml, 0);
    const ed_config_t *conf = ed_plan_config(f->p.plan);
    uint32_t id = ed_plan_source_id(f->p.plan, 0);
    char err[512] = "";
    f->k = ed_keyer_new(f->p.plan, id, &conf->sources[0], 0, err, sizeof err);
    if (!f->k)
        fail_msg("keyer: %s", err);
    f->src = ed_actor_new_detached(&s_owner_type, "orders", NULL, id);
    f->g = h_agg_new(&f->p, 0);
    f->dlq = ed_plan_sink_id(f->p.plan, ed_config_sink_idx(conf, "dlq"));
    f->dlq2 = ed_plan_sink_id(f->p.plan, ed_config_sink_idx(conf, "dlq2"));
    return f;
}

static void s_fx_free(fx_t *f) {
    ed_keyer_destroy(&f->k);
    ed_actor_destroy_detached(&f->src);
    h_agg_free(&f->g);
    h_pipe_free(&f->p);
    free(f);
}

/* Feeds line `json` of file "o.json" (key "k1") to the keyer, flushes it
 * and delivers what it sent to the aggregator, counting which keyed
 * records carried their input. */
static void s_input(fx_t *f, const char *json) {
    ed_input_t in = h_file_input(json, "k1", "o.json", ++f->line);
    ed_keyer_input(f->k, f->src, &in);
    ed_keyer_flush(f->k, f->src);
    ed_msg_t *m;
    while ((m = ed_actor_take_sent(f->src))) {
        assert_int_equal(m->batch->kind, ED_BATCH_KEYED);
        ed_batch_iter_t it;
        ed_batch_iter_init(&it, m->batch);
        const ed_keyed_t *e;
        while ((e = ed_batch_next_keyed(&it))) {
            const ed_record_t *r = ed_keyed_record(e);
            if (!r) {
                f->without[e->agg]++;
                continue;
            }
            f->with_record[e->agg]++;
            assert_int_equal(r->val_len, strlen(json));
            assert_memory_equal(ed_record_val(r), json, strlen(json));
        }
        h_deliver(f->g.a, m);
    }
}

/* What the aggregator sent to the late sinks at a flush with watermark
 * wm: the records' "value|key|position|ts|src" joined by ';' per sink. */
static void s_flush(fx_t *f, uint64_t n, int64_t wm, uint32_t flags, char *dlq, char *dlq2,
                    size_t size) {
    h_deliver(f->g.a, h_msg(ED_MSG_BARRIER, n, flags | ED_MSG_F_WATERMARK, wm,
                            ed_plan_source_id(f->p.plan, 0)));
    dlq[0] = dlq2[0] = '\0';
    ed_msg_t *m;
    while ((m = ed_actor_take_sent(f->g.a))) {
        if (m->type == ED_MSG_BATCH && m->batch->kind == ED_BATCH_RECORDS) {
            assert_true(m->to == f->dlq || m->to == f->dlq2);
            char *out = m->to == f->dlq ? dlq : dlq2;
            ed_batch_iter_t it;
            ed_batch_iter_init(&it, m->batch);
            const ed_record_t *r;
            while ((r = ed_batch_next_record(&it)))
                snprintf(out + strlen(out), size - strlen(out), "%s%.*s|%.*s|%.*s|%lld|%d",
                         *out ? ";" : "", (int)r->val_len, (const char *)ed_record_val(r),
                         (int)r->key_len, (const char *)ed_record_key(r), (int)r->pos_len,
                         ed_record_pos(r), (long long)r->ts_ms, (int)r->src);
        }
        ed_msg_destroy(&m);
    }
}

static void test_too_late_records_go_to_the_late_sink(void **unused) {
    fx_t *f = s_fx();
    char dlq[1024], dlq2[1024];
    /* Watermark before each record = highest time before it (no
     * out-of-orderness): none, 1000, 30000, 30000. */
    s_input(f, "{\"user\":\"a\",\"ts\":1000}");  /* on time everywhere */
    s_input(f, "{\"user\":\"a\",\"ts\":30000}"); /* on time everywhere */
    /* b@2000 under W 30000: tumbling [0, 10000), hopping [0, 10000) and
     * [-5000, 5000), session [2000, 4000) are all expired: routed by tum,
     * hop (dlq) and ses (dlq2); plain drops it; upd applies it to both
     * its expired windows (one record updated, two windows). */
    s_input(f, "{\"user\":\"b\",\"ts\":2000}");
    /* b@27000 under W 30000: tumbling [20000, 30000) expired (routed);
     * hopping [25000, 35000) open, [20000, 30000) expired: applied, one
     * window skipped; session [27000, 29000) expired (routed); upd
     * updates the expired window (one more record, one window). */
    s_input(f, "{\"user\":\"b\",\"ts\":27000}");
    s_flush(f, 1, 30000, 0, dlq, dlq2, sizeof dlq);
    assert_string_equal(dlq, "{\"user\":\"b\",\"ts\":2000}|k1|o.json:3|2000|1;"
                             "{\"user\":\"b\",\"ts\":2000}|k1|o.json:3|2000|1;"
                             "{\"user\":\"b\",\"ts\":27000}|k1|o.json:4|27000|1");
    assert_string_equal(dlq2, "{\"user\":\"b\",\"ts\":2000}|k1|o.json:3|2000|1;"
                              "{\"user\":\"b\",\"ts\":27000}|k1|o.json:4|27000|1");
    /* Only the aggregations with a late sink carried their input. */
    for (int a = TUM; a <= SES; a++) {
        assert_int_equal(f->with_record[a], 4);
        assert_int_equal(f->without[a], 0);
    }
    for (int a = PLAIN; a <= UPD; a++) {
        assert_int_equal(f->with_record[a], 0);
        assert_int_equal(f->without[a], 4);
    }
    const ed_agg_stats_t *st = ed_plan_agg_stats(f->p.plan, 0);
    assert_int_equal(st->late_routed, 5);
    assert_int_equal(st->late_dropped, 2); /* plain's */
    assert_int_equal(st->windows_skipped, 1);
    assert_int_equal(ed_plan_agg_late(f->p.plan, TUM)->routed, 2);
    assert_int_equal(ed_plan_agg_late(f->p.plan, HOP)->routed, 1);
    assert_int_equal(ed_plan_agg_late(f->p.plan, SES)->routed, 2);
    assert_int_equal(ed_plan_agg_late(f->p.plan, PLAIN)->routed, 0);
    /* dropped and updated per aggregation, in the same cells: records */
    assert_int_equal(st->late_updates, 3); /* per partition: windows */
    assert_int_equal(ed_plan_agg_late(f->p.plan, PLAIN)->dropped, 2);
    assert_int_equal(ed_plan_agg_late(f->p.plan, UPD)->updated, 2);
    for (int a = TUM; a <= UPD; a++) {
        assert_int_equal(ed_plan_agg_late(f->p.plan, a)->dropped, a == PLAIN ? 2 : 0);
        assert_int_equal(ed_plan_agg_late(f->p.plan, a)->updated, a == UPD ? 2 : 0);
    }
    /* Routed records are sent once: the next flush has none. */
    s_flush(f, 2, ED_WATERMARK_END, ED_MSG_F_INPUT_END, dlq, dlq2, sizeof dlq);
    assert_string_equal(dlq, "");
    assert_string_equal(dlq2, "");
    s_fx_free(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyed_record_layout),
        cmocka_unit_test(test_too_late_records_go_to_the_late_sink),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
