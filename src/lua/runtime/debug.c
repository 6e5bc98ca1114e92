/* Debug mode (loop:set_debug(true), ALUA_DEBUG=1, asyncio.run(main, {debug =
 * true})): warnings about callbacks and task steps that hold the loop for
 * SLOW_NS or longer, and the creation sites of tasks, coroutine objects and
 * handles, which descriptions and never-awaited warnings then show. Nothing
 * here costs anything while debug mode is off: callers test lp->debug (or
 * alua__debug_coros) first. */
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "lua/internal.h"
#include "lua/observe/observe.h"

/* A callback or step this long is reported (asyncio's slow_callback_duration). */
#define SLOW_NS 100000000u

/* Registry key of the weak-keyed table {[object] = "file:line"}. Weak keys
 * keep an entry until the collection after the object's finalizer ran, so a
 * __gc (the never-awaited warning) can still read it. */
static const char sites_key = 0;

int alua__debug_coros(rt *r) { return r->debug || (r->running && r->running->debug); }

void alua__debug_record(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  lua_Debug ar;
  if (!alua__user_frame(L, 0, &ar)) return;
  alua__push_weaktable(L, &sites_key, "k");
  lua_pushvalue(L, idx);
  lua_pushfstring(L, "%s:%d", ar.short_src, ar.currentline);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

int alua__debug_push_site(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &sites_key) != LUA_TTABLE) {
    lua_pop(L, 1);
    return 0;
  }
  lua_pushvalue(L, idx);
  if (lua_rawget(L, -2) != LUA_TSTRING) {
    lua_pop(L, 2);
    return 0;
  }
  lua_remove(L, -2);
  return 1;
}

void alua__debug_add_site(lua_State *L, luaL_Buffer *b, int idx) {
  if (!alua__debug_push_site(L, idx)) return;
  lua_pushfstring(L, " created at %s", lua_tostring(L, -1));
  lua_remove(L, -2);
  luaL_addvalue(b);
}

/* Protected part of alua__debug_slow: value at 1, seconds at 2. */
static int warn_slow(lua_State *L) {
  if (lua_type(L, 1) == LUA_TFUNCTION) alua__push_callable_desc(L, 1);
  else luaL_tolstring(L, 1, NULL);
  fprintf(stderr, "Executing %s took %.3f seconds\n", lua_tostring(L, -1), (double)lua_tonumber(L, 2));
  fflush(stderr);
  return 0;
}

void alua__debug_slow(lua_State *L, lloop *lp, int idx, uint64_t start) {
  uint64_t took = ac_clock_ns() - start;
  if (took < SLOW_NS) return;
  idx = lua_absindex(L, idx);
  lua_pushcfunction(L, warn_slow);
  lua_pushvalue(L, idx);
  lua_pushnumber(L, (lua_Number)took / 1e9);
  if (lua_pcall(L, 2, 0, 0) != LUA_OK) lua_pop(L, 1);
}

static int l_set_debug(lua_State *L) {
  lloop *lp = alua__checkloop(L, 1);
  luaL_checkany(L, 2);
  lp->debug = lua_toboolean(L, 2);
  alua__observe_update(lp);
  return 0;
}

static int l_get_debug(lua_State *L) { return alua__retbool(L, alua__checkloop(L, 1)->debug); }

void alua__open_debug(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg loop_methods[] = {{"set_debug", l_set_debug}, {"get_debug", l_get_debug}, {NULL, NULL}};
  alua__addmethods(L, r, MT_LOOP, loop_methods);
}
