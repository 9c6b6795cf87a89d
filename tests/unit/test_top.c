/* test_top.c — the model and the text of `eddy top` (actors/top/): rank
 * movement and rates between two snapshots (with a fake clock: snapshots
 * carry their own times), MOVE_NEW against rows never read, a pattern that
 * moves to another key, the newest-key rule, patterns and escapes in
 * arguments, and the formatting of rates, TTLs, members and cells. The Redis
 * side and the screen are tested under tmux (tests/integration/t_top.sh). */
#define _GNU_SOURCE
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

/* cmocka 1.1 (Debian 12) has no assert_double_equal */
#define s_assert_near(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

#include "actors/top/ed_top_board.h"
#include "actors/top/ed_top_text.h"
#include "runtime/ed_buf.h"
#include "runtime/ed_utf8.h"

/* A snapshot of `key` at `at_ms` from "member score member score …". */
static ed_top_snap_t s_snap(const char *key, int64_t at_ms, size_t asked, const char *pairs) {
    ed_top_snap_t s = {0};
    if (key) {
        s.key = strdup(key);
        s.key_len = strlen(key);
    }
    s.at_ms = at_ms;
    s.asked = asked;
    s.pttl_ms = -1;
    char *copy = strdup(pairs), *save = NULL;
    for (char *m = strtok_r(copy, " ", &save); m; m = strtok_r(NULL, " ", &save)) {
        char *sc = strtok_r(NULL, " ", &save);
        assert_non_null(sc);
        ed_top_snap_add(&s, m, strlen(m), sc, strlen(sc));
    }
    free(copy);
    s.card = (long long)s.n;
    return s;
}

static void s_set(ed_top_board_t *b, const char *key, int64_t at, size_t asked, const char *p) {
    ed_top_snap_t s = s_snap(key, at, asked, p);
    ed_top_board_set(b, &s);
    assert_null(s.v); /* taken */
}

static void test_movement_and_rates(void **state) {
    (void)state;
    ed_top_board_t *b = ed_top_board_new("top:words");
    assert_int_equal(b->is_pattern, 0);
    s_set(b, "top:words", 1000, 4, "a 40 b 30 c 20 d 10");
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(b->d[i].move, ED_TOP_MOVE_UNKNOWN);
        assert_int_equal(b->d[i].has_rate, 0);
    }
    /* 2.5 s later: d jumps to the top (+35), b unchanged, e new, c gone */
    s_set(b, "top:words", 3500, 4, "d 45 a 40 b 30 e 25");
    s_assert_near(b->dt_s, 2.5, 1e-9);
    assert_int_equal(b->d[0].move, ED_TOP_MOVE_UP);
    assert_int_equal(b->d[0].by, 3);
    assert_true(b->d[0].has_rate);
    s_assert_near(b->d[0].rate, 35 / 2.5, 1e-9);
    assert_int_equal(b->d[1].move, ED_TOP_MOVE_DOWN);
    assert_int_equal(b->d[1].by, 1);
    s_assert_near(b->d[1].rate, 0, 0);
    assert_int_equal(b->d[2].move, ED_TOP_MOVE_DOWN);
    assert_int_equal(b->d[3].move, ED_TOP_MOVE_NEW);
    assert_false(b->d[3].has_rate);
    /* a falling score: negative rate, same rank */
    s_set(b, "top:words", 4500, 4, "d 44 a 40 b 30 e 25");
    assert_int_equal(b->d[0].move, ED_TOP_MOVE_SAME);
    s_assert_near(b->d[0].rate, -1, 1e-9);
    ed_top_board_destroy(&b);
    assert_null(b);
    ed_top_board_destroy(&b); /* NULL: no-op */
}

static void test_more_rows_are_not_new(void **state) {
    (void)state;
    ed_top_board_t *b = ed_top_board_new("k");
    s_set(b, "k", 0, 2, "a 9 b 8");
    /* `+`: 4 rows asked now; c and d were below the 2 rows read before */
    s_set(b, "k", 1000, 4, "a 9 b 8 c 7 d 6");
    assert_int_equal(b->d[0].move, ED_TOP_MOVE_SAME);
    assert_int_equal(b->d[2].move, ED_TOP_MOVE_UNKNOWN);
    assert_int_equal(b->d[3].move, ED_TOP_MOVE_UNKNOWN);
    /* but a member entering the rows that were read is new */
    s_set(b, "k", 2000, 4, "x 10 a 9 b 8 c 7");
    assert_int_equal(b->d[0].move, ED_TOP_MOVE_NEW);
    assert_int_equal(b->d[3].move, ED_TOP_MOVE_DOWN);
    ed_top_board_destroy(&b);
}

static void test_new_key_resets(void **state) {
    (void)state;
    ed_top_board_t *b = ed_top_board_new("top:p:*");
    assert_int_equal(b->is_pattern, 1);
    s_set(b, "top:p:1000", 0, 3, "a 5 b 4");
    s_set(b, "top:p:2000", 1000, 3, "b 1 a 0.5");
    assert_int_equal(b->d[0].move, ED_TOP_MOVE_UNKNOWN); /* another window: nothing to compare */
    assert_false(b->d[0].has_rate);
    s_assert_near(b->dt_s, 0, 0);
    s_set(b, NULL, 2000, 3, ""); /* the pattern matches nothing any more */
    assert_int_equal(b->cur.n, 0);
    assert_null(b->cur.key);
    /* errors keep the last good snapshot; a good read clears them */
    s_set(b, "top:p:3000", 3000, 3, "z 1");
    ed_top_board_fail(b, "WRONGTYPE: the key is not a sorted set");
    assert_string_equal(b->err, "WRONGTYPE: the key is not a sorted set");
    assert_int_equal(b->cur.n, 1);
    s_set(b, "top:p:3000", 4000, 3, "z 2");
    assert_string_equal(b->err, "");
    s_assert_near(b->d[0].rate, 1, 1e-9);
    ed_top_board_destroy(&b);
}

static void test_members_are_bytes(void **state) {
    (void)state;
    ed_top_board_t *b = ed_top_board_new("k");
    ed_top_snap_t s = {.key = strdup("k"), .key_len = 1, .asked = 3};
    ed_top_snap_add(&s, "a\0b", 3, "1", 1);
    ed_top_snap_add(&s, "a", 1, "2", 1);
    ed_top_snap_add(&s, "a\0c", 3, "inf", 3);
    ed_top_board_set(b, &s);
    ed_top_snap_t t = {.key = strdup("k"), .key_len = 1, .asked = 3, .at_ms = 500};
    ed_top_snap_add(&t, "a\0c", 3, "-inf", 4);
    ed_top_snap_add(&t, "a\0b", 3, "3", 1);
    ed_top_snap_add(&t, "a", 1, "2", 1);
    ed_top_board_set(b, &t);
    assert_int_equal(b->d[0].move, ED_TOP_MOVE_UP); /* "a\0c" was 3rd */
    assert_int_equal(b->d[0].by, 2);
    assert_int_equal(b->d[1].move, ED_TOP_MOVE_DOWN); /* "a\0b" is not "a" */
    s_assert_near(b->d[1].rate, 4, 1e-9);
    assert_int_equal(b->d[2].move, ED_TOP_MOVE_DOWN);
    ed_top_board_destroy(&b);
}

static void test_patterns_and_escapes(void **state) {
    (void)state;
    static const struct {
        const char *arg;
        int pattern;
        const char *literal;
    } cases[] = {
        {"top:words", 0, "top:words"},
        {"top:*", 1, NULL},
        {"a?c", 1, NULL},
        {"w[12]", 1, NULL},
        {"top:\\*", 0, "top:*"},
        {"a\\\\b", 0, "a\\b"},
        {"a\\\\*", 1, NULL},
        {"trail\\", 0, "trail\\"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ed_top_board_t *b = ed_top_board_new(cases[i].arg);
        assert_int_equal(b->is_pattern, cases[i].pattern);
        if (cases[i].literal) {
            assert_string_equal(b->literal, cases[i].literal);
            assert_int_equal(b->literal_len, strlen(cases[i].literal));
        }
        ed_top_board_destroy(&b);
    }
}

static int s_newer(const char *a, const char *b) {
    return ed_top_key_newer(a, strlen(a), b, strlen(b));
}

static void test_newest_key_rule(void **state) {
    (void)state;
    /* a newer than b */
    static const char *newer[][2] = {
        {"top:p:1733097660000", "top:p:1733097600000"},
        {"top:p:10", "top:p:9"},     /* numbers, not bytes: "10" < "9" in byte order */
        {"top:p:100", "top:p:0099"}, /* leading zeros do not count */
        {"top:p:1", "top:p:latest"}, /* numbered beats unnumbered */
        {"top:p:b", "top:p:a"},      /* unnumbered: byte order */
        {"top:p:7", "top:p:007"},    /* equal numbers: byte order of the keys */
        {"x:99999999999999999999999", "x:99999999999999999999998"}, /* beyond 64 bits */
        {"0", ""},
    };
    for (size_t i = 0; i < sizeof newer / sizeof newer[0]; i++) {
        assert_true(s_newer(newer[i][0], newer[i][1]));
        assert_false(s_newer(newer[i][1], newer[i][0]));
    }
    assert_false(s_newer("top:p:5", "top:p:5"));
    /* a strict order: the maximum does not depend on the order of the keys */
    const char *keys[] = {"w:00", "w:7", "w:10", "w:x", "w:", "w:0010", "w:9", "v:10", "w:b10"};
    size_t n = sizeof keys / sizeof keys[0];
    unsigned seed = 7;
    for (int round = 0; round < 200; round++) {
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)rand_r(&seed) % (i + 1);
            const char *t = keys[i];
            keys[i] = keys[j];
            keys[j] = t;
        }
        const char *best = keys[0];
        for (size_t i = 1; i < n; i++)
            if (s_newer(keys[i], best))
                best = keys[i];
        assert_string_equal(best, "w:b10"); /* 10 == 10: "w:b10" is the greatest such key */
    }
}

static void s_rate_is(double r, const char *want) {
    char out[32];
    ed_top_fmt_rate(r, out, sizeof out);
    assert_string_equal(out, want);
}

static void s_ttl_is(long long ms, const char *want) {
    char out[32];
    ed_top_fmt_ttl(ms, out, sizeof out);
    assert_string_equal(out, want);
}

static void test_formats(void **state) {
    (void)state;
    s_rate_is(0, "");
    s_rate_is(2, "+2");
    s_rate_is(12.5, "+12.5");
    s_rate_is(-1.0 / 3, "-0.333");
    s_rate_is(999.4, "+999");
    s_rate_is(999.6, "+1k");
    s_rate_is(12345, "+12.3k");
    s_rate_is(-4.56e6, "-4.56M");
    s_rate_is(7.1e9, "+7.1G");
    s_rate_is(1.0 / 0.0, "+inf");
    s_ttl_is(-1, "none");
    s_ttl_is(-2, "missing");
    s_ttl_is(999, "0s");
    s_ttl_is(45000, "45s");
    s_ttl_is(3599999, "59m59s");
    s_ttl_is(3600000, "1h00m");
    s_ttl_is(86399000, "23h59m");
    s_ttl_is(3 * 86400000LL + 4 * 3600000LL + 59000, "3d04h");
    char m[16];
    ed_top_delta_t d = {.move = ED_TOP_MOVE_UP, .by = 3};
    ed_top_fmt_move(&d, 1, m, sizeof m);
    assert_string_equal(m, "\xe2\x86\x91"
                           "3");
    ed_top_fmt_move(&d, 0, m, sizeof m);
    assert_string_equal(m, "^3");
    d = (ed_top_delta_t){.move = ED_TOP_MOVE_DOWN, .by = 12};
    ed_top_fmt_move(&d, 0, m, sizeof m);
    assert_string_equal(m, "v12");
    d.move = ED_TOP_MOVE_NEW;
    ed_top_fmt_move(&d, 1, m, sizeof m);
    assert_string_equal(m, "new");
    d.move = ED_TOP_MOVE_SAME;
    ed_top_fmt_move(&d, 1, m, sizeof m);
    assert_string_equal(m, "");
}

static void s_esc_is(const char *in, size_t n, int mode, const char *want) {
    ed_buf_t b = ED_BUF_INIT;
    ed_top_escape(in, n, mode, &b);
    assert_string_equal(b.data ? b.data : "", want);
    assert_true(ed_utf8_valid(b.data ? b.data : "", b.len));
    ed_buf_free(&b);
}

static void test_escapes(void **state) {
    (void)state;
    const char raw[] = "caf\xc3\xa9 \xff\x01\x7f\xc2\x85 a\\b\tc\n\x00z";
    size_t n = sizeof raw - 1;
    s_esc_is(raw, n, ED_TOP_ESC_SCREEN,
             "caf\xc3\xa9 \\xff\\x01\\x7f\\xc2\\x85 a\\b\\x09c\\x0a\\x00z");
    s_esc_is(raw, n, ED_TOP_ESC_ASCII,
             "caf\\xc3\\xa9 \\xff\\x01\\x7f\\xc2\\x85 a\\b\\x09c\\x0a\\x00z");
    s_esc_is(raw, n, ED_TOP_ESC_LINE, "caf\xc3\xa9 \\xff\\x01\\x7f\\xc2\\x85 a\\\\b\\tc\\n\\x00z");
    /* overlong, surrogate, beyond U+10FFFF, truncated */
    s_esc_is("\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xe2\x82", 11, ED_TOP_ESC_SCREEN,
             "\\xc0\\xaf\\xed\\xa0\\x80\\xf4\\x90\\x80\\x80\\xe2\\x82");
}

static void test_cells(void **state) {
    (void)state;
    if (!setlocale(LC_CTYPE, "C.UTF-8"))
        skip();
    const char *jp = "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"; /* 日本語: 3 wide characters */
    assert_int_equal(ed_top_cells(jp, strlen(jp)), 6);
    assert_int_equal(ed_top_cells("caf\xc3\xa9", 5), 4);
    assert_int_equal(ed_top_cells("e\xcc\x81", 3), 1); /* e + combining acute */
    int used = 0;
    assert_int_equal(ed_top_fit(jp, strlen(jp), 5, &used), 6); /* two characters, 4 cells */
    assert_int_equal(used, 4);
    assert_int_equal(ed_top_fit("abc", 3, 10, &used), 3);
    assert_int_equal(used, 3);
    assert_int_equal(ed_top_fit("abc", 3, 0, &used), 0);
    setlocale(LC_CTYPE, "C");
}

static void test_once_text(void **state) {
    (void)state;
    ed_top_board_t *b[3] = {ed_top_board_new("top:w"), ed_top_board_new("top:p:*"),
                            ed_top_board_new("gone")};
    ed_top_snap_t s = s_snap("top:w", 0, 2, "the 10 of 9 and 8");
    s.pttl_ms = 59999;
    ed_top_board_set(b[0], &s);
    ed_top_snap_t t = {.asked = 2, .pttl_ms = -2};
    ed_top_board_set(b[1], &t);
    ed_top_board_fail(b[2], "WRONGTYPE: the key is not a sorted set");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_int_equal(ed_top_print_once(b, 3, 2, f), 1);
    fclose(f);
    assert_string_equal(text, "# top:w\tmembers=3\tttl=59s\n"
                              "1\t10\tthe\n"
                              "2\t9\tof\n"
                              "\n"
                              "# -\tmembers=0\tttl=missing\tpattern=top:p:*\n"
                              "\n"
                              "# gone\tmembers=0\tttl=missing\terror=WRONGTYPE: the key is not a "
                              "sorted set\n");
    free(text);
    for (int i = 0; i < 3; i++)
        ed_top_board_destroy(&b[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_movement_and_rates),
        cmocka_unit_test(test_more_rows_are_not_new),
        cmocka_unit_test(test_new_key_resets),
        cmocka_unit_test(test_members_are_bytes),
        cmocka_unit_test(test_patterns_and_escapes),
        cmocka_unit_test(test_newest_key_rule),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_cells),
        cmocka_unit_test(test_once_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
