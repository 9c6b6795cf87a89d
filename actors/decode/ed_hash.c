/* ed_hash.c — see ed_hash.h. */
#include "actors/decode/ed_hash.h"

/* Inline XXH3 so short keys (the common case: a word, a user id) hash
 * without a call into the shared library; the result is the same
 * XXH3_64bits as libxxhash's. */
#define XXH_INLINE_ALL
#include <xxhash.h>

uint64_t ed_hash64(const void *p, size_t len) {
    return XXH3_64bits(p, len);
}
