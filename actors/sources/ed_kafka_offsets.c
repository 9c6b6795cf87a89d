/* ed_kafka_offsets.c — see ed_kafka_offsets.h. */
#include "actors/sources/ed_kafka_offsets.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/ed_common.h"

/* Read position of one partition. */
typedef struct {
    char *topic; /* owned */
    int32_t partition;
    int64_t next; /* last emitted offset + 1 */
    int dirty;    /* advanced since the last checkpoint */
} s_pos_t;

/* The offsets of checkpoint n (only partitions that advanced). */
typedef struct {
    uint64_t n;
    rd_kafka_topic_partition_list_t *offsets; /* owned; NULL once forgotten */
} s_snap_t;

struct ed_kafka_offsets {
    s_pos_t *pos; /* positions of partitions emitted from since assignment */
    size_t npos, poscap;
    size_t last; /* index of the last position hit (messages come in runs) */

    s_snap_t *snaps; /* checkpoints not yet committed, by increasing n */
    size_t nsnaps, snapcap;
    rd_kafka_topic_partition_list_t *retry; /* offsets of failed commits, or NULL */
};

/* Removes from `list` the partitions present in `parts`. */
static void s_list_drop(rd_kafka_topic_partition_list_t *list,
                        const rd_kafka_topic_partition_list_t *parts) {
    for (int i = 0; list && i < parts->cnt; i++)
        rd_kafka_topic_partition_list_del(list, parts->elems[i].topic, parts->elems[i].partition);
}

/* Sets (or adds) topic/partition → offset in `list`. */
static void s_list_set(rd_kafka_topic_partition_list_t *list, const char *topic, int32_t partition,
                       int64_t offset) {
    rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(list, topic, partition);
    if (!p)
        p = rd_kafka_topic_partition_list_add(list, topic, partition);
    p->offset = offset;
}

/* Raises topic/partition in `list` to `offset` (adds it if absent). */
static void s_list_raise(rd_kafka_topic_partition_list_t *list, const char *topic,
                         int32_t partition, int64_t offset) {
    rd_kafka_topic_partition_t *r = rd_kafka_topic_partition_list_find(list, topic, partition);
    if (!r)
        s_list_set(list, topic, partition, offset);
    else if (r->offset < offset)
        r->offset = offset;
}

ed_kafka_offsets_t *ed_kafka_offsets_new(void) {
    return ed_calloc(1, sizeof(ed_kafka_offsets_t));
}

void ed_kafka_offsets_destroy(ed_kafka_offsets_t **offsets_p) {
    if (!offsets_p || !*offsets_p)
        return;
    ed_kafka_offsets_t *o = *offsets_p;
    ed_kafka_offsets_forget(o, NULL);
    for (size_t i = 0; i < o->nsnaps; i++)
        if (o->snaps[i].offsets)
            rd_kafka_topic_partition_list_destroy(o->snaps[i].offsets);
    free(o->snaps);
    free(o->pos);
    free(o);
    *offsets_p = NULL;
}

/* Returns the position of topic/partition, or NULL. */
static s_pos_t *s_pos_find(ed_kafka_offsets_t *o, const char *topic, int32_t partition) {
    if (o->last < o->npos) {
        s_pos_t *p = &o->pos[o->last];
        if (p->partition == partition && !strcmp(p->topic, topic))
            return p;
    }
    for (size_t i = 0; i < o->npos; i++)
        if (o->pos[i].partition == partition && !strcmp(o->pos[i].topic, topic)) {
            o->last = i;
            return &o->pos[i];
        }
    return NULL;
}

void ed_kafka_offsets_advance(ed_kafka_offsets_t *o, const char *topic, int32_t partition,
                              int64_t offset) {
    s_pos_t *p = s_pos_find(o, topic, partition);
    if (!p) {
        if (o->npos == o->poscap) {
            o->poscap = o->poscap ? o->poscap * 2 : 16;
            o->pos = ed_realloc(o->pos, o->poscap * sizeof *o->pos);
        }
        p = &o->pos[o->npos];
        p->topic = ed_strdup(topic);
        p->partition = partition;
        o->last = o->npos++;
    }
    p->next = offset + 1;
    p->dirty = 1;
}

int64_t ed_kafka_offsets_next(ed_kafka_offsets_t *o, const char *topic, int32_t partition) {
    const s_pos_t *p = s_pos_find(o, topic, partition);
    return p ? p->next : -1;
}

void ed_kafka_offsets_positions(const ed_kafka_offsets_t *o, rd_kafka_topic_partition_list_t *into) {
    for (size_t i = 0; i < o->npos; i++)
        s_list_set(into, o->pos[i].topic, o->pos[i].partition, o->pos[i].next);
}

void ed_kafka_offsets_checkpoint(ed_kafka_offsets_t *o, uint64_t n) {
    int dirty = 0;
    for (size_t i = 0; i < o->npos; i++)
        dirty += o->pos[i].dirty;
    if (!dirty)
        return;
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(dirty);
    for (size_t i = 0; i < o->npos; i++) {
        s_pos_t *p = &o->pos[i];
        if (!p->dirty)
            continue;
        rd_kafka_topic_partition_list_add(list, p->topic, p->partition)->offset = p->next;
        p->dirty = 0;
    }
    if (o->nsnaps == o->snapcap) {
        o->snapcap = o->snapcap ? o->snapcap * 2 : 8;
        o->snaps = ed_realloc(o->snaps, o->snapcap * sizeof *o->snaps);
    }
    o->snaps[o->nsnaps].n = n;
    o->snaps[o->nsnaps].offsets = list;
    o->nsnaps++;
}

rd_kafka_topic_partition_list_t *ed_kafka_offsets_take(ed_kafka_offsets_t *o, uint64_t n) {
    /* Failed commits first, then checkpoints in order: later offsets win. */
    rd_kafka_topic_partition_list_t *merged = o->retry;
    o->retry = NULL;
    size_t used = 0;
    for (; used < o->nsnaps && o->snaps[used].n <= n; used++) {
        rd_kafka_topic_partition_list_t *l = o->snaps[used].offsets;
        if (!l)
            continue;
        o->snaps[used].offsets = NULL;
        if (!merged) {
            merged = l;
            continue;
        }
        for (int i = 0; i < l->cnt; i++)
            s_list_set(merged, l->elems[i].topic, l->elems[i].partition, l->elems[i].offset);
        rd_kafka_topic_partition_list_destroy(l);
    }
    if (used) {
        memmove(o->snaps, o->snaps + used, (o->nsnaps - used) * sizeof *o->snaps);
        o->nsnaps -= used;
    }
    if (merged && !merged->cnt) {
        rd_kafka_topic_partition_list_destroy(merged);
        merged = NULL;
    }
    return merged;
}

void ed_kafka_offsets_requeue(ed_kafka_offsets_t *o, rd_kafka_topic_partition_list_t **list_p) {
    rd_kafka_topic_partition_list_t *l = *list_p;
    *list_p = NULL;
    if (!o->retry) {
        o->retry = l;
        return;
    }
    for (int i = 0; i < l->cnt; i++)
        s_list_raise(o->retry, l->elems[i].topic, l->elems[i].partition, l->elems[i].offset);
    rd_kafka_topic_partition_list_destroy(l);
}

int ed_kafka_offsets_retry(ed_kafka_offsets_t *o, const char *topic, int32_t partition,
                           int64_t offset) {
    if (!s_pos_find(o, topic, partition))
        return 0;
    if (!o->retry)
        o->retry = rd_kafka_topic_partition_list_new(1);
    s_list_raise(o->retry, topic, partition, offset);
    return 1;
}

int ed_kafka_offsets_uncommitted(const ed_kafka_offsets_t *o,
                                 const rd_kafka_topic_partition_list_t *parts) {
    for (size_t i = 0; i < o->npos; i++)
        if (o->pos[i].dirty &&
            rd_kafka_topic_partition_list_find(parts, o->pos[i].topic, o->pos[i].partition))
            return 1;
    for (int i = 0; i < parts->cnt; i++) {
        const char *t = parts->elems[i].topic;
        int32_t p = parts->elems[i].partition;
        for (size_t s = 0; s < o->nsnaps; s++)
            if (o->snaps[s].offsets &&
                rd_kafka_topic_partition_list_find(o->snaps[s].offsets, t, p))
                return 1;
        if (o->retry && rd_kafka_topic_partition_list_find(o->retry, t, p))
            return 1;
    }
    return 0;
}

void ed_kafka_offsets_forget(ed_kafka_offsets_t *o, const rd_kafka_topic_partition_list_t *parts) {
    size_t j = 0;
    for (size_t i = 0; i < o->npos; i++) {
        s_pos_t *p = &o->pos[i];
        if (!parts || rd_kafka_topic_partition_list_find(parts, p->topic, p->partition))
            free(p->topic);
        else
            o->pos[j++] = *p;
    }
    o->npos = j;
    o->last = 0;

    for (size_t i = 0; i < o->nsnaps; i++) {
        if (parts) {
            s_list_drop(o->snaps[i].offsets, parts);
        } else if (o->snaps[i].offsets) {
            rd_kafka_topic_partition_list_destroy(o->snaps[i].offsets);
            o->snaps[i].offsets = NULL;
        }
    }
    if (o->retry) {
        if (parts)
            s_list_drop(o->retry, parts);
        if (!parts || !o->retry->cnt) {
            rd_kafka_topic_partition_list_destroy(o->retry);
            o->retry = NULL;
        }
    }
}
