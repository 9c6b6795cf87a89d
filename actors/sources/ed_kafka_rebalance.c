/* ed_kafka_rebalance.c — the Kafka source's assignments and revokes, with
 * commit on revoke (see ed_source_kafka.c and ed_kafka_source.h). */
#define _GNU_SOURCE
#include "actors/sources/ed_kafka_source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/sources/ed_source.h"

/* Drops the held (never emitted) messages of the partitions in `parts`
 * (NULL = all). */
void ed_ksrc_drop_held(ed_ksrc_t *k, const rd_kafka_topic_partition_list_t *parts) {
    size_t j = 0;
    for (size_t i = 0; i < k->nheld; i++) {
        rd_kafka_message_t *m = k->held[i];
        if (!parts ||
            rd_kafka_topic_partition_list_find(parts, rd_kafka_topic_name(m->rkt), m->partition))
            rd_kafka_message_destroy(m);
        else
            k->held[j++] = m;
    }
    k->nheld = j;
}

/* Forgets positions, held messages, uncommitted checkpoints and failed
 * commits of the partitions in `parts` (NULL = all). */
void ed_ksrc_forget(ed_ksrc_t *k, const rd_kafka_topic_partition_list_t *parts) {
    ed_kafka_offsets_forget(k->offsets, parts);
    ed_ksrc_drop_held(k, parts);
}

/* Describes a partition list for logs: "t[0], t[1], …" (truncated). */
void ed_ksrc_parts_str(const rd_kafka_topic_partition_list_t *parts, char *buf, size_t size) {
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < parts->cnt && n + 1 < size; i++) {
        int w = snprintf(buf + n, size - n, "%s%s[%d]", i ? ", " : "", parts->elems[i].topic,
                         (int)parts->elems[i].partition);
        if (w < 0 || (size_t)w >= size - n) {
            if (size > 4)
                strcpy(buf + size - 4, "...");
            return;
        }
        n += (size_t)w;
    }
}


void ed_ksrc_track(ed_ksrc_t *k, const rd_kafka_topic_partition_list_t *parts, int add) {
    k->assign_version++;
    if (!parts) {
        if (k->owned)
            rd_kafka_topic_partition_list_destroy(k->owned);
        k->owned = NULL;
        return;
    }
    if (!k->owned)
        k->owned = rd_kafka_topic_partition_list_new(parts->cnt);
    for (int i = 0; i < parts->cnt; i++) {
        const char *t = parts->elems[i].topic;
        int32_t p = parts->elems[i].partition;
        int has = rd_kafka_topic_partition_list_find(k->owned, t, p) != NULL;
        if (add && !has)
            rd_kafka_topic_partition_list_add(k->owned, t, p);
        else if (!add && has)
            rd_kafka_topic_partition_list_del(k->owned, t, p);
    }
}

/* Answers a revoke: forgets the partitions' state and unassigns them. */
static void s_unassign(ed_ksrc_t *k, rd_kafka_topic_partition_list_t *parts, int coop) {
    ed_ksrc_forget(k, coop ? parts : NULL);
    ed_ksrc_track(k, coop ? parts : NULL, 0);
    if (coop) {
        rd_kafka_error_t *e = rd_kafka_incremental_unassign(k->rk, parts);
        if (e) {
            ED_LOG_W(k->who, "incremental unassign failed: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
    } else {
        rd_kafka_assign(k->rk, NULL);
    }
}

/* Releases the partitions of a pending revoke; `how` says why, for the log
 * (NULL: after their commit, logged at INFO). */
void ed_ksrc_release(ed_ksrc_t *k, const char *how) {
    if (!k->revoking)
        return;
    char desc[512];
    ed_ksrc_parts_str(k->revoking, desc, sizeof desc);
    if (how)
        ED_LOG_W(k->who, "released %d revoked partition(s) without committing them: %s; their "
                 "uncommitted input is re-read by the next owner (at-least-once): %s",
                 k->revoking->cnt, how, desc);
    else
        ED_LOG_I(k->who, "released %d revoked partition(s) after committing checkpoint %llu: %s",
                 k->revoking->cnt, (unsigned long long)k->revoke_ckpt, desc);
    rd_kafka_topic_partition_list_t *parts = k->revoking;
    k->revoking = NULL;
    k->want_ckpt = 0;
    s_unassign(k, parts, k->revoke_coop);
    rd_kafka_topic_partition_list_destroy(parts);
}

/* 1 if topic/partition waits in a pending revoke (its messages are dropped). */
int ed_ksrc_is_revoking(const ed_ksrc_t *k, const char *topic, int32_t partition) {
    return k->revoking && rd_kafka_topic_partition_list_find(k->revoking, topic, partition);
}

void ed_ksrc_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t *parts, void *opaque) {
    ed_ksrc_t *k = opaque;
    int coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
    char desc[512];
    ed_ksrc_parts_str(parts, desc, sizeof desc);

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        /* A rebalance that overtook a pending revoke: answer that first. */
        ed_ksrc_release(k, "a newer rebalance came first");
        ED_LOG_I(k->who, "assigned %d partition(s): %s", parts->cnt, desc);
        k->assigned = 1;
        if (!coop)
            ed_ksrc_track(k, NULL, 0);
        ed_ksrc_track(k, parts, 1);
        if (k->eo) /* exactly_once: where the sinks say, not the committed offsets */
            ed_ksrc_seek_assigned(k, parts);
        if (coop) {
            rd_kafka_error_t *e = rd_kafka_incremental_assign(rk, parts);
            if (e) {
                ED_LOG_W(k->who, "incremental assign failed: %s", rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
            }
        } else {
            rd_kafka_resp_err_t e = rd_kafka_assign(rk, parts);
            if (e)
                ED_LOG_W(k->who, "assign failed: %s", rd_kafka_err2str(e));
        }
        /* Keep backpressure; otherwise make sure the partitions run: a pause
         * from an earlier revoke (commit on revoke) outlives the unassign
         * in librdkafka 2.0. */
        if (k->paused)
            rd_kafka_pause_partitions(rk, parts);
        else
            rd_kafka_resume_partitions(rk, parts);
        if (k->limit_paused && k->limit_paused->cnt) /* held at a replay limit */
            rd_kafka_pause_partitions(rk, k->limit_paused);
        return;
    }

    if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        ed_ksrc_release(k, "another revoke came first");
        if (rd_kafka_assignment_lost(rk)) {
            ED_LOG_W(k->who,
                     "assignment lost (session timed out?): %s; uncommitted input is "
                     "re-read by the next owner",
                     desc);
        } else if (!k->closing && ed_kafka_offsets_uncommitted(k->offsets, parts)) {
            /* Commit on revoke: hold the partitions until a checkpoint has
             * made what was read from them durable and committed it. */
            ED_LOG_I(k->who,
                     "revoked %d partition(s): %s; committing what was read from them "
                     "before releasing them",
                     parts->cnt, desc);
            rd_kafka_pause_partitions(rk, parts);
            k->revoking = rd_kafka_topic_partition_list_copy(parts);
            k->revoke_coop = coop;
            k->revoke_since_ms = ed_now_ms();
            k->revoke_ckpt = 0;
            k->want_ckpt = 1;
            /* held messages of theirs were never emitted: the next owner reads them */
            ed_ksrc_drop_held(k, parts);
            return;
        } else {
            ED_LOG_I(k->who, "revoked %d partition(s): %s%s", parts->cnt, desc,
                     k->closing ? " (closing)" : " (nothing uncommitted)");
        }
        s_unassign(k, parts, coop);
        return;
    }

    ED_LOG_W(k->who, "rebalance error: %s; dropping the assignment", rd_kafka_err2str(err));
    ed_ksrc_release(k, "rebalance error");
    ed_ksrc_forget(k, NULL);
    if (coop)
        rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
    else
        rd_kafka_assign(rk, NULL);
}