/* ed_transform_lua.c — see ed_transform_lua.h.
 *
 * Everything that touches the Lua state per record — building the record
 * table, the call, writing the result back as JSON — runs inside one
 * lua_pcall of s_protected, so a memory error or a limit hit anywhere is
 * an error returned to us, never a panic (which would abort the process).
 */
#define _GNU_SOURCE
#include "actors/decode/ed_transform_lua.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "actors/decode/ed_json_edit.h"
#include "actors/decode/ed_json_fields.h"
#include "actors/decode/ed_val.h"
#include "runtime/ed_common.h"

/* Tables nested deeper than this are refused when written back (a cycle). */
#define S_MAX_DEPTH 64

/* The allocator's account: what the state holds and may hold. */
typedef struct {
    size_t used, limit;
    int hit; /* an allocation was refused for the limit */
} s_mem_t;

struct ed_xlua {
    lua_State *L;
    s_mem_t mem;
    const ed_xf_lua_t *cfg;
    int fn_ref;  /* the function, in the registry */
    int arr_mt;  /* metatable marking tables made from JSON arrays, in the registry */
    int instr_hit;
    ed_buf_t tmp; /* unescaped strings */
    const ed_json_tok_t *call_T; /* the record of the call at hand (its tape and text) */
    const char *call_d;
};

/* The arguments of one protected call. */
typedef struct {
    ed_xlua_t *x;
    const ed_json_tok_t *T;
    const char *d;
    ed_buf_t *out;
    int dropped;
} s_call_t;

static void *s_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    s_mem_t *m = ud;
    if (!ptr)
        osize = 0; /* then osize is the kind of object */
    if (nsize == 0) {
        free(ptr);
        m->used -= osize;
        return NULL;
    }
    if (nsize > osize && m->used + (nsize - osize) > m->limit) {
        m->hit = 1;
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (p)
        m->used = m->used - osize + nsize;
    return p;
}

static void s_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    ed_xlua_t *x = *(ed_xlua_t **)lua_getextraspace(L);
    x->instr_hit = 1;
    luaL_error(L, "instruction limit");
}

static void s_arm(ed_xlua_t *x) {
    uint64_t n = x->cfg->max_instructions;
    x->instr_hit = 0;
    x->mem.hit = 0;
    lua_sethook(x->L, s_hook, LUA_MASKCOUNT, n > INT_MAX ? INT_MAX : (int)n);
}

/* The sentence for a failed call (status st, message on the stack). */
static void s_error(ed_xlua_t *x, int st, const char *what, char *why, size_t why_size) {
    const char *msg = lua_type(x->L, -1) == LUA_TSTRING ? lua_tostring(x->L, -1) : NULL;
    if (x->instr_hit)
        snprintf(why, why_size, "%shit the instruction limit of %" PRIu64, what,
                 x->cfg->max_instructions);
    else if (x->mem.hit || st == LUA_ERRMEM)
        snprintf(why, why_size, "%shit the memory limit of %" PRIu64 " bytes", what,
                 x->cfg->max_memory);
    else
        snprintf(why, why_size, "%slua error: %s", what, msg ? msg : "(an error object that is not a string)");
    lua_settop(x->L, 0);
    lua_gc(x->L, LUA_GCCOLLECT);
}

static void s_open_sandbox(lua_State *L) {
    static const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},
                                    {LUA_STRLIBNAME, luaopen_string},
                                    {LUA_TABLIBNAME, luaopen_table},
                                    {LUA_MATHLIBNAME, luaopen_math},
                                    {LUA_UTF8LIBNAME, luaopen_utf8}};
    for (size_t i = 0; i < ED_ARRAY_SIZE(libs); i++) {
        luaL_requiref(L, libs[i].name, libs[i].func, 1);
        lua_pop(L, 1);
    }
    static const char *const unsafe[] = {"dofile", "loadfile", "load",          "require",
                                         "print",  "loadstring", "collectgarbage"};
    for (size_t i = 0; i < ED_ARRAY_SIZE(unsafe); i++) {
        lua_pushnil(L);
        lua_setglobal(L, unsafe[i]);
    }
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
}

/* Opens the state: lua_newstate, the libraries, the array metatable. Runs
 * protected (the allocator may refuse). */
static int s_setup(lua_State *L) {
    ed_xlua_t *x = lua_touserdata(L, 1);
    lua_settop(L, 0);
    s_open_sandbox(L);
    lua_newtable(L);
    x->arr_mt = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

int ed_xlua_new(const ed_xf_lua_t *cfg, ed_xlua_t **x_p, char *errstr, size_t errstr_size) {
    *x_p = NULL;
    ed_xlua_t *x = ed_calloc(1, sizeof *x);
    x->cfg = cfg;
    x->mem.limit = cfg->max_memory;
    x->fn_ref = x->arr_mt = LUA_NOREF;
    x->L = lua_newstate(s_alloc, &x->mem);
    if (!x->L) {
        free(x);
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "cannot create a Lua state within the memory limit of %" PRIu64 " bytes",
                         cfg->max_memory);
    }
    *(ed_xlua_t **)lua_getextraspace(x->L) = x;
    lua_State *L = x->L;
    int st = LUA_OK;
    char why[768];
    lua_pushcfunction(L, s_setup);
    lua_pushlightuserdata(L, x);
    if ((st = lua_pcall(L, 1, 0, 0)) != LUA_OK) {
        s_error(x, st, "setting up: ", why, sizeof why);
        goto fail;
    }
    char chunk[512];
    snprintf(chunk, sizeof chunk, "@%s", cfg->file ? cfg->file : "script");
    st = luaL_loadbufferx(L, cfg->code ? cfg->code : "", cfg->code_len, chunk, "t");
    if (st != LUA_OK) {
        const char *what = st == LUA_ERRSYNTAX ? "syntax error: " : "cannot load: ";
        const char *msg = lua_tostring(L, -1);
        snprintf(why, sizeof why, "%s%s", what, msg ? msg : "?");
        goto fail;
    }
    s_arm(x);
    if ((st = lua_pcall(L, 0, 0, 0)) != LUA_OK) {
        char what[600];
        snprintf(what, sizeof what, "the top level of %s ", cfg->file);
        s_error(x, st, what, why, sizeof why);
        goto fail;
    }
    lua_sethook(L, NULL, 0, 0);
    lua_getglobal(L, cfg->function);
    if (lua_type(L, -1) != LUA_TFUNCTION) {
        snprintf(why, sizeof why, "function '%s' is not defined by %s (found %s)", cfg->function,
                 cfg->file, luaL_typename(L, -1));
        goto fail;
    }
    x->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    *x_p = x;
    return 0;
fail:
    ed_xlua_destroy(&x);
    return ed_seterr(errstr, errstr_size, ED_EINVAL, "%s", why);
}

void ed_xlua_destroy(ed_xlua_t **x_p) {
    if (!x_p || !*x_p)
        return;
    ed_xlua_t *x = *x_p;
    if (x->L)
        lua_close(x->L);
    ed_buf_free(&x->tmp);
    free(x);
    *x_p = NULL;
}

/* ------------------------------------------------- JSON → Lua, Lua → JSON */

static void s_push_num(lua_State *L, const char *s, size_t n) {
    char buf[64];
    if (n >= sizeof buf) {
        ed_buf_t b = ED_BUF_INIT;
        ed_buf_append(&b, s, n);
        lua_pushnumber(L, ed_val_strtod(b.data, NULL));
        ed_buf_free(&b);
        return;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (!memchr(s, '.', n) && !memchr(s, 'e', n) && !memchr(s, 'E', n)) {
        errno = 0;
        long long v = strtoll(buf, NULL, 10);
        if (errno == 0) {
            lua_pushinteger(L, (lua_Integer)v);
            return;
        }
    }
    lua_pushnumber(L, ed_val_strtod(buf, NULL));
}

static void s_push_str(ed_xlua_t *x, lua_State *L, const ed_json_tok_t *t, const char *d) {
    size_t n = t->end - t->start;
    if (!t->esc) {
        lua_pushlstring(L, d + t->start, n);
        return;
    }
    ed_buf_reset(&x->tmp);
    ed_buf_append(&x->tmp, d + t->start, n);
    lua_pushlstring(L, x->tmp.data, ed_json_unescape(d + t->start, n, x->tmp.data));
}

/* Pushes the value at tape index i. */
static void s_push(ed_xlua_t *x, lua_State *L, const ed_json_tok_t *T, const char *d, int i) {
    luaL_checkstack(L, 4, "record nested too deeply");
    const ed_json_tok_t *t = &T[i];
    switch (t->type) {
    case ED_JSON_OBJ:
        lua_newtable(L);
        for (int k = i + 1; k < t->skip; k = T[k + 1].skip) {
            if (T[k + 1].type == ED_JSON_LIT && d[T[k + 1].start] == 'n')
                continue; /* null: absent, as nil in a table is */
            s_push_str(x, L, &T[k], d);
            s_push(x, L, T, d, k + 1);
            lua_rawset(L, -3);
        }
        return;
    case ED_JSON_ARR: {
        lua_newtable(L);
        lua_Integer n = 1;
        for (int e = i + 1; e < t->skip; e = T[e].skip) {
            s_push(x, L, T, d, e);
            lua_rawseti(L, -2, n++);
        }
        lua_rawgeti(L, LUA_REGISTRYINDEX, x->arr_mt);
        lua_setmetatable(L, -2);
        return;
    }
    case ED_JSON_STR: s_push_str(x, L, t, d); return;
    default:
        if (d[t->start] == 't' || d[t->start] == 'f')
            lua_pushboolean(L, d[t->start] == 't');
        else if (d[t->start] == 'n')
            lua_pushlightuserdata(L, NULL); /* null inside an array keeps its place */
        else
            s_push_num(L, d + t->start, t->end - t->start);
    }
}

/* 1 if the table at idx is written as a JSON array. */
static int s_is_array(ed_xlua_t *x, lua_State *L, int idx) {
    if (lua_getmetatable(L, idx)) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, x->arr_mt);
        int arr = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
        if (arr)
            return 1;
    }
    lua_Unsigned n = lua_rawlen(L, idx), count = 0;
    if (!n)
        return 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        count++;
        lua_pop(L, 1);
    }
    return count == n;
}

/* Writing back keeps the record's member order: `tape` is where the table
 * came from in the input (a tape object or array index; -1 = nowhere, or a
 * table the function made). Members of a tape object are written first, in
 * its order, then the keys the function added, in Lua's order. */
static void s_put(ed_xlua_t *x, lua_State *L, int idx, ed_buf_t *out, int depth, int tape);

/* Is the Lua string s[0..n) the key token k of the tape? */
static int s_key_is(ed_xlua_t *x, const ed_json_tok_t *k, const char *d, const char *s, size_t n) {
    size_t kn = k->end - k->start;
    if (!k->esc)
        return kn == n && !memcmp(d + k->start, s, n);
    ed_buf_reset(&x->tmp);
    ed_buf_append(&x->tmp, d + k->start, kn);
    kn = ed_json_unescape(d + k->start, kn, x->tmp.data);
    return kn == n && !memcmp(x->tmp.data, s, n);
}

/* 1 if a key token before k in object o has the same bytes (a duplicate). */
static int s_dup_before(const ed_json_tok_t *T, const char *d, int o, int k) {
    for (int j = o + 1; j < k; j = T[j + 1].skip)
        if (T[j].end - T[j].start == T[k].end - T[k].start &&
            !memcmp(d + T[j].start, d + T[k].start, T[k].end - T[k].start))
            return 1;
    return 0;
}

static void s_put_member(ed_xlua_t *x, lua_State *L, ed_buf_t *out, int depth, int *first,
                         int tape) {
    if (!*first)
        ed_buf_append(out, ",", 1);
    *first = 0;
    if (lua_type(L, -2) == LUA_TSTRING) {
        size_t kl;
        const char *k = lua_tolstring(L, -2, &kl);
        ed_buf_json_str(out, k, kl);
    } else if (lua_isinteger(L, -2)) {
        ed_buf_printf(out, "\"%lld\"", (long long)lua_tointeger(L, -2));
    } else {
        luaL_error(L, "a table key of type %s cannot be a JSON object key", luaL_typename(L, -2));
    }
    ed_buf_append(out, ":", 1);
    s_put(x, L, lua_gettop(L), out, depth + 1, tape);
}

static void s_put_table(ed_xlua_t *x, lua_State *L, int idx, ed_buf_t *out, int depth, int tape) {
    const ed_json_tok_t *T = x->call_T;
    const char *d = x->call_d;
    if (depth > S_MAX_DEPTH)
        luaL_error(L, "a table nested deeper than %d levels (a cycle?) cannot be written as JSON",
                   S_MAX_DEPTH);
    luaL_checkstack(L, 6, "table nested too deeply");
    if (s_is_array(x, L, idx)) {
        lua_Unsigned n = lua_rawlen(L, idx);
        int e = tape >= 0 && T[tape].type == ED_JSON_ARR ? tape + 1 : -1;
        ed_buf_append(out, "[", 1);
        for (lua_Unsigned k = 1; k <= n; k++) {
            int et = e >= 0 && e < T[tape].skip ? e : -1;
            if (k > 1)
                ed_buf_append(out, ",", 1);
            lua_rawgeti(L, idx, (lua_Integer)k);
            s_put(x, L, lua_gettop(L), out, depth + 1, et);
            lua_pop(L, 1);
            if (et >= 0)
                e = T[e].skip;
        }
        ed_buf_append(out, "]", 1);
        return;
    }
    int o = tape >= 0 && T[tape].type == ED_JSON_OBJ ? tape : -1;
    ed_buf_append(out, "{", 1);
    int first = 1;
    for (int k = o + 1; o >= 0 && k < T[o].skip; k = T[k + 1].skip) {
        if (s_dup_before(T, d, o, k))
            continue;
        s_push_str(x, L, &T[k], d);
        lua_pushvalue(L, -1);
        lua_rawget(L, idx);
        if (lua_isnil(L, -1))
            lua_pop(L, 2);
        else {
            s_put_member(x, L, out, depth, &first, k + 1);
            lua_pop(L, 2);
        }
    }
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int known = 0;
        if (o >= 0 && lua_type(L, -2) == LUA_TSTRING) {
            size_t kl;
            const char *ks = lua_tolstring(L, -2, &kl);
            for (int k = o + 1; k < T[o].skip && !known; k = T[k + 1].skip)
                known = s_key_is(x, &T[k], d, ks, kl);
        }
        if (!known)
            s_put_member(x, L, out, depth, &first, -1);
        lua_pop(L, 1);
    }
    ed_buf_append(out, "}", 1);
}

static void s_put(ed_xlua_t *x, lua_State *L, int idx, ed_buf_t *out, int depth, int tape) {
    switch (lua_type(L, idx)) {
    case LUA_TNIL: ed_buf_puts(out, "null"); return;
    case LUA_TBOOLEAN: ed_buf_puts(out, lua_toboolean(L, idx) ? "true" : "false"); return;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            ed_buf_printf(out, "%lld", (long long)lua_tointeger(L, idx));
        } else {
            double v = lua_tonumber(L, idx);
            if (!isfinite(v))
                luaL_error(L, "the number %f cannot be written as JSON (not finite)", v);
            ed_json_put_num(out, v);
        }
        return;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        ed_buf_json_str(out, s, n);
        return;
    }
    case LUA_TTABLE: s_put_table(x, L, idx, out, depth, tape); return;
    case LUA_TLIGHTUSERDATA:
        if (!lua_touserdata(L, idx)) {
            ed_buf_puts(out, "null");
            return;
        }
        __attribute__((fallthrough));
    default: luaL_error(L, "a %s cannot be written as JSON", luaL_typename(L, idx));
    }
}

static int s_protected(lua_State *L) {
    s_call_t *c = lua_touserdata(L, 1);
    ed_xlua_t *x = c->x;
    lua_settop(L, 0);
    lua_rawgeti(L, LUA_REGISTRYINDEX, x->fn_ref);
    s_push(x, L, c->T, c->d, 0);
    lua_call(L, 1, 1);
    lua_sethook(L, NULL, 0, 0); /* writing back runs no Lua code */
    if (lua_isnil(L, 1)) {
        c->dropped = 1;
        return 0;
    }
    if (!lua_istable(L, 1))
        return luaL_error(L, "%s returned %s; expected a table (the new record) or nil (drop it)",
                          x->cfg->function, luaL_typename(L, 1));
    x->call_T = c->T;
    x->call_d = c->d;
    s_put_table(x, L, 1, c->out, 0, 0);
    return 0;
}

int ed_xlua_call(ed_xlua_t *x, const ed_json_tok_t *T, const char *d, ed_buf_t *out, char *why,
                 size_t why_size) {
    s_call_t c = {x, T, d, out, 0};
    lua_State *L = x->L;
    lua_settop(L, 0);
    lua_pushcfunction(L, s_protected);
    lua_pushlightuserdata(L, &c);
    s_arm(x);
    int st = lua_pcall(L, 1, 0, 0);
    lua_sethook(L, NULL, 0, 0);
    if (st != LUA_OK) {
        s_error(x, st, "", why, why_size);
        return -1;
    }
    lua_settop(L, 0);
    return c.dropped ? 1 : 0;
}
