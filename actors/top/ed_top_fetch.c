/*
 * ed_top_fetch.c — SCAN for patterns, pipelined reads of sorted sets.
 */
#include "actors/top/ed_top_fetch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ed_common.h"

struct ed_top_conn {
    ed_redis_addr_t addr;
    int timeout_ms;
    redisContext *rc;
    int scan_no_type; /* the server refused SCAN … TYPE (Redis < 6): scan without it */
};

ed_top_conn_t *ed_top_conn_new(const ed_redis_addr_t *addr, int timeout_ms) {
    ed_top_conn_t *c = ed_calloc(1, sizeof *c);
    c->addr = *addr;
    c->addr.password = addr->password ? ed_strdup(addr->password) : NULL;
    c->timeout_ms = timeout_ms;
    return c;
}

void ed_top_conn_destroy(ed_top_conn_t **c_p) {
    if (!c_p || !*c_p)
        return;
    ed_top_conn_t *c = *c_p;
    if (c->rc)
        redisFree(c->rc);
    ed_redis_addr_clear(&c->addr);
    free(c);
    *c_p = NULL;
}

const char *ed_top_conn_addr(const ed_top_conn_t *c) {
    return c->addr.addr;
}

/* Closes the connection after an I/O failure and says what happened. */
static int s_lost(ed_top_conn_t *c, char *errstr, size_t errstr_size) {
    int timed_out =
        c->rc && c->rc->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
    char msg[256];
    snprintf(msg, sizeof msg, "%s", c->rc && c->rc->errstr[0] ? c->rc->errstr : "I/O error");
    if (c->rc)
        redisFree(c->rc);
    c->rc = NULL;
    if (timed_out)
        return ed_seterr(errstr, errstr_size, ED_EIO, "no answer within %d ms", c->timeout_ms);
    return ed_seterr(errstr, errstr_size, ED_EIO, "connection lost: %s", msg);
}

static void s_set(char **dst, size_t *dst_len, const char *src, size_t len) {
    free(*dst);
    *dst = NULL;
    if (dst_len)
        *dst_len = 0;
    if (!src)
        return;
    *dst = ed_malloc(len + 1);
    memcpy(*dst, src, len);
    (*dst)[len] = 0;
    if (dst_len)
        *dst_len = len;
}

/* Advances the SCAN pass of one pattern board by up to `budget` calls (0: to
 * the end of the pass). Returns 0, 1 when the board got an error reply
 * (b->err set), or -1 on I/O failure. */
static int s_scan(ed_top_conn_t *c, ed_top_board_t *b, int budget) {
    for (int calls = 0; budget == 0 || calls < budget; calls++) {
        if (!b->cursor) { /* a new pass */
            s_set(&b->cursor, NULL, "0", 1);
            s_set(&b->cand, &b->cand_len, NULL, 0);
        }
        const char *argv[8] = {"SCAN",  b->cursor, "MATCH", b->spec,
                               "COUNT", "1000",    "TYPE",  "zset"};
        redisReply *rep = redisCommandArgv(c->rc, c->scan_no_type ? 6 : 8, argv, NULL);
        if (!rep)
            return -1;
        if (rep->type == REDIS_REPLY_ERROR && !c->scan_no_type) {
            freeReplyObject(rep);
            c->scan_no_type = 1; /* before Redis 6: keys of other types show WRONGTYPE */
            calls--;
            continue;
        }
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
            rep->element[0]->type != REDIS_REPLY_STRING ||
            rep->element[1]->type != REDIS_REPLY_ARRAY) {
            ed_top_board_fail(b, rep->type == REDIS_REPLY_ERROR && rep->str
                                     ? rep->str
                                     : "SCAN: unexpected reply from the server");
            freeReplyObject(rep);
            return 1;
        }
        redisReply *keys = rep->element[1];
        for (size_t i = 0; i < keys->elements; i++) {
            const redisReply *k = keys->element[i];
            if (k->type != REDIS_REPLY_STRING)
                continue;
            if (!b->cand || ed_top_key_newer(k->str, k->len, b->cand, b->cand_len))
                s_set(&b->cand, &b->cand_len, k->str, k->len);
        }
        int done = !strcmp(rep->element[0]->str, "0");
        s_set(&b->cursor, NULL, rep->element[0]->str, rep->element[0]->len);
        freeReplyObject(rep);
        if (done) { /* the pass saw every key: follow its newest, whatever we followed */
            s_set(&b->follow, &b->follow_len, b->cand, b->cand_len);
            s_set(&b->cursor, NULL, NULL, 0);
            s_set(&b->cand, &b->cand_len, NULL, 0);
            return 0;
        }
    }
    if (b->cand && (!b->follow || ed_top_key_newer(b->cand, b->cand_len, b->follow, b->follow_len)))
        s_set(&b->follow, &b->follow_len, b->cand, b->cand_len);
    return 0;
}

/* Reads the replies of one board's ZREVRANGE, ZCARD, PTTL into a snapshot.
 * Returns 0 (installed), 1 (error reply: b->err set) or -1 (I/O failure). */
static int s_read_board(ed_top_conn_t *c, ed_top_board_t *b, const char *key, size_t key_len,
                        int rows, int64_t now_ms) {
    redisReply *rep[3] = {0};
    for (int i = 0; i < 3; i++) {
        void *r = NULL;
        if (redisGetReply(c->rc, &r) != REDIS_OK) {
            for (int j = 0; j < i; j++)
                freeReplyObject(rep[j]);
            return -1;
        }
        rep[i] = r;
    }
    int rc = 0;
    for (int i = 0; i < 3 && !rc; i++)
        if (rep[i]->type == REDIS_REPLY_ERROR) {
            char why[256];
            snprintf(why, sizeof why, "%s", rep[i]->str ? rep[i]->str : "error");
            if (!strncmp(why, "WRONGTYPE", 9))
                snprintf(why, sizeof why, "WRONGTYPE: the key is not a sorted set");
            ed_top_board_fail(b, why);
            rc = 1;
        }
    if (!rc && (rep[0]->type != REDIS_REPLY_ARRAY || rep[0]->elements % 2 ||
                rep[1]->type != REDIS_REPLY_INTEGER || rep[2]->type != REDIS_REPLY_INTEGER)) {
        ed_top_board_fail(b, "unexpected reply from the server");
        rc = 1;
    }
    if (!rc) {
        ed_top_snap_t s = {0};
        if (key) {
            s.key = ed_malloc(key_len + 1);
            memcpy(s.key, key, key_len);
            s.key[key_len] = 0;
            s.key_len = key_len;
        }
        for (size_t i = 0; i + 1 < rep[0]->elements; i += 2) {
            const redisReply *m = rep[0]->element[i], *sc = rep[0]->element[i + 1];
            if (m->type == REDIS_REPLY_STRING && sc->type == REDIS_REPLY_STRING)
                ed_top_snap_add(&s, m->str, m->len, sc->str, sc->len);
        }
        s.asked = (size_t)rows;
        s.card = rep[1]->integer;
        s.pttl_ms = rep[2]->integer;
        s.at_ms = now_ms;
        ed_top_board_set(b, &s);
    }
    for (int i = 0; i < 3; i++)
        freeReplyObject(rep[i]);
    return rc;
}

int ed_top_refresh(ed_top_conn_t *c, ed_top_board_t **boards, int nboards, int rows,
                   int scan_budget, int64_t now_ms, char *errstr, size_t errstr_size) {
    if (!c->rc) {
        char msg[512];
        c->rc = ed_redis_open(&c->addr, "eddy-top", c->timeout_ms, msg, sizeof msg);
        if (!c->rc)
            return ed_seterr(errstr, errstr_size, ED_EIO, "%s", msg);
    }
    int *skip = ed_calloc((size_t)nboards, sizeof *skip);
    for (int i = 0; i < nboards; i++)
        if (boards[i]->is_pattern) {
            int r = s_scan(c, boards[i], scan_budget);
            if (r < 0) {
                free(skip);
                return s_lost(c, errstr, errstr_size);
            }
            skip[i] = r;
        }
    char stop[16];
    snprintf(stop, sizeof stop, "%d", rows - 1);
    for (int i = 0; i < nboards; i++) {
        ed_top_board_t *b = boards[i];
        if (skip[i])
            continue;
        if (b->is_pattern && !b->follow) { /* no sorted set matches (yet) */
            ed_top_snap_t s = {.asked = (size_t)rows, .pttl_ms = -2, .at_ms = now_ms};
            ed_top_board_set(b, &s);
            skip[i] = 1;
            continue;
        }
        const char *key = b->is_pattern ? b->follow : b->literal;
        size_t klen = b->is_pattern ? b->follow_len : b->literal_len;
        const char *zr[5] = {"ZREVRANGE", key, "0", stop, "WITHSCORES"};
        size_t zrl[5] = {9, klen, 1, strlen(stop), 10};
        const char *zc[2] = {"ZCARD", key}, *pt[2] = {"PTTL", key};
        size_t zcl[2] = {5, klen}, ptl[2] = {4, klen};
        redisAppendCommandArgv(c->rc, 5, zr, zrl);
        redisAppendCommandArgv(c->rc, 2, zc, zcl);
        redisAppendCommandArgv(c->rc, 2, pt, ptl);
    }
    int rc = 0;
    for (int i = 0; i < nboards && !rc; i++) {
        if (skip[i])
            continue;
        ed_top_board_t *b = boards[i];
        const char *key = b->is_pattern ? b->follow : b->literal;
        size_t klen = b->is_pattern ? b->follow_len : b->literal_len;
        if (s_read_board(c, b, key, klen, rows, now_ms) < 0)
            rc = -1;
    }
    free(skip);
    return rc ? s_lost(c, errstr, errstr_size) : 0;
}
