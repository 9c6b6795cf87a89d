/*
 * ed_sink.h — the sink plugin interface.
 *
 * A sink type is one `const ed_sink_type_t` in sinks/ed_sink_<name>.c plus one
 * line in sinks/ed_sinks.def. Its first member is the type as the config
 * sees it (config/ed_conf_map.h): name, description, config map of its
 * options and the size of their struct, capabilities (what it takes:
 * changelog rows, records, alerts), validate and link; the loader fills
 * the options struct (ed_conf_sink_t.opts) and the plugin reads it in
 * init. The sink *actor* (sinks/ed_sink_actor.c) owns
 * batching, checkpoint alignment, retries with backoff and acks; a plugin only
 * turns one flush into durable writes, after Fluent Bit's flush contract:
 * OK (durable), RETRY (transient: the same flush will be offered again later)
 * or DROP (permanent for these rows: the plugin counts what it refused in
 * stats->rows_rejected; the flush is acked, not retried).
 *
 * Threads: all callbacks of one instance run on one worker thread.
 */
#ifndef ED_SINK_H
#define ED_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "config/ed_config.h"
#include "actors/ed_payload.h"
#include "runtime/ed_common.h"

/* Result of a sink write, after Fluent Bit's OK / RETRY / ERROR outcomes. */
typedef enum {
    ED_WRITE_OK = 0,    /* durable: the flush may be acked */
    ED_WRITE_RETRY = 1, /* transient failure (server down, timeout): retry the same rows later */
    ED_WRITE_DROP = 2,  /* permanent failure for these rows: count them as rejected, do not retry */
} ed_write_result_t;

/* What a plugin instance is created from. All borrowed; valid for the life of
 * the instance (the config is immutable while the runtime runs). */
typedef struct {
    const ed_config_t *conf;
    const ed_conf_sink_t *sink;       /* this sink's config; its options: sink->opts */
    const ed_conf_aggregation_t *agg; /* the one aggregation feeding changelog rows, or NULL */
} ed_sink_ctx_t;

/* runtime.delivery: exactly_once, for one flush (actors/ed_eo.h): the
 * flush's transaction upserts (pipeline, sink name, target table) → (id,
 * positions) into eddy_checkpoints, and is skipped (nothing written, OK)
 * when the id stored there is already >= id. All borrowed for the call. */
typedef struct {
    const char *pipeline;  /* the pipeline's name (ed_eo_pipeline) */
    uint64_t id;           /* the flush's checkpoint id, increasing across runs */
    const char *positions; /* the input positions it covers (ed_eo.h format) */
    int *skipped;          /* set to 1 by the plugin when it skipped the flush */
} ed_sink_eo_t;

/* One flush: everything the sink received for checkpoint `checkpoint`.
 * Batches are borrowed for the call. A plugin writes it so that RETRY never
 * re-applies what is known to be durable: one transaction per flush where
 * the server allows it (PostgreSQL, MariaDB), or chunks with progress kept
 * per checkpoint (Redis MULTI…EXEC per batch_rows rows, Kafka delivery
 * reports), where only a chunk whose outcome was lost can repeat. */
typedef struct {
    uint64_t checkpoint;   /* flush id, increasing */
    ed_batch_t **changes;  /* ED_BATCH_CHANGELOG batches */
    int nchanges;
    ed_batch_t **records;  /* ED_BATCH_RECORDS batches (pass-through records, alerts) */
    int nrecords;
    uint64_t rows;         /* total changelog rows + records in this flush */
    ed_batch_t **rejects;  /* where a plugin appends the documents of records it refuses
                              (ED_BATCH_RECORDS, created on first use, each entry carrying
                              the record's source and position), once per checkpoint: the
                              sink actor owns it and sends them to the rejects sink of the
                              record's source; NULL when no rejects sink takes them */
    const ed_sink_eo_t *eo; /* exactly_once bookkeeping, or NULL (at_least_once) */
} ed_sink_flush_t;

/* Counters a plugin updates; read by the sink actor for logs and metrics. */
typedef struct {
    uint64_t rows_written;  /* rows/records made durable */
    uint64_t rows_rejected; /* rows refused for good (e.g. key not valid UTF-8 for a UTF8 database) */
    uint64_t statements;    /* statements / pipelined commands / produced messages */
    uint64_t reconnects;    /* successful reconnects after a failure */
} ed_sink_stats_t;

typedef struct ed_sink_type {
    /* Name ("postgres", as written in the config), options, capabilities,
     * checks: what the config loader needs. First member, so the
     * ed_conf_sink_t.type of a loaded sink leads back here. */
    ed_conf_plugin_t conf;

    /* Creates an instance for `sc` into *ctx_p. Must NOT require the server to
     * be reachable (connect lazily in write, so a server that is down at start
     * is retried like any other outage). Returns 0, or ED_EINVAL with errstr
     * for a config that cannot work (e.g. a redis zset template naming a
     * column the aggregation does not have). */
    int (*init)(void **ctx_p, const ed_sink_ctx_t *sc, char *errstr, size_t errstr_size);

    /* Writes one flush. May be called again with the same flush after RETRY;
     * it must not double-apply what an earlier call already made durable when
     * it can know that (e.g. Kafka messages already delivered). Blocking is
     * allowed (the sink actor has a thread of its own): time proportional to
     * the flush, with every server round trip bounded by a timeout, so a dead
     * server turns into RETRY within seconds.
     * On RETRY/DROP errstr says what failed, with the sink name and server
     * address, and what to do. */
    ed_write_result_t (*write)(void *ctx, const ed_sink_flush_t *flush, ed_sink_stats_t *stats,
                               char *errstr, size_t errstr_size);

    /* Frees the instance (closes connections) and NULLs *ctx_p. NULL-safe. */
    void (*destroy)(void **ctx_p);

    /* Types with ED_CAP_EXACTLY_ONCE: connects, creates eddy_checkpoints if
     * missing (DDL in docs/sinks-sql.md) and reads this sink's row of
     * `pipeline`: *id (0 = no row) and *positions (owned, NULL without a
     * row). Returns OK, RETRY (server unreachable: errstr says why) or DROP. */
    ed_write_result_t (*eo_read)(void *ctx, const char *pipeline, uint64_t *id, char **positions,
                                 char *errstr, size_t errstr_size);

    /* Optional, after an eo_read that returned OK on the same instance: a
     * flush this sink applied only in part before the restart (Redis: some
     * of its chunks), whose input the replay must cover again exactly: *id
     * (0 = none) and *positions (borrowed from the instance, NULL with id 0). */
    void (*eo_pending)(void *ctx, uint64_t *id, const char **positions);
} ed_sink_type_t;

/* Returns the registered sink type called `name` ("postgres"), or NULL
 * (also for a planned type, which has no implementation). Registry in
 * sinks/ed_sinks.def (X-macro). */
const ed_sink_type_t *ed_sink_type_find(const char *name);

/* The sink type of a loaded sink (its ed_conf_sink_t.type came from
 * ed_sink_conf_types). */
const ed_sink_type_t *ed_sink_type_of(const ed_conf_sink_t *sink);

/* The sink types as the config loader sees them, implemented ones in
 * registry order, then the planned ones; *n gets the count. Static. */
const ed_conf_plugin_t *const *ed_sink_conf_types(int *n);

/* 1 if `agg` is windowed (its changelog rows carry window bounds: every
 * row's window_start_ms < window_end_ms), 0 if cumulative (bounds 0). */
int ed_sink_windowed(const ed_conf_aggregation_t *agg);

/* Checks a changelog row's window bounds against its aggregation: NULL if
 * they fit (windowed: start < end; cumulative: both 0), else why not (a
 * static sentence for the rejection log). */
const char *ed_sink_window_check(const ed_conf_aggregation_t *agg, const ed_change_t *c);

/* For the link of a SQL sink (postgres, mariadb): when `table` is not set,
 * defaults it to the aggregation's name, which must then be a valid table
 * name; records an error at the sink otherwise. */
int ed_sink_link_table(ed_conf_check_t *ck, char **table, const ed_conf_aggregation_t *agg);

/* For the validate of a SQL sink: a set `table` must be a SQL identifier,
 * optionally schema-qualified. */
int ed_sink_check_table(ed_conf_check_t *ck, const char *table);

#endif
