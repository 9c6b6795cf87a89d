/*
 * ed_conf_sections.h — the core sections of a pipeline config, read by
 * ed_config.c in dependency order (runtime, sinks, sources, aggregations,
 * alerts) and then checked as a graph. Internal to config/.
 *
 * Every reader goes on after an error, so that one run reports every
 * independent error; an entry that had an error is marked bad, and the
 * checks that depend on it (a key field against its source's format, an
 * alert's metric against its aggregation, a sink against the aggregation
 * feeding it) skip it rather than report follow-on errors.
 */
#ifndef ED_CONF_SECTIONS_H
#define ED_CONF_SECTIONS_H

#include "config/ed_conf_read.h"
#include "config/ed_config.h"

/* The nodes of a source's or sink's settings, kept for its checks. */
typedef struct {
    const ed_node_t *kn;    /* its name */
    const ed_node_t *body;  /* its settings */
    const ed_node_t *block; /* its type block, or NULL */
} ed_conf_nodes_t;

/* What the sections share while loading. */
typedef struct {
    ed_conf_ctx_t *cx;
    const ed_node_t *root;    /* the document (a mapping) */
    unsigned char *src_bad;   /* [nsources]: the source had an error */
    unsigned char *agg_bad;   /* [naggregations] */
    unsigned char *alert_bad; /* [nalerts] */
    unsigned char *sink_bad;  /* [nsinks] */
    ed_conf_nodes_t *sinkn;   /* [nsinks] */
    int refs_bad; /* a `to:` or `rejects:` could not be read: what feeds a sink is not known */
} ed_conf_state_t;

/* The rows of each core section (docs/config.md is generated from them). */
extern const ed_conf_map_t ed_conf_runtime_map[];
extern const ed_conf_map_t ed_conf_source_map[];
extern const ed_conf_map_t ed_conf_aggregation_map[];
extern const ed_conf_map_t ed_conf_alert_map[];
extern const ed_conf_map_t ed_conf_sink_map[];

/* The rows of a `lua:` transform step (config/ed_conf_transforms.c). */
extern const ed_conf_map_t ed_conf_xf_lua_map[];

/* `transforms:` of source si (body: its settings, w: "source 'x'"),
 * compiled into its ed_conf_source_t.transforms; after its type and
 * format are read. Returns 0 or ED_EINVAL after recording errors. */
int ed_conf_read_transforms(ed_conf_state_t *st, int si, const ed_node_t *body, const char *w);

/* Frees the ed_transforms_t * at field (the CUSTOM row's free). */
void ed_conf_transforms_free(void *field);

/* `where:` of mapping body (an aggregation, a per-record alert, a
 * transform step: `w` names it) over the records of source si, parsed and
 * compiled so that its errors are config errors at the offending token.
 * *out stays NULL without it. Returns 0 or ED_EINVAL. */
int ed_conf_get_where(ed_conf_state_t *st, const ed_node_t *body, const char *w, int si,
                      struct ed_where **out);

/* The rows of runtime.http (config/ed_conf_http.c). */
extern const ed_conf_map_t ed_conf_http_map[];

/* Checks runtime.http once its rows are read into *h (key node hk, value
 * node hv, maybe null): reads `token` (only `${VAR}`) or the file of
 * `token_file`, parses `listen`, refuses a non-loopback address without
 * allow_remote and allow_remote without a token; sets h->enabled. Returns
 * 0 or ED_EINVAL after recording errors. */
int ed_conf_check_http(ed_conf_ctx_t *cx, const ed_node_t *hk, const ed_node_t *hv,
                       ed_conf_http_t *h);

/* `runtime:` of root (defaults when absent). */
int ed_conf_read_runtime(ed_conf_state_t *st, const ed_node_t *root);

/* Sink i, `kn: body`. */
int ed_conf_read_sink(ed_conf_state_t *st, int i, const ed_node_t *kn, const ed_node_t *body);

/* Source i, `kn: body` (sinks already read, for `to` and `rejects`). */
int ed_conf_read_source(ed_conf_state_t *st, int i, const ed_node_t *kn, const ed_node_t *body);

/* Aggregation i (sources and sinks already read). */
int ed_conf_read_aggregation(ed_conf_state_t *st, int i, const ed_node_t *kn,
                             const ed_node_t *body);

/* Alert i (aggregations and sinks already read). */
int ed_conf_read_alert(ed_conf_state_t *st, int i, const ed_node_t *kn, const ed_node_t *body);

/* Checks an input field (`what` of `where`, at node n) read from source
 * `src` (index si): a dotted path or a meta field, one the source can
 * produce (its type's meta fields; for other fields, its format). Skips
 * the source-dependent part when the source is bad. */
int ed_conf_check_field(ed_conf_state_t *st, const ed_node_t *n, const char *field,
                        const char *what, const char *where, int si);

/* The rules that need the whole graph: what feeds each sink (fills
 * from_agg, nfeeds; calls the sink type's link), and where `decoders`
 * make sense. */
int ed_conf_check_graph(ed_conf_state_t *st);

/* Finds which of `types` (a registry list, n entries) is a key of body:
 * exactly one, not a planned one; else records an error naming entity kn
 * of kind `what` ("sink") and leaves *type NULL. */
int ed_conf_find_type(ed_conf_ctx_t *cx, const ed_node_t *kn, const ed_node_t *body,
                      const char *what, const ed_conf_plugin_t *const *types, int n,
                      const ed_conf_plugin_t **type);

/* Sets up the check context of a source (src) or sink (sink) of type `type`
 * for its validate or link: names, nodes and the "where" strings of
 * messages. `block` is its type block (NULL: looked up in body). */
void ed_conf_check_setup(ed_conf_check_t *ck, ed_conf_ctx_t *cx, const ed_conf_source_t *src,
                         const ed_conf_sink_t *sink, const ed_node_t *kn, const ed_node_t *body,
                         const ed_node_t *block);

/* Reads a type's block (`kafka: {…}`) and its OUTER keys from body into a
 * new options struct *opts_p (owned), then calls its validate. ck is set
 * up by the caller (entity, nodes, where strings). */
int ed_conf_read_plugin(ed_conf_check_t *ck, void **opts_p);

/* The struct that holds member `field` at address p (CUSTOM free callbacks). */
#define ED_CONF_CONTAINER(p, T, field) ((T *)(void *)((char *)(p) - offsetof(T, field)))

#endif
