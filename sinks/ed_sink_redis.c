/*
 * ed_sink_redis.c — changelog rows → Redis sorted sets (hiredis 0.14), e.g.
 * a top-N leaderboard. See docs/sinks.md.
 *
 * A flush is written in chunks of `batch_rows` rows; each chunk is its own
 * pipelined MULTI … EXEC (one round trip): per row, as `score_mode` says,
 * ZADD of the aggregator's current value (set: replaces, so a member trimmed
 * by keep_top and seen again re-enters with its true score) or ZINCRBY of the
 * delta (increment: several eddy processes add up), then with `ttl` one
 * PEXPIRE per set the chunk wrote. Rows carry their window's bounds into the
 * templates ({window_start}, {window_end}, ms). When keep_top > 0,
 * ZREMRANGEBYRANK for every set the flush
 * touched follows in final chunk(s) of up to `batch_rows` trims. Why chunks
 * and not one transaction per flush: Redis queues a transaction in memory and
 * runs its EXEC without serving anyone else, so a 1M-row flush held the
 * server for seconds and timed out every other client; a 1000-row EXEC takes
 * a few milliseconds.
 *
 * Guarantee: each chunk is all or nothing (a connection lost before its EXEC
 * reached the server leaves nothing of it). The instance remembers, for the
 * checkpoint it is writing, how many chunks were EXEC'ed; a call after RETRY
 * for the same checkpoint resumes at the first chunk not yet applied, so a
 * failure mid-flush never applies a completed chunk twice, and a call for a
 * flush already complete applies nothing. The one chunk that can be applied
 * twice is the one in flight when the connection broke after its EXEC was
 * sent (its reply lost): it may or may not have run, and the retry sends it
 * again — at-least-once, at most one chunk per connection failure (harmless
 * with score_mode set: ZADD of a value is idempotent). The
 * progress is in memory only: a restarted eddy replays the un-acked
 * checkpoint from the sources and applies its chunks again. Readers may see a
 * flush half written (some chunks applied, trims not yet done).
 *
 * With runtime.delivery: exactly_once (flush->eo) each row chunk is instead
 * one Lua script through the sink's fence (sinks/ed_redis_fence.h): it
 * applies the chunk only if the fence says it is not applied yet and
 * advances the fence (checkpoint id, chunk index, positions) in the same
 * atomic run. Every write call reads the fence first, so a flush applied
 * before a restart is skipped whole, a flush applied in part resumes at its
 * first chunk not applied (the replay covers exactly its input: eo_pending),
 * and a chunk whose reply was lost is not applied twice. Rows go to chunks by
 * a hash of (zset, member), not by position: a replayed flush holds the same
 * rows, but not in the same order (the aggregators' batches race).
 */
#include "sinks/ed_sink.h"
#include "sinks/ed_sink_redis.h"
#include "sinks/ed_sink_rows.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "actors/ed_eo.h"
#include "runtime/ed_buf.h"
#include "sinks/ed_redis_conn.h"
#include "sinks/ed_redis_fence.h"

typedef struct {
    const ed_conf_sink_t *sink;
    const ed_sink_redis_opts_t *o; /* the sink's options */
    const ed_conf_aggregation_t *agg;
    const char *name;  /* sink name, for logs */
    ed_redis_addr_t a; /* from the URL; a.addr ("redis 127.0.0.1:6379/0") names it in errors */
    redisContext *rc;
    int connected_once;
    int lost; /* the last connection failed or was lost: the next connect is a reconnect */
    ed_redis_tmpl_t zset;
    ed_redis_tmpl_t member; /* nsegs == 0: default member (unreferenced parts joined by ':') */
    int *mparts;     /* default member: key parts not used by the zset template */
    int nmparts;
    int score; /* compute index */
    int set;  /* 1: ZADD the value (score_mode set), 0: ZINCRBY the delta (increment) */
    char ttl[32]; /* PEXPIRE argument (ms), or "" for no ttl */
    size_t chunk; /* rows (or trims) per MULTI … EXEC */
    /* per-flush scratch */
    ed_buf_t arena; /* zset names, members and scores of the flush */
    size_t *argoff; /* per row: offsets of zset, member, score in arena */
    size_t nargoff;
    ed_buf_t sets;   /* distinct zset names, back to back */
    size_t *set_off; /* offset, length pairs */
    size_t nsets, set_cap;
    uint32_t *slots; /* set index + 1, 0 = empty */
    size_t nslots;
    uint32_t *rowset;   /* per row: its set's index */
    uint32_t *setmark;  /* per set: 1 + the chunk that last expired it */
    size_t rowset_cap, setmark_cap;
    /* Progress of the flush being written, kept across calls so that a call
     * after RETRY resumes where the last one stopped. */
    uint64_t ckpt;         /* checkpoint + 1 the fields below describe; 0: none yet */
    size_t ckpt_rows;      /* its valid rows, to recognise the same flush */
    size_t ckpt_done;      /* chunks EXEC'ed: applied, or refused by the server for good */
    uint64_t ckpt_refused; /* rows of those chunks the server refused */
    char ckpt_err[512];    /* the first refusal (rows or trims), for errstr and logs */
    int ckpt_trim_failed;  /* a trim was refused (no row lost, logged once) */
    /* exactly_once */
    const char *eo_op;   /* the fence script's op: ZINCRBY, ZADD, or GT / LT (max / min) */
    ed_buf_t fence;      /* the fence key, built on first use */
    char sha[41];        /* the fence script's SHA1 on this connection; "" = not loaded */
    int eo_applied;      /* this instance sent a chunk of the current flush */
    size_t eo_nrc;       /* its row chunks, as the fence has them (when eo_applied) */
    const char **eo_argv; /* rows in chunk order: zset, member, score each */
    size_t *eo_argl, *eo_start, eo_cap, eo_start_cap;
    uint64_t pend_id;    /* eo_read: a flush applied in part before the restart */
    char *pend_pos;
} s_redis_t;


/* ---- lifecycle ---- */

static void s_redis_destroy(void **ctx_p) {
    if (!ctx_p || !*ctx_p)
        return;
    s_redis_t *r = *ctx_p;
    if (r->rc)
        redisFree(r->rc);
    ed_redis_addr_clear(&r->a);
    ed_redis_tmpl_free(&r->zset);
    ed_redis_tmpl_free(&r->member);
    free(r->rowset);
    free(r->setmark);
    free(r->mparts);
    ed_buf_free(&r->arena);
    free(r->argoff);
    ed_buf_free(&r->sets);
    free(r->set_off);
    free(r->slots);
    ed_buf_free(&r->fence);
    free(r->eo_argv);
    free(r->eo_argl);
    free(r->eo_start);
    free(r->pend_pos);
    free(r);
    *ctx_p = NULL;
}

static int s_redis_init(void **ctx_p, const ed_sink_ctx_t *sc, char *errstr, size_t errstr_size) {
    const ed_conf_sink_t *sink = sc->sink;
    const ed_conf_aggregation_t *agg = sc->agg;
    if (!agg)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "sink '%s': a redis sink writes aggregation changelogs into sorted "
                         "sets; list it in the `to:` of an aggregation",
                         sink->name);
    const ed_sink_redis_opts_t *o = sink->opts;
    if (!o || !o->url || !*o->url)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "sink '%s': redis.url is required (e.g. redis://127.0.0.1:6379/0)",
                         sink->name);
    if (!o->zset || !*o->zset)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "sink '%s': `zset:` is required (e.g. \"top:words\" or \"top:{%s}\")",
                         sink->name, agg->key[0].column);
    s_redis_t *r = ed_calloc(1, sizeof *r);
    r->sink = sink;
    r->o = o;
    r->agg = agg;
    r->name = sink->name;
    r->chunk = sink->batch_rows > 0 ? (size_t)sink->batch_rows : 1000;
    int rc = ed_redis_addr_parse(&r->a, o->url, "redis.url", errstr, errstr_size);
    if (rc && errstr) { /* "sink 'x': cannot parse redis.url …" */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", errstr);
        ed_seterr(errstr, errstr_size, rc, "sink '%s': %s", sink->name, msg);
    }
    if (!rc)
        rc = ed_redis_tmpl_parse(&r->zset, o->zset, agg, sink->name, "zset", errstr, errstr_size);
    if (!rc && o->member && *o->member)
        rc = ed_redis_tmpl_parse(&r->member, o->member, agg, sink->name, "member", errstr, errstr_size);
    if (!rc && r->member.nsegs == 0) {
        r->mparts = ed_calloc((size_t)agg->nkey, sizeof *r->mparts);
        for (int i = 0; i < agg->nkey; i++)
            if (!ed_redis_tmpl_uses(&r->zset, i))
                r->mparts[r->nmparts++] = i;
        if (r->nmparts == 0)
            rc = ed_seterr(errstr, errstr_size, ED_EINVAL,
                           "sink '%s': the zset template \"%s\" uses every key column, which "
                           "leaves nothing for the member; set `member:` (e.g. \"{%s}\")",
                           sink->name, o->zset, agg->key[agg->nkey - 1].column);
    }
    if (!rc) {
        r->score = 0;
        if (o->score && *o->score) {
            r->score = -1;
            for (int i = 0; i < agg->ncompute; i++)
                if (!strcmp(agg->compute[i].name, o->score))
                    r->score = i;
            if (r->score < 0) {
                ed_buf_t names = ED_BUF_INIT;
                for (int i = 0; i < agg->ncompute; i++)
                    ed_buf_printf(&names, "%s%s", i ? ", " : "", agg->compute[i].name);
                rc = ed_seterr(errstr, errstr_size, ED_EINVAL,
                               "sink '%s': score '%s' is not computed by aggregation '%s'; "
                               "expected one of: %s",
                               sink->name, o->score, agg->name, names.data);
                ed_buf_free(&names);
            }
        }
        if (!rc) {
            /* The link resolved auto; a sink built without it resolves the same way. */
            const ed_aggfn_t *fn = agg->compute[r->score].fn;
            int mode = o->score_mode;
            if (mode == ED_REDIS_SCORE_AUTO)
                mode = agg->window.kind != ED_WIN_NONE || !fn->additive ? ED_REDIS_SCORE_SET
                                                                        : ED_REDIS_SCORE_INCREMENT;
            if (mode == ED_REDIS_SCORE_INCREMENT && !fn->additive)
                rc = ed_seterr(errstr, errstr_size, ED_EINVAL,
                               "sink '%s': score_mode 'increment' needs an additive score "
                               "(count, sum), not %s; expected score_mode 'set'",
                               sink->name, fn->name);
            r->set = mode == ED_REDIS_SCORE_SET;
            /* exactly_once: a restart loses the aggregators' state, so a set
             * score must not go back: max keeps the larger, min the smaller. */
            r->eo_op = !r->set                   ? "ZINCRBY"
                       : !strcmp(fn->name, "max") ? "GT"
                       : !strcmp(fn->name, "min") ? "LT"
                                                  : "ZADD";
        }
        if (!rc && o->ttl_ms > 0)
            snprintf(r->ttl, sizeof r->ttl, "%lld", (long long)o->ttl_ms);
    }
    if (rc) {
        void *v = r;
        s_redis_destroy(&v);
        return rc;
    }
    *ctx_p = r;
    return 0;
}

/* ---- connection ---- */

static void s_redis_drop_conn(s_redis_t *r) {
    if (r->rc)
        redisFree(r->rc);
    r->rc = NULL;
    r->lost = 1;
    r->sha[0] = '\0';
}

static ed_write_result_t s_redis_fail_io(s_redis_t *r, const char *what, char *errstr,
                                         size_t errstr_size) {
    char msg[256];
    if (r->rc && r->rc->err)
        snprintf(msg, sizeof msg, "%s", r->rc->errstr[0] ? r->rc->errstr : "I/O error");
    else
        snprintf(msg, sizeof msg, "%s", strerror(errno ? errno : EIO));
    s_redis_drop_conn(r);
    ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s' (%s): %s: %s; retrying", r->name, r->a.addr,
              what, msg);
    return ED_WRITE_RETRY;
}

static ed_write_result_t s_redis_connect(s_redis_t *r, ed_sink_stats_t *stats, char *errstr,
                                         size_t errstr_size) {
    if (r->rc)
        return ED_WRITE_OK;
    char cname[128], msg[512];
    snprintf(cname, sizeof cname, "eddy-%s", r->name); /* "eddy-<sink>" in CLIENT LIST */
    r->rc = ed_redis_open(&r->a, cname, 5000, msg, sizeof msg);
    if (!r->rc) {
        s_redis_drop_conn(r);
        ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s' (%s): %s; retrying", r->name, r->a.addr,
                  msg);
        return ED_WRITE_RETRY;
    }
    if (r->connected_once && r->lost) {
        stats->reconnects++;
        ED_LOG_I(r->name, "reconnected to %s", r->a.addr);
    } else if (!r->connected_once) {
        ED_LOG_I(r->name, "connected to %s", r->a.addr);
    }
    r->connected_once = 1;
    r->lost = 0;
    return ED_WRITE_OK;
}

/* ---- distinct set names ---- */

static uint64_t s_hash(const char *p, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static void s_sets_reset(s_redis_t *r, size_t rows) {
    ed_buf_reset(&r->sets);
    r->nsets = 0;
    ed_sink_slots_reset(&r->slots, &r->nslots, rows);
}

/* Adds set `name` (if new); returns its index. */
static uint32_t s_sets_add(s_redis_t *r, const char *name, size_t len) {
    size_t mask = r->nslots - 1, slot = (size_t)s_hash(name, len) & mask;
    while (r->slots[slot]) {
        size_t i = r->slots[slot] - 1;
        if (r->set_off[2 * i + 1] == len && !memcmp(r->sets.data + r->set_off[2 * i], name, len))
            return (uint32_t)i;
        slot = (slot + 1) & mask;
    }
    if (r->nsets == r->set_cap) {
        r->set_cap = r->set_cap ? 2 * r->set_cap : 64;
        r->set_off = ed_realloc(r->set_off, 2 * r->set_cap * sizeof *r->set_off);
    }
    r->set_off[2 * r->nsets] = r->sets.len;
    r->set_off[2 * r->nsets + 1] = len;
    ed_buf_append(&r->sets, name, len);
    r->slots[slot] = (uint32_t)++r->nsets;
    return (uint32_t)(r->nsets - 1);
}

/* ---- write ---- */

/* Reads `n` replies of queued commands (each "+QUEUED", or an error that
 * makes EXEC abort). Keeps the first error text. Returns -1 on I/O error. */
static int s_redis_read_queued(s_redis_t *r, size_t n, char *qerr, size_t qerr_size) {
    for (size_t i = 0; i < n; i++) {
        void *v = NULL;
        if (redisGetReply(r->rc, &v) != REDIS_OK || !v)
            return -1;
        redisReply *rep = v;
        if (rep->type == REDIS_REPLY_ERROR && !qerr[0])
            snprintf(qerr, qerr_size, "%s", rep->str ? rep->str : "error");
        freeReplyObject(rep);
    }
    return 0;
}

static const char *s_redis_row_check(const s_redis_t *r, const ed_change_t *c) {
    const ed_conf_aggregation_t *agg = r->agg;
    if (c->nvals != agg->ncompute)
        return "row has the wrong number of values for the aggregation";
    if (ed_key_nparts(ed_change_key(c), c->key_len) != agg->nkey)
        return "row has the wrong number of key parts for the aggregation";
    const char *w = ed_sink_window_check(agg, c);
    if (w)
        return w;
    double s = r->set ? ed_change_value(c)[r->score] : ed_change_delta(c)[r->score];
    if (isnan(s))
        return "score is not a number";
    return NULL;
}

/* Expands every valid row of `flush` into the arena (zset name, member,
 * score; offsets in argoff) and collects the distinct set names. Returns the
 * number of valid rows; *rejected and *why tell about the others. The same
 * flush always expands to the same rows in the same order, which is what
 * lets a retry resume by chunk number. */
static size_t s_redis_expand(s_redis_t *r, const ed_sink_flush_t *flush, uint64_t *rejected,
                             const char **why) {
    size_t total = 0;
    for (int b = 0; b < flush->nchanges; b++)
        total += flush->changes[b]->count;
    if (total * 3 > r->nargoff) {
        r->nargoff = total * 3;
        r->argoff = ed_realloc(r->argoff, (r->nargoff + 1) * sizeof *r->argoff);
    }
    if (total > r->rowset_cap) {
        r->rowset_cap = total;
        r->rowset = ed_realloc(r->rowset, total * sizeof *r->rowset);
    }
    ed_buf_reset(&r->arena);
    s_sets_reset(r, total);
    size_t nrows = 0;
    *rejected = 0;
    *why = NULL;
    for (int b = 0; b < flush->nchanges; b++) {
        ed_batch_iter_t it;
        ed_batch_iter_init(&it, flush->changes[b]);
        const ed_change_t *c;
        while ((c = ed_batch_next_change(&it))) {
            const char *w = s_redis_row_check(r, c);
            if (w) {
                ++*rejected;
                *why = *why ? *why : w;
                continue;
            }
            const uint8_t *key = ed_change_key(c);
            size_t *o = &r->argoff[3 * nrows++];
            o[0] = r->arena.len;
            ed_redis_tmpl_expand(&r->zset, &r->arena, c);
            r->rowset[nrows - 1] = s_sets_add(r, r->arena.data + o[0], r->arena.len - o[0]);
            o[1] = r->arena.len;
            if (r->member.nsegs) {
                ed_redis_tmpl_expand(&r->member, &r->arena, c);
            } else {
                for (int i = 0; i < r->nmparts; i++) {
                    const uint8_t *part = NULL;
                    size_t len = 0;
                    ed_key_part(key, c->key_len, r->mparts[i], &part, &len);
                    if (i)
                        ed_buf_append(&r->arena, ":", 1);
                    ed_buf_append(&r->arena, part, len);
                }
            }
            o[2] = r->arena.len;
            double s = r->set ? ed_change_value(c)[r->score] : ed_change_delta(c)[r->score];
            ed_buf_printf(&r->arena, "%.17g", s);
        }
    }
    r->argoff[3 * nrows] = r->arena.len; /* end of the last score */
    if (r->nsets > r->setmark_cap) {
        r->setmark_cap = r->nsets;
        r->setmark = ed_realloc(r->setmark, r->setmark_cap * sizeof *r->setmark);
    }
    if (r->nsets)
        memset(r->setmark, 0, r->nsets * sizeof *r->setmark);
    return nrows;
}

static int s_redis_transient(const char *err) {
    return !strncmp(err, "OOM", 3) || !strncmp(err, "READONLY", 8) || !strncmp(err, "LOADING", 7) ||
           !strncmp(err, "BUSY", 4) || !strncmp(err, "TRYAGAIN", 8) ||
           !strncmp(err, "MASTERDOWN", 10);
}

/* Sends chunk `k` of the flush expanded into the arena — MULTI, its rows
 * (k < nrow_chunks) or its trims, EXEC — in one write and reads the replies.
 * OK: the chunk is done (applied, or refused for good: then counted in
 * ckpt_refused / rows_rejected). RETRY: nothing of it is known to be applied
 * (an I/O error drops the connection; if EXEC had been sent it may have run). */
static ed_write_result_t s_redis_chunk(s_redis_t *r, size_t k, size_t nrows, size_t nrow_chunks,
                                       ed_sink_stats_t *stats, char *errstr, size_t errstr_size) {
    int trims = k >= nrow_chunks;
    size_t first = (trims ? k - nrow_chunks : k) * r->chunk;
    size_t end = first + r->chunk, n;
    if (end > (trims ? r->nsets : nrows))
        end = trims ? r->nsets : nrows;
    n = end - first;

    const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"};
    redisAppendCommandArgv(r->rc, 1, multi, NULL);
    char stop[32];
    snprintf(stop, sizeof stop, "%d", -(r->o->keep_top + 1));
    const char *cmd = r->set ? "ZADD" : "ZINCRBY";
    for (size_t i = first; i < end; i++) {
        if (trims) {
            const char *argv[4] = {"ZREMRANGEBYRANK", r->sets.data + r->set_off[2 * i], "0", stop};
            size_t argl[4] = {15, r->set_off[2 * i + 1], 1, strlen(stop)};
            redisAppendCommandArgv(r->rc, 4, argv, argl);
        } else {
            const size_t *o = &r->argoff[3 * i];
            const char *argv[4] = {cmd, r->arena.data + o[0], r->arena.data + o[2],
                                   r->arena.data + o[1]};
            size_t argl[4] = {strlen(cmd), o[1] - o[0], o[3] - o[2], o[2] - o[1]};
            redisAppendCommandArgv(r->rc, 4, argv, argl);
        }
    }
    /* ttl: each set the chunk's rows wrote gets its expiry in the same
     * transaction, so no set written by eddy is ever left without one. */
    size_t nexp = 0;
    for (size_t i = first; r->ttl[0] && !trims && i < end; i++) {
        uint32_t set = r->rowset[i];
        if (r->setmark[set] == k + 1)
            continue;
        r->setmark[set] = (uint32_t)(k + 1);
        const char *argv[3] = {"PEXPIRE", r->sets.data + r->set_off[2 * set], r->ttl};
        size_t argl[3] = {7, r->set_off[2 * set + 1], strlen(r->ttl)};
        redisAppendCommandArgv(r->rc, 3, argv, argl);
        nexp++;
    }
    redisAppendCommandArgv(r->rc, 1, exec, NULL);

    char qerr[256] = "";
    if (s_redis_read_queued(r, 1 + n + nexp, qerr, sizeof qerr) < 0)
        return s_redis_fail_io(r, "MULTI", errstr, errstr_size);
    void *v = NULL;
    if (redisGetReply(r->rc, &v) != REDIS_OK || !v)
        return s_redis_fail_io(r, "EXEC", errstr, errstr_size);
    redisReply *rep = v;
    stats->statements += n + nexp + 2;

    if (rep->type != REDIS_REPLY_ARRAY) {
        /* EXECABORT: a command was refused when queued, nothing of the chunk
         * was applied. OOM/READONLY/LOADING… pass: retry the chunk; anything
         * else will not: its rows are refused for good. */
        char msg[512];
        snprintf(msg, sizeof msg, "%s%s%s", rep->str ? rep->str : "EXEC failed",
                 qerr[0] ? " — first refused command: " : "", qerr);
        freeReplyObject(rep);
        if (s_redis_transient(qerr)) {
            ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s' (%s): %s; retrying", r->name,
                      r->a.addr, msg);
            return ED_WRITE_RETRY;
        }
        if (!r->ckpt_err[0])
            snprintf(r->ckpt_err, sizeof r->ckpt_err, "%s", msg);
        if (trims) {
            r->ckpt_trim_failed = 1;
        } else {
            r->ckpt_refused += n;
            stats->rows_rejected += n;
        }
        return ED_WRITE_OK;
    }
    /* Runtime errors (WRONGTYPE: the key holds something else) fail single
     * commands; the others were applied and Redis has no rollback, so a
     * retry would double-count: the failed rows are refused for good. */
    size_t failed = 0;
    for (size_t i = 0; i < rep->elements && i < n; i++)
        if (rep->element[i]->type == REDIS_REPLY_ERROR) {
            if (!failed++ && !r->ckpt_err[0])
                snprintf(r->ckpt_err, sizeof r->ckpt_err, "%s",
                         rep->element[i]->str ? rep->element[i]->str : "error");
        }
    for (size_t i = n; i < rep->elements && i < n + nexp; i++)
        if (rep->element[i]->type == REDIS_REPLY_ERROR && !r->ckpt_err[0])
            snprintf(r->ckpt_err, sizeof r->ckpt_err, "PEXPIRE: %s",
                     rep->element[i]->str ? rep->element[i]->str : "error");
    freeReplyObject(rep);
    if (trims) {
        r->ckpt_trim_failed |= failed > 0;
    } else {
        stats->rows_written += n - failed;
        stats->rows_rejected += failed;
        r->ckpt_refused += failed;
    }
    return ED_WRITE_OK;
}

/* ---- exactly_once ---- */

/* Orders the nrows expanded rows into n chunks (ed_redis_fence_order). */
static void s_redis_eo_order(s_redis_t *r, size_t nrows, size_t n) {
    if (3 * nrows > r->eo_cap) {
        r->eo_cap = 3 * nrows;
        r->eo_argv = ed_realloc(r->eo_argv, r->eo_cap * sizeof *r->eo_argv);
        r->eo_argl = ed_realloc(r->eo_argl, r->eo_cap * sizeof *r->eo_argl);
    }
    if (n + 1 > r->eo_start_cap) {
        r->eo_start_cap = n + 1;
        r->eo_start = ed_realloc(r->eo_start, r->eo_start_cap * sizeof *r->eo_start);
    }
    /* rowset is free here (the script sets each ttl): it takes each row's chunk. */
    ed_redis_fence_order(r->arena.data, r->argoff, nrows, n, r->rowset, r->eo_argv, r->eo_argl,
                         r->eo_start);
}

/* The connection broke in a fence command (msg says which, with hiredis'
 * error): dropped, RETRY. */
static ed_write_result_t s_redis_fence_lost(s_redis_t *r, const char *msg, char *errstr,
                                            size_t errstr_size) {
    s_redis_drop_conn(r);
    ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s' (%s): %s; retrying", r->name, r->a.addr,
              msg);
    return ED_WRITE_RETRY;
}

/* Reads the fence, then applies the row chunks it does not have. Sets
 * *nrow_chunks to the flush's row chunks (trims follow them) and *skip
 * when the whole flush was applied before this instance wrote any of it. */
static ed_write_result_t s_redis_eo_rows(s_redis_t *r, const ed_sink_eo_t *eo, size_t nrows,
                                         size_t *nrow_chunks, int *skip, ed_sink_stats_t *stats,
                                         char *errstr, size_t errstr_size) {
    if (!r->fence.len)
        ed_redis_fence_key(&r->fence, eo->pipeline, r->name, r->o->zset);
    char msg[512];
    ed_redis_fence_t f;
    int rc = ed_redis_fence_read(r->rc, r->fence.data, &f, msg, sizeof msg);
    size_t n = nrows ? (nrows + r->chunk - 1) / r->chunk : 1, done = 0;
    if (!rc && f.id >= eo->id) { /* every row chunk is applied */
        *skip = !r->eo_applied;
        *eo->skipped = *skip;
        done = n = r->eo_applied ? r->eo_nrc : n;
    } else if (!rc && f.pend_id == eo->id) { /* resume where the fence stopped */
        n = f.pend_n;
        done = f.pend_done;
    }
    ed_redis_fence_clear(&f);
    if (!rc && done < n)
        s_redis_eo_order(r, nrows, n);
    for (size_t k = done; !rc && k < n; k++) {
        size_t from = r->eo_start[k], cnt = r->eo_start[k + 1] - from;
        ed_redis_fence_chunk_t c = {.key = r->fence.data, .id = eo->id, .chunk = k,
                                    .nchunks = n, .positions = eo->positions, .op = r->eo_op,
                                    .ttl = r->ttl, .nrows = cnt, .argv = r->eo_argv + 3 * from,
                                    .argl = r->eo_argl + 3 * from};
        ed_redis_fence_res_t res;
        r->eo_applied = 1; /* sent: if its reply is lost, the flush is not "skipped" */
        r->eo_nrc = n;
        rc = ed_redis_fence_apply(r->rc, r->sha, &c, &res, &stats->statements, msg, sizeof msg);
        if (rc || !res.applied)
            continue;
        stats->rows_written += cnt - res.failed;
        stats->rows_rejected += res.failed;
        r->ckpt_refused += res.failed;
        if (res.failed && !r->ckpt_err[0])
            snprintf(r->ckpt_err, sizeof r->ckpt_err, "%s", res.err);
        if (res.replaced)
            ED_LOG_E(r->name,
                     "exactly_once fence %s held flush %llu applied in part, replaced by flush "
                     "%llu: the rows of its applied chunks may count twice",
                     r->fence.data, (unsigned long long)res.replaced,
                     (unsigned long long)eo->id);
        ed_crash_point("redis_after_chunk");
    }
    if (rc == -1)
        return s_redis_fence_lost(r, msg, errstr, errstr_size);
    if (rc)
        return ed_seterr(errstr, errstr_size, ED_EIO,
                         "sink '%s' (%s): %s (fence key %s); retrying", r->name, r->a.addr, msg,
                         r->fence.data),
               ED_WRITE_RETRY;
    *nrow_chunks = n;
    if (r->ckpt_done < n)
        r->ckpt_done = n;
    return ED_WRITE_OK;
}

static ed_write_result_t s_redis_eo_read(void *ctx, const char *pipeline, uint64_t *id,
                                         char **positions, char *errstr, size_t errstr_size) {
    s_redis_t *r = ctx;
    ed_sink_stats_t stats = {0};
    ed_buf_reset(&r->fence);
    ed_redis_fence_key(&r->fence, pipeline, r->name, r->o->zset);
    ed_redis_sigpipe_t sp;
    ed_redis_sigpipe_block(&sp);
    ed_write_result_t res = s_redis_connect(r, &stats, errstr, errstr_size);
    ed_redis_fence_t f = {0};
    char msg[512];
    int rc = res == ED_WRITE_OK ? ed_redis_fence_read(r->rc, r->fence.data, &f, msg, sizeof msg) : 0;
    ed_redis_sigpipe_restore(&sp);
    if (rc == -1)
        return s_redis_fence_lost(r, msg, errstr, errstr_size);
    if (rc)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "sink '%s' (%s): %s; the exactly_once fence key %s must be a hash "
                         "written by eddy (delete it to start over)",
                         r->name, r->a.addr, msg, r->fence.data),
               ED_WRITE_DROP;
    if (res == ED_WRITE_OK) {
        *id = f.id;
        *positions = f.positions;
        f.positions = NULL;
        free(r->pend_pos);
        r->pend_id = f.pend_id;
        r->pend_pos = f.pend_positions;
        f.pend_positions = NULL;
        if (r->pend_id)
            ED_LOG_I(r->name, "exactly_once: flush %llu was applied in part (%llu of %llu chunks)",
                     (unsigned long long)f.pend_id, (unsigned long long)f.pend_done,
                     (unsigned long long)f.pend_n);
    }
    ed_redis_fence_clear(&f);
    return res;
}

static void s_redis_eo_pending(void *ctx, uint64_t *id, const char **positions) {
    const s_redis_t *r = ctx;
    *id = r->pend_id;
    *positions = r->pend_id ? r->pend_pos : NULL;
}

static ed_write_result_t s_redis_write(void *ctx, const ed_sink_flush_t *flush,
                                       ed_sink_stats_t *stats, char *errstr, size_t errstr_size) {
    s_redis_t *r = ctx;
    uint64_t rejected = 0;
    const char *why = NULL;
    size_t nrows = s_redis_expand(r, flush, &rejected, &why);

    if (r->ckpt != flush->checkpoint + 1) {
        /* A new flush: progress starts over; rows that cannot be written are
         * counted once per flush, not once per attempt. */
        r->ckpt = flush->checkpoint + 1;
        r->ckpt_rows = nrows;
        r->ckpt_done = 0;
        r->ckpt_refused = 0;
        r->ckpt_err[0] = 0;
        r->ckpt_trim_failed = 0;
        r->eo_applied = 0;
        uint64_t records = 0;
        for (int b = 0; b < flush->nrecords; b++)
            records += flush->records[b]->count;
        if (rejected) {
            stats->rows_rejected += rejected;
            ED_LOG_W(r->name,
                     "zset %s: %llu changelog row(s) rejected (first: %s); the rest is written",
                     r->o->zset, (unsigned long long)rejected, why);
        }
        if (records) {
            stats->rows_rejected += records;
            ED_LOG_W(r->name,
                     "zset %s: %llu record(s) rejected: a redis sink takes aggregation "
                     "changelogs only",
                     r->o->zset, (unsigned long long)records);
        }
    } else if (r->ckpt_rows != nrows) {
        /* The contract offers the same flush again; if it is not, chunk
         * numbers mean nothing: write it all (duplicates, never loss). */
        ED_LOG_W(r->name,
                 "flush %llu offered again with %zu rows instead of %zu; writing it from the "
                 "start",
                 (unsigned long long)flush->checkpoint, nrows, r->ckpt_rows);
        r->ckpt_rows = nrows;
        r->ckpt_done = 0;
        r->ckpt_refused = 0;
        r->ckpt_err[0] = 0;
        r->ckpt_trim_failed = 0;
    }

    size_t nrow_chunks = (nrows + r->chunk - 1) / r->chunk;
    size_t ntrims = r->o->keep_top > 0 ? r->nsets : 0;
    if (flush->eo) { /* the row chunks through the fence; the trims below */
        int skip = 0;
        ed_redis_sigpipe_t sp;
        ed_redis_sigpipe_block(&sp);
        ed_write_result_t res = s_redis_connect(r, stats, errstr, errstr_size);
        if (res == ED_WRITE_OK)
            res = s_redis_eo_rows(r, flush->eo, nrows, &nrow_chunks, &skip, stats, errstr,
                                  errstr_size);
        ed_redis_sigpipe_restore(&sp);
        if (res != ED_WRITE_OK || skip)
            return res;
    }
    size_t nchunks = nrow_chunks + (ntrims + r->chunk - 1) / r->chunk;
    if (r->ckpt_done < nchunks) {
        ed_redis_sigpipe_t sp;
        ed_redis_sigpipe_block(&sp);
        ed_write_result_t res = s_redis_connect(r, stats, errstr, errstr_size);
        /* One chunk per round trip, and no time budget across chunks: each
         * is short (per-command I/O timeout 5 s), and returning RETRY for a
         * flush that is merely large would look like an outage. */
        while (r->ckpt_done < nchunks && res == ED_WRITE_OK) {
            res = s_redis_chunk(r, r->ckpt_done, nrows, nrow_chunks, stats, errstr, errstr_size);
            if (res == ED_WRITE_OK)
                r->ckpt_done++;
        }
        ed_redis_sigpipe_restore(&sp);
        if (res != ED_WRITE_OK)
            return res;
        if (r->ckpt_trim_failed && !r->ckpt_refused)
            ED_LOG_W(r->name, "zset %s: keep_top trim refused by %s: %s; the rows are written",
                     r->o->zset, r->a.addr, r->ckpt_err);
    }
    if (r->ckpt_refused) {
        char hint[320] = "";
        if (!strncmp(r->ckpt_err, "WRONGTYPE", 9))
            snprintf(hint, sizeof hint, " (does a key matching zset \"%s\" hold another type?)",
                     r->o->zset);
        ed_seterr(errstr, errstr_size, ED_EINVAL,
                  "sink '%s' (%s): %llu of %zu row(s) refused by the server: %s%s; those rows "
                  "are dropped, the rest of the flush is written",
                  r->name, r->a.addr, (unsigned long long)r->ckpt_refused, nrows, r->ckpt_err,
                  hint);
        return ED_WRITE_DROP;
    }
    return ED_WRITE_OK;
}

const ed_sink_type_t ed_sink_redis = {
    .conf = {.name = "redis",
             .desc = "keeps an aggregation's values in Redis sorted sets (leaderboards)",
             .map = ed_sink_redis_map,
             .opts_size = sizeof(ed_sink_redis_opts_t),
             .caps = ED_CAP_CHANGELOG | ED_CAP_WINDOWS | ED_CAP_EXACTLY_ONCE,
             .example = "redis: { url: \"redis://127.0.0.1:6379\" }",
             .validate = ed_sink_redis_validate,
             .link = ed_sink_redis_link,
             .describe = ed_sink_redis_describe},
    .init = s_redis_init,
    .write = s_redis_write,
    .destroy = s_redis_destroy,
    .eo_read = s_redis_eo_read,
    .eo_pending = s_redis_eo_pending,
};
