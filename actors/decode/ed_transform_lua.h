/*
 * ed_transform_lua.h — the `lua:` transform step: a function of a Lua 5.4
 * script (Debian's liblua5.4) called once per record.
 *
 * The record is passed as a table (objects as tables with string keys,
 * arrays as sequences that keep being arrays when written back, even
 * empty; numbers with an integer text and within int64 as Lua integers,
 * others as floats; JSON null fields are absent, as nil is in a table). The
 * function returns a table, the new record (written back as a JSON
 * object, its original members in their order, added ones after), or nil: the record is dropped and counted as filtered. Anything
 * else, a runtime error or a limit hit rejects the record.
 *
 * Sandbox: the script sees the base library without dofile, loadfile,
 * load, require, print and collectgarbage, plus string (without dump),
 * table, math and utf8; no io, os, package or debug. Only text chunks are
 * loaded (no precompiled bytecode). Each runner's state has its own
 * allocator that refuses to grow past max_memory bytes, and a count hook
 * that stops a call after max_instructions VM instructions (the script's
 * top level is run under the same limits when the state is made).
 *
 * Threads: one ed_xlua_t per thread (a lua_State is not thread-safe).
 */
#ifndef ED_TRANSFORM_LUA_H
#define ED_TRANSFORM_LUA_H

#include <stddef.h>

#include "actors/decode/ed_json.h"
#include "actors/decode/ed_transform.h"
#include "runtime/ed_buf.h"

typedef struct ed_xlua ed_xlua_t;

/* Makes a sandboxed state, loads cfg->code (named cfg->path in messages)
 * and runs its top level, then finds the global function cfg->function.
 * Returns 0 and an owned *x_p, or ED_EINVAL with errstr: "syntax error:
 * score.lua:3: '=' expected near 'x'", "score.lua:5: attempt to call a nil
 * value", "function 'score' is not defined by score.lua (found a nil)",
 * "the top level of score.lua hit the instruction limit of 1000000". */
int ed_xlua_new(const ed_xf_lua_t *cfg, ed_xlua_t **x_p, char *errstr, size_t errstr_size);

/* Frees the state and NULLs *x_p. NULL-safe. */
void ed_xlua_destroy(ed_xlua_t **x_p);

/* Calls the function on the record d (tape T, object at index 0) and
 * appends the table it returns as JSON to out. Returns 0 (out holds the
 * record), 1 (the function returned nil: drop it), or -1 with why: "lua
 * error: score.lua:9: attempt to index a nil value (field 'text')", "hit
 * the instruction limit of 1000000", "hit the memory limit of 16777216
 * bytes", "returned a string; expected a table or nil", "cannot write a
 * function as JSON (at 'f')". */
int ed_xlua_call(ed_xlua_t *x, const ed_json_tok_t *T, const char *d, ed_buf_t *out, char *why,
                 size_t why_size);

#endif
