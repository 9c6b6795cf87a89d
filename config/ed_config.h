/*
 * ed_config.h — a pipeline configuration, loaded from one YAML file.
 *
 * ed_config_load() parses YAML (libyaml), interpolates ${VAR} and
 * ${VAR:-default} from the environment in every scalar, applies defaults,
 * and validates every reference; the result is immutable and shared
 * read-only by all actors. Every error names file:line:col and what was
 * expected, e.g.
 *   "pipeline.yaml:12:5: unknown key 'tabel' in sink 'pg_words'; expected one of: table, postgres, …"
 * The reference of keys and defaults is docs/config.md.
 */
#ifndef ED_CONFIG_H
#define ED_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "config/ed_conf_map.h"

/* Where a node was in the YAML file (1-based), for errors found after loading
 * (e.g. "sink 'pg_words' (pipeline.yaml:20:3): cannot connect …"). */
typedef struct {
    const char *file; /* borrowed from ed_config_t.path */
    int line;
    int col;
} ed_conf_pos_t;

typedef enum { ED_FMT_LINES = 1, ED_FMT_WORDS, ED_FMT_JSON, ED_FMT_AVRO } ed_format_t;
typedef enum { ED_TIME_NONE = 0, ED_TIME_AUTO, ED_TIME_EPOCH_S, ED_TIME_EPOCH_MS, ED_TIME_ISO8601 } ed_time_format_t;

typedef struct ed_conf_source {
    char *name;
    ed_conf_pos_t pos;
    const ed_conf_plugin_t *type; /* the source type (kafka, directory, …), from the registry */
    void *opts;                   /* its options struct, filled from type->map (owned) */
    ed_format_t format;           /* default: lines; ignored by types without ED_CAP_PAYLOAD */
    char *time_field;             /* event-time field; NULL = processing time */
    ed_time_format_t time_format; /* default ED_TIME_AUTO when time_field set */
    int64_t time_max_ooo_ms;      /* time.max_out_of_orderness: watermark = highest event time
                                     seen on a partition minus this (ms, ≥ 0, default 0) */
    int64_t time_idle_timeout_ms; /* time.idle_timeout: a partition silent this long is left out
                                     of the watermark (ms; 0 = never, the default) */
    char **to;                    /* pass-through sinks (raw records), may be 0 */
    int nto;
    char *rejects;    /* sink name that receives rejected input as records, or NULL (count + log) */
    int batch_size;   /* records per batch message, default 1024 */
    int64_t linger_ms;/* max wait before a partial batch is sent, default 5 */
    int instances;    /* parallel source actors, default 1 (1..64); more than 1 only for types
                         with ED_CAP_INSTANCES (Kafka: consumers of one group; generator: the
                         events split evenly) */
    int decoders;     /* decoder actors per source actor, default 0 (0..64): 0 = the source
                         actor decodes and keys its inputs itself; N = it only reads, and N
                         decoder actors on the worker pool decode and key in parallel */
    ed_conf_pos_t decoders_pos; /* where `decoders` was set (errors) */
    struct ed_transforms *transforms; /* `transforms:` compiled (actors/decode/ed_transform.h),
                                         or NULL */
    /* format: avro (actors/decode/ed_avro.h) */
    char *schema_file;                 /* `schema:` as written, or NULL */
    char *schema_path;                 /* the file read: relative to the config's directory */
    struct ed_avro_schema *avro;       /* the schema compiled by the loader (owned), or NULL */
    int framing;                       /* ed_avro_framing_t: 0 none (default), 1 confluent */
    int schema_id;                     /* Confluent schema id the messages must carry, or -1 */
} ed_conf_source_t;

struct ed_aggfn; /* a row of the aggregate function table, actors/aggregate/ed_aggfn.h */

/* One `compute:` entry: `{ total: sum(amount) }` → name "total", fn the
 * row "sum", field "amount"; `{ count: count }` or `count()` → fn "count",
 * field NULL. */
typedef struct {
    char *name;
    const struct ed_aggfn *fn; /* borrowed (static table); never NULL once loaded */
    char *field;               /* input field (dotted path or @meta); NULL for count */
} ed_conf_compute_t;

/* One `key:` entry: `word` → column "word", field "word";
 * `{ doc: "@key" }` → column "doc", field "@key". */
typedef struct {
    char *column;
    char *field;
} ed_conf_keyfield_t;

/* Most `compute:` entries per aggregation: the values one keyed record
 * carries (actors/ed_payload.h). */
#define ED_CONF_MAX_COMPUTE 64

typedef enum { ED_WIN_NONE = 0, ED_WIN_TUMBLING, ED_WIN_HOPPING, ED_WIN_SESSION } ed_window_kind_t;
/* `emit:` of a window: every flush upserts the changed windows' current
 * values (on_update), or one final row per key and window when it closes. */
typedef enum { ED_EMIT_ON_UPDATE = 0, ED_EMIT_ON_CLOSE } ed_emit_mode_t;
/* `late:` of a window: what happens to a record too late for its windows. */
typedef enum { ED_WLATE_DROP = 0, ED_WLATE_UPDATE, ED_WLATE_SINK } ed_window_late_t;

typedef struct ed_conf_aggregation {
    char *name;
    ed_conf_pos_t pos;
    char *from; /* source name */
    int from_idx; /* index into ed_config_t.sources, resolved by the loader */
    ed_conf_keyfield_t *key;
    int nkey; /* ≥ 1 */
    ed_conf_compute_t *compute;
    int ncompute; /* 1..ED_CONF_MAX_COMPUTE; default `{count: count}` if `compute:` omitted */
    struct {
        ed_window_kind_t kind;       /* ED_WIN_NONE = cumulative */
        int64_t size_ms;             /* window size D (ms); the gap of a session window */
        int64_t slide_ms;            /* hopping slide S (ms); = size for tumbling and session */
        int64_t allowed_lateness_ms; /* ≥ 0, default 0 */
        ed_emit_mode_t emit;         /* default ED_EMIT_ON_UPDATE */
        ed_window_late_t late;       /* default ED_WLATE_DROP */
        char *late_sink;             /* ED_WLATE_SINK: the sink's name (owned), else NULL */
        int late_idx;                /* ED_WLATE_SINK: its index into ed_config_t.sinks, else -1 */
        ed_conf_pos_t late_pos;      /* where `late:` is, for the config-graph errors */
    } window;
    struct ed_where *where; /* `where:` compiled by the loader (ed_where.h); NULL = every record */
    char **to; /* sink names */
    int nto;
    int *to_idx; /* resolved indexes into ed_config_t.sinks */
} ed_conf_aggregation_t;

typedef enum { ED_OP_GE = 1, ED_OP_GT, ED_OP_LE, ED_OP_LT, ED_OP_EQ } ed_cmp_op_t;

typedef struct {
    char *name;
    ed_conf_pos_t pos;
    char *on;      /* aggregation or source name */
    int on_idx;    /* resolved index into ed_config_t.aggregations; -1 for a per-record alert */
    int source_idx;/* per-record alert (`on:` a source): index into ed_config_t.sources, else -1 */
    struct ed_where *where; /* per-record alert: the records it sends (compiled); else NULL */
    char *when;    /* original text, e.g. "count >= 1000" */
    char *metric;  /* compute name on the left of `when` */
    int metric_idx;/* index into that aggregation's compute[] */
    ed_cmp_op_t op;
    double threshold;
    char **to;     /* sink names */
    int nto;
    int *to_idx;
} ed_conf_alert_t;

typedef struct ed_conf_sink {
    char *name;
    ed_conf_pos_t pos;
    const ed_conf_plugin_t *type; /* the sink type (postgres, redis, …), from the registry */
    void *opts;                   /* its options struct, filled from type->map (owned) */
    int batch_rows;       /* rows per statement / pipeline chunk, default 1000 */
    int64_t retry_max_ms; /* max backoff between retries, default 5000 */
    /* Filled by the loader: what feeds this sink. */
    int from_agg;     /* aggregation index feeding changelog rows, or -1 */
    int nfeeds;       /* number of aggregations + alerts + sources feeding it */
} ed_conf_sink_t;

/* runtime.http: the HTTP endpoint (metrics, health, the plan; docs/http.md),
 * read and checked by config/ed_conf_http.c. */
typedef struct {
    int enabled;         /* 1 if `http:` was given (even empty: the defaults) */
    char *listen;        /* "HOST:PORT" as written; default 127.0.0.1:9464 */
    int allow_remote;    /* 1: a listen address other than loopback is allowed (needs a token) */
    char *token_file;    /* file whose content is the bearer token, or NULL */
    char *token;         /* the bearer token (from token_file or `token: "${VAR}"`), or NULL;
                            a secret: never printed, logged or shown by `eddy check` */
    char host[64];       /* numeric address of listen: "127.0.0.1", "::1" ("localhost" →
                            127.0.0.1) */
    int port;            /* port of listen, 1..65535 */
    int loopback;        /* 1 if host is a loopback address (127.0.0.0/8, ::1) */
    char *web_dir;       /* the dashboard's files (actors/http/ed_http_static.h), or NULL:
                            EDDY_WEB_DIR, else beside the binary */
} ed_conf_http_t;

typedef struct {
    int workers;              /* default: number of online CPUs */
    int aggregators;          /* partitions of the key space, default 8 */
    int64_t flush_interval_ms;/* default 500 */
    int mailbox_hwm;          /* messages per mailbox before senders block, default 64 */
    int max_inflight;         /* un-acked flushes before sources pause, default 4 */
    ed_conf_http_t http;      /* the HTTP endpoint; off unless `http:` is given */
    char *state_dir;          /* snapshots of aggregator state (owned), or NULL: memory only */
    int delivery;             /* ED_DELIVERY_*: runtime.delivery, default at_least_once */
} ed_conf_runtime_t;

/* runtime.delivery (docs/guarantees.md). */
enum { ED_DELIVERY_AT_LEAST_ONCE = 0, ED_DELIVERY_EXACTLY_ONCE = 1 };

typedef struct ed_config {
    char *path; /* as given to ed_config_load */
    ed_conf_runtime_t runtime;
    ed_conf_source_t *sources;
    int nsources;
    ed_conf_aggregation_t *aggregations;
    int naggregations;
    ed_conf_alert_t *alerts;
    int nalerts;
    ed_conf_sink_t *sinks;
    int nsinks;
} ed_config_t;

/* Loads and validates the YAML file at `path`. Source and sink types, and
 * the aggregate functions of `compute:`, are looked up by name in `reg`
 * (borrowed; the config keeps pointers to its types, so it must outlive
 * the config — the pipeline layer's registry is static). On success
 * returns 0 and sets *conf_p to an owned config (free with
 * ed_config_destroy). On failure returns ED_EINVAL (bad YAML or config:
 * errstr has every independent error found, in file order, one
 * "FILE:LINE:COL: message" per line, up to ED_CONFIG_MAX_ERRORS) or ED_EIO
 * (cannot read the file; errstr says which and why). */
int ed_config_load(const char *path, const ed_conf_registry_t *reg, ed_config_t **conf_p,
                   char *errstr, size_t errstr_size);

/* As ed_config_load, from a string; `name` stands for the file in errors. */
int ed_config_load_string(const char *text, const char *name, const ed_conf_registry_t *reg,
                          ed_config_t **conf_p, char *errstr, size_t errstr_size);

/* Most errors one load reports; more are counted in a last line. */
#define ED_CONFIG_MAX_ERRORS 20

/* Frees the config and NULLs *conf_p. NULL-safe. */
void ed_config_destroy(ed_config_t **conf_p);

/* Index lookups by name; -1 if absent. */
int ed_config_source_idx(const ed_config_t *conf, const char *name);
int ed_config_sink_idx(const ed_config_t *conf, const char *name);
int ed_config_aggregation_idx(const ed_config_t *conf, const char *name);

/* Where sink k sends the records of source `src` (config indexes) that it
 * refuses: the source's `rejects:` sink, when the source sends records to k
 * (`to:`, a per-record alert or the `late:` of an aggregation reading it),
 * k's type routes rejects (ED_CAP_REJECTS_OUT) and that sink is not k
 * itself; else -1 (they are
 * counted and logged). The loader refuses configs where such routes form a
 * cycle. */
int ed_config_reject_route(const ed_config_t *conf, int k, int src);

/* Parses a duration "500ms", "2s", "1m", "1h", or a bare integer (ms).
 * Returns 0 and *ms, or ED_EINVAL. */
int ed_config_parse_duration(const char *text, int64_t *ms);

#endif
