/* ed_redis_fence.c — see ed_redis_fence.h. */
#include "sinks/ed_redis_fence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/decode/ed_hash.h"
#include "runtime/ed_common.h"

/* KEYS[1] the fence, KEYS[1 + j] the set of row j; ARGV[1..6] id, chunk,
 * nchunks, positions, op, ttl; then member and score per row. Row commands
 * run with pcall: a refused row (WRONGTYPE) is counted, not retried, and
 * does not stop the others — Redis has no rollback, and a script that
 * raised after some writes would leave them applied without the fence
 * advancing. The fence is read before any write and advanced after the
 * rows, in the same atomic run. Ids travel as the strings they came in
 * (Lua numbers would print large ids as 1e+15). */
const char ed_redis_fence_lua[] =
    "local f = KEYS[1]\n"
    "local id, k, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local st = redis.call('HMGET', f, 'id', 'pend_id', 'pend_done', 'pend_n')\n"
    "if id <= (tonumber(st[1]) or 0) then return {0, 0, '', 0} end\n"
    "local pid, pdone, pn = tonumber(st[2]) or 0, tonumber(st[3]) or 0, tonumber(st[4]) or 0\n"
    "local replaced = 0\n"
    "if pid == id then\n"
    "  if k < pdone then return {0, 0, '', 0} end\n"
    "  if k > pdone or n ~= pn then\n"
    "    return redis.error_reply('EDDYFENCE flush ' .. ARGV[1] .. ' chunk ' .. ARGV[2] ..\n"
    "      ' of ' .. ARGV[3] .. ' offered, but the fence holds ' .. pdone .. ' of ' .. pn ..\n"
    "      ' applied')\n"
    "  end\n"
    "elseif k ~= 0 then\n"
    "  return redis.error_reply('EDDYFENCE flush ' .. ARGV[1] .. ' chunk ' .. ARGV[2] ..\n"
    "    ' offered before its chunk 0')\n"
    "elseif pid ~= 0 then\n"
    "  replaced = pid\n"
    "end\n"
    "local op, ttl = ARGV[5], ARGV[6]\n"
    "local failed, first, seen = 0, '', {}\n"
    "for j = 1, #KEYS - 1 do\n"
    "  local z, m, s = KEYS[1 + j], ARGV[5 + 2 * j], ARGV[6 + 2 * j]\n"
    "  local r\n"
    "  if op == 'ZINCRBY' then r = redis.pcall('ZINCRBY', z, s, m)\n"
    "  elseif op == 'ZADD' then r = redis.pcall('ZADD', z, s, m)\n"
    "  else r = redis.pcall('ZADD', z, op, s, m) end\n"
    "  if type(r) == 'table' and r.err then\n"
    "    failed = failed + 1\n"
    "    if first == '' then first = r.err end\n"
    "  elseif ttl ~= '' and not seen[z] then\n"
    "    seen[z] = true\n"
    "    redis.pcall('PEXPIRE', z, ttl)\n"
    "  end\n"
    "end\n"
    "if k + 1 == n then\n"
    "  redis.call('HSET', f, 'id', ARGV[1], 'positions', ARGV[4])\n"
    "  redis.call('HDEL', f, 'pend_id', 'pend_done', 'pend_n', 'pend_positions')\n"
    "else\n"
    "  redis.call('HSET', f, 'pend_id', ARGV[1], 'pend_done', tostring(k + 1), 'pend_n',\n"
    "    ARGV[3], 'pend_positions', ARGV[4])\n"
    "end\n"
    "return {1, failed, first, replaced}\n";

void ed_redis_fence_key(ed_buf_t *b, const char *pipeline, const char *sink, const char *zset) {
    ed_buf_printf(b, "eddy:eo:%s:%s:%s", pipeline, sink, zset);
}

void ed_redis_fence_clear(ed_redis_fence_t *f) {
    free(f->positions);
    free(f->pend_positions);
    memset(f, 0, sizeof *f);
}

static uint64_t s_u64(const redisReply *e) {
    return e && e->type == REDIS_REPLY_STRING ? strtoull(e->str, NULL, 10) : 0;
}

static char *s_str(const redisReply *e) {
    return e && e->type == REDIS_REPLY_STRING ? ed_strdup(e->str) : NULL;
}

/* -1 for an I/O error (rep NULL), -2 for an error reply; errstr says which. */
static int s_fail(redisContext *rc, redisReply *rep, const char *what, char *errstr,
                  size_t errstr_size) {
    if (!rep) {
        snprintf(errstr, errstr_size, "%s: %s", what,
                 rc->err && rc->errstr[0] ? rc->errstr : "I/O error");
        return -1;
    }
    snprintf(errstr, errstr_size, "%s: %s", what,
             rep->type == REDIS_REPLY_ERROR && rep->str ? rep->str : "unexpected reply");
    freeReplyObject(rep);
    return -2;
}

int ed_redis_fence_read(redisContext *rc, const char *key, ed_redis_fence_t *f, char *errstr,
                        size_t errstr_size) {
    memset(f, 0, sizeof *f);
    const char *argv[] = {"HMGET",  key,       "id",     "positions",
                          "pend_id", "pend_done", "pend_n", "pend_positions"};
    redisReply *rep = redisCommandArgv(rc, 8, argv, NULL);
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 6)
        return s_fail(rc, rep, "HMGET of the exactly_once fence", errstr, errstr_size);
    f->id = s_u64(rep->element[0]);
    f->positions = f->id ? s_str(rep->element[1]) : NULL;
    f->pend_id = s_u64(rep->element[2]);
    f->pend_done = s_u64(rep->element[3]);
    f->pend_n = s_u64(rep->element[4]);
    f->pend_positions = f->pend_id ? s_str(rep->element[5]) : NULL;
    if (f->id && !f->positions)
        f->positions = ed_strdup("");
    if (f->pend_id && !f->pend_positions)
        f->pend_positions = ed_strdup("");
    freeReplyObject(rep);
    return 0;
}

void ed_redis_fence_order(const char *arena, const size_t *off, size_t nrows, size_t n,
                          uint32_t *chunk_of, const char **argv, size_t *argl, size_t *start) {
    memset(start, 0, (n + 1) * sizeof *start);
    for (size_t i = 0; i < nrows; i++) {
        const size_t *o = &off[3 * i];
        uint64_t h = ed_hash64(arena + o[0], o[1] - o[0]) * 31 +
                     ed_hash64(arena + o[1], o[2] - o[1]);
        chunk_of[i] = (uint32_t)(h % n);
        start[chunk_of[i] + 1]++;
    }
    for (size_t k = 0; k < n; k++)
        start[k + 1] += start[k];
    size_t *at = ed_malloc((n + 1) * sizeof *at); /* the next free row of each chunk */
    memcpy(at, start, (n + 1) * sizeof *at);
    for (size_t i = 0; i < nrows; i++) {
        const size_t *o = &off[3 * i];
        size_t j = 3 * at[chunk_of[i]]++;
        for (int f = 0; f < 3; f++) {
            argv[j + f] = arena + o[f];
            argl[j + f] = o[f + 1] - o[f];
        }
    }
    free(at);
}

/* SCRIPT LOAD into sha. */
static int s_load(redisContext *rc, char sha[41], char *errstr, size_t errstr_size) {
    const char *argv[] = {"SCRIPT", "LOAD", ed_redis_fence_lua};
    redisReply *rep = redisCommandArgv(rc, 3, argv, NULL);
    if (!rep || rep->type != REDIS_REPLY_STRING || rep->len != 40)
        return s_fail(rc, rep, "SCRIPT LOAD of the exactly_once fence", errstr, errstr_size);
    memcpy(sha, rep->str, 40);
    sha[40] = '\0';
    freeReplyObject(rep);
    return 0;
}

int ed_redis_fence_apply(redisContext *rc, char sha[41], const ed_redis_fence_chunk_t *c,
                         ed_redis_fence_res_t *res, uint64_t *statements, char *errstr,
                         size_t errstr_size) {
    memset(res, 0, sizeof *res);
    if (!sha[0]) {
        int rc_load = s_load(rc, sha, errstr, errstr_size);
        if (rc_load)
            return rc_load;
        ++*statements;
    }
    char id[24], chunk[24], n[24], nkeys[24];
    snprintf(id, sizeof id, "%llu", (unsigned long long)c->id);
    snprintf(chunk, sizeof chunk, "%llu", (unsigned long long)c->chunk);
    snprintf(n, sizeof n, "%llu", (unsigned long long)c->nchunks);
    snprintf(nkeys, sizeof nkeys, "%zu", c->nrows + 1);
    size_t argc = 3 + 1 + c->nrows + 6 + 2 * c->nrows;
    const char **argv = ed_malloc(argc * sizeof *argv);
    size_t *argl = ed_malloc(argc * sizeof *argl);
    size_t a = 0;
#define S_ARG(p, l) (argv[a] = (p), argl[a] = (l), a++)
    S_ARG("EVALSHA", 7);
    S_ARG(sha, 40);
    S_ARG(nkeys, strlen(nkeys));
    S_ARG(c->key, strlen(c->key));
    for (size_t i = 0; i < c->nrows; i++)
        S_ARG(c->argv[3 * i], c->argl[3 * i]);
    S_ARG(id, strlen(id));
    S_ARG(chunk, strlen(chunk));
    S_ARG(n, strlen(n));
    S_ARG(c->positions, strlen(c->positions));
    S_ARG(c->op, strlen(c->op));
    S_ARG(c->ttl, strlen(c->ttl));
    for (size_t i = 0; i < c->nrows; i++) {
        S_ARG(c->argv[3 * i + 1], c->argl[3 * i + 1]);
        S_ARG(c->argv[3 * i + 2], c->argl[3 * i + 2]);
    }
#undef S_ARG
    redisReply *rep = redisCommandArgv(rc, (int)argc, argv, argl);
    ++*statements;
    if (rep && rep->type == REDIS_REPLY_ERROR && rep->str && !strncmp(rep->str, "NOSCRIPT", 8)) {
        /* The server restarted or SCRIPT FLUSH ran: send the body (EVAL caches
         * it again) and load it anew on the next chunk. */
        freeReplyObject(rep);
        argv[0] = "EVAL";
        argl[0] = 4;
        argv[1] = ed_redis_fence_lua;
        argl[1] = strlen(ed_redis_fence_lua);
        sha[0] = '\0';
        rep = redisCommandArgv(rc, (int)argc, argv, argl);
        ++*statements;
    }
    free(argv);
    free(argl);
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 4 ||
        rep->element[0]->type != REDIS_REPLY_INTEGER)
        return s_fail(rc, rep, "the exactly_once fence script", errstr, errstr_size);
    res->applied = rep->element[0]->integer == 1;
    res->failed = (uint64_t)rep->element[1]->integer;
    if (rep->element[2]->type == REDIS_REPLY_STRING)
        snprintf(res->err, sizeof res->err, "%s", rep->element[2]->str);
    res->replaced = (uint64_t)rep->element[3]->integer;
    freeReplyObject(rep);
    return 0;
}
