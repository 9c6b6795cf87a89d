/* ed_batch.c — see ed_batch.h. */
#include "runtime/ed_batch.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ed_common.h"

#define ED_ALIGN8(n) (((n) + 7u) & ~(size_t)7u)

ed_batch_t *ed_batch_new(ed_batch_kind_t kind, size_t cap_bytes) {
    ed_batch_t *b = ed_calloc(1, sizeof *b);
    b->kind = kind;
    b->cap = cap_bytes < 256 ? 256 : ED_ALIGN8(cap_bytes);
    b->data = ed_malloc(b->cap);
    return b;
}

void ed_batch_destroy(ed_batch_t **batch_p) {
    if (!batch_p || !*batch_p)
        return;
    free((*batch_p)->data);
    free(*batch_p);
    *batch_p = NULL;
}

void ed_batch_reset(ed_batch_t *b) {
    b->count = 0;
    b->len = 0;
    b->created_us = 0;
}

/* Reserves `n` (8-aligned) bytes at the end and returns a pointer to them. */
static uint8_t *s_reserve(ed_batch_t *b, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap * 2;
        while (cap < b->len + n)
            cap *= 2;
        b->data = ed_realloc(b->data, cap);
        b->cap = cap;
    }
    if (b->count == 0)
        b->created_us = ed_now_us();
    uint8_t *p = b->data + b->len;
    b->len += n;
    b->count++;
    return p;
}

void ed_batch_add_keyed(ed_batch_t *b, uint16_t agg, int64_t ts_ms, const double *vals,
                        uint16_t nvals, const void *key, uint32_t key_len, uint64_t hash) {
    assert(b->kind == ED_BATCH_KEYED);
    size_t vbytes = (size_t)nvals * sizeof(double);
    size_t n = ED_ALIGN8(sizeof(ed_keyed_t) + vbytes + key_len);
    uint8_t *p = s_reserve(b, n);
    ed_keyed_t h = {.agg = agg, .nvals = nvals, .key_len = key_len, .ts_ms = ts_ms, .hash = hash};
    memcpy(p, &h, sizeof h);
    if (vbytes)
        memcpy(p + sizeof h, vals, vbytes);
    if (key_len)
        memcpy(p + sizeof h + vbytes, key, key_len);
}

void ed_batch_add_change(ed_batch_t *b, const ed_change_t *hdr, const double *delta,
                         const double *value, const void *key) {
    assert(b->kind == ED_BATCH_CHANGELOG);
    size_t vbytes = (size_t)hdr->nvals * sizeof(double);
    size_t n = ED_ALIGN8(sizeof(ed_change_t) + 2 * vbytes + hdr->key_len);
    uint8_t *p = s_reserve(b, n);
    memcpy(p, hdr, sizeof *hdr);
    if (vbytes) {
        memcpy(p + sizeof *hdr, delta, vbytes);
        memcpy(p + sizeof *hdr + vbytes, value, vbytes);
    }
    if (hdr->key_len)
        memcpy(p + sizeof *hdr + 2 * vbytes, key, hdr->key_len);
}

void ed_batch_add_record(ed_batch_t *b, const void *key, uint32_t key_len, const void *val,
                         uint32_t val_len, int64_t ts_ms) {
    assert(b->kind == ED_BATCH_RECORDS);
    size_t n = ED_ALIGN8(sizeof(ed_record_t) + (size_t)key_len + val_len);
    uint8_t *p = s_reserve(b, n);
    ed_record_t h = {.key_len = key_len, .val_len = val_len, .ts_ms = ts_ms};
    memcpy(p, &h, sizeof h);
    if (key_len)
        memcpy(p + sizeof h, key, key_len);
    if (val_len)
        memcpy(p + sizeof h + key_len, val, val_len);
}

/* Bytes of an INPUTS entry after its header. */
static size_t s_input_bytes(const ed_inputrec_t *h) {
    return (size_t)h->len + ed_inputrec_keyn(h) +
           (h->topic_len == ED_INPUT_ABSENT ? 0 : (size_t)h->topic_len + 1) +
           (h->file_len == ED_INPUT_ABSENT ? 0 : (size_t)h->file_len + 1);
}

void ed_batch_add_input(ed_batch_t *b, const ed_inputrec_t *hdr, const void *data,
                        const void *key, const char *topic, const char *file) {
    assert(b->kind == ED_BATCH_INPUTS);
    ed_inputrec_t h = *hdr;
    if (!key)
        h.key_len = ED_INPUT_NO_KEY;
    if (!topic)
        h.topic_len = ED_INPUT_ABSENT;
    if (!file)
        h.file_len = ED_INPUT_ABSENT;
    uint8_t *p = s_reserve(b, ED_ALIGN8(sizeof h + s_input_bytes(&h)));
    memcpy(p, &h, sizeof h);
    p += sizeof h;
    if (h.len) {
        memcpy(p, data, h.len);
        p += h.len;
    }
    if (h.key_len != ED_INPUT_NO_KEY && h.key_len) {
        memcpy(p, key, h.key_len);
        p += h.key_len;
    }
    if (h.topic_len != ED_INPUT_ABSENT) {
        memcpy(p, topic, h.topic_len);
        p[h.topic_len] = '\0';
        p += h.topic_len + 1;
    }
    if (h.file_len != ED_INPUT_ABSENT) {
        memcpy(p, file, h.file_len);
        p[h.file_len] = '\0';
    }
}

void ed_batch_iter_init(ed_batch_iter_t *it, const ed_batch_t *b) {
    it->p = b->data;
    it->end = b->data + b->len;
}

const ed_keyed_t *ed_batch_next_keyed(ed_batch_iter_t *it) {
    if (it->p >= it->end)
        return NULL;
    const ed_keyed_t *e = (const ed_keyed_t *)(const void *)it->p;
    it->p += ED_ALIGN8(sizeof *e + (size_t)e->nvals * sizeof(double) + e->key_len);
    return e;
}

const ed_change_t *ed_batch_next_change(ed_batch_iter_t *it) {
    if (it->p >= it->end)
        return NULL;
    const ed_change_t *c = (const ed_change_t *)(const void *)it->p;
    it->p += ED_ALIGN8(sizeof *c + 2 * (size_t)c->nvals * sizeof(double) + c->key_len);
    return c;
}

const ed_record_t *ed_batch_next_record(ed_batch_iter_t *it) {
    if (it->p >= it->end)
        return NULL;
    const ed_record_t *r = (const ed_record_t *)(const void *)it->p;
    it->p += ED_ALIGN8(sizeof *r + (size_t)r->key_len + r->val_len);
    return r;
}

const ed_inputrec_t *ed_batch_next_input(ed_batch_iter_t *it) {
    if (it->p >= it->end)
        return NULL;
    const ed_inputrec_t *e = (const ed_inputrec_t *)(const void *)it->p;
    it->p += ED_ALIGN8(sizeof *e + s_input_bytes(e));
    return e;
}

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
