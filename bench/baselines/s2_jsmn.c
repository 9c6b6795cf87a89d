/*
 * s2_jsmn.c — a reference point for S2: the same decode + aggregation as
 * s2_simdjson.cpp, but tokenizing each line with jsmn, the tokenizer eddy's
 * json decoder uses. It tells how much of the gap to simdjson is the
 * tokenizer itself and how much is eddy.
 *
 *   s2_jsmn FILE
 *
 * Reads the file with read(2) in 1 MiB blocks and splits lines itself (as
 * eddy's directory source does), tokenizes each line (one flat object of
 * scalars), finds "product_id" and "amount" among the top-level keys and
 * aggregates count + sum per product_id in an open-addressing table (XXH3).
 * Prints the same JSON object as s2_simdjson.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

typedef struct {
    uint64_t hash;
    uint32_t koff; /* offset in the arena + 1; 0 = empty */
    uint32_t klen;
    int64_t count;
    double sum;
} slot_t;

static slot_t *g_slots;
static size_t g_mask = (1u << 14) - 1, g_used;
static char *g_arena;
static size_t g_alen, g_acap;

static void s_grow(void) {
    size_t ncap = (g_mask + 1) * 2;
    slot_t *n = calloc(ncap, sizeof *n);
    for (size_t i = 0; i <= g_mask; i++)
        if (g_slots[i].koff) {
            size_t at = g_slots[i].hash & (ncap - 1);
            while (n[at].koff)
                at = (at + 1) & (ncap - 1);
            n[at] = g_slots[i];
        }
    free(g_slots);
    g_slots = n;
    g_mask = ncap - 1;
}

static void s_add(const char *key, size_t klen, double v) {
    uint64_t h = XXH3_64bits(key, klen);
    size_t at = h & g_mask;
    for (;;) {
        slot_t *s = &g_slots[at];
        if (!s->koff) {
            if (g_alen + klen > g_acap) {
                g_acap = (g_acap + klen) * 2;
                g_arena = realloc(g_arena, g_acap);
            }
            memcpy(g_arena + g_alen, key, klen);
            *s = (slot_t){.hash = h, .koff = (uint32_t)g_alen + 1, .klen = (uint32_t)klen,
                          .count = 1, .sum = v};
            g_alen += klen;
            if (++g_used * 2 > g_mask + 1)
                s_grow();
            return;
        }
        if (s->hash == h && s->klen == klen && memcmp(g_arena + s->koff - 1, key, klen) == 0) {
            s->count++;
            s->sum += v;
            return;
        }
        at = (at + 1) & g_mask;
    }
}

static int s_keyis(const char *line, const jsmntok_t *t, const char *name, size_t len) {
    return t->type == JSMN_STRING && (size_t)(t->end - t->start) == len &&
           memcmp(line + t->start, name, len) == 0;
}

static uint64_t g_events, g_rejected;

static void s_line(const char *line, size_t len, jsmn_parser *p, jsmntok_t *toks, int ntoks) {
    jsmn_init(p);
    int n = jsmn_parse(p, line, len, toks, (unsigned)ntoks);
    if (n < 1 || toks[0].type != JSMN_OBJECT) {
        g_rejected++;
        return;
    }
    const jsmntok_t *pid = NULL, *amt = NULL;
    /* A flat object: key, value, key, value... (nested values are skipped
     * by their size, which is enough for this input). */
    for (int i = 1; i + 1 < n; i += 2) {
        if (!pid && s_keyis(line, &toks[i], "product_id", 10))
            pid = &toks[i + 1];
        else if (!amt && s_keyis(line, &toks[i], "amount", 6))
            amt = &toks[i + 1];
    }
    if (!pid || !amt || pid->type != JSMN_STRING || amt->type != JSMN_PRIMITIVE) {
        g_rejected++;
        return;
    }
    char num[64];
    size_t nl = (size_t)(amt->end - amt->start);
    if (nl >= sizeof num) {
        g_rejected++;
        return;
    }
    memcpy(num, line + amt->start, nl);
    num[nl] = '\0';
    char *end;
    double v = strtod(num, &end);
    if (end != num + nl) {
        g_rejected++;
        return;
    }
    s_add(line + pid->start, (size_t)(pid->end - pid->start), v);
    g_events++;
}

static double s_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: s2_jsmn FILE\n");
        return 64;
    }
    double t0 = s_now();
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    g_slots = calloc(g_mask + 1, sizeof *g_slots);
    jsmn_parser p;
    jsmntok_t toks[256];
    size_t cap = 1 << 20, have = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (have == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        ssize_t r = read(fd, buf + have, cap - have);
        if (r < 0) {
            perror("read");
            return 1;
        }
        if (r == 0)
            break;
        have += (size_t)r;
        size_t start = 0;
        for (;;) {
            char *nl = memchr(buf + start, '\n', have - start);
            if (!nl)
                break;
            s_line(buf + start, (size_t)(nl - (buf + start)), &p, toks, 256);
            start = (size_t)(nl - buf) + 1;
        }
        memmove(buf, buf + start, have - start);
        have -= start;
    }
    if (have)
        s_line(buf, have, &p, toks, 256);
    close(fd);
    double t1 = s_now();

    int64_t total = 0;
    double sum = 0;
    for (size_t i = 0; i <= g_mask; i++)
        if (g_slots[i].koff) {
            total += g_slots[i].count;
            sum += g_slots[i].sum;
        }
    double secs = t1 - t0;
    printf("{\"events\":%" PRIu64 ",\"keys\":%zu,\"rejected\":%" PRIu64 ",\"count\":%" PRId64
           ",\"sum\":%.17g,\"seconds\":%.6f,\"eps\":%.1f}\n",
           g_events, g_used, g_rejected, total, sum, secs,
           secs > 0 ? (double)g_events / secs : 0.0);
    return total == (int64_t)g_events ? 0 : 1;
}
