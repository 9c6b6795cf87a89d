/*
 * ed_eo.h — the books of `runtime.delivery: exactly_once` for one plan
 * (docs/architecture.md, "Exactly-once"; docs/guarantees.md).
 *
 * Checkpoint ids: every flush a sink writes carries a checkpoint *id* that
 * grows across runs (the local checkpoint numbers n start at 1 in every
 * run). A SQL sink's flush transaction also upserts its id and the input
 * positions it covers into `eddy_checkpoints` (pipeline, sink, target) and
 * skips a flush whose id is not above the one stored.
 *
 * Positions are text, one line per Kafka partition:
 * "SOURCE\tTOPIC\tPARTITION\tNEXT\n" (NEXT = the offset after the last
 * input the checkpoint covers). A driver sees its own lines without the
 * SOURCE column ("TOPIC\tPARTITION\tNEXT\n", ed_source.h seek and limit).
 *
 * At start (ed_eo_load, before any actor runs) every sink's stored
 * (id, positions) is read. The replay starts at the positions of the sink
 * with the lowest id — or at the group's committed offsets when some sink
 * has no row yet — and its first checkpoints are *replay checkpoints*: one
 * per distinct stored id above the start, in increasing order, each placed
 * exactly at the positions stored with that id (the source holds its input
 * there until the barrier passes) and given that id. A replayed flush so
 * covers exactly the input of the original one: a sink that has it skips
 * it, a sink behind applies it. Later checkpoints get ids above every
 * stored one.
 *
 * Threads: ed_eo_load runs on the main thread before the runtime starts;
 * then the source actors (ed_eo_put), sink actors (ed_eo_positions) and the
 * coordinator (ed_eo_release) call in from their workers; those calls lock.
 */
#ifndef ED_EO_H
#define ED_EO_H

#include <stddef.h>
#include <stdint.h>

#include "config/ed_config.h"

typedef struct ed_eo ed_eo_t;

/* Returns the books for `conf` (borrowed; outlives them), for `nslots`
 * source actors; owned, never NULL. The pipeline's name is the config
 * file's base name without .yaml/.yml. */
ed_eo_t *ed_eo_new(const ed_config_t *conf, int nslots);

/* Frees the books and NULLs *eo_p. NULL-safe. */
void ed_eo_destroy(ed_eo_t **eo_p);

/* The pipeline's name as stored in eddy_checkpoints (borrowed). */
const char *ed_eo_pipeline(const ed_eo_t *eo);

/* Reads every sink's stored checkpoint (creating eddy_checkpoints where it
 * is missing) through a short-lived instance of its plugin, retrying an
 * unreachable server for up to `wait_ms`; then plans the replay and logs
 * it. Returns 0, or ED_EIO with errstr naming the sink and what failed. */
int ed_eo_load(ed_eo_t *eo, int64_t wait_ms, char *errstr, size_t errstr_size);

/* Records sink k's stored checkpoint by hand (id 0 = no row; positions
 * copied, may be NULL), for tests; ed_eo_load calls it per sink, then
 * ed_eo_plan. */
void ed_eo_sink_at(ed_eo_t *eo, int k, uint64_t id, const char *positions);

/* Records that sink k applied checkpoint `id` only in part (a Redis flush
 * cut between its chunks; id 0 = none; positions copied): the replay gets a
 * checkpoint with that id at those positions, like a stored one, so the
 * sink can finish it — but the start is not taken from it. */
void ed_eo_sink_pending(ed_eo_t *eo, int k, uint64_t id, const char *positions);

/* Plans the replay from the sinks' stored checkpoints (see the top). */
void ed_eo_plan(ed_eo_t *eo);

/* Number of replay checkpoints (local 1..N). */
int ed_eo_nreplay(const ed_eo_t *eo);

/* The id of local checkpoint n (n >= 1). */
uint64_t ed_eo_id(const ed_eo_t *eo, uint64_t n);

/* Where source `name` starts: its lines, owned (free), or NULL for no seek
 * (the group's committed offsets). */
char *ed_eo_start_for(const ed_eo_t *eo, const char *name);

/* For local checkpoint n: returns 1 if it is a replay checkpoint and sets
 * *target to source `name`'s lines of its positions (owned, "" when it has
 * none: nothing of this source may be read before it); else 0 and NULL. */
int ed_eo_target_for(const ed_eo_t *eo, uint64_t n, const char *name, char **target);

/* A source actor at barrier n: `lines` (its driver's positions, copied) are
 * its positions of checkpoint n. */
void ed_eo_put(ed_eo_t *eo, int slot, const char *name, uint64_t n, const char *lines);

/* The positions of checkpoint n over every source, for a sink's row;
 * owned (free). */
char *ed_eo_positions(ed_eo_t *eo, uint64_t n);

/* Every sink made checkpoint n durable: forgets positions of checkpoints
 * before n (n's stay: they are the latest of a source that put no newer). */
void ed_eo_release(ed_eo_t *eo, uint64_t n);

/* Test hook (documented in docs/guarantees.md): when the environment has
 * EDDY_CRASH_AT=POINT:K and this is the K-th call with `point`, the
 * process dies at once (SIGKILL to itself), for the crash-point sweep. */
void ed_crash_point(const char *point);

#endif
