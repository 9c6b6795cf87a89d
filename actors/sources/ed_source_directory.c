/*
 * ed_source_directory.c — reads the lines of the files in a watched directory.
 *
 * Files: every regular file in `directory.path` whose name matches `pattern`
 * (fnmatch), except hidden files (leading '.') and the state file, is read
 * once, line by line, one file at a time: at open in name order (bytewise),
 * then in arrival order as inotify reports them (IN_CLOSE_WRITE: a writer
 * closed it; IN_MOVED_TO: renamed in). A file is identified by its name: a
 * name already queued, being read or done is not read again, and a file is
 * finished when its end is reached. Writers should therefore create a file
 * complete (write elsewhere and rename it in, or write and close it once).
 *
 * Lines: split on '\n', which is stripped ('\r' is kept); a last line without
 * '\n' is a line; empty lines are lines; lines may be of any length; bytes
 * are passed as they are (decoders deal with invalid text). Each line is one
 * input: data = the line, key = file = the file name, offset = the 1-based
 * line number, ts_ms = the file's mtime in ms.
 *
 * State file (`state_file`, default "<path>/.eddy-<source>.state"; its
 * format and the table of known files: ed_dir_files.h), rewritten on commit.
 * `done <name>`: the file was read to its end and every line of it is
 * covered by a committed flush: it is never read again. `at N <name>`: lines
 * up to byte N are committed: reading resumes at N (the line numbers are
 * recounted from the file's start). Files that are not mentioned are read
 * from the start. Delete the file to read everything again.
 *
 * Positions: checkpoint(n) records the byte offset after the last emitted
 * line of the current file and the files finished since the previous
 * checkpoint; commit(n) applies every checkpoint ≤ n and rewrites the state
 * file. A restart re-reads at most what was emitted after the last commit.
 *
 * fd() is the inotify fd: it becomes readable when a new file arrives. It does
 * not signal lines already queued: when read() returns `max`, call it again.
 */
#define _GNU_SOURCE
#include "actors/sources/ed_source.h"

#include "actors/sources/ed_dir_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define ED_DIR_RBUF (64 * 1024)

/* Where a file is in this process. */
enum { M_NEW = 0, M_QUEUED, M_CURRENT, M_FINISHED, M_FAILED };

/* One checkpoint: positions as of flush n. */
typedef struct {
    uint64_t n;
    ed_dir_file_t *cur;       /* file being read then, or NULL */
    int64_t cur_off;         /* byte offset after its last emitted line */
    ed_dir_file_t **finished; /* files finished since the previous checkpoint, owned array */
    size_t nfinished;
} ed_dirsnap_t;

typedef struct {
    char *who;              /* source name, for logs */
    char *path;             /* watched directory */
    char *pattern;          /* fnmatch glob on file names */
    char *state_path;       /* state file */
    const char *state_base; /* basename of state_path, when it is inside `path`; else NULL */
    int dirfd;              /* the watched directory (O_DIRECTORY) */
    int ifd;                /* inotify, non-blocking */
    int paused;

    /* All files ever named (state file, scans, inotify); pointers to its
     * entries (queue, snapshots) stay valid until close. */
    ed_dir_files_t *files;

    /* Files waiting to be read, FIFO: q[qhead..qlen). */
    ed_dir_file_t **q;
    size_t qhead, qlen, qcap;

    /* The file being read. */
    ed_dir_file_t *cur;
    int fd;
    int64_t mtime_ms;
    int64_t line_no;  /* number of the last emitted line */
    int64_t consumed; /* byte offset after the last emitted line */
    char *rbuf;       /* read buffer, ED_DIR_RBUF bytes */
    size_t rpos, rlen;
    int64_t rbuf_off; /* file offset of rbuf[0] */
    char *lbuf;       /* the start of a line that crosses rbuf refills */
    size_t llen, lcap;

    /* Files finished since the last checkpoint. */
    ed_dir_file_t **fin;
    size_t nfin, fincap;

    ed_dirsnap_t *snaps;
    size_t nsnaps, snapcap;
    int state_dirty; /* committed state changed but not yet written */
} ed_dirsrc_t;

/* ------------------------------------------------------------ helpers -- */

static void s_push(ed_dir_file_t ***arr, size_t *len, size_t *cap, ed_dir_file_t *f) {
    if (*len == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *arr = ed_realloc(*arr, *cap * sizeof **arr);
    }
    (*arr)[(*len)++] = f;
}

static void s_enqueue(ed_dirsrc_t *d, ed_dir_file_t *f) {
    if (d->qhead && d->qlen == d->qcap) { /* reuse the consumed head before growing */
        memmove(d->q, d->q + d->qhead, (d->qlen - d->qhead) * sizeof *d->q);
        d->qlen -= d->qhead;
        d->qhead = 0;
    }
    s_push(&d->q, &d->qlen, &d->qcap, f);
    f->mstate = M_QUEUED;
}

static int s_cmp_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Creates `path` and its missing parents, like mkdir -p. */
static int s_mkdir_p(const char *path) {
    char *p = ed_strdup(path);
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0777) < 0 && errno != EEXIST) {
                int e = errno;
                free(p);
                errno = e;
                return -1;
            }
            *s = c;
            if (!c)
                break;
        }
    }
    free(p);
    return 0;
}

/* Whether `name` is a file this source reads (name only, no stat). */
static int s_wanted(const ed_dirsrc_t *d, const char *name) {
    if (name[0] == '.')
        return 0;
    if (d->state_base &&
        (!strcmp(name, d->state_base) || (!strncmp(name, d->state_base, strlen(d->state_base)) &&
                                          !strcmp(name + strlen(d->state_base), ".tmp"))))
        return 0;
    if (strchr(name, '\n')) /* cannot be written to the line-based state file */
        return 0;
    return fnmatch(d->pattern, name, 0) == 0;
}

static int s_is_regular(const ed_dirsrc_t *d, const char *name, unsigned char d_type) {
    if (d_type == DT_REG)
        return 1;
    if (d_type != DT_UNKNOWN && d_type != DT_LNK)
        return 0;
    struct stat st;
    return fstatat(d->dirfd, name, &st, 0) == 0 && S_ISREG(st.st_mode);
}

/* Queues the wanted, not yet known (or not done) files among `names`, in
 * name order, and marks them seen. Frees nothing. */
static void s_offer(ed_dirsrc_t *d, char **names, size_t n) {
    if (n > 1)
        qsort(names, n, sizeof *names, s_cmp_name);
    for (size_t i = 0; i < n; i++) {
        ed_dir_file_t *f = ed_dir_files_get(d->files, names[i]);
        f->seen = 1;
        if (f->mstate == M_NEW && f->cstate != ED_DIR_C_DONE)
            s_enqueue(d, f);
    }
}

/* Lists the directory and queues every new matching regular file. */
static int s_scan(ed_dirsrc_t *d, char *errstr, size_t errstr_size) {
    int fd = openat(d->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = fd < 0 ? NULL : fdopendir(fd);
    if (!dir) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return ed_seterr(errstr, errstr_size, ED_EIO, "source '%s': cannot list directory '%s': %s",
                         d->who, d->path, strerror(e));
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (!s_wanted(d, de->d_name) || !s_is_regular(d, de->d_name, de->d_type))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = ed_realloc(names, cap * sizeof *names);
        }
        names[n++] = ed_strdup(de->d_name);
    }
    closedir(dir);
    s_offer(d, names, n);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return 0;
}

/* Reads pending inotify events and queues the new files they name. */
static int s_drain_inotify(ed_dirsrc_t *d, char *errstr, size_t errstr_size) {
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    char **names = NULL;
    size_t n = 0, cap = 0;
    int overflow = 0, rc = 0;
    for (;;) {
        ssize_t len = read(d->ifd, buf, sizeof buf);
        if (len < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                rc = ed_seterr(errstr, errstr_size, ED_EIO,
                               "source '%s': reading inotify events for '%s': %s", d->who, d->path,
                               strerror(errno));
            break;
        }
        if (len == 0)
            break;
        for (char *p = buf; p < buf + len;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            p += sizeof *ev + ev->len;
            if (ev->mask & IN_Q_OVERFLOW)
                overflow = 1;
            if (ev->mask & IN_IGNORED)
                ED_LOG_W(d->who,
                         "directory '%s' was removed or unmounted; no new files will be seen",
                         d->path);
            if (!ev->len || !(ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)))
                continue;
            if (!s_wanted(d, ev->name))
                continue;
            ed_dir_file_t *f = ed_dir_files_find(d->files, ev->name);
            if (f && f->mstate != M_NEW) /* queued, read or failed already */
                continue;
            if (!s_is_regular(d, ev->name, DT_UNKNOWN))
                continue; /* gone again, or not a regular file */
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                names = ed_realloc(names, cap * sizeof *names);
            }
            names[n++] = ed_strdup(ev->name);
        }
    }
    s_offer(d, names, n);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (overflow) { /* events were lost: list the directory instead */
        ED_LOG_W(d->who, "inotify queue overflow on '%s'; rescanning the directory", d->path);
        int r = s_scan(d, errstr, errstr_size);
        if (r < 0)
            rc = r;
    }
    return rc;
}

/* -------------------------------------------------------------- files -- */

static void s_close_current(ed_dirsrc_t *d, int mstate) {
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
    d->cur->mstate = (uint8_t)mstate;
    if (mstate == M_FINISHED)
        s_push(&d->fin, &d->nfin, &d->fincap, d->cur);
    d->cur = NULL;
    d->rpos = d->rlen = 0;
    d->llen = 0;
}

static ssize_t s_read_fd(int fd, char *buf, size_t n) {
    ssize_t r;
    do
        r = read(fd, buf, n);
    while (r < 0 && errno == EINTR);
    return r;
}

/* Opens the next queued file that can be opened. Returns 1, or 0 if none. */
static int s_open_next(ed_dirsrc_t *d) {
    while (d->qhead < d->qlen) {
        ed_dir_file_t *f = d->q[d->qhead++];
        if (d->qhead == d->qlen)
            d->qhead = d->qlen = 0;
        int fd = openat(d->dirfd, f->name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) {
            ED_LOG_W(d->who, "skipping file '%s/%s': %s", d->path, f->name, strerror(errno));
            if (fd >= 0)
                close(fd);
            f->mstate = M_FAILED;
            continue;
        }
        if (!S_ISREG(st.st_mode)) {
            ED_LOG_W(d->who, "skipping '%s/%s': not a regular file", d->path, f->name);
            close(fd);
            f->mstate = M_FAILED;
            continue;
        }
        d->cur = f;
        d->fd = fd;
        f->mstate = M_CURRENT;
        d->mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        d->line_no = 0;
        d->consumed = 0;
        d->rpos = d->rlen = 0;
        d->llen = 0;
        int64_t start = f->cstate == ED_DIR_C_AT ? f->at : 0;
        if (start > st.st_size) {
            ED_LOG_W(d->who,
                     "file '%s/%s' is shorter (%lld bytes) than its committed offset %lld; it was "
                     "replaced: reading it from the start",
                     d->path, f->name, (long long)st.st_size, (long long)start);
            start = 0;
        }
        /* Resume: skip the committed bytes, counting their lines so that the
         * line numbers stay those of the file. */
        int64_t pos = 0;
        while (pos < start) {
            size_t want = (size_t)(start - pos < ED_DIR_RBUF ? start - pos : ED_DIR_RBUF);
            ssize_t r = s_read_fd(fd, d->rbuf, want);
            if (r <= 0) {
                ED_LOG_W(d->who, "skipping file '%s/%s': cannot read to offset %lld: %s", d->path,
                         f->name, (long long)start, r < 0 ? strerror(errno) : "file shrank");
                s_close_current(d, M_FAILED);
                break;
            }
            for (const char *p = d->rbuf, *e = d->rbuf + r; (p = memchr(p, '\n', (size_t)(e - p)));
                 p++)
                d->line_no++;
            pos += r;
        }
        if (!d->cur)
            continue;
        d->consumed = start;
        d->rbuf_off = start;
        return 1;
    }
    return 0;
}

static void s_lbuf_append(ed_dirsrc_t *d, const char *p, size_t n) {
    if (d->llen + n > d->lcap) {
        size_t cap = d->lcap ? d->lcap : 256;
        while (cap < d->llen + n)
            cap *= 2;
        d->lbuf = ed_realloc(d->lbuf, cap);
        d->lcap = cap;
    }
    memcpy(d->lbuf + d->llen, p, n);
    d->llen += n;
}

static void s_emit(ed_dirsrc_t *d, const char *line, size_t len, ed_input_emit_fn emit, void *ud) {
    ed_input_t in;
    memset(&in, 0, sizeof in);
    in.data = line;
    in.len = len;
    in.key = d->cur->name;
    in.key_len = strlen(d->cur->name);
    in.file = d->cur->name;
    in.partition = -1;
    in.offset = ++d->line_no;
    in.ts_ms = d->mtime_ms;
    emit(ud, &in);
}

/* ------------------------------------------------------------- options -- */

typedef struct {
    char *path;       /* the watched directory */
    char *pattern;    /* fnmatch(3) glob on file names */
    char *state_file; /* finished and in-progress files; validate defaults it */
} s_dir_opts_t;

static const ed_conf_map_t s_dir_map[] = {
    {ED_CONF_STR, "path", NULL, offsetof(s_dir_opts_t, path), ED_CONF_REQUIRED,
     "the watched directory (created if missing)", .expect = "a directory path"},
    {ED_CONF_STR, "pattern", "*", offsetof(s_dir_opts_t, pattern), 0,
     "fnmatch(3) glob on file names, e.g. `\"*.log\"`", .expect = "a file-name glob, e.g. *.log"},
    {ED_CONF_STR, "state_file", NULL, offsetof(s_dir_opts_t, state_file), 0,
     "where finished and in-progress files are recorded", .expect = "a file path",
     .doc_def = "`<path>/.eddy-<source name>.state` (trailing `/` of `path` removed first)"},
    {0}};

static const ed_conf_meta_t s_dir_meta[] = {
    {"@key", "the file name (without its directory)"},
    {"@file", "the file name (without its directory)"},
    {"@offset", "the line number, from 1"},
    {"@timestamp", "the file's modification time, ms since the epoch"},
    {NULL, NULL}};

static int s_dir_validate(ed_conf_check_t *ck, void *opts) {
    s_dir_opts_t *o = opts;
    if (o->state_file || !o->path)
        return 0;
    size_t n = strlen(o->path);
    while (n > 1 && o->path[n - 1] == '/')
        n--;
    ed_buf_t b = ED_BUF_INIT;
    ed_buf_append(&b, o->path, n);
    ed_buf_printf(&b, "%s.eddy-%s.state", o->path[n - 1] == '/' ? "" : "/",
                  ed_conf_check_name(ck));
    o->state_file = b.data;
    return 0;
}

/* ----------------------------------------------------------- callbacks -- */

static void s_close(void **ctx_p);

static int s_open(void **ctx_p, const ed_config_t *conf, const ed_conf_source_t *src, char *errstr,
                  size_t errstr_size) {
    (void)conf;
    const s_dir_opts_t *o = src->opts;
    if (!o || !o->path || !*o->path)
        return ed_seterr(errstr, errstr_size, ED_EINVAL, "source '%s': directory.path is required",
                         src->name);
    ed_dirsrc_t *d = ed_calloc(1, sizeof *d);
    d->fd = d->dirfd = d->ifd = -1;
    d->who = ed_strdup(src->name);
    d->files = ed_dir_files_new();
    d->path = ed_strdup(o->path);
    d->pattern = ed_strdup(o->pattern && *o->pattern ? o->pattern : "*");
    if (o->state_file && *o->state_file) {
        d->state_path = ed_strdup(o->state_file);
    } else {
        d->state_path = ed_malloc(strlen(d->path) + strlen(src->name) + 16);
        sprintf(d->state_path, "%s/.eddy-%s.state", d->path, src->name);
    }
    d->rbuf = ed_malloc(ED_DIR_RBUF);
    *ctx_p = d;

    int rc;
    if (s_mkdir_p(d->path) < 0) {
        rc = ed_seterr(errstr, errstr_size, ED_EIO, "source '%s': cannot create directory '%s': %s",
                       d->who, d->path, strerror(errno));
        goto fail;
    }
    d->dirfd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d->dirfd < 0) {
        rc = ed_seterr(errstr, errstr_size, ED_EIO, "source '%s': cannot open directory '%s': %s",
                       d->who, d->path, strerror(errno));
        goto fail;
    }

    /* The state file's directory: create it; if it is the watched one, its
     * name (and the tmp file's) must not be read as input. */
    char *slash = strrchr(d->state_path, '/');
    char *sdir = slash ? ed_strndup(d->state_path,
                                    slash == d->state_path ? 1 : (size_t)(slash - d->state_path))
                       : ed_strdup(".");
    struct stat sst, dst;
    int mk = s_mkdir_p(sdir);
    int same = mk == 0 && stat(sdir, &sst) == 0 && fstat(d->dirfd, &dst) == 0 &&
               sst.st_dev == dst.st_dev && sst.st_ino == dst.st_ino;
    if (mk < 0) {
        rc = ed_seterr(errstr, errstr_size, ED_EIO,
                       "source '%s': cannot create the directory of state file '%s': %s", d->who,
                       d->state_path, strerror(errno));
        free(sdir);
        goto fail;
    }
    free(sdir);
    if (same)
        d->state_base = slash ? slash + 1 : d->state_path;

    /* Watch before listing, so that a file arriving in between is not missed
     * (a file both listed and reported is queued once). */
    d->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (d->ifd < 0 ||
        inotify_add_watch(d->ifd, d->path, IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR) < 0) {
        rc = ed_seterr(errstr, errstr_size, ED_EIO,
                       "source '%s': cannot watch directory '%s' with inotify: %s%s", d->who,
                       d->path, strerror(errno),
                       errno == ENOSPC ? " (raise fs.inotify.max_user_watches)" : "");
        goto fail;
    }
    if ((rc = ed_dir_files_load(d->files, d->state_path, d->who, errstr, errstr_size)) < 0)
        goto fail;
    if ((rc = s_scan(d, errstr, errstr_size)) < 0)
        goto fail;
    /* The state applies to the files present now: a name that comes back
     * later is a new file. */
    ed_dir_files_forget_unseen(d->files);
    ED_LOG_D(d->who, "watching '%s' (pattern '%s', state '%s'): %zu file(s) queued", d->path,
             d->pattern, d->state_path, d->qlen - d->qhead);
    return 0;
fail:
    s_close(ctx_p);
    return rc;
}

static int s_read(void *ctx, int max, ed_input_emit_fn emit, void *ud, int *eof, char *errstr,
                  size_t errstr_size) {
    (void)eof; /* a directory never ends */
    ed_dirsrc_t *d = ctx;
    /* Always drain inotify, even paused: the fd must not stay readable. */
    int rc = s_drain_inotify(d, errstr, errstr_size);
    if (rc < 0)
        return rc;
    if (d->paused)
        return 0;

    int emitted = 0;
    while (emitted < max) {
        if (!d->cur && !s_open_next(d))
            break;
        if (d->rpos < d->rlen) {
            char *p = d->rbuf + d->rpos;
            size_t avail = d->rlen - d->rpos;
            char *nl = memchr(p, '\n', avail);
            if (!nl) { /* the line continues past this buffer */
                s_lbuf_append(d, p, avail);
                d->rpos = d->rlen;
                continue;
            }
            size_t len = (size_t)(nl - p);
            d->rpos += len + 1;
            d->consumed = d->rbuf_off + (int64_t)d->rpos;
            if (d->llen) {
                s_lbuf_append(d, p, len);
                s_emit(d, d->lbuf, d->llen, emit, ud);
                d->llen = 0;
            } else {
                s_emit(d, p, len, emit, ud); /* zero-copy: straight from the read buffer */
            }
            emitted++;
            continue;
        }
        ssize_t r = s_read_fd(d->fd, d->rbuf, ED_DIR_RBUF);
        if (r > 0) {
            d->rbuf_off += (int64_t)d->rlen;
            d->rlen = (size_t)r;
            d->rpos = 0;
        } else if (r == 0) { /* end of file: a last line without '\n' is a line */
            if (d->llen) {
                d->rbuf_off += (int64_t)d->rlen;
                d->rpos = d->rlen = 0;
                d->consumed = d->rbuf_off;
                s_emit(d, d->lbuf, d->llen, emit, ud);
                d->llen = 0;
                emitted++;
            }
            ED_LOG_D(d->who, "finished '%s' (%lld lines)", d->cur->name, (long long)d->line_no);
            s_close_current(d, M_FINISHED);
        } else {
            ED_LOG_W(d->who, "stopped reading '%s/%s' at byte %lld: %s", d->path, d->cur->name,
                     (long long)d->consumed, strerror(errno));
            s_close_current(d, M_FAILED);
        }
    }
    return emitted;
}

static int s_fd(void *ctx) {
    return ((ed_dirsrc_t *)ctx)->ifd;
}

static int s_checkpoint(void *ctx, uint64_t n) {
    ed_dirsrc_t *d = ctx;
    if (d->nsnaps == d->snapcap) {
        d->snapcap = d->snapcap ? d->snapcap * 2 : 8;
        d->snaps = ed_realloc(d->snaps, d->snapcap * sizeof *d->snaps);
    }
    ed_dirsnap_t *s = &d->snaps[d->nsnaps++];
    s->n = n;
    s->cur = d->cur;
    s->cur_off = d->cur ? d->consumed : 0;
    s->finished = d->fin;
    s->nfinished = d->nfin;
    d->fin = NULL;
    d->nfin = d->fincap = 0;
    return 0;
}

static int s_commit(void *ctx, uint64_t n, char *errstr, size_t errstr_size) {
    ed_dirsrc_t *d = ctx;
    size_t k = 0;
    for (; k < d->nsnaps && d->snaps[k].n <= n; k++) {
        ed_dirsnap_t *s = &d->snaps[k];
        for (size_t i = 0; i < s->nfinished; i++)
            if (s->finished[i]->cstate != ED_DIR_C_DONE) {
                s->finished[i]->cstate = ED_DIR_C_DONE;
                d->state_dirty = 1;
            }
        /* A file in progress at snapshot k is either still in progress at the
         * next one or in its finished list, applied after this. */
        if (s->cur && s->cur->cstate != ED_DIR_C_DONE &&
            (s->cur->cstate != ED_DIR_C_AT || s->cur->at != s->cur_off)) {
            s->cur->cstate = ED_DIR_C_AT;
            s->cur->at = s->cur_off;
            d->state_dirty = 1;
        }
        free(s->finished);
    }
    if (k) {
        memmove(d->snaps, d->snaps + k, (d->nsnaps - k) * sizeof *d->snaps);
        d->nsnaps -= k;
    }
    if (!d->state_dirty)
        return 0;
    int rc = ed_dir_files_save(d->files, d->state_path, d->who, errstr, errstr_size);
    if (rc == 0)
        d->state_dirty = 0;
    return rc;
}

static void s_pause(void *ctx, int paused) {
    ((ed_dirsrc_t *)ctx)->paused = paused;
}

static void s_close(void **ctx_p) {
    if (!ctx_p || !*ctx_p)
        return;
    ed_dirsrc_t *d = *ctx_p;
    if (d->fd >= 0)
        close(d->fd);
    if (d->ifd >= 0)
        close(d->ifd);
    if (d->dirfd >= 0)
        close(d->dirfd);
    ed_dir_files_destroy(&d->files);
    for (size_t i = 0; i < d->nsnaps; i++)
        free(d->snaps[i].finished);
    free(d->snaps);
    free(d->fin);
    free(d->q);
    free(d->rbuf);
    free(d->lbuf);
    free(d->who);
    free(d->path);
    free(d->pattern);
    free(d->state_path);
    free(d);
    *ctx_p = NULL;
}

const ed_source_type_t ed_source_directory = {
    .conf = {.name = "directory",
             .desc = "reads files dropped into a directory, line by line (one instance)",
             .map = s_dir_map,
             .opts_size = sizeof(s_dir_opts_t),
             .caps = ED_CAP_PAYLOAD,
             .meta = s_dir_meta,
             .example = "directory: { path: /var/spool/eddy, pattern: \"*.log\" }",
             .validate = s_dir_validate},
    .open = s_open,
    .read = s_read,
    .fd = s_fd,
    .checkpoint = s_checkpoint,
    .commit = s_commit,
    .pause = s_pause,
    .close = s_close,
};
