/* sink_contract.c — see sink_contract.h. */
#include "tests/integration/sink_contract.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "actors/ed_registry.h"
#include "runtime/ed_batch.h"

/* ------------------------------------------------------------ environment */

const char *sc_env(const char *name) {
    const char *v = getenv(name);
    if (!v || !*v)
        fail_msg("%s is not set: start the servers with `scripts/services start` and export "
                 "their addresses with `eval \"$(scripts/services env)\"` (tests/run does both)",
                 name);
    return v;
}

const char *sc_run(const char *text) {
    static char bufs[8][1024];
    static int next;
    static char tag[32];
    if (!tag[0]) /* the pid, and the start time for names that outlive a run (topics) */
        snprintf(tag, sizeof tag, "%d_%lld", (int)getpid(), (long long)(ed_wall_ms() % 100000000));
    char *out = bufs[next++ % 8];
    size_t n = 0;
    for (const char *p = text; *p && n + sizeof tag < sizeof bufs[0];) {
        if (!strncmp(p, "{run}", 5)) {
            n += (size_t)snprintf(out + n, sizeof bufs[0] - n, "%s", tag);
            p += 5;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = 0;
    return out;
}

/* ------------------------------------------------------- a sink from YAML */

const ed_conf_registry_t *sc_registry(void) {
    static ed_conf_registry_t reg;
    if (!reg.aggfn) {
        reg = *ed_registry();
        reg.windows = 1;
    }
    return &reg;
}

void sc_pipeline(char *out, size_t size, const char *name, const char *body) {
    sc_pipeline_window(out, size, name, body, NULL);
}

void sc_pipeline_window(char *out, size_t size, const char *name, const char *body,
                        const char *window) {
    char wline[256] = "";
    if (window)
        snprintf(wline, sizeof wline, "    window: %s\n", window);
    int n = snprintf(out, size,
                     "sources:\n"
                     "  docs:\n"
                     "    directory: { path: /nonexistent/eddy-sink-contract }\n"
                     "    format: json\n"
                     "aggregations:\n"
                     "  it_words:\n"
                     "    from: docs\n"
                     "    key: [doc, word]\n"
                     "    compute: { count: count, total: \"sum(x)\", lo: \"min(x)\", hi: "
                     "\"max(x)\", mean: \"avg(x)\" }\n"
                     "%s"
                     "    to: [%s]\n"
                     "sinks:\n"
                     "  %s: { %s }\n",
                     wline, name, name, body);
    if (n < 0 || (size_t)n >= size)
        fail_msg("pipeline YAML for sink '%s' does not fit in %zu bytes", name, size);
}

int sc_sink_open_yaml(sc_sink_t *s, const char *yaml, const char *name, char *err, size_t size) {
    memset(s, 0, sizeof *s);
    if (ed_config_load_string(yaml, "sink_contract.yaml", sc_registry(), &s->conf, err, size) != 0)
        fail_msg("config does not load: %s\n%s", err, yaml);
    int i = ed_config_sink_idx(s->conf, name);
    if (i < 0)
        fail_msg("no sink '%s' in:\n%s", name, yaml);
    const ed_conf_sink_t *sink = &s->conf->sinks[i];
    s->type = ed_sink_type_of(sink);
    assert_non_null(s->type);
    s->sc = (ed_sink_ctx_t){.conf = s->conf,
                            .sink = sink,
                            .agg = sink->from_agg >= 0 ? &s->conf->aggregations[sink->from_agg]
                                                       : NULL};
    int rc = s->type->init(&s->ctx, &s->sc, err, size);
    if (rc != 0) {
        assert_null(s->ctx);
        ed_config_destroy(&s->conf);
    }
    return rc;
}

int sc_sink_open(sc_sink_t *s, const char *name, const char *body, char *err, size_t size) {
    char yaml[4096];
    sc_pipeline(yaml, sizeof yaml, name, body);
    return sc_sink_open_yaml(s, yaml, name, err, size);
}

ed_write_result_t sc_sink_write(sc_sink_t *s, const ed_sink_flush_t *flush, ed_sink_stats_t *st,
                                char *err, size_t size) {
    err[0] = 0;
    return s->type->write(s->ctx, flush, st, err, size);
}

void sc_sink_close(sc_sink_t *s) {
    if (s->type && s->ctx) {
        s->type->destroy(&s->ctx);
        assert_null(s->ctx);
    }
    ed_config_destroy(&s->conf);
}

int sc_config_error(const char *yaml, char *err, size_t size) {
    ed_config_t *conf = NULL;
    int rc = ed_config_load_string(yaml, "sink_contract.yaml", sc_registry(), &conf, err, size);
    if (rc >= 0) {
        ed_config_destroy(&conf);
        fail_msg("config loaded, expected an error:\n%s", yaml);
    }
    return rc;
}

/* ---------------------------------------------- a model of the aggregator */

void sc_emit(ed_batch_t *b, sc_state_t *k, const double *xs, int nx) {
    double dsum = 0;
    for (int i = 0; i < nx; i++) {
        dsum += xs[i];
        k->min = k->n + i == 0 ? xs[i] : fmin(k->min, xs[i]);
        k->max = k->n + i == 0 ? xs[i] : fmax(k->max, xs[i]);
    }
    k->count += nx;
    k->sum += dsum;
    k->n += nx;
    double delta[5] = {nx, dsum, k->min, k->max, dsum};
    double value[5] = {k->count, k->sum, k->min, k->max, k->sum / (double)k->n};
    uint8_t key[4096];
    size_t len = 0;
    ed_key_append(key, &len, k->doc, strlen(k->doc));
    ed_key_append(key, &len, k->word, k->word_len);
    ed_change_t h = {.agg = 0,
                     .nvals = 5,
                     .key_len = (uint32_t)len,
                     .window_start_ms = k->ws,
                     .window_end_ms = k->we,
                     .n = k->n,
                     .delta_n = nx};
    ed_batch_add_change(b, &h, delta, value, key);
}

void sc_assert_num(const char *what, const sc_state_t *k, double got, double want) {
    if (fabs(got - want) > 1e-9 * fmax(1, fabs(want)))
        fail_msg("%s of (%s, %.*s): got %.17g, want %.17g", what, k->doc, (int)k->word_len, k->word,
                 got, want);
}

static char s_long_word[301], s_huge_word[3001];

void sc_states(sc_state_t st[K_N]) {
    memset(s_long_word, 'a', 300);
    s_long_word[300] = 0;
    memset(s_huge_word, 'h', 3000);
    s_huge_word[3000] = 0;
    memset(st, 0, sizeof(sc_state_t) * K_N);
    st[K_THE] = (sc_state_t){.doc = "d1", .word = "the", .word_len = 3};
    st[K_UNI] = (sc_state_t){.doc = "d1", .word = "ünïcödé", .word_len = strlen("ünïcödé")};
    st[K_JP] = (sc_state_t){.doc = "d2", .word = "日本語", .word_len = strlen("日本語")};
    st[K_BADUTF8] = (sc_state_t){.doc = "d2", .word = "\xff\xfe", .word_len = 2};
    st[K_NEW] = (sc_state_t){.doc = "d3", .word = "new", .word_len = 3};
    st[K_THE_UPPER] = (sc_state_t){.doc = "d1", .word = "The", .word_len = 3};
    st[K_THE_SPACE] = (sc_state_t){.doc = "d1", .word = "the ", .word_len = 4};
    st[K_NUL] = (sc_state_t){.doc = "d1", .word = "nul\0byte", .word_len = 8};
    st[K_LONG] = (sc_state_t){.doc = "d1", .word = s_long_word, .word_len = 300};
    /* Quoting: SQL, array literals, JSON. */
    st[K_QUOTE] = (sc_state_t){.doc = "d1", .word = "q'u\"o\\te,{} NULL", .word_len = 16};
    st[K_HUGE] = (sc_state_t){.doc = "d1", .word = s_huge_word, .word_len = 3000};
}

void sc_data(sc_data_t *d) {
    sc_states(d->st);
    sc_state_t *st = d->st;
    d->f1[0] = ed_batch_new(ED_BATCH_CHANGELOG, 4096);
    sc_emit(d->f1[0], &st[K_THE], (double[]){1, 2, 3}, 3);
    sc_emit(d->f1[0], &st[K_UNI], (double[]){10}, 1);
    sc_emit(d->f1[0], &st[K_JP], (double[]){-5, 5}, 2);
    sc_emit(d->f1[0], &st[K_BADUTF8], (double[]){8}, 1);
    d->f2[0] = ed_batch_new(ED_BATCH_CHANGELOG, 4096);
    sc_emit(d->f2[0], &st[K_THE], (double[]){4}, 1);
    sc_emit(d->f2[0], &st[K_NEW], (double[]){7}, 1);
    sc_emit(d->f2[0], &st[K_THE_UPPER], (double[]){1}, 1);
    sc_emit(d->f2[0], &st[K_THE_SPACE], (double[]){2}, 1);
    sc_emit(d->f2[0], &st[K_NUL], (double[]){3}, 1);
    sc_emit(d->f2[0], &st[K_LONG], (double[]){6}, 1);
    sc_emit(d->f2[0], &st[K_QUOTE], (double[]){0.25}, 1);
    sc_emit(d->f2[0], &st[K_HUGE], (double[]){1}, 1);
    d->f2[1] = ed_batch_new(ED_BATCH_CHANGELOG, 4096);
    sc_emit(d->f2[1], &st[K_THE], (double[]){0.5}, 1);
    sc_emit(d->f2[1], &st[K_UNI], (double[]){20, 30}, 2);
    d->flush1 = (ed_sink_flush_t){.checkpoint = 1, .changes = d->f1, .nchanges = 1, .rows = 4};
    d->flush2 = (ed_sink_flush_t){.checkpoint = 2, .changes = d->f2, .nchanges = 2, .rows = 10};
}

void sc_data_free(sc_data_t *d) {
    ed_batch_destroy(&d->f1[0]);
    ed_batch_destroy(&d->f2[0]);
    ed_batch_destroy(&d->f2[1]);
}

/* ------------------------------------------------- a proxy that cuts */

struct sc_proxy {
    int lfd;     /* listening socket */
    int port;    /* its port */
    int up_port; /* the real server */
    char pat[64];
    size_t plen;
    atomic_int seen;  /* occurrences of the pattern so far */
    atomic_int at;    /* cut at occurrence number `at` (1-based); 0 = not armed */
    atomic_int after; /* cut after the pattern rather than before its last byte */
    atomic_int cut;   /* the armed cut happened */
    atomic_int stop;  /* set by the test thread */
    pthread_t thr;
    int running; /* thr was started (test thread only) */
};

static int s_send_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Relays one connection until either side closes or the armed cut. */
static void s_proxy_relay(sc_proxy_t *p, int c, int s) {
    static char buf[1 << 16];
    size_t match = 0;
    int cut = 0;
    while (!atomic_load(&p->stop) && !cut) {
        struct pollfd fds[2] = {{c, POLLIN, 0}, {s, POLLIN, 0}};
        if (poll(fds, 2, 20) <= 0)
            continue;
        if (fds[1].revents) {
            ssize_t n = read(s, buf, sizeof buf);
            if (n <= 0 || s_send_all(c, buf, (size_t)n) < 0)
                return;
        }
        if (fds[0].revents) {
            ssize_t n = read(c, buf, sizeof buf);
            if (n <= 0)
                return;
            size_t fwd = (size_t)n;
            for (size_t i = 0; i < (size_t)n && p->plen && !cut; i++) {
                /* pat[0] occurs only first in the pattern (checked at start):
                 * restarting the match there is exact */
                match = buf[i] == p->pat[match] ? match + 1 : buf[i] == p->pat[0];
                if (match < p->plen)
                    continue;
                match = 0;
                int k = atomic_fetch_add(&p->seen, 1) + 1, at = atomic_load(&p->at);
                if (at && k == at) {
                    fwd = atomic_load(&p->after) ? i + 1 : i; /* the rest is held back */
                    cut = 1;
                }
            }
            if (s_send_all(s, buf, fwd) < 0)
                return;
        }
    }
    if (cut) {
        /* FIN to the server: it runs every complete command it received and
         * abandons the unfinished one (and an open transaction), then
         * closes. Its replies are dropped; the client sees the connection
         * close only after that. */
        shutdown(s, SHUT_WR);
        while (read(s, buf, sizeof buf) > 0)
            ;
        atomic_store(&p->at, 0);
        atomic_store(&p->cut, 1);
    }
}

static void *s_proxy_run(void *arg) {
    sc_proxy_t *p = arg;
    while (!atomic_load(&p->stop)) {
        struct pollfd lp = {p->lfd, POLLIN, 0};
        if (poll(&lp, 1, 20) <= 0)
            continue;
        int c = accept(p->lfd, NULL, NULL);
        if (c < 0)
            continue;
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in up = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->up_port)};
        up.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (s >= 0 && connect(s, (struct sockaddr *)&up, sizeof up) == 0)
            s_proxy_relay(p, c, s);
        if (s >= 0)
            close(s);
        close(c);
    }
    return NULL;
}

sc_proxy_t *sc_proxy_start(int up_port, const void *pattern, size_t len, int closed) {
    sc_proxy_t *p = calloc(1, sizeof *p);
    assert_non_null(p);
    if (pattern) {
        assert_true(len >= 1 && len <= sizeof p->pat);
        memcpy(p->pat, pattern, len);
        p->plen = len;
        assert_null(memchr(p->pat + 1, p->pat[0], len - 1)); /* see s_proxy_relay */
    }
    p->up_port = up_port;
    p->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(p->lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    assert_int_equal(bind(p->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(p->lfd, (struct sockaddr *)&a, &alen), 0);
    p->port = ntohs(a.sin_port);
    if (!closed)
        sc_proxy_open(p);
    return p;
}

void sc_proxy_open(sc_proxy_t *p) {
    assert_false(p->running);
    /* Bound but not listening, the port answered connects with a reset. */
    assert_int_equal(listen(p->lfd, 4), 0);
    assert_int_equal(pthread_create(&p->thr, NULL, s_proxy_run, p), 0);
    p->running = 1;
}

int sc_proxy_port(const sc_proxy_t *p) {
    return p->port;
}

void sc_proxy_arm(sc_proxy_t *p, int nth, int after) {
    atomic_store(&p->cut, 0);
    atomic_store(&p->after, after);
    atomic_store(&p->at, atomic_load(&p->seen) + nth);
}

int sc_proxy_cut(const sc_proxy_t *p) {
    return atomic_load(&((sc_proxy_t *)p)->cut);
}

void sc_proxy_stop(sc_proxy_t **p_p) {
    sc_proxy_t *p = *p_p;
    if (!p)
        return;
    atomic_store(&p->stop, 1);
    if (p->running)
        pthread_join(p->thr, NULL);
    close(p->lfd);
    free(p);
    *p_p = NULL;
}

/* --------------------------------------------------------- the contract */

static const char *const s_doc[SC_NKEYS] = {"d1", "d1", "d2", "d3"};
static const char *const s_word[SC_NKEYS] = {"the", "a", "the", "new"};

const char *sc_key_doc(int i) {
    return s_doc[i];
}

const char *sc_key_word(int i) {
    return s_word[i];
}

void sc_totals_add(sc_totals_t *t, const char *doc, size_t doc_len, const char *word,
                   size_t word_len, double count) {
    for (int i = 0; i < SC_NKEYS; i++)
        if (doc_len == strlen(s_doc[i]) && !memcmp(doc, s_doc[i], doc_len) &&
            word_len == strlen(s_word[i]) && !memcmp(word, s_word[i], word_len)) {
            t->count[i] += count;
            t->found[i] = 1;
            return;
        }
    fail_msg("read back a key the contract never wrote: (%.*s, %.*s)", (int)doc_len, doc,
             (int)word_len, word);
}

/* The contract's two flushes. A (checkpoint 1, 3 rows): d1/the +3, d1/a +1,
 * d2/the +2. B (checkpoint 2, 4 rows in two batches, d1/the in both):
 * d1/the +1, d3/new +4; d1/the +2, d2/the +1. */
typedef struct {
    sc_state_t st[SC_NKEYS];
    ed_batch_t *a[1], *b[2];
    ed_sink_flush_t fa, fb;
    double after_a[SC_NKEYS], after_b[SC_NKEYS]; /* counts */
} s_flows_t;

static void s_flows(s_flows_t *f) {
    memset(f, 0, sizeof *f);
    for (int i = 0; i < SC_NKEYS; i++)
        f->st[i] = (sc_state_t){.doc = s_doc[i], .word = s_word[i], .word_len = strlen(s_word[i])};
    f->a[0] = ed_batch_new(ED_BATCH_CHANGELOG, 1024);
    sc_emit(f->a[0], &f->st[SC_D1_THE], (double[]){1, 2, 3}, 3);
    sc_emit(f->a[0], &f->st[SC_D1_A], (double[]){5}, 1);
    sc_emit(f->a[0], &f->st[SC_D2_THE], (double[]){-1, 1}, 2);
    for (int i = 0; i < SC_NKEYS; i++)
        f->after_a[i] = f->st[i].count;
    f->b[0] = ed_batch_new(ED_BATCH_CHANGELOG, 1024);
    sc_emit(f->b[0], &f->st[SC_D1_THE], (double[]){4}, 1);
    sc_emit(f->b[0], &f->st[SC_D3_NEW], (double[]){1, 2, 3, 4}, 4);
    f->b[1] = ed_batch_new(ED_BATCH_CHANGELOG, 1024);
    sc_emit(f->b[1], &f->st[SC_D1_THE], (double[]){5, 6}, 2);
    sc_emit(f->b[1], &f->st[SC_D2_THE], (double[]){7}, 1);
    for (int i = 0; i < SC_NKEYS; i++)
        f->after_b[i] = f->st[i].count;
    f->fa = (ed_sink_flush_t){.checkpoint = 1, .changes = f->a, .nchanges = 1, .rows = 3};
    f->fb = (ed_sink_flush_t){.checkpoint = 2, .changes = f->b, .nchanges = 2, .rows = 4};
}

static void s_flows_free(s_flows_t *f) {
    ed_batch_destroy(&f->a[0]);
    ed_batch_destroy(&f->b[0]);
    ed_batch_destroy(&f->b[1]);
}

/* Reads target back and fails unless every key has exactly its expected
 * count (0: absent). */
static void s_expect(const sc_plugin_t *p, const char *target, const double *want,
                     const char *when) {
    sc_totals_t t;
    memset(&t, 0, sizeof t);
    p->read(target, &t);
    for (int i = 0; i < SC_NKEYS; i++) {
        if (!want[i] && t.found[i])
            fail_msg("%s: %s %s: key (%s, %s) read back, never written", when, p->type, target,
                     s_doc[i], s_word[i]);
        if (want[i] && !t.found[i])
            fail_msg("%s: %s %s: key (%s, %s) not read back (want count %g)", when, p->type,
                     target, s_doc[i], s_word[i], want[i]);
        if (want[i] && t.count[i] != want[i])
            fail_msg("%s: %s %s: key (%s, %s) has count %.17g, want %g", when, p->type, target,
                     s_doc[i], s_word[i], t.count[i], want[i]);
    }
}

static void s_live_body(const sc_plugin_t *p, const char *target, char *body, size_t size) {
    char host[256];
    int port = 0;
    p->server(host, sizeof host, &port);
    p->body(body, size, target, host, port);
}

void sc_test_down(void **state) {
    const sc_plugin_t *p = *state;
    char body[1024], where[512], want[768], name[64], err[2048];
    char target[128];
    snprintf(target, sizeof target, "%s", sc_run("it_{run}_down"));
    snprintf(name, sizeof name, "%s_down", p->type);
    p->body(body, sizeof body, target, "127.0.0.1", 1);
    p->where(where, sizeof where, target, "127.0.0.1", 1);
    snprintf(want, sizeof want, "sink '%s' %s: ", name, where);
    sc_sink_t s;
    assert_int_equal(sc_sink_open(&s, name, body, err, sizeof err), 0); /* init never connects */
    s_flows_t f;
    s_flows(&f);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = sc_sink_write(&s, &f.fa, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    ASSERT_HAS(err, want);
    ASSERT_HAS(err, "; retrying");
    assert_null(strchr(err, '\n'));
    r = sc_sink_write(&s, &f.fa, &st, err, sizeof err); /* the same flush again, as retried */
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    ASSERT_HAS(err, want);
    assert_int_equal(st.rows_written, 0);
    assert_int_equal(st.rows_rejected, 0);
    sc_sink_close(&s);
    s_flows_free(&f);
}

void sc_test_durable(void **state) {
    const sc_plugin_t *p = *state;
    char body[1024] = "", name[64], err[2048], target[128];
    snprintf(target, sizeof target, "%s", sc_run("it_{run}_durable"));
    snprintf(name, sizeof name, "%s_durable", p->type);
    if (p->reset)
        p->reset(target);
    if (p->server)
        s_live_body(p, target, body, sizeof body);
    else
        p->body(body, sizeof body, target, NULL, 0);
    sc_sink_t s;
    assert_int_equal(sc_sink_open(&s, name, body, err, sizeof err), 0);
    s_flows_t f;
    s_flows(&f);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = sc_sink_write(&s, &f.fa, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.rows_written, 3);
    if (p->read) /* right after OK, on a connection of its own */
        s_expect(p, target, f.after_a, "after the first OK");
    r = sc_sink_write(&s, &f.fb, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.rows_written, 3 + 4);
    assert_int_equal(st.rows_rejected, 0);
    if (p->read)
        s_expect(p, target, f.after_b, "after the second OK");
    sc_sink_close(&s);
    if (p->read)
        s_expect(p, target, f.after_b, "after the sink closed");
    if (p->reset)
        p->reset(target);
    s_flows_free(&f);
}

/* Opens sink `name` writing to target through a new proxy in front of the
 * live server (sc_proxy_start's pattern and closed); returns the proxy. */
static sc_proxy_t *s_open_proxied(const sc_plugin_t *p, const char *target, const char *name,
                                  const void *pattern, size_t len, int closed, sc_sink_t *s) {
    char host[256], body[1024], err[2048];
    int port = 0;
    p->server(host, sizeof host, &port);
    sc_proxy_t *px = sc_proxy_start(port, pattern, len, closed);
    p->body(body, sizeof body, target, "127.0.0.1", sc_proxy_port(px));
    assert_int_equal(sc_sink_open(s, name, body, err, sizeof err), 0);
    return px;
}

/* The connection breaks just before the statement that makes flush B
 * durable: RETRY; the retry reconnects and B is applied exactly once. */
static void s_once_cut(const sc_plugin_t *p, const char *target, const char *name) {
    char err[2048];
    sc_sink_t s;
    sc_proxy_t *px = s_open_proxied(p, target, name, p->cut, p->cut_len, 0, &s);
    s_flows_t f;
    s_flows(&f);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = sc_sink_write(&s, &f.fa, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    s_expect(p, target, f.after_a, "after A");
    sc_proxy_arm(px, p->cut_nth, 0);
    r = sc_sink_write(&s, &f.fb, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    assert_true(sc_proxy_cut(px));
    char want[96];
    snprintf(want, sizeof want, "sink '%s' (", name);
    ASSERT_HAS(err, want);
    r = sc_sink_write(&s, &f.fb, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_true(st.reconnects >= 1);
    assert_int_equal(st.rows_written, 3 + 4);
    s_expect(p, target, f.after_b, "after B was retried");
    sc_sink_close(&s);
    sc_proxy_stop(&px);
    s_flows_free(&f);
}

/* The server is down (the proxy's port refuses connections) while flush A
 * is retried: RETRY, and the retries send nothing again; once it is up, A
 * is applied exactly once, then B. */
static void s_once_down_up(const sc_plugin_t *p, const char *target, const char *name) {
    char err[2048], want[96];
    snprintf(want, sizeof want, "sink '%s' (", name);
    sc_sink_t s;
    sc_proxy_t *px = s_open_proxied(p, target, name, NULL, 0, 1, &s);
    s_flows_t f;
    s_flows(&f);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = sc_sink_write(&s, &f.fa, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    ASSERT_HAS(err, want);
    uint64_t sent = st.statements;
    r = sc_sink_write(&s, &f.fa, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_RETRY, r, err);
    assert_int_equal(st.statements, sent);
    s_expect(p, target, (double[SC_NKEYS]){0}, "while the server is down");
    sc_proxy_open(px);
    /* The client reconnects after a backoff of its own; each call waits a
     * bounded time for it. */
    for (int tries = 0; (r = sc_sink_write(&s, &f.fa, &st, err, sizeof err)) == ED_WRITE_RETRY &&
                        tries < 30;
         tries++)
        ;
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.statements, sent);
    assert_int_equal(st.rows_written, 3);
    s_expect(p, target, f.after_a, "after A was retried");
    r = sc_sink_write(&s, &f.fb, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_OK, r, err);
    assert_int_equal(st.rows_written, 3 + 4);
    s_expect(p, target, f.after_b, "after B");
    sc_sink_close(&s);
    sc_proxy_stop(&px);
    s_flows_free(&f);
}

void sc_test_once(void **state) {
    const sc_plugin_t *p = *state;
    char name[64], target[128];
    snprintf(target, sizeof target, "%s", sc_run("it_{run}_once"));
    snprintf(name, sizeof name, "%s_once", p->type);
    p->reset(target);
    if (p->cut)
        s_once_cut(p, target, name);
    else
        s_once_down_up(p, target, name);
    p->reset(target);
}

void sc_test_drop(void **state) {
    const sc_plugin_t *p = *state;
    char body[1024], name[64], err[2048], target[128], want[96];
    snprintf(target, sizeof target, "%s", sc_run("it_{run}_drop"));
    snprintf(name, sizeof name, "%s_drop", p->type);
    snprintf(want, sizeof want, "sink '%s' (", name);
    int refused = p->poison(target);
    assert_true(refused >= 1 && refused <= 3);
    s_live_body(p, target, body, sizeof body);
    sc_sink_t s;
    assert_int_equal(sc_sink_open(&s, name, body, err, sizeof err), 0);
    s_flows_t f;
    s_flows(&f);
    ed_sink_stats_t st = {0};
    ed_write_result_t r = sc_sink_write(&s, &f.fa, &st, err, sizeof err);
    ASSERT_WRITE(ED_WRITE_DROP, r, err);
    ASSERT_HAS(err, want);
    assert_null(strchr(err, '\n'));
    assert_int_equal(st.rows_rejected, refused);
    assert_int_equal(st.rows_written, 3 - refused);
    sc_sink_close(&s);
    p->reset(target);
    s_flows_free(&f);
}
