/* sink_records.c — the records-as-rows test of the SQL sinks (see
 * sc_test_records in sink_contract.h): the expected rows below are written
 * out by hand from the records, not computed by eddy's code. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/sink_contract.h"

#define S_COLUMNS                                                                                  \
    "columns: { id: id bigint, first_name: name.first varchar(8), email: email not null, "      \
    "age: dob.age bigint, registered: registered.date timestamptz, active: active boolean, "     \
    "score: score double precision, location: location jsonb }"

/* One record and where it was read. */
typedef struct {
    int offset;
    const char *json;
} s_rec_t;

static const s_rec_t s_flush1[] = {
    {0, "{\"id\":1,\"name\":{\"first\":\"Ann\"},\"email\":\"ann@x.org\",\"dob\":{\"age\":31},"
        "\"registered\":{\"date\":\"2015-03-04T05:06:07.890Z\"},\"active\":true,\"score\":1.25,"
        "\"location\":{\"city\":\"Oslo\"}}"},
    {1, "{\"id\":2,\"name\":{\"first\":\"Zo\\u00eb\"},\"email\":\"zo\\\"e@x.org\","
        "\"registered\":{\"date\":\"2016-01-01T01:00:00+01:00\"},\"active\":false}"},
    {2, "{\"id\":\"3\",\"email\":\"c@x\"}"},
    {3, "{\"id\":4,\"name\":{\"first\":\"Bo\"}}"},
    {4, "{\"id\":5,\"name\":{\"first\":\"Bartholomew\"},\"email\":\"b@x\"}"},
    {5, "{\"id\":6,\"email\":\"d@x\",\"active\":\"yes\"}"},
    {6, "not json"},
    {7, "{\"id\":1,\"name\":{\"first\":\"Anna\"},\"email\":\"anna@x.org\",\"dob\":{\"age\":32},"
        "\"score\":-0.5,\"location\":{\"city\":\"Bergen\"}}"},
    {8, "{\"id\":3,\"email\":\"e@x\",\"registered\":{\"date\":1700000000}}"},
};

/* The misfits of flush 1: position and column (NULL: not JSON). */
static const struct {
    int offset;
    const char *column;
} s_misfits[] = {{2, "id"}, {3, "email"}, {4, "first_name"}, {5, "active"}, {6, NULL}};

static const s_rec_t s_flush2[] = {
    {9, "{\"id\":2,\"name\":{\"first\":\"Zo\\u00eb\"},\"email\":\"new@x\",\"score\":2.5}"},
    {10, "{\"id\":7,\"email\":\"g@x\"}"},
};

static ed_batch_t *s_batch(const s_rec_t *r, size_t n) {
    ed_batch_t *b = ed_batch_new(ED_BATCH_RECORDS, 4096);
    for (size_t i = 0; i < n; i++) {
        char pos[64];
        int pl = snprintf(pos, sizeof pos, "it_users/0@%d", r[i].offset);
        ed_batch_add_record_at(b, NULL, 0, r[i].json, (uint32_t)strlen(r[i].json), 0, 0, pos,
                               (size_t)pl);
    }
    return b;
}

static void s_yaml(char *out, size_t size, const sc_plugin_t *p, const char *target,
                   const char *mode) {
    char host[128], body[1024];
    int port;
    p->server(host, sizeof host, &port);
    p->body(body, sizeof body, target, host, port);
    int n = snprintf(out, size,
                     "sources:\n"
                     "  users: { directory: { path: /nonexistent/eddy-sink-records }, format: "
                     "json, to: [it_rec], rejects: rj }\n"
                     "sinks:\n"
                     "  it_rec: { %s, %s, " S_COLUMNS " }\n"
                     "  rj: { null: {} }\n",
                     body, mode);
    if (n < 0 || (size_t)n >= size)
        fail_msg("records YAML does not fit");
}

/* The JSON text without spaces (servers format jsonb their own way). */
static void s_squeeze(char *dst, const char *src) {
    for (; *src; src++)
        if (*src != ' ')
            *dst++ = *src;
    *dst = 0;
}

static void s_expect(const sc_user_t *u, long long id, const char *first, const char *email,
                     int has_age, long long age, int has_reg, long long reg_ms, int active,
                     int has_score, double score, const char *loc) {
    if (u->id != id)
        fail_msg("row id %lld, expected %lld", u->id, id);
    if (first ? u->first_null || strcmp(u->first, first) : !u->first_null)
        fail_msg("id %lld: first_name '%s'%s, expected %s", id, u->first,
                 u->first_null ? " (null)" : "", first ? first : "NULL");
    if (strcmp(u->email, email))
        fail_msg("id %lld: email '%s', expected '%s'", id, u->email, email);
    if (has_age ? u->age_null || u->age != age : !u->age_null)
        fail_msg("id %lld: age %lld (null %d), expected %lld", id, u->age, u->age_null, age);
    if (has_reg ? u->reg_null || u->reg_ms != reg_ms : !u->reg_null)
        fail_msg("id %lld: registered %lld ms (null %d), expected %lld", id, u->reg_ms,
                 u->reg_null, reg_ms);
    if (active < 0 ? !u->active_null : u->active_null || u->active != active)
        fail_msg("id %lld: active %d (null %d), expected %d", id, u->active, u->active_null,
                 active);
    if (has_score ? u->score_null || u->score != score : !u->score_null)
        fail_msg("id %lld: score %g (null %d), expected %g", id, u->score, u->score_null, score);
    char got[128] = "";
    s_squeeze(got, u->loc);
    if (loc ? u->loc_null || strcmp(got, loc) : !u->loc_null)
        fail_msg("id %lld: location %s (null %d), expected %s", id, u->loc, u->loc_null,
                 loc ? loc : "NULL");
}

static void s_write(sc_sink_t *s, ed_batch_t *b, uint64_t ckpt, ed_batch_t **rejects,
                    ed_sink_stats_t *st) {
    ed_batch_t *bs[] = {b};
    ed_sink_flush_t f = {
        .checkpoint = ckpt, .records = bs, .nrecords = 1, .rows = b->count, .rejects = rejects};
    char err[1024] = "";
    ed_write_result_t r = sc_sink_write(s, &f, st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
}

void sc_users_query(char *out, size_t size, const char *target, const char *time_ms,
                    const char *bool_int) {
    snprintf(out, size,
             "SELECT id, first_name, email, age, %s, %s, score, location FROM %s ORDER BY id",
             time_ms, bool_int, target);
}

void sc_user_set(sc_user_t *u, int col, const char *v) {
    switch (col) {
    case 0:
        u->id = v ? atoll(v) : -1;
        break;
    case 1:
        u->first_null = !v;
        snprintf(u->first, sizeof u->first, "%s", v ? v : "");
        break;
    case 2:
        snprintf(u->email, sizeof u->email, "%s", v ? v : "(null)");
        break;
    case 3:
        u->age_null = !v;
        u->age = v ? atoll(v) : 0;
        break;
    case 4:
        u->reg_null = !v;
        u->reg_ms = v ? atoll(v) : 0;
        break;
    case 5:
        u->active_null = !v;
        u->active = v ? atoi(v) : 0;
        break;
    case 6:
        u->score_null = !v;
        u->score = v ? strtod(v, NULL) : 0;
        break;
    default:
        u->loc_null = !v;
        snprintf(u->loc, sizeof u->loc, "%s", v ? v : "");
        break;
    }
}

void sc_test_records(void **state) {
    const sc_plugin_t *p = *state;
    assert_non_null(p->read_users);
    const char *target = sc_run("it_users_{run}");
    char yaml[4096], err[1024];
    p->reset(target);
    s_yaml(yaml, sizeof yaml, p, target, "mode: upsert, primary_key: [id]");
    sc_sink_t s;
    if (sc_sink_open_yaml(&s, yaml, "it_rec", err, sizeof err) != 0)
        fail_msg("init: %s", err);

    ed_batch_t *b1 = s_batch(s_flush1, sizeof s_flush1 / sizeof s_flush1[0]);
    ed_batch_t *rejects = NULL;
    ed_sink_stats_t st = {0};
    s_write(&s, b1, 1, &rejects, &st);
    /* The same checkpoint again, as after a RETRY: its rejects count once. */
    s_write(&s, b1, 1, &rejects, &st);
    assert_int_equal(st.rows_rejected, 5);
    assert_int_equal(st.rows_written, 8); /* 4 records accepted, twice */

    /* Each misfit is one reject document naming its source, position and column. */
    assert_non_null(rejects);
    assert_int_equal(rejects->count, 5);
    ed_batch_iter_t it;
    ed_batch_iter_init(&it, rejects);
    const ed_record_t *r;
    for (size_t i = 0; (r = ed_batch_next_record(&it)); i++) {
        char want[256], doc[2048];
        snprintf(doc, sizeof doc, "%.*s", (int)r->val_len, (const char *)ed_record_val(r));
        snprintf(want, sizeof want, "{\"source\":\"users\",\"position\":\"it_users/0@%d\","
                                    "\"sink\":\"it_rec\",\"column\":",
                 s_misfits[i].offset);
        ASSERT_HAS(doc, want);
        if (s_misfits[i].column)
            snprintf(want, sizeof want, "\"column\":\"%s\"", s_misfits[i].column);
        else
            snprintf(want, sizeof want, "\"column\":null");
        ASSERT_HAS(doc, want);
        assert_int_equal(r->src, 1); /* source 0 */
    }

    sc_user_t u[16];
    int n = p->read_users(target, u, 16);
    assert_int_equal(n, 3);
    s_expect(&u[0], 1, "Anna", "anna@x.org", 1, 32, 0, 0, -1, 1, -0.5, "{\"city\":\"Bergen\"}");
    s_expect(&u[1], 2, "Zo\xc3\xab", "zo\"e@x.org", 0, 0, 1, 1451606400000LL, 0, 0, 0, NULL);
    s_expect(&u[2], 3, NULL, "e@x", 0, 0, 1, 1700000000000LL, -1, 0, 0, NULL);

    /* A second flush: id 2 replaced as a whole, id 7 added. */
    ed_batch_t *b2 = s_batch(s_flush2, 2);
    s_write(&s, b2, 2, &rejects, &st);
    assert_int_equal(rejects->count, 5);
    n = p->read_users(target, u, 16);
    assert_int_equal(n, 4);
    s_expect(&u[1], 2, "Zo\xc3\xab", "new@x", 0, 0, 0, 0, -1, 1, 2.5, NULL);
    s_expect(&u[3], 7, NULL, "g@x", 0, 0, 0, 0, -1, 0, 0, NULL);
    sc_sink_close(&s);
    p->reset(target);

    /* mode: insert, no key: every record that fits is a row. */
    const char *ins = sc_run("it_users_ins_{run}");
    p->reset(ins);
    s_yaml(yaml, sizeof yaml, p, ins, "mode: insert");
    if (sc_sink_open_yaml(&s, yaml, "it_rec", err, sizeof err) != 0)
        fail_msg("init: %s", err);
    ed_sink_stats_t st2 = {0};
    s_write(&s, b1, 1, NULL, &st2);
    assert_int_equal(st2.rows_rejected, 5);
    n = p->read_users(ins, u, 16);
    assert_int_equal(n, 4);
    long long ids = 0;
    for (int i = 0; i < n; i++)
        ids = ids * 10 + u[i].id;
    assert_int_equal(ids, 1123); /* ordered by id: both records of id 1 */
    sc_sink_close(&s);
    p->reset(ins);
    ed_batch_destroy(&b1);
    ed_batch_destroy(&b2);
    ed_batch_destroy(&rejects);
}
