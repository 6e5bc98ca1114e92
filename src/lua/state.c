/* alua_newstate / alua_openlibs: a state set up as the alua program has it. */
#include <lualib.h>

#include "alua.h"
#include "load.h"

void alua_openlibs(lua_State *L) {
  luaL_requiref(L, "asyncio", luaopen_asyncio, 1);
  lua_pop(L, 1);
  alua_install_loaders(L);
}

static int open_all(lua_State *L) {
  luaL_openlibs(L);
  alua_openlibs(L);
  return 0;
}

lua_State *alua_newstate(void) {
  lua_State *L = luaL_newstate();
  if (!L) return NULL;
  lua_pushcfunction(L, open_all);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
    lua_close(L);
    return NULL;
  }
  return L;
}
