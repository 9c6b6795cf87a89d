/*
 * ed_top.h — `eddy top`: live leaderboards from Redis sorted sets in the
 * terminal (docs/top.md).
 *
 *   eddy top [-r redis://HOST:PORT[/DB]] [--interval 1s] [--rows 20]
 *            [--timeout 2s] [--once] KEY|PATTERN...
 */
#ifndef ED_TOP_H
#define ED_TOP_H

/* Runs `eddy top`; argv[0] is "top", the rest its arguments (not kept).
 * Full screen when stdin and stdout are terminals and --once is not given,
 * else one plain-text snapshot on stdout. Returns the process exit code:
 * 0 ok; 1 a board could not be read (--once: e.g. WRONGTYPE); 64 bad
 * arguments (one line on stderr, then an example); 69 Redis unreachable
 * (--once). A terminal the full-screen view cannot use (TERM unknown) is
 * 1, with a message suggesting --once. */
int ed_top_main(int argc, char **argv);

#endif
