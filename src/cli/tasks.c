/* What happens after the main chunk: pending tasks finish (as in Node). */
#include "alua.h"
#include "cli/cli.h"

int cli_finish_tasks(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, "alua.internals") != LUA_TTABLE) {
    lua_pop(L, 1);
    return LUA_OK;
  }
  lua_getfield(L, -1, "finish_tasks");
  lua_remove(L, -2);
  return cli_docall(L, 0, 0);
}
