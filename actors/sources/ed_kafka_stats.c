/* ed_kafka_stats.c — see ed_kafka_stats.h. */
#include "actors/sources/ed_kafka_stats.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "actors/decode/ed_json_fields.h"
#include "actors/sources/ed_watermark.h"
#include "runtime/ed_common.h"

/* 1 if the string token at tape[i] is exactly `name` (keys of the
 * statistics carry no escapes; an escaped key never matches). */
static int s_key_is(const ed_json_tok_t *t, const char *d, const char *name) {
    size_t n = strlen(name);
    return t->type == ED_JSON_STR && !t->esc && t->end - t->start == n &&
           !memcmp(d + t->start, name, n);
}

/* Index of the value of member `name` of the object at tape[obj], or -1. */
static int s_member(const ed_json_tok_t *tape, const char *d, int obj, const char *name) {
    if (obj < 0 || tape[obj].type != ED_JSON_OBJ)
        return -1;
    for (int i = obj + 1; i < tape[obj].skip; i = tape[i + 1].skip)
        if (s_key_is(&tape[i], d, name))
            return i + 1;
    return -1;
}

/* The integer member `name` of the object at tape[obj]; -1 if absent, not
 * an integer, or negative (librdkafka writes -1001 for "not known"). */
static int64_t s_offset(const ed_json_tok_t *tape, const char *d, int obj, const char *name) {
    int v = s_member(tape, d, obj, name);
    if (v < 0 || tape[v].type != ED_JSON_LIT)
        return -1;
    char num[32];
    size_t n = tape[v].end - tape[v].start;
    if (n == 0 || n >= sizeof num)
        return -1;
    memcpy(num, d + tape[v].start, n);
    num[n] = '\0';
    char *end;
    errno = 0;
    long long x = strtoll(num, &end, 10);
    if (errno || *end || x < 0)
        return -1;
    return (int64_t)x;
}

/* 1 if the member `name` of the object at tape[obj] is `true`. */
static int s_true(const ed_json_tok_t *tape, const char *d, int obj, const char *name) {
    int v = s_member(tape, d, obj, name);
    return v >= 0 && tape[v].type == ED_JSON_LIT && tape[v].end - tape[v].start == 4 &&
           !memcmp(d + tape[v].start, "true", 4);
}

int ed_kafka_stats_parse(ed_json_t *json, const char *doc, size_t len, int read_committed,
                         ed_part_fig_t **out, char *errstr, size_t errstr_size) {
    *out = NULL;
    char err[256];
    if (ed_json_parse(json, doc, len, err, sizeof err) < 0)
        return ed_seterr(errstr, errstr_size, ED_EINVAL, "librdkafka statistics: %s", err);
    const ed_json_tok_t *tape = ed_json_tape(json);
    int topics = s_member(tape, doc, 0, "topics");
    if (topics < 0) /* no topic known yet (before the first metadata) */
        return 0;
    if (tape[topics].type != ED_JSON_OBJ)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "librdkafka statistics: 'topics' is not an object");
    ed_part_fig_t *v = NULL;
    int n = 0, cap = 0;
    for (int t = topics + 1; t < tape[topics].skip; t = tape[t + 1].skip) {
        char topic[ED_PART_TOPIC_MAX];
        size_t tl = tape[t].end - tape[t].start;
        if (tl >= sizeof topic) /* longer than Kafka allows: not one of ours */
            continue;
        tl = ed_json_unescape(doc + tape[t].start, tl, topic);
        topic[tl] = '\0';
        int parts = s_member(tape, doc, t + 1, "partitions");
        if (parts < 0 || tape[parts].type != ED_JSON_OBJ) {
            free(v);
            return ed_seterr(errstr, errstr_size, ED_EINVAL,
                             "librdkafka statistics: topic '%s' has no 'partitions' object",
                             topic);
        }
        for (int p = parts + 1; p < tape[parts].skip; p = tape[p + 1].skip) {
            int o = p + 1;
            int64_t id = s_offset(tape, doc, o, "partition");
            if (tape[o].type != ED_JSON_OBJ || id < 0 || id > INT32_MAX ||
                !s_true(tape, doc, o, "desired"))
                continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 8;
                v = ed_realloc(v, sizeof *v * (size_t)cap);
            }
            ed_part_fig_t *f = &v[n++];
            memcpy(f->topic, topic, tl + 1);
            f->partition = (int32_t)id;
            f->committed = s_offset(tape, doc, o, "committed_offset");
            f->read = s_offset(tape, doc, o, "app_offset");
            f->end = s_offset(tape, doc, o, read_committed ? "ls_offset" : "hi_offset");
            f->lag = s_offset(tape, doc, o, "consumer_lag");
            f->watermark_ms = ED_WATERMARK_NONE;
        }
    }
    if (!n) {
        free(v);
        v = NULL;
    }
    *out = v;
    return n;
}
