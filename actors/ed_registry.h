/*
 * ed_registry.h — every source type, sink type and aggregate function of
 * this build, as the config loader sees them (config/ed_conf_map.h). The
 * loader knows none of them by itself: whoever loads a config hands it this
 * registry (`ed_config_load(path, ed_registry(), …)`).
 */
#ifndef ED_REGISTRY_H
#define ED_REGISTRY_H

#include "config/ed_conf_map.h"

/* The registry: source types of actors/sources/ed_sources.def, sink types of
 * sinks/ed_sinks.def (planned ones included, refused by name), and the
 * aggregate functions. Static, immutable; safe from any thread. */
const ed_conf_registry_t *ed_registry(void);

#endif
