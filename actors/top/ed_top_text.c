/*
 * ed_top_text.c — number, TTL and member formatting; the --once snapshot.
 */
#define _XOPEN_SOURCE 700
#include "actors/top/ed_top_text.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <wchar.h>

void ed_top_fmt_rate(double rate, char *out, size_t n) {
    if (rate == 0 || isnan(rate)) {
        snprintf(out, n, "%s", "");
        return;
    }
    if (isinf(rate)) {
        snprintf(out, n, "%s", rate > 0 ? "+inf" : "-inf");
        return;
    }
    static const char sfx[] = {0, 'k', 'M', 'G', 'T'};
    double a = fabs(rate);
    int i = 0;
    /* 999.5 and up would print as "1e+03" with 3 significant digits */
    while (a >= 999.5 && i < 4) {
        a /= 1000;
        i++;
    }
    char num[32];
    snprintf(num, sizeof num, "%.3g", a);
    if (i)
        snprintf(out, n, "%c%s%c", rate > 0 ? '+' : '-', num, sfx[i]);
    else
        snprintf(out, n, "%c%s", rate > 0 ? '+' : '-', num);
}

void ed_top_fmt_ttl(long long pttl_ms, char *out, size_t n) {
    if (pttl_ms == -1) {
        snprintf(out, n, "none");
        return;
    }
    if (pttl_ms < 0) {
        snprintf(out, n, "missing");
        return;
    }
    long long s = pttl_ms / 1000;
    if (s < 60)
        snprintf(out, n, "%llds", s);
    else if (s < 3600)
        snprintf(out, n, "%lldm%02llds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(out, n, "%lldh%02lldm", s / 3600, s % 3600 / 60);
    else
        snprintf(out, n, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
}

void ed_top_fmt_move(const ed_top_delta_t *d, int utf8, char *out, size_t n) {
    switch (d->move) {
    case ED_TOP_MOVE_UP:
        snprintf(out, n, "%s%d", utf8 ? "\xe2\x86\x91" : "^", d->by);
        break;
    case ED_TOP_MOVE_DOWN:
        snprintf(out, n, "%s%d", utf8 ? "\xe2\x86\x93" : "v", d->by);
        break;
    case ED_TOP_MOVE_NEW:
        snprintf(out, n, "new");
        break;
    default:
        snprintf(out, n, "%s", "");
        break;
    }
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates, at most U+10FFFF) and its code point; 0 if not valid. */
static size_t s_utf8_seq(const unsigned char *s, size_t n, uint32_t *cp) {
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t len;
    uint32_t c, min;
    if ((s[0] & 0xe0) == 0xc0)
        len = 2, c = s[0] & 0x1f, min = 0x80;
    else if ((s[0] & 0xf0) == 0xe0)
        len = 3, c = s[0] & 0x0f, min = 0x800;
    else if ((s[0] & 0xf8) == 0xf0)
        len = 4, c = s[0] & 0x07, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

void ed_top_escape(const char *s, size_t n, int mode, ed_buf_t *out) {
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        uint32_t cp = 0;
        size_t len = s_utf8_seq(p + i, n - i, &cp);
        if (mode == ED_TOP_ESC_LINE && len == 1 && strchr("\\\t\n\r", (int)cp) && cp) {
            static const char *esc[] = {"\\\\", "\\t", "\\n", "\\r"};
            ed_buf_puts(out, esc[strchr("\\\t\n\r", (int)cp) - "\\\t\n\r"]);
            i++;
            continue;
        }
        /* C0, DEL and C1 controls would move the cursor or change modes */
        int ctl = len == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0);
        if (ctl || (mode == ED_TOP_ESC_ASCII && len > 1)) {
            size_t k = len ? len : 1;
            for (size_t j = 0; j < k; j++)
                ed_buf_printf(out, "\\x%02x", p[i + j]);
            i += k;
            continue;
        }
        ed_buf_append(out, p + i, len);
        i += len;
    }
}

static int s_cp_cells(uint32_t cp) {
    int w = wcwidth((wchar_t)cp);
    return w < 0 ? 1 : w;
}

int ed_top_cells(const char *s, size_t n) {
    int cells = 0;
    ed_top_fit(s, n, 1 << 30, &cells);
    return cells;
}

size_t ed_top_fit(const char *s, size_t n, int cols, int *used) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    int cells = 0;
    while (i < n) {
        uint32_t cp = 0;
        size_t len = s_utf8_seq(p + i, n - i, &cp);
        if (!len) {
            cp = '?';
            len = 1;
        }
        int w = s_cp_cells(cp);
        if (cells + w > cols)
            break;
        cells += w;
        i += len;
    }
    if (used)
        *used = cells;
    return i;
}

int ed_top_print_once(ed_top_board_t *const *boards, int nboards, int rows, FILE *out) {
    int rc = 0;
    ed_buf_t b = ED_BUF_INIT;
    for (int i = 0; i < nboards; i++) {
        const ed_top_board_t *bd = boards[i];
        const ed_top_snap_t *s = &bd->cur;
        ed_buf_reset(&b);
        if (i)
            ed_buf_puts(&b, "\n");
        ed_buf_puts(&b, "# ");
        if (bd->has_data && s->key)
            ed_top_escape(s->key, s->key_len, ED_TOP_ESC_LINE, &b);
        else if (!bd->is_pattern)
            ed_top_escape(bd->literal, bd->literal_len, ED_TOP_ESC_LINE, &b);
        else
            ed_buf_puts(&b, "-");
        char ttl[32] = "missing";
        if (bd->has_data && s->pttl_ms >= 0)
            snprintf(ttl, sizeof ttl, "%llds", s->pttl_ms / 1000);
        else if (bd->has_data && s->pttl_ms == -1)
            snprintf(ttl, sizeof ttl, "none");
        ed_buf_printf(&b, "\tmembers=%lld\tttl=%s", bd->has_data ? s->card : 0LL, ttl);
        if (bd->is_pattern) {
            ed_buf_puts(&b, "\tpattern=");
            ed_top_escape(bd->spec, strlen(bd->spec), ED_TOP_ESC_LINE, &b);
        }
        if (bd->err[0]) {
            ed_buf_puts(&b, "\terror=");
            ed_top_escape(bd->err, strlen(bd->err), ED_TOP_ESC_LINE, &b);
            rc = 1;
        }
        ed_buf_puts(&b, "\n");
        for (size_t r = 0; bd->has_data && !bd->err[0] && r < s->n && (int)r < rows; r++) {
            ed_buf_printf(&b, "%zu\t%s\t", r + 1, s->v[r].score);
            ed_top_escape(s->v[r].member, s->v[r].len, ED_TOP_ESC_LINE, &b);
            ed_buf_puts(&b, "\n");
        }
        fwrite(b.data, 1, b.len, out);
    }
    ed_buf_free(&b);
    return rc;
}
