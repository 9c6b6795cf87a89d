/*
 * ed_source.h — the source driver interface (where input comes from).
 *
 * A driver reads raw inputs (a Kafka message, a line of a file, a generated
 * event) and tracks read positions. The source *actor* (actors/sources/ed_source_actor.c)
 * owns decoding, keying, partitioning, batching and the checkpoint protocol:
 *   checkpoint(n)  – "everything emitted so far belongs to flush n": snapshot
 *                    the positions (Kafka: next offset per partition;
 *                    directory: byte offset per file and finished files);
 *   commit(n)      – every sink has made flush n durable: commit those
 *                    positions (Kafka offset commit; directory state file).
 * That ordering gives at-least-once delivery.
 *
 * Threads: all callbacks of one instance run on one worker thread.
 */
#ifndef ED_SOURCE_H
#define ED_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "actors/sources/ed_source_parts.h"
#include "config/ed_config.h"
#include "runtime/ed_buf.h"
#include "runtime/ed_common.h"

/* One raw input. All pointers borrowed for the duration of the emit call. */
typedef struct {
    const char *data;   /* payload: Kafka message value, one line of a file (without '\n'), … */
    size_t len;         /* bytes of data */
    const char *key;    /* Kafka message key; directory: file name (basename); generator: the key; may be NULL */
    size_t key_len;
    const char *topic;  /* Kafka topic, or NULL */
    int32_t partition;  /* Kafka partition, or -1 */
    int64_t offset;     /* Kafka offset; directory: 1-based line number; generator: sequence number */
    const char *file;   /* directory: file name (basename); else NULL */
    int64_t ts_ms;      /* Kafka message timestamp, generator event time; 0 if none (ms since epoch) */
    double num;         /* generator: the event's numeric value (field "@value") */
} ed_input_t;

typedef void (*ed_input_emit_fn)(void *ud, const ed_input_t *in);

/* A partition of a source: Kafka topic (NULL = none) and partition number.
 * Partitions of different topics are different partitions (a/0 ≠ b/0). */
typedef struct {
    const char *topic;
    int32_t partition;
} ed_topic_part_t;

/* Writes where `in` was read into buf (size bytes, NUL-terminated, cut to
 * fit): "topic/partition@offset" for Kafka, "file:line" for a directory,
 * "#sequence" otherwise, the position a reject names. Returns the length
 * written. */
size_t ed_input_position(const ed_input_t *in, char *buf, size_t size);

typedef struct ed_source_type {
    /* Name ("kafka", as written in the config), options (config map,
     * filled into ed_conf_source_t.opts by the loader), capabilities (a
     * payload to decode, several instances), the meta fields it fills in
     * ed_input_t, validate: what the config loader needs. First member, so
     * the ed_conf_source_t.type of a loaded source leads back here. */
    ed_conf_plugin_t conf;

    /* Optional, for types with ED_CAP_INSTANCES: adjusts `opts`, a shallow
     * copy of the source's options (strings borrowed), for instance
     * `instance` (0-based) of `n` — the generator splits its events and
     * draws from another seed. NULL: instances share the options (Kafka
     * consumers of one group). */
    void (*instance)(void *opts, int instance, int n);

    /* Opens the driver into *ctx_p, with its options in src->opts. Must not
     * fail just because a server is unreachable (librdkafka retries by
     * itself; log it). Returns 0 or ED_EINVAL/ED_EIO with errstr (e.g. a
     * directory that cannot be created). */
    int (*open)(void **ctx_p, const ed_config_t *conf, const ed_conf_source_t *src, char *errstr,
                size_t errstr_size);

    /* Reads at most `max` inputs now, calling emit for each; never blocks.
     * Returns the number emitted (0 = nothing available right now) or a
     * negative ed_err_t with errstr. Sets *eof = 1 once the source will
     * never produce more (a bounded generator); unchanged otherwise. */
    int (*read)(void *ctx, int max, ed_input_emit_fn emit, void *ud, int *eof, char *errstr,
                size_t errstr_size);

    /* A file descriptor that becomes readable when input may be available
     * (inotify fd, librdkafka queue event fd), or -1 to be polled by timer. */
    int (*fd)(void *ctx);

    /* Snapshots the positions of everything emitted so far as checkpoint n
     * (n increases by 1 each call). Returns 0. */
    int (*checkpoint)(void *ctx, uint64_t n);

    /* Commits the positions snapshotted for checkpoint n and discards older
     * snapshots. Returns 0, or a negative ed_err_t with errstr (the actor logs
     * it; a later commit covers it). */
    int (*commit)(void *ctx, uint64_t n, char *errstr, size_t errstr_size);

    /* Stops (paused = 1) or resumes (0) reading; used for backpressure.
     * While paused, read() returns 0. Kafka keeps group membership. */
    void (*pause)(void *ctx, int paused);

    /* Optional (NULL = always ready): 1 once the source can deliver input —
     * Kafka: the consumer group has assigned partitions at least once. Until
     * every source is ready, --exit-when-idle does not count idle time (a
     * restarted consumer may wait a session timeout for its partitions). */
    int (*ready)(void *ctx);

    /* Optional (NULL = never): 1 once when the driver needs a checkpoint
     * now rather than at the next flush interval — Kafka: partitions were
     * revoked and are released only after their input is committed (commit
     * on revoke). The source actor asks the coordinator for one. */
    int (*wants_checkpoint)(void *ctx);

    /* Optional (NULL = no per partition figures): hands the driver the cell
     * where it publishes its partitions' figures (ed_source_parts.h;
     * borrowed, outlives the driver), right after open. Kafka publishes
     * committed, read and end offsets and lag from librdkafka's statistics,
     * every statistics.interval.ms, and an empty table on close. */
    void (*publish_to)(void *ctx, ed_part_cell_t *cell);

    /* Optional (NULL = partitions are not known ahead of input): the
     * partitions assigned now, (topic, partition) each. Writes up to max of
     * them into parts (topic names borrowed from the driver, valid until
     * its next read()) and returns how many there are; *version changes
     * whenever they change (the source actor hands them to its keyer,
     * ed_keyer_assign). */
    int (*partitions)(void *ctx, uint64_t *version, ed_topic_part_t *parts, int max);

    /* runtime.delivery: exactly_once (types with ED_CAP_REPLAY; positions
     * are text, one "TOPIC\tPARTITION\tNEXT\n" line per partition,
     * actors/ed_eo.h). positions: appends to out every position known now —
     * those read since open, and those it was told to start at.
     * seek: before the first read, where to start (replaces the group's
     * committed offsets for the partitions listed; borrowed for the call).
     * limit: while set (lines, copied), emit nothing at or past the listed
     * positions, and nothing of partitions not listed; NULL clears it.
     * at_limit: 1 once every listed position is reached. */
    void (*positions)(void *ctx, ed_buf_t *out);
    void (*seek)(void *ctx, const char *lines);
    void (*limit)(void *ctx, const char *lines);
    int (*at_limit)(void *ctx);

    /* Closes the driver (leaves the consumer group, closes files) and NULLs
     * *ctx_p. Does not commit anything by itself. NULL-safe. */
    void (*close)(void **ctx_p);
} ed_source_type_t;

/* ---- shared by the drivers that make their input in-process (generator, nexmark) ---- */

/* fd(): -1, the actor polls by timer. */
int ed_source_fd_none(void *ctx);

/* checkpoint(): no position to keep. Returns 0. */
int ed_source_checkpoint_none(void *ctx, uint64_t n);

/* commit(): nothing to commit. Returns 0. */
int ed_source_commit_none(void *ctx, uint64_t n, char *errstr, size_t errstr_size);

/* Pacing at `rate` events per wall-clock second (0 = unpaced: returns n):
 * of the n events a read may emit, how many are due now, `made` having been
 * emitted since the first call (whose ed_now_us() goes into *start_us, 0
 * before it). The first event is due at once, then one per 1/rate s; a
 * reader that fell behind catches up at full speed. */
uint64_t ed_source_due(int64_t *start_us, double rate, uint64_t made, uint64_t n);

/* For validate: with `events` > 0, each of the source's instances needs at
 * least one (an instance with 0 would run unbounded). Returns 0, or
 * ED_EINVAL with the error recorded at `instances`. */
int ed_source_check_instance_events(ed_conf_check_t *ck, uint64_t events);

/* Returns the driver called `name` ("kafka"), or NULL. Registry in
 * actors/sources/ed_sources.def. */
const ed_source_type_t *ed_source_type_find(const char *name);

/* The driver of a loaded source (its ed_conf_source_t.type came from
 * ed_source_conf_types). */
const ed_source_type_t *ed_source_type_of(const ed_conf_source_t *src);

/* The source types as the config loader sees them, in registry order; *n
 * gets the count. Static. */
const ed_conf_plugin_t *const *ed_source_conf_types(int *n);

#endif
