/*
 * ed_state_store.h — aggregator state that survives a restart
 * (`runtime.state_dir`; docs/architecture.md, "State and restart").
 *
 * At every checkpoint n, each aggregator actor, after its flush n went out
 * and before it forwards barrier n to the sinks, writes one snapshot file of
 * its state: cumulative entries, open windows (session windows too), and the
 * watermark taken from each sender. When every sink acked n, the coordinator writes the COMMITTED
 * marker (n) before the sources commit their offsets of n, so the marker
 * never runs ahead of the state the offsets need: a restart restores the
 * snapshots of the marker's checkpoint and re-reads input from offsets at
 * or before it.
 *
 * Files in the directory:
 *   COMMITTED                 text: format, generation, checkpoint,
 *                             aggregators, fingerprint, then the layout
 *                             lines the fingerprint hashes
 *   agg-<i>-<gen>-<ckpt>.snap one per aggregator i and checkpoint (a hard
 *                             link to the previous one when its state did
 *                             not change: the header then names the
 *                             checkpoint it was written at); every
 *                             file is written to NAME.tmp and renamed
 *                             (runtime/ed_file.h). `gen` counts runs over
 *                             the directory (checkpoint numbers restart at 1
 *                             with every run); older snapshots are removed
 *                             once a newer checkpoint is committed.
 *
 * Snapshot file: a fixed header of ED_STATE_HEADER_SIZE bytes,
 * little-endian —
 *   0  magic "EDDYSNAP"         8  u32 format version (ED_STATE_VERSION)
 *   12 u32 header size          16 u64 pipeline fingerprint
 *   24 u32 aggregator index     28 u32 aggregator count
 *   32 u64 generation           40 u64 checkpoint
 *   48 u64 entries              56 u64 payload bytes (uncompressed)
 *   64 u32 CRC-32 of the payload (uncompressed)
 *   68 u32 CRC-32 of bytes 0..67
 * — then the payload, zlib-compressed (RFC 1950 stream). Payload: varint
 * senders, per sender varint source index and zigzag-varint watermark; then
 * records until a 0 byte: 1 = group (varint aggregation, zigzag window
 * start and end, both 0 for cumulative), 2 = entry of the current group
 * (varint key length, key, varint n, varint n − n_flushed, the state
 * blocks), 3 = an open session window (varint aggregation, varint key
 * length, key, zigzag start and end, varint n, the state blocks;
 * ed_aggsession.h). The state blocks are the computes' in config order as
 * ed_aggfn_save writes them: a flat block as its bytes (state_size), an
 * approx_distinct as its previous emitted value (8 bytes), the sketch's
 * length (u32, 0 = none yet) and the sketch (ed_hll.h), never a pointer.
 * The header's entry count counts records 2 and 3. Varints are LEB128.
 *
 * The fingerprint is XXH3 of the layout lines (ed_state_layout): the
 * aggregator count and, per aggregation in order, its name, source, keys,
 * computes and window. A snapshot of another layout is refused with an
 * error naming the state_dir, the first line that differs and what to do.
 *
 * Threads: the store is immutable after ed_state_store_open except for
 * ed_state_store_commit (the coordinator's). Each aggregator calls save and
 * restore for its own index only, so they may run concurrently.
 */
#ifndef ED_STATE_STORE_H
#define ED_STATE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "actors/aggregate/ed_aggtable.h"
#include "actors/aggregate/ed_aggwin.h"
#include "config/ed_config.h"
#include "runtime/ed_buf.h"

#define ED_STATE_VERSION 1u
#define ED_STATE_HEADER_SIZE 72u

/* The header of a snapshot file. */
typedef struct {
    uint32_t version;     /* ED_STATE_VERSION when written */
    uint64_t fingerprint; /* ed_state_layout's hash */
    uint32_t agg_idx;     /* aggregator partition */
    uint32_t agg_count;   /* runtime.aggregators */
    uint64_t generation;  /* run over this directory */
    uint64_t checkpoint;  /* checkpoint number within the run */
    uint64_t entries;     /* state table entries in the payload */
} ed_state_header_t;

/* Writes a snapshot file at `path` (atomically: path.tmp, fsync, rename,
 * fsync of the directory): header `h` (version taken from h) and the `len`
 * bytes of `payload`, compressed. Returns 0 or ED_EIO with errstr. */
int ed_state_file_write(const char *path, const ed_state_header_t *h, const void *payload,
                        size_t len, char *errstr, size_t errstr_size);

/* Reads the snapshot file at `path`: checks magic, version (must be
 * ED_STATE_VERSION), both CRCs and the decompressed length. Fills *h and
 * sets *payload (owned) / *len. Returns 0; ED_ENOENT if the file does not
 * exist; ED_EINVAL for a file that is not a snapshot, of another version,
 * or corrupt (errstr names the file, what is wrong and what to do); ED_EIO
 * when it cannot be read. */
int ed_state_file_read(const char *path, ed_state_header_t *h, uint8_t **payload, size_t *len,
                       char *errstr, size_t errstr_size);

/* Appends the layout lines of `conf` to `out` (one "\n"-terminated line
 * each) and returns their fingerprint (XXH3). */
uint64_t ed_state_layout(const ed_config_t *conf, ed_buf_t *out);

typedef struct ed_state_store ed_state_store_t;

/* Opens state directory `dir` (created if missing; its parent must exist)
 * for a pipeline of `naggs` aggregators whose layout is `conf`'s. Reads the
 * COMMITTED marker if there is one: refused (ED_EINVAL) when its layout
 * differs (the message names dir, the first differing line and says to
 * delete the directory or restore the old config) or it is unreadable.
 * Returns 0 and an owned store in *st_p, or an error with errstr. */
int ed_state_store_open(const char *dir, const ed_config_t *conf, int naggs,
                        ed_state_store_t **st_p, char *errstr, size_t errstr_size);

/* Frees and NULLs *st_p. NULL-safe. */
void ed_state_store_destroy(ed_state_store_t **st_p);

/* The checkpoint the store restores from ("generation G checkpoint N"
 * written into buf of n bytes), or 0 when the directory held no committed
 * state (buf: "empty"). */
uint64_t ed_state_store_restored(const ed_state_store_t *st, char *buf, size_t n);

/* Fills `t` and `w` (fresh, empty) with aggregator `idx`'s state of the
 * committed checkpoint; nothing when there is none. Returns 0 and sets
 * *entries; ED_EINVAL for a missing, corrupt or mismatching file (errstr
 * names it and what to do); ED_EIO when it cannot be read. */
int ed_state_store_restore(const ed_state_store_t *st, int idx, ed_aggtable_t *t,
                           ed_aggwin_t *w, size_t *entries, char *errstr, size_t errstr_size);

/* Writes aggregator `idx`'s snapshot of checkpoint `ckpt` (of this run)
 * from `t` and `w` (borrowed, read only). Returns 0 and the bytes written
 * in *bytes (may be NULL), or ED_EIO with errstr. */
int ed_state_store_save(const ed_state_store_t *st, int idx, uint64_t ckpt,
                        const ed_aggtable_t *t, const ed_aggwin_t *w, size_t *bytes,
                        char *errstr, size_t errstr_size);

/* When aggregator `idx`'s state did not change since it saved checkpoint
 * `from` of this run: makes the snapshot of `from` also that of `ckpt`
 * (a hard link, then fsync of the directory), so an idle pipeline does not
 * rewrite its whole state every flush. Returns 0, or ED_EIO with errstr
 * (e.g. `from` was already superseded and removed: save instead). */
int ed_state_store_link(const ed_state_store_t *st, int idx, uint64_t from, uint64_t ckpt,
                        char *errstr, size_t errstr_size);

/* Marks checkpoint `ckpt` of this run committed (every aggregator saved it
 * and every sink acked it): writes COMMITTED atomically, then removes the
 * snapshots it supersedes. Returns 0 or ED_EIO with errstr (then the
 * caller must not commit input offsets). */
int ed_state_store_commit(ed_state_store_t *st, uint64_t ckpt, char *errstr,
                          size_t errstr_size);

#endif
