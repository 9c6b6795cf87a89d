/*
 * ed_payload.h — the layouts of the pipeline's batches (runtime/ed_batch.h:
 * a byte buffer of 8-byte-aligned entries; `kind` says which layout).
 *
 *   ED_BATCH_KEYED      source → aggregator: one entry per (aggregation, key)
 *                       input record: ed_keyed_t, then double vals[nvals],
 *                       then key bytes.
 *   ED_BATCH_CHANGELOG  aggregator → sink: one row per (aggregation, key,
 *                       window) that changed since the last flush:
 *                       ed_change_t, then double delta[nvals], double
 *                       value[nvals], then key bytes.
 *   ED_BATCH_RECORDS    source → sink (pass-through) and aggregator → sink
 *                       (alerts): ed_record_t, then key bytes, then value
 *                       bytes (opaque; alerts carry JSON), then the
 *                       record's position as text (may be empty).
 *   ED_BATCH_INPUTS     source → decoder actor (`decoders: N`): raw inputs
 *                       with their metadata, to be decoded and keyed there:
 *                       ed_inputrec_t, then payload, key, topic and file
 *                       bytes (topic and file NUL-terminated).
 *   ED_BATCH_TIMES      source → coordinator (with its status at a barrier):
 *                       produce times of the inputs of one checkpoint, one
 *                       ed_tscount_t per distinct millisecond, for latency.
 *
 * Keys of KEYED and CHANGELOG entries are composite keys (actors/ed_key.h).
 * Appending aborts on OOM; iterators return entries borrowed from the batch.
 */
#ifndef ED_PAYLOAD_H
#define ED_PAYLOAD_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "actors/ed_key.h"
#include "runtime/ed_batch.h"

typedef enum {
    ED_BATCH_KEYED = 1,
    ED_BATCH_CHANGELOG = 2,
    ED_BATCH_RECORDS = 3,
    ED_BATCH_INPUTS = 4,
    ED_BATCH_TIMES = 5
} ed_batch_kind_t;

/* Header of a KEYED entry. Followed by double vals[nvals] (one input value per
 * `compute` entry of the aggregation, in config order; 0 for count) and the
 * composite key; with ED_KEYED_F_RECORD, then (at the next 8-byte boundary)
 * the input record itself as a RECORDS entry (ed_record_t, key, value,
 * position): an aggregation with `late: SINK` sends a too-late record there
 * unchanged (ed_keyed_record). */
#define ED_KEYED_F_RECORD 0x01u
typedef struct {
    uint16_t agg;     /* aggregation index in the config */
    uint8_t nvals;    /* number of doubles that follow (≤ ED_CONF_MAX_COMPUTE) */
    uint8_t flags;    /* ED_KEYED_F_* */
    uint32_t key_len; /* bytes of composite key */
    int64_t ts_ms;    /* event time, ms since the Unix epoch (0 = none) */
    int64_t wm_ms;    /* the sender's watermark just before this record (ms since the epoch;
                         INT64_MIN = none yet): the aggregator judges the record against it,
                         so lateness does not depend on where batches were cut */
    uint64_t hash;    /* ed_hash64 of the key: computed once by the source, reused by the aggregator */
} ed_keyed_t;

/* Header of a CHANGELOG row. Followed by double delta[nvals],
 * double value[nvals], then the composite key.
 * Per compute function, delta/value mean:
 *   count: delta = records since last flush, value = total
 *   sum:   delta = sum since last flush,     value = total
 *   min/max: delta = value = current min/max (not additive)
 *   avg:   delta = sum of the field since last flush, value = current avg;
 *          with delta_n this lets a sink merge avg as (sum, n).
 *   first/last: delta = event time (ms since the epoch; arrival time without
 *          `time`) of the record whose value it is, value = that value.
 * Each function's row in actors/aggregate/ed_aggfn.c says the same.        */
typedef struct {
    uint16_t agg;            /* aggregation index in the config */
    uint16_t nvals;          /* number of compute values */
    uint32_t key_len;        /* bytes of composite key */
    int64_t window_start_ms; /* window start, ms since epoch; 0 for cumulative */
    int64_t window_end_ms;   /* window end (exclusive); 0 for cumulative */
    int64_t n;               /* records aggregated into this key and window so far */
    int64_t delta_n;         /* records since the last flush */
} ed_change_t;

/* Header of a RECORDS entry. Followed by key bytes, value bytes, then
 * pos_len bytes of position text: where the input was read, as the source's
 * rejects name it ("topic/partition@offset", "file:line", "#sequence";
 * ed_input_position), for the rejects of a sink that refuses the record. */
typedef struct {
    uint32_t key_len; /* bytes of key (may be 0) */
    uint32_t val_len; /* bytes of value */
    int64_t ts_ms;    /* event time or produce time, ms since epoch (0 = none) */
    uint16_t src;     /* config index + 1 of the source that read it; 0 = none (an
                         aggregation's alert) */
    uint16_t pos_len; /* bytes of position text after the value (0 = none) */
    uint32_t pad;     /* 0 */
} ed_record_t;

/* Header of an INPUTS entry: one raw input as a source driver read it (see
 * ed_input_t in actors/sources/ed_source.h). Followed by len payload bytes, key_len
 * key bytes, topic_len topic bytes + NUL, file_len file bytes + NUL. */
#define ED_INPUT_NO_KEY 0xFFFFFFFFu /* key_len: no key (NULL) */
#define ED_INPUT_ABSENT 0xFFFFu     /* topic_len/file_len: no topic/file (NULL) */
typedef struct {
    uint32_t len;       /* payload bytes */
    uint32_t key_len;   /* key bytes, or ED_INPUT_NO_KEY */
    uint16_t topic_len; /* topic bytes, or ED_INPUT_ABSENT */
    uint16_t file_len;  /* file name bytes, or ED_INPUT_ABSENT */
    int32_t partition;  /* Kafka partition, or -1 */
    int64_t offset;     /* Kafka offset, line number, sequence number */
    int64_t ts_ms;      /* produce or event time, ms since epoch (0 = none) */
    double num;         /* generator: the event's "@value" */
} ed_inputrec_t;

/* A TIMES entry: `count` inputs produced at ts_ms (ms since epoch). */
typedef struct {
    int64_t ts_ms;
    uint64_t count;
} ed_tscount_t;

/* Writes a KEYED entry (header, vals, key; flags ED_KEYED_F_*) at p, which
 * has room for it and is 8-byte aligned. For ed_batch_add_keyed and its
 * variants. */
static inline void ed_keyed_fill(void *p, uint16_t agg, int64_t ts_ms, int64_t wm_ms,
                                 const double *vals, uint16_t nvals, const void *key,
                                 uint32_t key_len, uint64_t hash, uint8_t flags) {
    ed_keyed_t *h = p;
    *h = (ed_keyed_t){.agg = agg, .nvals = (uint8_t)nvals, .flags = flags, .key_len = key_len,
                      .ts_ms = ts_ms, .wm_ms = wm_ms, .hash = hash};
    double *v = (double *)(void *)(h + 1);
    for (uint16_t i = 0; i < nvals; i++)
        v[i] = vals[i];
    ed_batch_copy(v + nvals, key, key_len);
}

/* Appends a KEYED entry; batch->kind must be ED_BATCH_KEYED. ts_ms and
 * wm_ms as in ed_keyed_t; nvals ≤ 255 (an assert). Inline: the keyer calls
 * it per record, and a call with nine arguments cost a third of it. */
static inline void ed_batch_add_keyed(ed_batch_t *batch, uint16_t agg, int64_t ts_ms,
                                      int64_t wm_ms, const double *vals, uint16_t nvals,
                                      const void *key, uint32_t key_len, uint64_t hash) {
    assert(batch->kind == ED_BATCH_KEYED);
    assert(nvals <= UINT8_MAX);
    void *p = ed_batch_append(batch, sizeof(ed_keyed_t) + (size_t)nvals * sizeof(double) + key_len);
    ed_keyed_fill(p, agg, ts_ms, wm_ms, vals, nvals, key, key_len, hash, 0);
}

/* The input record a KEYED entry may carry (borrowed for the call): its
 * key (NULL = none), value, source (config index, or -1) and position text
 * as ed_batch_add_record_at takes them. */
typedef struct {
    const void *key;
    uint32_t key_len;
    const void *val;
    uint32_t val_len;
    int src;
    const char *pos;
    size_t pos_len;
} ed_keyed_input_t;

/* As ed_batch_add_keyed, with the input record `in` (copied) behind the
 * key, flagged ED_KEYED_F_RECORD; its ed_record_t.ts_ms is ts_ms. */
void ed_batch_add_keyed_record(ed_batch_t *batch, uint16_t agg, int64_t ts_ms, int64_t wm_ms,
                               const double *vals, uint16_t nvals, const void *key,
                               uint32_t key_len, uint64_t hash, const ed_keyed_input_t *in);

/* Appends a CHANGELOG row; batch->kind must be ED_BATCH_CHANGELOG. `hdr`
 * supplies agg, nvals, key_len, window and counts. */
void ed_batch_add_change(ed_batch_t *batch, const ed_change_t *hdr, const double *delta,
                         const double *value, const void *key);

/* Appends a RECORDS entry without a source or position; batch->kind must
 * be ED_BATCH_RECORDS. */
void ed_batch_add_record(ed_batch_t *batch, const void *key, uint32_t key_len, const void *val,
                         uint32_t val_len, int64_t ts_ms);

/* Appends a RECORDS entry read by source `src` (config index, or -1 for
 * none) at position `pos` (pos_len bytes, cut to 65535; NULL = none). */
void ed_batch_add_record_at(ed_batch_t *batch, const void *key, uint32_t key_len, const void *val,
                            uint32_t val_len, int64_t ts_ms, int src, const char *pos,
                            size_t pos_len);

/* Appends an INPUTS entry; batch->kind must be ED_BATCH_INPUTS. hdr gives
 * the lengths (ED_INPUT_NO_KEY for a NULL key, ED_INPUT_ABSENT for a NULL
 * topic or file; a NULL pointer also means absent); the bytes are copied. */
void ed_batch_add_input(ed_batch_t *batch, const ed_inputrec_t *hdr, const void *data,
                        const void *key, const char *topic, const char *file);

/* Counts `count` inputs produced at ts_ms (ms since epoch; 0 = unknown,
 * ignored) in the TIMES batch *times_p, created on first use (owned by the
 * caller; free with ed_batch_destroy). Consecutive equal timestamps share
 * one entry, so an ordered stream costs one entry per distinct millisecond.
 * ed_batch_add_time adds to the last entry inline (a source calls it per
 * input) and otherwise calls ed_batch_add_time_entry, which does it all. */
void ed_batch_add_time_entry(ed_batch_t **times_p, int64_t ts_ms, uint64_t count);
static inline void ed_batch_add_time(ed_batch_t **times_p, int64_t ts_ms, uint64_t count) {
    ed_batch_t *b = *times_p;
    if (b && b->count && ts_ms > 0) { /* inline: the same millisecond as the last input */
        ed_tscount_t *last = (ed_tscount_t *)(void *)(b->data + b->len - sizeof *last);
        if (last->ts_ms == ts_ms) {
            last->count += count;
            return;
        }
    }
    ed_batch_add_time_entry(times_p, ts_ms, count);
}

/* Iteration: `ed_batch_iter_t it; ed_batch_iter_init(&it, b);
 * while ((e = ed_batch_next_keyed(&it))) …`, with the next function of the
 * batch's kind. Each returns the entry (borrowed) or NULL at the end. */
const ed_keyed_t *ed_batch_next_keyed(ed_batch_iter_t *it);
const ed_change_t *ed_batch_next_change(ed_batch_iter_t *it);
const ed_record_t *ed_batch_next_record(ed_batch_iter_t *it);
const ed_inputrec_t *ed_batch_next_input(ed_batch_iter_t *it);
const ed_tscount_t *ed_batch_next_time(ed_batch_iter_t *it);

/* Parts of the entries (borrowed from the batch). */
static inline const double *ed_keyed_vals(const ed_keyed_t *e) { return (const double *)(e + 1); }
static inline const uint8_t *ed_keyed_key(const ed_keyed_t *e) {
    return (const uint8_t *)(ed_keyed_vals(e) + e->nvals);
}
/* Bytes of a KEYED entry before its input record (if any), unaligned. */
static inline size_t ed_keyed_head_bytes(const ed_keyed_t *e) {
    return sizeof *e + (size_t)e->nvals * sizeof(double) + e->key_len;
}
/* The input record of a KEYED entry flagged ED_KEYED_F_RECORD (read it
 * with ed_record_key, _val, _pos), or NULL. */
static inline const ed_record_t *ed_keyed_record(const ed_keyed_t *e) {
    if (!(e->flags & ED_KEYED_F_RECORD))
        return NULL;
    return (const ed_record_t *)(const void *)((const uint8_t *)e +
                                               ed_batch_align(ed_keyed_head_bytes(e)));
}
static inline const double *ed_change_delta(const ed_change_t *c) { return (const double *)(c + 1); }
static inline const double *ed_change_value(const ed_change_t *c) {
    return ed_change_delta(c) + c->nvals;
}
static inline const uint8_t *ed_change_key(const ed_change_t *c) {
    return (const uint8_t *)(ed_change_value(c) + c->nvals);
}
static inline const uint8_t *ed_record_key(const ed_record_t *r) { return (const uint8_t *)(r + 1); }
static inline const uint8_t *ed_record_val(const ed_record_t *r) {
    return ed_record_key(r) + r->key_len;
}
static inline const char *ed_record_pos(const ed_record_t *r) {
    return (const char *)ed_record_val(r) + r->val_len;
}
/* Parts of an INPUTS entry; NULL where absent. */
static inline size_t ed_inputrec_keyn(const ed_inputrec_t *e) {
    return e->key_len == ED_INPUT_NO_KEY ? 0 : e->key_len;
}
static inline const char *ed_inputrec_data(const ed_inputrec_t *e) {
    return (const char *)(e + 1);
}
static inline const char *ed_inputrec_key(const ed_inputrec_t *e) {
    return e->key_len == ED_INPUT_NO_KEY ? NULL : ed_inputrec_data(e) + e->len;
}
static inline const char *ed_inputrec_topic(const ed_inputrec_t *e) {
    const char *p = ed_inputrec_data(e) + e->len + ed_inputrec_keyn(e);
    return e->topic_len == ED_INPUT_ABSENT ? NULL : p;
}
static inline const char *ed_inputrec_file(const ed_inputrec_t *e) {
    const char *p = ed_inputrec_data(e) + e->len + ed_inputrec_keyn(e) +
                    (e->topic_len == ED_INPUT_ABSENT ? 0 : (size_t)e->topic_len + 1);
    return e->file_len == ED_INPUT_ABSENT ? NULL : p;
}

#endif
