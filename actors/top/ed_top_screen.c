/*
 * ed_top_screen.c — drawing `eddy top` with ncursesw (see the header).
 *
 * Every line is built as UTF-8 text first (members escaped and cut to their
 * column by terminal cells, ed_top_text.h), then written with addstr: the
 * wide-character ncurses turns it into cells, so wide characters and
 * combining marks keep the columns aligned.
 */
#define _XOPEN_SOURCE 700
#include "actors/top/ed_top_screen.h"

#include <curses.h>
#include <langinfo.h>
#include <stdio.h>
#include <string.h>

#include "actors/top/ed_top_text.h"
#include "runtime/ed_buf.h"

#define S_MIN_PANEL 40 /* columns a board needs to show all its columns */
#define S_RATE_W 7
#define S_MOVE_W 4

enum { S_UP = 1, S_DOWN, S_NEW, S_BAR };

static int s_open;
static int s_utf8;  /* the terminal takes UTF-8 (LC_CTYPE's codeset) */
static int s_color; /* the terminal has colours */

int ed_top_screen_open(void) {
    s_utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
    if (!newterm(NULL, stdout, stdin))
        return -1;
    s_open = 1;
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    if (has_colors()) {
        s_color = 1;
        start_color();
        use_default_colors();
        init_pair(S_UP, COLOR_GREEN, -1);
        init_pair(S_DOWN, COLOR_RED, -1);
        init_pair(S_NEW, COLOR_YELLOW, -1);
        init_pair(S_BAR, COLOR_WHITE, COLOR_RED);
    }
    return 0;
}

void ed_top_screen_close(void) {
    if (!s_open)
        return;
    endwin();
    s_open = 0;
}

/* Appends the n bytes at s, escaped for this terminal, cut to `cols` cells
 * ("…" marks a cut) and padded with spaces to exactly `cols` cells (or, with
 * right = 1, padded on the left). */
static void s_put_cell(ed_buf_t *line, const char *s, size_t n, int cols, int right) {
    ed_buf_t esc = ED_BUF_INIT;
    ed_top_escape(s, n, s_utf8 ? ED_TOP_ESC_SCREEN : ED_TOP_ESC_ASCII, &esc);
    int used = 0;
    size_t fit = ed_top_fit(esc.data ? esc.data : "", esc.len, cols, &used);
    int cut = fit < esc.len;
    if (cut && cols > 0)
        fit = ed_top_fit(esc.data, esc.len, cols - 1, &used);
    if (right)
        for (int i = used + cut; i < cols; i++)
            ed_buf_puts(line, " ");
    ed_buf_append(line, esc.data ? esc.data : "", fit);
    if (cut && cols > 0)
        ed_buf_puts(line, s_utf8 ? "\xe2\x80\xa6" : "~");
    if (!right)
        for (int i = used + cut; i < cols; i++)
            ed_buf_puts(line, " ");
    ed_buf_free(&esc);
}

static void s_put_str(ed_buf_t *line, const char *s, int cols, int right) {
    s_put_cell(line, s, strlen(s), cols, right);
}

static void s_addline(int y, int x, const ed_buf_t *line) {
    mvaddstr(y, x, line->data ? line->data : "");
}

static int s_digits(size_t v) {
    int d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

/* One board in the rectangle (y, x, w columns, h lines). */
static void s_draw_board(const ed_top_view_t *v, const ed_top_board_t *b, int focused, int y, int x,
                         int w, int h) {
    ed_buf_t line = ED_BUF_INIT;
    const ed_top_snap_t *s = &b->cur;
    /* title: the key read */
    if (b->has_data && s->key)
        s_put_cell(&line, s->key, s->key_len, w, 0);
    else if (!b->is_pattern)
        s_put_cell(&line, b->literal, b->literal_len, w, 0);
    else
        s_put_str(&line, b->spec, w, 0);
    attron(focused ? A_REVERSE | A_BOLD : A_BOLD);
    s_addline(y, x, &line);
    attroff(A_REVERSE | A_BOLD);
    if (h < 2)
        goto out;
    /* info line */
    ed_buf_reset(&line);
    ed_buf_t info = ED_BUF_INIT;
    if (b->is_pattern)
        ed_buf_printf(&info, "%s%s", b->spec, s_utf8 ? " \xc2\xb7 " : " - ");
    if (b->err[0]) {
        ed_buf_printf(&info, "error: %s", b->err);
    } else if (!b->has_data) {
        ed_buf_puts(&info, "not read yet");
    } else if (b->is_pattern && !s->key) {
        ed_buf_puts(&info, "no sorted set matches");
    } else if (s->pttl_ms == -2 && s->card == 0) {
        ed_buf_puts(&info, "no such key");
    } else {
        char ttl[32];
        ed_top_fmt_ttl(s->pttl_ms, ttl, sizeof ttl);
        ed_buf_printf(&info, "%lld member%s%sttl %s", s->card, s->card == 1 ? "" : "s",
                      s_utf8 ? " \xc2\xb7 " : " - ", ttl);
    }
    s_put_cell(&line, info.data, info.len, w, 0);
    ed_buf_free(&info);
    if (b->err[0] && s_color)
        attron(COLOR_PAIR(S_DOWN) | A_BOLD);
    s_addline(y + 1, x, &line);
    attroff(COLOR_PAIR(S_DOWN) | A_BOLD);
    if (h < 3)
        goto out;
    /* columns: " rank member score rate move" */
    size_t shown = b->has_data ? s->n : 0;
    if (shown > (size_t)v->rows)
        shown = (size_t)v->rows;
    int rw = s_digits(shown ? shown : 1), sw = 5;
    for (size_t i = 0; i < shown; i++) {
        int c = (int)strlen(s->v[i].score);
        if (c > sw)
            sw = c;
    }
    if (sw > 12)
        sw = 12;
    int mw = w - (1 + rw + 1 + 1 + sw + 1 + S_RATE_W + 1 + S_MOVE_W);
    if (mw < 4)
        mw = 4;
    ed_buf_reset(&line);
    ed_buf_puts(&line, " ");
    s_put_str(&line, "#", rw, 1);
    ed_buf_puts(&line, " ");
    s_put_str(&line, "member", mw, 0);
    ed_buf_puts(&line, " ");
    s_put_str(&line, "score", sw, 1);
    ed_buf_puts(&line, " ");
    s_put_str(&line, s_utf8 ? "\xce\x94/s" : "d/s", S_RATE_W, 1);
    ed_buf_puts(&line, " ");
    s_put_str(&line, "move", S_MOVE_W, 0);
    attron(A_UNDERLINE);
    s_addline(y + 2, x, &line);
    attroff(A_UNDERLINE);
    int avail = h - 3;
    int more = shown > (size_t)avail;
    size_t fit_rows = more ? (size_t)(avail > 0 ? avail - 1 : 0) : shown;
    for (size_t i = 0; i < fit_rows; i++) {
        const ed_top_entry_t *e = &s->v[i];
        char num[32], rate[32], move[32], score[32];
        ed_buf_reset(&line);
        snprintf(num, sizeof num, "%zu", i + 1);
        ed_buf_puts(&line, " ");
        s_put_str(&line, num, rw, 1);
        ed_buf_puts(&line, " ");
        s_put_cell(&line, e->member, e->len, mw, 0);
        ed_buf_puts(&line, " ");
        if ((int)strlen(e->score) > sw)
            snprintf(score, sizeof score, "%.6g", e->value);
        else
            snprintf(score, sizeof score, "%s", e->score);
        s_put_str(&line, score, sw, 1);
        ed_buf_puts(&line, " ");
        rate[0] = 0;
        if (b->d[i].has_rate)
            ed_top_fmt_rate(b->d[i].rate, rate, sizeof rate);
        s_put_str(&line, rate, S_RATE_W, 1);
        ed_buf_puts(&line, " ");
        s_addline(y + 3 + (int)i, x, &line);
        ed_top_fmt_move(&b->d[i], s_utf8, move, sizeof move);
        ed_buf_reset(&line);
        s_put_str(&line, move, S_MOVE_W, 0);
        int pair = b->d[i].move == ED_TOP_MOVE_UP     ? S_UP
                   : b->d[i].move == ED_TOP_MOVE_DOWN ? S_DOWN
                   : b->d[i].move == ED_TOP_MOVE_NEW  ? S_NEW
                                                      : 0;
        if (s_color && pair)
            attron(COLOR_PAIR(pair));
        addstr(line.data);
        if (s_color && pair)
            attroff(COLOR_PAIR(pair));
    }
    if (more && avail > 0) {
        char msg[96];
        snprintf(msg, sizeof msg, " %s %zu more rows: make the window taller",
                 s_utf8 ? "\xe2\x80\xa6" : "...", shown - fit_rows);
        ed_buf_reset(&line);
        s_put_str(&line, msg, w, 0);
        attron(A_DIM);
        s_addline(y + 3 + (int)fit_rows, x, &line);
        attroff(A_DIM);
    }
out:
    ed_buf_free(&line);
}

void ed_top_screen_draw(const ed_top_view_t *v) {
    int H = LINES, W = COLS;
    erase();
    const char *dot = s_utf8 ? " \xc2\xb7 " : " - ";
    /* which boards fit */
    int k = v->zoom ? 1 : (W + 1) / (S_MIN_PANEL + 1);
    if (k < 1)
        k = 1;
    if (k > v->nboards)
        k = v->nboards;
    int first = v->focus / k * k;
    if (first + k > v->nboards)
        first = v->nboards - k;
    /* header */
    ed_buf_t hdr = ED_BUF_INIT, line = ED_BUF_INIT;
    ed_buf_printf(&hdr, "eddy top%s%s%severy ", dot, v->addr, dot);
    long long iv = (long long)v->interval_ms;
    if (iv % 3600000 == 0)
        ed_buf_printf(&hdr, "%lldh", iv / 3600000);
    else if (iv % 60000 == 0)
        ed_buf_printf(&hdr, "%lldm", iv / 60000);
    else if (iv % 1000 == 0)
        ed_buf_printf(&hdr, "%llds", iv / 1000);
    else
        ed_buf_printf(&hdr, "%lldms", iv);
    ed_buf_printf(&hdr, "%s%d rows", dot, v->rows);
    if (v->updated[0])
        ed_buf_printf(&hdr, "%supdated %s", dot, v->updated);
    if (v->dt_s > 0)
        ed_buf_printf(&hdr, " (%st %.2fs)", s_utf8 ? "\xce\x94" : "d", v->dt_s);
    if (k == 1 && v->nboards > 1)
        ed_buf_printf(&hdr, "%sset %d of %d", dot, first + 1, v->nboards);
    else if (k < v->nboards)
        ed_buf_printf(&hdr, "%ssets %d-%d of %d", dot, first + 1, first + k, v->nboards);
    if (v->paused)
        ed_buf_puts(&hdr, "  PAUSED");
    s_put_cell(&line, hdr.data, hdr.len, W, 0);
    attron(A_BOLD);
    s_addline(0, 0, &line);
    attroff(A_BOLD);
    /* boards */
    int pw = (W - (k - 1)) / k, top = 2, h = H - 3;
    for (int j = 0; j < k && h > 0; j++) {
        int x = j * (pw + 1);
        if (j)
            for (int yy = top; yy < top + h; yy++)
                mvaddstr(yy, x - 1, s_utf8 ? "\xe2\x94\x82" : "|");
        s_draw_board(v, v->boards[first + j], first + j == v->focus, top, x, pw, h);
    }
    /* status line: the problem, or the keys */
    ed_buf_reset(&line);
    if (v->status[0]) {
        s_put_str(&line, v->status, W, 0);
        attron(s_color ? COLOR_PAIR(S_BAR) | A_BOLD : A_REVERSE | A_BOLD);
    } else {
        s_put_str(&line,
                  v->paused ? "PAUSED: p resumes  q quit  tab/arrows switch set  +/- rows  z zoom"
                            : "q quit  tab/arrows switch set  p pause  +/- rows  z zoom  r refresh",
                  W, 0);
        attron(A_REVERSE);
    }
    s_addline(H - 1, 0, &line);
    attroff(A_REVERSE | A_BOLD | (s_color ? COLOR_PAIR(S_BAR) : 0));
    ed_buf_free(&hdr);
    ed_buf_free(&line);
    refresh();
}

ed_top_key_t ed_top_screen_key(int timeout_ms) {
    timeout(timeout_ms < 0 ? 0 : timeout_ms);
    int ch = getch();
    switch (ch) {
    case 'q':
    case 'Q':
    case 3:
        return ED_TOP_KEY_QUIT;
    case '\t':
    case KEY_RIGHT:
    case KEY_DOWN:
        return ED_TOP_KEY_NEXT;
    case KEY_BTAB:
    case KEY_LEFT:
    case KEY_UP:
        return ED_TOP_KEY_PREV;
    case 'p':
    case 'P':
    case ' ':
        return ED_TOP_KEY_PAUSE;
    case '+':
    case '=':
        return ED_TOP_KEY_MORE;
    case '-':
    case '_':
        return ED_TOP_KEY_FEWER;
    case 'z':
    case 'Z':
    case '\r':
    case '\n':
    case KEY_ENTER:
        return ED_TOP_KEY_ZOOM;
    case 'r':
    case 'R':
        return ED_TOP_KEY_REFRESH;
    case KEY_RESIZE:
        return ED_TOP_KEY_RESIZE;
    default:
        return ED_TOP_KEY_NONE;
    }
}
