/*
 * ed_time.h — event time from a field value: epoch seconds, epoch
 * milliseconds or ISO-8601 / RFC 3339 text, to milliseconds since the epoch
 * (UTC). No libc time functions, locale or TZ are involved.
 */
#ifndef ED_TIME_H
#define ED_TIME_H

#include <stdint.h>

#include "actors/decode/ed_val.h"
#include "config/ed_config.h"

/* Parses event time from a value: epoch seconds (may be fractional), epoch
 * ms, or ISO-8601 / RFC 3339 ("2024-05-01T12:00:00Z", "…+02:00", ".123";
 * no zone means UTC, digits beyond ms are truncated).
 * ED_TIME_AUTO: numbers < 1e11 are seconds, else ms; strings are ISO-8601
 * (or numeric text, as numbers). Returns 0 and *ms (since epoch, UTC), or
 * ED_EINVAL (wrong type, not a valid time, out of the int64 ms range). */
int ed_time_parse(const ed_val_t *v, ed_time_format_t fmt, int64_t *ms);

#endif
