/*
 * it_redis.h — what the Redis sink's integration programs share: a
 * connection to the test server of scripts/services.
 */
#ifndef IT_REDIS_H
#define IT_REDIS_H

#include <hiredis/hiredis.h>
#include <stdlib.h>

#include "tests/integration/sink_contract.h"

/* Connects to EDDY_REDIS_HOST:EDDY_REDIS_PORT; fails the running cmocka
 * test (naming the address and hiredis' error) if it cannot. Free the
 * context with redisFree. */
static inline redisContext *it_redis(void) {
    const char *host = sc_env("EDDY_REDIS_HOST");
    int port = atoi(sc_env("EDDY_REDIS_PORT"));
    redisContext *rc = redisConnect(host, port);
    if (!rc || rc->err)
        fail_msg("cannot connect to redis %s:%d: %s", host, port, rc ? rc->errstr : "?");
    return rc;
}

#endif
