/*
 * ed_batch.h — packed record batches, the payload of every data message.
 *
 * A batch is one growable byte buffer of 8-byte-aligned entries of a single
 * kind. Messages move a batch between actors by pointer (zero-copy): whoever
 * holds the ed_msg_t owns the batch.
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
 *                       bytes (opaque; alerts carry JSON).
 *   ED_BATCH_INPUTS     source → decoder actor (`decoders: N`): raw inputs
 *                       with their metadata, to be decoded and keyed there:
 *                       ed_inputrec_t, then payload, key, topic and file
 *                       bytes (topic and file NUL-terminated).
 *
 * Keys of KEYED and CHANGELOG entries are *composite keys*: a sequence of
 * parts, each a native-endian uint16_t length followed by that many bytes
 * (see ed_key_*). The column names of the parts come from the aggregation's
 * `key:` list in the config, in order.
 */
#ifndef ED_BATCH_H
#define ED_BATCH_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    ED_BATCH_KEYED = 1,
    ED_BATCH_CHANGELOG = 2,
    ED_BATCH_RECORDS = 3,
    ED_BATCH_INPUTS = 4
} ed_batch_kind_t;

/* Header of a KEYED entry. Followed by double vals[nvals] (one input value per
 * `compute` entry of the aggregation, in config order; 0 for count) and the
 * composite key. */
typedef struct {
    uint16_t agg;     /* aggregation index in the config */
    uint16_t nvals;   /* number of doubles that follow */
    uint32_t key_len; /* bytes of composite key */
    int64_t ts_ms;    /* event time, ms since the Unix epoch (0 = none) */
    uint64_t hash;    /* ed_hash64 of the key: computed once by the source, reused by the aggregator */
} ed_keyed_t;

/* Header of a CHANGELOG row. Followed by double delta[nvals],
 * double value[nvals], then the composite key.
 * Per compute function, delta/value mean:
 *   count: delta = records since last flush, value = total
 *   sum:   delta = sum since last flush,     value = total
 *   min/max: delta = value = current min/max (not additive)
 *   avg:   delta = sum of the field since last flush, value = current avg;
 *          with delta_n this lets a sink merge avg as (sum, n).            */
typedef struct {
    uint16_t agg;            /* aggregation index in the config */
    uint16_t nvals;          /* number of compute values */
    uint32_t key_len;        /* bytes of composite key */
    int64_t window_start_ms; /* window start, ms since epoch; 0 for cumulative */
    int64_t window_end_ms;   /* window end (exclusive); 0 for cumulative */
    int64_t n;               /* records aggregated into this key and window so far */
    int64_t delta_n;         /* records since the last flush */
} ed_change_t;

/* Header of a RECORDS entry. Followed by key bytes then value bytes. */
typedef struct {
    uint32_t key_len; /* bytes of key (may be 0) */
    uint32_t val_len; /* bytes of value */
    int64_t ts_ms;    /* event time or produce time, ms since epoch (0 = none) */
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

/* A batch. Fields are public for speed in the hot path; treat as read-only
 * outside ed_batch.c. */
typedef struct ed_batch {
    ed_batch_kind_t kind;
    uint32_t count;     /* entries */
    size_t len;         /* bytes used in data */
    size_t cap;         /* bytes allocated in data */
    uint8_t *data;      /* packed entries */
    int64_t created_us; /* ed_now_us() when the first entry was added (latency tracking) */
} ed_batch_t;

/* Creates an empty batch with room for about `cap_bytes` (grows as needed).
 * Returns an owned batch; never NULL (OOM aborts). */
ed_batch_t *ed_batch_new(ed_batch_kind_t kind, size_t cap_bytes);

/* Frees the batch and NULLs *batch_p. NULL-safe. */
void ed_batch_destroy(ed_batch_t **batch_p);

/* Empties the batch, keeping its buffer. */
void ed_batch_reset(ed_batch_t *batch);

/* Appends a KEYED entry; batch->kind must be ED_BATCH_KEYED. */
void ed_batch_add_keyed(ed_batch_t *batch, uint16_t agg, int64_t ts_ms, const double *vals,
                        uint16_t nvals, const void *key, uint32_t key_len, uint64_t hash);

/* Appends a CHANGELOG row; batch->kind must be ED_BATCH_CHANGELOG. `hdr`
 * supplies agg, nvals, key_len, window and counts. */
void ed_batch_add_change(ed_batch_t *batch, const ed_change_t *hdr, const double *delta,
                         const double *value, const void *key);

/* Appends a RECORDS entry; batch->kind must be ED_BATCH_RECORDS. */
void ed_batch_add_record(ed_batch_t *batch, const void *key, uint32_t key_len, const void *val,
                         uint32_t val_len, int64_t ts_ms);

/* Appends an INPUTS entry; batch->kind must be ED_BATCH_INPUTS. hdr gives
 * the lengths (ED_INPUT_NO_KEY for a NULL key, ED_INPUT_ABSENT for a NULL
 * topic or file; a NULL pointer also means absent); the bytes are copied. */
void ed_batch_add_input(ed_batch_t *batch, const ed_inputrec_t *hdr, const void *data,
                        const void *key, const char *topic, const char *file);

/* Iteration: `ed_batch_iter_t it; ed_batch_iter_init(&it, b);
 * while ((e = ed_batch_next_keyed(&it))) …`. Returned pointers are borrowed
 * from the batch. */
typedef struct {
    const uint8_t *p;
    const uint8_t *end;
} ed_batch_iter_t;

void ed_batch_iter_init(ed_batch_iter_t *it, const ed_batch_t *batch);
const ed_keyed_t *ed_batch_next_keyed(ed_batch_iter_t *it);
const ed_change_t *ed_batch_next_change(ed_batch_iter_t *it);
const ed_record_t *ed_batch_next_record(ed_batch_iter_t *it);
const ed_inputrec_t *ed_batch_next_input(ed_batch_iter_t *it);

static inline const double *ed_keyed_vals(const ed_keyed_t *e) { return (const double *)(e + 1); }
static inline const uint8_t *ed_keyed_key(const ed_keyed_t *e) {
    return (const uint8_t *)(ed_keyed_vals(e) + e->nvals);
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

/* ---- composite keys ---- */

/* Appends one part (uint16 length + bytes) to `buf` at *len, which must have
 * room for 2 + part_len bytes; advances *len. Parts longer than 65535 bytes
 * are truncated to 65535 (callers reject such records earlier). */
void ed_key_append(uint8_t *buf, size_t *len, const void *part, size_t part_len);

/* Reads part number `idx` (0-based) of a composite key. Returns 0 and sets
 * part and part_len (borrowed), or ED_ENOENT if the key has fewer parts. */
int ed_key_part(const uint8_t *key, size_t key_len, int idx, const uint8_t **part,
                size_t *part_len);

/* Number of parts in a composite key. */
int ed_key_nparts(const uint8_t *key, size_t key_len);

#endif
