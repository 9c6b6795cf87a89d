/* test_window.c — window assignment, lateness classes, late routing and
 * session merging, each against a brute-force oracle written from the
 * definitions (enumerate windows and test membership; split sorted times at
 * gaps), over seeded random inputs including negative timestamps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "actors/aggregate/ed_window.h"
#include "runtime/ed_common.h"

static uint64_t s_rng(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static int64_t s_between(uint64_t *s, int64_t lo, int64_t hi) {
    return lo + (int64_t)(s_rng(s) % (uint64_t)(hi - lo + 1));
}

static ed_window_t s_spec(ed_window_type_t type, int64_t size, int64_t slide, int64_t lateness) {
    ed_window_t w;
    memset(&w, 0, sizeof w);
    w.type = type;
    w.size_ms = size;
    w.slide_ms = slide;
    w.gap_ms = size;
    w.allowed_lateness_ms = lateness;
    char err[256] = "";
    if (ed_window_check(&w, err, sizeof err) != 0)
        fail_msg("spec rejected: %s", err);
    return w;
}

/* Oracle: every window [k·S, k·S + D) with start ≤ ts < end, found by
 * scanning k over a range around ts/S wide enough to hold them all. */
static int s_oracle_windows(int64_t D, int64_t S, int64_t ts, ed_window_bounds_t *out) {
    int n = 0;
    int64_t k0 = ts / S - D / S - 2;
    for (int64_t k = k0; k <= ts / S + 2; k++) {
        int64_t s = k * S, e = s + D;
        if (s <= ts && ts < e)
            out[n++] = (ed_window_bounds_t){s, e};
    }
    return n;
}

static void t_check_rejects(void **state) {
    (void)state;
    char err[256];
    struct {
        ed_window_t w;
        const char *needle;
    } bad[] = {
        {{.type = ED_WINDOW_TUMBLING, .size_ms = 0},
         "'tumbling' is 0ms; expected a duration above 0"},
        {{.type = ED_WINDOW_TUMBLING, .size_ms = -5}, "'tumbling' is -5ms"},
        {{.type = ED_WINDOW_HOPPING, .size_ms = 300000, .slide_ms = 0}, "'slide' is 0ms"},
        {{.type = ED_WINDOW_HOPPING, .size_ms = 300000, .slide_ms = 120000},
         "'slide' 2m does not divide the hopping size 5m"},
        {{.type = ED_WINDOW_HOPPING, .size_ms = 60000, .slide_ms = 120000},
         "'slide' 2m is longer than the hopping size 1m"},
        {{.type = ED_WINDOW_HOPPING, .size_ms = 3600000, .slide_ms = 100},
         "in 36000 windows; expected at most 10000"},
        {{.type = ED_WINDOW_SESSION, .gap_ms = 0}, "'session' is 0ms"},
        {{.type = ED_WINDOW_TUMBLING, .size_ms = 1000, .allowed_lateness_ms = -1},
         "'allowed_lateness' is -1ms; expected a duration of 0 or more"},
        {{.type = ED_WINDOW_TUMBLING, .size_ms = ED_WINDOW_DURATION_MAX + 1}, "expected at most"},
        {{.type = ED_WINDOW_TUMBLING, .size_ms = 1000, .late = ED_LATE_SINK},
         "'late' names no sink"},
        {{.type = ED_WINDOW_TUMBLING, .size_ms = 1000, .late_sink = "dlq"}, "'late' is not a sink"},
        {{.type = 0, .size_ms = 1000}, "unknown window type"},
    };
    for (size_t i = 0; i < ED_ARRAY_SIZE(bad); i++) {
        err[0] = '\0';
        int rc = ed_window_check(&bad[i].w, err, sizeof err);
        assert_int_equal(rc, ED_EINVAL);
        if (!strstr(err, bad[i].needle))
            fail_msg("case %zu: message '%s' lacks '%s'", i, err, bad[i].needle);
    }
    ed_window_t ok = {.type = ED_WINDOW_TUMBLING, .size_ms = 60000, .slide_ms = 7};
    assert_int_equal(ed_window_check(&ok, err, sizeof err), 0);
    assert_int_equal(ok.slide_ms, 60000); /* tumbling: slide = size */
    ed_window_t sink = {.type = ED_WINDOW_HOPPING, .size_ms = 300000, .slide_ms = 60000,
                        .late = ED_LATE_SINK, .late_sink = "dlq"};
    assert_int_equal(ed_window_check(&sink, err, sizeof err), 0);
    assert_int_equal(ed_window_count(&sink), 5);
}

static void t_floor_negative(void **state) {
    (void)state;
    assert_int_equal(ed_window_floor(0, 10), 0);
    assert_int_equal(ed_window_floor(9, 10), 0);
    assert_int_equal(ed_window_floor(10, 10), 10);
    assert_int_equal(ed_window_floor(-1, 10), -10);
    assert_int_equal(ed_window_floor(-10, 10), -10);
    assert_int_equal(ed_window_floor(-11, 10), -20);
    assert_int_equal(ed_window_floor(ED_EVENT_TIME_MIN, 1000), -9007199254741000LL);
    assert_int_equal(ed_window_floor(ED_EVENT_TIME_MAX, 1000), 9007199254740000LL);
    ed_window_t w = s_spec(ED_WINDOW_TUMBLING, 10, 0, 0);
    ed_window_bounds_t b[1];
    assert_int_equal(ed_window_assign(&w, -1, b, 1), 1);
    assert_int_equal(b[0].start_ms, -10);
    assert_int_equal(b[0].end_ms, 0);
    assert_int_equal(ed_window_assign(&w, ED_EVENT_TIME_MAX + 1, b, 1), ED_EINVAL);
    assert_int_equal(ed_window_assign(&w, ED_EVENT_TIME_MIN - 1, b, 1), ED_EINVAL);
    assert_int_equal(ed_window_assign(&w, ED_EVENT_TIME_MAX, b, 1), 1);
    assert_true(b[0].start_ms <= ED_EVENT_TIME_MAX && ED_EVENT_TIME_MAX < b[0].end_ms);
}

/* Tumbling and hopping assignment against the enumerating oracle. */
static void t_assign_oracle(void **state) {
    (void)state;
    uint64_t rng = 7;
    static const int64_t shapes[][2] = {{1, 1},     {10, 10},   {10, 5},       {10, 1},
                                        {60000, 60000}, {300000, 60000}, {10000, 2000}, {7, 7},
                                        {21, 7},    {1000, 250}};
    ed_window_bounds_t got[1000], want[1000];
    for (size_t si = 0; si < ED_ARRAY_SIZE(shapes); si++) {
        int64_t D = shapes[si][0], S = shapes[si][1];
        ed_window_t w = s_spec(D == S ? ED_WINDOW_TUMBLING : ED_WINDOW_HOPPING, D, S, 0);
        assert_int_equal(ed_window_count(&w), D / S);
        for (int i = 0; i < 20000; i++) {
            int64_t ts = i < 100 ? i - 50 : s_between(&rng, -3 * D - 5000000, 3 * D + 5000000);
            int n = ed_window_assign(&w, ts, got, 1000);
            int m = s_oracle_windows(D, S, ts, want);
            assert_int_equal(n, m);
            assert_int_equal(n, D / S);
            /* same set; the module lists newest first, the oracle oldest first */
            for (int k = 0; k < n; k++) {
                assert_int_equal(got[k].start_ms, want[n - 1 - k].start_ms);
                assert_int_equal(got[k].end_ms, want[n - 1 - k].end_ms);
            }
        }
    }
}

/* Oracle for the class of a window from the definitions. */
static ed_window_class_t s_oracle_class(int64_t end, int64_t L, int64_t W) {
    if (W < end)
        return ED_WINDOW_ON_TIME; /* open */
    if (W - end < L)
        return ED_WINDOW_LATE; /* within allowed lateness after the end */
    return ED_WINDOW_TOO_LATE;
}

static void t_classify(void **state) {
    (void)state;
    ed_window_t w = s_spec(ED_WINDOW_TUMBLING, 60000, 0, 10000);
    /* window [60000, 120000) */
    assert_int_equal(ed_window_classify(&w, 120000, INT64_MIN), ED_WINDOW_ON_TIME);
    assert_int_equal(ed_window_classify(&w, 120000, 119999), ED_WINDOW_ON_TIME);
    assert_int_equal(ed_window_classify(&w, 120000, 120000), ED_WINDOW_LATE);
    assert_int_equal(ed_window_classify(&w, 120000, 129999), ED_WINDOW_LATE);
    assert_int_equal(ed_window_classify(&w, 120000, 130000), ED_WINDOW_TOO_LATE);
    assert_int_equal(ed_window_classify(&w, 120000, INT64_MAX), ED_WINDOW_TOO_LATE);
    assert_false(ed_window_is_complete(120000, 119999));
    assert_true(ed_window_is_complete(120000, 120000));
    assert_false(ed_window_can_free(&w, 120000, 129999));
    assert_true(ed_window_can_free(&w, 120000, 130000));
    assert_true(ed_window_can_free(&w, 120000, INT64_MAX));
    assert_false(ed_window_can_free(&w, 120000, INT64_MIN));
    assert_int_equal(ed_window_free_before(&w, 130000), 120000);
    assert_int_equal(ed_window_free_before(&w, INT64_MIN), INT64_MIN);
    assert_int_equal(ed_window_free_before(&w, INT64_MIN + 5), INT64_MIN);
    /* no lateness: never LATE, complete = expired */
    ed_window_t w0 = s_spec(ED_WINDOW_TUMBLING, 60000, 0, 0);
    assert_int_equal(ed_window_classify(&w0, 120000, 119999), ED_WINDOW_ON_TIME);
    assert_int_equal(ed_window_classify(&w0, 120000, 120000), ED_WINDOW_TOO_LATE);
    uint64_t rng = 11;
    for (int i = 0; i < 100000; i++) {
        int64_t L = s_between(&rng, 0, 5000);
        ed_window_t wl = s_spec(ED_WINDOW_TUMBLING, 1000, 0, L);
        int64_t end = s_between(&rng, -100000, 100000);
        int64_t W = s_between(&rng, -110000, 110000);
        assert_int_equal(ed_window_classify(&wl, end, W), s_oracle_class(end, L, W));
        assert_int_equal(ed_window_can_free(&wl, end, W),
                         s_oracle_class(end, L, W) == ED_WINDOW_TOO_LATE);
        assert_int_equal(end <= ed_window_free_before(&wl, W), ed_window_can_free(&wl, end, W));
    }
}

/* ed_window_route against the oracle: windows from s_oracle_windows, each
 * classified, then the policy applied as documented. */
static void t_route_oracle(void **state) {
    (void)state;
    uint64_t rng = 3;
    ed_window_hit_t hits[64];
    ed_window_bounds_t want[64];
    const ed_late_policy_t pols[] = {ED_LATE_DROP, ED_LATE_UPDATE, ED_LATE_SINK};
    int seen[3][3] = {{0}}; /* [policy][verdict] */
    int partial = 0;
    for (int i = 0; i < 200000; i++) {
        int64_t S = s_between(&rng, 1, 50);
        int64_t D = S * s_between(&rng, 1, 8);
        int64_t L = s_between(&rng, 0, 3) ? 0 : s_between(&rng, 0, 200);
        ed_late_policy_t pol = pols[i % 3];
        ed_window_t w = s_spec(D == S ? ED_WINDOW_TUMBLING : ED_WINDOW_HOPPING, D, S, L);
        w.late = pol;
        w.late_sink = pol == ED_LATE_SINK ? "dlq" : NULL;
        int64_t ts = s_between(&rng, -1000, 1000);
        int64_t W = ts + s_between(&rng, -D, D + L + 20);
        int nh = -1, skipped = -1;
        int v = ed_window_route(&w, ts, W, hits, 64, &nh, &skipped);
        int m = s_oracle_windows(D, S, ts, want);
        int too_late = 0;
        for (int k = 0; k < m; k++)
            too_late += s_oracle_class(want[k].end_ms, L, W) == ED_WINDOW_TOO_LATE;
        int want_v = ED_ROUTE_APPLY;
        if (too_late == m && pol == ED_LATE_DROP)
            want_v = ED_ROUTE_DROP;
        if (too_late == m && pol == ED_LATE_SINK)
            want_v = ED_ROUTE_SINK;
        assert_int_equal(v, want_v);
        seen[pol][v]++;
        if (v != ED_ROUTE_APPLY) {
            assert_int_equal(nh, 0);
            continue;
        }
        /* expected hits: every window under update, else the live ones */
        int k2 = 0;
        for (int k = m - 1; k >= 0; k--) {
            ed_window_class_t c = s_oracle_class(want[k].end_ms, L, W);
            if (c == ED_WINDOW_TOO_LATE && pol != ED_LATE_UPDATE)
                continue;
            assert_true(k2 < nh);
            assert_int_equal(hits[k2].bounds.start_ms, want[k].start_ms);
            assert_int_equal(hits[k2].bounds.end_ms, want[k].end_ms);
            assert_int_equal(hits[k2].cls, c);
            k2++;
        }
        assert_int_equal(nh, k2);
        assert_int_equal(skipped, pol == ED_LATE_UPDATE ? 0 : too_late);
        if (too_late > 0 && too_late < m)
            partial++;
    }
    /* every policy met both outcomes, and hopping records were partly late */
    assert_true(seen[ED_LATE_DROP][ED_ROUTE_DROP] > 1000);
    assert_true(seen[ED_LATE_DROP][ED_ROUTE_APPLY] > 1000);
    assert_true(seen[ED_LATE_SINK][ED_ROUTE_SINK] > 1000);
    assert_true(seen[ED_LATE_SINK][ED_ROUTE_APPLY] > 1000);
    assert_int_equal(seen[ED_LATE_UPDATE][ED_ROUTE_DROP] + seen[ED_LATE_UPDATE][ED_ROUTE_SINK], 0);
    assert_true(partial > 1000);
    int nh, sk;
    ed_window_t w = s_spec(ED_WINDOW_TUMBLING, 10, 0, 0);
    assert_int_equal(ed_window_route(&w, ED_EVENT_TIME_MAX + 1, 0, hits, 64, &nh, &sk), ED_EINVAL);
    assert_int_equal(nh, 0);
}

/* Oracle for sessions: sort the times, split where two neighbours are gap
 * or more apart; a session is [first, last + gap). */
static int s_oracle_sessions(int64_t *ts, int n, int64_t gap, ed_window_bounds_t *out) {
    int64_t *t = malloc(sizeof *t * (size_t)n);
    memcpy(t, ts, sizeof *t * (size_t)n);
    for (int i = 1; i < n; i++) /* insertion sort: n is small */
        for (int j = i; j > 0 && t[j - 1] > t[j]; j--) {
            int64_t x = t[j];
            t[j] = t[j - 1];
            t[j - 1] = x;
        }
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m > 0 && t[i] - t[i - 1] < gap)
            out[m - 1].end_ms = t[i] + gap;
        else
            out[m++] = (ed_window_bounds_t){t[i], t[i] + gap};
    }
    free(t);
    return m;
}

static void t_session_examples(void **state) {
    (void)state;
    ed_window_bounds_t s[8] = {{0, 0}};
    ed_session_place_t p;
    int n = 0;
    /* gap 10: records at 0 and 25 make two sessions [0,10) and [25,35) */
    assert_int_equal(ed_session_place(10, s, n, 0, &p), 0);
    assert_int_equal(p.count, 0);
    n = ed_session_apply(s, n, &p);
    assert_int_equal(ed_session_place(10, s, n, 25, &p), 0);
    assert_int_equal(p.count, 0);
    assert_int_equal(p.first, 1);
    n = ed_session_apply(s, n, &p);
    assert_int_equal(n, 2);
    /* exactly gap after the last record: a new session (end exclusive) */
    assert_int_equal(ed_session_place(10, s, n, 10, &p), 0);
    assert_int_equal(p.count, 0);
    assert_int_equal(p.first, 1);
    /* [15,25) touches both neighbours and overlaps neither */
    assert_int_equal(ed_session_place(10, s, n, 15, &p), 0);
    assert_int_equal(p.count, 0);
    assert_int_equal(p.first, 1);
    /* 9 merges into [0,10) → [0,19) */
    assert_int_equal(ed_session_place(10, s, n, 9, &p), 0);
    assert_int_equal(p.first, 0);
    assert_int_equal(p.count, 1);
    assert_int_equal(p.bounds.start_ms, 0);
    assert_int_equal(p.bounds.end_ms, 19);
    n = ed_session_apply(s, n, &p);
    /* 17 is less than a gap from 9 and from 25: it bridges [0,19) and
     * [25,35) into one session [0,35) */
    assert_int_equal(ed_session_place(10, s, n, 17, &p), 0);
    assert_int_equal(p.first, 0);
    assert_int_equal(p.count, 2);
    assert_int_equal(p.bounds.start_ms, 0);
    assert_int_equal(p.bounds.end_ms, 35);
    n = ed_session_apply(s, n, &p);
    assert_int_equal(n, 1);
    /* a record inside: count 1, bounds unchanged */
    assert_int_equal(ed_session_place(10, s, n, 25, &p), 0);
    assert_int_equal(p.count, 1);
    assert_int_equal(p.bounds.start_ms, 0);
    assert_int_equal(p.bounds.end_ms, 35);
    /* a record before extends the start: -5 → [-5, 35) */
    assert_int_equal(ed_session_place(10, s, n, -5, &p), 0);
    assert_int_equal(p.count, 1);
    assert_int_equal(p.bounds.start_ms, -5);
    assert_int_equal(ed_session_place(10, s, n, ED_EVENT_TIME_MIN - 1, &p), ED_EINVAL);
    ed_window_t w = s_spec(ED_WINDOW_SESSION, 10, 0, 0);
    ed_window_bounds_t b;
    assert_int_equal(ed_window_assign(&w, -3, &b, 1), 1);
    assert_int_equal(b.start_ms, -3);
    assert_int_equal(b.end_ms, 7);
}

/* Random records of one key in random (out-of-order) arrival: after every
 * insertion the sessions equal the oracle's over the records so far, and the
 * placement reported exactly the sessions that disappeared. */
static void t_session_oracle(void **state) {
    (void)state;
    uint64_t rng = 99;
    enum { N = 200 };
    int64_t ts[N];
    ed_window_bounds_t s[N + 1], want[N];
    long merges = 0, bridges = 0;
    for (int round = 0; round < 300; round++) {
        int64_t gap = s_between(&rng, 1, 50);
        int64_t span = s_between(&rng, 100, 20000);
        int n = 0;
        for (int i = 0; i < N; i++) {
            ts[i] = s_between(&rng, -span, span);
            ed_session_place_t p;
            assert_int_equal(ed_session_place(gap, s, n, ts[i], &p), 0);
            /* the merged run is exactly the sessions overlapping [t, t+gap) */
            for (int k = 0; k < n; k++) {
                int overlaps = s[k].start_ms < ts[i] + gap && ts[i] < s[k].end_ms;
                assert_int_equal(overlaps, k >= p.first && k < p.first + p.count);
            }
            int n2 = ed_session_apply(s, n, &p);
            assert_int_equal(n2, p.count == 0 ? n + 1 : n - p.count + 1);
            merges += p.count > 0;
            bridges += p.count > 1;
            n = n2;
            int m = s_oracle_sessions(ts, i + 1, gap, want);
            assert_int_equal(n, m);
            for (int k = 0; k < m; k++) {
                assert_int_equal(s[k].start_ms, want[k].start_ms);
                assert_int_equal(s[k].end_ms, want[k].end_ms);
            }
        }
    }
    assert_true(merges > 1000);
    assert_true(bridges > 100); /* records that merged two or more sessions */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_check_rejects),  cmocka_unit_test(t_floor_negative),
        cmocka_unit_test(t_assign_oracle),  cmocka_unit_test(t_classify),
        cmocka_unit_test(t_route_oracle),   cmocka_unit_test(t_session_examples),
        cmocka_unit_test(t_session_oracle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
