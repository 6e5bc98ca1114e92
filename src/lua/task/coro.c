/* Coroutine objects: calling an async function returns one; its body runs
 * only when it is awaited (inline, in the awaiting task) or wrapped in a task.
 * Uservalue 1 is the async function that made it (whose upvalues hold the
 * function and its name: one slot for both), or for the object a task
 * makes of a plain function, that function; 2.. are the arguments. */
#include <stdio.h>

#include "lua/internal.h"

enum { CORO_UV_FN = 1, CORO_UV_ARGS };

/* Upvalues of an async function (coro_call): ASYNC_HOLDER holds the last
 * coroutine object made (forgotten.c). */
enum { ASYNC_RT = 1, ASYNC_FN, ASYNC_NAME, ASYNC_MT, ASYNC_HOLDER, ASYNC_SELF, ASYNC_NUP = ASYNC_SELF };

static int coro_call(lua_State *L);

/* Marks both coroutine metatables (see alua__coro_consume). */
static const char coro_key = 0;

/* Registry field of the weak-keyed table {[function] = name} of the
 * functions made async with a name: the name of a started task's body. */
static const char names_key = 0;

#define MT_CORO_DONE MT_CORO " (done)"
#define MT_CORO_TRACKED MT_CORO " (tracked)"

coro *alua__tocoro(lua_State *L, int idx) { return alua__tomarked(L, idx, &coro_key); }

/* Pushes the function of the coroutine object at idx. */
static void push_fn_of(lua_State *L, int idx) {
  lua_getiuservalue(L, idx, CORO_UV_FN);
  if (lua_tocfunction(L, -1) == coro_call) {
    lua_getupvalue(L, -1, ASYNC_FN);
    lua_replace(L, -2);
  }
}

/* Pushes the function and the nargs arguments of the coroutine object at
 * idx (absolute); the caller has checked the stack. */
static void push_args(lua_State *L, int idx, int nargs) {
  push_fn_of(L, idx);
  for (int i = 0; i < nargs; i++) lua_getiuservalue(L, idx, CORO_UV_ARGS + i);
}

static coro *checkcoro(lua_State *L, int idx) {
  coro *c = alua__tocoro(L, idx);
  if (!c) luaL_typeerror(L, idx, "coroutine");
  return c;
}

/* Why three metatables: the never-awaited warning needs __gc, and every
 * finalizer costs the collector (an object that has one lives a cycle
 * more). A fresh object has none: like a sleep (forgotten.c), it is held
 * until the next is made, then kept in a nursery until the pass ends, and
 * only one still not taken then gets the twin with __gc (tracked); one
 * made while no loop runs gets it at once. Once
 * awaited or wrapped in a task, an object switches to the one for done
 * objects (still no __gc). */
void alua__coro_consume(lua_State *L, rt *r, int idx) {
  coro *c = lua_touserdata(L, idx);
  if (c->consumed) return;
  c->consumed = 1;
  alua__aw_taken(r, &c->aw);
  idx = lua_absindex(L, idx);
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_mt_coro_done);
  lua_setmetatable(L, idx);
}

/* Pushes a new coroutine object: metatable at mtidx, the async function or
 * plain function at fnidx, `nargs` arguments starting at argidx. */
static coro *build(lua_State *L, int mtidx, int fnidx, int argidx, int nargs) {
  coro *c = lua_newuserdatauv(L, sizeof *c, nargs + 1);
  c->aw.pending = 0;
  c->aw.site = 0;
  c->nargs = nargs;
  c->consumed = 0;
  lua_pushvalue(L, mtidx);
  lua_setmetatable(L, -2);
  lua_pushvalue(L, fnidx);
  lua_setiuservalue(L, -2, CORO_UV_FN);
  for (int i = 0; i < nargs; i++) {
    lua_pushvalue(L, argidx + i);
    lua_setiuservalue(L, -2, CORO_UV_ARGS + i);
  }
  return c;
}

/* The function an async function is: upvalues ASYNC_*. */
static int coro_call(lua_State *L) {
  int n = lua_gettop(L);
  rt *r = alua__rt(L);
  coro *c = build(L, lua_upvalueindex(ASYNC_MT), lua_upvalueindex(ASYNC_SELF), 1, n);
  alua__aw_made(L, r, &c->aw);
  /* no pass end comes while no loop runs: then the finalizer at once */
  if (r->running) alua__aw_nurse_coro(L, r, &c->aw, lua_upvalueindex(ASYNC_HOLDER));
  else alua__coro_track(L, r, -1);
  if (alua__debug_coros(r)) alua__debug_record(L, -1);
  return 1;
}

/* asyncio.async(fn [, name]): the async function whose calls make coroutine
 * objects. */
static int l_async(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TSTRING);
  lua_settop(L, 2);
  if (lua_isstring(L, 2)) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &names_key);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_rawset(L, -3);
    lua_pop(L, 1);
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  luaL_getmetatable(L, MT_CORO);
  lua_rawgeti(L, LUA_REGISTRYINDEX, alua__rt(L)->ref_last_coro);
  lua_pushnil(L);
  lua_pushcclosure(L, coro_call, ASYNC_NUP);
  /* itself, for the objects it makes */
  lua_pushvalue(L, -1);
  lua_setupvalue(L, -2, ASYNC_SELF);
  return 1;
}

/* asyncio.iscoroutinefunction(f) */
static int l_iscoroutinefunction(lua_State *L) { return alua__retbool(L, lua_tocfunction(L, 1) == coro_call); }

/* asyncio.iscoroutine(x) */
static int l_iscoroutine(lua_State *L) { return alua__retbool(L, alua__tocoro(L, 1) != NULL); }

int alua__coro_push_call(lua_State *L, int idx) {
  coro *c = lua_touserdata(L, idx);
  luaL_checkstack(L, c->nargs + 2, "too many arguments");
  push_args(L, lua_absindex(L, idx), c->nargs);
  return c->nargs;
}

/* Pushes the function of the coroutine (or the function) at idx. */
static void pushfn(lua_State *L, int idx) {
  if (lua_isfunction(L, idx)) lua_pushvalue(L, idx);
  else push_fn_of(L, idx);
}

/* Pushes the coroutine's name, or its function's definition site. */
static void pushname(lua_State *L, int idx) {
  if (lua_isfunction(L, idx)) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &names_key);
    lua_pushvalue(L, idx);
    lua_rawget(L, -2);
    lua_remove(L, -2);
  } else if (lua_getiuservalue(L, idx, CORO_UV_FN) == LUA_TFUNCTION && lua_tocfunction(L, -1) == coro_call) {
    lua_getupvalue(L, -1, ASYNC_NAME);
    lua_remove(L, -2);
  } else {
    /* an object get_coro() made for a task holds the body's function: its
     * name, if async() gave it one */
    lua_rawgetp(L, LUA_REGISTRYINDEX, &names_key);
    lua_insert(L, -2);
    lua_rawget(L, -2);
    lua_remove(L, -2);
  }
  if (lua_type(L, -1) == LUA_TSTRING) return;
  lua_pop(L, 1);
  lua_Debug ar;
  pushfn(L, idx);
  lua_getinfo(L, ">S", &ar);
  lua_pushfstring(L, "function <%s:%d>", ar.short_src, ar.linedefined);
}

static void pushsite(lua_State *L, int idx) {
  lua_Debug ar;
  pushfn(L, idx);
  lua_getinfo(L, ">S", &ar);
  lua_pushfstring(L, "%s:%d", ar.short_src, ar.linedefined);
}

/* The never-awaited warning (SPEC 2.1): "coroutine 'f' created at
 * x.lua:12 was never awaited" (where it was defined when the creation site
 * is unknown). */
static int coro_gc(lua_State *L) {
  alua__gc_self(L);
  alua__coro_warn(L, alua__rt(L), 1);
  return 0;
}

void alua__coro_track(lua_State *L, rt *r, int idx) {
  idx = lua_absindex(L, idx);
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_mt_coro_tracked);
  lua_setmetatable(L, idx);
}

void alua__coro_warn(lua_State *L, rt *r, int idx) {
  coro *c = lua_touserdata(L, idx);
  if (c->consumed) return;
  c->consumed = 1; /* warned once */
  idx = lua_absindex(L, idx);
  int top = lua_gettop(L);
  pushname(L, idx);
  if (c->aw.site) {
    alua__push_site(L, r, c->aw.site);
    fprintf(stderr, "coroutine '%s' created at %s was never awaited\n", lua_tostring(L, -2), lua_tostring(L, -1));
  } else {
    pushsite(L, idx);
    fprintf(stderr, "coroutine '%s' (defined at %s) was never awaited\n", lua_tostring(L, -2), lua_tostring(L, -1));
  }
  fflush(stderr);
  lua_settop(L, top);
}

static int coro_tostring(lua_State *L) {
  checkcoro(L, 1);
  pushname(L, 1);
  lua_pushfstring(L, "<coroutine object '%s' at %p>", lua_tostring(L, -1), lua_topointer(L, 1));
  return 1;
}

/* Task creation and tracebacks use these through the internals table. */
static int l_coro_name(lua_State *L) {
  checkcoro(L, 1);
  pushname(L, 1);
  return 1;
}

/* c:close(): marks a coroutine object as dealt with, silencing the warning. */
static int coro_close(lua_State *L) {
  checkcoro(L, 1);
  alua__coro_consume(L, alua__rt(L), 1);
  return 0;
}

void alua__open_coro(lua_State *L, rt *r, int module, int internals) {
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &names_key);
  static const luaL_Reg methods[] = {{"__tostring", coro_tostring}, {"close", coro_close}, {NULL, NULL}};
  static const char *const names[] = {MT_CORO_DONE, MT_CORO_TRACKED, MT_CORO};
  for (int i = 0; i < 3; i++) {
    alua__newclass(L, r, names[i], methods);
    lua_pushliteral(L, "coroutine");
    lua_setfield(L, -2, "__name");
    lua_pushboolean(L, 1);
    lua_rawsetp(L, -2, &coro_key);
    /* a consumed one goes to the C await, which reports the reuse */
    alua__tag_awaitable(L, i == 0 ? "c" : "coro");
    r->mt_coro[i] = lua_topointer(L, -1);
    r->nmt_coro = i + 1;
    if (i == 1) {
      lua_pushlightuserdata(L, r);
      lua_pushcclosure(L, coro_gc, 1);
      lua_setfield(L, -2, "__gc");
    }
    if (i < 2) {
      int ref = luaL_ref(L, LUA_REGISTRYINDEX);
      if (i == 0) r->ref_mt_coro_done = ref;
      else r->ref_mt_coro_tracked = ref;
    }
  }
  lua_setfield(L, internals, "CORO");

  static const luaL_Reg funcs[] = {{"async", l_async},
                                   {"iscoroutinefunction", l_iscoroutinefunction},
                                   {"iscoroutine", l_iscoroutine},
                                   {NULL, NULL}};
  alua__setfuncs_at(L, r, module, funcs);
  static const luaL_Reg internal[] = {{"coro_name", l_coro_name}, {NULL, NULL}};
  alua__setfuncs_at(L, r, internals, internal);
}

/* Used by get_coro(): pushes a coroutine object for the function at fnidx
 * and nargs arguments after it, already consumed (it belongs to the task). */
coro *alua__newcoro_for_task(lua_State *L, int fnidx, int nargs) {
  luaL_getmetatable(L, MT_CORO_DONE);
  coro *c = build(L, lua_gettop(L), fnidx, fnidx + 1, nargs);
  c->consumed = 1;
  lua_remove(L, -2);
  return c;
}

/* Pushes the function and arguments of c (at idx) onto `to`; returns the
 * number of arguments. */
int alua__coro_push_body(lua_State *L, int idx, lua_State *to) {
  coro *c = lua_touserdata(L, idx);
  /* raised on L: `to` runs nothing that could catch it */
  if (!lua_checkstack(to, c->nargs + 2)) luaL_error(L, "stack overflow (too many arguments)");
  luaL_checkstack(L, c->nargs + 2, "too many arguments");
  push_args(L, idx, c->nargs);
  lua_xmove(L, to, c->nargs + 1);
  return c->nargs;
}

/* Pushes the name of c (at idx) for task names and tostring. */
void alua__coro_pushname(lua_State *L, int idx) { pushname(L, lua_absindex(L, idx)); }

void alua__coro_pushsite(lua_State *L, int idx) { pushsite(L, lua_absindex(L, idx)); }

int alua__iscoroutinefunction(lua_State *L, int idx) { return lua_tocfunction(L, idx) == coro_call; }
