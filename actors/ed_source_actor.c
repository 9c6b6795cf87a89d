/*
 * ed_source_actor.c — reads inputs through a source driver, decodes them,
 * keys and hash-partitions records over the aggregator actors, and batches
 * them; forwards pass-through records straight to sinks; runs its part of
 * the checkpoint protocol (see ed_msg.h).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ed_decode.h"
#include "ed_partition.h"
#include "ed_pipeline.h"
#include "ed_source.h"
#include "../runtime/ed_buf.h"

/* Meta fields filled from ed_input_t rather than by the decoder. */
typedef enum {
    ED_META_NONE = 0,
    ED_META_KEY,
    ED_META_FILE,
    ED_META_TOPIC,
    ED_META_PARTITION,
    ED_META_OFFSET,
    ED_META_TIMESTAMP,
    ED_META_VALUE,
} ed_meta_t;

static const char *const s_meta_names[] = {NULL,         "@key",    "@file",      "@topic",
                                           "@partition", "@offset", "@timestamp", "@value"};

/* Where a field's value comes from: a decoder slot or a meta field. */
typedef struct {
    ed_meta_t meta; /* ED_META_NONE = decoder slot `slot` */
    int slot;
    const char *name; /* for errors; borrowed from the config */
} ed_fieldref_t;

typedef struct {
    int agg;              /* aggregation index in the config */
    ed_fieldref_t *key;   /* [nkey] */
    int nkey;
    ed_fieldref_t *vals;  /* [ncompute]; meta NONE and slot -1 for count */
    int nvals;
} ed_src_agg_t;

/* Longest composite key, bytes; longer keys are rejected. */
#define ED_KEY_MAX 4096
/* Inputs read per tick before yielding to the worker loop. */
#define ED_READ_BUDGET 4096

typedef struct {
    ed_plan_t *plan;
    int idx;                 /* config source index */
    int slot;                /* source actor index (instances counted): plan->source_stats[slot] */
    ed_conf_source_t local;  /* this instance's copy of the source config (generator share) */
    const ed_conf_source_t *src; /* = &local */
    const ed_source_type_t *drv;
    void *drv_ctx;
    ed_decoder_t *dec;
    const char **dec_fields; /* names asked of the decoder */
    int ndec;
    ed_fieldref_t time_ref;  /* time field, meta NONE + slot -1 = processing time */
    int has_time;
    ed_src_agg_t *aggs;      /* aggregations reading this source */
    int naggs;
    ed_batch_t **agg_out;    /* [plan->naggs] KEYED batch per aggregator actor */
    uint32_t *direct;        /* pass-through sinks (to:) and the rejects sink: actor ids */
    int ndirect;
    int *pass;               /* [ndirect] 1 if pass-through (to:), 0 if only rejects */
    int rejects_slot;        /* index in direct[] of the rejects sink, or -1 */
    ed_batch_t **direct_out; /* [ndirect] RECORDS batches */
    int64_t linger_deadline; /* when the oldest unsent partial batch must go (ms), or 0 */
    uint64_t inputs_since_barrier;
    ed_tsbag_t times;        /* produce times of inputs since the last barrier (latency) */
    int eof, paused, stopped, opened;
    const ed_input_t *cur;   /* input being decoded (for reject positions) */
    int cur_rejected;        /* current input already counted as rejected */
    uint8_t key[ED_KEY_MAX + 64];
    char num_text[8][40];    /* text of numeric meta values per key part */
    uint64_t logged_rejects;
    ed_actor_t *self;
} ed_src_actor_t;

static ed_meta_t s_meta_of(const char *field) {
    for (size_t i = 1; i < ED_ARRAY_SIZE(s_meta_names); i++)
        if (strcmp(field, s_meta_names[i]) == 0)
            return (ed_meta_t)i;
    return ED_META_NONE;
}

/* Resolves a field name to a ref, adding decoder slots as needed. */
static ed_fieldref_t s_ref(ed_src_actor_t *s, const char *field) {
    ed_fieldref_t r = {.meta = s_meta_of(field), .slot = -1, .name = field};
    if (r.meta != ED_META_NONE)
        return r;
    for (int i = 0; i < s->ndec; i++)
        if (strcmp(s->dec_fields[i], field) == 0) {
            r.slot = i;
            return r;
        }
    s->dec_fields = ed_realloc(s->dec_fields, sizeof *s->dec_fields * (size_t)(s->ndec + 1));
    s->dec_fields[s->ndec] = field;
    r.slot = s->ndec++;
    return r;
}

/* Value of a field for the current record. Numeric meta values get their text
 * (written to `scratch`, 40 bytes) only when `want_text`: keys need text,
 * computes and times only the number — formatting every event's value would
 * cost more than the rest of the pipeline. */
static ed_val_t s_get(ed_src_actor_t *s, const ed_fieldref_t *r, const ed_val_t *vals,
                      char *scratch, int want_text) {
    const ed_input_t *in = s->cur;
    ed_val_t v = {.type = ED_VAL_MISSING};
    if (r->meta == ED_META_NONE)
        return r->slot >= 0 ? vals[r->slot] : v;
    int64_t num = 0;
    switch (r->meta) {
    case ED_META_KEY:
        if (in->key)
            v = (ed_val_t){.type = ED_VAL_STRING, .ptr = in->key, .len = in->key_len};
        return v;
    case ED_META_FILE:
        if (in->file)
            v = (ed_val_t){.type = ED_VAL_STRING, .ptr = in->file, .len = strlen(in->file)};
        return v;
    case ED_META_TOPIC:
        if (in->topic)
            v = (ed_val_t){.type = ED_VAL_STRING, .ptr = in->topic, .len = strlen(in->topic)};
        return v;
    case ED_META_PARTITION: num = in->partition; break;
    case ED_META_OFFSET: num = in->offset; break;
    case ED_META_TIMESTAMP: num = in->ts_ms; break;
    case ED_META_VALUE: {
        int n = want_text ? snprintf(scratch, 40, "%.17g", in->num) : 0;
        return (ed_val_t){.type = ED_VAL_NUMBER, .ptr = scratch, .len = (size_t)n, .num = in->num};
    }
    default: return v;
    }
    int n = want_text ? snprintf(scratch, 40, "%lld", (long long)num) : 0;
    return (ed_val_t){.type = ED_VAL_NUMBER, .ptr = scratch, .len = (size_t)n, .num = (double)num};
}

static void s_position(const ed_input_t *in, char *buf, size_t size) {
    if (in->topic)
        snprintf(buf, size, "%s/%d@%lld", in->topic, (int)in->partition, (long long)in->offset);
    else if (in->file)
        snprintf(buf, size, "%s:%lld", in->file, (long long)in->offset);
    else
        snprintf(buf, size, "#%lld", (long long)in->offset);
}

static void s_send_direct(ed_src_actor_t *s, int i) {
    if (s->direct_out[i] && s->direct_out[i]->count) {
        ed_msg_t *m = ed_msg_new_batch(&s->direct_out[i]);
        ed_actor_send(s->self, s->direct[i], &m);
    }
}

static void s_add_direct(ed_src_actor_t *s, int i, const void *key, size_t klen, const void *val,
                         size_t vlen, int64_t ts) {
    if (!s->direct_out[i])
        s->direct_out[i] = ed_batch_new(ED_BATCH_RECORDS, 64 * 1024);
    ed_batch_add_record(s->direct_out[i], key, (uint32_t)klen, val, (uint32_t)vlen, ts);
    if (s->direct_out[i]->count >= (uint32_t)s->src->batch_size)
        s_send_direct(s, i);
    else if (!s->linger_deadline)
        s->linger_deadline = ed_now_ms() + s->src->linger_ms;
}

/* Counts a rejected input or record, logs it (rate-limited) and routes it
 * to the rejects sink when one is configured. */
static void s_reject(ed_src_actor_t *s, const char *why) {
    if (s->cur_rejected)
        return; /* one input counts once, however many of its records fail */
    s->cur_rejected = 1;
    ed_source_stats_t *st = &s->plan->source_stats[s->slot];
    st->rejected++;
    char pos[512];
    s_position(s->cur, pos, sizeof pos);
    if (s->logged_rejects < 10 || st->rejected % 10000 == 0) {
        ED_LOG_W(s->src->name, "rejected input at %s: %s%s (%llu rejected so far)", pos, why,
                 s->rejects_slot >= 0 ? "; sent to the rejects sink" : "",
                 (unsigned long long)st->rejected);
        s->logged_rejects++;
    }
    if (s->rejects_slot < 0)
        return;
    ed_buf_t b = ED_BUF_INIT;
    ed_buf_puts(&b, "{\"source\":");
    ed_buf_json_str(&b, s->src->name, strlen(s->src->name));
    ed_buf_puts(&b, ",\"position\":");
    ed_buf_json_str(&b, pos, strlen(pos));
    ed_buf_puts(&b, ",\"error\":");
    ed_buf_json_str(&b, why, strlen(why));
    ed_buf_puts(&b, ",\"input\":");
    ed_buf_json_str(&b, s->cur->data ? s->cur->data : "", s->cur->len);
    ed_buf_puts(&b, "}");
    s_add_direct(s, s->rejects_slot, pos, strlen(pos), b.data, b.len, ed_wall_ms());
    ed_buf_free(&b);
}

static void s_send_agg(ed_src_actor_t *s, int p) {
    if (s->agg_out[p] && s->agg_out[p]->count) {
        ed_msg_t *m = ed_msg_new_batch(&s->agg_out[p]);
        ed_actor_send(s->self, s->plan->agg_ids[p], &m);
    }
}

static void s_flush_all(ed_src_actor_t *s) {
    for (int p = 0; p < s->plan->naggs; p++)
        s_send_agg(s, p);
    for (int i = 0; i < s->ndirect; i++)
        s_send_direct(s, i);
    s->linger_deadline = 0;
}

/* One decoded record: key it for every aggregation reading this source. */
static void s_on_record(void *ud, const ed_val_t *vals) {
    ed_src_actor_t *s = ud;
    s->plan->source_stats[s->slot].records++;
    int64_t ts = s->cur->ts_ms;
    if (s->has_time) {
        char scratch[40];
        ed_val_t tv = s_get(s, &s->time_ref, vals, scratch, 0);
        if (ed_parse_time(&tv, s->src->time_format, &ts) != 0) {
            char why[256];
            snprintf(why, sizeof why, "time field '%s' is %s", s->src->time_field,
                     tv.type == ED_VAL_MISSING ? "missing" : "not a valid time");
            s_reject(s, why);
            return;
        }
    }
    for (int a = 0; a < s->naggs; a++) {
        ed_src_agg_t *sa = &s->aggs[a];
        size_t klen = 0;
        for (int k = 0; k < sa->nkey; k++) {
            ed_val_t v = s_get(s, &sa->key[k], vals, s->num_text[k & 7], 1);
            if (v.type == ED_VAL_MISSING || v.type == ED_VAL_NULL) {
                char why[256];
                snprintf(why, sizeof why, "key field '%s' is %s", sa->key[k].name,
                         v.type == ED_VAL_NULL ? "null" : "missing");
                s_reject(s, why);
                return;
            }
            if (klen + 2 + v.len > ED_KEY_MAX) {
                char why[256];
                snprintf(why, sizeof why, "key longer than %d bytes (field '%s')", ED_KEY_MAX,
                         sa->key[k].name);
                s_reject(s, why);
                return;
            }
            ed_key_append(s->key, &klen, v.ptr, v.len);
        }
        double nums[64];
        for (int c = 0; c < sa->nvals && c < 64; c++) {
            nums[c] = 0;
            if (sa->vals[c].slot < 0 && sa->vals[c].meta == ED_META_NONE)
                continue; /* count */
            char scratch[40];
            ed_val_t v = s_get(s, &sa->vals[c], vals, scratch, 0);
            if (ed_val_to_num(&v, &nums[c]) != 0) {
                char why[256];
                snprintf(why, sizeof why, "field '%s' is %s", sa->vals[c].name,
                         v.type == ED_VAL_MISSING ? "missing" : "not a number");
                s_reject(s, why);
                return;
            }
        }
        uint64_t h = ed_hash64(s->key, klen);
        uint32_t p = ed_partition_of(h, (uint32_t)s->plan->naggs);
        if (!s->agg_out[p])
            s->agg_out[p] = ed_batch_new(ED_BATCH_KEYED, 64 * 1024);
        ed_batch_add_keyed(s->agg_out[p], (uint16_t)sa->agg, ts, nums, (uint16_t)sa->nvals, s->key,
                           (uint32_t)klen, h);
        if (s->agg_out[p]->count >= (uint32_t)s->src->batch_size)
            s_send_agg(s, (int)p);
        else if (!s->linger_deadline)
            s->linger_deadline = ed_now_ms() + s->src->linger_ms;
    }
}

static void s_on_input(void *ud, const ed_input_t *in) {
    ed_src_actor_t *s = ud;
    s->plan->source_stats[s->slot].inputs++;
    s->inputs_since_barrier++;
    ed_tsbag_add(&s->times, in->ts_ms, 1);
    s->cur = in;
    s->cur_rejected = 0;
    for (int i = 0; i < s->ndirect; i++)
        if (s->pass[i])
            s_add_direct(s, i, in->key, in->key ? in->key_len : 0, in->data, in->len, in->ts_ms);
    if (!s->naggs)
        return;
    if (s->src->kind == ED_SRC_GENERATOR) {
        /* Generated events carry no payload: their fields are all meta. */
        s_on_record(s, NULL);
        return;
    }
    char err[512];
    if (ed_decoder_decode(s->dec, in->data ? in->data : "", in->len, s_on_record, s, err,
                          sizeof err) < 0)
        s_reject(s, err);
}

static int s_init(ed_actor_t *a, char *errstr, size_t errstr_size) {
    ed_src_actor_t *s = ed_actor_state(a);
    s->self = a;
    if (s->opened)
        return 0;
    int rc = s->drv->open(&s->drv_ctx, s->plan->conf, s->src, errstr, errstr_size);
    if (rc < 0)
        return rc;
    s->opened = 1;
    ed_actor_watch_fd(a, s->drv->fd(s->drv_ctx));
    ed_actor_wake_now(a);
    return 0;
}

static void s_stop(ed_actor_t *a) {
    ed_src_actor_t *s = ed_actor_state(a);
    if (s->opened)
        s->drv->close(&s->drv_ctx);
    s->opened = 0;
    ed_actor_watch_fd(a, -1);
}

static void s_send_ctl(ed_src_actor_t *s, uint32_t to, ed_msg_type_t type, uint64_t n,
                       uint32_t flags, int64_t value) {
    ed_msg_t *m = ed_msg_new(type);
    m->checkpoint = n;
    m->flags = flags;
    m->value = value;
    ed_actor_send(s->self, to, &m);
}

static int s_on_tick(ed_actor_t *a, int64_t now) {
    ed_src_actor_t *s = ed_actor_state(a);
    /* Read even while paused: the driver then returns 0 but keeps its
     * consumer polled (rebalances, group membership). */
    if (!s->stopped && !s->eof) {
        char err[512] = "";
        int n = s->drv->read(s->drv_ctx, ED_READ_BUDGET, s_on_input, s, &s->eof, err, sizeof err);
        if (n < 0) {
            ED_LOG_E(s->src->name, "read failed: %s", err);
            return n;
        }
        if (s->eof) {
            /* Tell the coordinator now, so it checks (and drains) at once
             * instead of at the next flush interval. */
            s_flush_all(s);
            s_send_ctl(s, s->plan->coordinator, ED_MSG_SOURCE_STATUS, 0, ED_MSG_F_EOF, 0);
        }
        if (n >= ED_READ_BUDGET)
            ed_actor_wake_now(a); /* more may be waiting */
        else if (s->paused)
            ed_actor_wake_at(a, now + 500); /* keep the consumer polled */
        else if (s->drv->fd(s->drv_ctx) < 0)
            ed_actor_wake_at(a, now + (n > 0 ? 0 : 10)); /* no fd to wait on: poll */
    }
    if (s->linger_deadline) {
        if (now >= s->linger_deadline)
            s_flush_all(s);
        else
            ed_actor_wake_at(a, s->linger_deadline);
    }
    return 0;
}


static int s_on_message(ed_actor_t *a, ed_msg_t **msg_p) {
    ed_src_actor_t *s = ed_actor_state(a);
    ed_msg_t *m = *msg_p;
    switch (m->type) {
    case ED_MSG_BARRIER: {
        /* Everything read so far belongs to checkpoint n: send it, snapshot
         * positions, then pass the barrier downstream (FIFO after the data). */
        if (m->flags & ED_MSG_F_FINAL)
            s->stopped = 1;
        s_flush_all(s);
        s->drv->checkpoint(s->drv_ctx, m->checkpoint);
        if (s->naggs)
            for (int p = 0; p < s->plan->naggs; p++)
                s_send_ctl(s, s->plan->agg_ids[p], ED_MSG_BARRIER, m->checkpoint, m->flags, 0);
        for (int i = 0; i < s->ndirect; i++)
            s_send_ctl(s, s->direct[i], ED_MSG_BARRIER, m->checkpoint, m->flags, 0);
        uint32_t flags = s->eof ? ED_MSG_F_EOF : 0;
        if (s->drv->ready && !s->drv->ready(s->drv_ctx))
            flags |= ED_MSG_F_NOT_READY;
        ed_msg_t *st = ed_msg_new(ED_MSG_SOURCE_STATUS);
        st->checkpoint = m->checkpoint;
        st->flags = flags;
        st->value = (int64_t)s->inputs_since_barrier;
        st->times = s->times; /* the message takes the bag */
        s->times = (ed_tsbag_t){0};
        ed_actor_send(s->self, s->plan->coordinator, &st);
        s->inputs_since_barrier = 0;
        break;
    }
    case ED_MSG_COMMIT: {
        char err[512] = "";
        if (s->drv->commit(s->drv_ctx, m->checkpoint, err, sizeof err) < 0)
            ED_LOG_W(s->src->name, "commit of checkpoint %llu failed: %s; a later commit covers it",
                     (unsigned long long)m->checkpoint, err);
        else
            s->plan->source_stats[s->slot].commits++;
        s_send_ctl(s, s->plan->coordinator, ED_MSG_COMMITTED, m->checkpoint, m->flags, 0);
        break;
    }
    case ED_MSG_PAUSE:
        s->paused = m->value != 0;
        s->drv->pause(s->drv_ctx, s->paused);
        if (!s->paused)
            ed_actor_wake_now(a);
        break;
    default:
        ED_LOG_W(s->src->name, "unexpected message type %d", (int)m->type);
    }
    return 0;
}

const ed_actor_type_t ed_source_actor = {.name = "source",
                                         .init = s_init,
                                         .on_message = s_on_message,
                                         .on_tick = s_on_tick,
                                         .stop = s_stop};

/* ---- construction (called by ed_plan_new, before the runtime starts) ---- */

void *ed_source_actor_new(ed_plan_t *plan, int idx, int instance, int slot, char *errstr,
                          size_t errstr_size);
void ed_source_actor_free(void *state);

void *ed_source_actor_new(ed_plan_t *plan, int idx, int instance, int slot, char *errstr,
                          size_t errstr_size) {
    const ed_config_t *conf = plan->conf;
    ed_src_actor_t *s = ed_calloc(1, sizeof *s);
    s->plan = plan;
    s->idx = idx;
    s->slot = slot;
    /* A shallow copy (strings stay borrowed from the config): instances of a
     * generator split its events and draw from different seeds; Kafka
     * instances are consumers of the same group and need no change. */
    s->local = conf->sources[idx];
    if (s->local.kind == ED_SRC_GENERATOR && s->local.instances > 1) {
        uint64_t n = (uint64_t)s->local.instances, ev = s->local.generator.events;
        s->local.generator.events = ev / n + ((uint64_t)instance < ev % n ? 1 : 0);
        s->local.generator.seed += (uint64_t)instance * 0x9E3779B97F4A7C15ull;
        s->local.generator.rate /= (double)n;
    }
    s->src = &s->local;
    s->rejects_slot = -1;
    s->drv = ed_source_type_find(s->src->kind);
    if (!s->drv) {
        ed_seterr(errstr, errstr_size, ED_EINVAL, "source '%s': no driver for its kind",
                  s->src->name);
        ed_source_actor_free(s);
        return NULL;
    }
    if (s->src->time_field) {
        s->time_ref = s_ref(s, s->src->time_field);
        s->has_time = 1;
    }
    for (int a = 0; a < conf->naggregations; a++) {
        const ed_conf_aggregation_t *ca = &conf->aggregations[a];
        if (ca->from_idx != idx)
            continue;
        s->aggs = ed_realloc(s->aggs, sizeof *s->aggs * (size_t)(s->naggs + 1));
        ed_src_agg_t *sa = &s->aggs[s->naggs++];
        sa->agg = a;
        sa->nkey = ca->nkey;
        sa->key = ed_calloc((size_t)ca->nkey, sizeof *sa->key);
        for (int k = 0; k < ca->nkey; k++)
            sa->key[k] = s_ref(s, ca->key[k].field);
        sa->nvals = ca->ncompute;
        sa->vals = ed_calloc((size_t)ca->ncompute, sizeof *sa->vals);
        for (int c = 0; c < ca->ncompute; c++)
            sa->vals[c] = ca->compute[c].field ? s_ref(s, ca->compute[c].field)
                                               : (ed_fieldref_t){.slot = -1, .name = "count"};
    }
    if (s->src->kind != ED_SRC_GENERATOR && (s->naggs || s->has_time)) {
        if (ed_decoder_new(&s->dec, s->src->format, s->dec_fields, s->ndec, errstr, errstr_size) <
            0) {
            char tmp[512];
            snprintf(tmp, sizeof tmp, "source '%s' (%s:%d:%d): %s", s->src->name, s->src->pos.file,
                     s->src->pos.line, s->src->pos.col, errstr);
            ed_seterr(errstr, errstr_size, ED_EINVAL, "%s", tmp);
            ed_source_actor_free(s);
            return NULL;
        }
    } else if (s->src->kind == ED_SRC_GENERATOR && s->ndec) {
        ed_seterr(errstr, errstr_size, ED_EINVAL,
                  "source '%s' (%s:%d:%d): a generator has only the fields @key, @value, "
                  "@offset and @timestamp, not '%s'",
                  s->src->name, s->src->pos.file, s->src->pos.line, s->src->pos.col,
                  s->dec_fields[0]);
        ed_source_actor_free(s);
        return NULL;
    }
    s->agg_out = ed_calloc((size_t)(plan->naggs ? plan->naggs : 1), sizeof *s->agg_out);
    /* Direct sinks: pass-through targets, then the rejects sink. */
    s->direct = ed_calloc((size_t)s->src->nto + 1, sizeof *s->direct);
    s->pass = ed_calloc((size_t)s->src->nto + 1, sizeof *s->pass);
    for (int i = 0; i < s->src->nto; i++) {
        s->direct[s->ndirect] = plan->sink_ids[ed_config_sink_idx(conf, s->src->to[i])];
        s->pass[s->ndirect++] = 1;
    }
    if (s->src->rejects) {
        uint32_t id = plan->sink_ids[ed_config_sink_idx(conf, s->src->rejects)];
        for (int i = 0; i < s->ndirect; i++)
            if (s->direct[i] == id)
                s->rejects_slot = i;
        if (s->rejects_slot < 0) {
            s->rejects_slot = s->ndirect;
            s->direct[s->ndirect++] = id;
        }
    }
    s->direct_out = ed_calloc((size_t)s->ndirect + 1, sizeof *s->direct_out);
    return s;
}


void ed_source_actor_free(void *state) {
    ed_src_actor_t *s = state;
    if (!s)
        return;
    for (int a = 0; a < s->naggs; a++) {
        free(s->aggs[a].key);
        free(s->aggs[a].vals);
    }
    free(s->aggs);
    free(s->dec_fields);
    ed_tsbag_free(&s->times);
    ed_decoder_destroy(&s->dec);
    if (s->agg_out)
        for (int p = 0; p < (s->plan->naggs ? s->plan->naggs : 1); p++)
            ed_batch_destroy(&s->agg_out[p]);
    free(s->agg_out);
    for (int i = 0; i < s->ndirect; i++)
        ed_batch_destroy(&s->direct_out[i]);
    free(s->direct_out);
    free(s->direct);
    free(s->pass);
    free(s);
}
