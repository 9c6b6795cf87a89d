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
#include <string.h>

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

/* Copies n bytes from src to dst (not overlapping): keys of a few bytes
 * with two overlapping word moves instead of a call to memcpy. */
static inline void ed_batch_copy(void *dst, const void *src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (n >= 8 && n <= 16) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(d, &a, 8);
        memcpy(d + n - 8, &b, 8);
    } else if (n >= 4 && n < 8) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(d, &a, 4);
        memcpy(d + n - 4, &b, 4);
    } else if (n < 4) {
        for (size_t i = 0; i < n; i++)
            d[i] = s[i];
    } else {
        memcpy(d, s, n);
    }
}

/* Grows the buffer of `batch` to hold at least `need` bytes (doubling);
 * the slow path of ed_batch_append. OOM aborts. */
void ed_batch_grow(ed_batch_t *batch, size_t need);

/* Appends one entry of `n` bytes (rounded up to ed_batch_align(n)) and
 * returns a pointer to it (8-byte aligned), for the caller to fill; valid
 * until the next append. Counts the entry. OOM aborts. Inline: it runs once
 * per record on the source thread. */
static inline void *ed_batch_append(ed_batch_t *batch, size_t n) {
    n = ed_batch_align(n);
    if (batch->len + n > batch->cap)
        ed_batch_grow(batch, batch->len + n);
    uint8_t *p = batch->data + batch->len;
    batch->len += n;
    batch->count++;
    return p;
}

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
