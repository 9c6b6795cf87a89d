/* ed_sink.c — the sink type registry, see ed_sink.h and ed_sinks.def. */
#include "sinks/ed_sink.h"

#define ED_SINK_TYPE(sym) extern const ed_sink_type_t sym;
#include "sinks/ed_sinks.def"
#undef ED_SINK_TYPE

static const ed_sink_type_t *const s_types[] = {
#define ED_SINK_TYPE(sym) &sym,
#include "sinks/ed_sinks.def"
#undef ED_SINK_TYPE
};

const ed_sink_type_t *ed_sink_type_find(ed_sink_kind_t kind) {
    for (size_t i = 0; i < sizeof s_types / sizeof s_types[0]; i++)
        if (s_types[i]->kind == kind)
            return s_types[i];
    return 0;
}
