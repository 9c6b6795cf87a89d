/*
 * ed_top.c — `eddy top`: arguments, the --once snapshot, and the loop of the
 * full-screen view (refresh, reconnect with backoff, keys).
 *
 * The loop never blocks for long: Redis calls are bounded by --timeout, and
 * between refreshes it waits for keys at most until the next refresh is due.
 * A failed refresh keeps every board's last good snapshot on screen, says
 * what failed in the status line, and retries after 250 ms, doubling up to
 * 5 s; the first good refresh clears the status and resumes the interval.
 */
#define _GNU_SOURCE
#include "actors/top/ed_top.h"

#include <getopt.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actors/top/ed_top_board.h"
#include "actors/top/ed_top_fetch.h"
#include "actors/top/ed_top_screen.h"
#include "actors/top/ed_top_text.h"
#include "config/ed_config.h"
#include "runtime/ed_common.h"

#define S_EX_USAGE 64
#define S_EX_UNAVAILABLE 69
#define S_MAX_ROWS 1000
#define S_MAX_BOARDS 64
#define S_SCAN_BUDGET 50 /* SCAN calls per pattern per refresh (COUNT 1000 each) */
#define S_BACKOFF_FIRST_MS 250
#define S_BACKOFF_MAX_MS 5000

typedef struct {
    const char *url;
    int64_t interval_ms;
    int64_t timeout_ms;
    int rows;
    int once;
} s_opts_t;

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig) {
    (void)sig;
    s_stop = 1;
}

static void s_usage(FILE *out) {
    fprintf(out,
            "usage: eddy top [-r redis://HOST:PORT[/DB]] [--interval 1s] [--rows 20]\n"
            "                [--timeout 2s] [--once] KEY|PATTERN...\n"
            "\n"
            "Shows Redis sorted sets as live leaderboards, side by side: rank, member,\n"
            "score, change per second, rank movement, and the key's TTL. A PATTERN\n"
            "(with * ? or [) follows the newest matching sorted set: the one whose\n"
            "name ends in the largest number, as eddy's window keys do.\n"
            "\n"
            "  -r, --redis URL     server (default: $EDDY_REDIS_URL, else redis://127.0.0.1:6379)\n"
            "  -i, --interval D    time between refreshes (default 1s; 100ms to 1h)\n"
            "  -n, --rows N        members shown per set (default 20; 1 to %d)\n"
            "  -t, --timeout D     connect and reply time-out (default 2s)\n"
            "  -1, --once          print one plain-text snapshot and exit (also when\n"
            "                      stdout or stdin is not a terminal)\n"
            "\n"
            "Keys: q quit, tab or arrows switch sets, p pause, + and - change the rows,\n"
            "z zoom on one set, r refresh now. Reference: docs/top.md.\n",
            S_MAX_ROWS);
}

/* One line saying what is wrong, one with an example; returns 64. */
static int s_bad(const char *fmt, const char *arg) {
    fprintf(stderr, "eddy top: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nexample: eddy top -r redis://127.0.0.1:6379 --interval 1s --rows 20 "
                    "top:words 'top:products:*'\n");
    return S_EX_USAGE;
}

static int s_parse(int argc, char **argv, s_opts_t *o, int *first_key) {
    static const struct option opts[] = {{"redis", required_argument, 0, 'r'},
                                         {"interval", required_argument, 0, 'i'},
                                         {"rows", required_argument, 0, 'n'},
                                         {"timeout", required_argument, 0, 't'},
                                         {"once", no_argument, 0, '1'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *env = getenv("EDDY_REDIS_URL");
    *o = (s_opts_t){.url = env && *env ? env : "redis://127.0.0.1:6379",
                    .interval_ms = 1000,
                    .timeout_ms = 2000,
                    .rows = 20};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":r:i:n:t:1h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            o->url = optarg;
            break;
        case 'i':
            if (ed_config_parse_duration(optarg, &o->interval_ms) != 0 || o->interval_ms < 100 ||
                o->interval_ms > 3600000)
                return s_bad("--interval: '%s' is not a duration from 100ms to 1h (e.g. 500ms, "
                             "1s, 1m)",
                             optarg);
            break;
        case 't':
            if (ed_config_parse_duration(optarg, &o->timeout_ms) != 0 || o->timeout_ms < 100 ||
                o->timeout_ms > 60000)
                return s_bad("--timeout: '%s' is not a duration from 100ms to 60s (e.g. 2s)",
                             optarg);
            break;
        case 'n': {
            char *e;
            long v = strtol(optarg, &e, 10);
            if (!*optarg || *e || v < 1 || v > S_MAX_ROWS)
                return s_bad("--rows: '%s' is not a whole number from 1 to 1000", optarg);
            o->rows = (int)v;
            break;
        }
        case '1':
            o->once = 1;
            break;
        case 'h':
            s_usage(stdout);
            return -1;
        case ':':
        default: {
            /* a short option is named by optopt (it may sit in a group such as -xn) */
            char name[8];
            snprintf(name, sizeof name, "-%c", optopt);
            const char *last = argv[optind - 1];
            const char *opt = optopt && strncmp(last, "--", 2) ? name : last;
            return c == ':' ? s_bad("%s needs a value", opt) : s_bad("unknown option '%s'", opt);
        }
        }
    }
    if (optind >= argc)
        return s_bad("expected at least one KEY or PATTERN%s", "");
    if (argc - optind > S_MAX_BOARDS)
        return s_bad("too many sets (at most 64)%s", "");
    for (int i = optind; i < argc; i++)
        if (!argv[i][0])
            return s_bad("an empty KEY is not a sorted set%s", "");
    *first_key = optind;
    return 0;
}

static void s_wall_hms(char *out, size_t n) {
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, n, "%H:%M:%S", &tm);
}

static int s_run_once(ed_top_conn_t *c, ed_top_board_t **boards, int n, const s_opts_t *o) {
    char err[512];
    if (ed_top_refresh(c, boards, n, o->rows, 0, ed_now_ms(), err, sizeof err) != 0) {
        fprintf(stderr, "eddy top: %s: %s; is the server running? (-r or EDDY_REDIS_URL)\n",
                ed_top_conn_addr(c), err);
        return S_EX_UNAVAILABLE;
    }
    int rc = ed_top_print_once(boards, n, o->rows, stdout);
    fflush(stdout);
    return rc;
}

/* + and -: one row at a time below 10 rows, five at a time from 10 (so 20,
 * -, -, - gives 15, 10, 9 and back up 10, 15). */
static int s_rows_step(int rows, int dir) {
    int r;
    if (dir > 0)
        r = rows + (rows >= 10 ? 5 : 1);
    else
        r = rows > 10 ? (rows - 5 < 10 ? 10 : rows - 5) : rows - 1;
    return r < 1 ? 1 : r > S_MAX_ROWS ? S_MAX_ROWS : r;
}

static int s_run_screen(ed_top_conn_t *c, ed_top_board_t **boards, int n, const s_opts_t *o) {
    struct sigaction sa = {0};
    sa.sa_handler = s_on_signal; /* no SA_RESTART: a signal ends the wait for a key */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    if (ed_top_screen_open() != 0) {
        const char *term = getenv("TERM");
        fprintf(stderr,
                "eddy top: cannot use the terminal (TERM=%s) for the full-screen view; set TERM "
                "or use --once\n",
                term ? term : "");
        return 1;
    }
    ed_top_view_t v = {.boards = boards,
                       .nboards = n,
                       .rows = o->rows,
                       .interval_ms = o->interval_ms,
                       .addr = ed_top_conn_addr(c)};
    int64_t next = ed_now_ms(), backoff = 0;
    int attempts = 0, force = 0;
    while (!s_stop) {
        int64_t now = ed_now_ms();
        if ((!v.paused || force) && now >= next) {
            char err[512];
            force = 0;
            if (ed_top_refresh(c, boards, n, v.rows, S_SCAN_BUDGET, now, err, sizeof err) == 0) {
                v.status[0] = 0;
                backoff = 0;
                attempts = 0;
                s_wall_hms(v.updated, sizeof v.updated);
                v.dt_s = 0;
                for (int i = 0; i < n && v.dt_s == 0; i++)
                    v.dt_s = boards[i]->dt_s;
                next = now + v.interval_ms;
            } else {
                attempts++;
                backoff = backoff ? backoff * 2 : S_BACKOFF_FIRST_MS;
                if (backoff > S_BACKOFF_MAX_MS)
                    backoff = S_BACKOFF_MAX_MS;
                next = ed_now_ms() + backoff;
                int len = snprintf(v.status, sizeof v.status, "%s (%s); retry %d in %.2gs", err,
                                   v.addr, attempts, (double)backoff / 1000);
                if (v.updated[0] && len > 0 && (size_t)len < sizeof v.status)
                    snprintf(v.status + len, sizeof v.status - (size_t)len,
                             "; showing data from %s", v.updated);
            }
        }
        ed_top_screen_draw(&v);
        int64_t wait = v.paused && !force ? 500 : next - ed_now_ms();
        if (wait > 500)
            wait = 500; /* a bounded wait: signals and resizes are seen promptly */
        ed_top_key_t key = ed_top_screen_key(wait < 0 ? 0 : (int)wait);
        switch (key) {
        case ED_TOP_KEY_QUIT:
            s_stop = 1;
            break;
        case ED_TOP_KEY_NEXT:
            v.focus = (v.focus + 1) % n;
            break;
        case ED_TOP_KEY_PREV:
            v.focus = (v.focus + n - 1) % n;
            break;
        case ED_TOP_KEY_PAUSE:
            v.paused = !v.paused;
            if (!v.paused && !v.status[0])
                next = ed_now_ms(); /* resume with a fresh read */
            break;
        case ED_TOP_KEY_MORE:
        case ED_TOP_KEY_FEWER: {
            int r = s_rows_step(v.rows, key == ED_TOP_KEY_MORE ? 1 : -1);
            if (r != v.rows && !v.paused && !v.status[0])
                next = ed_now_ms(); /* read the new rows now */
            v.rows = r;
            break;
        }
        case ED_TOP_KEY_ZOOM:
            v.zoom = !v.zoom;
            break;
        case ED_TOP_KEY_REFRESH:
            force = 1;
            next = ed_now_ms();
            break;
        default:
            break;
        }
    }
    ed_top_screen_close();
    return 0;
}

int ed_top_main(int argc, char **argv) {
    s_opts_t o;
    int first = 0;
    int rc = s_parse(argc, argv, &o, &first);
    if (rc)
        return rc < 0 ? 0 : rc;
    ed_redis_addr_t addr;
    char err[512];
    if (ed_redis_addr_parse(&addr, o.url, "-r", err, sizeof err) != 0)
        return s_bad("%s", err);
    int n = argc - first;
    ed_top_board_t **boards = ed_calloc((size_t)n, sizeof *boards);
    for (int i = 0; i < n; i++)
        boards[i] = ed_top_board_new(argv[first + i]);
    ed_top_conn_t *c = ed_top_conn_new(&addr, (int)o.timeout_ms);
    ed_redis_addr_clear(&addr);
    setlocale(LC_ALL, "");
    if (o.once || !isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO))
        rc = s_run_once(c, boards, n, &o);
    else
        rc = s_run_screen(c, boards, n, &o);
    ed_top_conn_destroy(&c);
    for (int i = 0; i < n; i++)
        ed_top_board_destroy(&boards[i]);
    free(boards);
    return rc;
}
