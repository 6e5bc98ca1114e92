/* Operation objects, what every awaitable method shares.
 *
 * An operation object is what q:get(), lock:acquire(), ev:wait(),
 * process:wait(), writer:drain() and the like return: a small userdata
 * bound to its owner whose metatable carries the await hook (internal.h).
 * Owners make one of each kind (up front, or on first use with
 * alua__push_op) and return it every time, so asking for an operation
 * allocates nothing. */
#include <stddef.h>

#include "lua/internal.h"
#include "lua/runtime/site.h"

alua__op *alua__newop(lua_State *L, int idx, int kind, int nuv, const char *mt) {
  idx = lua_absindex(L, idx);
  alua__op *o = lua_newuserdatauv(L, sizeof *o, nuv);
  alua__awop_init(&o->awop, alua__rt_state(L));
  o->kind = (uint8_t)kind;
  o->armed = 0;
  o->on = lua_touserdata(L, idx);
  luaL_setmetatable(L, mt);
  lua_pushvalue(L, idx);
  lua_setiuservalue(L, -2, 1);
  return o;
}

/* Finalizer of every operation: one handed out and never awaited warns
 * (forgotten.c). Every operation's record starts with its alua__awop. */
static int op_gc(lua_State *L) {
  alua__awop_gone(L, alua__gc_self(L));
  return 0;
}

void *alua__op_await_begin(lua_State *L, task **t) {
  alua__op *o = lua_touserdata(L, 1);
  alua__awop_taken(&o->awop);
  *t = alua__current_task(L, o->awop.rt);
  lua_getiuservalue(L, 1, 1);
  return o->on;
}

int alua__push_op(lua_State *L, int idx, int uv, int onuv, int kind, const char *mt, const char *what) {
  idx = lua_absindex(L, idx);
  if (lua_getiuservalue(L, idx, uv) != LUA_TUSERDATA) {
    lua_pop(L, 1);
    if (onuv) lua_getiuservalue(L, idx, onuv);
    alua__newop(L, onuv ? -1 : idx, kind, 1, mt);
    if (onuv) lua_remove(L, -2);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, idx, uv);
  }
  alua__aw_handout_fast(L, lua_touserdata(L, -1), what);
  return 1;
}

/* __tostring of every operation: "<awaitable " .. prefix .. names[kind] ..
 * "()>", from upvalues 1 (the metatable name), 2 (prefix), 3 (names). */
static int op_tostring(lua_State *L) {
  /* every operation record starts as alua__op does: its awop, then kind */
  const uint8_t *o = luaL_checkudata(L, 1, lua_tostring(L, lua_upvalueindex(1)));
  const char *const *names = lua_touserdata(L, lua_upvalueindex(3));
  lua_pushfstring(L, "<awaitable %s%s()>", lua_tostring(L, lua_upvalueindex(2)), names[o[offsetof(alua__op, kind)]]);
  return 1;
}

void alua__newopclass(lua_State *L, rt *r, const char *name, lua_CFunction hook, const char *prefix,
                      const char *const *names) {
  const luaL_Reg methods[] = {{"__gc", op_gc}, {NULL, NULL}};
  alua__newclass(L, r, name, methods);
  lua_pushstring(L, name);
  lua_pushstring(L, prefix);
  lua_pushlightuserdata(L, (void *)names);
  lua_pushcclosure(L, op_tostring, 3);
  lua_setfield(L, -2, "__tostring");
  alua__set_await_hook(L, r, hook);
  alua__tag_awaitable(L, "c");
  lua_pop(L, 1);
}
