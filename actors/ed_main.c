/*
 * ed_main.c — the eddy command line: loads the config, builds the plan
 * (actors/ed_pipeline.h) and runs or prints it. It sits above everything it
 * wires (config/, actors/, sinks/, runtime/).
 *
 *   eddy run -c FILE [--exit-when-idle DURATION] [--stats FILE]
 *   eddy check -c FILE
 *   eddy --version | --help
 *
 * Exit codes (sysexits.h): 0 success, 1 runtime failure, 2 forced stop
 * (second signal), 64 usage error, 78 configuration error.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/ed_plan.h"
#include "config/ed_config.h"
#include "runtime/ed_common.h"

#ifndef ED_VERSION
#define ED_VERSION "0.1.0"
#endif

#define EX_USAGE_ 64
#define EX_CONFIG_ 78

static void s_usage(FILE *out) {
    fprintf(out,
            "eddy %s — a stream-processing runtime\n"
            "\n"
            "usage:\n"
            "  eddy run -c FILE [--exit-when-idle DURATION] [--stats FILE]\n"
            "      Run the pipeline in FILE until SIGINT/SIGTERM (drains: sources stop,\n"
            "      aggregators flush, sinks commit, input positions are committed).\n"
            "      --exit-when-idle D  also drain and exit once no source has had new\n"
            "                          input for D (e.g. 5s) and every sink acked it\n"
            "      --stats FILE        write final counters as JSON to FILE ('-' = stdout)\n"
            "  eddy check -c FILE\n"
            "      Validate FILE and print the plan (actors, partitions, sinks).\n"
            "  eddy --version | --help\n"
            "\n"
            "Environment: EDDY_LOG=debug|info|warn|error (default info).\n"
            "Config reference: docs/config.md. Exit codes: 0 ok, 1 failure, 2 forced stop,\n"
            "64 usage error, 78 config error.\n",
            ED_VERSION);
}

int main(int argc, char **argv) {
    /* A server that closes a connection while a client library writes to it
     * must give that client an EPIPE error (a retried flush), not kill the
     * process: hiredis and libpq write with plain write(2). */
    signal(SIGPIPE, SIG_IGN);
    const char *lvl = getenv("EDDY_LOG");
    if (lvl) {
        if (!strcmp(lvl, "debug"))
            ed_log_set_level(ED_LOG_DEBUG);
        else if (!strcmp(lvl, "warn"))
            ed_log_set_level(ED_LOG_WARN);
        else if (!strcmp(lvl, "error"))
            ed_log_set_level(ED_LOG_ERROR);
    }
    if (argc < 2) {
        s_usage(stderr);
        return EX_USAGE_;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("eddy %s\n", ED_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        s_usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "run") != 0 && strcmp(cmd, "check") != 0) {
        fprintf(stderr, "eddy: unknown command '%s'; expected run, check, --version or --help\n",
                cmd);
        return EX_USAGE_;
    }
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"exit-when-idle", required_argument, 0, 'i'},
                                         {"stats", required_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *path = NULL, *stats = NULL;
    int64_t idle_ms = 0;
    int c;
    optind = 2;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': path = optarg; break;
        case 'i':
            if (ed_config_parse_duration(optarg, &idle_ms) != 0 || idle_ms <= 0) {
                fprintf(stderr,
                        "eddy: --exit-when-idle: '%s' is not a duration; expected e.g. 500ms, "
                        "5s, 1m\n",
                        optarg);
                return EX_USAGE_;
            }
            break;
        case 's': stats = optarg; break;
        case 'h': s_usage(stdout); return 0;
        default: s_usage(stderr); return EX_USAGE_;
        }
    }
    if (!path || optind != argc) {
        fprintf(stderr, "eddy %s: expected -c FILE%s\n", cmd,
                optind != argc ? " and no other arguments" : "");
        return EX_USAGE_;
    }
    char err[1024];
    ed_config_t *conf = NULL;
    if (ed_config_load(path, &conf, err, sizeof err) != 0) {
        fprintf(stderr, "eddy: %s\n", err);
        return EX_CONFIG_;
    }
    ed_plan_t *plan = ed_plan_new(conf, idle_ms, err, sizeof err);
    if (!plan) {
        fprintf(stderr, "eddy: %s\n", err);
        ed_config_destroy(&conf);
        return EX_CONFIG_;
    }
    int code = 0;
    if (!strcmp(cmd, "check")) {
        ed_plan_print(plan, stdout);
        printf("config OK\n");
    } else {
        ED_LOG_I(NULL, "eddy %s running %s (%d workers, %d aggregators)", ED_VERSION, path,
                 conf->runtime.workers, ed_plan_naggs(plan));
        code = ed_plan_run(plan);
        if (stats) {
            FILE *f = strcmp(stats, "-") ? fopen(stats, "w") : stdout;
            if (!f) {
                fprintf(stderr, "eddy: cannot write stats to %s: %m\n", stats);
            } else {
                ed_plan_stats_json(plan, f);
                if (f != stdout)
                    fclose(f);
            }
        }
        if (code == 0)
            ED_LOG_I(NULL, "exited cleanly after %llu checkpoints",
                     (unsigned long long)ed_plan_run_stats(plan)->checkpoints);
    }
    ed_plan_destroy(&plan);
    ed_config_destroy(&conf);
    return code;
}
