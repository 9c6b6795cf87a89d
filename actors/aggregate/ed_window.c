/* ed_window.c — see ed_window.h. */
#include "actors/aggregate/ed_window.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>

#include "runtime/ed_common.h"

static int s_ts_ok(int64_t ts) {
    return ts >= ED_EVENT_TIME_MIN && ts <= ED_EVENT_TIME_MAX;
}

/* Formats a duration for a message the way a user writes it in YAML. */
static const char *s_dur(char *buf, size_t size, int64_t ms) {
    if (ms != 0 && ms % 3600000 == 0)
        snprintf(buf, size, "%" PRId64 "h", ms / 3600000);
    else if (ms != 0 && ms % 60000 == 0)
        snprintf(buf, size, "%" PRId64 "m", ms / 60000);
    else if (ms != 0 && ms % 1000 == 0)
        snprintf(buf, size, "%" PRId64 "s", ms / 1000);
    else
        snprintf(buf, size, "%" PRId64 "ms", ms);
    return buf;
}

static int s_check_dur(const char *what, int64_t ms, int zero_ok, char *errstr,
                       size_t errstr_size) {
    char b[32];
    if (ms < 0 || (ms == 0 && !zero_ok))
        return ed_seterr(errstr, errstr_size, ED_EINVAL, "'%s' is %s; expected a duration %s", what,
                         s_dur(b, sizeof b, ms), zero_ok ? "of 0 or more" : "above 0, e.g. 1m");
    if (ms > ED_WINDOW_DURATION_MAX)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "'%s' is %" PRId64 " ms; expected at most %" PRId64 " ms (about 35,000 "
                         "years)",
                         what, ms, ED_WINDOW_DURATION_MAX);
    return 0;
}

int ed_window_check(ed_window_t *w, char *errstr, size_t errstr_size) {
    char b1[32], b2[32];
    int rc;
    switch (w->type) {
    case ED_WINDOW_TUMBLING:
        if ((rc = s_check_dur("tumbling", w->size_ms, 0, errstr, errstr_size)) < 0)
            return rc;
        w->slide_ms = w->size_ms;
        break;
    case ED_WINDOW_HOPPING:
        if ((rc = s_check_dur("hopping", w->size_ms, 0, errstr, errstr_size)) < 0 ||
            (rc = s_check_dur("slide", w->slide_ms, 0, errstr, errstr_size)) < 0)
            return rc;
        if (w->slide_ms > w->size_ms)
            return ed_seterr(errstr, errstr_size, ED_EINVAL,
                             "'slide' %s is longer than the hopping size %s; expected a slide of "
                             "at most the size (equal to it is a tumbling window)",
                             s_dur(b1, sizeof b1, w->slide_ms), s_dur(b2, sizeof b2, w->size_ms));
        if (w->size_ms % w->slide_ms != 0)
            return ed_seterr(errstr, errstr_size, ED_EINVAL,
                             "'slide' %s does not divide the hopping size %s; expected a slide "
                             "that the size is a multiple of (e.g. hopping: 5m, slide: 1m)",
                             s_dur(b1, sizeof b1, w->slide_ms), s_dur(b2, sizeof b2, w->size_ms));
        if (w->size_ms / w->slide_ms > ED_WINDOW_MAX_PER_RECORD)
            return ed_seterr(errstr, errstr_size, ED_EINVAL,
                             "hopping %s with slide %s puts every record in %" PRId64
                             " windows; expected at most %d (a longer slide)",
                             s_dur(b2, sizeof b2, w->size_ms), s_dur(b1, sizeof b1, w->slide_ms),
                             w->size_ms / w->slide_ms, ED_WINDOW_MAX_PER_RECORD);
        break;
    case ED_WINDOW_SESSION:
        if ((rc = s_check_dur("session", w->gap_ms, 0, errstr, errstr_size)) < 0)
            return rc;
        break;
    default:
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "unknown window type %d; expected tumbling, hopping or session",
                         (int)w->type);
    }
    if ((rc = s_check_dur("allowed_lateness", w->allowed_lateness_ms, 1, errstr, errstr_size)) < 0)
        return rc;
    if (w->late == ED_LATE_SINK && (!w->late_sink || !*w->late_sink))
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "'late' names no sink; expected drop, update or the name of a sink");
    if (w->late != ED_LATE_SINK && w->late_sink)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "a late sink '%s' is given but 'late' is not a sink; expected one of them",
                         w->late_sink);
    if (w->late != ED_LATE_DROP && w->late != ED_LATE_UPDATE && w->late != ED_LATE_SINK)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "unknown late policy %d; expected drop, update or a sink name",
                         (int)w->late);
    return 0;
}

int ed_window_count(const ed_window_t *w) {
    if (w->type == ED_WINDOW_HOPPING)
        return (int)(w->size_ms / w->slide_ms);
    return 1;
}

int64_t ed_window_floor(int64_t ts, int64_t step) {
    /* C division truncates toward zero; step back once for a negative
     * remainder so that -1 floors to -step, not 0. */
    int64_t r = ts % step;
    return r < 0 ? ts - r - step : ts - r;
}

int ed_window_assign(const ed_window_t *w, int64_t ts, ed_window_bounds_t *out, int cap) {
    if (!s_ts_ok(ts))
        return ED_EINVAL;
    if (w->type == ED_WINDOW_SESSION) {
        assert(cap >= 1);
        out[0].start_ms = ts;
        out[0].end_ms = ts + w->gap_ms;
        return 1;
    }
    int n = ed_window_count(w);
    assert(cap >= n);
    (void)cap;
    int64_t start = ed_window_floor(ts, w->slide_ms);
    for (int i = 0; i < n; i++) {
        out[i].start_ms = start;
        out[i].end_ms = start + w->size_ms;
        start -= w->slide_ms;
    }
    return n;
}

/* end + L fits an int64 (ends are ≤ 2^53 + 2^50, L ≤ 2^50), so the
 * comparisons below need no saturation however extreme W is. */
ed_window_class_t ed_window_classify(const ed_window_t *w, int64_t end_ms, int64_t watermark) {
    if (watermark < end_ms)
        return ED_WINDOW_ON_TIME;
    if (watermark < end_ms + w->allowed_lateness_ms)
        return ED_WINDOW_LATE;
    return ED_WINDOW_TOO_LATE;
}

int ed_window_is_complete(int64_t end_ms, int64_t watermark) {
    return watermark >= end_ms;
}

int ed_window_can_free(const ed_window_t *w, int64_t end_ms, int64_t watermark) {
    return watermark >= end_ms + w->allowed_lateness_ms;
}

int64_t ed_window_free_before(const ed_window_t *w, int64_t watermark) {
    if (watermark < INT64_MIN + w->allowed_lateness_ms)
        return INT64_MIN;
    return watermark - w->allowed_lateness_ms;
}

int ed_window_route(const ed_window_t *w, int64_t ts, int64_t watermark, ed_window_hit_t *hits,
                    int cap, int *nhits, int *skipped) {
    assert(w->type != ED_WINDOW_SESSION);
    assert(cap >= ed_window_count(w));
    (void)cap;
    *nhits = 0;
    *skipped = 0;
    if (!s_ts_ok(ts))
        return ED_EINVAL;
    int n = ed_window_count(w);
    int64_t start = ed_window_floor(ts, w->slide_ms);
    /* Newest first: the newest window ends last, so if it is too late, all
     * of them are. */
    int64_t newest_end = start + w->size_ms;
    if (ed_window_classify(w, newest_end, watermark) == ED_WINDOW_TOO_LATE &&
        w->late != ED_LATE_UPDATE)
        return w->late == ED_LATE_SINK ? ED_ROUTE_SINK : ED_ROUTE_DROP;
    int k = 0;
    for (int i = 0; i < n; i++, start -= w->slide_ms) {
        ed_window_class_t cls = ed_window_classify(w, start + w->size_ms, watermark);
        if (cls == ED_WINDOW_TOO_LATE && w->late != ED_LATE_UPDATE) {
            /* Older windows end earlier: all the rest are expired too. */
            *skipped = n - i;
            break;
        }
        hits[k].bounds.start_ms = start;
        hits[k].bounds.end_ms = start + w->size_ms;
        hits[k].cls = cls;
        k++;
    }
    *nhits = k;
    return ED_ROUTE_APPLY;
}

int ed_session_place(int64_t gap_ms, const ed_window_bounds_t *sessions, int n, int64_t ts,
                     ed_session_place_t *out) {
    if (!s_ts_ok(ts))
        return ED_EINVAL;
    int64_t s = ts, e = ts + gap_ms;
    /* First session that ends after ts (end > s): sessions before it end at
     * or before the record's start, so they do not overlap it. Ends are
     * increasing because the sessions are sorted and disjoint. */
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (sessions[mid].end_ms > s)
            hi = mid;
        else
            lo = mid + 1;
    }
    int first = lo, last = lo;
    /* From there, every session starting before the record's end overlaps. */
    while (last < n && sessions[last].start_ms < e)
        last++;
    out->first = first;
    out->count = last - first;
    if (out->count > 0) {
        if (sessions[first].start_ms < s)
            s = sessions[first].start_ms;
        if (sessions[last - 1].end_ms > e)
            e = sessions[last - 1].end_ms;
    }
    out->bounds.start_ms = s;
    out->bounds.end_ms = e;
    return 0;
}

int ed_session_apply(ed_window_bounds_t *sessions, int n, const ed_session_place_t *p) {
    assert(p->first >= 0 && p->first + p->count <= n);
    if (p->count == 0) {
        for (int i = n; i > p->first; i--)
            sessions[i] = sessions[i - 1];
        sessions[p->first] = p->bounds;
        return n + 1;
    }
    sessions[p->first] = p->bounds;
    int gone = p->count - 1;
    for (int i = p->first + 1; i + gone < n; i++)
        sessions[i] = sessions[i + gone];
    return n - gone;
}
