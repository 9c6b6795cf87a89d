/*
 * ed_config.c — see ed_config.h; the reference of every key is docs/config.md.
 *
 * The YAML becomes a tree of positioned nodes (ed_yaml.c: anchors, aliases
 * and merge keys resolved), then is walked section by section (the readers
 * in ed_conf_read.c, the sections in ed_conf_*.c). Sections are read in
 * dependency order — runtime, sinks, sources, aggregations, alerts — so
 * every reference (`from`, `to`, `on`, `rejects`) is resolved while its YAML
 * node, and so its line and column, is at hand. The rules about what may
 * feed which sink need the whole graph and run last (ed_conf_graph.c). The
 * first error stops the load: one precise message beats ten follow-on ones.
 * This file holds the top level, the runtime section, loading, lookups and
 * destruction.
 */
#define _GNU_SOURCE
#include "config/ed_config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/ed_conf_sections.h"
#include "config/ed_yaml.h"
#include "runtime/ed_buf.h"
#include "runtime/ed_common.h"

/* Largest config file read; anything bigger is surely not a pipeline. */
#define S_MAX_FILE (16u << 20)

/* ------------------------------------------------------------------------ */
/* runtime                                                                  */

static const ed_conf_choice_t s_delivery[] = {{"at_least_once", ED_DELIVERY_AT_LEAST_ONCE, 0},
                                              {"exactly_once", ED_DELIVERY_EXACTLY_ONCE, 0},
                                              {NULL, 0, 0}};

const ed_conf_map_t ed_conf_runtime_map[] = {
    {ED_CONF_INT, "workers", NULL, offsetof(ed_conf_runtime_t, workers), 0,
     "worker threads that run the actors", .min = 1, .max = 1024,
     .doc_def = "number of online CPUs (at most 1024)"},
    {ED_CONF_INT, "aggregators", "8", offsetof(ed_conf_runtime_t, aggregators), 0,
     "partitions of the key space (aggregator actors)", .min = 1, .max = 1024},
    {ED_CONF_DURATION, "flush_interval", "500ms", offsetof(ed_conf_runtime_t, flush_interval_ms),
     0, "how often aggregators emit their changelog to the sinks", .min = 10},
    {ED_CONF_INT, "mailbox_hwm", "64", offsetof(ed_conf_runtime_t, mailbox_hwm), 0,
     "messages queued per mailbox before senders block (backpressure)", .min = 1,
     .max = 1000000},
    {ED_CONF_INT, "max_inflight", "4", offsetof(ed_conf_runtime_t, max_inflight), 0,
     "flushes not yet acked by every sink before sources pause", .min = 1, .max = 1000},
    {ED_CONF_STR, "state_dir", NULL, offsetof(ed_conf_runtime_t, state_dir), 0,
     "directory where aggregators keep snapshots of their state at every checkpoint, so a "
     "restart resumes cumulative totals and open windows (created if missing); without it "
     "state lives in memory only and a restart starts every aggregation empty",
     .doc_def = "none: state in memory only"},
    {ED_CONF_CUSTOM, "metrics", NULL, 0, ED_CONF_RESERVED, "a Prometheus metrics endpoint",
     .expect = "use `http: { listen: 127.0.0.1:9464 }`: its /metrics path serves them"},
    {ED_CONF_SUBMAP, "http", NULL, offsetof(ed_conf_runtime_t, http), 0,
     "the HTTP endpoint: the dashboard, /metrics (Prometheus), /healthz, /readyz, /v1/pipeline, "
     "/v1/leaderboard (docs/http.md); "
     "off unless given",
     .sub = ed_conf_http_map, .expect = "http: { listen: 127.0.0.1:9464 }"},
    {ED_CONF_ENUM, "delivery", NULL, offsetof(ed_conf_runtime_t, delivery), 0,
     "`at_least_once`: input positions are committed after every sink made the flush durable, "
     "so a crash applies the input since the last commit again; `exactly_once`: each sink's "
     "transaction also records the checkpoint id and the input positions it covers, a restart "
     "replays from the sinks' positions and a sink skips a flush it already applied "
     "(SQL and redis sinks, Kafka sources only; docs/guarantees.md)",
     .choices = s_delivery, .doc_def = "`at_least_once`"},
    {0}};

int ed_conf_read_runtime(ed_conf_state_t *st, const ed_node_t *root) {
    ed_conf_ctx_t *cx = st->cx;
    ed_conf_runtime_t *rt = &ed_conf_ctx_conf(cx)->runtime;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    ed_conf_map_defaults(cx, ed_conf_runtime_map, rt, ED_MAP_ALL);
    rt->workers = cpus >= 1 ? (cpus > 1024 ? 1024 : (int)cpus) : 1;
    const ed_node_t *v = ed_node_get(root, "runtime");
    if (!v || ed_node_is_null(v))
        return 0;
    if (ed_conf_want_map(cx, v, "runtime", "the file", "runtime: { workers: 4 }") < 0)
        return ED_EINVAL;
    int rc = ed_conf_map_keys_check(cx, v, "runtime", ed_conf_runtime_map, ED_MAP_ALL, NULL);
    int nerr = ed_conf_nerrors(cx);
    if (ed_conf_map_read(cx, ed_conf_runtime_map, v, NULL, rt, "runtime", ED_MAP_ALL, NULL) < 0)
        rc = ED_EINVAL;
    const ed_node_t *hk = ed_node_getk(v, "http");
    /* Checked only when its keys read cleanly: no follow-on errors. */
    if (hk && ed_conf_nerrors(cx) == nerr &&
        ed_conf_check_http(cx, hk, ed_node_get(v, "http"), &rt->http) < 0)
        rc = ED_EINVAL;
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                  */

/* Reads the names of section `key` into a fresh array of *n entries of
 * `size` bytes (one spare) and their bad flags; *sec is the section's node.
 * Returns what ed_conf_section returned. */
static int s_section(ed_conf_state_t *st, const ed_node_t *root, const char *key,
                     const char *what, size_t size, void **arr, int *n, unsigned char **bad,
                     const ed_node_t **sec) {
    int rc = ed_conf_section(st->cx, root, key, what, sec, n);
    *arr = ed_calloc((size_t)*n + 1, size);
    *bad = ed_calloc((size_t)*n + 1, 1);
    return rc;
}

/* Entry i of a section can be read (a named mapping); if not (reported by
 * ed_conf_section), it gets its name, if any, and is marked bad. */
static int s_entry_ok(const ed_node_t *sec, int i, char **name, unsigned char *bad) {
    const ed_node_t *k = sec->pairs[i].key, *body = sec->pairs[i].value;
    if (k->type == ED_NODE_SCALAR && body->type == ED_NODE_MAP)
        return 1;
    *name = ed_strdup(k->type == ED_NODE_SCALAR ? k->text : "?");
    *bad = 1;
    return 0;
}

static int s_root(ed_conf_ctx_t *cx, const ed_node_t *root) {
    static const char *const keys[] = {"runtime", "sources", "aggregations",
                                       "alerts",  "sinks",   NULL};
    ed_config_t *c = ed_conf_ctx_conf(cx);
    if (root->type != ED_NODE_MAP)
        return ed_conf_err(cx, root,
                           "the file is %s; expected a mapping with the keys runtime, sources, "
                           "aggregations, alerts and sinks",
                           ed_node_what(root));
    ed_conf_state_t st = {.cx = cx, .root = root};
    ed_conf_keys(cx, root, "the top level", keys);
    ed_conf_read_runtime(&st, root);

    /* Sections in dependency order; an entry's errors do not stop the
     * others (see ed_conf_sections.h). */
    const ed_node_t *sec = NULL;
    int n;
    s_section(&st, root, "sinks", "sink", sizeof *c->sinks, (void **)&c->sinks, &n, &st.sink_bad,
              &sec);
    c->nsinks = n;
    st.sinkn = ed_calloc((size_t)n + 1, sizeof *st.sinkn);
    for (int i = 0; i < n; i++) {
        if (s_entry_ok(sec, i, &c->sinks[i].name, &st.sink_bad[i]))
            ed_conf_read_sink(&st, i, sec->pairs[i].key, sec->pairs[i].value);
        c->sinks[i].from_agg = -1;
    }

    int rc = s_section(&st, root, "sources", "source", sizeof *c->sources, (void **)&c->sources,
                       &n, &st.src_bad, &sec);
    c->nsources = n;
    if (rc == 0 && !n)
        ed_conf_err(cx,
                    sec                             ? sec
                    : ed_node_getk(root, "sources") ? ed_node_getk(root, "sources")
                                                    : root,
                    "no sources are defined; expected at least one, e.g. sources: { gen: { "
                    "generator: { events: 1000 } } }");
    for (int i = 0; i < n; i++)
        if (s_entry_ok(sec, i, &c->sources[i].name, &st.src_bad[i]))
            ed_conf_read_source(&st, i, sec->pairs[i].key, sec->pairs[i].value);

    s_section(&st, root, "aggregations", "aggregation", sizeof *c->aggregations,
              (void **)&c->aggregations, &n, &st.agg_bad, &sec);
    c->naggregations = n;
    if (n > UINT16_MAX)
        ed_conf_err(cx, sec, "%d aggregations are defined; expected at most %d", n, UINT16_MAX);
    for (int i = 0; i < n && n <= UINT16_MAX; i++) {
        c->aggregations[i].from_idx = -1;
        c->aggregations[i].window.late_idx = -1;
        if (s_entry_ok(sec, i, &c->aggregations[i].name, &st.agg_bad[i]))
            ed_conf_read_aggregation(&st, i, sec->pairs[i].key, sec->pairs[i].value);
    }

    s_section(&st, root, "alerts", "alert", sizeof *c->alerts, (void **)&c->alerts, &n,
              &st.alert_bad, &sec);
    c->nalerts = n;
    for (int i = 0; i < n; i++)
        if (s_entry_ok(sec, i, &c->alerts[i].name, &st.alert_bad[i]))
            ed_conf_read_alert(&st, i, sec->pairs[i].key, sec->pairs[i].value);

    ed_conf_check_graph(&st);
    free(st.src_bad);
    free(st.agg_bad);
    free(st.alert_bad);
    free(st.sink_bad);
    free(st.sinkn);
    return ed_conf_nerrors(cx) ? ED_EINVAL : 0;
}

static int s_load(const char *text, size_t len, const char *name, const ed_conf_registry_t *reg,
                  ed_config_t **conf_p, char *errstr, size_t errstr_size) {
    if (errstr && errstr_size)
        errstr[0] = 0;
    *conf_p = NULL;
    ed_yaml_t *yaml = NULL;
    ed_node_t *root = NULL;
    ed_yaml_error_t yerr;
    int rc = ed_yaml_parse(text, len, &yaml, &root, &yerr);
    if (rc == ED_ENOMEM)
        return ed_seterr(errstr, errstr_size, ED_ENOMEM, "%s: %s", name, yerr.msg);
    if (rc < 0)
        return ed_seterr(errstr, errstr_size, ED_EINVAL, "%s:%d:%d: %s", name, yerr.line, yerr.col,
                         yerr.msg);
    if (!root) {
        ed_yaml_destroy(&yaml);
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "%s:1:1: the file is empty; expected a mapping with at least 'sources', "
                         "see docs/config.md",
                         name);
    }
    ed_config_t *conf = ed_calloc(1, sizeof *conf);
    conf->path = ed_strdup(name);
    ed_conf_ctx_t *cx = ed_conf_ctx_new(conf->path, text, len, conf, reg);
    rc = s_root(cx, root);
    if (ed_conf_nerrors(cx))
        rc = ed_conf_report(cx, errstr, errstr_size);
    ed_conf_ctx_destroy(&cx);
    ed_yaml_destroy(&yaml);
    if (rc < 0) {
        ed_config_destroy(&conf);
        return rc;
    }
    *conf_p = conf;
    return 0;
}

int ed_config_load_string(const char *text, const char *name, const ed_conf_registry_t *reg,
                          ed_config_t **conf_p, char *errstr, size_t errstr_size) {
    assert(text && reg && conf_p);
    return s_load(text, strlen(text), name ? name : "<string>", reg, conf_p, errstr, errstr_size);
}

int ed_config_load(const char *path, const ed_conf_registry_t *reg, ed_config_t **conf_p,
                   char *errstr, size_t errstr_size) {
    assert(path && reg && conf_p);
    *conf_p = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ed_seterr(errstr, errstr_size, ED_EIO, "cannot read %s: %s", path, strerror(errno));
    ed_buf_t b = ED_BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        ed_buf_append(&b, chunk, n);
        if (b.len > S_MAX_FILE)
            break;
    }
    int err = ferror(f) ? errno : 0;
    fclose(f);
    int rc;
    if (err)
        rc = ed_seterr(errstr, errstr_size, ED_EIO, "cannot read %s: %s", path, strerror(err));
    else if (b.len > S_MAX_FILE)
        rc = ed_seterr(errstr, errstr_size, ED_EIO,
                       "cannot read %s: larger than %u MiB; expected a pipeline config", path,
                       S_MAX_FILE >> 20);
    else
        rc = s_load(b.data ? b.data : "", b.len, path, reg, conf_p, errstr, errstr_size);
    ed_buf_free(&b);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Lookups and destruction                                                  */

int ed_config_source_idx(const ed_config_t *conf, const char *name) {
    for (int i = 0; i < conf->nsources; i++)
        if (conf->sources[i].name && !strcmp(conf->sources[i].name, name))
            return i;
    return -1;
}

int ed_config_sink_idx(const ed_config_t *conf, const char *name) {
    for (int i = 0; i < conf->nsinks; i++)
        if (conf->sinks[i].name && !strcmp(conf->sinks[i].name, name))
            return i;
    return -1;
}

int ed_config_reject_route(const ed_config_t *conf, int k, int src) {
    const ed_conf_sink_t *s = &conf->sinks[k];
    const ed_conf_source_t *in = &conf->sources[src];
    if (!s->type || !(s->type->caps & ED_CAP_REJECTS_OUT) || !in->rejects)
        return -1;
    int to = ed_config_sink_idx(conf, in->rejects);
    if (to < 0 || to == k)
        return -1;
    int feeds = 0;
    for (int t = 0; t < in->nto && !feeds; t++)
        feeds = in->to[t] && !strcmp(in->to[t], s->name);
    for (int r = 0; r < conf->nalerts && !feeds; r++)
        for (int t = 0; t < conf->alerts[r].nto && conf->alerts[r].source_idx == src; t++)
            feeds |= conf->alerts[r].to_idx && conf->alerts[r].to_idx[t] == k;
    for (int a = 0; a < conf->naggregations && !feeds; a++)
        feeds = conf->aggregations[a].from_idx == src &&
                conf->aggregations[a].window.late == ED_WLATE_SINK &&
                conf->aggregations[a].window.late_idx == k;
    return feeds ? to : -1;
}

int ed_config_aggregation_idx(const ed_config_t *conf, const char *name) {
    for (int i = 0; i < conf->naggregations; i++)
        if (conf->aggregations[i].name && !strcmp(conf->aggregations[i].name, name))
            return i;
    return -1;
}

/* Frees one source or sink: its name, its type's options, its core keys. */
static void s_free_typed(const ed_conf_map_t *core, void *entry, char **name,
                         const ed_conf_plugin_t *type, void **opts) {
    if (type && *opts)
        ed_conf_map_free(type->map, *opts);
    free(*opts);
    *opts = NULL;
    ed_conf_map_free(core, entry);
    free(*name);
    *name = NULL;
}

void ed_config_destroy(ed_config_t **conf_p) {
    if (!conf_p || !*conf_p)
        return;
    ed_config_t *c = *conf_p;
    for (int i = 0; c->sources && i < c->nsources; i++) {
        ed_conf_source_t *s = &c->sources[i];
        s_free_typed(ed_conf_source_map, s, &s->name, s->type, &s->opts);
    }
    for (int i = 0; c->sinks && i < c->nsinks; i++) {
        ed_conf_sink_t *s = &c->sinks[i];
        s_free_typed(ed_conf_sink_map, s, &s->name, s->type, &s->opts);
    }
    for (int i = 0; c->aggregations && i < c->naggregations; i++) {
        ed_conf_map_free(ed_conf_aggregation_map, &c->aggregations[i]);
        free(c->aggregations[i].name);
    }
    for (int i = 0; c->alerts && i < c->nalerts; i++) {
        ed_conf_map_free(ed_conf_alert_map, &c->alerts[i]);
        free(c->alerts[i].name);
    }
    ed_conf_map_free(ed_conf_runtime_map, &c->runtime);
    free(c->sources);
    free(c->sinks);
    free(c->aggregations);
    free(c->alerts);
    free(c->path);
    free(c);
    *conf_p = NULL;
}
