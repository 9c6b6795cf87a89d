/*
 * ed_main.c — the eddy command line: loads the config, builds the plan
 * (actors/ed_plan.h) and runs or prints it. It sits above everything it
 * wires (config/, actors/, sinks/, runtime/).
 *
 *   eddy run [-c|--config] FILE [--exit-when-idle DURATION] [--stats FILE]
 *   eddy check [-c|--config] FILE
 *   eddy config-reference [--update FILE | --check FILE]
 *   eddy gen KIND --count N ...   (actors/sources/ed_gen_cli.c)
 *   eddy --version | --help
 *
 * Exit codes (sysexits.h): 0 success, 1 runtime failure (or, for
 * config-reference --check, a file that differs), 2 forced stop (second
 * signal), 64 usage error, 78 configuration error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/ed_plan.h"
#include "actors/http/ed_http.h"
#include "actors/http/ed_http_leaderboard.h"
#include "actors/http/ed_http_pipeline.h"
#include "actors/http/ed_http_sql.h"
#include "actors/http/ed_http_static.h"
#include "actors/ed_registry.h"
#include "actors/sources/ed_gen.h"
#include "actors/top/ed_top.h"
#include "config/ed_conf_doc.h"
#include "config/ed_config.h"
#include "runtime/ed_buf.h"
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
            "  eddy run [-c|--config] FILE [--exit-when-idle DURATION] [--stats FILE]\n"
            "      Run the pipeline in FILE until SIGINT/SIGTERM (drains: sources stop,\n"
            "      aggregators flush, sinks commit, input positions are committed).\n"
            "      --exit-when-idle D  also drain and exit once no source has had new\n"
            "                          input for D (e.g. 5s) and every sink acked it\n"
            "      --stats FILE        write final counters as JSON to FILE ('-' = stdout)\n"
            "  eddy check [-c|--config] FILE\n"
            "      Validate FILE, report every error found, and print the plan.\n"
            "  eddy config-reference [--update FILE | --check FILE]\n"
            "      Print the option tables of docs/config.md, generated from the code;\n"
            "      --update rewrites the generated sections of FILE, --check exits 1 if\n"
            "      they differ (make docs runs --update docs/config.md).\n"
            "  eddy gen orders|reviews|views|alerts --count N ... (--topic T | --out FILE)\n"
            "      Generate the tutorials' events as JSON lines (eddy gen --help).\n"
            "  eddy top [-r redis://HOST:PORT[/DB]] [--once] KEY|PATTERN...\n"
            "      Live leaderboards of Redis sorted sets (eddy top --help, docs/top.md).\n"
            "  eddy --version | --help\n"
            "\n"
            "Environment: EDDY_LOG=debug|info|warn|error (default info).\n"
            "Config reference: docs/config.md. Exit codes: 0 ok, 1 failure, 2 forced stop,\n"
            "64 usage error, 78 config error.\n",
            ED_VERSION);
}

/* One line, then an example: what a usage error says. */
static int s_usage_error(const char *cmd, const char *what) {
    fprintf(stderr, "eddy %s: %s; e.g. eddy %s config/examples/wordcount.yaml (see eddy --help)\n",
            cmd, what, cmd);
    return EX_USAGE_;
}

static char *s_slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    ed_buf_t b = ED_BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ed_buf_append(&b, chunk, n);
    fclose(f);
    ed_buf_append(&b, "", 0);
    return b.data;
}

/* eddy config-reference [--update FILE | --check FILE] */
static int s_reference(int argc, char **argv) {
    const ed_conf_registry_t *reg = ed_registry();
    if (argc == 2) {
        ed_buf_t b = ED_BUF_INIT;
        ed_conf_reference(reg, &b);
        fputs(b.data ? b.data : "", stdout);
        ed_buf_free(&b);
        return 0;
    }
    int update = argc == 4 && !strcmp(argv[2], "--update");
    int check = argc == 4 && !strcmp(argv[2], "--check");
    if (!update && !check) {
        fprintf(stderr, "eddy config-reference: expected no argument, --update FILE or --check "
                        "FILE; e.g. eddy config-reference --update docs/config.md\n");
        return EX_USAGE_;
    }
    const char *path = argv[3];
    char *doc = s_slurp(path), *out = NULL, err[512];
    if (!doc) {
        fprintf(stderr, "eddy config-reference: cannot read %s: %s\n", path, strerror(errno));
        return 1;
    }
    int rc = 0;
    if (ed_conf_reference_update(doc, reg, &out, err, sizeof err) < 0) {
        fprintf(stderr, "eddy config-reference: %s:%s\n", path, err + (!strncmp(err, "line ", 5) ? 5 : 0));
        rc = 1;
    } else if (check) {
        if (strcmp(doc, out)) {
            fprintf(stderr, "eddy config-reference: %s differs from the reference the code "
                            "generates; run make docs\n", path);
            rc = 1;
        }
    } else if (strcmp(doc, out)) {
        FILE *f = fopen(path, "wb");
        if (!f || fputs(out, f) < 0 || fclose(f) != 0) {
            fprintf(stderr, "eddy config-reference: cannot write %s: %s\n", path, strerror(errno));
            rc = 1;
        }
    }
    free(doc);
    free(out);
    return rc;
}

/* Starts the HTTP endpoint of runtime.http with every route served (a
 * module with routes of its own adds them here, before ed_http_start).
 * Returns the server, or NULL after logging why it cannot serve. */
static ed_http_t *s_http_start(const ed_config_t *conf, ed_plan_t *plan, ed_http_sql_t **sql) {
    const ed_conf_http_t *hc = &conf->runtime.http;
    ed_http_t *http = ed_http_new(hc);
    char err[512] = "", web[2 * 4096 + 128] = "";
    *sql = ed_http_sql_new(conf); /* NULL without a sqlite sink */
    if (ed_http_pipeline_routes(http, plan) < 0 ||
        ed_http_static_routes(http, hc, web, sizeof web) < 0 ||
        ed_http_leaderboard_route(http, plan) < 0 ||
        (*sql && ed_http_sql_routes(http, *sql) < 0) || ed_http_start(http, err, sizeof err) < 0) {
        ED_LOG_E("http", "%s", err[0] ? err : "cannot register the HTTP routes");
        ed_http_destroy(&http);
        ed_http_sql_destroy(sql);
        return NULL;
    }
    int v6 = strchr(hc->host, ':') != NULL;
    ED_LOG_I("http", "serving http://%s%s%s:%d/ (the dashboard, /metrics, /healthz, /readyz, "
             "/v1/pipeline, /v1/leaderboard%s)%s",
             v6 ? "[" : "", hc->host, v6 ? "]" : "", ed_http_port(http),
             *sql ? ", /v1/sql, /a/, /c/" : "", hc->token ? "; requests need the bearer token" : "");
    ED_LOG_I("http", "%s", web);
    return http;
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
        fprintf(stderr, "eddy: expected a command: run, check or config-reference; e.g. eddy "
                        "check config/examples/wordcount.yaml (see eddy --help)\n");
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
    if (!strcmp(cmd, "config-reference"))
        return s_reference(argc, argv);
    if (!strcmp(cmd, "gen"))
        return ed_gen_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "top"))
        return ed_top_main(argc - 1, argv + 1);
    if (strcmp(cmd, "run") != 0 && strcmp(cmd, "check") != 0) {
        fprintf(stderr,
                "eddy: unknown command '%s'; expected run, check, config-reference, gen, top, "
                "--version or --help\n",
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
    opterr = 0; /* our own one-line messages below */
    while ((c = getopt_long(argc, argv, ":c:h", opts, NULL)) != -1) {
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
        case ':': {
            char what[128];
            snprintf(what, sizeof what, "%s needs a value", argv[optind - 1]);
            return s_usage_error(cmd, what);
        }
        default: {
            char what[128];
            snprintf(what, sizeof what, "unknown option '%s'", argv[optind - 1]);
            return s_usage_error(cmd, what);
        }
        }
    }
    /* The config file may be given without -c: `eddy check FILE`. */
    if (!path && optind < argc)
        path = argv[optind++];
    if (!path)
        return s_usage_error(cmd, "expected the pipeline's config file");
    if (optind != argc) {
        char what[256];
        snprintf(what, sizeof what, "unexpected argument '%s' (one config file only)",
                 argv[optind]);
        return s_usage_error(cmd, what);
    }
    char err[16384];
    ed_config_t *conf = NULL;
    if (ed_config_load(path, ed_registry(), &conf, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return EX_CONFIG_;
    }
    ed_plan_t *plan = ed_plan_new(conf, idle_ms, err, sizeof err);
    if (!plan) {
        /* Errors about the config start with its path; others say they are eddy's. */
        fprintf(stderr, "%s%s\n", strncmp(err, path, strlen(path)) ? "eddy: " : "", err);
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
        ed_http_t *http = NULL;
        ed_http_sql_t *sql = NULL;
        if (conf->runtime.http.enabled && !(http = s_http_start(conf, plan, &sql))) {
            ed_plan_destroy(&plan);
            ed_config_destroy(&conf);
            return 1;
        }
        code = ed_plan_run(plan);
        /* Stopped before the plan is freed: its handlers read the plan. */
        ed_http_destroy(&http);
        ed_http_sql_destroy(&sql);
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
