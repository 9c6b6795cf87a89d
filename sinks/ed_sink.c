/* ed_sink.c — the sink type registry (see ed_sink.h and ed_sinks.def) and
 * the config checks shared by the SQL sinks. */
#include "sinks/ed_sink.h"

#include <stdlib.h>
#include <string.h>

#define ED_SINK_TYPE(sym) extern const ed_sink_type_t sym;
#define ED_SINK_PLANNED(name, what)
#include "sinks/ed_sinks.def"
#undef ED_SINK_TYPE
#undef ED_SINK_PLANNED

/* Planned types: a name and a description, no implementation. */
#define ED_SINK_TYPE(sym)
#define ED_SINK_PLANNED(nm, what)                                                                  \
    static const ed_sink_type_t s_planned_##nm = {                                                 \
        .conf = {.name = #nm, .desc = what, .caps = ED_CAP_PLANNED}};
#include "sinks/ed_sinks.def"
#undef ED_SINK_TYPE
#undef ED_SINK_PLANNED

static const ed_conf_plugin_t *const s_conf_types[] = {
#define ED_SINK_TYPE(sym) &sym.conf,
#define ED_SINK_PLANNED(nm, what)
#include "sinks/ed_sinks.def"
#undef ED_SINK_TYPE
#undef ED_SINK_PLANNED
#define ED_SINK_TYPE(sym)
#define ED_SINK_PLANNED(nm, what) &s_planned_##nm.conf,
#include "sinks/ed_sinks.def"
#undef ED_SINK_TYPE
#undef ED_SINK_PLANNED
};

const ed_conf_plugin_t *const *ed_sink_conf_types(int *n) {
    *n = (int)ED_ARRAY_SIZE(s_conf_types);
    return s_conf_types;
}

const ed_sink_type_t *ed_sink_type_of(const ed_conf_sink_t *sink) {
    /* conf is the first member of ed_sink_type_t. */
    return sink->type ? (const ed_sink_type_t *)(const void *)sink->type : NULL;
}

const ed_sink_type_t *ed_sink_type_find(const char *name) {
    for (size_t i = 0; i < ED_ARRAY_SIZE(s_conf_types); i++)
        if (!strcmp(s_conf_types[i]->name, name) && !(s_conf_types[i]->caps & ED_CAP_PLANNED))
            return (const ed_sink_type_t *)(const void *)s_conf_types[i];
    return NULL;
}

int ed_sink_windowed(const ed_conf_aggregation_t *agg) {
    return agg && agg->window.kind != ED_WIN_NONE;
}

const char *ed_sink_window_check(const ed_conf_aggregation_t *agg, const ed_change_t *c) {
    if (ed_sink_windowed(agg))
        return c->window_start_ms < c->window_end_ms
                   ? NULL
                   : "row of a windowed aggregation has no window (start must be before end)";
    return c->window_start_ms || c->window_end_ms
               ? "row of a cumulative aggregation carries a window"
               : NULL;
}

int ed_sink_check_table(ed_conf_check_t *ck, const char *table) {
    if (!table || ed_conf_valid_table(table))
        return 0;
    return ed_conf_check_err(ck, "table",
                             "invalid table name '%s' in %s; expected a SQL identifier (letters, "
                             "digits, '_'; at most %d characters), optionally schema-qualified",
                             table, ed_conf_check_where(ck, "table"), ED_CONF_MAX_IDENT);
}

int ed_sink_link_table(ed_conf_check_t *ck, char **table, const ed_conf_aggregation_t *agg) {
    if (*table)
        return 0;
    if (!ed_conf_valid_table(agg->name))
        return ed_conf_check_err(ck, "table",
                                 "%s sink '%s' would use the aggregation name '%s' as its table, "
                                 "which is not a valid SQL identifier; expected 'table' set in "
                                 "the sink",
                                 ed_conf_check_sink(ck)->type->name, ed_conf_check_name(ck),
                                 agg->name);
    *table = strdup(agg->name);
    return 0;
}
