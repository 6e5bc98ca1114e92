/* What happens around the main chunk: Ctrl+\ and recording (--trace,
 * --timeline) set up before it; after it, pending tasks finish (as in
 * Node), then the recording is written out. Only alua.h and asyncio's own
 * Lua API (asyncio.trace) are used. */
#include <string.h>

#include "alua.h"
#include "cli/cli.h"

/* What the command line asked to record: 0, 't' (--trace) or 'l'
 * (--timeline). */
static int recording;

/* Pushes asyncio.trace[name] (from package.loaded: the global may have been
 * replaced); returns 0 when asyncio is not there. */
static int push_trace_fn(lua_State *L, const char *name) {
  int top = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, "asyncio") != LUA_TTABLE || lua_getfield(L, -1, "trace") != LUA_TTABLE) {
    lua_settop(L, top);
    return 0;
  }
  lua_getfield(L, -1, name);
  lua_replace(L, -4);
  lua_pop(L, 2);
  return 1;
}

int cli_observe_start(lua_State *L, char **argv, int script) {
  alua_option(L, ALUA_OPT_SIGQUIT, 1);
  for (int i = 1; i < script; i++) {
    const char *what = strcmp(argv[i], "--trace") == 0 ? "trace" : strcmp(argv[i], "--timeline") == 0 ? "timeline" : NULL;
    if (strcmp(argv[i], "--") == 0) break;
    /* the arguments of -e, -l and --translate are not options */
    if ((strcmp(argv[i], "-e") == 0 || strcmp(argv[i], "-l") == 0 || strcmp(argv[i], "--translate") == 0) &&
        i + 1 < script)
      i++;
    if (!what) continue;
    if (!push_trace_fn(L, "start")) return LUA_OK;
    if (what[1] == 'r') lua_pushstring(L, argv[++i]);
    else lua_pushnil(L);
    int status = cli_docall(L, 1, 0);
    if (status != LUA_OK) return status;
    recording = what[1] == 'r' ? 't' : 'l';
  }
  return LUA_OK;
}

/* Protected part of cli_observe_finish. */
static int observe_finish(lua_State *L) {
  /* the program may have stopped it itself */
  if (!push_trace_fn(L, "is_recording")) return 0;
  lua_call(L, 0, 1);
  if (!lua_toboolean(L, -1) || !push_trace_fn(L, "stop")) return 0;
  lua_call(L, 0, 1);
  if (recording == 'l') {
    /* the timeline goes to stderr, below what the program printed */
    fflush(stdout);
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    fflush(stderr);
  }
  return 0;
}

/* Called outside any protected call: even the lookup may run out of memory. */
int cli_observe_finish(lua_State *L) {
  if (!recording) return LUA_OK;
  lua_pushcfunction(L, observe_finish);
  int status = lua_pcall(L, 0, 0, 0);
  recording = 0;
  return status;
}

int cli_finish_tasks(lua_State *L) { return alua_finish(L); }
