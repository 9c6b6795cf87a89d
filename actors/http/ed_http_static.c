/* ed_http_static.c — see ed_http_static.h. */
#define _GNU_SOURCE
#include "actors/http/ed_http_static.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/ed_common.h"

/* One served directory: its real path (symbolic links resolved), or "" with
 * `missing` saying why nothing is served there. */
typedef struct {
    char dir[PATH_MAX];
    char missing[1024];
} ed_static_dir_t;

typedef struct {
    ed_static_dir_t web, vendor;
} ed_static_t;

int ed_http_static_safe(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > 255)
        return 0;
    for (const char *seg = name; *seg;) {
        if (*seg == '/' || *seg == '.') /* an empty segment, "..", a hidden file */
            return 0;
        const char *end = strchr(seg, '/');
        size_t len = end ? (size_t)(end - seg) : strlen(seg);
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)seg[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-'))
                return 0;
        }
        if (!end)
            break;
        seg = end + 1;
        if (!*seg) /* a trailing '/': a directory */
            return 0;
    }
    return 1;
}

const char *ed_http_static_type(const char *name) {
    static const char *const types[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < ED_ARRAY_SIZE(types); i++)
            if (!strcmp(dot, types[i][0]))
                return types[i][1];
    return "application/octet-stream";
}

/* Sets d->dir to the real path of `path` when it is a directory holding
 * `need` (NULL: any directory); 1 if so. */
static int s_try(ed_static_dir_t *d, const char *path, const char *need) {
    char real[PATH_MAX], file[PATH_MAX + 64];
    struct stat st;
    if (!realpath(path, real) || stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
        return 0;
    snprintf(file, sizeof file, "%s/%s", real, need ? need : ".");
    if (stat(file, &st) < 0)
        return 0;
    snprintf(d->dir, sizeof d->dir, "%s", real);
    return 1;
}

/* The directory of the running binary, or "" (no /proc). */
static void s_exe_dir(char *out, size_t size) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    out[0] = 0;
    if (n <= 0)
        return;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) {
        *slash = 0;
        snprintf(out, size, "%s", exe);
    }
}

int ed_http_web_dir(const ed_conf_http_t *conf, char *out, size_t size) {
    char exe[PATH_MAX], cand[3][PATH_MAX + 32];
    int n = 0;
    const char *env = getenv("EDDY_WEB_DIR");
    if (conf->web_dir)
        snprintf(cand[n++], sizeof cand[0], "%s", conf->web_dir);
    else if (env && *env)
        snprintf(cand[n++], sizeof cand[0], "%s", env);
    else {
        s_exe_dir(exe, sizeof exe);
        if (exe[0]) {
            snprintf(cand[n++], sizeof cand[0], "%s/../web", exe);
            snprintf(cand[n++], sizeof cand[0], "%s/../share/eddy/web", exe);
        }
    }
    ed_static_dir_t d = {0};
    for (int i = 0; i < n; i++)
        if (s_try(&d, cand[i], "index.html")) {
            snprintf(out, size, "%s", d.dir);
            return 0;
        }
    out[0] = 0;
    for (int i = 0; i < n; i++)
        snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? ", " : "", cand[i]);
    return ED_ENOENT;
}

/* Reads file `name` below d into resp, or answers 400/404/500. */
static void s_serve(const ed_static_dir_t *d, const char *name, ed_http_resp_t *resp) {
    if (!d->dir[0])
        return ed_http_error(resp, 404, "%s", d->missing);
    if (!*name)
        return ed_http_error(resp, 404, "no such file: a directory is not served");
    if (!ed_http_static_safe(name))
        return ed_http_error(resp, 400,
                             "path '%.200s' not allowed: expected a file name of letters, "
                             "digits, '.', '_', '-' and '/', no '..' and no hidden file",
                             name);
    char path[PATH_MAX + 300], real[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", d->dir, name);
    size_t dl = strlen(d->dir);
    /* Symbolic links are followed, but what they lead to must stay below
     * the directory. */
    if (!realpath(path, real) || strncmp(real, d->dir, dl) != 0 || real[dl] != '/')
        return ed_http_error(resp, 404, "no such file: %.200s", name);
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return ed_http_error(resp, 404, "no such file: %.200s", name);
    }
    if (st.st_size > ED_HTTP_STATIC_MAX) {
        close(fd);
        return ed_http_error(resp, 500, "file %.200s is larger than %d bytes", name,
                             ED_HTTP_STATIC_MAX);
    }
    char buf[65536];
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0)
        ed_buf_append(&resp->body, buf, (size_t)r);
    int err = r < 0 ? errno : 0;
    close(fd);
    if (err)
        return ed_http_error(resp, 500, "cannot read %.200s: %s", name, strerror(err));
    resp->content_type = ed_http_static_type(name);
}

static void s_index(void *ud, const ed_http_req_t *req, ed_http_resp_t *resp) {
    s_serve(&((ed_static_t *)ud)->web, "index.html", resp);
}

static void s_ui(void *ud, const ed_http_req_t *req, ed_http_resp_t *resp) {
    s_serve(&((ed_static_t *)ud)->web, ed_http_req_rest(req), resp);
}

static void s_vendor(void *ud, const ed_http_req_t *req, ed_http_resp_t *resp) {
    s_serve(&((ed_static_t *)ud)->vendor, ed_http_req_rest(req), resp);
}

int ed_http_static_routes(ed_http_t *h, const ed_conf_http_t *conf, char *info, size_t size) {
    ed_static_t *st = ed_calloc(1, sizeof *st);
    ed_http_keep(h, st, free);
    int n = 0;
    if (ed_http_web_dir(conf, st->web.dir, sizeof st->web.dir) < 0) {
        /* st->web.dir holds where it looked (cut to fit) */
        n = snprintf(st->web.missing, sizeof st->web.missing,
                     "the dashboard's files are not installed: no index.html in %.800s; set "
                     "runtime.http.web_dir or EDDY_WEB_DIR to eddy's web/ directory",
                     st->web.dir);
        st->web.dir[0] = 0;
    }
    /* The vendored library: beside the page when installed so, else in
     * the cache scripts/deps fills. */
    char vend[PATH_MAX + 32];
    snprintf(vend, sizeof vend, "%s/vendor", st->web.dir);
    if (!st->web.dir[0] || !s_try(&st->vendor, vend, NULL)) {
        const char *cache = getenv("EDDY_CACHE"), *home = getenv("HOME");
        if (cache && *cache)
            snprintf(vend, sizeof vend, "%s/web", cache);
        else
            snprintf(vend, sizeof vend, "%s/.cache/eddy/web", home ? home : "");
        if (!s_try(&st->vendor, vend, NULL))
            n = snprintf(st->vendor.missing, sizeof st->vendor.missing,
                         "the vendored charting library is not installed in %.900s; run make "
                         "deps",
                         vend);
    }
    (void)n; /* a message cut to fit is still a message */
    snprintf(info, size, "dashboard %s%s, vendored %s%s", st->web.dir[0] ? "from " : "",
             st->web.dir[0] ? st->web.dir : "files missing",
             st->vendor.dir[0] ? "from " : "files missing in ",
             st->vendor.dir[0] ? st->vendor.dir : vend);
    if (ed_http_route(h, "/", s_index, st) < 0 || ed_http_route(h, "/ui/", s_ui, st) < 0 ||
        ed_http_route(h, "/vendor/", s_vendor, st) < 0)
        return ED_EINVAL;
    return 0;
}
