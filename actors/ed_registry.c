/* ed_registry.c — see ed_registry.h. */
#include "actors/ed_registry.h"

#include <pthread.h>

#include "actors/aggregate/ed_aggfn.h"
#include "actors/sources/ed_source.h"
#include "config/ed_config.h"
#include "sinks/ed_sink.h"

/* The aggregate functions `compute:` names: every row of the function table
 * (actors/aggregate/ed_aggfn.c); none is planned now (a planned one would be
 * listed after them with `planned` set, fn NULL, and refused by name).
 * Filled once by s_init; `fn` is what ed_conf_compute_t.fn holds. */
static ed_conf_aggfn_t s_aggfns[32];
static int s_naggfns;

static const ed_conf_aggfn_t *s_aggfn(int i) {
    return i >= 0 && i < s_naggfns ? &s_aggfns[i] : NULL;
}

static ed_conf_registry_t s_reg;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void s_init(void) {
    s_reg.sources = ed_source_conf_types(&s_reg.nsources);
    s_reg.sinks = ed_sink_conf_types(&s_reg.nsinks);
    for (int i = 0; i < ed_naggfns && s_naggfns < (int)ED_ARRAY_SIZE(s_aggfns); i++)
        s_aggfns[s_naggfns++] = (ed_conf_aggfn_t){ed_aggfns[i].name, ed_aggfns[i].takes_field,
                                                  &ed_aggfns[i], ed_aggfns[i].summary, 0};
    s_reg.aggfn = s_aggfn;
    s_reg.windows = 1;
}

const ed_conf_registry_t *ed_registry(void) {
    pthread_once(&s_once, s_init);
    return &s_reg;
}
