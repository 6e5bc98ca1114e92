/* The per-state runtime and luaopen_asyncio: builds the module from the C
 * types and the Lua library compiled into the binary. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "alua.h"
#include "lua/internal.h"
#include "lua/io/io.h"
#include "lua/observe/observe.h"
#include "lua/runtime/load.h"
#include "lua/runtime/program.h"
#include "lua/runtime/embedded.h"

#define RT_KEY "alua.rt"

rt *alua__rt(lua_State *L) { return (rt *)lua_touserdata(L, lua_upvalueindex(1)); }

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

void alua__newclass(lua_State *L, rt *r, const char *name, const luaL_Reg *l) {
  luaL_newmetatable(L, name);
  alua__setfuncs(L, r, l);
  lua_pushvalue(L, -1);
  lua_setfield(L, -2, "__index");
}

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

int alua__pcall_traced(lua_State *L, int nargs, int nres) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, traced_handler);
  lua_insert(L, base);
  int status = lua_pcall(L, nargs, nres, base);
  lua_remove(L, base);
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

/* Runs the embedded library file `name` with (module, internals) on the stack
 * at module and internals. */
static void run_lib(lua_State *L, const char *name, int module, int internals) {
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

/* The runtime is collected with its state: alua_interrupt must stop
 * finding it then. */
static int rt_gc(lua_State *L) {
  rt *r = lua_touserdata(L, 1);
  alua__interrupt_unregister(r);
  alua__aw_close(L, r);
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
  r->ref_default_loop = r->ref_errors = r->ref_wrap = r->ref_chain = r->ref_leftovers = r->ref_main = LUA_NOREF;
  r->ref_mt_task = r->ref_mt_coro_done = LUA_NOREF;
  ac_list_init(&r->loops);
  r->thread = pthread_self();
  ac_list_init(&r->awops);
  const char *dbg = getenv("ALUA_DEBUG");
  r->debug = dbg && *dbg && strcmp(dbg, "0") != 0;
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, rt_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, RT_KEY);
  alua__interrupt_register(r->main, r);
  return r;
}

void alua__set_virtual_time(lua_State *L, int on) { get_rt(L)->virtual_time = on != 0; }

/* The library files in the order they run; each may use what the earlier
 * ones defined. asyncio.errors runs first, before the C types. (Those of
 * lazy_libs below run on first use.) */
static const char *const lib_order[] = {
    "asyncio.errors",
    "asyncio.options",
    "asyncio.core",
    "asyncio.executor",
    "asyncio.sync",
    "asyncio.timeouts",
    "asyncio.wait",
    "asyncio.taskgroup",
    "asyncio.streams",
    "asyncio.subprocess",
    "asyncio.observe",
    NULL,
};

/* The C parts of the module, opened in this order with (module, internals). */
static void (*const openers[])(lua_State *L, rt *r, int module, int internals) = {
    alua__open_errors,
    alua__open_sites,
    alua__open_forgotten,
    alua__open_coro,
    alua__open_future,
    alua__open_task,
    alua__open_gather,
    alua__open_loop,
    alua__open_leftovers,
    alua__open_report,
    alua__open_handle,
    alua__open_signals,
    alua__open_watch,
    alua__open_worker,
    alua__open_debug,
    alua__open_await,
    alua__open_queue,
    alua__open_lock,
    alua__open_event,
    alua__open_interrupt,
    alua__open_addr,
    alua__open_socket,
    alua__open_stream,
    alua__open_server,
    alua__open_udp,
    alua__open_process,
    alua__open_file,
    alua__open_dns,
    alua__open_tls,
    alua__open_observe,
    alua__open_record,
    NULL,
};

/* Parts of the module made on first use: the field, the C part to open
 * and the library file that sets the field. Few programs use them, and
 * making them would cost every program's start-up (asyncio.http: a
 * seventh of `alua -e ''`). */
static const struct {
  const char *field, *lib;
  void (*open)(lua_State *L, rt *r, int module, int internals);
} lazy_libs[] = {{"http", "asyncio.http", alua__open_http}, {NULL, NULL, NULL}};

/* __index of the module table (upvalue 1: the runtime, 2: the internals):
 * makes a lazy field, then returns it. */
static int lazy_index(lua_State *L) {
  if (lua_type(L, 2) != LUA_TSTRING) return 0;
  const char *k = lua_tostring(L, 2);
  for (int i = 0; lazy_libs[i].field; i++) {
    if (strcmp(k, lazy_libs[i].field) != 0) continue;
    lua_pushvalue(L, lua_upvalueindex(2));
    int internals = lua_gettop(L);
    if (lazy_libs[i].open) lazy_libs[i].open(L, alua__rt(L), 1, internals);
    run_lib(L, lazy_libs[i].lib, 1, internals);
    lua_pushvalue(L, 2);
    lua_rawget(L, 1);
    return 1;
  }
  return 0;
}

LUAMOD_API int luaopen_asyncio(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, "alua.module") == LUA_TTABLE) return 1;
  lua_pop(L, 1);
  rt *r = get_rt(L);
  /* Why stop the collector: building the module makes only live objects,
   * and a cycle in the middle of it would walk all of them for nothing
   * (a tenth of alua's start-up). */
  int collecting = lua_gc(L, LUA_GCISRUNNING);
  lua_gc(L, LUA_GCSTOP);
  lua_newtable(L); /* module */
  int module = lua_gettop(L);
  lua_newtable(L); /* internals shared with the Lua library */
  int internals = lua_gettop(L);

  run_lib(L, "asyncio.errors", module, internals);
  lua_getfield(L, internals, "errors");
  r->ref_errors = luaL_ref(L, LUA_REGISTRYINDEX);

  for (int i = 0; openers[i]; i++) openers[i](L, r, module, internals);

  static const luaL_Reg loaders[] = {
      {"load", alua__lua_load}, {"loadfile", alua__lua_loadfile}, {"translate", alua__lua_translate}, {NULL, NULL}};
  alua__setfuncs_at(L, r, module, loaders);

  for (const char *const *name = lib_order + 1; *name; name++) run_lib(L, *name, module, internals);
  lua_createtable(L, 0, 1);
  lua_pushlightuserdata(L, r);
  lua_pushvalue(L, internals);
  lua_pushcclosure(L, lazy_index, 2);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, module);

  lua_getfield(L, internals, "wrap");
  r->ref_wrap = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushvalue(L, module);
  lua_setfield(L, LUA_REGISTRYINDEX, "alua.module");
  lua_pushvalue(L, internals);
  lua_setfield(L, LUA_REGISTRYINDEX, "alua.internals");
  lua_pop(L, 1); /* internals */
  if (collecting) lua_gc(L, LUA_GCRESTART);
  return 1;
}
