/* The per-state runtime and luaopen_asyncio: builds the module from the C
 * types and the Lua library compiled into the binary. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "alua.h"
#include "lua/internal.h"
#include "lua/io/io.h"
#include "lua/observe/observe.h"
#include "lua/runtime/lazy.h"
#include "lua/runtime/load.h"
#include "lua/runtime/embedded.h"

#define RT_KEY "alua.rt"

rt *alua__rt_state(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, RT_KEY);
  rt *r = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return r;
}

void alua__setfuncs(lua_State *L, rt *r, const luaL_Reg *l) {
  lua_pushlightuserdata(L, r);
  luaL_setfuncs(L, l, 1);
}

void alua__push_weaktable(lua_State *L, const void *key, const char *mode) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, key) == LUA_TTABLE) return;
  lua_pop(L, 1);
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushstring(L, mode);
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, key);
}

void alua__setfuncs_at(lua_State *L, rt *r, int idx, const luaL_Reg *l) {
  lua_pushvalue(L, idx);
  alua__setfuncs(L, r, l);
  lua_pop(L, 1);
}

void alua__addmethods(lua_State *L, rt *r, const char *name, const luaL_Reg *l) {
  luaL_getmetatable(L, name);
  alua__setfuncs(L, r, l);
  lua_pop(L, 1);
}

void *alua__tomarked(lua_State *L, int idx, const void *key) {
  void *p = lua_touserdata(L, idx);
  if (!p || !lua_getmetatable(L, idx)) return NULL;
  int ok = lua_rawgetp(L, -1, key) != LUA_TNIL;
  lua_pop(L, 2);
  return ok ? p : NULL;
}

void alua__tag_awaitable(lua_State *L, const char *kind) {
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "__asyncio");
}

void alua__repr_begin(lua_State *L, luaL_Buffer *b, const char *fmt, ...) {
  va_list ap;
  luaL_buffinit(L, b);
  luaL_addchar(b, '<');
  va_start(ap, fmt);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  luaL_addvalue(b);
}

void alua__repr_add(luaL_Buffer *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lua_pushvfstring(b->L, fmt, ap);
  va_end(ap);
  luaL_addvalue(b);
}

int alua__repr_end(luaL_Buffer *b) {
  luaL_addchar(b, '>');
  luaL_pushresult(b);
  return 1;
}

void *alua__gc_self(lua_State *L) {
#if LUA_VERSION_RELEASE_NUM >= 50404
  /* Lua 5.4.4 on names a function the collector calls "__gc", a
   * metamethod; a call from Lua code is named after the code */
  lua_Debug ar;
  if (!lua_getstack(L, 0, &ar) || !lua_getinfo(L, "n", &ar) || !ar.namewhat ||
      strcmp(ar.namewhat, "metamethod") != 0 || !ar.name || strcmp(ar.name, "__gc") != 0)
    luaL_error(L, "__gc is the garbage collector's: close the object instead");
#endif
  return lua_touserdata(L, 1);
}

/* alua__newclass and alua__newclass_self: `self` says whether the methods
 * also get the metatable as their second upvalue. */
static void newclass(lua_State *L, rt *r, const char *name, const luaL_Reg *l, int self) {
  if (luaL_getmetatable(L, name) == LUA_TNIL) {
    /* as luaL_newmetatable, sized for the methods and the few fields every
     * class adds (__name, __index, tags): no rehash while it is filled */
    int n = 0;
    while (l[n].name) n++;
    lua_pop(L, 1);
    lua_createtable(L, 0, n + 6);
    lua_pushstring(L, name);
    lua_setfield(L, -2, "__name");
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, name);
  }
  lua_pushlightuserdata(L, r);
  if (self) lua_pushvalue(L, -2);
  luaL_setfuncs(L, l, self ? 2 : 1);
  lua_pushvalue(L, -1);
  lua_setfield(L, -2, "__index");
}

void alua__newclass(lua_State *L, rt *r, const char *name, const luaL_Reg *l) { newclass(L, r, name, l, 0); }

void alua__newclass_self(lua_State *L, rt *r, const char *name, const luaL_Reg *l) { newclass(L, r, name, l, 1); }

/* Message handler of alua__pcall_traced: wraps the error with a traceback
 * that stops where the callback was called from C (the loop's own frames
 * below it say nothing about the error). */
static int traced_handler(lua_State *L) {
  lua_createtable(L, 2, 0);
  lua_pushvalue(L, 1);
  lua_rawseti(L, -2, 1);
  alua__push_traceback(L, L, 1);
  lua_rawseti(L, -2, 2);
  return 1;
}

int alua__pcall_handled(lua_State *L, int nargs, int nres, lua_CFunction handler) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, handler);
  lua_insert(L, base);
  int status = lua_pcall(L, nargs, nres, base);
  lua_remove(L, base);
  return status;
}

int alua__pcall_traced(lua_State *L, int nargs, int nres) {
  int status = alua__pcall_handled(L, nargs, nres, traced_handler);
  if (status == LUA_ERRRUN) {
    /* runtime errors always went through the handler */
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    lua_remove(L, -3);
  } else if (status != LUA_OK) {
    lua_pushnil(L);
  }
  return status;
}

void alua__run_lib(lua_State *L, const char *name, int module, int internals) {
  for (const alua__embedded_file *f = alua__embedded_files; f->name; f++) {
    if (strcmp(f->name, name) != 0) continue;
    /* bytecode made at build time; its chunk name is "=[asyncio NAME]" */
    if (luaL_loadbufferx(L, f->source, f->len, name, "b") != LUA_OK) lua_error(L);
    lua_pushvalue(L, module);
    lua_pushvalue(L, internals);
    lua_call(L, 2, 0);
    return;
  }
  luaL_error(L, "asyncio: library file '%s' is missing from the build", name);
}

/* The runtime is collected with its state: alua_interrupt and alua_post
 * must stop finding it then (the state is closing without alua_close, or
 * alua_close has come this far). */
static int rt_gc(lua_State *L) {
  rt *r = lua_touserdata(L, 1);
  r->closing = 1;
  alua__interrupt_unregister(r);
  alua__aw_close(L, r);
  alua__hub_gc(r);
  return 0;
}

static rt *get_rt(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, RT_KEY) == LUA_TUSERDATA) {
    rt *r = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return r;
  }
  lua_pop(L, 1);
  rt *r = lua_newuserdatauv(L, sizeof *r, 0);
  memset(r, 0, sizeof *r);
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  r->main = lua_tothread(L, -1);
  lua_pop(L, 1);
  r->lazy_limit = 32;
  r->ref_default_loop = r->ref_errors = r->ref_wrap = r->ref_chain = r->ref_leftovers = r->ref_main = LUA_NOREF;
  r->ref_main_deadlock = LUA_NOREF;
  r->sigint_token = -1;
  r->ref_mt_task = r->ref_mt_coro_done = r->ref_mt_coro_tracked = LUA_NOREF;
  ac_list_init(&r->loops);
  r->thread = pthread_self();
  ac_list_init(&r->awops);
  const char *dbg = getenv("ALUA_DEBUG");
  r->debug = dbg && *dbg && strcmp(dbg, "0") != 0;
  alua__hub_open(L, r);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, rt_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, RT_KEY);
  alua__interrupt_register(r->main, r);
  return r;
}

ALUA_API int alua_option(lua_State *L, int option, int value) {
  rt *r = alua__rt_state(L);
  if (!r) return -1;
  int *field;
  switch (option) {
  case ALUA_OPT_VIRTUAL_TIME: field = &r->virtual_time; break;
  case ALUA_OPT_REPORT_AT_ONCE: field = &r->report_at_once; break;
  case ALUA_OPT_SIGQUIT: field = &r->sigquit; break;
  default: return -1;
  }
  int old = *field;
  if (value < 0) return old;
  *field = value != 0;
  if (option == ALUA_OPT_SIGQUIT && *field != old) {
    /* Ctrl+\ needs nothing of the module made */
    if (*field) alua__observe_sigquit(L);
    else alua__observe_sigquit_remove();
  }
  return old;
}

/* The module's base, the first part made on first use (lazy.c): the error
 * classes every program may meet, then the C types, the checks of option
 * tables, then await and run. These are its openers. */
static void open_errors_lib(lua_State *L, rt *r, int module, int internals) {
  (void)r;
  alua__run_lib(L, "asyncio.errors", module, internals);
}

static void open_options_lib(lua_State *L, rt *r, int module, int internals) {
  (void)r;
  alua__run_lib(L, "asyncio.options", module, internals);
}

static void open_loaders(lua_State *L, rt *r, int module, int internals) {
  (void)internals;
  static const luaL_Reg loaders[] = {
      {"load", alua__lua_load},
      {"loadfile", alua__lua_loadfile},
      {"translate", alua__lua_translate},
      {"install_loaders", alua__lua_install_loaders},
      {NULL, NULL}};
  alua__setfuncs_at(L, r, module, loaders);
}

static void open_core_lib(lua_State *L, rt *r, int module, int internals) {
  alua__run_lib(L, "asyncio.core", module, internals);
  lua_getfield(L, internals, "wrap");
  r->ref_wrap = luaL_ref(L, LUA_REGISTRYINDEX);
}

const alua__opener alua__base_openers[] = {
    open_errors_lib,
    alua__open_errors,
    alua__open_sites,
    alua__open_forgotten,
    alua__open_coro,
    alua__open_future,
    alua__open_task,
    alua__open_loop,
    alua__open_leftovers,
    alua__open_report,
    alua__open_handle,
    alua__open_signals,
    alua__open_watch,
    alua__open_worker,
    alua__open_debug,
    alua__open_await,
    alua__open_interrupt,
    alua__open_observe,
    open_loaders,
    open_options_lib,
    open_core_lib,
    NULL,
};

/* Opening the module makes only its tables: every part of it, the base
 * included, is made when one of its names is first looked up (lazy.c), so
 * a program that never uses asyncio does not pay for it. */
LUAMOD_API int luaopen_asyncio(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, "alua.module") == LUA_TTABLE) {
    /* the string library may have been opened since: its metatable is new */
    alua__install_prelude(L, -1);
    return 1;
  }
  lua_pop(L, 1);
  rt *r = get_rt(L);
  /* sized for the base (no rehash while it is made) */
  lua_createtable(L, 0, 128); /* module */
  lua_createtable(L, 0, 32);  /* internals shared with the Lua library */
  lua_createtable(L, 0, 8);   /* error classes by name (errors.lua) */
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "errors");
  lua_pushvalue(L, -1);
  r->ref_errors = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_setfield(L, LUA_REGISTRYINDEX, "alua.errors");
  lua_setfield(L, LUA_REGISTRYINDEX, "alua.internals");
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, "alua.module");
  alua__lazy_install(L, r);
  alua__install_prelude(L, -1);
  return 1;
}
