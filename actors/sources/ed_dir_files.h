/*
 * ed_dir_files.h — the files a directory source knows by name, and the
 * state file that says which of them are committed.
 *
 * Every file ever named (by the state file, a directory listing or inotify)
 * has one entry, found by name in a hash table. Entries are never removed,
 * so pointers to them (the reader's queue, its checkpoints) stay valid
 * until ed_dir_files_destroy.
 *
 * State file, written atomically (tmp file, fsync, rename, fsync of the
 * directory):
 *
 *     # eddy directory source state: "done <name>" | "at <byte offset> <name>"
 *     done 2024-01-01.log
 *     at 81920 2024-01-02.log
 *
 * one line per file; the name is the rest of the line (it may hold spaces,
 * not '\n'). `done`: read to its end and every line of it committed. `at N`:
 * the lines up to byte N (a line boundary) are committed. '#' lines and
 * blank lines are ignored. Only files seen in the directory are written, so
 * the file does not grow forever.
 */
#ifndef ED_DIR_FILES_H
#define ED_DIR_FILES_H

#include <stddef.h>
#include <stdint.h>

/* What the committed state says about a file. */
enum { ED_DIR_C_NONE = 0, ED_DIR_C_DONE, ED_DIR_C_AT };

/* One known file. */
typedef struct {
    char *name;     /* file name (no directory), owned by the table */
    int64_t at;     /* committed byte offset, when cstate == ED_DIR_C_AT */
    uint8_t cstate; /* ED_DIR_C_*: committed state */
    uint8_t mstate; /* the reader's in-memory state (0 when created; not read here) */
    uint8_t seen;   /* present in the directory since open (else not saved) */
} ed_dir_file_t;

typedef struct ed_dir_files ed_dir_files_t;

/* Returns an empty table (owned; free with ed_dir_files_destroy). Aborts on
 * OOM like every ed_malloc. */
ed_dir_files_t *ed_dir_files_new(void);

/* Frees the table and every entry and NULLs *files_p. NULL-safe. */
void ed_dir_files_destroy(ed_dir_files_t **files_p);

/* The entry for `name`, or NULL. Borrowed: valid until destroy. */
ed_dir_file_t *ed_dir_files_find(ed_dir_files_t *t, const char *name);

/* The entry for `name`, created (all fields 0, name copied) if absent.
 * Borrowed: valid until destroy. */
ed_dir_file_t *ed_dir_files_get(ed_dir_files_t *t, const char *name);

/* Clears the committed state of the entries not seen: the state file
 * applies to the files present when the source opened, and a name that
 * comes back later is a new file. */
void ed_dir_files_forget_unseen(ed_dir_files_t *t);

/* Reads the state file at `path` into the table (entries created as
 * needed). A missing file is an empty state. Returns 0; ED_EIO if it cannot
 * be read; ED_EINVAL naming path:line when a line is malformed. `who` (the
 * source's name) starts every error message. */
int ed_dir_files_load(ed_dir_files_t *t, const char *path, const char *who, char *errstr,
                      size_t errstr_size);

/* Writes the committed state of the seen entries to `path` atomically
 * (ed_file_replace, runtime/ed_file.h: "path.tmp" written, fsynced, renamed
 * over path, directory fsynced), in name order. Returns 0, or ED_EIO with
 * errstr naming the state file, the step that failed, the errno text and
 * what to do about it (ed_file_remedy: disk full: free space; read-only or
 * not permitted: make it writable). On failure "path.tmp" is removed and
 * path keeps what it held (the positions last saved: never a torn file). */
int ed_dir_files_save(ed_dir_files_t *t, const char *path, const char *who, char *errstr,
                      size_t errstr_size);

#endif
