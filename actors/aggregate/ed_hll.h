/*
 * ed_hll.h — HyperLogLog distinct-count sketch for approx_distinct(FIELD).
 *
 * Accuracy. Precision p (2^p registers; default ED_HLL_P = 15, 32768
 * registers): relative standard error 1.04 / √m = 0.57 %, so 2 % is 3.5
 * standard errors: 99.95 % of estimates are within 2 % of the truth.
 * (p = 14 would give 0.81 % and fail the 2 % bound for 1.4 % of
 * estimates — about one window in 70 — for half the state.) The
 * estimator is Ertl's
 * improved raw estimator ("New cardinality estimation algorithms for
 * HyperLogLog sketches", 2017), which corrects the small-range and
 * transition-range bias of the original HyperLogLog without empirical bias
 * tables or a linear-counting switch; with 64-bit hashes no large-range
 * correction is needed. While the sketch is sparse (below about 6,200
 * distinct values) the estimate is linear counting over 2^25 virtual
 * registers instead, as HLL++'s sparse representation (Heule, Nunkesser,
 * Hall, "HyperLogLog in Practice", 2013): exact but for values that share
 * one of 2^25 (about n² / 2^26: 0.006 at 500, 0.5 at 6,000), so small
 * windows are counted exactly, not within 0.57 %. Measured
 * (tests/unit/test_hll.c): within 2 % of the exact count at every
 * cardinality tested from 1 to 1,000,000; the sparse estimates within
 * 0.02 % (5,012 → 5,011.4), rounding to the exact count up to 3,000.
 *
 * Hash. Values are hashed with eddy's key hash (ed_hash64, XXH3-64), then
 * passed through the splitmix64 finalizer (a bijection). The partitioner
 * picks an aggregator from the top bits of the key hash, so without the
 * finalizer a sketch of the key field itself would see only hashes whose
 * top bits name its aggregator — the register index comes from the top p
 * bits and would be skewed. The register index is the top p bits of the
 * mixed hash; the rank is 1 + the number of leading zeros of the other
 * 64 − p bits (at most 65 − p). A sparse entry keeps the top 25 bits and
 * the rank of the other 39 (at most 40), from which the dense register is
 * derived exactly when the sketch turns dense or merges into a dense one.
 *
 * Representation, state size. A sketch is one flat heap block (no inner
 * pointers) that is also its encoding: an 8-byte header, then
 *   sparse  one sorted uint32 per distinct 25-bit index (index << 6 |
 *           rank): 8 + 4 × entries bytes — 12 bytes for one distinct value,
 *           48 for 10, 408 for 100, 4,008 for 1,000 (entries = distinct
 *           values but for the rare shared index);
 *   dense   every register in 6 bits, then the histogram of register
 *           values (64 × uint32, so an estimate is O(64), not O(2^p)):
 *           8 + 6 × 2^p / 8 + 256 bytes (24,840 at p = 15).
 * A sketch starts sparse and turns dense when the sparse form would be
 * larger (more than 6,208 entries at p = 15, i.e. about 6,200 distinct
 * values); the dense registers are then those of the same values added
 * directly, so merges stay exact. The header and entries are
 * in host byte order (little-endian: eddy refuses to build elsewhere).
 * Equal sketches have equal bytes. Allocated size (ed_hll_mem): a sparse
 * array grows by doubling (capacity: the next power of two ≥ its entries,
 * at least 2), so at most twice the encoded payload, plus malloc's
 * overhead (16 bytes with glibc).
 *
 * As approx_distinct's row of the function table uses it (ed_aggfn.c): the
 * state of one approx_distinct in an entry holds an `ed_hll_t *` slot of 8
 * bytes, NULL for "no value yet" (zeroed state is a valid empty sketch);
 *   apply    ed_hll_add(&slot, bytes, len)   (may reallocate: the slot moves)
 *   merge    ed_hll_merge(&dst_slot, src)    (union, e.g. partial states of
 *                                              several aggregators or of
 *                                              merging session windows)
 *   value    ed_hll_estimate(slot)           (a double; round for display)
 *   free     ed_hll_destroy(&slot)           (when the window's state is freed)
 *   persist  ed_hll_bytes(slot), ed_hll_size(slot) / ed_hll_decode(...)
 * The aggregator hashes a field's canonical bytes (the decoded string, or
 * a number's text as written in the record), so the same value always
 * counts once.
 */
#ifndef ED_HLL_H
#define ED_HLL_H

#include <stddef.h>
#include <stdint.h>

#define ED_HLL_P 15     /* default precision */
#define ED_HLL_P_MIN 4  /* smallest precision accepted */
#define ED_HLL_P_MAX 18 /* largest (≤ 25, the sparse entries' index bits) */

typedef struct ed_hll ed_hll_t;

/* Creates an empty (sparse) sketch of precision p in [ED_HLL_P_MIN,
 * ED_HLL_P_MAX] (an assert). Owned by the caller: free with
 * ed_hll_destroy. Never NULL (allocation failure aborts, as ed_malloc). */
ed_hll_t *ed_hll_new(int p);

/* Frees the sketch and NULLs *h_p. NULL-safe. */
void ed_hll_destroy(ed_hll_t **h_p);

/* Returns an owned copy of h (NULL if h is NULL). */
ed_hll_t *ed_hll_dup(const ed_hll_t *h);

/* Adds `len` bytes of one value: hashes them with ed_hash64 and calls
 * ed_hll_add_hash. *h_p may be NULL (an empty sketch of ED_HLL_P is created)
 * and may be replaced (reallocation, sparse → dense): always pass the slot.
 * Returns 1 if a register changed, else 0. */
int ed_hll_add(ed_hll_t **h_p, const void *data, size_t len);

/* Adds a value by its ed_hash64 hash (the finalizer is applied here).
 * Same contract as ed_hll_add. */
int ed_hll_add_hash(ed_hll_t **h_p, uint64_t hash);

/* Union: every register of *dst_p becomes the maximum of both. *dst_p may
 * be NULL (then it becomes a copy of src); src may be NULL (no change);
 * src is borrowed. Returns 0, or ED_EINVAL if the precisions differ (then
 * *dst_p is unchanged). */
int ed_hll_merge(ed_hll_t **dst_p, const ed_hll_t *src);

/* Estimated number of distinct values added (0 for NULL or empty).
 * O(64) for a dense sketch, O(non-zero registers) for a sparse one. */
double ed_hll_estimate(const ed_hll_t *h);

/* Precision of the sketch. */
int ed_hll_precision(const ed_hll_t *h);

/* 1 if the sketch is in its sparse form, 0 if dense. */
int ed_hll_is_sparse(const ed_hll_t *h);

/* The encoding: ed_hll_size(h) bytes at ed_hll_bytes(h) (borrowed; valid
 * until the next change of the sketch). 0 / NULL for NULL. */
const void *ed_hll_bytes(const ed_hll_t *h);
size_t ed_hll_size(const ed_hll_t *h);

/* Bytes allocated for the sketch (≥ ed_hll_size), without malloc overhead. */
size_t ed_hll_mem(const ed_hll_t *h);

/* Builds an owned sketch from an encoding (a checkpoint, another process).
 * Validates everything: header, precision, form, length, sorted unique
 * sparse indexes, ranks ≤ 65 − p, the dense histogram against the
 * registers. Returns 0 and *out, or ED_EINVAL with
 * errstr saying what is wrong at which byte offset (then *out is NULL). */
int ed_hll_decode(const void *buf, size_t len, ed_hll_t **out, char *errstr, size_t errstr_size);

#endif
