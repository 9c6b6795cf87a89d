/* test_sink_records.c — records mapped to typed columns (sinks/ed_sink_records.h)
 * without a server: column specs, every type's conversion and misfit, the
 * rejects with their source, position and column, an upsert keeping the
 * last record of a key, two record sets sorting on two threads at once, and
 * the config errors of record sinks (file:line:col). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "actors/ed_registry.h"
#include "sinks/ed_sink_records.h"
#include "tests/unit/conf_fails.h"

/* A spec from "name=spec" pairs; strings are static in the test. */
typedef struct {
    ed_conf_kv_t kv[16];
    ed_conf_kvmap_t cols;
    char *pk[4];
    ed_conf_strlist_t pkl;
    ed_sink_records_conf_t conf;
} s_spec_t;

static void s_spec(s_spec_t *s, const char *const *pairs, int n, const char *const *pk, int npk,
                   int upsert) {
    memset(s, 0, sizeof *s);
    for (int i = 0; i < n; i++) {
        s->kv[i].key = (char *)pairs[2 * i];
        s->kv[i].value = (char *)pairs[2 * i + 1];
    }
    s->cols = (ed_conf_kvmap_t){s->kv, n};
    for (int i = 0; i < npk; i++)
        s->pk[i] = (char *)pk[i];
    s->pkl = (ed_conf_strlist_t){s->pk, npk};
    s->conf = (ed_sink_records_conf_t){
        .sink = "pg", .table = "t", .columns = &s->cols, .primary_key = &s->pkl, .upsert = upsert};
}

static void s_check_fails(const char *const *pairs, int n, const char *const *pk, int npk,
                          int upsert, const char *phrase) {
    s_spec_t s;
    s_spec(&s, pairs, n, pk, npk, upsert);
    char buf[512];
    const char *why = ed_sink_records_check(&s.conf, buf, sizeof buf);
    if (!why || !strstr(why, phrase))
        fail_msg("expected an error with \"%s\", got: %s", phrase, why ? why : "(valid)");
}

static void test_specs(void **state) {
    (void)state;
    static const char *const ok[] = {"id",    "id bigint",        "a",  "name.first",
                                     "b",     "x varchar(3) NOT NULL", "c", "c double precision",
                                     "d",     "d double",         "e",  "e boolean",
                                     "f",     "f timestamptz",    "g",  "g jsonb"};
    static const char *const pk[] = {"id"};
    s_spec_t s;
    s_spec(&s, ok, 8, pk, 1, 1);
    char err[512];
    ed_sink_records_t *rs = ed_sink_records_new(&s.conf, err, sizeof err);
    assert_non_null(rs);
    int n, npk;
    const ed_rec_col_t *c = ed_sink_records_cols(rs, &n);
    const int *k = ed_sink_records_pk(rs, &npk);
    assert_int_equal(n, 8);
    assert_int_equal(npk, 1);
    assert_int_equal(k[0], 0);
    assert_int_equal(c[0].type, ED_REC_BIGINT);
    assert_true(c[0].not_null && c[0].pk == 1);
    assert_string_equal(c[1].path, "name.first");
    assert_int_equal(c[1].type, ED_REC_TEXT);
    assert_false(c[1].not_null);
    assert_int_equal(c[2].width, 3);
    assert_true(c[2].not_null);
    assert_int_equal(c[3].type, ED_REC_DOUBLE);
    assert_int_equal(c[4].type, ED_REC_DOUBLE);
    assert_int_equal(c[5].type, ED_REC_BOOL);
    assert_int_equal(c[6].type, ED_REC_TIME);
    assert_int_equal(c[7].type, ED_REC_JSON);
    ed_sink_records_destroy(&rs);
    assert_null(rs);

    static const char *const bad_type[] = {"id", "id datetime"};
    s_check_fails(bad_type, 1, NULL, 0, 0, "column 'id': unknown type 'datetime'");
    static const char *const bad_path[] = {"id", "a..b bigint"};
    s_check_fails(bad_path, 1, NULL, 0, 0, "field path 'a..b' is not");
    static const char *const extra[] = {"id", "id bigint primary"};
    s_check_fails(extra, 1, NULL, 0, 0, "unexpected 'primary'");
    static const char *const dup[] = {"id", "id", "ID", "x"};
    s_check_fails(dup, 2, NULL, 0, 0, "column 'ID' is given twice");
    static const char *const one[] = {"id", "id bigint"};
    static const char *const nopk[] = {"uid"};
    s_check_fails(one, 1, nopk, 1, 1, "primary key column 'uid' is not one of `columns`");
    s_check_fails(one, 1, NULL, 0, 1, "`mode: upsert` needs `primary_key`");
    static const char *const js[] = {"doc", "doc jsonb"};
    static const char *const jspk[] = {"doc"};
    s_check_fails(js, 1, jspk, 1, 1, "is jsonb, which cannot be a key");
    static const char *const badname[] = {"first-name", "name.first"};
    s_check_fails(badname, 1, NULL, 0, 0, "column name 'first-name' is not a SQL identifier");
}

/* The records of one flush: batch b, with positions "t/0@<offset>". */
static void s_add(ed_batch_t *b, int64_t offset, const char *json) {
    char pos[32];
    int n = snprintf(pos, sizeof pos, "t/0@%lld", (long long)offset);
    ed_batch_add_record_at(b, NULL, 0, json, (uint32_t)strlen(json), 0, 0, pos, (size_t)n);
}

static const ed_sink_reject_t *s_reject_at(const ed_sink_records_t *rs, const char *pos) {
    for (size_t i = 0; i < ed_sink_records_nrejects(rs); i++) {
        const ed_sink_reject_t *r = ed_sink_records_reject(rs, i);
        if (r->pos_len == strlen(pos) && !memcmp(r->pos, pos, r->pos_len))
            return r;
    }
    fail_msg("no reject at %s", pos);
    return NULL;
}

static void s_expect_reject(const ed_sink_records_t *rs, const char *pos, const char *column,
                            const char *phrase) {
    const ed_sink_reject_t *r = s_reject_at(rs, pos);
    if (column)
        assert_string_equal(r->column, column);
    else
        assert_null(r->column);
    if (!strstr(r->why, phrase))
        fail_msg("reject at %s: expected \"%s\" in: %s", pos, phrase, r->why);
    assert_int_equal(r->src, 0);
}

static void test_build(void **state) {
    (void)state;
    static const char *const cols[] = {
        "id",    "id bigint",        "name",  "name.first varchar(4)", "score", "score double",
        "ok",    "ok boolean",       "at",    "at timestamptz",        "doc",   "doc jsonb",
        "email", "email not null"};
    static const char *const pk[] = {"id"};
    s_spec_t s;
    s_spec(&s, cols, 7, pk, 1, 1);
    char err[512];
    ed_sink_records_t *rs = ed_sink_records_new(&s.conf, err, sizeof err);
    assert_non_null(rs);
    ed_batch_t *b = ed_batch_new(ED_BATCH_RECORDS, 4096);
    /* 1..3 fit; 1 comes again and wins; the others each misfit in one column. */
    s_add(b, 10, "{\"id\":3,\"name\":{\"first\":\"Zoé\"},\"score\":1.5,\"ok\":true,"
                 "\"at\":\"2024-05-01T12:00:00.250Z\",\"doc\":{\"a\":[1,2]},\"email\":\"z@x\"}");
    s_add(b, 11, "{\"id\":1,\"name\":{\"first\":\"Al\"},\"email\":\"a@x\",\"doc\":\"q\\\"s\"}");
    s_add(b, 12, "{\"id\":2e0,\"email\":42,\"at\":1714564800}");
    s_add(b, 13, "{\"id\":\"4\",\"email\":\"s@x\"}");
    s_add(b, 14, "{\"id\":5,\"name\":{\"first\":\"Bartholomew\"},\"email\":\"b@x\"}");
    s_add(b, 15, "{\"id\":6,\"email\":null}");
    s_add(b, 16, "[1,2]");
    s_add(b, 17, "{\"id\":7,\"email\":\"o@x\",\"ok\":\"yes\"}");
    s_add(b, 18, "{\"id\":8,\"email\":\"t@x\",\"at\":\"yesterday\"}");
    s_add(b, 19, "{\"id\":9,\"email\":{\"a\":1}}");
    s_add(b, 20, "{\"id\":1.5,\"email\":\"f@x\"}");
    s_add(b, 21, "{\"id\":99999999999999999999,\"email\":\"h@x\"}");
    s_add(b, 22, "{\"id\":10,\"email\":\"n@x\",\"score\":\"1\"}");
    s_add(b, 23, "{\"id\":1,\"name\":{\"first\":\"Alf\"},\"email\":\"a2@x\"}");
    ed_batch_t *batches[] = {b};
    ed_sink_flush_t f = {.checkpoint = 1, .records = batches, .nrecords = 1, .rows = b->count};
    assert_int_equal(ed_sink_records_build(rs, &f), 3);
    assert_int_equal(ed_sink_records_accepted(rs), 4);
    assert_int_equal(ed_sink_records_nrejects(rs), 10);
    s_expect_reject(rs, "t/0@13", "id", "field 'id' is a string; expected an integer");
    s_expect_reject(rs, "t/0@14", "name", "11 characters, more than varchar(4)");
    s_expect_reject(rs, "t/0@15", "email", "field 'email' is null, and the column is required");
    s_expect_reject(rs, "t/0@16", NULL, "not an object");
    s_expect_reject(rs, "t/0@17", "ok", "expected true or false");
    s_expect_reject(rs, "t/0@18", "at", "not a time");
    s_expect_reject(rs, "t/0@19", "email", "is an object; expected text");
    s_expect_reject(rs, "t/0@20", "id", "not an integer in the bigint range");
    s_expect_reject(rs, "t/0@21", "id", "not an integer in the bigint range");
    s_expect_reject(rs, "t/0@22", "score", "is a string; expected a number");
    const ed_sink_reject_t *rj = s_reject_at(rs, "t/0@13");
    assert_int_equal(rj->input_len, strlen("{\"id\":\"4\",\"email\":\"s@x\"}"));

    /* Sorted by key: 1 (the later record), 2, 3. */
    const ed_rec_cell_t *r = ed_sink_records_row(rs, 0);
    assert_int_equal(r[0].i, 1);
    assert_int_equal(r[1].len, 3);
    assert_memory_equal(r[1].str, "Alf", 3);
    assert_true(r[2].null && r[3].null && r[4].null && r[5].null);
    assert_memory_equal(r[6].str, "a2@x", 4);
    r = ed_sink_records_row(rs, 1);
    assert_int_equal(r[0].i, 2);
    assert_true(r[1].null);
    assert_int_equal(r[4].i, 1714564800000LL); /* epoch seconds */
    assert_int_equal(r[6].len, 2);
    assert_memory_equal(r[6].str, "42", 2); /* a number into text: its JSON text */
    r = ed_sink_records_row(rs, 2);
    assert_int_equal(r[0].i, 3);
    assert_memory_equal(r[1].str, "Zoé", strlen("Zoé")); /* 3 characters, 4 bytes */
    assert_true(r[2].d == 1.5);
    assert_int_equal(r[3].i, 1);
    assert_int_equal(r[4].i, 1714564800250LL);
    assert_int_equal(r[5].len, strlen("{\"a\":[1,2]}"));
    assert_memory_equal(r[5].str, "{\"a\":[1,2]}", r[5].len);

    /* The reject document the rejects sink receives. */
    ed_buf_t doc = ED_BUF_INIT;
    ed_sink_reject_json(rs, s_reject_at(rs, "t/0@13"), &doc);
    assert_string_equal(doc.data, "{\"source\":null,\"position\":\"t/0@13\",\"sink\":\"pg\","
                                  "\"column\":\"id\",\"error\":\"field 'id' is a string; expected "
                                  "an integer (bigint)\",\"input\":\"{\\\"id\\\":\\\"4\\\",\\\"email\\\":"
                                  "\\\"s@x\\\"}\"}");
    ed_buf_free(&doc);

    /* insert mode keeps every record, in flush order; a rebuild starts afresh. */
    ed_sink_records_destroy(&rs);
    s_spec(&s, cols, 7, NULL, 0, 0);
    rs = ed_sink_records_new(&s.conf, err, sizeof err);
    assert_non_null(rs);
    assert_int_equal(ed_sink_records_build(rs, &f), 4);
    assert_int_equal(ed_sink_records_row(rs, 0)[0].i, 3);
    assert_int_equal(ed_sink_records_row(rs, 3)[0].i, 1);
    assert_int_equal(ed_sink_records_build(rs, &f), 4);
    ed_sink_records_destroy(&rs);
    ed_batch_destroy(&b);
}

/* Config errors of record sinks name file:line:col (s_fails: conf_fails.h). */
#define S_USERS "sources:\n  u: { directory: { path: /tmp/x }, format: json, to: pg, rejects: rj }\n"

static void test_config_errors(void **state) {
    (void)state;
    ed_config_t *c = NULL;
    char err[4096] = "";
    const char *good = S_USERS "sinks:\n"
                               "  pg: { postgres: { dsn: x }, table: users, primary_key: [id],\n"
                               "        columns: { id: id bigint, email: email } }\n"
                               "  rj: { null: {} }\n";
    assert_int_equal(ed_config_load_string(good, "t.yaml", ed_registry(), &c, err, sizeof err), 0);
    assert_int_equal(ed_config_reject_route(c, 0, 0), 1); /* pg's rejects go to rj */
    assert_int_equal(ed_config_reject_route(c, 1, 0), -1);
    ed_config_destroy(&c);

    s_fails(S_USERS "sinks:\n  pg: { postgres: { dsn: x }, table: users }\n  rj: { null: {} }\n",
            "t.yaml:4:3: ", "postgres sink 'pg' is sent records, and writes them as rows only");
    s_fails(S_USERS "sinks:\n  pg: { postgres: { dsn: x }, columns: { id: id } }\n"
                    "  rj: { null: {} }\n",
            "t.yaml:4:31: ", "writes records (`columns:`) and has no `table`");
    s_fails(S_USERS "sinks:\n  pg: { postgres: { dsn: x }, table: u, columns: { id: id int } }\n"
                    "  rj: { null: {} }\n",
            "t.yaml:4:50: ", "column 'id': unknown type 'int'");
    s_fails(S_USERS "sinks:\n  pg: { mariadb: { database: x }, table: u, mode: upsert,\n"
                    "        columns: { id: id } }\n  rj: { null: {} }\n",
            "t.yaml:4:51: ", "`mode: upsert` needs `primary_key`");
    s_fails(S_USERS "sinks:\n  pg: { postgres: { dsn: x }, table: u, mode: insert }\n"
                    "  rj: { null: {} }\n",
            "t.yaml:4:41: ", "'mode' in sink 'pg' applies to records written as rows");
    s_fails("sources:\n  d: { directory: { path: /tmp/x }, format: words }\n"
            "aggregations:\n  a: { from: d, key: word, to: pg }\n"
            "sinks:\n  pg: { postgres: { dsn: x }, table: u, columns: { id: id } }\n",
            "t.yaml:6:41: ", "is fed an aggregation's changelog");
    /* Two record sinks whose sources reject into each other. */
    s_fails("sources:\n"
            "  a: { directory: { path: /tmp/x }, format: json, to: p, rejects: q }\n"
            "  b: { directory: { path: /tmp/y }, format: json, to: q, rejects: p }\n"
            "sinks:\n"
            "  p: { postgres: { dsn: x }, table: p, columns: { id: id } }\n"
            "  q: { postgres: { dsn: x }, table: q, columns: { id: id } }\n",
            "t.yaml:5:3: ", "rejects come back to 'p'");
}

/* Metadata columns (@topic, @partition, @offset, @timestamp, @key, @value)
 * and the Parquet type names; values written out by hand from the records. */
static void test_metadata(void **state) {
    (void)state;
    static const char *const cols[] = {"topic", "@topic",     "part", "@partition", "off", "@offset",
                                       "ts",    "@timestamp", "k",    "@key",       "v",   "@value",
                                       "id",    "id int64",   "s",    "s string",   "ok",  "ok bool"};
    s_spec_t s;
    s_spec(&s, cols, 9, NULL, 0, 0);
    char err[512];
    ed_sink_records_t *rs = ed_sink_records_new(&s.conf, err, sizeof err);
    assert_non_null(rs);
    int n;
    const ed_rec_col_t *c = ed_sink_records_cols(rs, &n);
    assert_int_equal(c[1].type, ED_REC_BIGINT);
    assert_int_equal(c[3].type, ED_REC_TIME);
    assert_int_equal(c[6].type, ED_REC_BIGINT);
    assert_int_equal(c[7].type, ED_REC_TEXT);
    assert_int_equal(c[8].type, ED_REC_BOOL);
    ed_batch_t *b = ed_batch_new(ED_BATCH_RECORDS, 1024);
    const char *j1 = "{\"id\":7,\"s\":\"x\",\"ok\":true}";
    ed_batch_add_record_at(b, "k1", 2, j1, (uint32_t)strlen(j1), 1700000000123, 0, "my.topic/3@42",
                           13);
    const char *j2 = "{\"id\":8}";
    ed_batch_add_record_at(b, NULL, 0, j2, (uint32_t)strlen(j2), 0, 0, "in.jsonl:5", 10);
    ed_batch_t *bs[] = {b};
    ed_sink_flush_t f = {.checkpoint = 1, .records = bs, .nrecords = 1, .rows = 2};
    assert_int_equal(ed_sink_records_build(rs, &f), 2);
    const ed_rec_cell_t *r = ed_sink_records_row(rs, 0);
    assert_int_equal(r[0].len, 8);
    assert_memory_equal(r[0].str, "my.topic", 8);
    assert_int_equal(r[1].i, 3);
    assert_int_equal(r[2].i, 42);
    assert_int_equal(r[3].i, 1700000000123);
    assert_memory_equal(r[4].str, "k1", 2);
    assert_int_equal(r[5].len, strlen(j1));
    assert_int_equal(r[6].i, 7);
    assert_int_equal(r[8].i, 1);
    r = ed_sink_records_row(rs, 1); /* a file position: no topic, partition or offset */
    assert_true(r[0].null && r[1].null && r[2].null && r[3].null && r[4].null);
    assert_false(r[5].null);
    assert_true(r[7].null);
    ed_batch_destroy(&b);
    ed_sink_records_destroy(&rs);

    static const char *const bad_meta[] = {"t", "@topics"};
    s_check_fails(bad_meta, 1, NULL, 0, 0, "unknown metadata '@topics'");
    static const char *const typed_meta[] = {"o", "@offset text"};
    s_check_fails(typed_meta, 1, NULL, 0, 0, "metadata @offset has its own type");
}

/* Two sinks on two worker threads build (and sort by key) at the same time:
 * each thread's rows must come out in its own key order. */
typedef struct {
    ed_batch_t *b;
    int rounds, ok;
} s_sorter_t;

static void *s_sort_thread(void *arg) {
    s_sorter_t *t = arg;
    static const char *const cols[] = {"k", "k not null", "v", "v bigint"};
    static const char *const pk[] = {"k"};
    s_spec_t s;
    s_spec(&s, cols, 2, pk, 1, 1);
    char err[512];
    ed_sink_records_t *rs = ed_sink_records_new(&s.conf, err, sizeof err);
    ed_batch_t *batches[] = {t->b};
    ed_sink_flush_t f = {.checkpoint = 1, .records = batches, .nrecords = 1, .rows = t->b->count};
    t->ok = rs != NULL;
    for (int r = 0; r < t->rounds && t->ok; r++) {
        size_t n = ed_sink_records_build(rs, &f);
        t->ok = n == t->b->count;
        for (size_t i = 1; i < n && t->ok; i++) {
            const ed_rec_cell_t *a = ed_sink_records_row(rs, i - 1), *c = ed_sink_records_row(rs, i);
            t->ok = a[0].len == c[0].len && memcmp(a[0].str, c[0].str, a[0].len) < 0;
        }
    }
    ed_sink_records_destroy(&rs);
    return NULL;
}

static void test_concurrent_sort(void **state) {
    (void)state;
    s_sorter_t t[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        t[i] = (s_sorter_t){.b = ed_batch_new(ED_BATCH_RECORDS, 1 << 18), .rounds = 40};
        for (int k = 3000; k > 0; k--) { /* keys in reverse order: the sort has work */
            char j[64];
            snprintf(j, sizeof j, "{\"k\":\"%c%05d\",\"v\":%d}", 'a' + i, k, k);
            s_add(t[i].b, 3000 - k, j);
        }
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, s_sort_thread, &t[i]), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_true(t[i].ok);
        ed_batch_destroy(&t[i].b);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_specs),
        cmocka_unit_test(test_metadata),
        cmocka_unit_test(test_build),
        cmocka_unit_test(test_concurrent_sort),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
