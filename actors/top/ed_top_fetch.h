/*
 * ed_top_fetch.h — reads `eddy top` boards from Redis (hiredis, blocking
 * calls bounded by a timeout).
 *
 * One refresh: for each pattern board, SCAN … MATCH pattern TYPE zset
 * (never KEYS) to find the newest matching sorted set (ed_top_key_newer);
 * then, pipelined in one round trip, ZREVRANGE key 0 rows-1 WITHSCORES,
 * ZCARD and PTTL for every board. A pass over a large keyspace may span
 * several refreshes (scan_budget): the key followed switches as soon as a
 * newer one is seen, and falls back to an older one only when a complete
 * pass no longer sees it (its window expired or was deleted).
 */
#ifndef ED_TOP_FETCH_H
#define ED_TOP_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "actors/top/ed_top_board.h"
#include "sinks/ed_redis_conn.h"

typedef struct ed_top_conn ed_top_conn_t;

/* Returns a connection object for `addr` (copied, password included);
 * nothing is connected until the first refresh. timeout_ms bounds the
 * connect and every reply. Never NULL. */
ed_top_conn_t *ed_top_conn_new(const ed_redis_addr_t *addr, int timeout_ms);

/* Closes the connection, frees it and NULLs *c_p. NULL: no-op. */
void ed_top_conn_destroy(ed_top_conn_t **c_p);

/* "redis HOST:PORT/DB" (borrowed; no password). */
const char *ed_top_conn_addr(const ed_top_conn_t *c);

/* Refreshes every board: connects first when not connected, runs at most
 * scan_budget SCAN calls per pattern board (0: until its pass is complete,
 * as --once needs), then reads the top `rows` of every board, stamping the
 * snapshots with now_ms (monotonic). A board whose key the server refuses
 * to read (WRONGTYPE) gets b->err and keeps its last good snapshot.
 * Returns 0 when the server answered, or ED_EIO with errstr saying what
 * failed ("cannot connect: Connection refused", "connection lost: …", "no
 * answer within 2000 ms"); the connection is then closed (the next call
 * reconnects) and every board keeps its last good snapshot. */
int ed_top_refresh(ed_top_conn_t *c, ed_top_board_t **boards, int nboards, int rows,
                   int scan_budget, int64_t now_ms, char *errstr, size_t errstr_size);

#endif
