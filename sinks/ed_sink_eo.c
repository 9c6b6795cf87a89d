/* ed_sink_eo.c — see ed_sink_eo.h. */
#include "sinks/ed_sink_eo.h"

#include <mysql.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ed_common.h"

/* Appends 's' quoted, escaped for the connection's character set. */
static void s_quoted(ed_buf_t *b, MYSQL *my, const char *s) {
    size_t n = strlen(s);
    char *tmp = ed_malloc(2 * n + 1);
    unsigned long len = mysql_real_escape_string(my, tmp, s, (unsigned long)n);
    ed_buf_puts(b, "'");
    ed_buf_append(b, tmp, len);
    ed_buf_puts(b, "'");
    free(tmp);
}

void ed_eo_my_sql(ed_buf_t *b, MYSQL *my, const char *pipeline, const char *sink,
                  const char *target, uint64_t id, const char *pos, int for_update) {
    if (pos) {
        ed_buf_puts(b, "INSERT INTO eddy_checkpoints (pipeline, sink, target, checkpoint, "
                       "positions) VALUES (");
        s_quoted(b, my, pipeline);
        ed_buf_puts(b, ", ");
        s_quoted(b, my, sink);
        ed_buf_puts(b, ", ");
        s_quoted(b, my, target);
        ed_buf_printf(b, ", %llu, ", (unsigned long long)id);
        s_quoted(b, my, pos);
        ed_buf_puts(b, ") ON DUPLICATE KEY UPDATE checkpoint = VALUES(checkpoint), positions = "
                       "VALUES(positions)");
        return;
    }
    ed_buf_puts(b, "SELECT checkpoint, positions FROM eddy_checkpoints WHERE pipeline = ");
    s_quoted(b, my, pipeline);
    ed_buf_puts(b, " AND sink = ");
    s_quoted(b, my, sink);
    ed_buf_puts(b, " AND target = ");
    s_quoted(b, my, target);
    if (for_update)
        ed_buf_puts(b, " FOR UPDATE");
}
