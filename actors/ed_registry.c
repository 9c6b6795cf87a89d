/* ed_registry.c — see ed_registry.h. */
#include "actors/ed_registry.h"

#include <pthread.h>

#include "actors/sources/ed_source.h"
#include "config/ed_config.h"
#include "sinks/ed_sink.h"

/* The aggregate functions `compute:` names. `id` is the ed_aggfn_t stored
 * in ed_conf_compute_t.fn. */
static const ed_conf_aggfn_t s_aggfns[] = {
    {"count", 0, ED_AGG_COUNT, "number of records", 0},
    {"sum", 1, ED_AGG_SUM, "sum of a numeric field", 0},
    {"min", 1, ED_AGG_MIN, "smallest value", 0},
    {"max", 1, ED_AGG_MAX, "largest value", 0},
    {"avg", 1, ED_AGG_AVG, "mean", 0},
    {"approx_distinct", 1, 0, "an estimate of the number of distinct values (HyperLogLog)", 1},
};

static const ed_conf_aggfn_t *s_aggfn(int i) {
    return i >= 0 && i < (int)ED_ARRAY_SIZE(s_aggfns) ? &s_aggfns[i] : NULL;
}

static ed_conf_registry_t s_reg;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void s_init(void) {
    s_reg.sources = ed_source_conf_types(&s_reg.nsources);
    s_reg.sinks = ed_sink_conf_types(&s_reg.nsinks);
    s_reg.aggfn = s_aggfn;
}

const ed_conf_registry_t *ed_registry(void) {
    pthread_once(&s_once, s_init);
    return &s_reg;
}
