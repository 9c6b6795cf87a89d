/*
 * ed_batch.h — a batch: one growable byte buffer of packed, 8-byte-aligned
 * entries, the payload of a message (ed_msg.h). Messages move a batch
 * between actors by pointer (zero-copy): whoever holds the ed_msg_t owns it.
 *
 * The runtime knows only bytes and entry counts. What an entry holds, and
 * how long it is, is defined by the layer that writes it (eddy's pipeline:
 * actors/ed_payload.h, one layout per `kind`).
 */
#ifndef ED_BATCH_H
#define ED_BATCH_H

#include <stddef.h>
#include <stdint.h>

/* Entries start on multiples of 8 bytes: n rounded up. */
static inline size_t ed_batch_align(size_t n) { return (n + 7u) & ~(size_t)7u; }

/* A batch. Fields are public for speed in the hot path; treat as read-only
 * outside ed_batch.c. */
typedef struct ed_batch {
    int kind;       /* layout of the entries; defined by the writing layer */
    uint32_t count; /* entries */
    size_t len;     /* bytes used in data */
    size_t cap;     /* bytes allocated in data */
    uint8_t *data;  /* packed entries, 8-byte aligned */
} ed_batch_t;

/* Creates an empty batch of `kind` with room for about `cap_bytes` (grows as
 * needed). Returns an owned batch; never NULL (OOM aborts). */
ed_batch_t *ed_batch_new(int kind, size_t cap_bytes);

/* Frees the batch and NULLs *batch_p. NULL-safe. */
void ed_batch_destroy(ed_batch_t **batch_p);

/* Empties the batch, keeping its buffer. */
void ed_batch_reset(ed_batch_t *batch);

/* Appends one entry of `n` bytes (rounded up to ed_batch_align(n)) and
 * returns a pointer to it, for the caller to fill; valid until the next
 * append. Counts the entry. OOM aborts. */
void *ed_batch_append(ed_batch_t *batch, size_t n);

/* Iteration over the entries: `ed_batch_iter_t it; ed_batch_iter_init(&it, b);`
 * then a layout's next function (actors/ed_payload.h), which reads the entry
 * at it.p and advances with ed_batch_iter_skip. */
typedef struct {
    const uint8_t *p;   /* next entry */
    const uint8_t *end; /* end of the used bytes */
} ed_batch_iter_t;

/* Starts an iteration at the first entry of `batch` (borrowed). */
void ed_batch_iter_init(ed_batch_iter_t *it, const ed_batch_t *batch);

/* The entry at the iterator (borrowed from the batch), or NULL at the end. */
static inline const void *ed_batch_iter_peek(const ed_batch_iter_t *it) {
    return it->p < it->end ? it->p : NULL;
}

/* Moves past the current entry, which is `n` bytes before alignment. */
static inline void ed_batch_iter_skip(ed_batch_iter_t *it, size_t n) {
    it->p += ed_batch_align(n);
}

#endif
