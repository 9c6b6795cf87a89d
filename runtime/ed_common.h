/*
 * ed_common.h — the base every eddy module includes: error codes and
 * errstr (ed_err.h), logging (ed_log.h), allocation (ed_alloc.h) and the
 * clocks (ed_clock.h). It only includes them (no ed_common.c); new code may
 * include the one it needs.
 */
#ifndef ED_COMMON_H
#define ED_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/ed_alloc.h"
#include "runtime/ed_clock.h"
#include "runtime/ed_err.h"
#include "runtime/ed_log.h"

/* Number of elements of a true array (not a pointer). */
#define ED_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
