/* test_watermark.c — per-partition and source watermarks (bound, minimum,
 * idleness, assignment, revoke, end of input, monotonicity) and the
 * aggregator's minimum over upstreams, driven by a fake clock; plus random
 * histories checked against an oracle that recomputes every value from the
 * whole history by the definitions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "actors/sources/ed_watermark.h"

#define NONE ED_WATERMARK_NONE

static void t_single_partition(void **state) {
    (void)state;
    int64_t now = 1000; /* the fake clock */
    ed_watermark_t *wm = ed_watermark_new(2000, 0);
    int idle = -1;
    assert_int_equal(ed_watermark_current(wm, now, &idle), NONE);
    assert_int_equal(idle, 1); /* no partition yet */
    ed_watermark_observe(wm, NULL, -1, 50000, now);
    assert_int_equal(ed_watermark_current(wm, now, &idle), 48000);
    assert_int_equal(idle, 0);
    /* out of order within the bound: the watermark does not move back */
    ed_watermark_observe(wm, NULL, -1, 49000, now);
    assert_int_equal(ed_watermark_current(wm, now, &idle), 48000);
    ed_watermark_observe(wm, NULL, -1, 60000, now);
    assert_int_equal(ed_watermark_current(wm, now, NULL), 58000);
    int found = -1;
    assert_int_equal(ed_watermark_partition(wm, NULL, -1, &found), 58000);
    assert_int_equal(found, 1);
    assert_int_equal(ed_watermark_partition(wm, NULL, 7, &found), NONE);
    assert_int_equal(found, 0);
    /* idleness off: an hour of silence keeps the partition active */
    now += 3600 * 1000;
    assert_int_equal(ed_watermark_current(wm, now, &idle), 58000);
    assert_int_equal(idle, 0);
    ed_watermark_finish(wm);
    assert_int_equal(ed_watermark_current(wm, now, &idle), ED_WATERMARK_END);
    assert_int_equal(idle, 0);
    ed_watermark_destroy(&wm);
    assert_null(wm);
    ed_watermark_destroy(&wm); /* NULL-safe */
}

static void t_min_and_idleness(void **state) {
    (void)state;
    int64_t now = 0;
    ed_watermark_t *wm = ed_watermark_new(0, 30000);
    int idle;
    ed_watermark_assign(wm, NULL, 0, now);
    ed_watermark_assign(wm, NULL, 1, now);
    assert_int_equal(ed_watermark_npartitions(wm), 2);
    /* partition 0 answers first: partition 1, assigned but silent, holds
     * the watermark at NONE until idle_timeout after its assignment */
    ed_watermark_observe(wm, NULL, 0, 100000, now);
    assert_int_equal(ed_watermark_current(wm, now, &idle), NONE);
    assert_int_equal(idle, 0);
    now = 10000;
    ed_watermark_observe(wm, NULL, 1, 70000, now);
    assert_int_equal(ed_watermark_current(wm, now, &idle), 70000); /* the lowest */
    now = 20000;
    ed_watermark_observe(wm, NULL, 0, 120000, now);
    assert_int_equal(ed_watermark_current(wm, now, NULL), 70000);
    /* partition 1 silent since 10000: at 39999 still active, at 40000 idle */
    now = 39999;
    assert_int_equal(ed_watermark_current(wm, now, NULL), 70000);
    now = 40000;
    ed_watermark_observe(wm, NULL, 0, 130000, now);
    assert_int_equal(ed_watermark_current(wm, now, &idle), 130000);
    assert_int_equal(idle, 0);
    /* partition 1 speaks again, behind: back in the minimum, but the
     * watermark never goes back */
    now = 41000;
    ed_watermark_observe(wm, NULL, 1, 80000, now);
    assert_int_equal(ed_watermark_current(wm, now, NULL), 130000);
    ed_watermark_observe(wm, NULL, 0, 200000, now);
    assert_int_equal(ed_watermark_current(wm, now, NULL), 130000); /* held by partition 1 */
    ed_watermark_observe(wm, NULL, 1, 150000, now);
    assert_int_equal(ed_watermark_current(wm, now, NULL), 150000);
    /* everything silent: idle, the value holds */
    now = 100000;
    assert_int_equal(ed_watermark_current(wm, now, &idle), 150000);
    assert_int_equal(idle, 1);
    /* revoke partition 1: partition 0 alone decides */
    ed_watermark_revoke(wm, NULL, 1);
    ed_watermark_revoke(wm, NULL, 42); /* unknown: ignored */
    assert_int_equal(ed_watermark_npartitions(wm), 1);
    ed_watermark_observe(wm, NULL, 0, 210000, now);
    assert_int_equal(ed_watermark_current(wm, now, &idle), 210000);
    assert_int_equal(idle, 0);
    /* re-assignment resets a partition to "no input yet" */
    ed_watermark_assign(wm, NULL, 0, now);
    assert_int_equal(ed_watermark_partition(wm, NULL, 0, NULL), NONE);
    assert_int_equal(ed_watermark_current(wm, now, NULL), 210000);
    ed_watermark_destroy(&wm);
}

/* Partitions are (topic, number): a/0, b/0 and 0 without a topic are three. */
static void t_topics(void **state) {
    (void)state;
    int64_t now = 0;
    ed_watermark_t *wm = ed_watermark_new(0, 30000);
    ed_watermark_assign(wm, "b", 0, now);
    ed_watermark_assign(wm, "a", 0, now);
    ed_watermark_observe(wm, "a", 0, 100000, now);
    assert_int_equal(ed_watermark_current(wm, now, NULL), NONE); /* b/0 holds it */
    ed_watermark_observe(wm, "b", 0, 50000, now);
    assert_int_equal(ed_watermark_current(wm, now, NULL), 50000);
    ed_watermark_observe(wm, NULL, 0, 70000, now); /* a third partition */
    assert_int_equal(ed_watermark_npartitions(wm), 3);
    int found;
    assert_int_equal(ed_watermark_partition(wm, "a", 0, &found), 100000);
    assert_int_equal(ed_watermark_partition(wm, "b", 0, &found), 50000);
    assert_int_equal(ed_watermark_partition(wm, NULL, 0, &found), 70000);
    assert_int_equal(ed_watermark_partition(wm, "c", 0, &found), NONE);
    assert_int_equal(found, 0);
    /* order: no topic first, then by name */
    const char *t;
    int32_t p;
    assert_int_equal(ed_watermark_nth(wm, 0, &t, &p), 70000);
    assert_null(t);
    assert_int_equal(ed_watermark_nth(wm, 1, &t, &p), 100000);
    assert_string_equal(t, "a");
    assert_int_equal(ed_watermark_nth(wm, 2, &t, &p), 50000);
    assert_string_equal(t, "b");
    assert_int_equal(p, 0);
    ed_watermark_revoke(wm, "b", 0);
    ed_watermark_revoke(wm, "b", 1); /* unknown: ignored */
    assert_int_equal(ed_watermark_current(wm, now, NULL), 70000);
    ed_watermark_revoke(wm, NULL, 0);
    assert_int_equal(ed_watermark_current(wm, now, NULL), 100000);
    ed_watermark_destroy(&wm);
}

/* --- random histories against a recomputing oracle */

typedef struct {
    int kind; /* 0 observe, 1 assign, 2 revoke, 3 query */
    int32_t part;
    int64_t ts, now;
} s_ev_t;

static uint64_t s_rng(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The source watermark after history h[0..n) at query time `now`, from the
 * definitions: for each partition still assigned, find its last
 * (re)assignment, the records since, its last activity; keep the active
 * ones; take the lowest of (max − bound); the result never goes below any
 * earlier query's result (passed in `floor_`). */
static int64_t s_oracle(const s_ev_t *h, int n, int64_t bound, int64_t idle_ms, int64_t now,
                        int64_t floor_, int *idle) {
    int64_t low = ED_WATERMARK_END;
    int active = 0;
    for (int32_t p = 0; p < 8; p++) {
        int start = -1; /* index after which p's current membership began */
        int present = 0;
        for (int i = 0; i < n; i++) {
            if (h[i].part != p)
                continue;
            if (h[i].kind == 1 || (h[i].kind == 0 && !present)) {
                present = 1;
                start = i;
            } else if (h[i].kind == 2) {
                present = 0;
            }
        }
        if (!present)
            continue;
        int64_t act = h[start].now, mx = 0;
        int has = 0;
        for (int i = start; i < n; i++) {
            if (h[i].part != p || h[i].kind != 0)
                continue;
            act = h[i].now;
            if (!has || h[i].ts > mx)
                mx = h[i].ts;
            has = 1;
        }
        if (idle_ms > 0 && now - act >= idle_ms)
            continue;
        active++;
        int64_t w = has ? mx - bound : ED_WATERMARK_NONE;
        if (w < low)
            low = w;
    }
    *idle = active == 0;
    if (active > 0 && low > floor_)
        return low;
    return floor_;
}

static void t_random_oracle(void **state) {
    (void)state;
    static const char *const T[] = {NULL, "orders", ""};
    enum { N = 400 };
    s_ev_t h[N];
    uint64_t rng = 5;
    long advanced = 0, idles = 0;
    for (int round = 0; round < 200; round++) {
        int64_t bound = (int64_t)(s_rng(&rng) % 3000);
        int64_t idle_ms = (s_rng(&rng) % 4) ? (int64_t)(s_rng(&rng) % 5000) + 1 : 0;
        ed_watermark_t *wm = ed_watermark_new(bound, idle_ms);
        int64_t now = 0, base = (int64_t)(s_rng(&rng) % 100000) - 50000, prev = NONE;
        for (int i = 0; i < N; i++) {
            now += (int64_t)(s_rng(&rng) % 400);
            uint64_t r = s_rng(&rng) % 100;
            /* fewer partitions active for stretches: partitions ≥ 4 only
             * speak in some rounds, so idleness comes and goes */
            int32_t p = (int32_t)(s_rng(&rng) % ((round % 3) ? 4 : 8));
            h[i] = (s_ev_t){r < 70 ? 0 : r < 75 ? 1 : r < 78 ? 2 : 3, p,
                            base + now + (int64_t)(s_rng(&rng) % 6000) - 3000, now};
            /* oracle partition p is (topic, number) (T[p % 3], p / 3):
             * numbers repeat across topics, and "" is a topic apart from
             * none */
            const char *t = T[p % 3];
            if (h[i].kind == 0)
                ed_watermark_observe(wm, t, p / 3, h[i].ts, now);
            else if (h[i].kind == 1)
                ed_watermark_assign(wm, t, p / 3, now);
            else if (h[i].kind == 2)
                ed_watermark_revoke(wm, t, p / 3);
            int idle, oidle;
            int64_t got = ed_watermark_current(wm, now, &idle);
            int64_t want = s_oracle(h, i + 1, bound, idle_ms, now, prev, &oidle);
            assert_int_equal(got, want);
            assert_int_equal(idle, oidle);
            assert_true(got >= prev);
            advanced += got > prev;
            idles += idle;
            prev = got;
        }
        ed_watermark_destroy(&wm);
    }
    assert_true(advanced > 5000);
    assert_true(idles > 100);
}

static void t_wmin(void **state) {
    (void)state;
    ed_wmin_t *m = ed_wmin_new(3);
    assert_int_equal(ed_wmin_get(m), NONE);
    assert_false(ed_wmin_idle(m));
    /* upstreams not heard from hold it at NONE */
    assert_int_equal(ed_wmin_update(m, 0, 1000, 0), 0);
    assert_int_equal(ed_wmin_update(m, 1, 2000, 0), 0);
    assert_int_equal(ed_wmin_get(m), NONE);
    assert_int_equal(ed_wmin_update(m, 2, 1500, 0), 1);
    assert_int_equal(ed_wmin_get(m), 1000);
    /* the lowest moves: advance */
    assert_int_equal(ed_wmin_update(m, 0, 3000, 0), 1);
    assert_int_equal(ed_wmin_get(m), 1500);
    /* an upstream going back (restarted from NONE) is ignored */
    assert_int_equal(ed_wmin_update(m, 2, NONE, 0), 0);
    assert_int_equal(ed_wmin_get(m), 1500);
    /* idle upstream 2 is left out */
    assert_int_equal(ed_wmin_update(m, 2, 1500, 1), 1);
    assert_int_equal(ed_wmin_get(m), 2000);
    /* all idle: held */
    assert_int_equal(ed_wmin_update(m, 0, 3000, 1), 0);
    assert_int_equal(ed_wmin_update(m, 1, 2500, 1), 0);
    assert_true(ed_wmin_idle(m));
    assert_int_equal(ed_wmin_get(m), 2000);
    /* upstream 2 active again, behind: the combined value does not go back */
    assert_int_equal(ed_wmin_update(m, 2, 1800, 0), 0);
    assert_int_equal(ed_wmin_get(m), 2000);
    assert_false(ed_wmin_idle(m));
    assert_int_equal(ed_wmin_update(m, 2, 2600, 0), 1);
    assert_int_equal(ed_wmin_get(m), 2600);
    /* end of input everywhere: END */
    assert_int_equal(ed_wmin_update(m, 0, ED_WATERMARK_END, 0), 0);
    assert_int_equal(ed_wmin_update(m, 1, ED_WATERMARK_END, 0), 0);
    assert_int_equal(ed_wmin_get(m), 2600); /* upstream 2 still at 2600 */
    assert_int_equal(ed_wmin_update(m, 2, ED_WATERMARK_END, 0), 1);
    assert_int_equal(ed_wmin_get(m), ED_WATERMARK_END);
    ed_wmin_destroy(&m);
    assert_null(m);
}

/* ed_wmin against its definition over random reports. */
static void t_wmin_random(void **state) {
    (void)state;
    uint64_t rng = 17;
    long adv = 0;
    for (int round = 0; round < 500; round++) {
        int n = 1 + (int)(s_rng(&rng) % 6);
        ed_wmin_t *m = ed_wmin_new(n);
        int64_t up[6], floor_ = NONE;
        int idl[6];
        for (int k = 0; k < n; k++) {
            up[k] = NONE;
            idl[k] = 0;
        }
        for (int step = 0; step < 200; step++) {
            int i = (int)(s_rng(&rng) % (uint64_t)n);
            int64_t w = (int64_t)(s_rng(&rng) % 10000) + step * 50;
            int id = s_rng(&rng) % 5 == 0;
            int moved = ed_wmin_update(m, i, w, id);
            if (w > up[i])
                up[i] = w;
            idl[i] = id;
            int64_t low = ED_WATERMARK_END;
            int act = 0;
            for (int k = 0; k < n; k++)
                if (!idl[k]) {
                    act++;
                    low = up[k] < low ? up[k] : low;
                }
            int64_t want = act && low > floor_ ? low : floor_;
            assert_int_equal(moved, want > floor_);
            assert_int_equal(ed_wmin_get(m), want);
            assert_int_equal(ed_wmin_idle(m), act == 0);
            adv += moved;
            floor_ = want;
        }
        ed_wmin_destroy(&m);
    }
    assert_true(adv > 5000);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_single_partition), cmocka_unit_test(t_min_and_idleness),
        cmocka_unit_test(t_topics),
        cmocka_unit_test(t_random_oracle),    cmocka_unit_test(t_wmin),
        cmocka_unit_test(t_wmin_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
