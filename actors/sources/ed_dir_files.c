/* ed_dir_files.c — see ed_dir_files.h. */
#define _GNU_SOURCE
#include "actors/sources/ed_dir_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/ed_common.h"
#include "runtime/ed_file.h"

/* Open addressing, linear probing, load factor ≤ 1/2; never shrinks. */
struct ed_dir_files {
    ed_dir_file_t **tab;
    size_t tabcap, tablen;
};

static uint64_t s_hash(const char *s) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void s_tab_put(ed_dir_file_t **tab, size_t cap, ed_dir_file_t *f) {
    size_t i = s_hash(f->name) & (cap - 1);
    while (tab[i])
        i = (i + 1) & (cap - 1);
    tab[i] = f;
}

ed_dir_files_t *ed_dir_files_new(void) {
    return ed_calloc(1, sizeof(ed_dir_files_t));
}

void ed_dir_files_destroy(ed_dir_files_t **files_p) {
    if (!files_p || !*files_p)
        return;
    ed_dir_files_t *t = *files_p;
    for (size_t i = 0; i < t->tabcap; i++)
        if (t->tab[i]) {
            free(t->tab[i]->name);
            free(t->tab[i]);
        }
    free(t->tab);
    free(t);
    *files_p = NULL;
}

ed_dir_file_t *ed_dir_files_find(ed_dir_files_t *t, const char *name) {
    if (!t->tabcap)
        return NULL;
    for (size_t i = s_hash(name) & (t->tabcap - 1);; i = (i + 1) & (t->tabcap - 1)) {
        if (!t->tab[i])
            return NULL;
        if (!strcmp(t->tab[i]->name, name))
            return t->tab[i];
    }
}

ed_dir_file_t *ed_dir_files_get(ed_dir_files_t *t, const char *name) {
    ed_dir_file_t *f = ed_dir_files_find(t, name);
    if (f)
        return f;
    if ((t->tablen + 1) * 2 > t->tabcap) {
        size_t cap = t->tabcap ? t->tabcap * 2 : 64;
        ed_dir_file_t **tab = ed_calloc(cap, sizeof *tab);
        for (size_t i = 0; i < t->tabcap; i++)
            if (t->tab[i])
                s_tab_put(tab, cap, t->tab[i]);
        free(t->tab);
        t->tab = tab;
        t->tabcap = cap;
    }
    f = ed_calloc(1, sizeof *f);
    f->name = ed_strdup(name);
    s_tab_put(t->tab, t->tabcap, f);
    t->tablen++;
    return f;
}

void ed_dir_files_forget_unseen(ed_dir_files_t *t) {
    for (size_t i = 0; i < t->tabcap; i++)
        if (t->tab[i] && !t->tab[i]->seen)
            t->tab[i]->cstate = ED_DIR_C_NONE;
}

int ed_dir_files_load(ed_dir_files_t *t, const char *path, const char *who, char *errstr,
                      size_t errstr_size) {
    FILE *fp = fopen(path, "re");
    if (!fp) {
        if (errno == ENOENT)
            return 0;
        return ed_seterr(errstr, errstr_size, ED_EIO,
                         "source '%s': cannot read state file '%s': %s", who, path,
                         strerror(errno));
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, rc = 0;
    while ((len = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        if (!strncmp(line, "done ", 5) && line[5]) {
            ed_dir_file_t *f = ed_dir_files_get(t, line + 5);
            f->cstate = ED_DIR_C_DONE;
            continue;
        }
        if (!strncmp(line, "at ", 3)) {
            char *end;
            errno = 0;
            long long off = strtoll(line + 3, &end, 10);
            if (!errno && end > line + 3 && off >= 0 && *end == ' ' && end[1]) {
                ed_dir_file_t *f = ed_dir_files_get(t, end + 1);
                f->cstate = ED_DIR_C_AT;
                f->at = off;
                continue;
            }
        }
        rc = ed_seterr(errstr, errstr_size, ED_EINVAL,
                       "source '%s': state file %s:%d: expected 'done <name>' or "
                       "'at <byte offset> <name>'; fix the line, or delete the file to read "
                       "the directory again from the start",
                       who, path, lineno);
        break;
    }
    if (!rc && ferror(fp))
        rc = ed_seterr(errstr, errstr_size, ED_EIO, "source '%s': cannot read state file '%s': %s",
                       who, path, strerror(errno));
    free(line);
    fclose(fp);
    return rc;
}

static int s_cmp_file(const void *a, const void *b) {
    return strcmp((*(ed_dir_file_t *const *)a)->name, (*(ed_dir_file_t *const *)b)->name);
}

int ed_dir_files_save(ed_dir_files_t *t, const char *path, const char *who, char *errstr,
                      size_t errstr_size) {
    ed_dir_file_t **list = ed_malloc((t->tablen ? t->tablen : 1) * sizeof *list);
    size_t n = 0;
    for (size_t i = 0; i < t->tabcap; i++) {
        ed_dir_file_t *f = t->tab[i];
        if (f && f->seen &&
            (f->cstate == ED_DIR_C_DONE || (f->cstate == ED_DIR_C_AT && f->at > 0)))
            list[n++] = f;
    }
    if (n > 1)
        qsort(list, n, sizeof *list, s_cmp_file);

    size_t blen = 0, bcap = 256;
    char *buf = ed_malloc(bcap);
    static const char head[] =
        "# eddy directory source state: \"done <name>\" | \"at <byte offset> <name>\"\n";
    memcpy(buf, head, sizeof head - 1);
    blen = sizeof head - 1;
    for (size_t i = 0; i < n; i++) {
        size_t need = strlen(list[i]->name) + 32;
        if (blen + need > bcap) {
            while (blen + need > bcap)
                bcap *= 2;
            buf = ed_realloc(buf, bcap);
        }
        if (list[i]->cstate == ED_DIR_C_DONE)
            blen += (size_t)sprintf(buf + blen, "done %s\n", list[i]->name);
        else
            blen +=
                (size_t)sprintf(buf + blen, "at %lld %s\n", (long long)list[i]->at, list[i]->name);
    }
    free(list);

    char err[512];
    int rc = ed_file_replace(path, buf, blen, err, sizeof err);
    free(buf);
    if (rc < 0)
        return ed_seterr(errstr, errstr_size, ED_EIO,
                         "source '%s': cannot write state file '%s' (%s); the file keeps the "
                         "positions last saved until a commit succeeds",
                         who, path, err);
    return 0;
}
