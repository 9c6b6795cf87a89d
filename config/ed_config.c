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

static int s_valid_listen(const char *s) {
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || !colon[1])
        return 0;
    if (s[0] == '[' && colon[-1] != ']')
        return 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    return !*end && isdigit((unsigned char)colon[1]) && port >= 1 && port <= 65535;
}

int ed_conf_read_runtime(ed_conf_ctx_t *cx, const ed_node_t *root) {
    ed_conf_runtime_t *rt = &ed_conf_ctx_conf(cx)->runtime;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    rt->workers = cpus >= 1 ? (cpus > 1024 ? 1024 : (int)cpus) : 1;
    rt->aggregators = 8;
    rt->flush_interval_ms = 500;
    rt->mailbox_hwm = 64;
    rt->max_inflight = 4;
    const ed_node_t *v = ed_node_get(root, "runtime");
    if (!v)
        return 0;
    static const char *const keys[] = {
        "workers", "aggregators", "flush_interval", "mailbox_hwm", "max_inflight", "metrics", NULL};
    const char *w = "runtime";
    int rc;
    if ((rc = ed_conf_want_map(cx, v, "runtime", "the file", "runtime: { workers: 4 }")) < 0 ||
        (rc = ed_conf_keys(cx, v, w, keys)) < 0 ||
        (rc = ed_conf_get_intv(cx, v, "workers", w, rt->workers, 1, 1024, &rt->workers)) < 0 ||
        (rc = ed_conf_get_intv(cx, v, "aggregators", w, 8, 1, 1024, &rt->aggregators)) < 0 ||
        (rc = ed_conf_get_dur(cx, v, "flush_interval", w, 500, 10, &rt->flush_interval_ms)) < 0 ||
        (rc = ed_conf_get_intv(cx, v, "mailbox_hwm", w, 64, 1, 1000000, &rt->mailbox_hwm)) < 0 ||
        (rc = ed_conf_get_intv(cx, v, "max_inflight", w, 4, 1, 1000, &rt->max_inflight)) < 0)
        return rc;
    const ed_node_t *m = ed_node_given(v, "metrics");
    if (!m)
        return 0;
    static const char *const mkeys[] = {"listen", NULL};
    if ((rc = ed_conf_want_map(cx, m, "metrics", w, "metrics: { listen: 127.0.0.1:9464 }")) < 0 ||
        (rc = ed_conf_keys(cx, m, "metrics of runtime", mkeys)) < 0 ||
        (rc = ed_conf_get_str(cx, m, "listen", "metrics of runtime", "host:port", ED_CR_REQ, NULL,
                        &rt->metrics_listen)) < 0)
        return rc;
    if (!s_valid_listen(rt->metrics_listen))
        return ed_conf_err(cx, ed_node_get(m, "listen"),
                     "invalid 'listen' address '%s' in metrics of runtime; expected host:port, "
                     "e.g. 127.0.0.1:9464",
                     rt->metrics_listen);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                  */

static int s_root(ed_conf_ctx_t *cx, const ed_node_t *root) {
    static const char *const keys[] = {"runtime", "sources", "aggregations",
                                       "alerts",  "sinks",   NULL};
    ed_config_t *c = ed_conf_ctx_conf(cx);
    if (root->type != ED_NODE_MAP)
        return ed_conf_err(cx, root,
                           "the file is %s; expected a mapping with the keys runtime, sources, "
                           "aggregations, alerts and sinks",
                           ed_node_what(root));
    int rc = ed_conf_keys(cx, root, "the top level", keys);
    if (rc < 0 || (rc = ed_conf_read_runtime(cx, root)) < 0)
        return rc;
    const ed_node_t *sec;
    int n;
    if ((rc = ed_conf_section(cx, root, "sinks", "sink", &sec, &n)) < 0)
        return rc;
    c->sinks = ed_calloc((size_t)n + 1, sizeof *c->sinks);
    ed_conf_sinkx_t *sinkx = ed_calloc((size_t)n + 1, sizeof *sinkx);
    c->nsinks = n;
    for (int i = 0; i < n && rc == 0; i++)
        rc = ed_conf_read_sink(cx, sec->pairs[i].key, sec->pairs[i].value, &c->sinks[i],
                               &sinkx[i]);
    if (rc < 0 || (rc = ed_conf_section(cx, root, "sources", "source", &sec, &n)) < 0)
        goto out;
    if (!n) {
        rc = ed_conf_err(cx,
                         sec                             ? sec
                         : ed_node_getk(root, "sources") ? ed_node_getk(root, "sources")
                                                         : root,
                         "no sources are defined; expected at least one, e.g. sources: { gen: { "
                         "generator: { events: 1000 } } }");
        goto out;
    }
    c->sources = ed_calloc((size_t)n, sizeof *c->sources);
    c->nsources = n;
    for (int i = 0; i < n && rc == 0; i++)
        rc = ed_conf_read_source(cx, sec->pairs[i].key, sec->pairs[i].value, &c->sources[i]);
    if (rc < 0 || (rc = ed_conf_section(cx, root, "aggregations", "aggregation", &sec, &n)) < 0)
        goto out;
    if (n > UINT16_MAX) {
        rc = ed_conf_err(cx, sec, "%d aggregations are defined; expected at most %d", n,
                         UINT16_MAX);
        goto out;
    }
    c->aggregations = ed_calloc((size_t)n + 1, sizeof *c->aggregations);
    c->naggregations = n;
    for (int i = 0; i < n && rc == 0; i++)
        rc = ed_conf_read_aggregation(cx, sec->pairs[i].key, sec->pairs[i].value,
                                      &c->aggregations[i]);
    if (rc < 0 || (rc = ed_conf_section(cx, root, "alerts", "alert", &sec, &n)) < 0)
        goto out;
    c->alerts = ed_calloc((size_t)n + 1, sizeof *c->alerts);
    c->nalerts = n;
    for (int i = 0; i < n && rc == 0; i++)
        rc = ed_conf_read_alert(cx, sec->pairs[i].key, sec->pairs[i].value, &c->alerts[i]);
    if (rc == 0)
        rc = ed_conf_check_graph(cx, sinkx);
out:
    free(sinkx);
    return rc;
}

static int s_load(const char *text, size_t len, const char *name, ed_config_t **conf_p,
                  char *errstr, size_t errstr_size) {
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
    ed_conf_ctx_t *cx = ed_conf_ctx_new(conf->path, text, len, conf);
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

int ed_config_load_string(const char *text, const char *name, ed_config_t **conf_p, char *errstr,
                          size_t errstr_size) {
    assert(text && conf_p);
    return s_load(text, strlen(text), name ? name : "<string>", conf_p, errstr, errstr_size);
}

int ed_config_load(const char *path, ed_config_t **conf_p, char *errstr, size_t errstr_size) {
    assert(path && conf_p);
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
        rc = s_load(b.data ? b.data : "", b.len, path, conf_p, errstr, errstr_size);
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

int ed_config_aggregation_idx(const ed_config_t *conf, const char *name) {
    for (int i = 0; i < conf->naggregations; i++)
        if (conf->aggregations[i].name && !strcmp(conf->aggregations[i].name, name))
            return i;
    return -1;
}

static void s_free_strv(char **v, int n) {
    for (int i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static void s_free_kv(ed_conf_kv_t *kv, int n) {
    for (int i = 0; kv && i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

void ed_config_destroy(ed_config_t **conf_p) {
    if (!conf_p || !*conf_p)
        return;
    ed_config_t *c = *conf_p;
    for (int i = 0; c->sources && i < c->nsources; i++) {
        ed_conf_source_t *s = &c->sources[i];
        free(s->name);
        free(s->kafka.brokers);
        s_free_strv(s->kafka.topics, s->kafka.ntopics);
        free(s->kafka.group);
        free(s->kafka.start);
        s_free_kv(s->kafka.props, s->kafka.nprops);
        free(s->directory.path);
        free(s->directory.pattern);
        free(s->directory.state_file);
        free(s->time_field);
        s_free_strv(s->to, s->nto);
        free(s->rejects);
    }
    free(c->sources);
    for (int i = 0; c->aggregations && i < c->naggregations; i++) {
        ed_conf_aggregation_t *a = &c->aggregations[i];
        free(a->name);
        free(a->from);
        for (int j = 0; a->key && j < a->nkey; j++) {
            free(a->key[j].column);
            free(a->key[j].field);
        }
        free(a->key);
        for (int j = 0; a->compute && j < a->ncompute; j++) {
            free(a->compute[j].name);
            free(a->compute[j].field);
        }
        free(a->compute);
        s_free_strv(a->to, a->nto);
        free(a->to_idx);
    }
    free(c->aggregations);
    for (int i = 0; c->alerts && i < c->nalerts; i++) {
        ed_conf_alert_t *al = &c->alerts[i];
        free(al->name);
        free(al->on);
        free(al->when);
        free(al->metric);
        s_free_strv(al->to, al->nto);
        free(al->to_idx);
    }
    free(c->alerts);
    for (int i = 0; c->sinks && i < c->nsinks; i++) {
        ed_conf_sink_t *s = &c->sinks[i];
        free(s->name);
        free(s->dsn);
        free(s->mariadb.host);
        free(s->mariadb.user);
        free(s->mariadb.password);
        free(s->mariadb.database);
        free(s->url);
        free(s->kafka.brokers);
        free(s->kafka.topic);
        s_free_kv(s->kafka.props, s->kafka.nprops);
        free(s->table);
        free(s->zset);
        free(s->member);
        free(s->score);
    }
    free(c->sinks);
    free(c->runtime.metrics_listen);
    free(c->path);
    free(c);
    *conf_p = NULL;
}
