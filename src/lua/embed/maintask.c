/* A main task on the host's loop (alua.h): alua_start starts a function as
 * the state's main task, the one an interrupt cancels (loop/interrupt.c),
 * and alua_result hands its outcome over once the host's steps have run
 * it. The interactive prompt runs each statement this way. */
#include <string.h>

#include "alua.h"
#include "lua/internal.h"
#include "lua/observe/observe.h"

/* Runs f protected with the nargs values on top; on error leaves the
 * message on top and returns its status. */
static int protect(lua_State *L, lua_CFunction f, int nargs, int nres) {
  lua_pushcfunction(L, f);
  lua_insert(L, -nargs - 1);
  return lua_pcall(L, nargs, nres, 0);
}

/* Protected part of alua_start: the function at 1 with its arguments
 * after it, then the runtime (light userdata) and the name (or nil).
 * Pushes the task. */
static int p_start(lua_State *L) {
  int n = lua_gettop(L);
  lua_rotate(L, 1, 2); /* 1 runtime, 2 name, 3 function, arguments */
  rt *r = lua_touserdata(L, 1);
  int named = !lua_isnil(L, 2);
  lloop *lp = alua__push_current_loop(L, r);
  lua_pop(L, 1);
  int id = r->next_task_id;
  alua__newtask(L, lp, 3, n - 3);
  if (named) {
    r->next_task_id = id; /* the tasks of Task-N keep their numbers */
    lua_pushvalue(L, 2);
    alua__task_set_extra(L, -2, "name");
  }
  return 1;
}

ALUA_API int alua_start(lua_State *L, int nargs, const char *name) {
  rt *r = alua__rt_state(L);
  if (!r || r->main_fut) {
    lua_pop(L, nargs + 1);
    lua_pushstring(L, r ? "a main task is already running" : "the asyncio module is not open");
    return -1;
  }
  lua_pushlightuserdata(L, r);
  if (name) lua_pushstring(L, name);
  else lua_pushnil(L);
  if (protect(L, p_start, nargs + 3, 1) != LUA_OK) return -1;
  alua__interrupt_claim(L, -1);
  lua_pop(L, 1); /* the claim keeps it */
  r->main_started = 1;
  return 0;
}

/* Removes the suffix s from the string on top when it ends with it. */
static void strip_suffix(lua_State *L, const char *s) {
  size_t len, n = strlen(s);
  const char *str = lua_tolstring(L, -1, &len);
  if (len >= n && memcmp(str + len - n, s, n) == 0) {
    lua_pushlstring(L, str, len - n);
    lua_remove(L, -2);
  }
}

/* Protected: the task at 1 is done; pushes its values, or raises. */
static int p_values(lua_State *L) { return alua__future_push_result(L, 1); }

/* Protected: pushes the report of the error at 1 (message, then the
 * traceback of each task it went through). An empty thread stands for the
 * stack of the code that awaited the main task: there is none. */
static int p_report(lua_State *L) {
  lua_State *none = lua_newthread(L);
  alua__push_error_report(L, 1, none, 0);
  strip_suffix(L, "\nawaited by the main chunk:");
  return 1;
}

/* Protected: cancels the task at 1 (no message). */
static int p_cancel(lua_State *L) {
  lua_settop(L, 1);
  lua_pushnil(L);
  lua_pushboolean(L, alua__future_cancel(L, 1));
  return 1;
}

/* Protected: pushes the deadlock report of the task at 1. */
static int p_deadlock(lua_State *L) {
  alua__push_deadlock_report(L, alua__tofuture(L, 1)->loop, 1);
  return 1;
}

ALUA_API int alua_result(lua_State *L, int nresults) {
  rt *r = alua__rt_state(L);
  if (!r || !r->main_started || !r->main_fut) return -1;
  future *f = r->main_fut;
  if (f->state == FUT_PENDING) {
    /* nothing can ever wake it: report why and cancel it, so that its
     * cleanup runs */
    if (r->ref_main_deadlock == LUA_NOREF && f->loop && alua__loop_stuck(f->loop)) {
      lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_main);
      if (protect(L, p_deadlock, 1, 1) != LUA_OK) {
        lua_pop(L, 1);
        return ALUA_RUNNING;
      }
      r->ref_main_deadlock = luaL_ref(L, LUA_REGISTRYINDEX);
      lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_main);
      protect(L, p_cancel, 1, 1);
      lua_pop(L, 1);
    }
    return ALUA_RUNNING;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_main);
  r->main_started = 0;
  int interrupted = alua__interrupt_unclaim(L);
  int deadlock = r->ref_main_deadlock;
  r->ref_main_deadlock = LUA_NOREF;
  if (deadlock != LUA_NOREF && f->state == FUT_CANCELLED) {
    lua_pop(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, deadlock);
    luaL_unref(L, LUA_REGISTRYINDEX, deadlock);
    return LUA_ERRRUN;
  }
  luaL_unref(L, LUA_REGISTRYINDEX, deadlock);
  if (f->state == FUT_CANCELLED && interrupted) {
    lua_pop(L, 1);
    lua_pushliteral(L, "KeyboardInterrupt");
    return ALUA_INTERRUPTED;
  }
  if (protect(L, p_values, 1, nresults) == LUA_OK) return LUA_OK;
  if (protect(L, p_report, 1, 1) != LUA_OK && !lua_isstring(L, -1)) {
    /* no memory for the report: the bare message */
    lua_pop(L, 1);
    lua_pushliteral(L, "(error object is not a string)");
  }
  return LUA_ERRRUN;
}
