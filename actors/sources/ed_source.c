/* ed_source.c — the source driver registry, see ed_source.h. */
#include "actors/sources/ed_source.h"

#include <stdio.h>
#include <string.h>

#define ED_SOURCE_TYPE(sym) extern const ed_source_type_t sym;
#include "actors/sources/ed_sources.def"
#undef ED_SOURCE_TYPE

static const ed_conf_plugin_t *const s_conf_types[] = {
#define ED_SOURCE_TYPE(sym) &sym.conf,
#include "actors/sources/ed_sources.def"
#undef ED_SOURCE_TYPE
};

const ed_conf_plugin_t *const *ed_source_conf_types(int *n) {
    *n = (int)ED_ARRAY_SIZE(s_conf_types);
    return s_conf_types;
}

const ed_source_type_t *ed_source_type_of(const ed_conf_source_t *src) {
    /* conf is the first member of ed_source_type_t. */
    return src->type ? (const ed_source_type_t *)(const void *)src->type : NULL;
}

const ed_source_type_t *ed_source_type_find(const char *name) {
    for (size_t i = 0; i < ED_ARRAY_SIZE(s_conf_types); i++)
        if (!strcmp(s_conf_types[i]->name, name))
            return (const ed_source_type_t *)(const void *)s_conf_types[i];
    return NULL;
}

size_t ed_input_position(const ed_input_t *in, char *buf, size_t size) {
    int n;
    if (in->topic)
        n = snprintf(buf, size, "%s/%d@%lld", in->topic, (int)in->partition, (long long)in->offset);
    else if (in->file)
        n = snprintf(buf, size, "%s:%lld", in->file, (long long)in->offset);
    else
        n = snprintf(buf, size, "#%lld", (long long)in->offset);
    if (n < 0)
        n = 0;
    return (size_t)n < size ? (size_t)n : size ? size - 1 : 0;
}

int ed_source_fd_none(void *ctx) {
    (void)ctx;
    return -1;
}

int ed_source_checkpoint_none(void *ctx, uint64_t n) {
    (void)ctx;
    (void)n;
    return 0;
}

int ed_source_commit_none(void *ctx, uint64_t n, char *errstr, size_t errstr_size) {
    (void)ctx;
    (void)n;
    (void)errstr;
    (void)errstr_size;
    return 0;
}

uint64_t ed_source_due(int64_t *start_us, double rate, uint64_t made, uint64_t n) {
    if (!(rate > 0))
        return n;
    int64_t now = ed_now_us();
    if (!*start_us)
        *start_us = now;
    /* Events due by now: the first one at once, then one per 1/rate s. */
    double due_f = (double)(now - *start_us) * rate / 1e6 + 1.0;
    uint64_t due = due_f >= 1.8e19 ? UINT64_MAX : (uint64_t)due_f;
    if (due <= made)
        return 0;
    return due - made < n ? due - made : n;
}

int ed_source_check_instance_events(ed_conf_check_t *ck, uint64_t events) {
    const ed_conf_source_t *src = ed_conf_check_source(ck);
    if (events && events < (uint64_t)src->instances)
        return ed_conf_check_err(ck, "instances",
                                 "source '%s' has %d instances but only %llu events; each "
                                 "instance needs at least one (an instance with 0 events would "
                                 "run unbounded)",
                                 src->name, src->instances, (unsigned long long)events);
    return 0;
}
