/* ed_source.c — the source driver registry, see ed_source.h. */
#include "actors/sources/ed_source.h"

#define ED_SOURCE_TYPE(sym) extern const ed_source_type_t sym;
#include "actors/sources/ed_sources.def"
#undef ED_SOURCE_TYPE

static const ed_source_type_t *const s_types[] = {
#define ED_SOURCE_TYPE(sym) &sym,
#include "actors/sources/ed_sources.def"
#undef ED_SOURCE_TYPE
};

const ed_source_type_t *ed_source_type_find(ed_src_kind_t kind) {
    for (size_t i = 0; i < sizeof s_types / sizeof s_types[0]; i++)
        if (s_types[i]->kind == kind)
            return s_types[i];
    return 0;
}
