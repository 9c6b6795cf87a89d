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
