/*
 * ed_conf_sections.h — the core sections of a pipeline config, read by
 * ed_config.c in dependency order (runtime, sinks, sources, aggregations,
 * alerts) and then checked as a graph. Internal to config/.
 *
 * Each reader fills one entry from its YAML body; on bad input it records
 * errors in the context (see ed_conf_read.h) and returns ED_EINVAL.
 */
#ifndef ED_CONF_SECTIONS_H
#define ED_CONF_SECTIONS_H

#include "config/ed_conf_read.h"
#include "config/ed_config.h"

/* YAML nodes of a sink's settings that are checked against its aggregation
 * only once the graph is known; kept so those errors point at the value. */
typedef struct {
    ed_node_t *table;
    ed_node_t *zset;
    ed_node_t *member;
    ed_node_t *score;
} ed_conf_sinkx_t;

/* `runtime:` of root (defaults when absent). */
int ed_conf_read_runtime(ed_conf_ctx_t *cx, const ed_node_t *root);

/* Sink `kn: body` into *s; nodes kept for the graph checks into *x. */
int ed_conf_read_sink(ed_conf_ctx_t *cx, const ed_node_t *kn, const ed_node_t *body,
                      ed_conf_sink_t *s, ed_conf_sinkx_t *x);

/* Source `kn: body` into *s (sinks already read, for `to` and `rejects`). */
int ed_conf_read_source(ed_conf_ctx_t *cx, const ed_node_t *kn, const ed_node_t *body,
                        ed_conf_source_t *s);

/* Aggregation `kn: body` into *a (sources and sinks already read). */
int ed_conf_read_aggregation(ed_conf_ctx_t *cx, const ed_node_t *kn, const ed_node_t *body,
                             ed_conf_aggregation_t *a);

/* Alert `kn: body` into *al (aggregations and sinks already read). */
int ed_conf_read_alert(ed_conf_ctx_t *cx, const ed_node_t *kn, const ed_node_t *body,
                       ed_conf_alert_t *al);

/* Checks an input field (`what` of `where`, at node n) read from source
 * src: a dotted path or an @meta field, one the source can produce. */
int ed_conf_check_field(ed_conf_ctx_t *cx, const ed_node_t *n, const char *field,
                        const char *what, const char *where, const ed_conf_source_t *src);

/* The rules that need the whole graph: what feeds each sink (fills
 * from_agg, nfeeds and the defaults that depend on the feeding
 * aggregation), and where `decoders` make sense. sinkx has one entry per
 * sink. */
int ed_conf_check_graph(ed_conf_ctx_t *cx, ed_conf_sinkx_t *sinkx);

#endif
