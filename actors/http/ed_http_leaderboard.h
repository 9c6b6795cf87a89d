/*
 * ed_http_leaderboard.h — GET /v1/leaderboard: the top of a redis sink's
 * sorted set, for the dashboard (docs/http.md#v1leaderboard).
 *
 *   /v1/leaderboard?sink=NAME[&key=KEY][&rows=N]
 *
 * NAME is a redis sink of the pipeline. Without `key` the sorted set read
 * is the sink's `zset:` key when it has no placeholders, else the newest
 * key matching it with each `{…}` as `*` (as `eddy top PATTERN` follows
 * windows: actors/top/ed_top_board.h, ed_top_key_newer). A `key` must match
 * that pattern: the endpoint reads the sink's own sorted sets, nothing
 * else. rows: 1..1000, default 10.
 *
 * Each request opens its own Redis connection (the sink's url; hiredis,
 * 2000 ms bound on the connect and each reply, actors/top/ed_top_fetch.h),
 * on the HTTP server's thread: the sink's connection and the workers are
 * never touched. Answers 200 with
 *   {"sink", "pattern", "key" (null when nothing matches yet), "card",
 *    "ttl_ms" (-1 none, -2 no such key), "at_ms" (Unix ms),
 *    "rows": [{"rank", "member", "score" (as Redis wrote it)}]}
 * 400 for a missing or bad argument or a sink that is not redis, 404 for
 * an unknown sink or a key outside the sink's, 502 when Redis cannot be
 * read (the error names the server, never its password).
 */
#ifndef ED_HTTP_LEADERBOARD_H
#define ED_HTTP_LEADERBOARD_H

#include "actors/ed_plan.h"
#include "actors/http/ed_http.h"

#define ED_HTTP_LEADERBOARD_MAX_ROWS 1000
#define ED_HTTP_LEADERBOARD_TIMEOUT_MS 2000

/* Registers /v1/leaderboard on h for the sinks of plan (borrowed; must
 * outlive the server). Returns 0 or ED_EINVAL (route taken). */
int ed_http_leaderboard_route(ed_http_t *h, ed_plan_t *plan);

/* Writes to out (size bytes) the Redis MATCH pattern of a zset template:
 * each {placeholder} becomes '*', and '*', '?', '[', ']' and '\' of the
 * literal text are escaped with '\'. Returns 1 if the template had a
 * placeholder, else 0 (the pattern then names one key). */
int ed_http_zset_pattern(const char *tmpl, char *out, size_t size);

#endif
