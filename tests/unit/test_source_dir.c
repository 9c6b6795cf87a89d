/* test_source_dir.c — the directory source driver: files in name order, line
 * splitting, pattern, checkpoint/commit/resume via the state file, inotify. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actors/ed_registry.h"
#include "actors/sources/ed_source.h"
#include "config/ed_config.h"

extern const ed_source_type_t ed_source_directory;
static const ed_source_type_t *T = &ed_source_directory;

/* ------------------------------------------------------------ fixture -- */

typedef struct {
    char *data;
    size_t len;
    char *file;
    int64_t line;
    int64_t ts_ms;
} rec_t;

typedef struct {
    rec_t *r;
    size_t n, cap;
} recs_t;

static void s_collect(void *ud, const ed_input_t *in) {
    recs_t *rs = ud;
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 64;
        rs->r = realloc(rs->r, rs->cap * sizeof *rs->r);
    }
    rec_t *r = &rs->r[rs->n++];
    r->data = malloc(in->len + 1);
    memcpy(r->data, in->data, in->len);
    r->data[in->len] = '\0';
    r->len = in->len;
    assert_non_null(in->file);
    assert_non_null(in->key);
    assert_int_equal(in->key_len, strlen(in->file));
    assert_memory_equal(in->key, in->file, in->key_len);
    assert_int_equal(in->partition, -1);
    assert_null(in->topic);
    r->file = strdup(in->file);
    r->line = in->offset;
    r->ts_ms = in->ts_ms;
}

static void s_recs_free(recs_t *rs) {
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->r[i].data);
        free(rs->r[i].file);
    }
    free(rs->r);
    memset(rs, 0, sizeof *rs);
}

typedef struct {
    char root[64]; /* mkdtemp dir */
    char dir[128]; /* watched dir: root/in (created by the driver) */
    const char *path;       /* directory options of the source… */
    const char *pattern;
    const char *state_file; /* …NULL: the default */
    ed_config_t *conf;      /* the config last built from them */
    void *ctx;
    recs_t recs;
} fx_t;

/* The source as eddy builds it: from YAML with the options of fx. */
static const ed_conf_source_t *s_src(fx_t *fx) {
    char yaml[1024], st[400] = "", err[1024];
    if (fx->state_file)
        snprintf(st, sizeof st, ", state_file: \"%s\"", fx->state_file);
    snprintf(yaml, sizeof yaml,
             "sources:\n  docs:\n    directory: { path: \"%s\", pattern: \"%s\"%s }\n"
             "    format: lines\n    to: n\nsinks:\n  n: { null: {} }\n",
             fx->path, fx->pattern, st);
    ed_config_destroy(&fx->conf);
    if (ed_config_load_string(yaml, "dir.yaml", ed_registry(), &fx->conf, err, sizeof err))
        fail_msg("config: %s", err);
    return &fx->conf->sources[0];
}

static int s_setup(void **state) {
    fx_t *fx = calloc(1, sizeof *fx);
    strcpy(fx->root, "/tmp/eddy-test-dir-XXXXXX");
    assert_non_null(mkdtemp(fx->root));
    snprintf(fx->dir, sizeof fx->dir, "%s/in/sub", fx->root);
    fx->path = fx->dir;
    fx->pattern = "*";
    *state = fx;
    return 0;
}

static int s_teardown(void **state) {
    fx_t *fx = *state;
    T->close(&fx->ctx);
    ed_config_destroy(&fx->conf);
    s_recs_free(&fx->recs);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->root);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

static void s_open(fx_t *fx) {
    char err[512] = "";
    int rc = T->open(&fx->ctx, NULL, s_src(fx), err, sizeof err);
    if (rc != 0)
        fail_msg("open: %s (%s)", err, ed_err_name(rc));
    assert_non_null(fx->ctx);
}

/* Reads until read() reports nothing available; `max` per call. */
static size_t s_drain(fx_t *fx, int max) {
    size_t before = fx->recs.n;
    char err[512] = "";
    int eof = 0;
    for (int guard = 0; guard < 1000000; guard++) {
        int n = T->read(fx->ctx, max, s_collect, &fx->recs, &eof, err, sizeof err);
        if (n < 0)
            fail_msg("read: %s", err);
        assert_true(n <= max);
        assert_int_equal(eof, 0);
        if (n == 0)
            break;
    }
    return fx->recs.n - before;
}

static void s_write(fx_t *fx, const char *name, const void *data, size_t len) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", fx->dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

static void s_writes(fx_t *fx, const char *name, const char *text) {
    s_write(fx, name, text, strlen(text));
}

static void s_mkdir(fx_t *fx) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", fx->dir);
    assert_int_equal(system(cmd), 0);
}

static void s_expect(const fx_t *fx, size_t i, const char *file, int64_t line, const char *data) {
    assert_true(i < fx->recs.n);
    const rec_t *r = &fx->recs.r[i];
    assert_string_equal(r->file, file);
    assert_int_equal(r->line, line);
    assert_int_equal(r->len, strlen(data));
    assert_string_equal(r->data, data);
}

static char *s_slurp(const char *path) {
    FILE *fp = fopen(path, "r");
    if (!fp)
        return NULL;
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

/* -------------------------------------------------------------- tests -- */

static void test_files_in_name_order(void **state) {
    fx_t *fx = *state;
    s_mkdir(fx);
    s_writes(fx, "b.log", "b1\nb2\n");
    s_writes(fx, "a.log", "a1\n\na3");       /* empty line; last line without '\n' */
    s_writes(fx, "c.txt", "c1\r\n\n");       /* '\r' kept; trailing empty line */
    s_writes(fx, "empty.log", "");           /* no lines */
    s_writes(fx, ".hidden.log", "hidden\n"); /* skipped */
    char sub[256];
    snprintf(sub, sizeof sub, "%s/zdir", fx->dir); /* not a regular file */
    assert_int_equal(mkdir(sub, 0755), 0);
    struct stat st;
    char path[256];
    snprintf(path, sizeof path, "%s/a.log", fx->dir);
    assert_int_equal(stat(path, &st), 0);

    s_open(fx);
    assert_true(T->fd(fx->ctx) >= 0);
    assert_int_equal(s_drain(fx, 2), 7);
    s_expect(fx, 0, "a.log", 1, "a1");
    s_expect(fx, 1, "a.log", 2, "");
    s_expect(fx, 2, "a.log", 3, "a3");
    s_expect(fx, 3, "b.log", 1, "b1");
    s_expect(fx, 4, "b.log", 2, "b2");
    s_expect(fx, 5, "c.txt", 1, "c1\r");
    s_expect(fx, 6, "c.txt", 2, "");
    assert_int_equal(fx->recs.r[0].ts_ms,
                     (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000);
    /* Nothing more, however often we ask. */
    assert_int_equal(s_drain(fx, 100), 0);
}

static void test_max_one_per_read(void **state) {
    fx_t *fx = *state;
    s_mkdir(fx);
    s_writes(fx, "x", "1\n2\n3");
    s_open(fx);
    char err[256];
    int eof = 0;
    for (int i = 1; i <= 3; i++)
        assert_int_equal(T->read(fx->ctx, 1, s_collect, &fx->recs, &eof, err, sizeof err), 1);
    assert_int_equal(T->read(fx->ctx, 1, s_collect, &fx->recs, &eof, err, sizeof err), 0);
    s_expect(fx, 2, "x", 3, "3");
}

static void test_one_mib_line(void **state) {
    fx_t *fx = *state;
    s_mkdir(fx);
    size_t n = 1 << 20;
    char *big = malloc(n + 16);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    memcpy(big + n, "\nshort\n", 7);
    s_write(fx, "big.log", big, n + 7);
    s_open(fx);
    assert_int_equal(s_drain(fx, 10), 2);
    assert_int_equal(fx->recs.r[0].len, n);
    assert_memory_equal(fx->recs.r[0].data, big, n);
    s_expect(fx, 1, "big.log", 2, "short");
    free(big);
}

static void test_pattern(void **state) {
    fx_t *fx = *state;
    s_mkdir(fx);
    s_writes(fx, "a.log", "a\n");
    s_writes(fx, "b.txt", "b\n");
    s_writes(fx, "c.log", "c\n");
    fx->pattern = "*.log";
    s_open(fx);
    assert_int_equal(s_drain(fx, 10), 2);
    s_expect(fx, 0, "a.log", 1, "a");
    s_expect(fx, 1, "c.log", 1, "c");
    /* A new non-matching file is ignored too. */
    s_writes(fx, "d.txt", "d\n");
    s_writes(fx, "e.log", "e\n");
    assert_int_equal(s_drain(fx, 10), 1);
    s_expect(fx, 2, "e.log", 1, "e");
}

static void test_commit_then_resume(void **state) {
    fx_t *fx = *state;
    s_mkdir(fx);
    s_writes(fx, "a", "a1\na2\na3\n");
    s_writes(fx, "b", "b1\nb2\nb3\nb4\n");
    s_writes(fx, "c", "c1\nc2");
    s_open(fx);
    char err[256] = "";
    int eof = 0;
    /* a1 a2 a3 b1 b2 */
    assert_int_equal(T->read(fx->ctx, 5, s_collect, &fx->recs, &eof, err, sizeof err), 5);
    assert_int_equal(T->checkpoint(fx->ctx, 1), 0);
    /* b3, checkpointed as 2 but never committed */
    assert_int_equal(T->read(fx->ctx, 1, s_collect, &fx->recs, &eof, err, sizeof err), 1);
    s_expect(fx, 5, "b", 3, "b3");
    assert_int_equal(T->checkpoint(fx->ctx, 2), 0);
    assert_int_equal(T->commit(fx->ctx, 1, err, sizeof err), 0);

    char path[256];
    snprintf(path, sizeof path, "%s/.eddy-docs.state", fx->dir);
    char *st = s_slurp(path);
    assert_non_null(st);
    assert_string_equal(
        st, "# eddy directory source state: \"done <name>\" | \"at <byte offset> <name>\"\n"
            "done a\n"
            "at 6 b\n");
    free(st);
    T->close(&fx->ctx);
    assert_null(fx->ctx);
    s_recs_free(&fx->recs);

    /* Reopen: a is done, b resumes after b2 with its own line numbers; the
     * state file itself is not input. */
    s_open(fx);
    assert_int_equal(s_drain(fx, 3), 4);
    s_expect(fx, 0, "b", 3, "b3");
    s_expect(fx, 1, "b", 4, "b4");
    s_expect(fx, 2, "c", 1, "c1");
    s_expect(fx, 3, "c", 2, "c2");

    /* Commit all: b and c are done; a stays done. */
    assert_int_equal(T->checkpoint(fx->ctx, 1), 0);
    assert_int_equal(T->commit(fx->ctx, 1, err, sizeof err), 0);
    st = s_slurp(path);
    assert_string_equal(
        st, "# eddy directory source state: \"done <name>\" | \"at <byte offset> <name>\"\n"
            "done a\n"
            "done b\n"
            "done c\n");
    free(st);
    T->close(&fx->ctx);
    s_recs_free(&fx->recs);
    s_open(fx);
    assert_int_equal(s_drain(fx, 10), 0);
}

static void test_commit_covers_only_older_checkpoints(void **state) {
    fx_t *fx = *state;
    s_mkdir(fx);
    s_writes(fx, "a", "1\n2\n");
    s_writes(fx, "b", "1\n");
    s_open(fx);
    char err[256] = "";
    int eof = 0;
    assert_int_equal(T->read(fx->ctx, 1, s_collect, &fx->recs, &eof, err, sizeof err), 1);
    T->checkpoint(fx->ctx, 1); /* a at 2 */
    assert_int_equal(s_drain(fx, 10), 2);
    T->checkpoint(fx->ctx, 2); /* a, b done */
    assert_int_equal(T->commit(fx->ctx, 1, err, sizeof err), 0);
    char path[256];
    snprintf(path, sizeof path, "%s/.eddy-docs.state", fx->dir);
    char *st = s_slurp(path);
    assert_non_null(strstr(st, "\nat 2 a\n"));
    assert_null(strstr(st, "\ndone "));
    free(st);
    /* Committing again without a new checkpoint changes nothing. */
    assert_int_equal(T->commit(fx->ctx, 1, err, sizeof err), 0);
    assert_int_equal(T->commit(fx->ctx, 2, err, sizeof err), 0);
    st = s_slurp(path);
    assert_non_null(strstr(st, "\ndone a\ndone b\n"));
    free(st);
}

/* A commit whose state file cannot be written (the tmp file is a symlink to
 * /dev/full: every write fails with ENOSPC, from the kernel) fails naming
 * the file, the errno text and what to do; the state file keeps what it
 * held and no tmp is left; the next commit writes the newer positions. */
static void test_commit_disk_full(void **state) {
    fx_t *fx = *state;
    s_mkdir(fx);
    s_writes(fx, "a", "a1\n");
    s_writes(fx, "b", "b1\n");
    s_open(fx);
    char err[1024] = "", path[256], tmp[260];
    int eof = 0;
    assert_int_equal(T->read(fx->ctx, 1, s_collect, &fx->recs, &eof, err, sizeof err), 1);
    T->checkpoint(fx->ctx, 1);
    assert_int_equal(T->commit(fx->ctx, 1, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/.eddy-docs.state", fx->dir);
    char *before = s_slurp(path);
    assert_non_null(strstr(before, "\nat 3 a\n"));

    assert_int_equal(s_drain(fx, 10), 1);
    T->checkpoint(fx->ctx, 2); /* a and b done */
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_equal(symlink("/dev/full", tmp), 0);
    assert_int_equal(T->commit(fx->ctx, 2, err, sizeof err), ED_EIO);
    assert_non_null(strstr(err, "cannot write state file"));
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "No space left on device; free space on its file system"));
    char *after = s_slurp(path);
    assert_string_equal(after, before);
    free(after);
    struct stat st;
    assert_int_equal(lstat(tmp, &st), -1); /* the symlink was removed, not /dev/full */
    assert_int_equal(stat("/dev/full", &st), 0);

    /* Space again: a commit with nothing new writes the positions of 2. */
    assert_int_equal(T->commit(fx->ctx, 2, err, sizeof err), 0);
    after = s_slurp(path);
    assert_non_null(strstr(after, "\ndone a\ndone b\n"));
    free(after);
    free(before);
}

static void test_reopen_without_commit_rereads(void **state) {
    fx_t *fx = *state;
    s_mkdir(fx);
    s_writes(fx, "a", "a1\na2\n");
    s_writes(fx, "b", "b1\n");
    s_open(fx);
    assert_int_equal(s_drain(fx, 10), 3);
    assert_int_equal(T->checkpoint(fx->ctx, 1), 0); /* but no commit */
    T->close(&fx->ctx);
    s_recs_free(&fx->recs);
    s_open(fx);
    assert_int_equal(s_drain(fx, 10), 3);
    s_expect(fx, 0, "a", 1, "a1");
    s_expect(fx, 2, "b", 1, "b1");
}

static void test_new_file_via_inotify(void **state) {
    fx_t *fx = *state;
    s_open(fx); /* creates the directory */
    struct stat st;
    assert_int_equal(stat(fx->dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    int fd = T->fd(fx->ctx);
    assert_true(fd >= 0);
    assert_int_equal(s_drain(fx, 10), 0);
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 0), 0);

    s_writes(fx, "new.log", "n1\nn2\n");
    assert_int_equal(poll(&pfd, 1, 0), 1);
    assert_int_equal(s_drain(fx, 10), 2);
    s_expect(fx, 0, "new.log", 1, "n1");
    s_expect(fx, 1, "new.log", 2, "n2");
    assert_int_equal(poll(&pfd, 1, 0), 0); /* read() drained the fd */

    /* Written elsewhere (a hidden name) and renamed in: IN_MOVED_TO. */
    s_writes(fx, ".part", "m1\n");
    char from[256], to[256];
    snprintf(from, sizeof from, "%s/.part", fx->dir);
    snprintf(to, sizeof to, "%s/moved.log", fx->dir);
    assert_int_equal(rename(from, to), 0);
    assert_int_equal(poll(&pfd, 1, 0), 1);
    assert_int_equal(s_drain(fx, 10), 1);
    s_expect(fx, 2, "moved.log", 1, "m1");

    /* A finished file written again is not read again (names are identity). */
    s_writes(fx, "new.log", "again\n");
    assert_int_equal(s_drain(fx, 10), 0);
}

static void test_inotify_while_paused(void **state) {
    fx_t *fx = *state;
    s_open(fx);
    T->pause(fx->ctx, 1);
    s_writes(fx, "p.log", "p1\n");
    struct pollfd pfd = {.fd = T->fd(fx->ctx), .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 0), 1);
    assert_int_equal(s_drain(fx, 10), 0);
    assert_int_equal(poll(&pfd, 1, 0), 0); /* drained even though paused */
    T->pause(fx->ctx, 0);
    assert_int_equal(s_drain(fx, 10), 1);
    s_expect(fx, 0, "p.log", 1, "p1");
}

static void test_binary_lines_as_is(void **state) {
    fx_t *fx = *state;
    s_mkdir(fx);
    static const char bin[] = {'\x00', '\xff', '\xfe', 'a', '\n', '\x80', '\x00', '\n', '\xc3'};
    s_write(fx, "bin", bin, sizeof bin);
    s_open(fx);
    assert_int_equal(s_drain(fx, 10), 3);
    assert_int_equal(fx->recs.r[0].len, 4);
    assert_memory_equal(fx->recs.r[0].data, bin, 4);
    assert_int_equal(fx->recs.r[1].len, 2);
    assert_memory_equal(fx->recs.r[1].data, bin + 5, 2);
    assert_int_equal(fx->recs.r[2].len, 1);
    assert_memory_equal(fx->recs.r[2].data, bin + 8, 1);
}

static void test_vanished_file_is_skipped(void **state) {
    fx_t *fx = *state;
    s_mkdir(fx);
    s_writes(fx, "a", "a1\n");
    s_writes(fx, "b", "b1\n");
    s_open(fx);
    char path[256];
    snprintf(path, sizeof path, "%s/a", fx->dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(s_drain(fx, 10), 1);
    s_expect(fx, 0, "b", 1, "b1");
    assert_int_equal(s_drain(fx, 10), 0);
}

static void test_state_file_inside_dir_not_hidden(void **state) {
    fx_t *fx = *state;
    s_mkdir(fx);
    char sp[256];
    snprintf(sp, sizeof sp, "%s/state.txt", fx->dir);
    fx->state_file = sp;
    s_writes(fx, "a", "a1\n");
    s_open(fx);
    char err[256];
    assert_int_equal(s_drain(fx, 10), 1);
    T->checkpoint(fx->ctx, 1);
    assert_int_equal(T->commit(fx->ctx, 1, err, sizeof err), 0);
    s_writes(fx, "b", "b1\n");
    assert_int_equal(s_drain(fx, 10), 1); /* b only: not state.txt or state.txt.tmp */
    s_expect(fx, 1, "b", 1, "b1");
    T->close(&fx->ctx);
    s_recs_free(&fx->recs);
    s_open(fx);
    assert_int_equal(s_drain(fx, 10), 1);
    s_expect(fx, 0, "b", 1, "b1");
}

static void test_state_file_elsewhere_and_resume_after_replace(void **state) {
    fx_t *fx = *state;
    s_mkdir(fx);
    char sp[256];
    snprintf(sp, sizeof sp, "%s/state/dir/s", fx->root); /* created on open */
    fx->state_file = sp;
    s_writes(fx, "a", "a1\na2\na3\n");
    s_open(fx);
    char err[256];
    int eof = 0;
    assert_int_equal(T->read(fx->ctx, 2, s_collect, &fx->recs, &eof, err, sizeof err), 2);
    T->checkpoint(fx->ctx, 1);
    assert_int_equal(T->commit(fx->ctx, 1, err, sizeof err), 0);
    T->close(&fx->ctx);
    s_recs_free(&fx->recs);
    /* The file was replaced by a shorter one: read from the start. */
    s_writes(fx, "a", "x\n");
    s_open(fx);
    assert_int_equal(s_drain(fx, 10), 1);
    s_expect(fx, 0, "a", 1, "x");
}

static void test_bad_state_file(void **state) {
    fx_t *fx = *state;
    s_mkdir(fx);
    s_writes(fx, ".eddy-docs.state", "# c\ndone a\nat x b\n");
    char err[512] = "";
    assert_int_equal(T->open(&fx->ctx, NULL, s_src(fx), err, sizeof err), ED_EINVAL);
    assert_null(fx->ctx);
    assert_non_null(strstr(err, ".eddy-docs.state:3"));
    assert_non_null(strstr(err, "docs"));
}

static void test_state_names_with_spaces_and_pruning(void **state) {
    fx_t *fx = *state;
    s_mkdir(fx);
    s_writes(fx, "my file", "1\n2\n");
    s_writes(fx, ".eddy-docs.state", "done gone\nat 2 my file\n");
    s_open(fx);
    assert_int_equal(s_drain(fx, 10), 1);
    s_expect(fx, 0, "my file", 2, "2");
    char err[256];
    T->checkpoint(fx->ctx, 7);
    assert_int_equal(T->commit(fx->ctx, 7, err, sizeof err), 0);
    char path[256];
    snprintf(path, sizeof path, "%s/.eddy-docs.state", fx->dir);
    char *st = s_slurp(path);
    assert_null(strstr(st, "gone")); /* no longer in the directory: dropped */
    assert_non_null(strstr(st, "\ndone my file\n"));
    free(st);
    /* "gone" appearing now is a new file. */
    s_writes(fx, "gone", "g\n");
    assert_int_equal(s_drain(fx, 10), 1);
    s_expect(fx, 1, "gone", 1, "g");
}

static void test_path_is_a_file(void **state) {
    fx_t *fx = *state;
    char p[256];
    snprintf(p, sizeof p, "%s/file", fx->root);
    int fd = open(p, O_WRONLY | O_CREAT, 0644);
    close(fd);
    fx->path = p;
    char err[512] = "";
    assert_true(T->open(&fx->ctx, NULL, s_src(fx), err, sizeof err) < 0);
    assert_null(fx->ctx);
    assert_non_null(strstr(err, p));
}

int main(void) {
    ed_log_set_level(ED_LOG_ERROR); /* the skip warnings are expected */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_files_in_name_order, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_max_one_per_read, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_one_mib_line, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_pattern, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_commit_then_resume, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_commit_covers_only_older_checkpoints, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_reopen_without_commit_rereads, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_new_file_via_inotify, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_inotify_while_paused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_binary_lines_as_is, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_vanished_file_is_skipped, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_state_file_inside_dir_not_hidden, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_state_file_elsewhere_and_resume_after_replace, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_commit_disk_full, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_state_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_state_names_with_spaces_and_pruning, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_path_is_a_file, s_setup, s_teardown),
    };
    return cmocka_run_group_tests_name("source_dir", tests, NULL, NULL);
}
