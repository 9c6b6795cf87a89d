/* ed_key.c — see ed_key.h. */
#include "actors/ed_key.h"

#include <string.h>

#include "runtime/ed_common.h"

void ed_key_append(uint8_t *buf, size_t *len, const void *part, size_t part_len) {
    if (part_len > 65535)
        part_len = 65535;
    uint16_t l = (uint16_t)part_len;
    memcpy(buf + *len, &l, 2);
    if (part_len)
        memcpy(buf + *len + 2, part, part_len);
    *len += 2 + part_len;
}

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
