/* ed_kafka_replay.c — the Kafka source under runtime.delivery:
 * exactly_once (actors/ed_eo.h): it starts each partition where the sinks
 * say, records full positions at every checkpoint, and during a replay
 * checkpoint emits nothing past the positions stored with its id — a
 * message at or past its partition's limit is held (the partition paused)
 * until the limit is cleared. */
#define _GNU_SOURCE
#include "actors/sources/ed_kafka_source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ed_common.h"

void ed_ksrc_hold(ed_ksrc_t *k, rd_kafka_message_t *m) {
    if (k->nheld == k->capheld) {
        k->capheld = k->capheld ? 2 * k->capheld : ED_KAFKA_MAX_HELD;
        k->held = ed_realloc(k->held, sizeof *k->held * k->capheld);
    }
    k->held[k->nheld++] = m;
}

/* Parses "TOPIC\tPARTITION\tNEXT\n" lines into a new list (owned). */
static rd_kafka_topic_partition_list_t *s_parse(const ed_ksrc_t *k, const char *lines) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    for (const char *p = lines; p && *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char line[512], topic[256];
        int part;
        long long next;
        snprintf(line, sizeof line, "%.*s", (int)len, p);
        if (sscanf(line, "%255[^\t]\t%d\t%lld", topic, &part, &next) == 3)
            rd_kafka_topic_partition_list_add(l, topic, part)->offset = next;
        else
            ED_LOG_W(k->who, "exactly_once: position line '%s' not understood; ignored", line);
        p += len + (end ? 1 : 0);
    }
    return l;
}

void ed_ksrc_positions(void *ctx, ed_buf_t *out) {
    ed_ksrc_t *k = ctx;
    rd_kafka_topic_partition_list_t *l =
        k->known ? rd_kafka_topic_partition_list_copy(k->known) : rd_kafka_topic_partition_list_new(8);
    ed_kafka_offsets_positions(k->offsets, l);
    rd_kafka_topic_partition_list_sort(l, NULL, NULL);
    for (int i = 0; i < l->cnt; i++)
        ed_buf_printf(out, "%s\t%d\t%lld\n", l->elems[i].topic, (int)l->elems[i].partition,
                      (long long)l->elems[i].offset);
    /* what a later assignment of these partitions starts at */
    if (k->known)
        rd_kafka_topic_partition_list_destroy(k->known);
    k->known = l;
}

void ed_ksrc_seek(void *ctx, const char *lines) {
    ed_ksrc_t *k = ctx;
    if (k->known)
        rd_kafka_topic_partition_list_destroy(k->known);
    k->known = s_parse(k, lines);
    ED_LOG_I(k->who, "exactly_once: %d partition(s) start at the positions the sinks hold",
             k->known->cnt);
}

void ed_ksrc_seek_assigned(ed_ksrc_t *k, rd_kafka_topic_partition_list_t *parts) {
    if (!k->known)
        k->known = rd_kafka_topic_partition_list_new(8);
    rd_kafka_topic_partition_list_t *ask = rd_kafka_topic_partition_list_new(parts->cnt);
    for (int i = 0; i < parts->cnt; i++)
        if (!rd_kafka_topic_partition_list_find(k->known, parts->elems[i].topic,
                                                parts->elems[i].partition))
            rd_kafka_topic_partition_list_add(ask, parts->elems[i].topic, parts->elems[i].partition);
    /* Not known: where the group committed, so that a replay limit at that
     * very offset counts as reached. */
    if (ask->cnt && !rd_kafka_committed(k->rk, ask, 10000))
        for (int i = 0; i < ask->cnt; i++)
            if (ask->elems[i].offset >= 0 && !ask->elems[i].err)
                rd_kafka_topic_partition_list_add(k->known, ask->elems[i].topic,
                                                  ask->elems[i].partition)
                    ->offset = ask->elems[i].offset;
    rd_kafka_topic_partition_list_destroy(ask);
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *e = rd_kafka_topic_partition_list_find(
            k->known, parts->elems[i].topic, parts->elems[i].partition);
        if (e)
            parts->elems[i].offset = e->offset;
    }
}

int ed_ksrc_beyond(ed_ksrc_t *k, const rd_kafka_message_t *m) {
    const char *topic = rd_kafka_topic_name(m->rkt);
    const rd_kafka_topic_partition_t *e =
        rd_kafka_topic_partition_list_find(k->limit, topic, m->partition);
    if (e && m->offset < e->offset)
        return 0;
    if (!rd_kafka_topic_partition_list_find(k->limit_paused, topic, m->partition)) {
        rd_kafka_topic_partition_list_t *one = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(one, topic, m->partition);
        rd_kafka_pause_partitions(k->rk, one);
        rd_kafka_topic_partition_list_destroy(one);
        rd_kafka_topic_partition_list_add(k->limit_paused, topic, m->partition);
    }
    return 1;
}

void ed_ksrc_limit(void *ctx, const char *lines) {
    ed_ksrc_t *k = ctx;
    if (lines) {
        if (k->limit)
            rd_kafka_topic_partition_list_destroy(k->limit);
        k->limit = s_parse(k, lines);
        if (!k->limit_paused)
            k->limit_paused = rd_kafka_topic_partition_list_new(8);
        return;
    }
    if (k->limit_paused && k->limit_paused->cnt && !k->paused)
        rd_kafka_resume_partitions(k->rk, k->limit_paused);
    if (k->limit)
        rd_kafka_topic_partition_list_destroy(k->limit);
    if (k->limit_paused)
        rd_kafka_topic_partition_list_destroy(k->limit_paused);
    k->limit = k->limit_paused = NULL;
}

int ed_ksrc_at_limit(void *ctx) {
    ed_ksrc_t *k = ctx;
    for (int i = 0; k->limit && i < k->limit->cnt; i++) {
        const rd_kafka_topic_partition_t *e = &k->limit->elems[i];
        int64_t at = ed_kafka_offsets_next(k->offsets, e->topic, e->partition);
        if (at < 0 && k->known) {
            const rd_kafka_topic_partition_t *s =
                rd_kafka_topic_partition_list_find(k->known, e->topic, e->partition);
            at = s ? s->offset : -1;
        }
        if (at < e->offset)
            return 0;
    }
    return 1;
}
