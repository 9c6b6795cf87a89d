/*
 * ed_sink_redis.h — the options of the redis sink, shared by its two files:
 * ed_sink_redis_conf.c (the config map, its checks against the feeding
 * aggregation) and ed_sink_redis.c (writing sorted sets). Not used
 * elsewhere: the type is found by name in the sink registry.
 */
#ifndef ED_SINK_REDIS_H
#define ED_SINK_REDIS_H

#include "config/ed_config.h"

typedef struct {
    char *url;    /* redis://[[user]:password@]host[:port][/db] */
    char *zset;   /* sorted-set key template ("top:{doc}") */
    char *member; /* member template; the link sets the default (key columns not in zset) */
    char *score;  /* compute name; the link sets the default (the first compute) */
    int keep_top; /* trim each sorted set to its top N after a flush; 0 = keep all */
} ed_sink_redis_opts_t;

/* The config map of the options (terminated by a NULL name). */
extern const ed_conf_map_t ed_sink_redis_map[];

/* The plugin's validate and link (see ed_conf_plugin_t). */
int ed_sink_redis_validate(ed_conf_check_t *ck, void *opts);
int ed_sink_redis_link(ed_conf_check_t *ck, void *opts, const ed_conf_aggregation_t *agg);

/* What `eddy check` shows: the URL without credentials, then the other
 * options (see ed_conf_plugin_t.describe). */
void ed_sink_redis_describe(const void *opts, ed_buf_t *out);

#endif
