/*
 * ed_http_static.h — the dashboard's files over HTTP (docs/http.md,
 * Dashboard): `/` answers web/index.html, `/ui/NAME` the other files of the
 * web directory, `/vendor/NAME` the charting library `make deps` fetched
 * from npm (never committed, never fetched at run time).
 *
 * Where the files are (the first that holds index.html):
 *   1. runtime.http.web_dir in the config;
 *   2. the environment variable EDDY_WEB_DIR;
 *   3. DIR/../web and DIR/../share/eddy/web, DIR being the directory of the
 *      eddy binary (a checkout's bin/eddy, an installation's bin/eddy).
 * The vendored files: WEB/vendor when it exists (an installation copies
 * them there), else ${EDDY_CACHE:-$HOME/.cache/eddy}/web (where scripts/deps
 * unpacks them).
 *
 * Requests: a NAME is served only when it is made of letters, digits, '.',
 * '_', '-' and '/', with no empty segment and no segment starting with '.'
 * (so no "..", no hidden file, no absolute path): anything else gets 400.
 * A NAME that is no regular file below the directory (symbolic links
 * resolved) gets 404. The content type follows the extension (.html, .js,
 * .css, .svg, .json, .png, .ico, .txt, .map; anything else
 * application/octet-stream). Files above ED_HTTP_STATIC_MAX bytes get 500.
 */
#ifndef ED_HTTP_STATIC_H
#define ED_HTTP_STATIC_H

#include <stddef.h>

#include "actors/http/ed_http.h"
#include "config/ed_config.h"

#define ED_HTTP_STATIC_MAX (8 * 1024 * 1024) /* bytes: largest file served */

/* Finds the web directory as above (conf->web_dir borrowed, may be NULL)
 * and writes its path to out. Returns 0, or ED_ENOENT with out holding
 * the places looked at ("a, b, c"), for a message. */
int ed_http_web_dir(const ed_conf_http_t *conf, char *out, size_t size);

/* Registers `/`, `/ui/` and `/vendor/` on h (before ed_http_start), serving
 * from the directories found as above; the server keeps what they need
 * (ed_http_keep). Without a web directory those paths answer 404 naming
 * where eddy looked and how to set it; without the vendored files the page
 * still draws the graph and says the charts are missing. Writes to
 * `info` (size bytes) where the files come from, for the startup log.
 * Returns 0, or ED_EINVAL when a route is taken already. */
int ed_http_static_routes(ed_http_t *h, const ed_conf_http_t *conf, char *info, size_t size);

/* 1 if `name` (a path below a served directory) is safe to serve by the
 * rules above, else 0. */
int ed_http_static_safe(const char *name);

/* The content type for `name` by its extension (a static string). */
const char *ed_http_static_type(const char *name);

#endif
