/* ed_key.c — see ed_key.h. */
#include "actors/ed_key.h"

#include <string.h>

#include "runtime/ed_common.h"

int ed_key_part(const uint8_t *key, size_t key_len, int idx, const uint8_t **part,
                size_t *part_len) {
    size_t off = 0;
    for (int i = 0; off + 2 <= key_len; i++) {
        uint16_t l;
        memcpy(&l, key + off, 2);
        if (off + 2 + l > key_len)
            return ED_EINVAL;
        if (i == idx) {
            *part = key + off + 2;
            *part_len = l;
            return 0;
        }
        off += 2 + (size_t)l;
    }
    return ED_ENOENT;
}

int ed_key_nparts(const uint8_t *key, size_t key_len) {
    int n = 0;
    size_t off = 0;
    while (off + 2 <= key_len) {
        uint16_t l;
        memcpy(&l, key + off, 2);
        off += 2 + (size_t)l;
        n++;
    }
    return n;
}
