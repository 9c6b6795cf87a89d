/* ed_eo.c — see ed_eo.h. */
#define _GNU_SOURCE
#include "actors/ed_eo.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/ed_buf.h"
#include "runtime/ed_common.h"
#include "sinks/ed_sink.h"

typedef struct {
    uint64_t n;
    char *lines; /* owned, with the SOURCE column */
} s_put_t;

typedef struct {
    s_put_t *puts; /* by increasing n */
    size_t nputs, cap;
} s_slot_t;

typedef struct {
    uint64_t id; /* 0: no row */
    char *positions;
    uint64_t pend_id;     /* a flush applied in part (Redis chunks), 0: none */
    char *pend_positions; /* its positions */
} s_row_t;

/* The buffer's text, owned by the caller ("" when empty). */
static char *s_steal(ed_buf_t *b) {
    return b->data ? b->data : ed_strdup("");
}

struct ed_eo {
    const ed_config_t *conf;
    char *pipeline;
    s_row_t *rows; /* [conf->nsinks] stored at start */
    const char *start; /* borrowed from rows: where the replay starts, or NULL */
    s_row_t *replay;   /* borrowed copies of rows: the replay checkpoints, by id */
    int nreplay;
    uint64_t max_id;
    pthread_mutex_t lock;
    s_slot_t *slots;
    int nslots;
};

ed_eo_t *ed_eo_new(const ed_config_t *conf, int nslots) {
    ed_eo_t *eo = ed_calloc(1, sizeof *eo);
    eo->conf = conf;
    const char *base = strrchr(conf->path, '/');
    base = base ? base + 1 : conf->path;
    size_t len = strlen(base);
    if (len > 5 && !strcmp(base + len - 5, ".yaml"))
        len -= 5;
    else if (len > 4 && !strcmp(base + len - 4, ".yml"))
        len -= 4;
    eo->pipeline = ed_malloc(len + 1);
    memcpy(eo->pipeline, base, len);
    eo->pipeline[len] = '\0';
    eo->rows = ed_calloc((size_t)conf->nsinks + 1, sizeof *eo->rows);
    eo->replay = ed_calloc(2 * (size_t)conf->nsinks + 1, sizeof *eo->replay);
    eo->slots = ed_calloc((size_t)nslots + 1, sizeof *eo->slots);
    eo->nslots = nslots;
    pthread_mutex_init(&eo->lock, NULL);
    return eo;
}

void ed_eo_destroy(ed_eo_t **eo_p) {
    ed_eo_t *eo = *eo_p;
    if (!eo)
        return;
    for (int k = 0; k < eo->conf->nsinks; k++) {
        free(eo->rows[k].positions);
        free(eo->rows[k].pend_positions);
    }
    for (int i = 0; i < eo->nslots; i++) {
        for (size_t j = 0; j < eo->slots[i].nputs; j++)
            free(eo->slots[i].puts[j].lines);
        free(eo->slots[i].puts);
    }
    pthread_mutex_destroy(&eo->lock);
    free(eo->slots);
    free(eo->replay);
    free(eo->rows);
    free(eo->pipeline);
    free(eo);
    *eo_p = NULL;
}

const char *ed_eo_pipeline(const ed_eo_t *eo) { return eo->pipeline; }

void ed_eo_sink_at(ed_eo_t *eo, int k, uint64_t id, const char *positions) {
    free(eo->rows[k].positions);
    eo->rows[k].id = id;
    eo->rows[k].positions = positions ? ed_strdup(positions) : NULL;
}

void ed_eo_sink_pending(ed_eo_t *eo, int k, uint64_t id, const char *positions) {
    free(eo->rows[k].pend_positions);
    eo->rows[k].pend_id = id;
    eo->rows[k].pend_positions = id ? ed_strdup(positions ? positions : "") : NULL;
}

void ed_eo_plan(ed_eo_t *eo) {
    int n = eo->conf->nsinks, all = 1;
    uint64_t start_id = UINT64_MAX;
    eo->start = NULL;
    eo->max_id = 0;
    for (int k = 0; k < n; k++) {
        const s_row_t *r = &eo->rows[k];
        if (!r->id)
            all = 0;
        if (r->id > eo->max_id)
            eo->max_id = r->id;
        if (r->pend_id > eo->max_id)
            eo->max_id = r->pend_id;
        if (r->id && r->id < start_id) {
            start_id = r->id;
            eo->start = r->positions ? r->positions : "";
        }
    }
    if (!all) { /* a sink without a row: from the group's committed offsets */
        start_id = 0;
        eo->start = NULL;
    }
    /* The distinct ids above the start, increasing (n is small): the
     * stored ones, and those of flushes applied in part, whose replay must
     * cover exactly their input again for the rest of their chunks. */
    eo->nreplay = 0;
    uint64_t last = start_id;
    for (;;) {
        s_row_t next = {0};
        for (int k = 0; k < n; k++) {
            const s_row_t *r = &eo->rows[k];
            if (r->id > last && (!next.id || r->id < next.id))
                next = (s_row_t){r->id, r->positions, 0, NULL};
            if (r->pend_id > last && (!next.id || r->pend_id < next.id))
                next = (s_row_t){r->pend_id, r->pend_positions, 0, NULL};
        }
        if (!next.id)
            break;
        eo->replay[eo->nreplay++] = next;
        last = next.id;
    }
    ED_LOG_I("exactly_once",
             "pipeline '%s': %s; %d replay checkpoint(s); new checkpoints from id %llu",
             eo->pipeline,
             eo->start ? "sources start at the positions of the sink furthest behind"
                       : "sources start at the group's committed offsets (a sink has no row yet)",
             eo->nreplay, (unsigned long long)eo->max_id + 1);
}

int ed_eo_nreplay(const ed_eo_t *eo) { return eo->nreplay; }

uint64_t ed_eo_id(const ed_eo_t *eo, uint64_t n) {
    if (n >= 1 && n <= (uint64_t)eo->nreplay)
        return eo->replay[n - 1].id;
    return eo->max_id + (n - (uint64_t)eo->nreplay);
}

/* The lines of `text` whose SOURCE column is `name`, without it; owned. */
static char *s_lines_of(const char *text, const char *name) {
    ed_buf_t b = ED_BUF_INIT;
    size_t nl = strlen(name);
    for (const char *p = text; p && *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > nl && !strncmp(p, name, nl) && p[nl] == '\t') {
            ed_buf_append(&b, p + nl + 1, len - nl - 1);
            ed_buf_puts(&b, "\n");
        }
        p += len + (end ? 1 : 0);
    }
    return s_steal(&b);
}

char *ed_eo_start_for(const ed_eo_t *eo, const char *name) {
    return eo->start ? s_lines_of(eo->start, name) : NULL;
}

int ed_eo_target_for(const ed_eo_t *eo, uint64_t n, const char *name, char **target) {
    *target = NULL;
    if (n < 1 || n > (uint64_t)eo->nreplay)
        return 0;
    *target = s_lines_of(eo->replay[n - 1].positions, name);
    return 1;
}

void ed_eo_put(ed_eo_t *eo, int slot, const char *name, uint64_t n, const char *lines) {
    ed_buf_t b = ED_BUF_INIT;
    for (const char *p = lines; p && *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        ed_buf_printf(&b, "%s\t%.*s\n", name, (int)len, p);
        p += len + (end ? 1 : 0);
    }
    pthread_mutex_lock(&eo->lock);
    s_slot_t *s = &eo->slots[slot];
    if (s->nputs == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 8;
        s->puts = ed_realloc(s->puts, sizeof *s->puts * s->cap);
    }
    s->puts[s->nputs++] = (s_put_t){n, s_steal(&b)};
    pthread_mutex_unlock(&eo->lock);
}

char *ed_eo_positions(ed_eo_t *eo, uint64_t n) {
    ed_buf_t b = ED_BUF_INIT;
    pthread_mutex_lock(&eo->lock);
    for (int i = 0; i < eo->nslots; i++) {
        const s_slot_t *s = &eo->slots[i];
        const s_put_t *best = NULL;
        for (size_t j = 0; j < s->nputs && s->puts[j].n <= n; j++)
            best = &s->puts[j];
        if (best)
            ed_buf_puts(&b, best->lines);
    }
    pthread_mutex_unlock(&eo->lock);
    return s_steal(&b);
}

void ed_eo_release(ed_eo_t *eo, uint64_t n) {
    pthread_mutex_lock(&eo->lock);
    for (int i = 0; i < eo->nslots; i++) {
        s_slot_t *s = &eo->slots[i];
        size_t drop = 0;
        while (drop + 1 < s->nputs && s->puts[drop + 1].n <= n)
            drop++;
        for (size_t j = 0; j < drop; j++)
            free(s->puts[j].lines);
        memmove(s->puts, s->puts + drop, sizeof *s->puts * (s->nputs - drop));
        s->nputs -= drop;
    }
    pthread_mutex_unlock(&eo->lock);
}

/* Reads sink k's row through a short-lived instance of its plugin. */
static ed_write_result_t s_read_sink(ed_eo_t *eo, int k, char *errstr, size_t errstr_size) {
    const ed_config_t *conf = eo->conf;
    const ed_conf_sink_t *sink = &conf->sinks[k];
    const ed_sink_type_t *type = ed_sink_type_of(sink);
    if (!type || !type->eo_read)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "sink '%s' cannot do exactly_once", sink->name),
               ED_WRITE_DROP;
    ed_sink_ctx_t sc = {.conf = conf,
                        .sink = sink,
                        .agg = sink->from_agg >= 0 ? &conf->aggregations[sink->from_agg] : NULL};
    void *ctx = NULL;
    if (type->init(&ctx, &sc, errstr, errstr_size) < 0)
        return ED_WRITE_DROP;
    uint64_t id = 0;
    char *pos = NULL;
    ed_write_result_t r = type->eo_read(ctx, eo->pipeline, &id, &pos, errstr, errstr_size);
    if (r == ED_WRITE_OK) {
        ed_eo_sink_at(eo, k, id, pos);
        ED_LOG_I(sink->name, "exactly_once: stored checkpoint id %llu", (unsigned long long)id);
        uint64_t pend = 0;
        const char *pend_pos = NULL;
        if (type->eo_pending)
            type->eo_pending(ctx, &pend, &pend_pos);
        ed_eo_sink_pending(eo, k, pend, pend_pos);
    }
    type->destroy(&ctx);
    free(pos);
    return r;
}

int ed_eo_load(ed_eo_t *eo, int64_t wait_ms, char *errstr, size_t errstr_size) {
    int64_t deadline = ed_now_ms() + wait_ms, backoff = 100;
    for (int k = 0; k < eo->conf->nsinks; k++) {
        char err[512] = "";
        ed_write_result_t r;
        while ((r = s_read_sink(eo, k, err, sizeof err)) == ED_WRITE_RETRY &&
               ed_now_ms() + backoff < deadline) {
            ED_LOG_W(eo->conf->sinks[k].name,
                     "exactly_once: cannot read its stored checkpoint yet: %s", err);
            struct timespec ts = {backoff / 1000, (backoff % 1000) * 1000000};
            nanosleep(&ts, NULL);
            backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
        }
        if (r != ED_WRITE_OK)
            return ed_seterr(errstr, errstr_size, ED_EIO,
                             "exactly_once: the stored checkpoint of sink '%s' could not be "
                             "read: %s; every sink must be reachable at start to know where "
                             "to replay from",
                             eo->conf->sinks[k].name, err);
    }
    ed_eo_plan(eo);
    return 0;
}

static long s_crash_want;
static char s_crash_name[64];
static long s_crash_hits;
static pthread_once_t s_crash_once = PTHREAD_ONCE_INIT;

static void s_crash_init(void) {
    const char *v = getenv("EDDY_CRASH_AT");
    const char *colon = v ? strrchr(v, ':') : NULL;
    if (colon && (size_t)(colon - v) < sizeof s_crash_name) {
        memcpy(s_crash_name, v, (size_t)(colon - v));
        s_crash_name[colon - v] = '\0';
        s_crash_want = strtol(colon + 1, NULL, 10);
    }
}

void ed_crash_point(const char *point) {
    pthread_once(&s_crash_once, s_crash_init);
    if (s_crash_want > 0 && !strcmp(point, s_crash_name) &&
        __atomic_add_fetch(&s_crash_hits, 1, __ATOMIC_SEQ_CST) == s_crash_want) {
        fprintf(stderr, "eddy: EDDY_CRASH_AT=%s:%ld reached; killing the process\n",
                s_crash_name, s_crash_want);
        kill(getpid(), SIGKILL);
    }
}
