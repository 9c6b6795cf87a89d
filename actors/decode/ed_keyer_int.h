/*
 * ed_keyer_int.h — the keyer's private types, shared by its two halves:
 * ed_keyer.c (keying records, sending batches) and ed_keyer_new.c (building
 * a keyer from the plan, freeing it). Not a public header: nothing outside
 * actors/decode/ed_keyer*.c includes it; the interface is ed_keyer.h.
 */
#ifndef ED_KEYER_INT_H
#define ED_KEYER_INT_H

#include "actors/decode/ed_keyer.h"

#include "actors/decode/ed_decode.h"
#include "actors/decode/ed_transform.h"
#include "actors/decode/ed_where.h"
#include "actors/ed_checkpoint.h"
#include "actors/sources/ed_watermark.h"
#include "actors/ed_payload.h"

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
    int64_t read_ms;         /* ed_keyer_begin: when the current inputs were read (ms) */
    const ed_input_t *cur;   /* input being decoded (for reject positions) */
    int cur_rejected;        /* current input already counted as rejected */
    ed_actor_t *self;        /* the owner, during ed_keyer_input */
    uint64_t pend_records, pend_rejected, pend_filtered; /* not yet added to the shared stats */
    uint64_t rejected_total;              /* this keyer's rejects, for the log */
    uint64_t logged_rejects;
    uint8_t key[ED_KEY_MAX + 64];
    char num_text[8][40]; /* text of numeric meta values per key part */
};

#endif
