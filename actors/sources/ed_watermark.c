/* ed_watermark.c — see ed_watermark.h. */
#include "actors/sources/ed_watermark.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ed_common.h"

typedef struct {
    char *topic;      /* owned, NULL = no topic (a directory, a generator) */
    int32_t id;
    int has_input;    /* had a record since its assignment */
    int64_t max_ms;   /* highest event time seen (valid if has_input) */
    int64_t active_ms;/* now_ms of its assignment or its last record */
} s_part_t;

struct ed_watermark {
    int64_t bound_ms;  /* max_out_of_orderness */
    int64_t idle_ms;   /* idle_timeout; 0 = never idle */
    s_part_t *parts;   /* sorted by (topic, id), no topic first */
    int n, cap;
    int last;          /* index of the partition of the last observe */
    int64_t current;   /* highest watermark returned so far */
    int finished;
};

/* Highest event time minus the bound, saturating at NONE. */
static int64_t s_part_wm(const ed_watermark_t *wm, const s_part_t *p) {
    if (!p->has_input || p->max_ms < INT64_MIN + wm->bound_ms)
        return ED_WATERMARK_NONE;
    return p->max_ms - wm->bound_ms;
}

ed_watermark_t *ed_watermark_new(int64_t max_out_of_orderness_ms, int64_t idle_timeout_ms) {
    assert(max_out_of_orderness_ms >= 0 && idle_timeout_ms >= 0);
    ed_watermark_t *wm = ed_calloc(1, sizeof *wm);
    wm->bound_ms = max_out_of_orderness_ms;
    wm->idle_ms = idle_timeout_ms;
    wm->current = ED_WATERMARK_NONE;
    return wm;
}

void ed_watermark_destroy(ed_watermark_t **wm_p) {
    if (!wm_p || !*wm_p)
        return;
    for (int i = 0; i < (*wm_p)->n; i++)
        free((*wm_p)->parts[i].topic);
    free((*wm_p)->parts);
    free(*wm_p);
    *wm_p = NULL;
}

/* Orders (topic, id) pairs: no topic first, then by name, then by id. */
static int s_cmp(const char *ta, int32_t a, const char *tb, int32_t b) {
    if (ta != tb) {
        if (!ta || !tb)
            return ta ? 1 : -1;
        int c = strcmp(ta, tb);
        if (c)
            return c;
    }
    return a < b ? -1 : a > b;
}

/* 1 if part p is (topic, id). */
static int s_is(const s_part_t *p, const char *topic, int32_t id) {
    return p->id == id && (p->topic == topic || (p->topic && topic && !strcmp(p->topic, topic)));
}

/* Index of the first partition not below (topic, id). */
static int s_lower(const ed_watermark_t *wm, const char *topic, int32_t id) {
    int lo = 0, hi = wm->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (s_cmp(wm->parts[mid].topic, wm->parts[mid].id, topic, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The index of (topic, id), or -1. */
static int s_find(const ed_watermark_t *wm, const char *topic, int32_t id) {
    int i = s_lower(wm, topic, id);
    return i < wm->n && s_is(&wm->parts[i], topic, id) ? i : -1;
}

/* The partition's index, inserting it (as freshly assigned at now_ms) if
 * absent. */
static int s_find_or_add(ed_watermark_t *wm, const char *topic, int32_t id, int64_t now_ms) {
    int i = s_lower(wm, topic, id);
    if (i < wm->n && s_is(&wm->parts[i], topic, id))
        return i;
    if (wm->n == wm->cap) {
        wm->cap = wm->cap ? 2 * wm->cap : 8;
        wm->parts = ed_realloc(wm->parts, sizeof *wm->parts * (size_t)wm->cap);
    }
    memmove(wm->parts + i + 1, wm->parts + i, sizeof *wm->parts * (size_t)(wm->n - i));
    wm->parts[i] = (s_part_t){.topic = topic ? ed_strdup(topic) : NULL, .id = id,
                              .has_input = 0, .max_ms = 0, .active_ms = now_ms};
    wm->n++;
    return i;
}

void ed_watermark_assign(ed_watermark_t *wm, const char *topic, int32_t partition,
                         int64_t now_ms) {
    int i = s_find_or_add(wm, topic, partition, now_ms);
    wm->parts[i].has_input = 0;
    wm->parts[i].active_ms = now_ms;
    wm->last = i;
}

void ed_watermark_revoke(ed_watermark_t *wm, const char *topic, int32_t partition) {
    int i = s_find(wm, topic, partition);
    if (i < 0)
        return;
    free(wm->parts[i].topic);
    memmove(wm->parts + i, wm->parts + i + 1, sizeof *wm->parts * (size_t)(wm->n - i - 1));
    wm->n--;
    wm->last = 0;
}

int ed_watermark_observe(ed_watermark_t *wm, const char *topic, int32_t partition,
                         int64_t event_ms, int64_t now_ms) {
    int i = wm->last;
    if (i >= wm->n || !s_is(&wm->parts[i], topic, partition)) {
        i = s_find_or_add(wm, topic, partition, now_ms);
        wm->last = i;
    }
    s_part_t *p = &wm->parts[i];
    int rose = !p->has_input || event_ms > p->max_ms;
    if (rose)
        p->max_ms = event_ms;
    p->has_input = 1;
    p->active_ms = now_ms;
    return rose;
}

int64_t ed_watermark_current(ed_watermark_t *wm, int64_t now_ms, int *idle) {
    if (wm->finished) {
        if (idle)
            *idle = 0;
        return ED_WATERMARK_END;
    }
    int active = 0;
    int64_t low = ED_WATERMARK_END;
    for (int i = 0; i < wm->n; i++) {
        const s_part_t *p = &wm->parts[i];
        /* now_ms comes from a monotonic clock, so now − active ≥ 0; a fake
         * clock that went back would just keep the partition active. */
        if (wm->idle_ms > 0 && now_ms - p->active_ms >= wm->idle_ms)
            continue;
        active++;
        int64_t w = s_part_wm(wm, p);
        if (w < low)
            low = w;
    }
    if (idle)
        *idle = active == 0;
    if (active > 0 && low > wm->current)
        wm->current = low;
    return wm->current;
}

void ed_watermark_finish(ed_watermark_t *wm) {
    wm->finished = 1;
    wm->current = ED_WATERMARK_END;
}

int64_t ed_watermark_partition(const ed_watermark_t *wm, const char *topic, int32_t partition,
                               int *found) {
    int i = s_find(wm, topic, partition);
    if (found)
        *found = i >= 0;
    return i >= 0 ? s_part_wm(wm, &wm->parts[i]) : ED_WATERMARK_NONE;
}

int ed_watermark_npartitions(const ed_watermark_t *wm) {
    return wm->n;
}

int64_t ed_watermark_nth(const ed_watermark_t *wm, int i, const char **topic,
                         int32_t *partition) {
    assert(i >= 0 && i < wm->n);
    *topic = wm->parts[i].topic;
    *partition = wm->parts[i].id;
    return s_part_wm(wm, &wm->parts[i]);
}

typedef struct {
    int64_t wm;
    int idle;
} s_up_t;

struct ed_wmin {
    int n;
    int64_t current; /* highest combined value so far */
    s_up_t up[];
};

ed_wmin_t *ed_wmin_new(int nupstreams) {
    assert(nupstreams >= 1);
    ed_wmin_t *m = ed_calloc(1, sizeof *m + sizeof(s_up_t) * (size_t)nupstreams);
    m->n = nupstreams;
    m->current = ED_WATERMARK_NONE;
    for (int i = 0; i < nupstreams; i++)
        m->up[i] = (s_up_t){ED_WATERMARK_NONE, 0};
    return m;
}

void ed_wmin_destroy(ed_wmin_t **m_p) {
    if (!m_p || !*m_p)
        return;
    free(*m_p);
    *m_p = NULL;
}

int ed_wmin_update(ed_wmin_t *m, int i, int64_t watermark, int idle) {
    assert(i >= 0 && i < m->n);
    if (watermark > m->up[i].wm)
        m->up[i].wm = watermark;
    m->up[i].idle = idle != 0;
    int active = 0;
    int64_t low = ED_WATERMARK_END;
    for (int k = 0; k < m->n; k++) {
        if (m->up[k].idle)
            continue;
        active++;
        if (m->up[k].wm < low)
            low = m->up[k].wm;
    }
    if (active > 0 && low > m->current) {
        m->current = low;
        return 1;
    }
    return 0;
}

int64_t ed_wmin_get(const ed_wmin_t *m) {
    return m->current;
}

int ed_wmin_idle(const ed_wmin_t *m) {
    for (int k = 0; k < m->n; k++)
        if (!m->up[k].idle)
            return 0;
    return 1;
}
