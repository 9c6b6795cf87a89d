/*
 * ed_kafka_source.h — the Kafka source driver's state and the functions its
 * files share (internal to actors/sources: ed_source_kafka.c reads, commits
 * and opens; ed_kafka_rebalance.c serves assignments and revokes, with
 * commit on revoke). Every function runs on the source actor's worker
 * thread, inside a driver call or a librdkafka callback served by
 * rd_kafka_consumer_poll.
 */
#ifndef ED_KAFKA_SOURCE_H
#define ED_KAFKA_SOURCE_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "actors/decode/ed_json.h"
#include "actors/sources/ed_kafka_offsets.h"
#include "actors/sources/ed_source_parts.h"
#include "runtime/ed_buf.h"


/* Messages polled while paused (the pause raced with a fetch) are held and
 * emitted first on resume; bounded so a paused consumer stays bounded. */
#define ED_KAFKA_MAX_HELD 4096
#define ED_KAFKA_MAX_LOGGED 32
/* Longest wait for the checkpoint that commits revoked partitions (ms). */
#define ED_KAFKA_REVOKE_WAIT_MS 15000

typedef struct {
    char *who; /* source name, for logs */
    rd_kafka_t *rk;
    rd_kafka_queue_t *q; /* the consumer queue (everything is forwarded to it) */
    int efd;             /* eventfd written by librdkafka on new queue elements */
    int paused;
    int assigned; /* the group assigned partitions at least once (ready()) */

    ed_kafka_offsets_t *offsets; /* positions, checkpoints, failed commits */

    rd_kafka_message_t **held; /* polled while paused, FIFO */
    size_t nheld;

    /* commit on revoke (see the top of ed_source_kafka.c) */
    rd_kafka_topic_partition_list_t *revoking; /* revoked, not yet released, or NULL */
    int revoke_coop;          /* cooperative protocol: release = incremental unassign */
    int64_t revoke_since_ms;  /* ed_now_ms() of the revoke */
    uint64_t revoke_ckpt;     /* checkpoint that covers them, 0 = not taken yet */
    int want_ckpt;            /* ask for a checkpoint now (read by wants_checkpoint) */
    int closing;              /* s_close: release revoked partitions at once */

    int logged[ED_KAFKA_MAX_LOGGED]; /* error codes already logged since the last message */
    int nlogged;
    int fatal; /* a fatal error was raised: read() fails */

    /* the partitions assigned now (the driver's partitions()), or NULL */
    rd_kafka_topic_partition_list_t *owned;
    uint64_t assign_version; /* +1 per change */

    /* per partition figures from librdkafka's statistics (s_stats_cb) */
    ed_part_cell_t *cell; /* where they are published (publish_to), or NULL */
    ed_json_t *json;      /* parser of the statistics documents */
    int read_committed;   /* isolation.level=read_committed: end = last stable offset */
    int stats_warned;     /* a statistics document failed to parse (logged once) */

    size_t capheld; /* entries allocated in held */

    /* runtime.delivery: exactly_once (ed_kafka_replay.c) */
    int eo;                                  /* on */
    rd_kafka_topic_partition_list_t *known;  /* where each partition is: the start positions,
                                                then the positions of each checkpoint; an
                                                assigned partition starts there */
    rd_kafka_topic_partition_list_t *limit;  /* replay: emit nothing at or past these, or NULL */
    rd_kafka_topic_partition_list_t *limit_paused; /* partitions paused at their limit */
} ed_ksrc_t;

/* Appends m to the held messages (taking it), growing the array. */
void ed_ksrc_hold(ed_ksrc_t *k, rd_kafka_message_t *m);

/* With a replay limit set: 1 if m is at or past its partition's limit (or
 * its partition has none), pausing that partition; else 0. */
int ed_ksrc_beyond(ed_ksrc_t *k, const rd_kafka_message_t *m);

/* exactly_once, at an assignment: sets the offsets of `parts` to where
 * they are known to be (k->known), after asking the group's committed
 * offsets for those not known yet. */
void ed_ksrc_seek_assigned(ed_ksrc_t *k, rd_kafka_topic_partition_list_t *parts);

/* exactly_once: the driver's positions, seek, limit and at_limit
 * (ed_source.h); ctx is the ed_ksrc_t. */
void ed_ksrc_positions(void *ctx, ed_buf_t *out);
void ed_ksrc_seek(void *ctx, const char *lines);
void ed_ksrc_limit(void *ctx, const char *lines);
int ed_ksrc_at_limit(void *ctx);

/* Drops the held (never emitted) messages of the partitions in `parts`
 * (NULL = all). */
void ed_ksrc_drop_held(ed_ksrc_t *k, const rd_kafka_topic_partition_list_t *parts);

/* Forgets positions, held messages, uncommitted checkpoints and failed
 * commits of the partitions in `parts` (NULL = all). */
void ed_ksrc_forget(ed_ksrc_t *k, const rd_kafka_topic_partition_list_t *parts);

/* Describes a partition list for logs into buf (size bytes, NUL-terminated):
 * "t[0], t[1], …", cut with "..." to fit. */
void ed_ksrc_parts_str(const rd_kafka_topic_partition_list_t *parts, char *buf, size_t size);

/* Adds (add = 1) or removes (0) the partitions of `parts` to the assigned
 * set (NULL with add = 0: all), for the driver's partitions(). */
void ed_ksrc_track(ed_ksrc_t *k, const rd_kafka_topic_partition_list_t *parts, int add);

/* Releases the partitions of a pending revoke (no-op without one): forgets
 * their state and answers the revoke (unassign). `how` says why, for the
 * log at WARN (their uncommitted input is re-read by the next owner); NULL:
 * after their commit, logged at INFO. */
void ed_ksrc_release(ed_ksrc_t *k, const char *how);

/* 1 if topic/partition waits in a pending revoke (its messages are dropped),
 * else 0. */
int ed_ksrc_is_revoking(const ed_ksrc_t *k, const char *topic, int32_t partition);

/* librdkafka's rebalance callback (rd_kafka_conf_set_rebalance_cb; opaque is
 * the ed_ksrc_t): assigns (eager or incremental), or holds revoked
 * partitions until their checkpoint is committed (commit on revoke, see
 * ed_source_kafka.c), or releases them at once. */
void ed_ksrc_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t *parts, void *opaque);

#endif
