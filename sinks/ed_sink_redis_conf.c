/*
 * ed_sink_redis_conf.c — the redis sink's options (see ed_sink_redis.h):
 * its config map, and the checks of its templates and score against the
 * aggregation that feeds it, with their defaults. Kept apart from
 * ed_sink_redis.c so that each file stays under 800 lines.
 */
#define _GNU_SOURCE
#include "sinks/ed_sink_redis.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/aggregate/ed_aggfn.h"
#include "runtime/ed_buf.h"
#include "runtime/ed_common.h"
#include "sinks/ed_sink.h"

static const ed_conf_choice_t s_score_modes[] = {
    {"auto", ED_REDIS_SCORE_AUTO, 0},
    {"set", ED_REDIS_SCORE_SET, 0},
    {"increment", ED_REDIS_SCORE_INCREMENT, 0},
    {NULL, 0, 0}};

const ed_conf_map_t ed_sink_redis_map[] = {
    {ED_CONF_STR, "url", "redis://127.0.0.1:6379", offsetof(ed_sink_redis_opts_t, url),
     ED_CONF_SECRET,
     "the server: `redis://[[user]:password@]host[:port][/db]`; with a user, AUTH is sent as "
     "`AUTH user password` (a Redis 6 ACL user), else as `AUTH password`",
     .expect = "redis://host:port[/db]"},
    {ED_CONF_STR, "zset", NULL, offsetof(ed_sink_redis_opts_t, zset),
     ED_CONF_REQUIRED | ED_CONF_OUTER,
     "sorted-set key template, e.g. `top:words`, `top:words:{doc}` or "
     "`top:products:{window_start}`: `{COLUMN}` placeholders name key columns of the feeding "
     "aggregation, `{window_start}` and `{window_end}` the window's bounds (ms since the epoch) "
     "of a windowed one",
     .expect = "sorted-set key, e.g. top:words or top:words:{doc}"},
    {ED_CONF_STR, "member", NULL, offsetof(ed_sink_redis_opts_t, member), ED_CONF_OUTER,
     "member template, e.g. `{word}`; must be set if `zset` uses every key column",
     .expect = "a member template, e.g. {word}",
     .doc_def = "the key columns not used in `zset`, as `{a}:{b}`"},
    {ED_CONF_STR, "score", NULL, offsetof(ed_sink_redis_opts_t, score), ED_CONF_OUTER,
     "the compute written as the member's score", .expect = "a compute name of the aggregation",
     .doc_def = "the aggregation's first compute"},
    {ED_CONF_ENUM, "score_mode", "auto", offsetof(ed_sink_redis_opts_t, score_mode),
     ED_CONF_OUTER,
     "how a row writes its score: `set` (ZADD the aggregator's current value: exact top-N "
     "with `keep_top` when one process owns each key), `increment` (ZINCRBY the delta: "
     "processes of one consumer group add up; `count`/`sum` only), `auto` (`set` for a "
     "windowed aggregation or a non-additive score, else `increment`)",
     .choices = s_score_modes},
    {ED_CONF_INT, "keep_top", "0", offsetof(ed_sink_redis_opts_t, keep_top), ED_CONF_OUTER,
     "after a flush, trim each sorted set to its top N; `0` keeps all", .min = 0},
    {ED_CONF_DURATION, "ttl", "0", offsetof(ed_sink_redis_opts_t, ttl_ms), ED_CONF_OUTER,
     "expiry of each sorted set, set again with every write to it (PEXPIRE in the same "
     "MULTI/EXEC); `0` keeps sets forever",
     .min = 0, .doc_def = "`0` (none)"},
    {0}};

int ed_sink_redis_validate(ed_conf_check_t *ck, void *opts) {
    ed_sink_redis_opts_t *o = opts;
    int rc = 0;
    if (o->url && strncmp(o->url, "redis://", 8))
        rc = ed_conf_check_err(ck, "url", "invalid 'url' in %s; expected redis://host:port[/db]",
                               ed_conf_check_where(ck, "url"));
    if (o->zset && ed_conf_check_template(ck, "zset", o->zset) < 0)
        rc = ED_EINVAL;
    if (o->member && ed_conf_check_template(ck, "member", o->member) < 0)
        rc = ED_EINVAL;
    return rc;
}

/* 1 if the len bytes at p name a window bound placeholder. */
static int s_is_window(const char *p, size_t len) {
    return (len == strlen(ED_REDIS_WINDOW_START) && !strncmp(p, ED_REDIS_WINDOW_START, len)) ||
           (len == strlen(ED_REDIS_WINDOW_END) && !strncmp(p, ED_REDIS_WINDOW_END, len));
}

/* Checks the {column} placeholders of template `key` against the key
 * columns of a (and the window bounds of a windowed a); marks the columns
 * used, and sets *window if a bound is used. */
static int s_template_cols(ed_conf_check_t *ck, const char *key, const char *t,
                           const ed_conf_aggregation_t *a, int *used, int *window) {
    int windowed = ed_sink_windowed(a);
    for (const char *p = strchr(t, '{'); p; p = strchr(p, '{')) {
        const char *close = strchr(p, '}');
        size_t len = (size_t)(close - p - 1);
        int found = -1;
        for (int i = 0; i < a->nkey; i++)
            if (strlen(a->key[i].column) == len && !strncmp(a->key[i].column, p + 1, len))
                found = i;
        if (found < 0 && s_is_window(p + 1, len)) {
            if (!windowed)
                return ed_conf_check_err(ck, key,
                                         "placeholder '%.*s' in '%s' of sink '%s' is a window "
                                         "bound, but aggregation '%s' has no window; expected "
                                         "key columns only, or a `window:` in the aggregation",
                                         (int)len + 2, p, key, ed_conf_check_name(ck), a->name);
            *window = 1;
            p = close;
            continue;
        }
        if (found < 0) {
            ed_buf_t b = ED_BUF_INIT;
            for (int i = 0; i < a->nkey; i++)
                ed_buf_printf(&b, "%s%s", i ? ", " : "", a->key[i].column);
            if (windowed)
                ed_buf_printf(&b, ", %s, %s", ED_REDIS_WINDOW_START, ED_REDIS_WINDOW_END);
            int rc = ed_conf_check_err(ck, key,
                                       "placeholder '%.*s' in '%s' of sink '%s' is not a key "
                                       "column of aggregation '%s'; expected one of: %s",
                                       (int)len + 2, p, key, ed_conf_check_name(ck), a->name,
                                       b.data ? b.data : "");
            ed_buf_free(&b);
            return rc;
        }
        used[found] = 1;
        p = close;
    }
    return 0;
}

/* Resolves score_mode for the score's function `fn` of aggregation a. */
static int s_score_mode(ed_conf_check_t *ck, ed_sink_redis_opts_t *o,
                        const ed_conf_aggregation_t *a, const ed_aggfn_t *fn) {
    if (o->score_mode == ED_REDIS_SCORE_INCREMENT && !fn->additive)
        return ed_conf_check_err(ck, "score_mode",
                                 "score_mode 'increment' of sink '%s' adds deltas, but score "
                                 "'%s' is %s, whose deltas do not add up; expected 'set' (or "
                                 "'auto'), or a count or sum as the score",
                                 ed_conf_check_name(ck), o->score, fn->name);
    if (o->score_mode == ED_REDIS_SCORE_AUTO)
        o->score_mode = ed_sink_windowed(a) || !fn->additive ? ED_REDIS_SCORE_SET
                                                              : ED_REDIS_SCORE_INCREMENT;
    /* A restart under exactly_once starts the aggregators empty (no
     * state_dir): a set score then is what was counted since the replay
     * started. max and min are written with ZADD GT / LT, which keep the
     * true one; the others cannot be. */
    if (o->score_mode == ED_REDIS_SCORE_SET && ed_conf_check_exactly_once(ck) &&
        strcmp(fn->name, "max") && strcmp(fn->name, "min"))
        return ed_conf_check_err(ck, "score_mode",
                                 "score_mode 'set' of sink '%s' with runtime.delivery: "
                                 "exactly_once is built for max and min scores only, not %s "
                                 "(after a restart the aggregator's value covers only the "
                                 "replayed input); expected score_mode 'increment' with a count "
                                 "or sum, a max or min score, or `delivery: at_least_once`",
                                 ed_conf_check_name(ck), fn->name);
    return 0;
}

int ed_sink_redis_link(ed_conf_check_t *ck, void *opts, const ed_conf_aggregation_t *a) {
    ed_sink_redis_opts_t *o = opts;
    const char *name = ed_conf_check_name(ck);
    int *used = ed_calloc((size_t)a->nkey + 1, sizeof *used);
    int window = 0;
    int rc = o->zset ? s_template_cols(ck, "zset", o->zset, a, used, &window) : 0;
    if (rc < 0)
        goto out;
    if (o->member) {
        int *mused = ed_calloc((size_t)a->nkey + 1, sizeof *mused);
        rc = s_template_cols(ck, "member", o->member, a, mused, &window);
        free(mused);
        if (rc < 0)
            goto out;
    }
    if (o->zset && ed_sink_windowed(a) && !window) {
        /* Without the window in the set or the member, the rows of all the
         * windows of a key would write one member over one another. */
        rc = ed_conf_check_err(ck, "zset",
                               "aggregation '%s' is windowed, but neither 'zset' nor 'member' "
                               "of sink '%s' names its window; expected {window_start} (or "
                               "{window_end}) in one of them, e.g. zset: \"%s:{window_start}\"",
                               a->name, name, o->zset);
        goto out;
    }
    if (!o->member) {
        /* Default member: the key columns the zset name does not already
         * carry, so each sorted set ranks what varies within it. */
        ed_buf_t b = ED_BUF_INIT;
        for (int i = 0; i < a->nkey; i++)
            if (!used[i])
                ed_buf_printf(&b, "%s{%s}", b.len ? ":" : "", a->key[i].column);
        if (!b.len) {
            rc = ed_conf_check_err(ck, "member",
                                   "every key column of aggregation '%s' is used in 'zset' of "
                                   "sink '%s', so members would be empty; expected 'member' set, "
                                   "or fewer placeholders in 'zset'",
                                   a->name, name);
            goto out;
        }
        o->member = b.data;
    }
    if (!o->score) {
        o->score = ed_strdup(a->compute[0].name);
        rc = s_score_mode(ck, o, a, a->compute[0].fn);
        goto out;
    }
    int found = -1;
    for (int i = 0; i < a->ncompute; i++)
        if (!strcmp(a->compute[i].name, o->score))
            found = i;
    if (found >= 0) {
        rc = s_score_mode(ck, o, a, a->compute[found].fn);
    } else {
        const char **names = ed_calloc((size_t)a->ncompute + 1, sizeof *names);
        for (int i = 0; i < a->ncompute; i++)
            names[i] = a->compute[i].name;
        ed_buf_t b = ED_BUF_INIT;
        for (int i = 0; i < a->ncompute; i++)
            ed_buf_printf(&b, "%s%s", i ? ", " : "", names[i]);
        ed_conf_check_suggest(&b, o->score, names, a->ncompute);
        rc = ed_conf_check_err(ck, "score",
                               "score '%s' of sink '%s' is not computed by aggregation '%s'; "
                               "expected one of its compute names: %s",
                               o->score, name, a->name, b.data);
        ed_buf_free(&b);
        free(names);
    }
out:
    free(used);
    return rc;
}

void ed_sink_redis_describe(const void *opts, ed_buf_t *out) {
    const ed_sink_redis_opts_t *o = opts;
    if (o->url) {
        /* The URL without its credentials. */
        const char *p = !strncmp(o->url, "redis://", 8) ? o->url + 8 : o->url;
        const char *at = strrchr(p, '@');
        ed_buf_printf(out, "%surl=redis://%s", out->len ? " " : "", at ? at + 1 : p);
    }
    ed_conf_map_describe(ed_sink_redis_map, o, out);
}
