/*
 * ed_file.h — files that are replaced atomically and durably.
 *
 * A writer writes to "PATH.tmp" in the same directory; commit fsyncs it,
 * renames it over PATH and fsyncs the directory, so a crash at any moment
 * leaves either the old file or the complete new one, never a torn mix
 * (POSIX rename(2) is atomic within a file system; the directory fsync
 * makes the rename itself survive a power loss).
 *
 * Threads: a writer belongs to the thread that made it.
 */
#ifndef ED_FILE_H
#define ED_FILE_H

#include <stddef.h>

typedef struct ed_file_writer ed_file_writer_t;

/* Starts replacing `path`: creates (truncates) "path.tmp" with mode 0644.
 * Returns an owned writer, or NULL with errstr naming the file and the
 * system error. */
ed_file_writer_t *ed_file_writer_new(const char *path, char *errstr, size_t errstr_size);

/* Appends `len` bytes. Returns 0, or ED_EIO with errstr (the writer must
 * still be aborted). */
int ed_file_write(ed_file_writer_t *w, const void *data, size_t len, char *errstr,
                  size_t errstr_size);

/* Makes the new content the file: fsync, close, rename over the path,
 * fsync the directory. Frees the writer and NULLs *w_p in every case.
 * Returns 0, or ED_EIO with errstr (the temporary file is removed; the old
 * file, if any, is untouched). */
int ed_file_commit(ed_file_writer_t **w_p, char *errstr, size_t errstr_size);

/* Gives up: closes and removes the temporary file, frees the writer, NULLs
 * *w_p. NULL-safe. */
void ed_file_abort(ed_file_writer_t **w_p);

/* Replaces `path` with the `len` bytes at `data` (writer_new, write,
 * commit). Returns 0 or ED_EIO with errstr. */
int ed_file_replace(const char *path, const void *data, size_t len, char *errstr,
                    size_t errstr_size);

/* Reads the whole file at `path` into *data (owned, NUL-terminated beyond
 * *len) and *len. Returns 0, ED_ENOENT if it does not exist (errstr still
 * filled), or ED_EIO with errstr. */
int ed_file_read(const char *path, char **data, size_t *len, char *errstr, size_t errstr_size);

/* fsyncs directory `dir` (so renames and unlinks in it are durable).
 * Returns 0 or ED_EIO with errstr. */
int ed_file_sync_dir(const char *dir, char *errstr, size_t errstr_size);

/* What a user can do when a file operation failed with errno `err`, as a
 * phrase for the end of an error message ("free space on its file system
 * …" for ENOSPC and EDQUOT; read-only, permission, I/O errors; else a
 * generic hint). Static string. */
const char *ed_file_remedy(int err);

#endif
