/* ed_time.c — see ed_time.h. */
#include "actors/decode/ed_time.h"

#include <math.h>

#include "runtime/ed_common.h"

static inline int s_is_digit(char c) {
    return c >= '0' && c <= '9';
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil); no libc, locale or TZ involved. */
static int64_t s_days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int s_num2(const char *s, size_t n, size_t *i, int ndig, int *out) {
    int v = 0;
    for (int k = 0; k < ndig; k++) {
        if (*i >= n || !s_is_digit(s[*i]))
            return -1;
        v = v * 10 + (s[(*i)++] - '0');
    }
    *out = v;
    return 0;
}

/* ISO-8601 / RFC 3339: YYYY-MM-DD[(T|t| )HH:MM[:SS[(.|,)frac]][Z|±HH[:MM]|±HHMM]].
 * No zone means UTC. Fractions beyond ms are truncated. */
static int s_parse_iso(const char *s, size_t n, int64_t *ms) {
    size_t i = 0;
    int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, off = 0;
    if (s_num2(s, n, &i, 4, &y) || i >= n || s[i++] != '-' || s_num2(s, n, &i, 2, &mo) || i >= n ||
        s[i++] != '-' || s_num2(s, n, &i, 2, &d))
        return ED_EINVAL;
    if (i < n) {
        if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
            return ED_EINVAL;
        i++;
        if (s_num2(s, n, &i, 2, &h) || i >= n || s[i++] != ':' || s_num2(s, n, &i, 2, &mi))
            return ED_EINVAL;
        if (i < n && s[i] == ':') {
            i++;
            if (s_num2(s, n, &i, 2, &sec))
                return ED_EINVAL;
            if (i < n && (s[i] == '.' || s[i] == ',')) {
                i++;
                if (i >= n || !s_is_digit(s[i]))
                    return ED_EINVAL;
                int k = 0;
                for (; i < n && s_is_digit(s[i]); i++, k++)
                    if (k < 3)
                        frac = frac * 10 + (s[i] - '0');
                for (; k < 3; k++)
                    frac *= 10;
            }
        }
        if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
            i++;
        } else if (i < n && (s[i] == '+' || s[i] == '-')) {
            int sign = s[i++] == '-' ? -1 : 1, oh, om = 0;
            if (s_num2(s, n, &i, 2, &oh))
                return ED_EINVAL;
            if (i < n && s[i] == ':') {
                i++;
                if (s_num2(s, n, &i, 2, &om))
                    return ED_EINVAL;
            } else if (i < n && s_num2(s, n, &i, 2, &om)) {
                return ED_EINVAL;
            }
            if (oh > 23 || om > 59)
                return ED_EINVAL;
            off = sign * (oh * 60 + om);
        }
        if (i != n)
            return ED_EINVAL;
    }
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
        return ED_EINVAL;
    if (h > 23 || mi > 59 || sec > 60) /* 60: leap second, rolls into the next minute */
        return ED_EINVAL;
    int64_t secs = ((s_days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + sec;
    *ms = (secs - (int64_t)off * 60) * 1000 + frac;
    return 0;
}

static int s_ms_from(double msd, int64_t *ms) {
    if (!isfinite(msd) || fabs(msd) > 9.2e18)
        return ED_EINVAL;
    *ms = llround(msd);
    return 0;
}

/* Epoch number of a value for the epoch formats: numbers or numeric text. */
static int s_time_num(const ed_val_t *v, double *x) {
    if (v->type != ED_VAL_NUMBER && v->type != ED_VAL_STRING)
        return ED_EINVAL;
    return ed_val_to_num(v, x);
}

int ed_time_parse(const ed_val_t *v, ed_time_format_t fmt, int64_t *ms) {
    double x;
    switch (fmt) {
    case ED_TIME_EPOCH_S:
        if (s_time_num(v, &x))
            return ED_EINVAL;
        return s_ms_from(x * 1000.0, ms);
    case ED_TIME_EPOCH_MS:
        if (s_time_num(v, &x))
            return ED_EINVAL;
        return s_ms_from(x, ms);
    case ED_TIME_ISO8601:
        if (v->type != ED_VAL_STRING)
            return ED_EINVAL;
        return s_parse_iso(v->ptr, v->len, ms);
    case ED_TIME_AUTO:
        if (s_time_num(v, &x) == 0)
            return s_ms_from(fabs(x) < 1e11 ? x * 1000.0 : x, ms);
        if (v->type != ED_VAL_STRING)
            return ED_EINVAL;
        return s_parse_iso(v->ptr, v->len, ms);
    case ED_TIME_NONE:
        break;
    }
    return ED_EINVAL;
}
