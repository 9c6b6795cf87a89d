/* ed_file.c — see ed_file.h. */
#define _GNU_SOURCE
#include "runtime/ed_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/ed_common.h"

struct ed_file_writer {
    int fd;
    char *path; /* final name */
    char *tmp;  /* path + ".tmp" */
};

ed_file_writer_t *ed_file_writer_new(const char *path, char *errstr, size_t errstr_size) {
    ed_file_writer_t *w = ed_calloc(1, sizeof *w);
    w->path = ed_strdup(path);
    size_t n = strlen(path) + 5;
    w->tmp = ed_malloc(n);
    snprintf(w->tmp, n, "%s.tmp", path);
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        ed_seterr(errstr, errstr_size, ED_EIO, "cannot create '%s': %s; %s", w->tmp,
                  strerror(errno), ed_file_remedy(errno));
        free(w->tmp);
        free(w->path);
        free(w);
        return NULL;
    }
    return w;
}

int ed_file_write(ed_file_writer_t *w, const void *data, size_t len, char *errstr,
                  size_t errstr_size) {
    const char *p = data;
    while (len) {
        ssize_t k = write(w->fd, p, len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return ed_seterr(errstr, errstr_size, ED_EIO, "cannot write '%s': %s; %s", w->tmp,
                             strerror(errno), ed_file_remedy(errno));
        p += k;
        len -= (size_t)k;
    }
    return 0;
}

static void s_free(ed_file_writer_t **w_p) {
    ed_file_writer_t *w = *w_p;
    free(w->tmp);
    free(w->path);
    free(w);
    *w_p = NULL;
}

/* The directory part of `path` ("." when it has none); owned. */
static char *s_dirname(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash)
        return ed_strdup(".");
    return ed_strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

const char *ed_file_remedy(int err) {
    switch (err) {
    case ENOSPC:
    case EDQUOT:
        return "free space on its file system (or give eddy a path on another one)";
    case EROFS:
        return "its file system is mounted read-only: remount it read-write (or give eddy "
               "another path)";
    case EACCES:
    case EPERM:
        return "give eddy's user write access to it (or give eddy another path)";
    case EIO:
        return "the device reported an I/O error: check the disk (dmesg)";
    default:
        return "check the path and its file system";
    }
}

int ed_file_sync_dir(const char *dir, char *errstr, size_t errstr_size) {
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return ed_seterr(errstr, errstr_size, ED_EIO, "cannot open directory '%s': %s", dir,
                         strerror(errno));
    int rc = fsync(dfd);
    int e = errno;
    close(dfd);
    if (rc < 0)
        return ed_seterr(errstr, errstr_size, ED_EIO, "cannot fsync directory '%s': %s", dir,
                         strerror(e));
    return 0;
}

int ed_file_commit(ed_file_writer_t **w_p, char *errstr, size_t errstr_size) {
    ed_file_writer_t *w = *w_p;
    const char *what = "fsync";
    if (fsync(w->fd) < 0)
        goto fail;
    what = "close";
    int rc = close(w->fd);
    w->fd = -1;
    if (rc < 0)
        goto fail;
    what = "rename";
    if (rename(w->tmp, w->path) < 0)
        goto fail;
    char *dir = s_dirname(w->path);
    rc = ed_file_sync_dir(dir, errstr, errstr_size);
    free(dir);
    s_free(w_p);
    return rc;
fail:;
    int e = errno;
    ed_seterr(errstr, errstr_size, ED_EIO, "cannot %s '%s' (to replace '%s'): %s; %s", what,
              w->tmp, w->path, strerror(e), ed_file_remedy(e));
    ed_file_abort(w_p);
    return ED_EIO;
}

void ed_file_abort(ed_file_writer_t **w_p) {
    if (!w_p || !*w_p)
        return;
    ed_file_writer_t *w = *w_p;
    if (w->fd >= 0)
        close(w->fd);
    unlink(w->tmp);
    s_free(w_p);
}

int ed_file_replace(const char *path, const void *data, size_t len, char *errstr,
                    size_t errstr_size) {
    ed_file_writer_t *w = ed_file_writer_new(path, errstr, errstr_size);
    if (!w)
        return ED_EIO;
    if (ed_file_write(w, data, len, errstr, errstr_size) < 0) {
        ed_file_abort(&w);
        return ED_EIO;
    }
    return ed_file_commit(&w, errstr, errstr_size);
}

int ed_file_read(const char *path, char **data, size_t *len, char *errstr, size_t errstr_size) {
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return ed_seterr(errstr, errstr_size, e == ENOENT ? ED_ENOENT : ED_EIO,
                         "cannot open '%s': %s", path, strerror(e));
    }
    size_t cap = 4096, n = 0;
    char *buf = ed_malloc(cap + 1);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = ed_realloc(buf, cap + 1);
        }
        ssize_t k = read(fd, buf + n, cap - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return ed_seterr(errstr, errstr_size, ED_EIO, "cannot read '%s': %s", path,
                             strerror(e));
        }
        if (k == 0)
            break;
        n += (size_t)k;
    }
    close(fd);
    buf[n] = 0;
    *data = buf;
    *len = n;
    return 0;
}
