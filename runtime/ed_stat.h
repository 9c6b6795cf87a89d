/*
 * ed_stat.h — counters written by one thread and read by others while it
 * runs (the HTTP endpoint's /metrics and /v1/pipeline read them live).
 *
 * Each counter has exactly one writer (an actor's worker thread), so an
 * increment needs no atomic read-modify-write: the writer loads and stores
 * with relaxed atomics (plain moves on x86-64 and arm64, no lock prefix),
 * and a reader's relaxed load sees some value the writer stored, never a
 * torn one. Counters with several writers use __atomic_fetch_add instead
 * (ed_stat_add_shared). Relaxed order: a reader may see one counter a
 * little ahead of another; every figure is exact once the writer stopped.
 */
#ifndef ED_STAT_H
#define ED_STAT_H

#include <stdint.h>

/* Adds n to a single-writer counter. Call from its writer thread only. */
static inline void ed_stat_add(uint64_t *c, uint64_t n) {
    __atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

/* Sets a single-writer figure (a gauge: keys, bytes, a checkpoint number). */
static inline void ed_stat_set(uint64_t *c, uint64_t v) {
    __atomic_store_n(c, v, __ATOMIC_RELAXED);
}

/* As ed_stat_set for a signed figure (a time in ms). */
static inline void ed_stat_set_i64(int64_t *c, int64_t v) {
    __atomic_store_n(c, v, __ATOMIC_RELAXED);
}

/* Adds n to a counter that several threads write. */
static inline void ed_stat_add_shared(uint64_t *c, uint64_t n) {
    __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

/* Reads a counter from any thread. */
static inline uint64_t ed_stat_get(const uint64_t *c) {
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* Reads a signed figure from any thread. */
static inline int64_t ed_stat_get_i64(const int64_t *c) {
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

#endif
