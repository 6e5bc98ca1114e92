/* Option tables: the one reader that checks them (SPEC 2.8). Every option
 * table of the API takes only the names its function knows; a misspelt
 * one is an error naming it and the function, never silently ignored. The
 * Lua library has the same check in lib/asyncio/options.lua. */
#include <string.h>

#include "lua/internal.h"

/* Appends "a, b, c" (the names of `known`) to b. */
static void add_names(luaL_Buffer *b, const char *const *known) {
  for (int i = 0; known[i]; i++) {
    if (i) luaL_addstring(b, ", ");
    luaL_addstring(b, known[i]);
  }
}

void alua__check_options(lua_State *L, int idx, int argn, const char *fname, const char *const *known) {
  if (lua_isnoneornil(L, idx)) return;
  idx = lua_absindex(L, idx);
  if (!lua_istable(L, idx))
    alua__user_argerror(L, argn, fname, "option table expected, got %s", luaL_typename(L, idx));
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    int i = 0;
    if (k)
      while (known[i] && strcmp(known[i], k) != 0) i++;
    if (!k || !known[i]) {
      luaL_Buffer b;
      luaL_buffinit(L, &b);
      if (k) {
        lua_pushfstring(L, "bad option '%s' to '%s' (unknown option; ", k, fname);
      } else {
        lua_pushfstring(L, "bad option table to '%s' (%s key; ", fname, luaL_typename(L, -2));
      }
      luaL_addvalue(&b);
      luaL_addstring(&b, known[0] ? "options are " : "it takes none");
      add_names(&b, known);
      luaL_addchar(&b, ')');
      luaL_pushresult(&b);
      alua__user_error(L, "%s", lua_tostring(L, -1));
    }
  }
}
