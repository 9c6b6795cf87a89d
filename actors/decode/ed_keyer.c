/* ed_keyer.c — see ed_keyer.h. */
#define _GNU_SOURCE
#include "actors/decode/ed_keyer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/decode/ed_decode.h"
#include "actors/decode/ed_hash.h"
#include "actors/decode/ed_time.h"
#include "actors/decode/ed_transform.h"
#include "actors/decode/ed_where.h"
#include "actors/aggregate/ed_aggfn.h"
#include "actors/aggregate/ed_window.h"
#include "actors/ed_checkpoint.h"
#include "actors/sources/ed_watermark.h"
#include "actors/ed_payload.h"
#include "runtime/ed_buf.h"

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

/* A `where:` filter as this keyer evaluates it. */
typedef struct {
    ed_where_ctx_t *cx;          /* NULL: no filter, every record passes */
    ed_fieldref_t *refs;         /* [n]: where each field of the expression comes from */
    ed_val_t *vals;              /* [n]: their values for the record at hand */
    int n;
    ed_where_stats_t *stats;     /* the plan's shared counters of this filter */
    uint64_t pend_passed, pend_filtered; /* not yet added to stats */
    ed_where_counts_t published; /* the context's counts already added to stats */
} ed_filter_t;

/* A per-record alert on this source: matching records go to its sinks. */
typedef struct {
    ed_filter_t filter;
    int *sinks; /* [nsinks] config sink indexes */
    int nsinks;
} ed_src_alert_t;

typedef struct {
    int agg;             /* aggregation index in the config */
    ed_filter_t filter;  /* its `where:` */
    ed_fieldref_t *key;  /* [nkey] */
    int nkey;
    ed_fieldref_t *vals; /* [ncompute]; meta NONE and slot -1 for count */
    uint8_t *hashed;     /* [ncompute] 1: the compute takes the hash of the field's text
                            (ED_AGGFN_IN_HASH: approx_distinct), not its number */
    int nvals;
    int with_record;     /* `late: SINK`: keyed records carry the input record */
} ed_src_agg_t;

/* A keyer does not know the partitions it will read (a decoder actor is
 * handed inputs of any of its source's), so before its first record it
 * holds its watermark at NONE through a placeholder partition assigned now:
 * not idle until time.idle_timeout passes (never, with 0), as an assigned
 * Kafka partition that has not spoken. Otherwise an aggregator would count
 * a decoder that has not received input yet as idle, let another
 * decoder's watermark run ahead, and find this one's first records late. */
#define S_PART_WAIT INT32_MIN

/* Longest composite key, bytes; longer keys are rejected. */
#define ED_KEY_MAX 4096

struct ed_keyer {
    ed_plan_t *plan;
    const ed_conf_source_t *src;
    int src_idx; /* src's config index */
    int slot; /* ed_plan_source_stats(plan, slot) */
    ed_decoder_t *dec;
    const char **dec_fields; /* names asked of the decoder */
    int ndec;
    ed_fieldref_t time_ref; /* time field, meta NONE + slot -1 = processing time */
    int has_time;
    ed_watermark_t *wm;     /* per-partition watermarks of the records keyed here */
    int64_t wm_cur;         /* its value after the last record (or send): stamped on records */
    int64_t *wm_cell;       /* where wm_cur is published for the HTTP endpoint (ed_plan.h) */
    ed_part_cell_t *wm_parts; /* where each partition's watermark is published (s_publish_parts) */
    int parts_dirty;          /* a partition's watermark rose since the last publish */
    int wm_waiting;         /* no record yet: S_PART_WAIT holds the watermark (see s_wm_init) */
    ed_src_agg_t *aggs; /* aggregations reading this source */
    int naggs;
    ed_src_alert_t *alerts; /* per-record alerts on this source */
    int nalerts;
    ed_batch_t **alert_out; /* [conf->nsinks] RECORDS batch per alert sink, lazily made */
    uint32_t *agg_ids;     /* [nparts] aggregator actor of each partition (the plan's KEYED links) */
    int nparts;            /* partitions: aggregator actors this keyer sends to */
    ed_batch_t **agg_out;  /* [nparts] KEYED batch per aggregator actor */
    uint32_t rejects_id;   /* rejects sink actor id, if has_rejects */
    int has_rejects;
    ed_batch_t *rejects_out; /* RECORDS for the rejects sink */
    ed_xrun_t *xrun;         /* the source's transforms, or NULL */
    uint32_t *direct;        /* [ndirect] pass-through sinks after transforms (RECORDS links) */
    int ndirect;
    ed_batch_t **direct_out; /* [ndirect] their RECORDS batches */
    const ed_input_t *raw;   /* the input as read (rejects carry it), before transforms */
    int64_t linger_deadline; /* when the oldest unsent partial batch must go (ms), or 0 */
    const ed_input_t *cur;   /* input being decoded (for reject positions) */
    int cur_rejected;        /* current input already counted as rejected */
    ed_actor_t *self;        /* the owner, during ed_keyer_input */
    uint64_t pend_records, pend_rejected, pend_filtered; /* not yet added to the shared stats */
    uint64_t rejected_total;              /* this keyer's rejects, for the log */
    uint64_t logged_rejects;
    uint8_t key[ED_KEY_MAX + 64];
    char num_text[8][40]; /* text of numeric meta values per key part */
};

static ed_meta_t s_meta_of(const char *field) {
    for (size_t i = 1; i < ED_ARRAY_SIZE(s_meta_names); i++)
        if (strcmp(field, s_meta_names[i]) == 0)
            return (ed_meta_t)i;
    return ED_META_NONE;
}

/* Resolves a field name to a ref, adding decoder slots as needed. */
static ed_fieldref_t s_ref(ed_keyer_t *k, const char *field) {
    ed_fieldref_t r = {.meta = s_meta_of(field), .slot = -1, .name = field};
    if (r.meta != ED_META_NONE)
        return r;
    for (int i = 0; i < k->ndec; i++)
        if (strcmp(k->dec_fields[i], field) == 0) {
            r.slot = i;
            return r;
        }
    k->dec_fields = ed_realloc(k->dec_fields, sizeof *k->dec_fields * (size_t)(k->ndec + 1));
    k->dec_fields[k->ndec] = field;
    r.slot = k->ndec++;
    return r;
}

/* Value of a field for the current record. Numeric meta values get their text
 * (written to `scratch`, 40 bytes) only when `want_text`: keys need text,
 * computes and times only the number — formatting every event's value would
 * cost more than the rest of the pipeline. */
static ed_val_t s_get(ed_keyer_t *k, const ed_fieldref_t *r, const ed_val_t *vals, char *scratch,
                      int want_text) {
    const ed_input_t *in = k->cur;
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

static void s_add(uint64_t *to, uint64_t n) {
    if (n)
        __atomic_fetch_add(to, n, __ATOMIC_RELAXED);
}

/* Adds a filter's pending counts to the plan's shared ones. */
static void s_filter_publish(ed_filter_t *f) {
    if (!f->stats)
        return;
    s_add(&f->stats->passed, f->pend_passed);
    s_add(&f->stats->filtered, f->pend_filtered);
    f->pend_passed = f->pend_filtered = 0;
    if (!f->cx)
        return;
    const ed_where_counts_t *c = ed_where_ctx_counts(f->cx);
    s_add(&f->stats->missing, c->missing - f->published.missing);
    s_add(&f->stats->wrong_type, c->wrong_type - f->published.wrong_type);
    s_add(&f->stats->regex_failed, c->regex_failed - f->published.regex_failed);
    f->published = *c;
}

/* Adds the pending counts to the shared per-source and per-filter stats. */
static void s_publish_counts(ed_keyer_t *k) {
    for (int a = 0; a < k->naggs; a++)
        s_filter_publish(&k->aggs[a].filter);
    for (int r = 0; r < k->nalerts; r++)
        s_filter_publish(&k->alerts[r].filter);
    ed_source_stats_t *st = ed_plan_source_stats(k->plan, k->slot);
    if (k->pend_records) {
        __atomic_fetch_add(&st->records, k->pend_records, __ATOMIC_RELAXED);
        k->pend_records = 0;
    }
    if (k->pend_rejected) {
        __atomic_fetch_add(&st->rejected, k->pend_rejected, __ATOMIC_RELAXED);
        k->pend_rejected = 0;
    }
    s_add(&st->filtered, k->pend_filtered);
    k->pend_filtered = 0;
}

static void s_send_rejects(ed_keyer_t *k, ed_actor_t *self) {
    if (k->rejects_out && k->rejects_out->count) {
        ed_msg_t *m = ed_msg_new_batch(ED_MSG_BATCH, &k->rejects_out);
        ed_actor_send(self, k->rejects_id, &m);
    }
}

static void s_send_alerts(ed_keyer_t *k, ed_actor_t *self, int sink) {
    if (k->alert_out[sink] && k->alert_out[sink]->count) {
        ed_msg_t *m = ed_msg_new_batch(ED_MSG_BATCH, &k->alert_out[sink]);
        ed_actor_send(self, ed_plan_sink_id(k->plan, sink), &m);
    }
}

/* 1 if the current record passes filter f (always, without a `where`). */
static int s_filter_pass(ed_keyer_t *k, ed_filter_t *f, const ed_val_t *vals) {
    if (!f->cx) {
        f->pend_passed++;
        return 1;
    }
    char scratch[40]; /* unused: values for filters need no text */
    for (int i = 0; i < f->n; i++)
        f->vals[i] = s_get(k, &f->refs[i], vals, scratch, 0);
    if (ed_where_eval(f->cx, f->vals)) {
        f->pend_passed++;
        return 1;
    }
    f->pend_filtered++;
    return 0;
}

/* The current record matches per-record alert al: it goes, unchanged (the
 * input's payload, with its key), to every sink of the alert. */
static void s_alert_record(ed_keyer_t *k, const ed_src_alert_t *al, int64_t ts) {
    const ed_input_t *in = k->cur;
    for (int i = 0; i < al->nsinks; i++) {
        int sk = al->sinks[i];
        if (!k->alert_out[sk])
            k->alert_out[sk] = ed_batch_new(ED_BATCH_RECORDS, 64 * 1024);
        char pos[512];
        size_t pl = ed_input_position(in, pos, sizeof pos);
        ed_batch_add_record_at(k->alert_out[sk], in->key ? in->key : "",
                               in->key ? (uint32_t)in->key_len : 0, in->data ? in->data : "",
                               (uint32_t)in->len, ts, k->src_idx, pos, pl);
        if (k->alert_out[sk]->count >= (uint32_t)k->src->batch_size)
            s_send_alerts(k, k->self, sk);
        else if (!k->linger_deadline)
            k->linger_deadline = ed_now_ms() + k->src->linger_ms;
    }
}

/* Counts a rejected input or record, logs it (rate-limited) and routes it
 * to the rejects sink when one is configured. */
static void s_reject(ed_keyer_t *k, const char *why) {
    if (k->cur_rejected)
        return; /* one input counts once, however many of its records fail */
    k->cur_rejected = 1;
    k->pend_rejected++;
    k->rejected_total++;
    char pos[512];
    ed_input_position(k->cur, pos, sizeof pos);
    if (k->logged_rejects < 10 || k->rejected_total % 10000 == 0) {
        ED_LOG_W(k->src->name, "rejected input at %s: %s%s (%llu rejected so far%s)", pos, why,
                 k->has_rejects ? "; sent to the rejects sink" : "",
                 (unsigned long long)k->rejected_total,
                 k->src->decoders > 1 ? " by this decoder" : "");
        k->logged_rejects++;
    }
    if (!k->has_rejects)
        return;
    ed_buf_t b = ED_BUF_INIT;
    ed_buf_puts(&b, "{\"source\":");
    ed_buf_json_str(&b, k->src->name, strlen(k->src->name));
    ed_buf_puts(&b, ",\"position\":");
    ed_buf_json_str(&b, pos, strlen(pos));
    ed_buf_puts(&b, ",\"error\":");
    ed_buf_json_str(&b, why, strlen(why));
    if (k->src->format == ED_FMT_AVRO) {
        /* binary: as hex, which any text column holds and any tool reads back */
        static const char hx[] = "0123456789abcdef";
        const unsigned char *p = (const unsigned char *)(k->raw->data ? k->raw->data : "");
        ed_buf_puts(&b, ",\"input_hex\":\"");
        for (size_t i = 0; i < k->raw->len; i++) {
            char two[2] = {hx[p[i] >> 4], hx[p[i] & 15]};
            ed_buf_append(&b, two, 2);
        }
        ed_buf_puts(&b, "\"}");
    } else {
        ed_buf_puts(&b, ",\"input\":");
        ed_buf_json_str(&b, k->raw->data ? k->raw->data : "", k->raw->len);
        ed_buf_puts(&b, "}");
    }
    if (!k->rejects_out)
        k->rejects_out = ed_batch_new(ED_BATCH_RECORDS, 64 * 1024);
    ed_batch_add_record(k->rejects_out, pos, (uint32_t)strlen(pos), b.data, (uint32_t)b.len,
                        ed_wall_ms());
    ed_buf_free(&b);
    if (k->rejects_out->count >= (uint32_t)k->src->batch_size)
        s_send_rejects(k, k->self);
    else if (!k->linger_deadline)
        k->linger_deadline = ed_now_ms() + k->src->linger_ms;
}

int64_t ed_keyer_watermark(ed_keyer_t *k, int *idle) {
    int id = 0;
    k->wm_cur = ed_watermark_current(k->wm, ed_now_ms(), &id);
    ed_stat_set_i64(k->wm_cell, k->wm_cur);
    if (idle)
        *idle = id;
    return k->wm_cur;
}

void ed_keyer_finish(ed_keyer_t *k) {
    ed_watermark_finish(k->wm);
    k->wm_cur = ED_WATERMARK_END;
    ed_stat_set_i64(k->wm_cell, k->wm_cur);
}

void ed_keyer_assign(ed_keyer_t *k, const int32_t *parts, int n) {
    if (!k->has_time)
        return;
    int64_t now = ed_now_ms();
    for (int i = 0; i < n; i++) {
        int found;
        ed_watermark_partition(k->wm, parts[i], &found);
        if (!found)
            ed_watermark_assign(k->wm, parts[i], now);
    }
    for (int i = ed_watermark_npartitions(k->wm) - 1; i >= 0; i--) {
        int32_t id;
        ed_watermark_nth(k->wm, i, &id);
        int listed = id == S_PART_WAIT && !n;
        for (int j = 0; j < n && !listed; j++)
            listed = parts[j] == id;
        if (!listed)
            ed_watermark_revoke(k->wm, id);
    }
    /* the assigned partitions hold the watermark now; none: the
     * placeholder is gone too, and the source is idle until input */
    k->wm_waiting = 0;
    k->parts_dirty = 1;
}

static void s_send_agg(ed_keyer_t *k, ed_actor_t *self, int p) {
    if (k->agg_out[p] && k->agg_out[p]->count) {
        ed_msg_t *m = ed_msg_new_batch(ED_MSG_BATCH, &k->agg_out[p]);
        int idle;
        m->value = ed_keyer_watermark(k, &idle);
        m->flags = ED_MSG_F_WATERMARK | (idle ? ED_MSG_F_IDLE : 0);
        ed_actor_send(self, k->agg_ids[p], &m);
        s_publish_counts(k);
    }
}

/* 1 if value v of field `name` (a "key field" or a "field") is missing or
 * null: then the record is rejected, naming it. */
static int s_absent(ed_keyer_t *k, const ed_val_t *v, const char *what, const char *name) {
    if (v->type != ED_VAL_MISSING && v->type != ED_VAL_NULL)
        return 0;
    char why[256];
    snprintf(why, sizeof why, "%s '%s' is %s", what, name,
             v->type == ED_VAL_NULL ? "null" : "missing");
    s_reject(k, why);
    return 1;
}

/* A keyed record of an aggregation with `late: SINK`: the input record as
 * the aggregation reads it (after transforms) rides along, so that the
 * aggregator, which judges lateness, can route it unchanged. */
static void s_add_with_record(ed_keyer_t *k, ed_batch_t *b, const ed_src_agg_t *sa, int64_t ts,
                              int64_t wm, const double *nums, size_t klen, uint64_t h) {
    const ed_input_t *in = k->cur;
    char pos[512];
    size_t pl = ed_input_position(in, pos, sizeof pos);
    ed_keyed_input_t rec = {.key = in->key,
                            .key_len = in->key ? (uint32_t)in->key_len : 0,
                            .val = in->data ? in->data : "",
                            .val_len = (uint32_t)in->len,
                            .src = k->src_idx,
                            .pos = pos,
                            .pos_len = pl};
    ed_batch_add_keyed_record(b, (uint16_t)sa->agg, ts, wm, nums, (uint16_t)sa->nvals, k->key,
                              (uint32_t)klen, h, &rec);
}

/* One decoded record: key it for every aggregation reading this source. */
static void s_on_record(void *ud, const ed_val_t *vals) {
    ed_keyer_t *k = ud;
    k->pend_records++;
    int64_t ts = k->cur->ts_ms, wm = k->wm_cur;
    if (k->has_time) {
        char scratch[40];
        ed_val_t tv = s_get(k, &k->time_ref, vals, scratch, 0);
        int bad = ed_time_parse(&tv, k->src->time_format, &ts) != 0;
        if (bad || ts < ED_EVENT_TIME_MIN || ts > ED_EVENT_TIME_MAX) {
            char why[256];
            snprintf(why, sizeof why, "time field '%s' is %s", k->src->time_field,
                     tv.type == ED_VAL_MISSING || tv.type == ED_VAL_NULL ? "missing"
                     : bad ? "not a valid time"
                           : "out of range (more than 2^53 ms from the epoch)");
            s_reject(k, why);
            return;
        }
        /* Every valid event time moves the watermark, whatever filters and
         * keys make of the record; the record itself is judged against the
         * watermark before it. */
        int64_t now = ed_now_ms();
        if (k->wm_waiting) {
            ed_watermark_revoke(k->wm, S_PART_WAIT);
            k->wm_waiting = 0;
        }
        if (ed_watermark_observe(k->wm, k->cur->partition, ts, now)) {
            k->wm_cur = ed_watermark_current(k->wm, now, NULL);
            k->parts_dirty = 1;
        }
    }
    for (int r = 0; r < k->nalerts; r++)
        if (s_filter_pass(k, &k->alerts[r].filter, vals))
            s_alert_record(k, &k->alerts[r], ts);
    for (int a = 0; a < k->naggs; a++) {
        ed_src_agg_t *sa = &k->aggs[a];
        if (!s_filter_pass(k, &sa->filter, vals))
            continue;
        size_t klen = 0;
        for (int i = 0; i < sa->nkey; i++) {
            ed_val_t v = s_get(k, &sa->key[i], vals, k->num_text[i & 7], 1);
            if (s_absent(k, &v, "key field", sa->key[i].name))
                return;
            if (klen + 2 + v.len > ED_KEY_MAX) {
                char why[256];
                snprintf(why, sizeof why, "key longer than %d bytes (field '%s')", ED_KEY_MAX,
                         sa->key[i].name);
                s_reject(k, why);
                return;
            }
            ed_key_append(k->key, &klen, v.ptr, v.len);
        }
        double nums[ED_CONF_MAX_COMPUTE];
        for (int c = 0; c < sa->nvals; c++) {
            nums[c] = 0;
            if (sa->vals[c].slot < 0 && sa->vals[c].meta == ED_META_NONE)
                continue; /* count */
            char scratch[40];
            ed_val_t v = s_get(k, &sa->vals[c], vals, scratch, sa->hashed[c]);
            if (sa->hashed[c]) {
                /* The value's text, as a key's: a numeric meta field's too
                 * (want_text), else every one would hash the same 0 bytes. */
                if (s_absent(k, &v, "field", sa->vals[c].name))
                    return;
                nums[c] = ed_aggfn_hash_v(ed_hash64(v.ptr, v.len));
                continue;
            }
            if (ed_val_to_num(&v, &nums[c]) != 0) {
                char why[256];
                snprintf(why, sizeof why, "field '%s' is %s", sa->vals[c].name,
                         v.type == ED_VAL_MISSING ? "missing" : "not a number");
                s_reject(k, why);
                return;
            }
        }
        uint64_t h = ed_hash64(k->key, klen);
        uint32_t p = ed_hash_partition(h, (uint32_t)k->nparts);
        if (!k->agg_out[p])
            k->agg_out[p] = ed_batch_new(ED_BATCH_KEYED, 64 * 1024);
        if (sa->with_record)
            s_add_with_record(k, k->agg_out[p], sa, ts, wm, nums, klen, h);
        else
            ed_batch_add_keyed(k->agg_out[p], (uint16_t)sa->agg, ts, wm, nums,
                               (uint16_t)sa->nvals, k->key, (uint32_t)klen, h);
        if (k->agg_out[p]->count >= (uint32_t)k->src->batch_size)
            s_send_agg(k, k->self, (int)p);
        else if (!k->linger_deadline)
            k->linger_deadline = ed_now_ms() + k->src->linger_ms;
    }
}

static void s_send_direct(ed_keyer_t *k, ed_actor_t *self, int i) {
    if (k->direct_out[i] && k->direct_out[i]->count) {
        ed_msg_t *m = ed_msg_new_batch(ED_MSG_BATCH, &k->direct_out[i]);
        ed_actor_send(self, k->direct[i], &m);
    }
}

/* The transformed record to every pass-through sink. */
static void s_direct(ed_keyer_t *k, const ed_input_t *in) {
    char pos[512];
    size_t pl = ed_input_position(in, pos, sizeof pos);
    for (int i = 0; i < k->ndirect; i++) {
        if (!k->direct_out[i])
            k->direct_out[i] = ed_batch_new(ED_BATCH_RECORDS, 64 * 1024);
        ed_batch_add_record_at(k->direct_out[i], in->key, in->key ? (uint32_t)in->key_len : 0,
                               in->data, (uint32_t)in->len, in->ts_ms, k->src_idx, pos, pl);
        if (k->direct_out[i]->count >= (uint32_t)k->src->batch_size)
            s_send_direct(k, k->self, i);
        else if (!k->linger_deadline)
            k->linger_deadline = ed_now_ms() + k->src->linger_ms;
    }
}

void ed_keyer_input(ed_keyer_t *k, ed_actor_t *self, const ed_input_t *in) {
    if (!ed_keyer_active(k))
        return;
    k->self = self;
    k->cur = k->raw = in;
    k->cur_rejected = 0;
    ed_input_t t;
    if (k->xrun) {
        char why[768];
        const char *out;
        size_t out_len;
        ed_xr_t r = ed_xrun_apply(k->xrun, in->data ? in->data : "", in->len, &out, &out_len, why,
                                  sizeof why);
        if (r == ED_XR_FILTERED) {
            k->pend_filtered++;
            return;
        }
        if (r == ED_XR_REJECT) {
            s_reject(k, why);
            return;
        }
        t = *in;
        t.data = out;
        t.len = out_len;
        k->cur = in = &t;
        s_direct(k, in);
        if (!k->dec) {
            k->pend_records++; /* pass-through only: nothing decodes it again */
            return;
        }
    }
    if (!(k->src->type->caps & ED_CAP_PAYLOAD)) {
        /* Generated events carry no payload: their fields are all meta. */
        s_on_record(k, NULL);
        return;
    }
    char err[512];
    if (ed_decoder_decode(k->dec, in->data ? in->data : "", in->len, s_on_record, k, err,
                          sizeof err) < 0)
        s_reject(k, err);
}

int ed_keyer_active(const ed_keyer_t *k) {
    return k->naggs > 0 || k->nalerts > 0 || k->ndirect > 0;
}

/* Each partition's watermark for the HTTP endpoint (ed_plan_parts_cell): a
 * new table swapped in at a flush (linger or barrier) after one rose — so
 * the last records read are shown even when no barrier follows them (a sink
 * down holds checkpoints back). */
static void s_publish_parts(ed_keyer_t *k) {
    k->parts_dirty = 0;
    int n = ed_watermark_npartitions(k->wm), m = 0;
    ed_part_fig_t *v = n ? ed_calloc((size_t)n, sizeof *v) : NULL;
    for (int i = 0; i < n; i++) {
        int32_t id;
        int64_t w = ed_watermark_nth(k->wm, i, &id);
        if (id != S_PART_WAIT)
            v[m++] = (ed_part_fig_t){.partition = id, .committed = -1, .read = -1, .end = -1,
                                     .lag = -1, .watermark_ms = w};
    }
    ed_part_cell_publish(k->wm_parts, &v, m, ed_wall_ms());
}

void ed_keyer_barrier(ed_keyer_t *k, ed_actor_t *self, uint64_t n, uint32_t flags) {
    ed_keyer_flush(k, self);
    if (flags & ED_MSG_F_INPUT_END)
        ed_keyer_finish(k);
    int idle;
    int64_t wm = ed_keyer_watermark(k, &idle);
    ed_plan_send_barriers_value(k->plan, self, n,
                                flags | ED_MSG_F_WATERMARK | (idle ? ED_MSG_F_IDLE : 0), wm);
}

void ed_keyer_flush(ed_keyer_t *k, ed_actor_t *self) {
    for (int p = 0; p < k->nparts; p++)
        s_send_agg(k, self, p);
    for (int sk = 0; sk < ed_plan_config(k->plan)->nsinks && k->nalerts; sk++)
        s_send_alerts(k, self, sk);
    for (int i = 0; i < k->ndirect; i++)
        s_send_direct(k, self, i);
    s_send_rejects(k, self);
    s_publish_counts(k);
    if (k->parts_dirty)
        s_publish_parts(k);
    k->linger_deadline = 0;
}

int64_t ed_keyer_deadline(const ed_keyer_t *k) {
    return k->linger_deadline;
}


static void s_wm_init(ed_keyer_t *k, const ed_conf_source_t *src) {
    k->wm = ed_watermark_new(src->time_max_ooo_ms, src->time_idle_timeout_ms);
    k->wm_cur = ED_WATERMARK_NONE;
    if (src->time_field) {
        ed_watermark_assign(k->wm, S_PART_WAIT, ed_now_ms());
        k->wm_waiting = 1;
    }
}

/* Resolves the fields of `where` (may be NULL) into filter f. */
static void s_filter_init(ed_keyer_t *k, ed_filter_t *f, const struct ed_where *where,
                          ed_where_stats_t *stats) {
    *f = (ed_filter_t){.stats = stats};
    if (!where)
        return;
    f->n = ed_where_nfields(where);
    f->refs = ed_calloc((size_t)f->n, sizeof *f->refs);
    f->vals = ed_calloc((size_t)f->n, sizeof *f->vals);
    for (int i = 0; i < f->n; i++)
        f->refs[i] = s_ref(k, ed_where_field(where, i));
    f->cx = ed_where_ctx_new(where);
}

static void s_filter_free(ed_filter_t *f) {
    ed_where_ctx_destroy(&f->cx);
    free(f->refs);
    free(f->vals);
}

/* The per-record alerts on config source idx, with their sinks; 0, or -1
 * with errstr if the plan gave `owner` no ALERTS link to one of them. */
static int s_alerts_new(ed_keyer_t *k, uint32_t owner, int idx, char *errstr,
                        size_t errstr_size) {
    const ed_config_t *conf = ed_plan_config(k->plan);
    int nlinks = ed_plan_receivers_of(k->plan, owner, ED_LINK_ALERTS, NULL, 0);
    uint32_t *links = ed_calloc((size_t)nlinks + 1, sizeof *links);
    ed_plan_receivers_of(k->plan, owner, ED_LINK_ALERTS, links, nlinks);
    int rc = 0;
    for (int r = 0; r < conf->nalerts; r++) {
        const ed_conf_alert_t *al = &conf->alerts[r];
        if (al->source_idx != idx)
            continue;
        k->alerts = ed_realloc(k->alerts, sizeof *k->alerts * (size_t)(k->nalerts + 1));
        ed_src_alert_t *sa = &k->alerts[k->nalerts++];
        s_filter_init(k, &sa->filter, al->where, ed_plan_alert_where_stats(k->plan, r));
        sa->nsinks = al->nto;
        sa->sinks = ed_calloc((size_t)al->nto, sizeof *sa->sinks);
        for (int t = 0; t < al->nto; t++) {
            sa->sinks[t] = al->to_idx[t];
            int linked = 0;
            for (int i = 0; i < nlinks; i++)
                linked |= links[i] == ed_plan_sink_id(k->plan, al->to_idx[t]);
            if (!linked && !rc)
                rc = ed_seterr(errstr, errstr_size, ED_ERR,
                               "plan: alert '%s' on source '%s': actor %u has no link to sink '%s'",
                               al->name, k->src->name, owner, al->to[t]);
        }
    }
    free(links);
    k->alert_out = ed_calloc((size_t)conf->nsinks + 1, sizeof *k->alert_out);
    return rc;
}

/* The receivers of owner's links of `kind` into *ids, with one (empty)
 * batch slot each in *out; returns their number. */
static int s_links(ed_plan_t *plan, uint32_t owner, ed_link_kind_t kind, uint32_t **ids,
                   ed_batch_t ***out) {
    int n = ed_plan_receivers_of(plan, owner, kind, NULL, 0);
    *ids = ed_calloc((size_t)n + 1, sizeof **ids);
    ed_plan_receivers_of(plan, owner, kind, *ids, n);
    *out = ed_calloc((size_t)n + 1, sizeof **out);
    return n;
}

ed_keyer_t *ed_keyer_new(ed_plan_t *plan, uint32_t owner, const ed_conf_source_t *src, int slot,
                         char *errstr, size_t errstr_size) {
    const ed_config_t *conf = ed_plan_config(plan);
    ed_keyer_t *k = ed_calloc(1, sizeof *k);
    k->plan = plan;
    k->src = src;
    k->slot = slot;
    k->wm_cell = ed_plan_watermark_cell(plan, owner);
    ed_stat_set_i64(k->wm_cell, ED_WATERMARK_NONE);
    k->wm_parts = ed_plan_parts_cell(plan, owner, ED_PARTS_WATERMARKS);
    int idx = ed_config_source_idx(conf, src->name);
    k->src_idx = idx;
    if (src->time_field) {
        k->time_ref = s_ref(k, src->time_field);
        k->has_time = 1;
    }
    s_wm_init(k, src);
    for (int a = 0; a < conf->naggregations; a++) {
        const ed_conf_aggregation_t *ca = &conf->aggregations[a];
        if (ca->from_idx != idx)
            continue;
        k->aggs = ed_realloc(k->aggs, sizeof *k->aggs * (size_t)(k->naggs + 1));
        ed_src_agg_t *sa = &k->aggs[k->naggs++];
        sa->agg = a;
        s_filter_init(k, &sa->filter, ca->where, ed_plan_agg_where_stats(plan, a));
        sa->nkey = ca->nkey;
        sa->key = ed_calloc((size_t)ca->nkey, sizeof *sa->key);
        for (int i = 0; i < ca->nkey; i++)
            sa->key[i] = s_ref(k, ca->key[i].field);
        sa->with_record = ca->window.late == ED_WLATE_SINK;
        sa->nvals = ca->ncompute;
        sa->vals = ed_calloc((size_t)ca->ncompute, sizeof *sa->vals);
        sa->hashed = ed_calloc((size_t)ca->ncompute + 1, 1);
        for (int c = 0; c < ca->ncompute; c++) {
            sa->vals[c] = ca->compute[c].field ? s_ref(k, ca->compute[c].field)
                                               : (ed_fieldref_t){.slot = -1, .name = "count"};
            sa->hashed[c] = ca->compute[c].fn->input == ED_AGGFN_IN_HASH;
        }
    }
    if (s_alerts_new(k, owner, idx, errstr, errstr_size) < 0) {
        ed_keyer_destroy(&k);
        return NULL;
    }
    int payload = (src->type->caps & ED_CAP_PAYLOAD) != 0;
    if (payload && (k->naggs || k->nalerts || k->has_time)) {
        int rc = src->format == ED_FMT_AVRO
                     ? ed_decoder_new_avro(&k->dec, src->avro, (ed_avro_framing_t)src->framing,
                                           (uint32_t)src->schema_id, k->dec_fields, k->ndec,
                                           errstr, errstr_size)
                     : ed_decoder_new(&k->dec, src->format, k->dec_fields, k->ndec, errstr,
                                      errstr_size);
        if (rc < 0) {
            char tmp[512];
            snprintf(tmp, sizeof tmp, "%s:%d:%d: source '%s': %s", src->pos.file, src->pos.line,
                     src->pos.col, src->name, errstr);
            ed_seterr(errstr, errstr_size, ED_EINVAL, "%s", tmp);
            ed_keyer_destroy(&k);
            return NULL;
        }
    } else if (!payload && k->ndec) {
        /* The loader refuses such fields already (ed_conf_check_field). */
        ed_seterr(errstr, errstr_size, ED_EINVAL,
                  "%s:%d:%d: source '%s' (%s) has only meta fields, not '%s'", src->pos.file,
                  src->pos.line, src->pos.col, src->name, src->type->name, k->dec_fields[0]);
        ed_keyer_destroy(&k);
        return NULL;
    }
    k->nparts = s_links(plan, owner, ED_LINK_KEYED, &k->agg_ids, &k->agg_out);
    k->has_rejects = ed_plan_receivers_of(plan, owner, ED_LINK_REJECTS, &k->rejects_id, 1) > 0;
    if (src->transforms) {
        if (ed_xrun_new(src->transforms, &k->xrun, errstr, errstr_size) < 0) {
            ed_keyer_destroy(&k);
            return NULL;
        }
        k->ndirect = s_links(plan, owner, ED_LINK_RECORDS, &k->direct, &k->direct_out);
    }
    if (k->naggs && !k->nparts) {
        ed_seterr(errstr, errstr_size, ED_ERR,
                  "plan: source '%s' has aggregations but its actor %u no link to an aggregator",
                  src->name, owner);
        ed_keyer_destroy(&k);
        return NULL;
    }
    return k;
}

void ed_keyer_destroy(ed_keyer_t **k_p) {
    if (!k_p || !*k_p)
        return;
    ed_keyer_t *k = *k_p;
    ed_stat_set_i64(k->wm_cell, ED_WATERMARK_END); /* no keyer here any more */
    ed_part_cell_publish(k->wm_parts, NULL, 0, ed_wall_ms());
    for (int a = 0; a < k->naggs; a++) {
        free(k->aggs[a].key);
        free(k->aggs[a].vals);
        free(k->aggs[a].hashed);
        s_filter_free(&k->aggs[a].filter);
    }
    free(k->aggs);
    for (int r = 0; r < k->nalerts; r++) {
        s_filter_free(&k->alerts[r].filter);
        free(k->alerts[r].sinks);
    }
    free(k->alerts);
    if (k->alert_out)
        for (int sk = 0; sk < ed_plan_config(k->plan)->nsinks; sk++)
            ed_batch_destroy(&k->alert_out[sk]);
    free(k->alert_out);
    free(k->dec_fields);
    ed_watermark_destroy(&k->wm);
    ed_decoder_destroy(&k->dec);
    if (k->agg_out)
        for (int p = 0; p < k->nparts; p++)
            ed_batch_destroy(&k->agg_out[p]);
    free(k->agg_out);
    free(k->agg_ids);
    ed_batch_destroy(&k->rejects_out);
    for (int i = 0; i < k->ndirect; i++)
        ed_batch_destroy(&k->direct_out[i]);
    free(k->direct_out);
    free(k->direct);
    ed_xrun_destroy(&k->xrun);
    free(k);
    *k_p = NULL;
}
