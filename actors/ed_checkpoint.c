/* ed_checkpoint.c — see ed_checkpoint.h. */
#include "actors/ed_checkpoint.h"

ed_msg_t *ed_checkpoint_msg(ed_msg_type_t type, uint64_t n, uint32_t flags, int64_t value) {
    ed_msg_t *m = ed_msg_new((int)type);
    m->seq = n;
    m->flags = flags;
    m->value = value;
    return m;
}
