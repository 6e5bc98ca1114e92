/* The probe of peek.h's readers. */
#include "lua/runtime/peek.h"

int alua__peek_ok;

/* Compares each reader with the C API, for every argument; upvalue 1
 * points to the flag it sets on a difference, upvalue 2 is the first
 * argument. */
static int probe_fn(lua_State *L) {
  int *bad = lua_touserdata(L, lua_upvalueindex(1));
  if (alua__peek_upvalue1(L) != bad) *bad = 1;
  for (int i = 1; i <= lua_gettop(L); i++) {
    const void *want = NULL;
    if (lua_type(L, i) == LUA_TUSERDATA && !lua_islightuserdata(L, i) && lua_getmetatable(L, i)) {
      want = lua_topointer(L, -1);
      lua_pop(L, 1);
    }
    if (alua__peek_mt(L, i) != want) *bad = 1;
    if (alua__peek_is_upvalue(L, i, 2) != (i == 1)) *bad = 1;
  }
  return 0;
}

void alua__peek_probe(lua_State *L) {
  int bad = 0;
  lua_pushlightuserdata(L, &bad);
  lua_newuserdatauv(L, 8, 1);
  lua_newtable(L);
  lua_setmetatable(L, -2);
  lua_pushcclosure(L, probe_fn, 2);
  /* userdata with and without user values and metatables, a light
   * userdata, a table with a metatable, an integer */
  lua_getupvalue(L, -1, 2);
  for (int uv = 0; uv < 3; uv++) {
    lua_newuserdatauv(L, 8, uv);
    if (uv < 2) {
      lua_newtable(L);
      lua_setmetatable(L, -2);
    }
  }
  lua_pushlightuserdata(L, &bad);
  lua_newtable(L);
  lua_pushvalue(L, -1);
  lua_setmetatable(L, -2);
  lua_pushinteger(L, ALUA_PEEK_TAG_UDATA);
  if (lua_pcall(L, 7, 0, 0) != LUA_OK) {
    lua_pop(L, 1);
    return;
  }
  alua__peek_ok = bad ? -1 : 1;
}
