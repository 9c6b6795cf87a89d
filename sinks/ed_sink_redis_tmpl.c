/*
 * ed_sink_redis_tmpl.c — the redis sink's key and member templates
 * ("top:{doc}", "top:products:{window_start}") compiled to segments and
 * expanded per changelog row. See ed_sink_redis.h.
 */
#include "sinks/ed_sink_redis.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/ed_key.h"
#include "runtime/ed_common.h"

static int s_col_idx(const ed_conf_aggregation_t *agg, const char *name, size_t len) {
    for (int i = 0; i < agg->nkey; i++)
        if (strlen(agg->key[i].column) == len && !memcmp(agg->key[i].column, name, len))
            return i;
    if (agg->window.kind != ED_WIN_NONE) {
        if (len == strlen(ED_REDIS_WINDOW_START) && !memcmp(name, ED_REDIS_WINDOW_START, len))
            return ED_REDIS_SEG_WSTART;
        if (len == strlen(ED_REDIS_WINDOW_END) && !memcmp(name, ED_REDIS_WINDOW_END, len))
            return ED_REDIS_SEG_WEND;
    }
    return ED_REDIS_SEG_TEXT;
}

int ed_redis_tmpl_parse(ed_redis_tmpl_t *t, const char *text, const ed_conf_aggregation_t *agg,
                        const char *sink, const char *what, char *errstr, size_t errstr_size) {
    size_t n = strlen(text);
    t->segs = ed_calloc(n + 1, sizeof *t->segs);
    t->nsegs = 0;
    const char *p = text;
    while (*p) {
        const char *open = strchr(p, '{');
        const char *close = open ? strchr(open, '}') : NULL;
        if (!open || !close) {
            t->segs[t->nsegs++] = (ed_redis_seg_t){ED_REDIS_SEG_TEXT, p, strlen(p)};
            break;
        }
        if (open > p)
            t->segs[t->nsegs++] = (ed_redis_seg_t){ED_REDIS_SEG_TEXT, p, (size_t)(open - p)};
        int idx = s_col_idx(agg, open + 1, (size_t)(close - open - 1));
        if (idx == ED_REDIS_SEG_TEXT) {
            ed_buf_t cols = ED_BUF_INIT;
            for (int i = 0; i < agg->nkey; i++)
                ed_buf_printf(&cols, "%s{%s}", i ? ", " : "", agg->key[i].column);
            if (agg->window.kind != ED_WIN_NONE)
                ed_buf_printf(&cols, ", {%s}, {%s}", ED_REDIS_WINDOW_START, ED_REDIS_WINDOW_END);
            int rc = ed_seterr(errstr, errstr_size, ED_EINVAL,
                               "sink '%s': %s template \"%s\" names {%.*s}, which is not a key "
                               "column of aggregation '%s'; expected one of: %s",
                               sink, what, text, (int)(close - open - 1), open + 1, agg->name,
                               cols.data ? cols.data : "(none)");
            ed_buf_free(&cols);
            free(t->segs);
            t->segs = NULL;
            t->nsegs = 0;
            return rc;
        }
        t->segs[t->nsegs++] = (ed_redis_seg_t){idx, NULL, 0};
        p = close + 1;
    }
    return 0;
}

int ed_redis_tmpl_uses(const ed_redis_tmpl_t *t, int part) {
    for (int i = 0; i < t->nsegs; i++)
        if (t->segs[i].part == part)
            return 1;
    return 0;
}

void ed_redis_tmpl_expand(const ed_redis_tmpl_t *t, ed_buf_t *b, const ed_change_t *c) {
    const uint8_t *key = ed_change_key(c);
    for (int i = 0; i < t->nsegs; i++) {
        const ed_redis_seg_t *s = &t->segs[i];
        if (s->part == ED_REDIS_SEG_TEXT) {
            ed_buf_append(b, s->text, s->len);
        } else if (s->part == ED_REDIS_SEG_WSTART || s->part == ED_REDIS_SEG_WEND) {
            ed_buf_printf(b, "%" PRId64,
                          s->part == ED_REDIS_SEG_WSTART ? c->window_start_ms : c->window_end_ms);
        } else {
            const uint8_t *part = NULL;
            size_t len = 0;
            if (ed_key_part(key, c->key_len, s->part, &part, &len) == 0)
                ed_buf_append(b, part, len);
        }
    }
}

void ed_redis_tmpl_free(ed_redis_tmpl_t *t) {
    free(t->segs);
    t->segs = NULL;
    t->nsegs = 0;
}
