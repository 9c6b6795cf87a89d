/* test_agg_windows.c — windows in the aggregator, driven step by step
 * (tests/unit/harness.h): tumbling and hopping assignment, each record
 * judged against the watermark it carries, late records dropped or
 * applied (`late: update`), windows freed once the watermark passes
 * end + allowed_lateness, the end of input closing every window, the
 * watermark of one source not holding back another's, and processing time
 * on the (fake) wall clock. Expected rows are worked out by hand from the
 * window definitions (ed_window.h), not by calling it. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "actors/aggregate/ed_agg_actor.h"
#include "actors/decode/ed_hash.h"
#include "actors/sources/ed_watermark.h"
#include "tests/unit/harness.h"

/* One aggregator; source g has event time, source p has not. */
static const char *s_yaml =
    "runtime: { aggregators: 1 }\n"
    "sources:\n"
    "  g: { generator: { event_rate: 1000 }, time: { field: \"@timestamp\" } }\n"
    "  p: { generator: {} }\n"
    "aggregations:\n"
    "  tum:\n"
    "    from: g\n"
    "    key: [{k: \"@key\"}]\n"
    "    window: { tumbling: 10s }\n"
    "    compute: { n: count, total: \"sum(@value)\" }\n"
    "    to: out\n"
    "  hop:\n"
    "    from: g\n"
    "    key: [{k: \"@key\"}]\n"
    "    window: { hopping: 10s, slide: 5s, allowed_lateness: 5s, late: update }\n"
    "    compute: { n: count }\n"
    "    to: out\n"
    "  proc:\n"
    "    from: p\n"
    "    key: [{k: \"@key\"}]\n"
    "    window: { tumbling: 1s }\n"
    "    compute: { n: count }\n"
    "    to: out\n"
    "  clo:\n"
    "    from: g\n"
    "    key: [{k: \"@key\"}]\n"
    "    window: { tumbling: 10s, allowed_lateness: 5s, emit: on_close }\n"
    "    compute: { n: count }\n"
    "    to: out\n"
    "  ses:\n"
    "    from: g\n"
    "    key: [{k: \"@key\"}]\n"
    "    window: { session: 10s, emit: on_close }\n"
    "    compute: { n: count, total: \"sum(@value)\", lo: \"min(@value)\", hi: \"max(@value)\",\n"
    "               mean: \"avg(@value)\", fst: \"first(@value)\", lst: \"last(@value)\" }\n"
    "    to: out\n"
    "  sesu:\n"
    "    from: g\n"
    "    key: [{k: \"@key\"}]\n"
    "    window: { session: 10s, allowed_lateness: 5s, late: update, emit: on_close }\n"
    "    compute: { n: count }\n"
    "    to: out\n"
    "alerts:\n"
    "  long: { on: ses, when: \"n >= 3\", to: out }\n"
    "  busy: { on: clo, when: \"n >= 3\", to: out }\n"
    "  upd: { on: tum, when: \"total >= 2\", to: out }\n"
    "sinks:\n"
    "  out: { null: {} }\n";

enum { TUM = 0, HOP = 1, PROC = 2, CLO = 3, SES = 4, SESU = 5 };

typedef struct {
    h_pipe_t p;
    ed_agg_actor_t *state;
    ed_actor_t *a;
    uint32_t g, pr; /* its senders: the source actors of g and p */
    uint32_t out;
    uint64_t n; /* last checkpoint */
    int alerts;           /* alert records seen by s_flush so far */
    char last_alert[512]; /* the last one's value */
} fx_t;

static fx_t *s_fx(void) {
    fx_t *f = calloc(1, sizeof *f);
    f->p = h_pipe(s_yaml, 0);
    uint32_t id = ed_plan_agg_id(f->p.plan, 0), up[2];
    assert_int_equal(h_senders(&f->p, id, up, 2), 2);
    f->g = ed_plan_source_id(f->p.plan, 0);
    f->pr = ed_plan_source_id(f->p.plan, 1);
    f->out = ed_plan_sink_id(f->p.plan, 0);
    char err[256] = "";
    f->state = ed_agg_actor_new(f->p.plan, 0, err, sizeof err);
    assert_non_null(f->state);
    f->a = ed_actor_new_detached(&ed_agg_actor, "aggregator-0", f->state, id);
    assert_int_equal(ed_actor_step_init(f->a, err, sizeof err), 0);
    return f;
}

static void s_fx_free(fx_t *f) {
    h_discard(f->a);
    ed_actor_destroy_detached(&f->a);
    ed_agg_actor_destroy(&f->state);
    h_pipe_free(&f->p);
    free(f);
}

static ed_agg_stats_t *s_stats(fx_t *f) {
    return ed_plan_agg_stats(f->p.plan, 0);
}

/* One KEYED record of aggregation agg, key `k`, value v, event time ts,
 * judged against watermark wm; the batch message itself carries batch_wm
 * (ED_WATERMARK_NONE: no watermark flag). */
static void s_rec_v(fx_t *f, uint32_t from, int agg, const char *k, int64_t ts, int64_t wm,
                    int64_t batch_wm, double v) {
    ed_batch_t *b = ed_batch_new(ED_BATCH_KEYED, 256);
    uint8_t key[64];
    size_t klen = 0;
    ed_key_append(key, &klen, k, strlen(k));
    double vals[7] = {0, v, v, v, v, v, v};
    ed_batch_add_keyed(b, (uint16_t)agg, ts, wm, vals, agg == TUM ? 2 : agg == SES ? 7 : 1, key,
                       (uint32_t)klen,
                       ed_hash64(key, klen));
    ed_msg_t *m = h_batch_msg(&b, from);
    if (batch_wm != ED_WATERMARK_NONE) {
        m->flags = ED_MSG_F_WATERMARK;
        m->value = batch_wm;
    }
    h_deliver(f->a, m);
}

/* s_rec_v with value 1. */
static void s_rec(fx_t *f, uint32_t from, int agg, const char *k, int64_t ts, int64_t wm,
                  int64_t batch_wm) {
    s_rec_v(f, from, agg, k, ts, wm, batch_wm, 1);
}

/* A row as the test reads it. */
typedef struct {
    int agg;
    int64_t ws, we, n, delta_n;
    double v[7]; /* the computes' values */
    char key[16];
} row_t;

/* Ends checkpoint n+1: barriers from both senders, g's with watermark
 * g_wm (idle p: processing time has none), plus `flags`; reads the rows
 * into rows[] (returns how many) and checks the barrier that follows. */
static int s_flush(fx_t *f, int64_t g_wm, uint32_t flags, row_t *rows, int max) {
    uint64_t n = ++f->n;
    h_deliver(f->a, h_msg(ED_MSG_BARRIER, n, flags | ED_MSG_F_WATERMARK, g_wm, f->g));
    /* p, without `time`, reports no watermark and is idle, until its end. */
    int end = (flags & ED_MSG_F_INPUT_END) != 0;
    h_deliver(f->a, h_msg(ED_MSG_BARRIER, n, flags | ED_MSG_F_WATERMARK | (end ? 0 : ED_MSG_F_IDLE),
                          end ? ED_WATERMARK_END : ED_WATERMARK_NONE, f->pr));
    int nrows = 0;
    ed_msg_t *m;
    while ((m = ed_actor_take_sent(f->a))) {
        if (m->type == ED_MSG_BARRIER) {
            assert_int_equal(m->seq, n);
            ed_msg_destroy(&m);
            break;
        }
        ed_batch_iter_t it;
        ed_batch_iter_init(&it, m->batch);
        if (m->batch->kind == ED_BATCH_RECORDS) { /* alerts */
            const ed_record_t *r;
            while ((r = ed_batch_next_record(&it))) {
                f->alerts++;
                snprintf(f->last_alert, sizeof f->last_alert, "%.*s", (int)r->val_len,
                         (const char *)ed_record_val(r));
            }
            ed_msg_destroy(&m);
            continue;
        }
        assert_int_equal(m->batch->kind, ED_BATCH_CHANGELOG);
        const ed_change_t *c;
        while ((c = ed_batch_next_change(&it))) {
            assert_true(nrows < max);
            row_t *r = &rows[nrows++];
            const uint8_t *part;
            size_t plen;
            assert_int_equal(ed_key_part(ed_change_key(c), c->key_len, 0, &part, &plen), 0);
            snprintf(r->key, sizeof r->key, "%.*s", (int)plen, (const char *)part);
            r->agg = c->agg;
            r->ws = c->window_start_ms;
            r->we = c->window_end_ms;
            r->n = c->n;
            r->delta_n = c->delta_n;
            for (int i = 0; i < c->nvals && i < 7; i++)
                r->v[i] = ed_change_value(c)[i];
            assert_true(ed_change_value(c)[0] == (double)c->n); /* count */
        }
        ed_msg_destroy(&m);
    }
    h_expect_none(f->a);
    return nrows;
}

/* The count of the row (agg, key, [ws, we)) among rows, or -1 if absent. */
static int64_t s_find(const row_t *rows, int n, int agg, const char *key, int64_t ws, int64_t we) {
    for (int i = 0; i < n; i++)
        if (rows[i].agg == agg && !strcmp(rows[i].key, key) && rows[i].ws == ws &&
            rows[i].we == we)
            return rows[i].n;
    return -1;
}

static void test_tumbling_assign_late_and_free(void **unused) {
    fx_t *f = s_fx();
    row_t rows[16];
    s_rec(f, f->g, TUM, "a", 1000, ED_WATERMARK_NONE, ED_WATERMARK_NONE);
    s_rec(f, f->g, TUM, "a", 9999, 1000, ED_WATERMARK_NONE);
    s_rec(f, f->g, TUM, "a", 10000, 9999, ED_WATERMARK_NONE);
    s_rec(f, f->g, TUM, "b", 0, 9999, 10000); /* on time: 9999 < end 10000 */
    int n = s_flush(f, 10000, 0, rows, 16);
    assert_int_equal(n, 3);
    assert_int_equal(s_find(rows, n, TUM, "a", 0, 10000), 2);
    assert_int_equal(s_find(rows, n, TUM, "a", 10000, 20000), 1);
    assert_int_equal(s_find(rows, n, TUM, "b", 0, 10000), 1);
    /* Watermark 10000 ≥ end 10000 + lateness 0: [0, 10000) is freed. */
    assert_int_equal(s_stats(f)->windows_open, 1);
    assert_int_equal(s_stats(f)->windows_closed, 1);
    /* The peaks are taken before expiry: 3 entries were live, 1 is left. */
    assert_int_equal(s_stats(f)->keys, 1);
    assert_int_equal(s_stats(f)->entries_peak, 3);
    assert_true(s_stats(f)->bytes_peak >= s_stats(f)->bytes && s_stats(f)->bytes > 0);
    /* Too late for its only window: dropped and counted, no row. */
    s_rec(f, f->g, TUM, "a", 5000, 10000, ED_WATERMARK_NONE);
    s_rec(f, f->g, TUM, "a", 15000, 10000, ED_WATERMARK_NONE);
    n = s_flush(f, 12000, 0, rows, 16);
    assert_int_equal(n, 1);
    assert_int_equal(s_find(rows, n, TUM, "a", 10000, 20000), 2);
    assert_int_equal(s_stats(f)->late_dropped, 1);
    /* The end of input closes the rest. */
    n = s_flush(f, ED_WATERMARK_END, ED_MSG_F_INPUT_END, rows, 16);
    assert_int_equal(n, 0);
    assert_int_equal(s_stats(f)->windows_open, 0);
    assert_int_equal(s_stats(f)->windows_closed, 2);
    assert_int_equal(s_stats(f)->keys, 0);
    assert_int_equal(s_stats(f)->entries_peak, 3); /* 1 live at the second flush: no new peak */
    s_fx_free(f);
}

static void test_hopping_lateness_and_update(void **unused) {
    fx_t *f = s_fx();
    row_t rows[16];
    /* ts 12000 is in [10000, 20000) and [5000, 15000). */
    s_rec(f, f->g, HOP, "a", 12000, 11000, ED_WATERMARK_NONE);
    int n = s_flush(f, 11000, 0, rows, 16);
    assert_int_equal(n, 2);
    assert_int_equal(s_find(rows, n, HOP, "a", 10000, 20000), 1);
    assert_int_equal(s_find(rows, n, HOP, "a", 5000, 15000), 1);
    /* wm 17000: [5000, 15000) is complete but within its lateness (5s):
     * still updated, a late row. */
    s_rec(f, f->g, HOP, "a", 12000, 17000, ED_WATERMARK_NONE);
    n = s_flush(f, 17000, 0, rows, 16);
    assert_int_equal(n, 2);
    assert_int_equal(s_find(rows, n, HOP, "a", 5000, 15000), 2);
    assert_int_equal(s_find(rows, n, HOP, "a", 10000, 20000), 2);
    assert_int_equal(s_stats(f)->windows_closed, 0);
    /* wm 20000 expires [5000, 15000) (20000 ≥ 15000 + 5000): freed at the
     * flush. */
    n = s_flush(f, 20000, 0, rows, 16);
    assert_int_equal(n, 0);
    assert_int_equal(s_stats(f)->windows_closed, 1);
    assert_int_equal(s_stats(f)->windows_open, 1);
    /* A record for both windows under wm 20000: [10000, 20000) is late,
     * [5000, 15000) too late; `late: update` applies it to both, the
     * expired one as a new row version (n = 1: its state was freed). */
    s_rec(f, f->g, HOP, "a", 12000, 20000, ED_WATERMARK_NONE);
    n = s_flush(f, 20000, 0, rows, 16);
    assert_int_equal(n, 2);
    assert_int_equal(s_find(rows, n, HOP, "a", 10000, 20000), 3);
    assert_int_equal(s_find(rows, n, HOP, "a", 5000, 15000), 1);
    assert_int_equal(s_stats(f)->late_updates, 1);
    assert_int_equal(s_stats(f)->windows_closed, 2); /* emitted, then freed again */
    /* Too late for every window (wm 40000 ≥ 20000 + 5000): still applied. */
    s_rec(f, f->g, HOP, "a", 12000, 40000, ED_WATERMARK_NONE);
    n = s_flush(f, 40000, 0, rows, 16);
    assert_int_equal(n, 2);
    assert_int_equal(s_stats(f)->late_dropped, 0);
    assert_int_equal(s_stats(f)->late_updates, 3);
    assert_int_equal(s_stats(f)->windows_open, 0);
    s_fx_free(f);
}

static void test_watermark_per_record_not_per_batch(void **unused) {
    fx_t *f = s_fx();
    row_t rows[16];
    /* One batch: the first record is judged against NONE, the second
     * against 20000 (the watermark just before it), the batch's own
     * watermark (25000) only after both. */
    ed_batch_t *b = ed_batch_new(ED_BATCH_KEYED, 256);
    uint8_t key[8];
    size_t klen = 0;
    ed_key_append(key, &klen, "a", 1);
    double vals[2] = {0, 1};
    ed_batch_add_keyed(b, TUM, 5000, ED_WATERMARK_NONE, vals, 2, key, (uint32_t)klen,
                       ed_hash64(key, klen));
    ed_batch_add_keyed(b, TUM, 6000, 20000, vals, 2, key, (uint32_t)klen, ed_hash64(key, klen));
    ed_batch_add_keyed(b, TUM, 25000, 20000, vals, 2, key, (uint32_t)klen, ed_hash64(key, klen));
    ed_msg_t *m = h_batch_msg(&b, f->g);
    m->flags = ED_MSG_F_WATERMARK;
    m->value = 25000;
    h_deliver(f->a, m);
    int n = s_flush(f, 25000, 0, rows, 16);
    assert_int_equal(n, 2);
    assert_int_equal(s_find(rows, n, TUM, "a", 0, 10000), 1);
    assert_int_equal(s_find(rows, n, TUM, "a", 20000, 30000), 1);
    assert_int_equal(s_stats(f)->late_dropped, 1);
    s_fx_free(f);
}

static void test_processing_time(void **unused) {
    fx_t *f = s_fx();
    row_t rows[16];
    /* Records of p fall in the window of their arrival (fake clock H_T0),
     * whatever their ts, and are never late. */
    s_rec(f, f->pr, PROC, "x", 5, ED_WATERMARK_NONE, ED_WATERMARK_NONE);
    ed_clock_fake(H_T0 + 999);
    s_rec(f, f->pr, PROC, "x", 5, ED_WATERMARK_NONE, ED_WATERMARK_NONE);
    int n = s_flush(f, ED_WATERMARK_NONE, 0, rows, 16);
    assert_int_equal(n, 1);
    assert_int_equal(s_find(rows, n, PROC, "x", H_T0, H_T0 + 1000), 2);
    assert_int_equal(s_stats(f)->windows_open, 1);
    /* The wall clock reaching the end frees the window. */
    ed_clock_fake(H_T0 + 1000);
    n = s_flush(f, ED_WATERMARK_NONE, 0, rows, 16);
    assert_int_equal(n, 0);
    assert_int_equal(s_stats(f)->windows_open, 0);
    assert_int_equal(s_stats(f)->windows_closed, 1);
    s_fx_free(f);
}

static void test_sources_do_not_hold_each_other(void **unused) {
    fx_t *f = s_fx();
    row_t rows[16];
    /* p never has a watermark (processing time, idle); g's windows still
     * close on g's watermark, and the end of input closes p's. */
    s_rec(f, f->g, TUM, "a", 1000, ED_WATERMARK_NONE, ED_WATERMARK_NONE);
    s_rec(f, f->pr, PROC, "x", 0, ED_WATERMARK_NONE, ED_WATERMARK_NONE);
    int n = s_flush(f, 10000, 0, rows, 16);
    assert_int_equal(n, 2);
    assert_int_equal(s_stats(f)->windows_open, 1); /* proc's; tum's [0, 10000) freed */
    n = s_flush(f, ED_WATERMARK_END, ED_MSG_F_INPUT_END, rows, 16);
    assert_int_equal(n, 0);
    assert_int_equal(s_stats(f)->windows_open, 0);
    s_fx_free(f);
}

/* emit: on_close: nothing while the window is open or within its allowed
 * lateness, then one row with the whole window once W ≥ end + lateness;
 * an alert on it fires at that row. */
static void test_on_close(void **unused) {
    fx_t *f = s_fx();
    row_t rows[16];
    s_rec(f, f->g, CLO, "a", 1000, ED_WATERMARK_NONE, ED_WATERMARK_NONE);
    s_rec(f, f->g, CLO, "a", 2000, 1000, ED_WATERMARK_NONE);
    s_rec(f, f->g, CLO, "b", 3000, 1000, ED_WATERMARK_NONE);
    assert_int_equal(s_flush(f, 3000, 0, rows, 16), 0);
    /* Complete (12000 ≥ 10000) but within its lateness: still no row, and
     * a late record still counts. */
    assert_int_equal(s_flush(f, 12000, 0, rows, 16), 0);
    s_rec(f, f->g, CLO, "a", 5000, 12000, ED_WATERMARK_NONE);
    s_rec(f, f->g, CLO, "a", 21000, 12000, ED_WATERMARK_NONE);
    assert_int_equal(s_flush(f, 14999, 0, rows, 16), 0);
    assert_int_equal(s_stats(f)->windows_open, 2);
    assert_int_equal(f->alerts, 0);
    /* 15000 ≥ 10000 + 5000: [0, 10000) closes, one row per key, each with
     * the whole window (delta_n = n). */
    int n = s_flush(f, 15000, 0, rows, 16);
    assert_int_equal(n, 2);
    assert_int_equal(s_find(rows, n, CLO, "a", 0, 10000), 3);
    assert_int_equal(s_find(rows, n, CLO, "b", 0, 10000), 1);
    for (int i = 0; i < n; i++)
        assert_int_equal(rows[i].delta_n, rows[i].n);
    assert_int_equal(s_stats(f)->windows_closed, 1);
    assert_int_equal(f->alerts, 1); /* a reached n >= 3, b did not */
    assert_non_null(strstr(f->last_alert, "\"alert\":\"busy\""));
    assert_non_null(strstr(f->last_alert, "\"window_start\":0,\"window_end\":10000"));
    /* Too late now: dropped, the closed window is not emitted again. */
    s_rec(f, f->g, CLO, "a", 6000, 15000, ED_WATERMARK_NONE);
    assert_int_equal(s_flush(f, 16000, 0, rows, 16), 0);
    assert_int_equal(s_stats(f)->late_dropped, 1);
    /* The end of input closes the rest. */
    n = s_flush(f, ED_WATERMARK_END, ED_MSG_F_INPUT_END, rows, 16);
    assert_int_equal(n, 1);
    assert_int_equal(s_find(rows, n, CLO, "a", 20000, 30000), 1);
    assert_int_equal(s_stats(f)->windows_open, 0);
    assert_int_equal(s_stats(f)->keys, 0);
    assert_int_equal(f->alerts, 1);
    s_fx_free(f);
}

/* An alert on an on_update window fires at the first flush its condition
 * holds, and not again for that key and window when the value leaves the
 * range and comes back. */
static void test_alert_once_per_window(void **unused) {
    fx_t *f = s_fx();
    row_t rows[16];
    s_rec_v(f, f->g, TUM, "a", 1000, ED_WATERMARK_NONE, ED_WATERMARK_NONE, 3);
    assert_int_equal(s_flush(f, 1000, 0, rows, 16), 1);
    assert_int_equal(f->alerts, 1);
    assert_non_null(strstr(f->last_alert, "\"alert\":\"upd\""));
    s_rec_v(f, f->g, TUM, "a", 2000, 1000, ED_WATERMARK_NONE, -5); /* total -2 */
    assert_int_equal(s_flush(f, 2000, 0, rows, 16), 1);
    s_rec_v(f, f->g, TUM, "a", 3000, 2000, ED_WATERMARK_NONE, 10); /* total 8: holds again */
    assert_int_equal(s_flush(f, 3000, 0, rows, 16), 1);
    assert_int_equal(f->alerts, 1);
    /* Another window of the key, and another key: each fires once. */
    s_rec_v(f, f->g, TUM, "a", 11000, 3000, ED_WATERMARK_NONE, 2);
    s_rec_v(f, f->g, TUM, "b", 4000, 3000, ED_WATERMARK_NONE, 2);
    assert_int_equal(s_flush(f, 4000, 0, rows, 16), 2);
    assert_int_equal(f->alerts, 3);
    s_rec_v(f, f->g, TUM, "b", 5000, 4000, ED_WATERMARK_NONE, 1);
    assert_int_equal(s_flush(f, 5000, 0, rows, 16), 1);
    assert_int_equal(f->alerts, 3);
    s_fx_free(f);
}

/* The row of (agg, key) starting at ws, or NULL. */
static const row_t *s_row(const row_t *rows, int n, int agg, const char *key, int64_t ws) {
    for (int i = 0; i < n; i++)
        if (rows[i].agg == agg && !strcmp(rows[i].key, key) && rows[i].ws == ws)
            return &rows[i];
    return NULL;
}

/* Session windows, gap 10 s: a record within the gap extends a session, a
 * record bridging two merges them with every compute's state, and the one
 * row per session goes out when the watermark passes its end. Worked by
 * hand: a@1000 (5) → [1000, 11000); a@25000 (2) → [25000, 35000); a@18000
 * (9) → [18000, 28000) joins the second: [18000, 35000); a@9000 (-1) →
 * [9000, 19000) bridges both: [1000, 35000), 4 records, sum 15, min -1, max
 * 9, avg 3.75, first 5 (at 1000), last 2 (at 25000). */
static void test_session_merge(void **unused) {
    fx_t *f = s_fx();
    row_t rows[16];
    uint64_t closed0 = s_stats(f)->windows_closed;
    s_rec_v(f, f->g, SES, "a", 1000, ED_WATERMARK_NONE, ED_WATERMARK_NONE, 5);
    s_rec_v(f, f->g, SES, "a", 25000, 1000, ED_WATERMARK_NONE, 2);
    s_rec_v(f, f->g, SES, "b", 2000, 1000, ED_WATERMARK_NONE, 7);
    assert_int_equal(s_flush(f, 2000, 0, rows, 16), 0);
    assert_int_equal(s_stats(f)->windows_open, 3);
    s_rec_v(f, f->g, SES, "a", 18000, 2000, ED_WATERMARK_NONE, 9);
    assert_int_equal(s_flush(f, 10999, 0, rows, 16), 0);
    assert_int_equal(s_stats(f)->windows_open, 3);
    s_rec_v(f, f->g, SES, "a", 9000, 10999, ED_WATERMARK_NONE, -1);
    /* b's [2000, 12000) closes at 12000; a's merged session is open. */
    int n = s_flush(f, 12000, 0, rows, 16);
    assert_int_equal(n, 1);
    const row_t *r = s_row(rows, n, SES, "b", 2000);
    assert_non_null(r);
    assert_int_equal(r->we, 12000);
    assert_int_equal(r->n, 1);
    assert_int_equal(s_stats(f)->windows_open, 1);
    assert_int_equal(s_stats(f)->windows_closed - closed0, 1);
    assert_int_equal(f->alerts, 0);
    assert_int_equal(s_flush(f, 34999, 0, rows, 16), 0);
    n = s_flush(f, 35000, 0, rows, 16);
    assert_int_equal(n, 1);
    r = s_row(rows, n, SES, "a", 1000);
    assert_non_null(r);
    assert_int_equal(r->we, 35000);
    assert_int_equal(r->n, 4);
    assert_int_equal(r->delta_n, 4);
    assert_true(r->v[1] == 15 && r->v[2] == -1 && r->v[3] == 9 && r->v[4] == 3.75);
    assert_true(r->v[5] == 5 && r->v[6] == 2);
    /* The alert on n >= 3 fires once, at close, with the session's bounds. */
    assert_int_equal(f->alerts, 1);
    assert_non_null(strstr(f->last_alert, "\"alert\":\"long\""));
    assert_non_null(strstr(f->last_alert, "\"window_start\":1000,\"window_end\":35000"));
    assert_int_equal(s_stats(f)->windows_open, 0);
    assert_int_equal(s_stats(f)->keys, 0); /* closed sessions are freed */
    /* Exactly gap apart is a new session (ends are exclusive). */
    s_rec_v(f, f->g, SES, "c", 40000, 35000, ED_WATERMARK_NONE, 1);
    s_rec_v(f, f->g, SES, "c", 50000, 35000, ED_WATERMARK_NONE, 1);
    n = s_flush(f, ED_WATERMARK_END, ED_MSG_F_INPUT_END, rows, 16);
    assert_int_equal(n, 2);
    assert_int_equal(s_row(rows, n, SES, "c", 40000)->we, 50000);
    assert_int_equal(s_row(rows, n, SES, "c", 50000)->we, 60000);
    assert_int_equal(f->alerts, 1);
    s_fx_free(f);
}

/* Lateness of sessions is judged on the merged session: within
 * allowed_lateness (5 s) a late record still extends it; later, `late:
 * drop` drops the record and `late: update` applies it as a session of its
 * own, emitted at the next close. */
static void test_session_lateness(void **unused) {
    fx_t *f = s_fx();
    row_t rows[16];
    s_rec(f, f->g, SESU, "c", 1000, ED_WATERMARK_NONE, ED_WATERMARK_NONE);
    s_rec(f, f->g, SESU, "c", 3000, 1000, ED_WATERMARK_NONE); /* [1000, 13000) */
    assert_int_equal(s_flush(f, 15000, 0, rows, 16), 0);      /* closes at 18000 */
    s_rec(f, f->g, SESU, "c", 500, 15000, ED_WATERMARK_NONE);  /* late, joins: [500, 13000) */
    assert_int_equal(s_stats(f)->late_updates, 0);
    int n = s_flush(f, 18000, 0, rows, 16);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].ws, 500);
    assert_int_equal(rows[0].we, 13000);
    assert_int_equal(rows[0].n, 3);
    /* Too late: update applies it as a new session, emitted at once. */
    s_rec(f, f->g, SESU, "c", 2000, 18000, ED_WATERMARK_NONE);
    assert_int_equal(s_stats(f)->late_updates, 1);
    n = s_flush(f, 18000, 0, rows, 16);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].ws, 2000);
    assert_int_equal(rows[0].we, 12000);
    assert_int_equal(rows[0].n, 1);
    /* SES has late: drop and no lateness. */
    uint64_t dropped = s_stats(f)->late_dropped;
    s_rec(f, f->g, SES, "d", 7000, 18000, ED_WATERMARK_NONE); /* [7000, 17000): too late */
    assert_int_equal(s_stats(f)->late_dropped - dropped, 1);
    assert_int_equal(s_flush(f, ED_WATERMARK_END, ED_MSG_F_INPUT_END, rows, 16), 0);
    s_fx_free(f);
}

/* A session expired under a record's watermark is final even before the
 * next flush closes it: a record bridging it and an open session merges
 * only the open one (gap 10 s, no lateness). */
static void test_session_expired_not_merged(void **unused) {
    fx_t *f = s_fx();
    row_t rows[16];
    s_rec(f, f->g, SES, "e", 1000, ED_WATERMARK_NONE, ED_WATERMARK_NONE); /* [1000, 11000) */
    s_rec(f, f->g, SES, "e", 20000, 1000, ED_WATERMARK_NONE);             /* [20000, 30000) */
    /* Judged at 14000: [1000, 11000) has expired; [10500, 20500) joins the
     * open session only. */
    s_rec(f, f->g, SES, "e", 10500, 14000, ED_WATERMARK_NONE);
    uint64_t dropped = s_stats(f)->late_dropped;
    s_rec(f, f->g, SES, "e", 500, 14000, ED_WATERMARK_NONE); /* [500, 10500): too late */
    assert_int_equal(s_stats(f)->late_dropped - dropped, 1);
    int n = s_flush(f, 14000, 0, rows, 16);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].ws, 1000);
    assert_int_equal(rows[0].we, 11000);
    assert_int_equal(rows[0].n, 1);
    n = s_flush(f, ED_WATERMARK_END, ED_MSG_F_INPUT_END, rows, 16);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].ws, 10500);
    assert_int_equal(rows[0].we, 30000);
    assert_int_equal(rows[0].n, 2);
    assert_int_equal(s_stats(f)->keys, 0);
    s_fx_free(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tumbling_assign_late_and_free),
        cmocka_unit_test(test_hopping_lateness_and_update),
        cmocka_unit_test(test_watermark_per_record_not_per_batch),
        cmocka_unit_test(test_processing_time),
        cmocka_unit_test(test_sources_do_not_hold_each_other),
        cmocka_unit_test(test_on_close),
        cmocka_unit_test(test_alert_once_per_window),
        cmocka_unit_test(test_session_merge),
        cmocka_unit_test(test_session_lateness),
        cmocka_unit_test(test_session_expired_not_merged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
