/*
 * ed_lake_files.c — stage files and their publication for the lake sink.
 * See ed_lake_files.h.
 */
#define _GNU_SOURCE
#include "sinks/ed_lake_files.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "runtime/ed_common.h"
#include "runtime/ed_file.h"

struct ed_lake_file {
    char *root;
    char *rel;      /* visible name relative to root: "dt=…/part-….parquet" */
    char *stage;    /* full path of the stage file */
    int fd;
    uint64_t bytes; /* stage bytes */
    uint64_t undo;  /* stage bytes before the last append */
    int64_t opened_ms;
    void *zbuf;     /* compression scratch */
    size_t zcap;
};

static uint32_t s_run_id;  /* random per process: names of two runs never collide */
static uint64_t s_seq;

static int s_fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* fsyncs the directory of `path`. */
static int s_fsync_parent(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    return s_fsync_dir(slash ? dir : ".");
}

/* mkdir -p, fsyncing each parent whose entry was created. */
static int s_mkdirs(const char *path) {
    char p[4096];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1;; s++) {
        if (*s == '/' || !*s) {
            char c = *s;
            *s = 0;
            if (mkdir(p, 0777) == 0)
                s_fsync_parent(p);
            else if (errno != EEXIST)
                return -1;
            *s = c;
            if (!c)
                break;
        }
    }
    return 0;
}

int ed_lake_lock(const char *root, int *lock_fd, char *errstr, size_t errstr_size) {
    if (s_mkdirs(root) != 0)
        return ed_seterr(errstr, errstr_size, ED_EIO, "cannot create the lake directory %s: %s",
                         root, strerror(errno));
    char p[4096];
    snprintf(p, sizeof p, "%s/.eddy-lake.lock", root);
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
        return ed_seterr(errstr, errstr_size, ED_EIO, "cannot open %s: %s", p, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        return ed_seterr(errstr, errstr_size, ED_EIO,
                         "%s is locked by another process (%s): one eddy process writes a lake "
                         "path; stop the other one or give this sink its own path",
                         p, strerror(e));
    }
    *lock_fd = fd;
    return 0;
}

ed_lake_file_t *ed_lake_file_open(const char *root, const char *dir, const char *ext,
                                  char *errstr, size_t errstr_size) {
    if (!s_run_id && getrandom(&s_run_id, sizeof s_run_id, 0) != sizeof s_run_id)
        s_run_id = (uint32_t)getpid() ^ (uint32_t)ed_wall_ms();
    char d[4096];
    snprintf(d, sizeof d, "%s%s%s", root, *dir ? "/" : "", dir);
    if (s_mkdirs(d) != 0) {
        ed_seterr(errstr, errstr_size, ED_EIO, "cannot create directory %s: %s; %s", d,
                  strerror(errno), ed_file_remedy(errno));
        return NULL;
    }
    int64_t now = ed_wall_ms();
    time_t t = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char base[128];
    snprintf(base, sizeof base, "part-%04d%02d%02dT%02d%02d%02d%03d-%08x-%llu.%s",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(now % 1000), s_run_id, (unsigned long long)++s_seq, ext);
    ed_lake_file_t *f = ed_calloc(1, sizeof *f);
    f->root = ed_strdup(root);
    size_t n = strlen(dir) + strlen(base) + 2;
    f->rel = ed_malloc(n);
    snprintf(f->rel, n, "%s%s%s", dir, *dir ? "/" : "", base);
    n = strlen(d) + strlen(base) + 16;
    f->stage = ed_malloc(n);
    snprintf(f->stage, n, "%s/.%s.stage", d, base);
    f->fd = open(f->stage, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (f->fd < 0 || s_fsync_dir(d) != 0) {
        ed_seterr(errstr, errstr_size, ED_EIO, "cannot create %s: %s; %s", f->stage,
                  strerror(errno), ed_file_remedy(errno));
        if (f->fd >= 0) {
            close(f->fd);
            unlink(f->stage);
        }
        f->fd = -1;
        ed_lake_file_publish(&f, NULL, NULL, NULL, 0);
        return NULL;
    }
    f->opened_ms = now;
    return f;
}

int ed_lake_file_append(ed_lake_file_t *f, const void *data, size_t len, int level,
                        char *errstr, size_t errstr_size) {
    size_t bound = ZSTD_compressBound(len);
    if (bound > f->zcap) {
        free(f->zbuf);
        f->zcap = bound;
        f->zbuf = ed_malloc(bound);
    }
    size_t z = ZSTD_compress(f->zbuf, f->zcap, data, len, level);
    if (ZSTD_isError(z))
        return ed_seterr(errstr, errstr_size, ED_EIO, "%s: zstd: %s", f->stage,
                         ZSTD_getErrorName(z));
    const char *p = f->zbuf;
    size_t left = z;
    while (left) {
        ssize_t w = write(f->fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto fail;
        p += w;
        left -= (size_t)w;
    }
    if (fsync(f->fd) != 0)
        goto fail;
    f->undo = f->bytes;
    f->bytes += z;
    return 0;
fail:;
    int e = errno;
    if (ftruncate(f->fd, (off_t)f->bytes) != 0 || lseek(f->fd, (off_t)f->bytes, SEEK_SET) < 0)
        ED_LOG_W("lake", "%s: cannot cut back a failed write: %s", f->stage, strerror(errno));
    return ed_seterr(errstr, errstr_size, ED_EIO, "cannot write %s: %s; %s", f->stage, strerror(e),
                     ed_file_remedy(e));
}

int ed_lake_file_undo(ed_lake_file_t *f) {
    if (ftruncate(f->fd, (off_t)f->undo) != 0 || lseek(f->fd, (off_t)f->undo, SEEK_SET) < 0 ||
        fsync(f->fd) != 0)
        return -1;
    f->bytes = f->undo;
    return 0;
}

uint64_t ed_lake_file_bytes(const ed_lake_file_t *f) { return f->bytes; }
int64_t ed_lake_file_opened_ms(const ed_lake_file_t *f) { return f->opened_ms; }
const char *ed_lake_file_name(const ed_lake_file_t *f) { return f->rel; }
const char *ed_lake_file_stage(const ed_lake_file_t *f) { return f->stage; }

const char *ed_lake_file_tmp(const ed_lake_file_t *f, char *buf, size_t n) {
    size_t l = strlen(f->stage) - strlen("stage");
    snprintf(buf, n, "%.*stmp", (int)l, f->stage); /* as s_publish names it */
    return buf;
}

/* ------------------------------------------------------------ publishing */

static int s_ends(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* Publishes stage file `stage` (".<base>.stage" in its directory): see the
 * header. */
static int s_publish(const char *stage, ed_lake_convert_fn convert, void *arg, char *errstr,
                     size_t errstr_size) {
    char final[4096], tmp[4096];
    const char *slash = strrchr(stage, '/');
    size_t dl = slash ? (size_t)(slash - stage) + 1 : 0;
    const char *base = stage + dl + 1; /* after the '.' */
    size_t bl = strlen(base) - strlen(".stage");
    snprintf(final, sizeof final, "%.*s%.*s", (int)dl, stage, (int)bl, base);
    struct stat st;
    if (stat(final, &st) == 0) { /* published before a crash, not yet removed */
        unlink(stage);
        s_fsync_parent(stage);
        return 0;
    }
    if (s_ends(final, ".parquet")) {
        if (!convert)
            return ed_seterr(errstr, errstr_size, ED_EINVAL,
                             "%s is a Parquet stage, and this sink writes JSON lines; publish it "
                             "with a `format: parquet` sink on this path, or remove it",
                             stage);
        snprintf(tmp, sizeof tmp, "%.*s.%.*s.tmp", (int)dl, stage, (int)bl, base);
        if (convert(arg, stage, tmp, errstr, errstr_size) != 0) {
            unlink(tmp);
            return -1;
        }
        int fd = open(tmp, O_RDONLY | O_CLOEXEC);
        int ok = fd >= 0 && fsync(fd) == 0;
        if (fd >= 0)
            close(fd);
        if (!ok || rename(tmp, final) != 0 || s_fsync_parent(final) != 0) {
            int e = errno;
            unlink(tmp);
            return ed_seterr(errstr, errstr_size, ED_EIO, "cannot publish %s: %s; %s", final,
                             strerror(e), ed_file_remedy(e));
        }
        unlink(stage);
        s_fsync_parent(stage);
        return 0;
    }
    int fd = open(stage, O_RDONLY | O_CLOEXEC);
    int ok = fd >= 0 && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    if (!ok || rename(stage, final) != 0 || s_fsync_parent(final) != 0)
        return ed_seterr(errstr, errstr_size, ED_EIO, "cannot publish %s: %s; %s", final,
                         strerror(errno), ed_file_remedy(errno));
    return 0;
}

int ed_lake_stage_publish(const char *stage, ed_lake_convert_fn convert, void *arg, char *errstr,
                          size_t errstr_size) {
    return s_publish(stage, convert, arg, errstr, errstr_size);
}

int ed_lake_file_publish(ed_lake_file_t **f_p, ed_lake_convert_fn convert, void *arg,
                         char *errstr, size_t errstr_size) {
    ed_lake_file_t *f = *f_p;
    int rc = 0;
    if (f->fd >= 0) {
        close(f->fd);
        if (f->bytes == 0) {
            unlink(f->stage);
            s_fsync_parent(f->stage);
        } else {
            rc = s_publish(f->stage, convert, arg, errstr, errstr_size);
        }
    }
    free(f->root);
    free(f->rel);
    free(f->stage);
    free(f->zbuf);
    free(f);
    *f_p = NULL;
    return rc;
}

/* -------------------------------------------------------------- reading */

/* Reads a whole file into *buf (owned). */
static int s_slurp(const char *path, char **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return -1;
    }
    char *b = ed_malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, b + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    *buf = b;
    *len = got;
    return 0;
}

/* Bytes of the complete frames at the start of buf. */
static size_t s_complete(const char *buf, size_t len) {
    size_t at = 0;
    while (at < len) {
        size_t fl = ZSTD_findFrameCompressedSize(buf + at, len - at);
        if (ZSTD_isError(fl))
            break;
        at += fl;
    }
    return at;
}

int ed_lake_stage_read(const char *stage, int (*fn)(void *arg, const char *data, size_t len),
                       void *arg, char *errstr, size_t errstr_size) {
    char *buf;
    size_t len;
    if (s_slurp(stage, &buf, &len) != 0)
        return ed_seterr(errstr, errstr_size, ED_EIO, "cannot read %s: %s", stage,
                         strerror(errno));
    size_t end = s_complete(buf, len), at = 0;
    char *out = NULL;
    size_t cap = 0;
    int rc = 0;
    while (at < end && rc == 0) {
        size_t fl = ZSTD_findFrameCompressedSize(buf + at, end - at);
        unsigned long long n = ZSTD_getFrameContentSize(buf + at, fl);
        if (n == ZSTD_CONTENTSIZE_UNKNOWN || n == ZSTD_CONTENTSIZE_ERROR) {
            rc = ed_seterr(errstr, errstr_size, ED_EIO, "%s: a frame without its size at byte %zu",
                           stage, at);
            break;
        }
        if (n + 1 > cap) {
            free(out);
            cap = (size_t)n + 1;
            out = ed_malloc(cap);
        }
        size_t d = ZSTD_decompress(out, cap, buf + at, fl);
        if (ZSTD_isError(d)) {
            rc = ed_seterr(errstr, errstr_size, ED_EIO, "%s: zstd at byte %zu: %s", stage, at,
                           ZSTD_getErrorName(d));
            break;
        }
        rc = fn(arg, out, d);
        at += fl;
    }
    free(out);
    free(buf);
    return rc;
}

/* ------------------------------------------------------------- recovery */

static struct {
    ed_lake_convert_fn convert;
    void *arg;
    int published, removed, failed;
    char *errstr;
    size_t errstr_size;
} s_rec; /* nftw has no context argument; recovery runs on one thread at a time */

static int s_visit(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    if (flag != FTW_F)
        return 0;
    const char *base = path + ftw->base;
    if (base[0] != '.' || strncmp(base, ".part-", 6))
        return 0;
    if (s_ends(base, ".tmp")) {
        if (unlink(path) == 0)
            s_rec.removed++;
        return 0;
    }
    if (!s_ends(base, ".stage"))
        return 0;
    char *buf;
    size_t len;
    if (s_slurp(path, &buf, &len) != 0)
        return 0;
    size_t end = s_complete(buf, len);
    free(buf);
    if (end < len && truncate(path, (off_t)end) != 0) {
        ed_seterr(s_rec.errstr, s_rec.errstr_size, ED_EIO, "cannot cut the torn end of %s: %s",
                  path, strerror(errno));
        s_rec.failed++;
        return 0;
    }
    if (end == 0) {
        if (unlink(path) == 0)
            s_rec.removed++;
        return 0;
    }
    if (s_publish(path, s_rec.convert, s_rec.arg, s_rec.errstr, s_rec.errstr_size) != 0)
        s_rec.failed++;
    else
        s_rec.published++;
    return 0;
}

int ed_lake_recover(const char *root, ed_lake_convert_fn convert, void *arg, int *published,
                    int *removed, char *errstr, size_t errstr_size) {
    s_rec.convert = convert;
    s_rec.arg = arg;
    s_rec.published = s_rec.removed = s_rec.failed = 0;
    s_rec.errstr = errstr;
    s_rec.errstr_size = errstr_size;
    int rc = nftw(root, s_visit, 16, FTW_PHYS);
    *published = s_rec.published;
    *removed = s_rec.removed;
    if (rc != 0)
        return ed_seterr(errstr, errstr_size, ED_EIO, "cannot walk the lake %s: %s", root,
                         strerror(errno));
    return s_rec.failed ? -1 : 0;
}
