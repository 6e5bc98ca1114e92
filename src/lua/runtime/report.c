/* Exception reporting: what the loop does with an error nobody can raise
 * to anyone (a failed callback, a task or future whose error was never
 * retrieved, a failure during shutdown). Every report is a context table
 * (message, exception, traceback, task / future / handle) handed to the
 * loop's exception handler (set with loop:set_exception_handler, loop.c),
 * or to the default one, which writes it to stderr. Reporting never raises:
 * a failing handler is itself reported by the default one. The texts of
 * the tracebacks are traceback.c's. */
#include <stdio.h>
#include <string.h>

#include "lua/internal.h"

/* Writes the default report for the context table at ctx to stderr: the
 * message, then each of task, future, handle, exception and traceback that
 * is there, one a line. The pieces go on the stack and are joined once at
 * the end: a luaL_Buffer cannot take them, since each field's text is made
 * (by a __tostring, say) while the buffer would be under it. A message that
 * is not a string is shown as tostring shows it. */
static void default_report(lua_State *L, int ctx) {
  luaL_checkstack(L, 16, "report");
  int base = lua_gettop(L);
  if (lua_getfield(L, ctx, "message") == LUA_TNIL) {
    lua_pop(L, 1);
    lua_pushliteral(L, "Unhandled error in event loop");
  } else if (lua_type(L, -1) != LUA_TSTRING) {
    alua__push_tostring(L, -1);
    lua_remove(L, -2);
  }
  static const char *const fields[] = {"task", "future", "handle", "exception", NULL};
  for (const char *const *f = fields; *f; f++) {
    if (lua_getfield(L, ctx, *f) == LUA_TNIL) {
      lua_pop(L, 1);
      continue;
    }
    lua_pushfstring(L, "\n%s: ", strcmp(*f, "exception") == 0 ? "error" : *f);
    lua_insert(L, -2);
    alua__push_tostring(L, -1);
    lua_remove(L, -2);
  }
  if (lua_getfield(L, ctx, "traceback") == LUA_TSTRING) {
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
  } else {
    lua_pop(L, 1);
  }
  lua_pushliteral(L, "\n");
  lua_concat(L, lua_gettop(L) - base);
  fputs(lua_tostring(L, -1), stderr);
  fflush(stderr);
  lua_pop(L, 1);
}

/* Protected part of a report: ctx table at 1, loop at 2. */
static int report_call(lua_State *L) {
  lloop *lp = lua_touserdata(L, 2);
  if (lp->ref_handler != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, lp->ref_handler);
    alua__pushloop(L, lp);
    lua_pushvalue(L, 1);
    lua_call(L, 2, 0);
  } else {
    default_report(L, 1);
  }
  return 0;
}

/* Reports the context table on top of the stack (popped) through the loop's
 * exception handler, or the default one. Never raises: a failing handler is
 * itself reported on stderr. */
static void report_ctx(lua_State *L, lloop *lp) {
  int ctx = lua_gettop(L);
  lua_pushcfunction(L, report_call);
  lua_pushvalue(L, ctx);
  lua_pushlightuserdata(L, lp);
  if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
    alua__push_tostring(L, -1);
    fprintf(stderr, "Unhandled error in exception handler: %s\n", lua_tostring(L, -1));
    lua_pop(L, 2);
    lua_pushcfunction(L, report_call);
    lua_pushvalue(L, ctx);
    lua_pushlightuserdata(L, lp);
    int saved = lp->ref_handler;
    lp->ref_handler = LUA_NOREF;
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) lua_pop(L, 1);
    lp->ref_handler = saved;
  }
  lua_settop(L, ctx - 1);
}

void alua__report_context(lua_State *L, lloop *lp) { report_ctx(L, lp); }

void alua__report(lua_State *L, lloop *lp, const char *message, int tbidx) {
  int err = lua_gettop(L);
  tbidx = tbidx ? lua_absindex(L, tbidx) : 0;
  lua_createtable(L, 0, 4);
  lua_pushstring(L, message);
  lua_setfield(L, -2, "message");
  lua_pushvalue(L, err);
  lua_setfield(L, -2, "exception");
  if (tbidx) {
    lua_pushvalue(L, tbidx);
    lua_setfield(L, -2, "traceback");
  }
  report_ctx(L, lp);
  lua_settop(L, err - 1);
}

/* The number that orders reports: a task's id, 0 for a plain future. */
static int report_order(lua_State *L, int idx) {
  future *f = lua_touserdata(L, idx);
  return f->kind == KIND_TASK ? ((task *)f)->id : 0;
}

/* Reports the futures of lp's table of unretrieved failures that pick
 * accepts (marking them retrieved), plain futures first, then tasks in the
 * order they were made: not in the table's order, which is the order of
 * their addresses. They are listed first, because an exception handler may
 * fail more futures, and a table must not get new keys while it is
 * traversed. */
static void report_picked(lua_State *L, lloop *lp, int (*pick)(rt *r, future *f)) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, lp->ref_unretrieved);
  int t = lua_gettop(L);
  lua_newtable(L);
  int list = t + 1, n = 0;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    future *f = lua_touserdata(L, -1);
    if (f && pick(lp->rt, f)) {
      f->retrieved = 1;
      lua_pushvalue(L, -1);
      lua_rawseti(L, list, ++n);
    }
    lua_pop(L, 1);
  }
  /* insertion sort: a handful at most */
  for (int i = 2; i <= n; i++) {
    lua_rawgeti(L, list, i);
    int key = report_order(L, -1), j = i - 1;
    for (; j >= 1; j--) {
      lua_rawgeti(L, list, j);
      if (report_order(L, -1) <= key) {
        lua_pop(L, 1);
        break;
      }
      lua_rawseti(L, list, j + 1);
    }
    lua_rawseti(L, list, j + 1);
  }
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, list, i);
    alua__future_report(L, lua_gettop(L));
    lua_pop(L, 1);
  }
  lua_pop(L, 2);
}

static int pick_unretrieved(rt *r, future *f) {
  (void)r;
  return !f->retrieved;
}

/* Reports the failed futures of lp whose error nobody retrieved; at close,
 * after which nothing more is tracked. */
void alua__report_unretrieved(lua_State *L, lloop *lp) {
  if (lp->ref_unretrieved == LUA_NOREF) return;
  report_picked(L, lp, pick_unretrieved);
  luaL_unref(L, LUA_REGISTRYINDEX, lp->ref_unretrieved);
  lp->ref_unretrieved = LUA_NOREF;
}

/* A task that failed in this pass with nobody waiting, and that nothing
 * awaited or looked at since (the main task's error is its host's). */
static int pick_fresh(rt *r, future *f) {
  if (!f->report_soon) return 0;
  f->report_soon = 0;
  return !f->retrieved && f != r->main_fut && ac_list_empty(&f->waiters) && f->ncallbacks == 0;
}

void alua__report_fresh_failures(lua_State *L, lloop *lp) {
  lp->rt->fresh_failures = 0;
  if (lp->ref_unretrieved == LUA_NOREF) return;
  report_picked(L, lp, pick_fresh);
}

/* Reports the unretrieved error of the future at idx ("Task exception was
 * never retrieved"). */
void alua__future_report(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  future *f = lua_touserdata(L, idx);
  int top = lua_gettop(L);
  lua_createtable(L, 0, 4);
  lua_pushstring(L, f->kind == KIND_TASK ? "Task exception was never retrieved"
                                         : "Future exception was never retrieved");
  lua_setfield(L, -2, "message");
  lua_pushvalue(L, idx);
  lua_setfield(L, -2, f->kind == KIND_TASK ? "task" : "future");
  lua_getiuservalue(L, idx, FUT_UV_RESULT);
  lua_setfield(L, -2, "exception");
  if (f->kind == KIND_TASK) {
    alua__task_get_extra(L, idx, "traceback");
    lua_setfield(L, -2, "traceback");
  }
  /* a closed loop has no handler any more: the default one reports it */
  report_ctx(L, f->loop);
  lua_settop(L, top);
}

/* loop:call_exception_handler(ctx) */
static int l_call_exception_handler(lua_State *L) {
  lloop *lp = alua__checkloop(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  report_ctx(L, lp);
  return 0;
}

/* loop:default_exception_handler(ctx) */
static int l_default_exception_handler(lua_State *L) {
  alua__checkloop(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  default_report(L, 2);
  return 0;
}

void alua__open_report(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg loop_methods[] = {{"call_exception_handler", l_call_exception_handler},
                                          {"default_exception_handler", l_default_exception_handler},
                                          {NULL, NULL}};
  alua__addmethods(L, r, MT_LOOP, loop_methods);
  (void)module;
  (void)internals;
}
