/*
 * sink_contract.h — what every sink plugin must do, tested against its real
 * server, and the helpers the per-sink test programs share
 * (tests/integration/it_sink_<type>.c link sink_contract.o).
 *
 * The contract (sinks/ed_sink.h, docs/sinks.md):
 *   down     a server that is down gives RETRY, and the error names the
 *            sink, the server's address and says it retries, on one line;
 *   durable  OK comes only once the write is durable: read back right after
 *            OK, from a separate connection of the server's own client, the
 *            totals are those of every flush acked so far;
 *   once     a retried flush is never applied twice: a flush whose
 *            connection breaks mid-way (a proxy cuts it just before the
 *            statement that makes it durable) is retried and the totals
 *            read back are exact; a sink whose connection cannot be cut
 *            (Kafka: clients reach the broker by the address it advertises)
 *            meets a server that is down while its first flush is retried
 *            (nothing may be sent again) and then comes up: that flush is
 *            applied exactly once;
 *   drop     a flush the server refuses for good gives DROP, and its rows
 *            are counted in rows_rejected;
 *   windows  rows of a windowed aggregation land per (window, key), with
 *            their window bounds read back by the server's own client:
 *            one key in several windows, a (window, key) flushed again
 *            (merged by the server), twice in one flush (merged by the
 *            sink), a final row (emit: on_close), and a row without a
 *            window refused (sink_windows.c).
 * A plugin takes part through an sc_plugin_t and SC_CONTRACT_TESTS; a sink
 * without a server (null) runs sc_test_durable alone, with only `type` and
 * `body` set.
 *
 * Sinks are built from YAML through ed_config_load_string, as eddy builds
 * them, so the tests do not depend on the config structs. Every table, key
 * and topic name carries "{run}" (this process's id), so runs sharing the
 * servers (build and build-san) never touch each other's data.
 */
#ifndef SINK_CONTRACT_H
#define SINK_CONTRACT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config/ed_config.h"
#include "sinks/ed_sink.h"

/* ------------------------------------------------------------ environment */

/* The value of environment variable `name`; fails the test when it is unset
 * (saying how to start the servers). */
const char *sc_env(const char *name);

/* `text` with every "{run}" replaced by this process's id. Returns one of 8
 * rotating static buffers (copy what must outlive 8 more calls). */
const char *sc_run(const char *text);

#define ASSERT_HAS(text, needle)                                                                   \
    do {                                                                                           \
        if (!strstr((text), (needle)))                                                             \
            fail_msg("expected \"%s\" in: %s", (needle), (text));                                  \
    } while (0)

#define ASSERT_WRITE(expect, r, err)                                                               \
    do {                                                                                           \
        if ((r) != (expect))                                                                       \
            fail_msg("write returned %d, expected %d: %s", (int)(r), (int)(expect), (err));        \
    } while (0)

/* ------------------------------------------------------- a sink from YAML */

/* A plugin instance made from a config, as the sink actor makes it. */
typedef struct {
    ed_config_t *conf;
    const ed_sink_type_t *type;
    ed_sink_ctx_t sc;
    void *ctx;
} sc_sink_t;

/* The standard pipeline of these tests: a JSON directory source `docs`, one
 * aggregation `it_words` keyed [doc, word] computing count, total = sum(x),
 * lo = min(x), hi = max(x), mean = avg(x), feeding sink `name` whose YAML
 * mapping body is `body` (e.g. `postgres: {dsn: "…"}, table: t`). Written
 * into out (fails the test if it does not fit). */
void sc_pipeline(char *out, size_t size, const char *name, const char *body);

/* sc_pipeline with `window: <window>` in the aggregation (e.g. "{ tumbling:
 * 1500ms }"; NULL: cumulative). */
void sc_pipeline_window(char *out, size_t size, const char *name, const char *body,
                        const char *window);

/* The registry the tests load configs with: ed_registry() with windowed
 * aggregations accepted (ed_conf_registry_t.windows), so that the sinks'
 * windowed rows can be tested before the pipeline runs windows. */
const ed_conf_registry_t *sc_registry(void);

/* Loads `yaml` (fails the test with the loader's error if it does not load)
 * and creates the plugin instance of sink `name`. Returns what the plugin's
 * init returned (0, or ED_EINVAL with err filled); on failure nothing needs
 * closing. */
int sc_sink_open_yaml(sc_sink_t *s, const char *yaml, const char *name, char *err, size_t size);

/* sc_sink_open_yaml of sc_pipeline(name, body). */
int sc_sink_open(sc_sink_t *s, const char *name, const char *body, char *err, size_t size);

/* The plugin's write. */
ed_write_result_t sc_sink_write(sc_sink_t *s, const ed_sink_flush_t *flush, ed_sink_stats_t *st,
                                char *err, size_t size);

/* Destroys the instance (asserting that destroy NULLs it) and the config. */
void sc_sink_close(sc_sink_t *s);

/* Loads `yaml`, which must fail: returns the loader's rc (asserted < 0) with
 * its error in err. */
int sc_config_error(const char *yaml, char *err, size_t size);

/* ---------------------------------------------- a model of the aggregator */

/* One key's totals (in one window), as the aggregator keeps them. */
typedef struct {
    const char *doc;
    const char *word;
    size_t word_len; /* words may hold NUL bytes */
    double count, sum, min, max;
    int64_t n;
    int64_t ws, we; /* window bounds, ms since the epoch; 0, 0: cumulative */
} sc_state_t;

/* Feeds xs[0..nx) into k and appends to b the changelog row the aggregator
 * would emit for them (aggregation 0, the five computes of sc_pipeline,
 * k's window; see ed_change_t for delta and value per function). */
void sc_emit(ed_batch_t *b, sc_state_t *k, const double *xs, int nx);

/* Fails unless got equals want within 1e-9 relative; names what and k. */
void sc_assert_num(const char *what, const sc_state_t *k, double got, double want);

/* The keys of the per-sink tests: Unicode, invalid UTF-8, case and spaces,
 * a NUL byte, a 300- and a 3000-byte word, SQL/JSON quoting. */
enum {
    K_THE,
    K_UNI,
    K_JP,
    K_BADUTF8,
    K_NEW,
    K_THE_UPPER,
    K_THE_SPACE,
    K_NUL,
    K_LONG,
    K_QUOTE,
    K_HUGE,
    K_N
};

/* Fills st[K_N] with those keys, all totals 0. */
void sc_states(sc_state_t st[K_N]);

/* Two flushes over those keys. flush1 (checkpoint 1, 4 rows): the 3 +
 * ünïcödé 10 + 日本語 -5 5 + \xff\xfe 8; flush2 (checkpoint 2, 10 rows) has
 * two changelog batches (two aggregator flush rounds merged by the sink
 * actor) that both carry K_THE. st holds the totals after both. */
typedef struct {
    sc_state_t st[K_N];
    ed_batch_t *f1[1];
    ed_batch_t *f2[2];
    ed_sink_flush_t flush1, flush2;
} sc_data_t;

void sc_data(sc_data_t *d);
void sc_data_free(sc_data_t *d);

/* ------------------------------------------------- a proxy that cuts */

/* A TCP proxy on 127.0.0.1 in front of a real server. Once armed, it cuts
 * the connection at the nth occurrence (from then on) of `pattern` in what
 * the client sends: what comes before the cut is passed, the rest never
 * reaches the server; the server gets end-of-file (it runs what it fully
 * received; an unfinished statement or transaction is abandoned), its
 * replies are dropped, and the client sees the connection close only after
 * that. Deterministic without sleeps: a sink sends a statement and then
 * waits for its reply, so the cut falls exactly there. Later connections
 * pass through. */
typedef struct sc_proxy sc_proxy_t;

/* Starts a proxy to 127.0.0.1:up_port that watches for `pattern` (len
 * bytes, copied; NULL: it never cuts); returns it (free with
 * sc_proxy_stop). `closed`: its port is bound but refuses connections, as a
 * server that is down, until sc_proxy_open. */
sc_proxy_t *sc_proxy_start(int up_port, const void *pattern, size_t len, int closed);

/* Starts accepting connections on a proxy started closed. */
void sc_proxy_open(sc_proxy_t *p);

/* The port the proxy listens on. */
int sc_proxy_port(const sc_proxy_t *p);

/* Cuts at the nth (≥ 1) occurrence of the pattern sent from now on: just
 * before its last byte, or, with `after`, just after it (when the pattern
 * ends a command, the server runs it and the client never gets the reply:
 * the outcome is lost). */
void sc_proxy_arm(sc_proxy_t *p, int nth, int after);

/* 1 once the armed cut happened. */
int sc_proxy_cut(const sc_proxy_t *p);

/* Stops the proxy, closes its sockets and NULLs *p_p. */
void sc_proxy_stop(sc_proxy_t **p_p);

/* --------------------------------------------------------- the contract */

/* The keys of the contract's flushes: plain ASCII, valid for every sink. */
enum { SC_D1_THE, SC_D1_A, SC_D2_THE, SC_D3_NEW, SC_NKEYS };

/* What a windowed reader found: per (window, key), its count. */
#define SC_WROWS 32
typedef struct {
    int n;
    struct {
        int64_t ws, we; /* window bounds, ms since the epoch */
        char doc[16], word[16];
        double count;
    } row[SC_WROWS];
} sc_wtotals_t;

/* Records that the reader saw (window [ws, we), doc, word) with `count`
 * (adds to what was seen of it, like sc_totals_add); fails the test on a
 * key the contract never wrote or past SC_WROWS rows. */
void sc_wtotals_add(sc_wtotals_t *t, int64_t ws, int64_t we, const char *doc, size_t doc_len,
                    const char *word, size_t word_len, double count);

/* What a plugin's reader found: per contract key, its count. */
typedef struct {
    double count[SC_NKEYS];
    int found[SC_NKEYS];
} sc_totals_t;

/* The doc and word of contract key i. */
const char *sc_key_doc(int i);
const char *sc_key_word(int i);

/* Records that the reader saw contract key (doc, word) with `count` (adds,
 * so a reader of changelog messages can pass each message's delta); fails
 * the test on a key that is not one of the contract's. */
void sc_totals_add(sc_totals_t *t, const char *doc, size_t doc_len, const char *word,
                   size_t word_len, double count);

/* One sink plugin's part in the contract. `target` is the table, key
 * prefix or topic the contract writes to (already unique to this run). */
struct sc_user; /* below */

typedef struct {
    const char *type; /* the YAML key of the sink type: "postgres" */
    /* The live server's host and port (from the environment). */
    void (*server)(char *host, size_t size, int *port);
    /* The YAML mapping body of a sink writing to `target` on host:port,
     * with batch_rows 2 (so a flush takes several statements or chunks). */
    void (*body)(char *out, size_t size, const char *target, const char *host, int port);
    /* How the sink's errors name that server: "(postgres host=… port=…)". */
    void (*where)(char *out, size_t size, const char *target, const char *host, int port);
    /* Makes `target` empty and writable on the live server (before and
     * after a test): drops a table or keys, creates a topic. */
    void (*reset)(const char *target);
    /* Reads target back with the server's own client on a connection of
     * its own (sc_totals_add per key). NULL: no server to read. */
    void (*read)(const char *target, sc_totals_t *t);
    /* What the sink sends to make a flush durable (the proxy cuts just
     * before its cut_nth occurrence in the second flush), or NULL when the
     * connection cannot be cut: then the contract's proxy stands for a
     * server that is down while the first flush is retried, and comes up. */
    const char *cut;
    size_t cut_len;
    int cut_nth;
    /* Makes target a fresh target whose writes the live server refuses for
     * good (in place of reset); returns how many rows of the contract's
     * first flush (3 rows: d1/the, d1/a, d2/the) must then be rejected. */
    int (*poison)(const char *target);
    /* Windowed aggregation (sc_test_windows): the YAML body of a sink
     * writing its rows to `target` (NULL: body serves), and the reader of
     * what it holds (sc_wtotals_add per (window, key); required by
     * SC_WINDOWS_TEST). The test resets target before and after. */
    void (*wbody)(char *out, size_t size, const char *target, const char *host, int port);
    void (*read_windows)(const char *target, sc_wtotals_t *t);
    /* Records as rows (sc_test_records): reads the users table `target`
     * with the server's own client, rows ordered by id, into out (at most
     * max); returns how many. Required by SC_RECORDS_TEST. */
    int (*read_users)(const char *target, struct sc_user *out, int max);
} sc_plugin_t;

/* One row of the records test's users table (sink_records.c), as a
 * plugin's reader found it: columns id bigint, first_name varchar(8),
 * email text not null, age bigint, registered timestamptz, active boolean,
 * score double precision, location jsonb. `*_null`: SQL NULL. */
typedef struct sc_user {
    long long id;
    char first[64];
    int first_null;
    char email[64];
    long long age;
    int age_null;
    long long reg_ms; /* registered, ms since the epoch */
    int reg_null;
    int active;
    int active_null;
    double score;
    int score_null;
    char loc[128]; /* location's JSON text as the server gives it back */
    int loc_null;
} sc_user_t;

/* Records written as rows: a flush of user records (with a duplicate key
 * and misfits: a string id, a missing required email, a name too long for
 * varchar(8), a string for boolean, not JSON) upserted; read back equal to
 * the records (the last of a key), every misfit a reject document naming
 * its position and column, counted once across a retry of the flush; a
 * second flush updates one row and adds one; then `mode: insert` without a
 * key keeps every record. */
void sc_test_records(void **state); /* sink_records.c */

/* The query a reader runs, with `time_ms` the plugin's expression for
 * registered in ms since the epoch (an integer) and `bool_int` for active
 * as 0/1: "SELECT id, first_name, email, age, <time_ms>, <bool_int>, score,
 * location FROM <target> ORDER BY id", into out. */
void sc_users_query(char *out, size_t size, const char *target, const char *time_ms,
                    const char *bool_int);

/* Sets column col (in sc_users_query order) of u from the server's text of
 * it, or NULL for SQL NULL. */
void sc_user_set(sc_user_t *u, int col, const char *text);
#define SC_RECORDS_TEST(plugin) cmocka_unit_test_prestate(sc_test_records, (void *)(plugin))

/* Writes through s (a windowed sink of sc_pipeline_window) the rows of the
 * per-sink windowed table tests: d1/the in w1 = [00:00:01.500Z,
 * 00:00:04.500Z) of 2025-12-01 and w0, the overlapping window 1.5 s before
 * it: flush 1 (checkpoint 1) w0 ← 2, 8 and w1 ← 8; flush 2 (checkpoint 2,
 * two batches) w1 ← -1, 4, then 0.5. Fails the test unless both are OK.
 * *w0 and *w1 hold the model's totals after them. */
void sc_write_overlapping(sc_sink_t *s, sc_state_t *w0, sc_state_t *w1);

/* The contract's tests; each takes the sc_plugin_t as cmocka's state. */
void sc_test_down(void **state);
void sc_test_durable(void **state);
void sc_test_once(void **state);
void sc_test_drop(void **state);
void sc_test_windows(void **state); /* sink_windows.c */

#define SC_CONTRACT_TESTS(plugin)                                                                  \
    cmocka_unit_test_prestate(sc_test_down, (void *)(plugin)),                                     \
        cmocka_unit_test_prestate(sc_test_durable, (void *)(plugin)),                              \
        cmocka_unit_test_prestate(sc_test_once, (void *)(plugin)),                                 \
        cmocka_unit_test_prestate(sc_test_drop, (void *)(plugin))

/* The windowed part, for a plugin with wbody/read_windows. */
#define SC_WINDOWS_TEST(plugin) cmocka_unit_test_prestate(sc_test_windows, (void *)(plugin))

#endif
