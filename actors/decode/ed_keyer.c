/* ed_keyer.c — see ed_keyer.h. */
#define _GNU_SOURCE
#include "actors/decode/ed_keyer.h"
#include "actors/decode/ed_keyer_int.h"

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

/* XXH3 inlined here as in ed_hash.c (the same XXH3_64bits as ed_hash64):
 * the keyer hashes every record's key. */
#define XXH_INLINE_ALL
#include <xxhash.h>


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

/* s_get without a call in the cases met per record on the hot path: a
 * decoder slot, @key, @value as a number. */
static inline ed_val_t s_val(ed_keyer_t *k, const ed_fieldref_t *r, const ed_val_t *vals,
                             char *scratch, int want_text) {
    if (r->meta == ED_META_NONE && r->slot >= 0)
        return vals[r->slot];
    if (r->meta == ED_META_KEY && k->cur->key)
        return (ed_val_t){.type = ED_VAL_STRING, .ptr = k->cur->key, .len = k->cur->key_len};
    if (r->meta == ED_META_VALUE && !want_text)
        return (ed_val_t){.type = ED_VAL_NUMBER, .ptr = scratch, .len = 0, .num = k->cur->num};
    return s_get(k, r, vals, scratch, want_text);
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

void ed_keyer_assign(ed_keyer_t *k, const ed_topic_part_t *parts, int n) {
    if (!k->has_time)
        return;
    int64_t now = ed_now_ms();
    for (int i = 0; i < n; i++) {
        int found;
        ed_watermark_partition(k->wm, parts[i].topic, parts[i].partition, &found);
        if (!found)
            ed_watermark_assign(k->wm, parts[i].topic, parts[i].partition, now);
    }
    for (int i = ed_watermark_npartitions(k->wm) - 1; i >= 0; i--) {
        const char *topic;
        int32_t id;
        ed_watermark_nth(k->wm, i, &topic, &id);
        int listed = id == S_PART_WAIT && !topic && !n;
        for (int j = 0; j < n && !listed; j++)
            listed = parts[j].partition == id &&
                     (parts[j].topic && topic ? !strcmp(parts[j].topic, topic)
                                              : parts[j].topic == topic);
        if (!listed)
            ed_watermark_revoke(k->wm, topic, id);
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
        int64_t now = k->read_ms;
        if (k->wm_waiting) {
            ed_watermark_revoke(k->wm, NULL, S_PART_WAIT);
            k->wm_waiting = 0;
        }
        if (ed_watermark_observe(k->wm, k->cur->topic, k->cur->partition, ts, now)) {
            k->wm_cur = ed_watermark_current(k->wm, now, NULL);
            k->parts_dirty = 1;
        }
    }
    for (int r = 0; r < k->nalerts; r++)
        if (s_filter_pass(k, &k->alerts[r].filter, vals))
            s_alert_record(k, &k->alerts[r], ts);
    for (int a = 0; a < k->naggs; a++) {
        ed_src_agg_t *sa = &k->aggs[a];
        if (!sa->filter.cx)
            sa->filter.pend_passed++; /* no `where`: every record passes, without a call */
        else if (!s_filter_pass(k, &sa->filter, vals))
            continue;
        size_t klen = 0;
        for (int i = 0; i < sa->nkey; i++) {
            ed_val_t v = s_val(k, &sa->key[i], vals, k->num_text[i & 7], 1);
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
            ed_val_t v = s_val(k, &sa->vals[c], vals, scratch, sa->hashed[c]);
            if (sa->hashed[c]) {
                /* The value's text, as a key's: a numeric meta field's too
                 * (want_text), else every one would hash the same 0 bytes. */
                if (s_absent(k, &v, "field", sa->vals[c].name))
                    return;
                nums[c] = ed_aggfn_hash_v(ed_hash64(v.ptr, v.len));
                continue;
            }
            if (v.type == ED_VAL_NUMBER) /* ed_val_to_num's first case, without a call */
                nums[c] = v.num;
            else if (ed_val_to_num(&v, &nums[c]) != 0) {
                char why[256];
                snprintf(why, sizeof why, "field '%s' is %s", sa->vals[c].name,
                         v.type == ED_VAL_MISSING ? "missing" : "not a number");
                s_reject(k, why);
                return;
            }
        }
        uint64_t h = XXH3_64bits(k->key, klen); /* = ed_hash64, inlined */
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

void ed_keyer_begin(ed_keyer_t *k, int64_t now_ms) { k->read_ms = now_ms; }

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
        const char *topic;
        int32_t id;
        int64_t w = ed_watermark_nth(k->wm, i, &topic, &id);
        if (id == S_PART_WAIT && !topic)
            continue;
        v[m] = (ed_part_fig_t){.partition = id, .committed = -1, .read = -1, .end = -1,
                               .lag = -1, .watermark_ms = w};
        snprintf(v[m].topic, sizeof v[m].topic, "%s", topic ? topic : "");
        m++;
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
