/*
 * ed_conf_sources.c — the `sources:` section: the type block (kafka,
 * directory, generator), the common source keys, and the check of input
 * fields against what a source can produce.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/ed_conf_sections.h"
#include "runtime/ed_common.h"


static const ed_conf_enum_t s_formats[] = {
    {"lines", ED_FMT_LINES}, {"words", ED_FMT_WORDS}, {"json", ED_FMT_JSON}, {NULL, 0}};
static const ed_conf_enum_t s_time_formats[] = {{"auto", ED_TIME_AUTO},
                                          {"epoch_s", ED_TIME_EPOCH_S},
                                          {"epoch_ms", ED_TIME_EPOCH_MS},
                                          {"iso8601", ED_TIME_ISO8601},
                                          {NULL, 0}};
static const ed_conf_enum_t s_starts[] = {{"earliest", 0}, {"latest", 1}, {NULL, 0}};

static int s_source_kafka(ed_conf_ctx_t *cx, const ed_node_t *m, const char *sw, ed_conf_source_t *s) {
    static const char *const keys[] = {"brokers", "topic",      "topics", "group",
                                       "start",   "properties", NULL};
    int rc, start;
    if ((rc = ed_conf_keys(cx, m, sw, keys)) < 0 ||
        (rc = ed_conf_get_str(cx, m, "brokers", sw, "host:port[,host:port…]", ED_CR_REQ, NULL,
                        &s->kafka.brokers)) < 0)
        return rc;
    const ed_node_t *topic = ed_node_given(m, "topic"), *topics = ed_node_given(m, "topics");
    if (topic && topics)
        return ed_conf_err(cx, ed_node_getk(m, "topics"),
                     "%s has both 'topic' and 'topics'; expected one of them", sw);
    if (!topic && !topics)
        return ed_conf_err(cx, m,
                     "missing required key 'topic' in %s; expected topic: NAME or topics: [A, B]",
                     sw);
    if (topic) {
        s->kafka.topics = ed_calloc(1, sizeof(char *));
        s->kafka.ntopics = 1;
        if ((rc = ed_conf_scalar(cx, topic, "topic", sw, "a topic name", 0, &s->kafka.topics[0])) < 0)
            return rc;
    } else if (topics->type != ED_NODE_SEQ ||
               topics->nitems == 0) {
        return ed_conf_err(cx, topics,
                     "'topics' in %s is %s; expected a list of topic names, e.g. [a, b]", sw,
                     topics->type == ED_NODE_SEQ ? "an empty list" : ed_node_what(topics));
    } else {
        int n = topics->nitems;
        s->kafka.topics = ed_calloc((size_t)n, sizeof(char *));
        s->kafka.ntopics = n;
        for (int i = 0; i < n; i++) {
            const ed_node_t *item = topics->items[i];
            if ((rc = ed_conf_scalar(cx, item, "topics", sw, "a topic name", 0, &s->kafka.topics[i])) < 0)
                return rc;
        }
    }
    char def_group[300];
    snprintf(def_group, sizeof def_group, "eddy-%s", s->name);
    if ((rc = ed_conf_get_str(cx, m, "group", sw, "a consumer group id", 0, def_group, &s->kafka.group)) <
            0 ||
        (rc = ed_conf_get_enum(cx, m, "start", sw, s_starts, 0, &start)) < 0 ||
        (rc = ed_conf_get_props(cx, m, "properties", sw, &s->kafka.props, &s->kafka.nprops)) < 0)
        return rc;
    s->kafka.start = ed_strdup(s_starts[start].name);
    return 0;
}

static int s_source_directory(ed_conf_ctx_t *cx, const ed_node_t *m, const char *sw, ed_conf_source_t *s) {
    static const char *const keys[] = {"path", "pattern", "state_file", NULL};
    int rc;
    if ((rc = ed_conf_keys(cx, m, sw, keys)) < 0 ||
        (rc = ed_conf_get_str(cx, m, "path", sw, "a directory path", ED_CR_REQ, NULL, &s->directory.path)) <
            0 ||
        (rc = ed_conf_get_str(cx, m, "pattern", sw, "a file-name glob, e.g. *.log", 0, "*",
                        &s->directory.pattern)) < 0 ||
        (rc = ed_conf_get_str(cx, m, "state_file", sw, "a file path", 0, NULL,
                        &s->directory.state_file)) < 0)
        return rc;
    if (!s->directory.state_file) {
        size_t n = strlen(s->directory.path);
        while (n > 1 && s->directory.path[n - 1] == '/')
            n--;
        ed_buf_t b = ED_BUF_INIT;
        ed_buf_append(&b, s->directory.path, n);
        ed_buf_printf(&b, "%s.eddy-%s.state", s->directory.path[n - 1] == '/' ? "" : "/", s->name);
        s->directory.state_file = b.data;
    }
    return 0;
}

static int s_source_generator(ed_conf_ctx_t *cx, const ed_node_t *m, const char *sw, ed_conf_source_t *s) {
    static const char *const keys[] = {"events", "keys", "rate", "seed", NULL};
    int rc;
    int64_t seed;
    if ((rc = ed_conf_keys(cx, m, sw, keys)) < 0 ||
        (rc = ed_conf_get_count(cx, m, "events", sw, 0, 0, &s->generator.events)) < 0 ||
        (rc = ed_conf_get_count(cx, m, "keys", sw, 1000, 1, &s->generator.keys)) < 0 ||
        (rc = ed_conf_get_rate(cx, m, "rate", sw, &s->generator.rate)) < 0 ||
        (rc = ed_conf_get_int(cx, m, "seed", sw, 1, 0, INT64_MAX, &seed)) < 0)
        return rc;
    s->generator.seed = (uint64_t)seed;
    return 0;
}

int ed_conf_read_source(ed_conf_ctx_t *cx, const ed_node_t *kn, const ed_node_t *body,
                        ed_conf_source_t *s) {
    static const char *const keys[] = {"kafka",  "directory", "generator",  "format",
                                       "time",   "to",        "rejects",    "batch_size",
                                       "linger", "instances", "decoders", NULL};
    static const char *const kinds[] = {"kafka", "directory", "generator", NULL};
    s->name = ed_strdup(kn->text);
    s->pos = ed_conf_pos(cx, kn);
    char w[300], sw[340];
    snprintf(w, sizeof w, "source '%s'", s->name);
    int rc, which, fmt;
    if ((rc = ed_conf_keys(cx, body, w, keys)) < 0 ||
        (rc = ed_conf_one_of(cx, kn, body, "source", kinds, &which)) < 0)
        return rc;
    s->kind = (ed_src_kind_t)(which + 1);
    const ed_node_t *m = ed_node_get(body, kinds[which]);
    snprintf(sw, sizeof sw, "%s of source '%s'", kinds[which], s->name);
    static const char *const examples[] = {
        "kafka: { brokers: \"127.0.0.1:9092\", topic: events }",
        "directory: { path: /var/spool/eddy, pattern: \"*.log\" }",
        "generator: { events: 1M, keys: 1000 }"};
    if ((rc = ed_conf_want_map(cx, m, kinds[which], w, examples[which])) < 0)
        return rc;
    switch (s->kind) {
    case ED_SRC_KAFKA:
        rc = s_source_kafka(cx, m, sw, s);
        break;
    case ED_SRC_DIRECTORY:
        rc = s_source_directory(cx, m, sw, s);
        break;
    case ED_SRC_GENERATOR:
        rc = s_source_generator(cx, m, sw, s);
        break;
    }
    if (rc < 0)
        return rc;
    if ((rc = ed_conf_get_enum(cx, body, "format", w, s_formats, ED_FMT_LINES, &fmt)) < 0)
        return rc;
    s->format = (ed_format_t)fmt;
    const ed_node_t *t = ed_node_given(body, "time");
    if (t) {
        static const char *const tkeys[] = {"field", "format", NULL};
        char tw[340];
        snprintf(tw, sizeof tw, "time of source '%s'", s->name);
        int tf;
        if ((rc = ed_conf_want_map(cx, t, "time", w, "time: { field: ts, format: epoch_ms }")) < 0 ||
            (rc = ed_conf_keys(cx, t, tw, tkeys)) < 0 ||
            (rc = ed_conf_get_str(cx, t, "field", tw, "the event-time field, e.g. ts", ED_CR_REQ, NULL,
                            &s->time_field)) < 0 ||
            (rc = ed_conf_get_enum(cx, t, "format", tw, s_time_formats, ED_TIME_AUTO, &tf)) < 0)
            return rc;
        s->time_format = (ed_time_format_t)tf;
        if ((rc = ed_conf_check_field(cx, ed_node_get(t, "field"), s->time_field, "'time'", w, s)) < 0)
            return rc;
    }
    int64_t batch, inst, ndec;
    if ((rc = ed_conf_get_int(cx, body, "instances", w, 1, 1, 64, &inst)) < 0 ||
        (rc = ed_conf_get_int(cx, body, "decoders", w, 0, 0, 64, &ndec)) < 0)
        return rc;
    s->instances = (int)inst;
    s->decoders = (int)ndec;
    if (ed_node_get(body, "decoders"))
        s->decoders_pos = ed_conf_pos(cx, ed_node_get(body, "decoders"));
    if (s->kind == ED_SRC_GENERATOR && s->generator.events &&
        s->generator.events < (uint64_t)s->instances)
        return ed_conf_err(cx, ed_node_get(body, "instances"),
                     "%s has %d instances but only %llu events; each instance needs at least "
                     "one (an instance with 0 events would run unbounded)",
                     w, s->instances, (unsigned long long)s->generator.events);
    if (s->instances > 1 && s->kind == ED_SRC_DIRECTORY)
        return ed_conf_err(cx, ed_node_get(body, "instances"),
                     "%s reads its files one at a time; 'instances' must be 1 for a directory "
                     "source (split the input over several directory sources instead)",
                     w);
    if ((rc = ed_conf_get_sinks(cx, body, "to", w, 0, &s->to, &s->nto, NULL)) < 0 ||
        (rc = ed_conf_get_str(cx, body, "rejects", w, "a sink name", 0, NULL, &s->rejects)) < 0 ||
        (rc = ed_conf_get_int(cx, body, "batch_size", w, 1024, 1, 1000000, &batch)) < 0 ||
        (rc = ed_conf_get_dur(cx, body, "linger", w, 5, 0, &s->linger_ms)) < 0)
        return rc;
    s->batch_size = (int)batch;
    int idx;
    if (s->rejects && (rc = ed_conf_resolve(cx, ed_node_get(body, "rejects"), ED_REF_SINK, s->rejects, "rejects",
                                      w, &idx)) < 0)
        return rc;
    return 0;
}
/* Checks an input field of a key or compute: a dotted path or @meta, and
 * one that the source's decoder can produce. */
int ed_conf_check_field(ed_conf_ctx_t *cx, const ed_node_t *n, const char *field,
                        const char *what,
                         const char *where, const ed_conf_source_t *src) {
    size_t len = strlen(field);
    int ok = len > 0;
    if (ok && field[0] == '@') {
        ok = ed_conf_valid_ident(field + 1, len - 1);
    } else if (ok) {
        ok = field[0] != '.' && field[len - 1] != '.' && !strstr(field, "..");
    }
    if (!ok)
        return ed_conf_err(cx, n,
                     "invalid field '%s' in %s of %s; expected a field name, a dotted path "
                     "(customer.id) or a meta field (@key)",
                     field, what, where);
    if (field[0] == '@' || src->kind == ED_SRC_GENERATOR)
        return 0;
    const char *only = src->format == ED_FMT_LINES   ? "line"
                       : src->format == ED_FMT_WORDS ? "word"
                                                     : NULL;
    if (only && strcmp(field, only))
        return ed_conf_err(cx, n,
                     "field '%s' in %s of %s is not produced by source '%s' (format: %s); "
                     "expected '%s' or a meta field such as @key",
                     field, what, where, src->name, src->format == ED_FMT_LINES ? "lines" : "words",
                     only);
    return 0;
}

