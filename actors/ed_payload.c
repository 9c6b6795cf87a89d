/* ed_payload.c — see ed_payload.h. */
#include "actors/ed_payload.h"

#include <assert.h>
#include <string.h>

/* Appends a KEYED entry with `extra` more bytes after the key's 8-byte
 * boundary; returns that tail (or NULL without extra). */
static uint8_t *s_add_keyed(ed_batch_t *b, uint16_t agg, int64_t ts_ms, int64_t wm_ms,
                            const double *vals, uint16_t nvals, const void *key, uint32_t key_len,
                            uint64_t hash, uint8_t flags, size_t extra) {
    assert(b->kind == ED_BATCH_KEYED);
    assert(nvals <= UINT8_MAX);
    size_t vbytes = (size_t)nvals * sizeof(double);
    size_t head = sizeof(ed_keyed_t) + vbytes + key_len;
    uint8_t *p = ed_batch_append(b, extra ? ed_batch_align(head) + extra : head);
    ed_keyed_fill(p, agg, ts_ms, wm_ms, vals, nvals, key, key_len, hash, flags);
    if (!extra)
        return NULL;
    memset(p + head, 0, ed_batch_align(head) - head); /* no uninitialised bytes sent */
    return p + ed_batch_align(head);
}

/* Writes a RECORDS entry's bytes (header, key, value, position) at p. */
static void s_put_record(uint8_t *p, const void *key, uint32_t key_len, const void *val,
                         uint32_t val_len, int64_t ts_ms, int src, const char *pos,
                         size_t pos_len) {
    ed_record_t h = {.key_len = key_len,
                     .val_len = val_len,
                     .ts_ms = ts_ms,
                     .src = (uint16_t)(src >= 0 && src < 0xFFFF ? src + 1 : 0),
                     .pos_len = (uint16_t)pos_len};
    memcpy(p, &h, sizeof h);
    if (key_len)
        memcpy(p + sizeof h, key, key_len);
    if (val_len)
        memcpy(p + sizeof h + key_len, val, val_len);
    if (pos_len)
        memcpy(p + sizeof h + key_len + val_len, pos, pos_len);
}

/* Position text is cut to what ed_record_t.pos_len holds. */
static size_t s_pos_len(const char *pos, size_t pos_len) {
    if (!pos)
        return 0;
    return pos_len > 0xFFFF ? 0xFFFF : pos_len;
}

void ed_batch_add_keyed_record(ed_batch_t *b, uint16_t agg, int64_t ts_ms, int64_t wm_ms,
                               const double *vals, uint16_t nvals, const void *key,
                               uint32_t key_len, uint64_t hash, const ed_keyed_input_t *in) {
    uint32_t klen = in->key ? in->key_len : 0;
    size_t pl = s_pos_len(in->pos, in->pos_len);
    uint8_t *r = s_add_keyed(b, agg, ts_ms, wm_ms, vals, nvals, key, key_len, hash,
                             ED_KEYED_F_RECORD, sizeof(ed_record_t) + klen + in->val_len + pl);
    s_put_record(r, in->key, klen, in->val, in->val_len, ts_ms, in->src, in->pos, pl);
}

void ed_batch_add_change(ed_batch_t *b, const ed_change_t *hdr, const double *delta,
                         const double *value, const void *key) {
    assert(b->kind == ED_BATCH_CHANGELOG);
    size_t vbytes = (size_t)hdr->nvals * sizeof(double);
    uint8_t *p = ed_batch_append(b, sizeof(ed_change_t) + 2 * vbytes + hdr->key_len);
    memcpy(p, hdr, sizeof *hdr);
    if (vbytes) {
        memcpy(p + sizeof *hdr, delta, vbytes);
        memcpy(p + sizeof *hdr + vbytes, value, vbytes);
    }
    if (hdr->key_len)
        memcpy(p + sizeof *hdr + 2 * vbytes, key, hdr->key_len);
}

void ed_batch_add_record_at(ed_batch_t *b, const void *key, uint32_t key_len, const void *val,
                            uint32_t val_len, int64_t ts_ms, int src, const char *pos,
                            size_t pos_len) {
    assert(b->kind == ED_BATCH_RECORDS);
    pos_len = s_pos_len(pos, pos_len);
    uint8_t *p = ed_batch_append(b, sizeof(ed_record_t) + (size_t)key_len + val_len + pos_len);
    s_put_record(p, key, key_len, val, val_len, ts_ms, src, pos, pos_len);
}

void ed_batch_add_record(ed_batch_t *b, const void *key, uint32_t key_len, const void *val,
                         uint32_t val_len, int64_t ts_ms) {
    ed_batch_add_record_at(b, key, key_len, val, val_len, ts_ms, -1, NULL, 0);
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
    uint8_t *p = ed_batch_append(b, sizeof h + s_input_bytes(&h));
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

void ed_batch_add_time_entry(ed_batch_t **times_p, int64_t ts_ms, uint64_t count) {
    if (ts_ms <= 0)
        return;
    if (!*times_p)
        *times_p = ed_batch_new(ED_BATCH_TIMES, 64 * sizeof(ed_tscount_t));
    ed_batch_t *b = *times_p;
    assert(b->kind == ED_BATCH_TIMES);
    if (b->count) {
        ed_tscount_t *last = (ed_tscount_t *)(void *)(b->data + b->len - sizeof *last);
        if (last->ts_ms == ts_ms) {
            last->count += count;
            return;
        }
    }
    ed_tscount_t e = {.ts_ms = ts_ms, .count = count};
    memcpy(ed_batch_append(b, sizeof e), &e, sizeof e);
}

const ed_keyed_t *ed_batch_next_keyed(ed_batch_iter_t *it) {
    const ed_keyed_t *e = ed_batch_iter_peek(it);
    if (!e)
        return NULL;
    const ed_record_t *r = ed_keyed_record(e);
    if (r)
        ed_batch_iter_skip(it, (size_t)((const uint8_t *)r - (const uint8_t *)e) + sizeof *r +
                                   r->key_len + r->val_len + r->pos_len);
    else
        ed_batch_iter_skip(it, ed_keyed_head_bytes(e));
    return e;
}

const ed_change_t *ed_batch_next_change(ed_batch_iter_t *it) {
    const ed_change_t *c = ed_batch_iter_peek(it);
    if (c)
        ed_batch_iter_skip(it, sizeof *c + 2 * (size_t)c->nvals * sizeof(double) + c->key_len);
    return c;
}

const ed_record_t *ed_batch_next_record(ed_batch_iter_t *it) {
    const ed_record_t *r = ed_batch_iter_peek(it);
    if (r)
        ed_batch_iter_skip(it, sizeof *r + (size_t)r->key_len + r->val_len + r->pos_len);
    return r;
}

const ed_inputrec_t *ed_batch_next_input(ed_batch_iter_t *it) {
    const ed_inputrec_t *e = ed_batch_iter_peek(it);
    if (e)
        ed_batch_iter_skip(it, sizeof *e + s_input_bytes(e));
    return e;
}

const ed_tscount_t *ed_batch_next_time(ed_batch_iter_t *it) {
    const ed_tscount_t *t = ed_batch_iter_peek(it);
    if (t)
        ed_batch_iter_skip(it, sizeof *t);
    return t;
}
