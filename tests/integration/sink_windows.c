/*
 * sink_windows.c — the windowed part of the sink contract (see
 * sink_contract.h): rows of a windowed aggregation, built as the aggregator
 * emits them, land per (window, key) with their window bounds, read back by
 * the server's own client.
 */
#include "tests/integration/sink_contract.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ed_batch.h"

/* 2025-12-01T00:00:00Z; windows of 1.5 s, so that bounds have milliseconds. */
#define S_T0 1764547200000LL
#define S_SIZE 1500LL

void sc_wtotals_add(sc_wtotals_t *t, int64_t ws, int64_t we, const char *doc, size_t doc_len,
                    const char *word, size_t word_len, double count) {
    int known = 0;
    for (int i = 0; i < SC_NKEYS; i++)
        known |= doc_len == strlen(sc_key_doc(i)) && !memcmp(doc, sc_key_doc(i), doc_len) &&
                 word_len == strlen(sc_key_word(i)) && !memcmp(word, sc_key_word(i), word_len);
    if (!known)
        fail_msg("read back a key the contract never wrote: (%.*s, %.*s) in [%lld, %lld)",
                 (int)doc_len, doc, (int)word_len, word, (long long)ws, (long long)we);
    for (int i = 0; i < t->n; i++)
        if (t->row[i].ws == ws && t->row[i].we == we && strlen(t->row[i].doc) == doc_len &&
            !memcmp(t->row[i].doc, doc, doc_len) && strlen(t->row[i].word) == word_len &&
            !memcmp(t->row[i].word, word, word_len)) {
            t->row[i].count += count;
            return;
        }
    if (t->n == SC_WROWS)
        fail_msg("read back more than %d (window, key) rows", SC_WROWS);
    t->row[t->n].ws = ws;
    t->row[t->n].we = we;
    snprintf(t->row[t->n].doc, sizeof t->row[t->n].doc, "%.*s", (int)doc_len, doc);
    snprintf(t->row[t->n].word, sizeof t->row[t->n].word, "%.*s", (int)word_len, word);
    t->row[t->n].count = count;
    t->n++;
}

/* The (window, key)s of the flows. */
enum { S_W0_THE, S_W1_THE, S_W0_A, S_W1_D2THE, S_W2_NEW, S_W2_D2THE, S_NST };

/* The windowed flows: A (checkpoint 1): d1/the in windows 0 (+3) and 1
 * (+1), d1/a in window 0 (+1). B (checkpoint 2, two batches): d1/the again
 * in window 0 (+1) and window 1 (+2, then +1 in the second batch: twice in
 * one flush), d2/the in window 1 (+1), d3/new in window 2 (+2). C
 * (checkpoint 3): a final row (emit: on_close; delta = value) of d2/the in
 * window 2 (4). D (checkpoint 4): d1/the without a window, refused. */
typedef struct {
    sc_state_t st[S_NST];
    ed_batch_t *a[1], *b[2], *c[1], *d[1];
    ed_sink_flush_t fa, fb, fc, fd;
    double after_a[S_NST], after_b[S_NST], after_c[S_NST];
} s_wflows_t;

static void s_snap(const s_wflows_t *f, double *out) {
    for (int i = 0; i < S_NST; i++)
        out[i] = f->st[i].count;
}

static void s_wflows(s_wflows_t *f) {
    memset(f, 0, sizeof *f);
    static const struct {
        int key; /* contract key */
        int w;   /* window number */
    } what[S_NST] = {
        [S_W0_THE] = {SC_D1_THE, 0},   [S_W1_THE] = {SC_D1_THE, 1}, [S_W0_A] = {SC_D1_A, 0},
        [S_W1_D2THE] = {SC_D2_THE, 1}, [S_W2_NEW] = {SC_D3_NEW, 2}, [S_W2_D2THE] = {SC_D2_THE, 2},
    };
    for (int i = 0; i < S_NST; i++) {
        const char *word = sc_key_word(what[i].key);
        f->st[i] = (sc_state_t){.doc = sc_key_doc(what[i].key),
                                .word = word,
                                .word_len = strlen(word),
                                .ws = S_T0 + what[i].w * S_SIZE,
                                .we = S_T0 + (what[i].w + 1) * S_SIZE};
    }
    sc_state_t *st = f->st;
    f->a[0] = ed_batch_new(ED_BATCH_CHANGELOG, 1024);
    sc_emit(f->a[0], &st[S_W0_THE], (double[]){1, 2, 3}, 3);
    sc_emit(f->a[0], &st[S_W1_THE], (double[]){4}, 1);
    sc_emit(f->a[0], &st[S_W0_A], (double[]){5}, 1);
    s_snap(f, f->after_a);
    f->b[0] = ed_batch_new(ED_BATCH_CHANGELOG, 1024);
    sc_emit(f->b[0], &st[S_W0_THE], (double[]){6}, 1);
    sc_emit(f->b[0], &st[S_W1_THE], (double[]){7, 8}, 2);
    sc_emit(f->b[0], &st[S_W1_D2THE], (double[]){9}, 1);
    f->b[1] = ed_batch_new(ED_BATCH_CHANGELOG, 1024);
    sc_emit(f->b[1], &st[S_W1_THE], (double[]){10}, 1);
    sc_emit(f->b[1], &st[S_W2_NEW], (double[]){1, 1}, 2);
    s_snap(f, f->after_b);
    f->c[0] = ed_batch_new(ED_BATCH_CHANGELOG, 1024);
    sc_emit(f->c[0], &st[S_W2_D2THE], (double[]){2, 2, 2, 2}, 4);
    s_snap(f, f->after_c);
    f->d[0] = ed_batch_new(ED_BATCH_CHANGELOG, 1024);
    sc_state_t nowin = st[S_W0_THE];
    nowin.ws = nowin.we = 0;
    sc_emit(f->d[0], &nowin, (double[]){1}, 1);
    f->fa = (ed_sink_flush_t){.checkpoint = 1, .changes = f->a, .nchanges = 1, .rows = 3};
    f->fb = (ed_sink_flush_t){.checkpoint = 2, .changes = f->b, .nchanges = 2, .rows = 5};
    f->fc = (ed_sink_flush_t){.checkpoint = 3, .changes = f->c, .nchanges = 1, .rows = 1};
    f->fd = (ed_sink_flush_t){.checkpoint = 4, .changes = f->d, .nchanges = 1, .rows = 1};
}

static void s_wflows_free(s_wflows_t *f) {
    ed_batch_destroy(&f->a[0]);
    ed_batch_destroy(&f->b[0]);
    ed_batch_destroy(&f->b[1]);
    ed_batch_destroy(&f->c[0]);
    ed_batch_destroy(&f->d[0]);
}

/* Reads target back; fails unless it holds exactly the (window, key)s with
 * a count in want, each with that count. */
static void s_wexpect(const sc_plugin_t *p, const char *target, const s_wflows_t *f,
                      const double *want, const char *when) {
    sc_wtotals_t t;
    memset(&t, 0, sizeof t);
    p->read_windows(target, &t);
    int nwant = 0;
    for (int i = 0; i < S_NST; i++) {
        if (!want[i])
            continue;
        nwant++;
        const sc_state_t *k = &f->st[i];
        int found = -1;
        for (int j = 0; j < t.n; j++)
            if (t.row[j].ws == k->ws && t.row[j].we == k->we && !strcmp(t.row[j].doc, k->doc) &&
                !strcmp(t.row[j].word, k->word))
                found = j;
        if (found < 0)
            fail_msg("%s: %s %s: (%s, %s) in window [%lld, %lld) not read back (want count %g)",
                     when, p->type, target, k->doc, k->word, (long long)k->ws, (long long)k->we,
                     want[i]);
        if (t.row[found].count != want[i])
            fail_msg("%s: %s %s: (%s, %s) in window [%lld, %lld) has count %.17g, want %g", when,
                     p->type, target, k->doc, k->word, (long long)k->ws, (long long)k->we,
                     t.row[found].count, want[i]);
    }
    if (t.n != nwant) {
        for (int j = 0; j < t.n; j++)
            fprintf(stderr, "# read back: (%s, %s) [%lld, %lld) count %g\n", t.row[j].doc,
                    t.row[j].word, (long long)t.row[j].ws, (long long)t.row[j].we,
                    t.row[j].count);
        fail_msg("%s: %s %s: read back %d (window, key) rows, want %d", when, p->type, target,
                 t.n, nwant);
    }
}

void sc_test_windows(void **state) {
    const sc_plugin_t *p = *state;
    assert_non_null(p->read_windows);
    char body[1024], yaml[4096], name[64], err[2048], target[128], host[256];
    int port = 0;
    snprintf(target, sizeof target, "%s", sc_run("it_{run}_windows"));
    snprintf(name, sizeof name, "%s_windows", p->type);
    p->reset(target);
    p->server(host, sizeof host, &port);
    (p->wbody ? p->wbody : p->body)(body, sizeof body, target, host, port);
    sc_pipeline_window(yaml, sizeof yaml, name, body, "{ tumbling: 1500ms }");
    sc_sink_t s;
    assert_int_equal(sc_sink_open_yaml(&s, yaml, name, err, sizeof err), 0);
    s_wflows_t f;
    s_wflows(&f);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = sc_sink_write(&s, &f.fa, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.rows_written, 3);
    s_wexpect(p, target, &f, f.after_a, "after A");
    r = sc_sink_write(&s, &f.fb, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.rows_written, 3 + 5);
    s_wexpect(p, target, &f, f.after_b, "after B");
    r = sc_sink_write(&s, &f.fc, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.rows_written, 3 + 5 + 1);
    assert_int_equal(st.rows_rejected, 0);
    s_wexpect(p, target, &f, f.after_c, "after the final row");
    /* A row without a window cannot be written to a windowed table, set or
     * topic: refused, counted, the rest unchanged (a sink that ends such a
     * flush in DROP rather than OK is as right: it is not retried). */
    r = sc_sink_write(&s, &f.fd, &st, err, sizeof err);
    if (r != ED_WRITE_OK && r != ED_WRITE_DROP)
        fail_msg("a row without a window: write returned %d, expected OK or DROP: %s", (int)r,
                 err);
    assert_int_equal(st.rows_rejected, 1);
    assert_int_equal(st.rows_written, 3 + 5 + 1);
    s_wexpect(p, target, &f, f.after_c, "after a row without a window");
    sc_sink_close(&s);
    p->reset(target);
    s_wflows_free(&f);
}

void sc_write_overlapping(sc_sink_t *s, sc_state_t *w0, sc_state_t *w1) {
    /* 2025-12-01T00:00:01.500Z … 00:00:04.500Z and the overlapping window
     * before it. */
    *w1 = (sc_state_t){.doc = "d1", .word = "the", .word_len = 3, .ws = 1764547201500LL,
                       .we = 1764547204500LL};
    *w0 = *w1;
    w0->ws -= 1500;
    w0->we -= 1500;
    char err[2048] = "";
    ed_batch_t *b[2] = {ed_batch_new(ED_BATCH_CHANGELOG, 1024),
                        ed_batch_new(ED_BATCH_CHANGELOG, 1024)};
    sc_emit(b[0], w0, (double[]){2, 8}, 2);
    sc_emit(b[0], w1, (double[]){8}, 1);
    ed_sink_flush_t f1 = {.checkpoint = 1, .changes = b, .nchanges = 1, .rows = 2};
    ed_sink_stats_t st = {0};
    ASSERT_WRITE(ED_WRITE_OK, sc_sink_write(s, &f1, &st, err, sizeof err), err);
    ed_batch_reset(b[0]);
    sc_emit(b[0], w1, (double[]){-1, 4}, 2);
    sc_emit(b[1], w1, (double[]){0.5}, 1);
    ed_sink_flush_t f2 = {.checkpoint = 2, .changes = b, .nchanges = 2, .rows = 2};
    ASSERT_WRITE(ED_WRITE_OK, sc_sink_write(s, &f2, &st, err, sizeof err), err);
    ed_batch_destroy(&b[0]);
    ed_batch_destroy(&b[1]);
}
