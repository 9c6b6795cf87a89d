/*
 * ed_key.h — composite keys: the key of a KEYED entry or a CHANGELOG row
 * (actors/ed_payload.h) is a sequence of parts, each a native-endian
 * uint16_t length followed by that many bytes. The column names of the
 * parts come from the aggregation's `key:` list in the config, in order.
 */
#ifndef ED_KEY_H
#define ED_KEY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "runtime/ed_batch.h"

/* Appends one part (uint16 length + bytes) to `buf` at *len, which must have
 * room for 2 + part_len bytes; advances *len. Parts longer than 65535 bytes
 * are truncated to 65535 (callers reject such records earlier). Inline: the
 * keyer builds a key per record. */
static inline void ed_key_append(uint8_t *buf, size_t *len, const void *part, size_t part_len) {
    if (part_len > 65535)
        part_len = 65535;
    uint16_t l = (uint16_t)part_len;
    memcpy(buf + *len, &l, 2);
    ed_batch_copy(buf + *len + 2, part, part_len);
    *len += 2 + part_len;
}

/* Reads part number `idx` (0-based) of a composite key. Returns 0 and sets
 * part and part_len (borrowed from key), ED_ENOENT if the key has fewer
 * parts, or ED_EINVAL if a part's length runs past key_len. */
int ed_key_part(const uint8_t *key, size_t key_len, int idx, const uint8_t **part,
                size_t *part_len);

/* Number of parts in a composite key. */
int ed_key_nparts(const uint8_t *key, size_t key_len);

#endif
