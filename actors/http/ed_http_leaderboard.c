/* ed_http_leaderboard.c — see ed_http_leaderboard.h. */
#define _GNU_SOURCE
#include "actors/http/ed_http_leaderboard.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/top/ed_top_board.h"
#include "actors/top/ed_top_fetch.h"
#include "runtime/ed_common.h"
#include "sinks/ed_redis_conn.h"
#include "sinks/ed_sink_redis.h"

int ed_http_zset_pattern(const char *tmpl, char *out, size_t size) {
    size_t n = 0;
    int any = 0;
    for (const char *p = tmpl; *p && n + 3 < size; p++) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        if (close) {
            out[n++] = '*';
            any = 1;
            p = close;
            continue;
        }
        if (strchr("*?[]\\", *p))
            out[n++] = '\\';
        out[n++] = *p;
    }
    out[n] = 0;
    return any;
}

/* The redis sinks, "a, b", for messages. */
static void s_redis_sinks(const ed_config_t *conf, char *out, size_t size) {
    size_t n = 0;
    out[0] = 0;
    for (int k = 0; k < conf->nsinks; k++)
        if (!strcmp(conf->sinks[k].type->name, "redis"))
            n += (size_t)snprintf(out + n, n < size ? size - n : 0, "%s%s", n ? ", " : "",
                                  conf->sinks[k].name);
    if (!out[0])
        snprintf(out, size, "(none)");
}

/* Escapes the glob characters of a literal key, for ed_top_board_new. */
static char *s_escape(const char *key) {
    char *out = ed_malloc(strlen(key) * 2 + 1), *o = out;
    for (const char *p = key; *p; p++) {
        if (strchr("*?[]\\", *p))
            *o++ = '\\';
        *o++ = *p;
    }
    *o = 0;
    return out;
}

/* Writes the board's snapshot as the answer's JSON. */
static void s_json(ed_buf_t *b, const char *sink, const char *pattern, const ed_top_board_t *bd) {
    const ed_top_snap_t *s = &bd->cur;
    ed_buf_puts(b, "{\"sink\":");
    ed_buf_json_str(b, sink, strlen(sink));
    ed_buf_puts(b, ",\"pattern\":");
    ed_buf_json_str(b, pattern, strlen(pattern));
    ed_buf_puts(b, ",\"key\":");
    if (s->key)
        ed_buf_json_str(b, s->key, s->key_len);
    else
        ed_buf_puts(b, "null");
    ed_buf_printf(b, ",\"card\":%lld,\"ttl_ms\":%lld,\"at_ms\":%lld,\"rows\":[", s->card,
                  s->pttl_ms, (long long)ed_wall_ms());
    for (size_t i = 0; i < s->n; i++) {
        ed_buf_printf(b, "%s{\"rank\":%zu,\"member\":", i ? "," : "", i + 1);
        ed_buf_json_str(b, s->v[i].member, s->v[i].len);
        ed_buf_puts(b, ",\"score\":");
        ed_buf_json_str(b, s->v[i].score, strlen(s->v[i].score));
        ed_buf_puts(b, "}");
    }
    ed_buf_puts(b, "]}\n");
}

static void s_leaderboard(void *ud, const ed_http_req_t *req, ed_http_resp_t *resp) {
    const ed_config_t *conf = ed_plan_config(ud);
    const char *name = ed_http_req_arg(req, "sink"), *key = ed_http_req_arg(req, "key");
    const char *rows_s = ed_http_req_arg(req, "rows");
    char list[512];
    s_redis_sinks(conf, list, sizeof list);
    if (!name || !*name)
        return ed_http_error(resp, 400, "expected ?sink=NAME, a redis sink: %s", list);
    const ed_conf_sink_t *sk = NULL;
    for (int k = 0; k < conf->nsinks && !sk; k++)
        if (!strcmp(conf->sinks[k].name, name))
            sk = &conf->sinks[k];
    if (!sk)
        return ed_http_error(resp, 404, "no sink '%.100s' in this pipeline; redis sinks: %s",
                             name, list);
    if (strcmp(sk->type->name, "redis") != 0)
        return ed_http_error(resp, 400,
                             "sink '%.100s' is a %s sink; a leaderboard reads a redis sink: %s",
                             name, sk->type->name, list);
    long rows = 10;
    if (rows_s) {
        char *end = NULL;
        rows = strtol(rows_s, &end, 10);
        if (!*rows_s || *end || rows < 1 || rows > ED_HTTP_LEADERBOARD_MAX_ROWS)
            return ed_http_error(resp, 400, "invalid rows '%.40s'; expected 1 to %d", rows_s,
                                 ED_HTTP_LEADERBOARD_MAX_ROWS);
    }
    const ed_sink_redis_opts_t *o = sk->opts;
    char pattern[1024];
    ed_http_zset_pattern(o->zset, pattern, sizeof pattern);
    if (key && (!*key || fnmatch(pattern, key, 0) != 0))
        return ed_http_error(resp, 404,
                             "key '%.200s' is not one of sink '%s''s sorted sets; expected a key "
                             "matching %s",
                             key, name, pattern);
    char err[600];
    ed_redis_addr_t addr = {0};
    if (ed_redis_addr_parse(&addr, o->url, "redis.url", err, sizeof err) < 0)
        return ed_http_error(resp, 500, "sink '%s': %s", name, err);
    /* the newest key matching (or the one key the pattern names) */
    char *spec = key ? s_escape(key) : ed_strdup(pattern);
    ed_top_board_t *board = ed_top_board_new(spec);
    ed_top_conn_t *c = ed_top_conn_new(&addr, ED_HTTP_LEADERBOARD_TIMEOUT_MS);
    int rc = ed_top_refresh(c, &board, 1, (int)rows, 0, ed_now_ms(), err, sizeof err);
    if (rc < 0)
        ed_http_error(resp, 502, "sink '%s' (%s): %s", name, ed_top_conn_addr(c), err);
    else if (board->err[0])
        ed_http_error(resp, 502, "sink '%s' (%s): %s", name, ed_top_conn_addr(c), board->err);
    else {
        resp->content_type = "application/json";
        s_json(&resp->body, name, pattern, board);
    }
    ed_top_conn_destroy(&c);
    ed_top_board_destroy(&board);
    ed_redis_addr_clear(&addr);
    free(spec);
}

int ed_http_leaderboard_route(ed_http_t *h, ed_plan_t *plan) {
    return ed_http_route(h, "/v1/leaderboard", s_leaderboard, plan);
}
