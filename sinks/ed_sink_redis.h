/*
 * ed_sink_redis.h — the options of the redis sink, shared by its two files:
 * ed_sink_redis_conf.c (the config map, its checks against the feeding
 * aggregation) and ed_sink_redis.c (writing sorted sets). Not used
 * elsewhere: the type is found by name in the sink registry.
 */
#ifndef ED_SINK_REDIS_H
#define ED_SINK_REDIS_H

#include "actors/ed_payload.h"
#include "config/ed_config.h"
#include "runtime/ed_buf.h"

/* How a row writes its member's score (`score_mode`). */
typedef enum {
    ED_REDIS_SCORE_AUTO = 0, /* set for windowed aggregations and non-additive scores,
                                increment for cumulative additive ones (the link resolves it) */
    ED_REDIS_SCORE_SET,      /* ZADD the aggregator's current value */
    ED_REDIS_SCORE_INCREMENT /* ZINCRBY the delta (additive scores only) */
} ed_redis_score_mode_t;

typedef struct {
    char *url;      /* redis://[[user]:password@]host[:port][/db] */
    char *zset;     /* sorted-set key template ("top:{doc}", "top:{window_start}") */
    char *member;   /* member template; the link sets the default (key columns not in zset) */
    char *score;    /* compute name; the link sets the default (the first compute) */
    int keep_top;   /* trim each sorted set to its top N after a flush; 0 = keep all */
    int64_t ttl_ms; /* expiry (PEXPIRE) of every sorted set written, with each write; 0 = none */
    int score_mode; /* ed_redis_score_mode_t; the link turns AUTO into SET or INCREMENT */
} ed_sink_redis_opts_t;

/* Placeholders of the templates beside the key columns: the window bounds
 * of a windowed aggregation, as ms since the epoch. */
#define ED_REDIS_WINDOW_START "window_start"
#define ED_REDIS_WINDOW_END "window_end"

/* ---- templates (ed_sink_redis_tmpl.c) ---- */

/* What a template segment stands for, beside key part numbers (>= 0). */
enum {
    ED_REDIS_SEG_TEXT = -1,   /* literal text */
    ED_REDIS_SEG_WSTART = -2, /* {window_start}: the row's window start, decimal ms */
    ED_REDIS_SEG_WEND = -3,   /* {window_end}: the row's window end, decimal ms */
};

/* One segment: literal text (pointing into the template text) or a
 * placeholder (key part index or ED_REDIS_SEG_W*). */
typedef struct {
    int part;
    const char *text;
    size_t len;
} ed_redis_seg_t;

/* A compiled template. */
typedef struct {
    ed_redis_seg_t *segs; /* owned */
    int nsegs;
} ed_redis_tmpl_t;

/* Compiles `text` (which must outlive t: segments point into it) for
 * aggregation agg: `{COLUMN}` names a key column, `{window_start}` /
 * `{window_end}` a window bound (windowed aggregations only). Returns 0, or
 * ED_EINVAL with errstr naming sink, `what` ("zset", "member"), the
 * placeholder and the names expected (t is then empty). */
int ed_redis_tmpl_parse(ed_redis_tmpl_t *t, const char *text, const ed_conf_aggregation_t *agg,
                        const char *sink, const char *what, char *errstr, size_t errstr_size);

/* 1 if t has a placeholder for `part` (a key part index or ED_REDIS_SEG_W*). */
int ed_redis_tmpl_uses(const ed_redis_tmpl_t *t, int part);

/* Appends t expanded for changelog row c to b (key parts as their bytes,
 * window bounds as decimal ms since the epoch). */
void ed_redis_tmpl_expand(const ed_redis_tmpl_t *t, ed_buf_t *b, const ed_change_t *c);

/* Frees t's segments (t itself is the caller's). */
void ed_redis_tmpl_free(ed_redis_tmpl_t *t);

/* ---- config (ed_sink_redis_conf.c) ---- */

/* The config map of the options (terminated by a NULL name). */
extern const ed_conf_map_t ed_sink_redis_map[];

/* The plugin's validate and link (see ed_conf_plugin_t). */
int ed_sink_redis_validate(ed_conf_check_t *ck, void *opts);
int ed_sink_redis_link(ed_conf_check_t *ck, void *opts, const ed_conf_aggregation_t *agg);

/* What `eddy check` shows: the URL without credentials, then the other
 * options (see ed_conf_plugin_t.describe). */
void ed_sink_redis_describe(const void *opts, ed_buf_t *out);

#endif
