/* What happens around the main chunk: Ctrl+\ and recording (--trace,
 * --timeline) set up before it; after it, pending tasks finish (as in
 * Node), then the recording is written out. */
#include <string.h>

#include "alua.h"
#include "cli/cli.h"

/* Pushes internals[name]; returns 0 when the module is not open. */
static int push_internal(lua_State *L, const char *name) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, "alua.internals") != LUA_TTABLE) {
    lua_pop(L, 1);
    return 0;
  }
  lua_getfield(L, -1, name);
  lua_remove(L, -2);
  return 1;
}

int cli_observe_start(lua_State *L, char **argv, int script) {
  if (push_internal(L, "sigquit_install")) cli_docall(L, 0, 0);
  for (int i = 1; i < script; i++) {
    const char *what = strcmp(argv[i], "--trace") == 0 ? "trace" : strcmp(argv[i], "--timeline") == 0 ? "timeline" : NULL;
    if (strcmp(argv[i], "--") == 0) break;
    /* the arguments of -e, -l and --translate are not options */
    if ((strcmp(argv[i], "-e") == 0 || strcmp(argv[i], "-l") == 0 || strcmp(argv[i], "--translate") == 0) &&
        i + 1 < script)
      i++;
    if (!what) continue;
    if (!push_internal(L, "record_at_exit")) return LUA_OK;
    lua_pushstring(L, what);
    lua_pushstring(L, what[1] == 'r' ? argv[++i] : "");
    int status = cli_docall(L, 2, 0);
    if (status != LUA_OK) return status;
  }
  return LUA_OK;
}

/* A raw read: only a program that recorded (and so made the observe part of
 * the module) has anything to finish. */
static int observe_finish(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, "alua.internals") != LUA_TTABLE) return 0;
  lua_pushliteral(L, "record_finish");
  if (lua_rawget(L, -2) == LUA_TFUNCTION) lua_call(L, 0, 0);
  return 0;
}

/* Called outside any protected call: even the lookup may run out of memory. */
int cli_observe_finish(lua_State *L) {
  lua_pushcfunction(L, observe_finish);
  return lua_pcall(L, 0, 0, 0);
}

int cli_finish_tasks(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, "alua.internals") != LUA_TTABLE) {
    lua_pop(L, 1);
    return LUA_OK;
  }
  /* a raw read: a program that never used asyncio has no tasks (and the
   * module's base is not made) */
  lua_pushliteral(L, "finish_tasks");
  if (lua_rawget(L, -2) != LUA_TFUNCTION) {
    lua_pop(L, 2);
    return LUA_OK;
  }
  lua_remove(L, -2);
  /* its one error is the deadlock report, which needs no traceback */
  return lua_pcall(L, 0, 0, 0);
}
