/*
 * ed_conf_sources.c — the `sources:` section: the type block (read with
 * the type's own config map, see ed_conf_plugin.c), the common source
 * keys, and the check of input fields against what a source can produce
 * (its type's meta fields, its format).
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/decode/ed_avro.h"
#include "config/ed_conf_sections.h"
#include "runtime/ed_buf.h"
#include "runtime/ed_common.h"
#include "runtime/ed_file.h"

static const ed_conf_choice_t s_formats[] = {{"lines", ED_FMT_LINES, 0},
                                             {"words", ED_FMT_WORDS, 0},
                                             {"json", ED_FMT_JSON, 0},
                                             {"avro", ED_FMT_AVRO, 0},
                                             {NULL, 0, 0}};
static const ed_conf_choice_t s_framings[] = {{"none", ED_AVRO_FRAME_NONE, 0},
                                              {"confluent", ED_AVRO_FRAME_CONFLUENT, 0},
                                              {NULL, 0, 0}};
static const ed_conf_choice_t s_time_formats[] = {{"auto", ED_TIME_AUTO, 0},
                                                  {"epoch_s", ED_TIME_EPOCH_S, 0},
                                                  {"epoch_ms", ED_TIME_EPOCH_MS, 0},
                                                  {"iso8601", ED_TIME_ISO8601, 0},
                                                  {NULL, 0, 0}};

static const ed_conf_map_t s_time_map[] = {
    {ED_CONF_STR, "field", NULL, offsetof(ed_conf_source_t, time_field), ED_CONF_REQUIRED,
     "the event-time field: a name, a dotted path or a meta field",
     .expect = "the event-time field, e.g. ts"},
    {ED_CONF_ENUM, "format", NULL, offsetof(ed_conf_source_t, time_format), 0,
     "how the time is written: `auto` (numbers by magnitude, else ISO-8601), `epoch_s`, "
     "`epoch_ms` or `iso8601`",
     .choices = s_time_formats, .doc_def = "`auto`"},
    {ED_CONF_DURATION, "max_out_of_orderness", "0", offsetof(ed_conf_source_t, time_max_ooo_ms), 0,
     "how far behind the highest event time seen on a partition a record may arrive and still "
     "be on time: a partition's watermark is that highest time minus this bound",
     .min = 0},
    {ED_CONF_DURATION, "idle_timeout", "0", offsetof(ed_conf_source_t, time_idle_timeout_ms), 0,
     "a partition without input for this long is left out of the source's watermark until it "
     "speaks again (as Flink's idleness); `0` = never: a silent partition holds the watermark",
     .min = 0},
    {0}};

static void s_free_schema(void *field) {
    ed_conf_source_t *s = ED_CONF_CONTAINER(field, ed_conf_source_t, avro);
    ed_avro_schema_destroy(&s->avro);
    free(s->schema_file);
    free(s->schema_path);
    s->schema_file = s->schema_path = NULL;
}

static void s_free_to(void *field) {
    ed_conf_source_t *s = ED_CONF_CONTAINER(field, ed_conf_source_t, to);
    for (int i = 0; s->to && i < s->nto; i++)
        free(s->to[i]);
    free(s->to);
    s->to = NULL;
    s->nto = 0;
}

const ed_conf_map_t ed_conf_source_map[] = {
    {ED_CONF_ENUM, "format", "lines", offsetof(ed_conf_source_t, format), 0,
     "how input is decoded: `lines` gives one record per input with field `line`; `words` one "
     "record per word with field `word`; `json` one record per JSON object, fields by name or "
     "dotted path; `avro` one record per Avro binary datum (Kafka sources; needs `schema`), "
     "fields by name or dotted path as in JSON. See [docs/avro.md](avro.md)",
     .choices = s_formats},
    {ED_CONF_SUBMAP, "time", NULL, 0, 0,
     "event time: `time: { field: ts, format: auto }`; without it, processing time",
     .sub = s_time_map, .expect = "time: { field: ts, format: epoch_ms }",
     .doc_def = "none (processing time)"},
    {ED_CONF_CUSTOM, "to", NULL, offsetof(ed_conf_source_t, to), 0,
     "pass-through: every decoded record is also sent, unchanged, to these sinks",
     .expect = "a sink name or a list of sink names", .doc_def = "none", .doc_type = "sink list",
     .free = s_free_to},
    {ED_CONF_STR, "rejects", NULL, offsetof(ed_conf_source_t, rejects), 0,
     "input that cannot be decoded is sent to this sink; without it, rejects are counted and "
     "logged",
     .expect = "a sink name", .doc_def = "none", .doc_type = "sink name"},
    {ED_CONF_INT, "batch_size", "1024", offsetof(ed_conf_source_t, batch_size), 0,
     "records per batch message", .min = 1, .max = 1000000},
    {ED_CONF_DURATION, "linger", "5ms", offsetof(ed_conf_source_t, linger_ms), 0,
     "longest wait before a partial batch is sent", .min = 0},
    {ED_CONF_INT, "instances", "1", offsetof(ed_conf_source_t, instances), 0,
     "parallel source actors, for types that may run as several instances. Kafka: that many "
     "consumers in the source's group, sharing its partitions (more than the topic has "
     "partitions leaves some idle). Generator: the events are split evenly, each instance with "
     "its own seed and `rate / instances`. Nexmark: instance *i* of *N* makes the events *n* "
     "with *n* mod *N* = *i*, so together they make the same events as one. Directory: must "
     "be 1",
     .min = 1, .max = 64},
    {ED_CONF_INT, "decoders", "0", offsetof(ed_conf_source_t, decoders), 0,
     "decoder actors per source actor. `0`: the source actor decodes and keys its inputs "
     "itself, on one worker. `N`: the source actor only reads, and N decoder actors spread over "
     "the workers decode and key in parallel (records of one key may reach the aggregators out "
     "of read order; cumulative aggregates do not depend on it). Use it when one source feeds a "
     "JSON-heavy aggregation on several workers: on 2 workers, `decoders: 3` ran bench S2 1.5× "
     "faster than `0` (full bench medians 6.5 vs 4.4 M JSON events/s). Needs an aggregation "
     "reading the source, a per-record alert on it, or transforms with `to:`; not for sources "
     "without a payload (the generator)",
     .min = 0, .max = 64},
    {ED_CONF_CUSTOM, "transforms", NULL, offsetof(ed_conf_source_t, transforms), 0,
     "per-record steps applied in order to every record before aggregations, per-record "
     "alerts and pass-through sinks see it: `where` (keep matching records), `set` (fields "
     "from expressions), `drop` (remove fields), `lua` (a function of a script); needs "
     "`format: json`. See [docs/transforms.md](transforms.md)",
     .doc_def = "none", .doc_type = "list of steps", .free = ed_conf_transforms_free},
    {ED_CONF_CUSTOM, "schema", NULL, offsetof(ed_conf_source_t, avro), 0,
     "the Avro schema (`.avsc`, JSON) of `format: avro`, a file relative to the config file's "
     "directory; read, checked and compiled at load, and every field the pipeline reads must be "
     "in it",
     .expect = "schema: orders.avsc", .doc_def = "none", .doc_type = "file",
     .free = s_free_schema},
    {ED_CONF_ENUM, "framing", "none", offsetof(ed_conf_source_t, framing), 0,
     "how an Avro datum sits in a message: `none`, the message is the datum; `confluent`, the "
     "Confluent Schema Registry wire format (byte 0x00, a 4-byte big-endian schema id that must "
     "equal `schema_id`, then the datum). Never guessed from the data",
     .choices = s_framings},
    {ED_CONF_INT, "schema_id", "-1", offsetof(ed_conf_source_t, schema_id), 0,
     "with `framing: confluent`: the schema id every message must carry; a message with "
     "another id is a reject naming both ids",
     .min = -1, .max = 2147483647, .doc_def = "none (required with `framing: confluent`)"},
    {0}};

/* "a, b or c" of the meta fields of type t, into b. */
static void s_meta_list(ed_buf_t *b, const ed_conf_plugin_t *t, const char **names, int *n) {
    *n = 0;
    for (const ed_conf_meta_t *m = t->meta; m && m->name && *n < 31; m++)
        names[(*n)++] = m->name;
    ed_conf_join(b, names, *n);
}

int ed_conf_check_field(ed_conf_state_t *st, const ed_node_t *n, const char *field,
                        const char *what, const char *where, int si) {
    ed_conf_ctx_t *cx = st->cx;
    const ed_conf_source_t *src = &ed_conf_ctx_conf(cx)->sources[si];
    size_t len = strlen(field);
    int ok = len > 0;
    if (ok && field[0] == '@')
        ok = ed_conf_valid_ident(field + 1, len - 1);
    else if (ok)
        ok = field[0] != '.' && field[len - 1] != '.' && !strstr(field, "..");
    if (!ok)
        return ed_conf_err(cx, n,
                           "invalid field '%s' in %s of %s; expected a field name, a dotted path "
                           "(customer.id) or a meta field (@key)",
                           field, what, where);
    if (!src->type)
        return 0;
    const ed_conf_plugin_t *t = src->type;
    int meta = field[0] == '@';
    if (meta)
        for (const ed_conf_meta_t *m = t->meta; m && m->name; m++)
            if (!strcmp(m->name, field))
                return 0;
    if (!meta && (st->src_bad[si] || (t->caps & ED_CAP_PAYLOAD)))
        goto format; /* a bad source's format may not be the one meant */
    const char *names[32];
    int nn;
    ed_buf_t b = ED_BUF_INIT;
    s_meta_list(&b, t, names, &nn);
    if (meta)
        ed_conf_suggest(&b, field, names, nn);
    int rc = meta ? ed_conf_err(cx, n,
                                "meta field '%s' in %s of %s is not given by source '%s' (%s); "
                                "expected one of: %s",
                                field, what, where, src->name, t->name, b.data)
                  : ed_conf_err(cx, n,
                                "field '%s' in %s of %s is not produced by source '%s': a %s "
                                "source has only the meta fields %s",
                                field, what, where, src->name, t->name, b.data);
    ed_buf_free(&b);
    return rc;
format:
    if (st->src_bad[si])
        return 0;
    if (src->format == ED_FMT_AVRO && src->avro && !meta) {
        char why[768];
        if (ed_avro_schema_check_path(src->avro, field, why, sizeof why) < 0)
            return ed_conf_err(cx, n,
                               "field '%s' in %s of %s is not in the Avro schema %s of source "
                               "'%s': %s",
                               field, what, where, src->schema_file, src->name, why);
        return 0;
    }
    const char *only = src->format == ED_FMT_LINES   ? "line"
                       : src->format == ED_FMT_WORDS ? "word"
                                                     : NULL;
    if (only && strcmp(field, only))
        return ed_conf_err(cx, n,
                           "field '%s' in %s of %s is not produced by source '%s' (format: %s); "
                           "expected '%s' or a meta field such as @key",
                           field, what, where, src->name,
                           src->format == ED_FMT_LINES ? "lines" : "words", only);
    return 0;
}

/* `schema`, `framing` and `schema_id` against `format`; with format: avro,
 * the schema file read and compiled into s->avro. */
static void s_read_avro(ed_conf_ctx_t *cx, ed_conf_source_t *s, const ed_node_t *body,
                        const char *w) {
    const ed_node_t *sn = ed_node_given(body, "schema");
    const ed_node_t *fn = ed_node_given(body, "framing");
    const ed_node_t *in = ed_node_given(body, "schema_id");
    if (s->format != ED_FMT_AVRO) {
        const ed_node_t *bad = sn ? sn : fn ? fn : in;
        if (bad)
            ed_conf_err(cx, bad,
                        "'%s' of %s is for `format: avro` (this source's format is not avro); "
                        "remove it or set format: avro",
                        sn ? "schema" : fn ? "framing" : "schema_id", w);
        return;
    }
    if (s->type && !strcmp(s->type->name, "directory")) {
        ed_conf_err(cx, ed_node_get(body, "format"),
                    "format 'avro' of %s: a directory source splits files into lines, which "
                    "cannot carry Avro binary datums (Avro object container files are not "
                    "built); read Avro from a Kafka topic, one datum per message",
                    w);
        return;
    }
    if (ed_node_given(body, "to")) {
        ed_conf_err(cx, ed_node_getk(body, "to"),
                    "pass-through 'to' of %s is not implemented for format: avro (it would "
                    "forward Avro binary to sinks that take JSON records); aggregate the source "
                    "instead, or remove 'to'",
                    w);
        return;
    }
    if (s->framing == ED_AVRO_FRAME_CONFLUENT && s->schema_id < 0) {
        ed_conf_err(cx, fn,
                    "'framing: confluent' of %s needs 'schema_id': the Confluent schema id "
                    "every message must carry, e.g. schema_id: 1",
                    w);
        return;
    }
    if (s->framing != ED_AVRO_FRAME_CONFLUENT && in) {
        ed_conf_err(cx, in,
                    "'schema_id' of %s is checked only with 'framing: confluent'; set framing: "
                    "confluent or remove schema_id",
                    w);
        return;
    }
    if (!sn || sn->type != ED_NODE_SCALAR || !sn->text || !*sn->text) {
        ed_conf_err(cx, sn ? sn : ed_node_get(body, "format"),
                    "format 'avro' of %s needs 'schema': the Avro schema file (.avsc), e.g. "
                    "schema: orders.avsc",
                    w);
        return;
    }
    s->schema_file = ed_strdup(sn->text);
    const char *conf_path = ed_conf_ctx_conf(cx)->path;
    const char *slash = conf_path ? strrchr(conf_path, '/') : NULL;
    ed_buf_t b = ED_BUF_INIT;
    if (sn->text[0] != '/' && slash)
        ed_buf_append(&b, conf_path, (size_t)(slash - conf_path) + 1);
    ed_buf_puts(&b, sn->text);
    s->schema_path = b.data;
    char *json = NULL;
    size_t len = 0;
    char err[1024];
    if (ed_file_read(s->schema_path, &json, &len, err, sizeof err) < 0) {
        ed_conf_err(cx, sn,
                    "'schema' of %s: cannot read %s (%s); expected a readable .avsc file "
                    "(relative paths are relative to the config file)",
                    w, s->schema_path, err);
        return;
    }
    if (ed_avro_schema_new(&s->avro, json, len, s->schema_path, err, sizeof err) < 0)
        ed_conf_err(cx, sn, "'schema' of %s: %s", w, err);
    free(json);
}

/* The keys a source body may have: every type name and the common ones. */
static int s_source_keys(ed_conf_ctx_t *cx, const ed_node_t *body, const char *w) {
    const ed_conf_registry_t *reg = ed_conf_ctx_registry(cx);
    const char *types[64];
    int n = 0;
    for (int i = 0; i < reg->nsources && n < 63; i++)
        types[n++] = reg->sources[i]->name;
    types[n] = NULL;
    return ed_conf_map_keys_check(cx, body, w, ed_conf_source_map, ED_MAP_ALL, types);
}

int ed_conf_read_source(ed_conf_state_t *st, int i, const ed_node_t *kn, const ed_node_t *body) {
    ed_conf_ctx_t *cx = st->cx;
    ed_conf_source_t *s = &ed_conf_ctx_conf(cx)->sources[i];
    const ed_conf_registry_t *reg = ed_conf_ctx_registry(cx);
    int nerr = ed_conf_nerrors(cx);
    s->name = ed_strdup(kn->text);
    s->pos = ed_conf_pos(cx, kn);
    char w[300];
    snprintf(w, sizeof w, "source '%s'", s->name);
    s_source_keys(cx, body, w);
    ed_conf_find_type(cx, kn, body, "source", reg->sources, reg->nsources, &s->type);

    /* Common keys. */
    ed_conf_map_defaults(cx, ed_conf_source_map, s, ED_MAP_ALL);
    ed_conf_map_read(cx, ed_conf_source_map, body, kn, s, w, ED_MAP_ALL, NULL);
    if (s->time_field && s->time_format == ED_TIME_NONE)
        s->time_format = ED_TIME_AUTO;
    const ed_node_t *dn = ed_node_get(body, "decoders");
    if (dn)
        s->decoders_pos = ed_conf_pos(cx, dn);
    if (ed_conf_get_sinks(cx, body, "to", w, 0, &s->to, &s->nto, NULL) < 0)
        st->refs_bad = 1;
    int idx;
    if (s->rejects && ed_conf_resolve(cx, ed_node_get(body, "rejects"), ED_REF_SINK, s->rejects,
                                      "rejects", w, &idx) < 0)
        st->refs_bad = 1;
    else if (!s->rejects && ed_node_getk(body, "rejects") && !ed_node_is_null(ed_node_get(body, "rejects")))
        st->refs_bad = 1;

    if (s->type) {
        ed_conf_check_t ck;
        ed_conf_check_setup(&ck, cx, s, NULL, kn, body, NULL);
        if (s->instances > 1 && !(s->type->caps & ED_CAP_INSTANCES))
            ed_conf_check_err(&ck, "instances",
                              "%s is a %s source, which runs as one instance; 'instances' must "
                              "be 1 for a %s source (split the input over several sources "
                              "instead)",
                              w, s->type->name, s->type->name);
        ed_conf_read_plugin(&ck, &s->opts);
    }
    if (ed_conf_nerrors(cx) == nerr)
        s_read_avro(cx, s, body, w);
    st->src_bad[i] = ed_conf_nerrors(cx) > nerr;
    if (s->time_field && s->type)
        ed_conf_check_field(st, ed_node_get(ed_node_get(body, "time"), "field"), s->time_field,
                            "'time'", w, i);
    st->src_bad[i] = ed_conf_nerrors(cx) > nerr;
    if (!st->src_bad[i])
        ed_conf_read_transforms(st, i, body, w);
    st->src_bad[i] = ed_conf_nerrors(cx) > nerr;
    return st->src_bad[i] ? ED_EINVAL : 0;
}
