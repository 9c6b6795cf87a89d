/*
 * ed_hash.h — key hashing and the partition a hash belongs to.
 *
 * Hash: XXH3-64 (libxxhash, Debian libxxhash-dev) over the composite key
 * bytes. Partition: Lemire's multiply-shift range reduction of the upper 32
 * bits, ((h >> 32) * n) >> 32 — uniform, no division.
 */
#ifndef ED_HASH_H
#define ED_HASH_H

#include <stddef.h>
#include <stdint.h>

/* 64-bit hash of `len` bytes (XXH3_64bits, seed 0). Stable across runs and
 * processes, so several eddy processes agree. */
uint64_t ed_hash64(const void *p, size_t len);

/* Partition in [0, n) of a hash; n ≥ 1. */
static inline uint32_t ed_hash_partition(uint64_t hash, uint32_t n) {
    return (uint32_t)(((hash >> 32) * (uint64_t)n) >> 32);
}

#endif
