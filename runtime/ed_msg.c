/* ed_msg.c — see ed_msg.h. */
#include "runtime/ed_msg.h"

#include <stdlib.h>

#include "runtime/ed_common.h"

ed_msg_t *ed_msg_new(int type) {
    ed_msg_t *m = ed_calloc(1, sizeof *m);
    m->type = type;
    return m;
}

ed_msg_t *ed_msg_new_batch(int type, ed_batch_t **batch_p) {
    ed_msg_t *m = ed_msg_new(type);
    m->batch = *batch_p;
    *batch_p = NULL;
    return m;
}

void ed_msg_destroy(ed_msg_t **msg_p) {
    if (!msg_p || !*msg_p)
        return;
    ed_batch_destroy(&(*msg_p)->batch);
    free(*msg_p);
    *msg_p = NULL;
}
