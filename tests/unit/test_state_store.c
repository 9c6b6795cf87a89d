/* test_state_store.c — aggregator state that survives a restart
 * (actors/aggregate/ed_state_store.h): the snapshot file round trip, a
 * corrupt payload or header (CRC-32), another format version, truncation;
 * then whole aggregators driven step by step (tests/unit/harness.h) over a
 * stop and a restart: cumulative totals and alert crossings continue where
 * they were, an open window keeps its count, a closed window is not
 * reopened by a record replayed with a restarted (lower) watermark, a
 * checkpoint without COMMITTED is not restored, and a changed config or a
 * missing file is refused by name. Expected values are counted by hand;
 * approx_distinct's estimates after restarts equal one sketch's over the
 * same values (ed_hll), and a damaged sketch in a snapshot is refused. */
#define _GNU_SOURCE
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "actors/aggregate/ed_aggfn.h"
#include "actors/aggregate/ed_hll.h"
#include "actors/aggregate/ed_state_store.h"
#include "actors/decode/ed_hash.h"
#include "actors/sources/ed_watermark.h"
#include "runtime/ed_file.h"
#include "tests/unit/harness.h"

static char s_dir[256];

static int s_setup(void **unused) {
    snprintf(s_dir, sizeof s_dir, "/tmp/eddy-test-state-XXXXXX");
    assert_non_null(mkdtemp(s_dir));
    return 0;
}

static int s_teardown(void **unused) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void s_path(char *out, size_t n, const char *name) {
    snprintf(out, n, "%s/%s", s_dir, name);
}

/* ------------------------------------------------------------ files */

static ed_state_header_t s_header(void) {
    return (ed_state_header_t){.version = ED_STATE_VERSION,
                               .fingerprint = 0x1234567890abcdefull,
                               .agg_idx = 3,
                               .agg_count = 8,
                               .generation = 2,
                               .checkpoint = 77,
                               .entries = 5};
}

/* A payload of n bytes that compresses but is not constant. */
static uint8_t *s_payload(size_t n) {
    uint8_t *p = malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 7) % 13 + (i / 1000));
    return p;
}

static void test_file_round_trip(void **unused) {
    char path[300];
    s_path(path, sizeof path, "f.snap");
    size_t n = 700000; /* several compression chunks */
    uint8_t *p = s_payload(n);
    ed_state_header_t h = s_header(), got;
    char err[512] = "";
    assert_int_equal(ed_state_file_write(path, &h, p, n, err, sizeof err), 0);
    assert_int_equal(access(path, F_OK), 0);
    char tmp[310];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_not_equal(access(tmp, F_OK), 0); /* renamed away */
    uint8_t *back;
    size_t len;
    assert_int_equal(ed_state_file_read(path, &got, &back, &len, err, sizeof err), 0);
    assert_int_equal(len, n);
    assert_memory_equal(back, p, n);
    assert_int_equal(got.version, ED_STATE_VERSION);
    assert_true(got.fingerprint == h.fingerprint);
    assert_int_equal(got.agg_idx, 3);
    assert_int_equal(got.agg_count, 8);
    assert_int_equal(got.generation, 2);
    assert_int_equal(got.checkpoint, 77);
    assert_int_equal(got.entries, 5);
    free(back);
    free(p);
    /* An empty payload round-trips too. */
    assert_int_equal(ed_state_file_write(path, &h, "", 0, err, sizeof err), 0);
    assert_int_equal(ed_state_file_read(path, &got, &back, &len, err, sizeof err), 0);
    assert_int_equal(len, 0);
    free(back);
    assert_int_equal(ed_state_file_read("/nonexistent/x.snap", &got, &back, &len, err, sizeof err),
                     ED_ENOENT);
}

/* Writes a snapshot, lets `patch` change its bytes, and returns the read's
 * result with its message in err. */
static int s_read_patched(void (*patch)(char *data, size_t *len), char *err, size_t errn) {
    char path[300];
    s_path(path, sizeof path, "p.snap");
    uint8_t *p = s_payload(5000);
    ed_state_header_t h = s_header(), got;
    assert_int_equal(ed_state_file_write(path, &h, p, 5000, err, errn), 0);
    free(p);
    char *data;
    size_t len;
    assert_int_equal(ed_file_read(path, &data, &len, err, errn), 0);
    patch(data, &len);
    assert_int_equal(ed_file_replace(path, data, len, err, errn), 0);
    free(data);
    uint8_t *back = NULL;
    int rc = ed_state_file_read(path, &got, &back, &len, err, errn);
    assert_null(back);
    return rc;
}

static void s_flip_payload(char *d, size_t *len) { d[*len - 10] ^= 0x40; }
static void s_flip_header(char *d, size_t *len) { d[48] ^= 0x01; /* entries */ }
static void s_version(char *d, size_t *len) { d[8] = 9; }
static void s_truncate(char *d, size_t *len) { *len -= 20; }
static void s_magic(char *d, size_t *len) { memcpy(d, "NOTSNAP!", 8); }

static void test_file_corrupt(void **unused) {
    char err[512];
    assert_int_equal(s_read_patched(s_flip_payload, err, sizeof err), ED_EINVAL);
    assert_non_null(strstr(err, "p.snap"));
    assert_non_null(strstr(err, "corrupt"));
    assert_non_null(strstr(err, "delete the state directory"));
    assert_int_equal(s_read_patched(s_flip_header, err, sizeof err), ED_EINVAL);
    assert_non_null(strstr(err, "corrupt header (CRC-32"));
    assert_int_equal(s_read_patched(s_truncate, err, sizeof err), ED_EINVAL);
    assert_non_null(strstr(err, "truncated or corrupt"));
    assert_int_equal(s_read_patched(s_magic, err, sizeof err), ED_EINVAL);
    assert_non_null(strstr(err, "not an eddy state snapshot"));
}

static void test_file_version(void **unused) {
    char err[512];
    assert_int_equal(s_read_patched(s_version, err, sizeof err), ED_EINVAL);
    assert_non_null(strstr(err, "format version 9"));
    assert_non_null(strstr(err, "reads version 1"));
}

/* ------------------------------------------------------------ aggregators */

/* One aggregator; source g has event time. cum: cumulative, alert at n >= 3;
 * tum: tumbling 10 s. `extra` is spliced into cum's compute (to change
 * the layout). */
static char *s_yaml(const char *extra) {
    char *y = NULL;
    assert_true(asprintf(&y,
                         "runtime: { aggregators: 1, state_dir: \"%s/state\" }\n"
                         "sources:\n"
                         "  g: { generator: { event_rate: 1000 }, time: { field: \"@timestamp\" } }\n"
                         "aggregations:\n"
                         "  cum:\n"
                         "    from: g\n"
                         "    key: [{k: \"@key\"}]\n"
                         "    compute: { n: count, total: \"sum(@value)\", top: \"max(@value)\"%s }\n"
                         "    to: out\n"
                         "  tum:\n"
                         "    from: g\n"
                         "    key: [{k: \"@key\"}]\n"
                         "    window: { tumbling: 10s }\n"
                         "    compute: { n: count }\n"
                         "    to: out\n"
                         "  ses:\n"
                         "    from: g\n"
                         "    key: [{k: \"@key\"}]\n"
                         "    window: { session: 10s, emit: on_close }\n"
                         "    compute: { n: count, top: \"max(@value)\" }\n"
                         "    to: out\n"
                         "  dis:\n"
                         "    from: g\n"
                         "    key: [{k: \"@key\"}]\n"
                         "    compute: { d: \"approx_distinct(@value)\" }\n"
                         "    to: out\n"
                         "  dses:\n"
                         "    from: g\n"
                         "    key: [{k: \"@key\"}]\n"
                         "    window: { session: 10s, emit: on_close }\n"
                         "    compute: { n: count, d: \"approx_distinct(@value)\" }\n"
                         "    to: out\n"
                         "alerts:\n"
                         "  busy: { on: cum, when: n >= 3, to: hot }\n"
                         "sinks:\n"
                         "  out: { null: {} }\n"
                         "  hot: { null: {} }\n",
                         s_dir, extra) > 0);
    return y;
}

enum { CUM = 0, TUM = 1, SES = 2, DIS = 3, DSES = 4 };

typedef struct {
    h_pipe_t p;
    h_agg_t g;
    ed_actor_t *a; /* = g.a */
    uint32_t src, out, hot;
    uint64_t n;
} fx_t;

static fx_t *s_fx(void) {
    fx_t *f = calloc(1, sizeof *f);
    char *y = s_yaml("");
    f->p = h_pipe(y, 0);
    free(y);
    f->src = ed_plan_source_id(f->p.plan, 0);
    f->out = ed_plan_sink_id(f->p.plan, 0);
    f->hot = ed_plan_sink_id(f->p.plan, 1);
    f->g = h_agg_new(&f->p, 0);
    f->a = f->g.a;
    return f;
}

static void s_fx_free(fx_t *f) {
    h_agg_free(&f->g);
    h_pipe_free(&f->p);
    free(f);
}

/* One KEYED record of `agg`, key k, value v, event time ts, judged against
 * watermark wm. */
static void s_rec(fx_t *f, int agg, const char *k, double v, int64_t ts, int64_t wm) {
    ed_batch_t *b = ed_batch_new(ED_BATCH_KEYED, 256);
    uint8_t key[64];
    size_t klen = 0;
    ed_key_append(key, &klen, k, strlen(k));
    double vals[3] = {0, v, v};
    ed_batch_add_keyed(b, (uint16_t)agg, ts, wm, vals, agg == CUM ? 3 : agg == SES ? 2 : 1, key,
                       (uint32_t)klen, ed_hash64(key, klen));
    h_deliver(f->a, h_batch_msg(&b, f->src));
}

/* One KEYED record of approx_distinct aggregation DIS or DSES: key k, the
 * value whose text is `text` (hashed as the keyer hashes it). */
static void s_drec(fx_t *f, int agg, const char *k, const char *text, int64_t ts, int64_t wm) {
    ed_batch_t *b = ed_batch_new(ED_BATCH_KEYED, 256);
    uint8_t key[64];
    size_t klen = 0;
    ed_key_append(key, &klen, k, strlen(k));
    double h = ed_aggfn_hash_v(ed_hash64(text, strlen(text)));
    double vals[2] = {agg == DIS ? h : 0, h};
    ed_batch_add_keyed(b, (uint16_t)agg, ts, wm, vals, agg == DIS ? 1 : 2, key, (uint32_t)klen,
                       ed_hash64(key, klen));
    h_deliver(f->a, h_batch_msg(&b, f->src));
}

typedef struct {
    int agg;
    int64_t ws, we, n, delta_n;
    double v1, v2; /* cum: total and top; ses: top */
    char key[16];
} row_t;

typedef struct {
    row_t rows[16];
    int n;
    int alerts;
} out_t;

/* Ends the next checkpoint with a barrier carrying watermark wm and
 * collects what went out until the barriers. */
static out_t s_flush(fx_t *f, int64_t wm) {
    out_t o = {0};
    uint64_t n = ++f->n;
    h_deliver(f->a, h_msg(ED_MSG_BARRIER, n, ED_MSG_F_WATERMARK, wm, f->src));
    int barriers = 0;
    ed_msg_t *m;
    while (barriers < 2 && (m = ed_actor_take_sent(f->a))) {
        if (m->type == ED_MSG_BARRIER) {
            assert_int_equal(m->seq, n);
            barriers++;
        } else if (m->to == f->hot) {
            o.alerts += (int)m->batch->count;
        } else {
            ed_batch_iter_t it;
            ed_batch_iter_init(&it, m->batch);
            const ed_change_t *c;
            while ((c = ed_batch_next_change(&it))) {
                assert_true(o.n < 16);
                row_t *r = &o.rows[o.n++];
                const uint8_t *part;
                size_t plen;
                assert_int_equal(ed_key_part(ed_change_key(c), c->key_len, 0, &part, &plen), 0);
                snprintf(r->key, sizeof r->key, "%.*s", (int)plen, (const char *)part);
                *r = (row_t){.agg = c->agg, .ws = c->window_start_ms, .we = c->window_end_ms,
                             .n = c->n, .delta_n = c->delta_n};
                snprintf(r->key, sizeof r->key, "%.*s", (int)plen, (const char *)part);
                if (c->agg == SES || c->agg == DSES)
                    r->v1 = ed_change_value(c)[1];
                if (c->agg == DIS)
                    r->v1 = ed_change_value(c)[0];
                if (c->agg == CUM) {
                    r->v1 = ed_change_value(c)[1];
                    r->v2 = ed_change_value(c)[2];
                }
            }
        }
        ed_msg_destroy(&m);
    }
    assert_int_equal(barriers, 2);
    h_expect_none(f->a);
    return o;
}

static const row_t *s_find(const out_t *o, int agg, const char *key, int64_t ws) {
    for (int i = 0; i < o->n; i++)
        if (o->rows[i].agg == agg && !strcmp(o->rows[i].key, key) && o->rows[i].ws == ws)
            return &o->rows[i];
    return NULL;
}

static void s_commit(fx_t *f) {
    char err[512] = "";
    ed_state_store_t *st = ed_plan_state(f->p.plan);
    assert_non_null(st);
    if (ed_state_store_commit(st, f->n, err, sizeof err) < 0)
        fail_msg("%s", err);
}

static void test_restart_continues_totals_and_windows(void **unused) {
    fx_t *f = s_fx();
    char buf[96];
    assert_int_equal(ed_state_store_restored(ed_plan_state(f->p.plan), buf, sizeof buf), 0);
    s_rec(f, CUM, "a", 5, 1000, ED_WATERMARK_NONE);
    s_rec(f, CUM, "a", 7, 1100, 1000);
    s_rec(f, CUM, "b", 1, 1200, 1000);
    s_rec(f, TUM, "a", 1, 1000, ED_WATERMARK_NONE);
    s_rec(f, TUM, "a", 1, 12000, 1000);
    out_t o = s_flush(f, 11000); /* [0, 10 s) closes and is freed */
    assert_int_equal(o.n, 4);
    assert_int_equal(s_find(&o, CUM, "a", 0)->n, 2);
    assert_int_equal(s_find(&o, TUM, "a", 10000)->n, 1);
    assert_int_equal(o.alerts, 0);
    s_commit(f);
    /* Checkpoint 2 is saved but never committed (a crash before the
     * sinks acked): the restart must not see its record. */
    s_rec(f, CUM, "b", 100, 13000, 11000);
    (void)s_flush(f, 11000);
    s_fx_free(f);

    f = s_fx();
    assert_int_equal(ed_state_store_restored(ed_plan_state(f->p.plan), buf, sizeof buf), 1);
    assert_string_equal(buf, "generation 1 checkpoint 1");
    assert_int_equal(ed_plan_agg_stats(f->p.plan, 0)->keys, 3);
    /* The restarted keyer's watermark starts over (NONE): a replayed record
     * of the closed window is still too late, not a second [0, 10 s) row. */
    s_rec(f, TUM, "a", 1, 3000, ED_WATERMARK_NONE);
    s_rec(f, TUM, "a", 1, 15000, ED_WATERMARK_NONE);
    s_rec(f, CUM, "a", 2, 14000, ED_WATERMARK_NONE);
    s_rec(f, CUM, "c", 4, 14000, ED_WATERMARK_NONE);
    o = s_flush(f, ED_WATERMARK_NONE);
    assert_int_equal(o.n, 3); /* b did not change: no row */
    assert_null(s_find(&o, TUM, "a", 0));
    assert_int_equal(ed_plan_agg_stats(f->p.plan, 0)->late_dropped, 1);
    const row_t *r = s_find(&o, TUM, "a", 10000);
    assert_int_equal(r->n, 2);
    assert_int_equal(r->delta_n, 1);
    r = s_find(&o, CUM, "a", 0);
    assert_int_equal(r->n, 3);
    assert_int_equal(r->delta_n, 1);
    assert_true(r->v1 == 14 && r->v2 == 7);
    assert_int_equal(s_find(&o, CUM, "c", 0)->n, 1);
    assert_null(s_find(&o, CUM, "b", 0));
    /* a crossed n >= 3 now, once; before the restart it was at 2. */
    assert_int_equal(o.alerts, 1);
    s_commit(f);
    s_fx_free(f);

    /* Generation 2 committed: the older generation's files are gone. */
    char p1[300], p2[300];
    s_path(p1, sizeof p1, "state/agg-0-1-1.snap");
    s_path(p2, sizeof p2, "state/agg-0-2-1.snap");
    assert_int_not_equal(access(p1, F_OK), 0);
    assert_int_equal(access(p2, F_OK), 0);
    f = s_fx();
    assert_int_equal(ed_state_store_restored(ed_plan_state(f->p.plan), buf, sizeof buf), 1);
    assert_string_equal(buf, "generation 2 checkpoint 1");
    o = s_flush(f, ED_WATERMARK_NONE);
    assert_int_equal(o.n, 0); /* restored entries are clean */
    s_fx_free(f);
}

/* Open session windows survive a restart: restored, merged with a record
 * after it, emitted once at close; a session closed before the restart is
 * not emitted again. */
static void test_restart_keeps_open_sessions(void **unused) {
    fx_t *f = s_fx();
    s_rec(f, SES, "a", 5, 1000, ED_WATERMARK_NONE);
    s_rec(f, SES, "a", 2, 25000, 1000);
    s_rec(f, SES, "b", 1, 26000, 1000);
    out_t o = s_flush(f, 20000); /* [1000, 11000) closes */
    assert_int_equal(o.n, 1);
    const row_t *r = s_find(&o, SES, "a", 1000);
    assert_non_null(r);
    assert_int_equal(r->we, 11000);
    assert_int_equal(r->n, 1);
    s_commit(f);
    s_fx_free(f);

    f = s_fx();
    assert_int_equal(ed_plan_agg_stats(f->p.plan, 0)->keys, 2); /* two open sessions */
    s_rec(f, SES, "a", 5, 1000, ED_WATERMARK_NONE); /* replayed: its session closed */
    s_rec(f, SES, "a", 9, 16000, ED_WATERMARK_NONE); /* joins [25000, 35000) */
    o = s_flush(f, 30000);
    assert_int_equal(o.n, 0);
    assert_int_equal(ed_plan_agg_stats(f->p.plan, 0)->late_dropped, 1);
    s_commit(f);
    s_fx_free(f);

    f = s_fx();
    o = s_flush(f, ED_WATERMARK_END);
    assert_int_equal(o.n, 2);
    r = s_find(&o, SES, "a", 16000);
    assert_non_null(r);
    assert_int_equal(r->we, 35000);
    assert_int_equal(r->n, 2);
    assert_int_equal(r->delta_n, 2);
    assert_true(r->v1 == 9);
    r = s_find(&o, SES, "b", 26000);
    assert_non_null(r);
    assert_int_equal(r->we, 36000);
    assert_int_equal(r->n, 1);
    assert_int_equal(ed_plan_agg_stats(f->p.plan, 0)->keys, 0);
    s_fx_free(f);
}

/* The inode of state file `name` (0 if absent). */
static ino_t s_inode(const char *name) {
    char p[300];
    s_path(p, sizeof p, name);
    struct stat sb;
    return stat(p, &sb) == 0 ? sb.st_ino : 0;
}

static void test_unchanged_state_is_linked_not_rewritten(void **unused) {
    fx_t *f = s_fx();
    s_rec(f, CUM, "a", 5, 1000, ED_WATERMARK_NONE);
    (void)s_flush(f, 1000);
    (void)s_flush(f, 1000); /* no input, same watermark: the same snapshot */
    ino_t i1 = s_inode("state/agg-0-1-1.snap"), i2 = s_inode("state/agg-0-1-2.snap");
    assert_true(i1 != 0 && i1 == i2);
    (void)s_flush(f, 2000); /* the watermark moved: written anew */
    ino_t i3 = s_inode("state/agg-0-1-3.snap");
    assert_true(i3 != 0 && i3 != i1);
    f->n = 2; /* commit checkpoint 2, the link (its header says 1), and restore it */
    s_commit(f);
    f->n = 3;
    s_fx_free(f);
    f = s_fx();
    char buf[96];
    assert_int_equal(ed_state_store_restored(ed_plan_state(f->p.plan), buf, sizeof buf), 2);
    s_rec(f, CUM, "a", 1, 1500, ED_WATERMARK_NONE);
    out_t o = s_flush(f, ED_WATERMARK_NONE);
    assert_int_equal(s_find(&o, CUM, "a", 0)->n, 2);
    s_fx_free(f);
}

/* ed_plan_new of `yaml`, expected to fail with each of `want` in errstr. */
static void s_plan_fails(const char *yaml, const char *want1, const char *want2) {
    ed_config_t *conf = NULL;
    char err[1024] = "";
    assert_int_equal(ed_config_load_string(yaml, "test.yaml", ed_registry(), &conf, err,
                                           sizeof err),
                     0);
    ed_plan_t *plan = ed_plan_new(conf, 0, err, sizeof err);
    assert_null(plan);
    if (!strstr(err, want1) || !strstr(err, want2))
        fail_msg("expected '%s' and '%s' in: %s", want1, want2, err);
    ed_config_destroy(&conf);
}

static void test_changed_config_is_refused(void **unused) {
    fx_t *f = s_fx();
    s_rec(f, CUM, "a", 5, 1000, ED_WATERMARK_NONE);
    (void)s_flush(f, 1000);
    s_commit(f);
    s_fx_free(f);
    char *y = s_yaml(", low: \"min(@value)\"");
    char want[300];
    snprintf(want, sizeof want, "state directory '%s/state'", s_dir);
    s_plan_fails(y, want, "top=max(@value) low=min(@value)");
    s_plan_fails(y, "restore the config it was written with, or delete the directory", "");
    free(y);
    /* The same config again restores. */
    f = s_fx();
    char buf[96];
    assert_int_equal(ed_state_store_restored(ed_plan_state(f->p.plan), buf, sizeof buf), 1);
    s_fx_free(f);
}

static void test_missing_or_corrupt_snapshot_is_refused(void **unused) {
    fx_t *f = s_fx();
    s_rec(f, CUM, "a", 5, 1000, ED_WATERMARK_NONE);
    (void)s_flush(f, 1000);
    s_commit(f);
    s_fx_free(f);
    char path[300], *y = s_yaml("");
    s_path(path, sizeof path, "state/agg-0-1-1.snap");
    char *data;
    size_t len;
    char err[512];
    assert_int_equal(ed_file_read(path, &data, &len, err, sizeof err), 0);
    data[len - 3] ^= 0x10;
    assert_int_equal(ed_file_replace(path, data, len, err, sizeof err), 0);
    free(data);
    s_plan_fails(y, "agg-0-1-1.snap", "corrupt");
    assert_int_equal(unlink(path), 0);
    s_plan_fails(y, "agg-0-1-1.snap' is missing", "COMMITTED names generation 1 checkpoint 1");
    free(y);
}

/* approx_distinct's sketches (a pointer in the entry's state) survive a
 * restart through their encoding: the estimate after SIGTERM-like stops
 * and restarts equals the estimate of one sketch over the same values,
 * computed here with ed_hll, in the sparse form (3,000 values before the
 * first stop) and the dense one (10,000 after), cumulative and in an open
 * session window; and it is within 2 % of the exact count. */
static void test_restart_keeps_sketches(void **unused) {
    enum { FIRST = 3000, ALL = 10000 };
    char text[32];
    ed_hll_t *want = NULL;
    fx_t *f = s_fx();
    for (int i = 0; i < FIRST; i++) {
        snprintf(text, sizeof text, "cust-%d", i);
        ed_hll_add(&want, text, strlen(text));
        s_drec(f, DIS, "a", text, 1000, ED_WATERMARK_NONE);
        s_drec(f, DSES, "a", text, 1000 + i, ED_WATERMARK_NONE);
    }
    assert_true(ed_hll_is_sparse(want));
    out_t o = s_flush(f, ED_WATERMARK_NONE);
    assert_int_equal(o.n, 1); /* the session is open: on_close */
    assert_true(s_find(&o, DIS, "a", 0)->v1 == round(ed_hll_estimate(want)));
    s_commit(f);
    s_fx_free(f);

    f = s_fx(); /* restored: the sketches go on where they stopped */
    int exact = FIRST;
    static uint8_t seen[ALL];
    memset(seen, 1, FIRST);
    for (int i = FIRST; i < ALL; i++) {
        int v = i % 2 ? i : i / 2; /* repeats some */
        exact += !seen[v];
        seen[v] = 1;
        snprintf(text, sizeof text, "cust-%d", v);
        ed_hll_add(&want, text, strlen(text));
        s_drec(f, DIS, "a", text, 1000, ED_WATERMARK_NONE);
        s_drec(f, DSES, "a", text, 1000 + FIRST, ED_WATERMARK_NONE);
    }
    assert_false(ed_hll_is_sparse(want));
    o = s_flush(f, ED_WATERMARK_NONE);
    double est = round(ed_hll_estimate(want));
    if (fabs(est - exact) > 0.02 * exact)
        fail_msg("estimate %g, exact %d", est, exact);
    assert_true(s_find(&o, DIS, "a", 0)->v1 == est);
    s_commit(f);
    s_fx_free(f);

    f = s_fx(); /* a dense sketch restored; the session closes at the end */
    s_drec(f, DIS, "a", "cust-1", 1000, ED_WATERMARK_NONE); /* seen: no change */
    o = s_flush(f, ED_WATERMARK_END);
    assert_int_equal(o.n, 2);
    assert_true(s_find(&o, DIS, "a", 0)->v1 == est);
    const row_t *r = s_find(&o, DSES, "a", 1000);
    assert_non_null(r);
    assert_int_equal(r->n, ALL);
    assert_true(r->v1 == est);
    s_fx_free(f);
    ed_hll_destroy(&want);
}

/* A snapshot whose sketch is damaged (its precision byte) is refused with
 * what ed_hll_decode found, and the state directory named. */
static void test_corrupt_sketch_is_refused(void **unused) {
    fx_t *f = s_fx();
    s_drec(f, DIS, "a", "x", 1000, ED_WATERMARK_NONE);
    (void)s_flush(f, 1000);
    s_commit(f);
    s_fx_free(f);
    char path[300], err[512] = "", *y = s_yaml("");
    s_path(path, sizeof path, "state/agg-0-1-1.snap");
    ed_state_header_t h;
    uint8_t *data;
    size_t len;
    assert_int_equal(ed_state_file_read(path, &h, &data, &len, err, sizeof err), 0);
    /* The sketch header: magic 0xE1, version 2, precision 15, sparse. */
    const uint8_t sig[4] = {0xE1, 2, 15, 0};
    uint8_t *at = memmem(data, len, sig, sizeof sig);
    assert_non_null(at);
    at[2] = 31;
    assert_int_equal(ed_state_file_write(path, &h, data, len, err, sizeof err), 0);
    free(data);
    s_plan_fails(y, "agg-0-1-1.snap' does not decode", "approx_distinct state: byte 2: precision 31");
    free(y);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_restart_keeps_open_sessions, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_file_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_file_corrupt, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_file_version, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_restart_continues_totals_and_windows, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_unchanged_state_is_linked_not_rewritten, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_changed_config_is_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_missing_or_corrupt_snapshot_is_refused, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_restart_keeps_sketches, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_sketch_is_refused, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
