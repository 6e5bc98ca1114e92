/* await for everything that is not a coroutine object (those run inline, see
 * lib/asyncio/core.lua), and asyncio.sleep. */
#include <math.h>
#include <stdio.h>

#include "lua/internal.h"
#include "lua/observe/observe.h"

/* A sleep awaitable: the delay, and the values to return as uservalues. */
typedef struct sleeper {
  lua_Number delay; /* seconds; <= 0 yields once, +inf never wakes */
  int nvalues;      /* values returned when the sleep ends */
} sleeper;

task *alua__current_task(lua_State *L, rt *r) {
  task *t = r->current;
  if (t && t->co == L) return t;
  if (t) alua__error_at(L, 2, "await inside a coroutine nested in a task (coroutine.resume/wrap): await from the task itself");
  alua__error_at(L, 2, "await called from a callback while the event loop is running: only tasks can await");
  return NULL;
}

/* Waiting for a future, a task or a gather: cancelling the waiting task
 * cancels what it awaits (the cancellation comes back through it). */
static const alua__waitclass wait_future = {.what = "future",
                                           .forwards_cancel = 1,
                                           .slot = 1,
                                           .never = ", which nothing will ever complete",
                                           .describe = alua__describe_future};

/* "sleep 2s (until 3.5)": the delay and the loop time it ends. */
static void describe_sleep(lua_State *L, task *t, void *on, int obj, int rec) {
  (void)on;
  (void)rec;
  lua_Number d = obj ? ((sleeper *)lua_touserdata(L, obj))->delay : 0;
  if (d == HUGE_VAL) {
    lua_pushliteral(L, "sleep forever");
  } else {
    char buf[96];
    snprintf(buf, sizeof buf, "sleep %gs (until %.3f)", (double)d, (double)t->since / 1e9 + (double)d);
    lua_pushstring(L, buf);
  }
}

/* A sleep: the task's own timer (or the ready queue, for sleep(0)). */
static const alua__waitclass wait_sleep = {
    .what = "sleep", .slot = 1, .never = ", which never ends", .describe = describe_sleep};

/* Continuation of an await on a future at stack index 1. */
static int k_future(lua_State *L, int status, lua_KContext ctx) {
  alua__resumed(L, ctx);
  return alua__future_push_result(L, 1);
}

/* Continuation of a sleep at stack index 1: returns its values. */
static int k_sleep(lua_State *L, int status, lua_KContext ctx) {
  alua__resumed(L, ctx);
  sleeper *s = lua_touserdata(L, 1);
  luaL_checkstack(L, s->nvalues, "too many values");
  for (int i = 1; i <= s->nvalues; i++) lua_getiuservalue(L, 1, i);
  return s->nvalues;
}

/* Outside any task and with no loop running: run the loop until the
 * awaitable at 1 is done (top-level await in scripts and the REPL). */
static int await_toplevel(lua_State *L, rt *r) {
  if (!alua__isawaitable(L, 1)) return alua__error_at(L, 2, "attempt to await a %s value", luaL_typename(L, 1));
  lloop *lp = alua__push_current_loop(L, r);
  int loopidx = lua_gettop(L);
  if (!alua__tofuture(L, 1)) {
    lua_getfield(L, loopidx, "create_task");
    lua_pushvalue(L, loopidx);
    if (alua__tocoro(L, 1)) {
      lua_pushvalue(L, 1);
    } else {
      lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_wrap);
      lua_pushvalue(L, 1);
      lua_call(L, 1, 1);
    }
    lua_call(L, 2, 1);
    lua_replace(L, 1);
  }
  alua__run_until(L, lp, 1, 2);
  lua_settop(L, 1);
  return alua__future_push_result(L, 1);
}

/* internals.await(x): awaits a future, a task or a sleep; coroutine objects
 * reach here only outside a task, and __await is resolved on the Lua side. */
static int l_await(lua_State *L) {
  rt *r = alua__rt(L);
  lua_settop(L, 1);
  if (!r->current && !r->running) return await_toplevel(L, r);
  if (lua_getmetatable(L, 1)) {
    /* the await hook (internal.h): queue and lock operations */
    lua_rawgetp(L, -1, &alua__await_key);
    lua_CFunction hook = lua_tocfunction(L, -1);
    lua_settop(L, 1);
    if (hook) return hook(L);
  }
  future *f = alua__tofuture(L, 1);
  if (f) {
    task *t = alua__current_task(L, r);
    if (f == &t->f) return alua__error_at(L, 2, "a task cannot await itself");
    if (f->state != FUT_PENDING) return alua__future_push_result(L, 1);
    if (f->loop != t->f.loop) return alua__error_at(L, 2, "cannot await a future that belongs to a different loop");
    return alua__park(L, t, &f->waiters, &wait_future, f, 0, k_future);
  }
  sleeper *s = luaL_testudata(L, 1, MT_SLEEP);
  if (s) {
    task *t = alua__current_task(L, r);
    ac_loop *core = &t->f.loop->core;
    if (s->delay <= 0) {
      t->woken = ALUA_NO_SLICE;
      ac_loop_enqueue(core, &t->step);
    } else if (s->delay != HUGE_VAL) {
      uint64_t now = ac_loop_update_time(core);
      double ns = s->delay * 1e9;
      uint64_t deadline = ns >= (double)(UINT64_MAX - now) ? UINT64_MAX : now + (uint64_t)ns;
      ac_loop_timer_start(core, &t->timer, deadline);
    }
    return alua__park(L, t, NULL, &wait_sleep, NULL, 0, k_sleep);
  }
  coro *c = alua__tocoro(L, 1);
  if (c) {
    if (c->consumed) return alua__error_at(L, 2, "cannot reuse already awaited coroutine");
    alua__current_task(L, r); /* raises the right error outside tasks */
    return alua__error_at(L, 2, "cannot await a coroutine object here");
  }
  return alua__error_at(L, 2, "attempt to await a %s value", luaL_typename(L, 1));
}

/* asyncio.sleep(delay, ...): an awaitable that returns ... after delay
 * seconds. */
static int l_sleep(lua_State *L) {
  lua_Number d = luaL_checknumber(L, 1);
  if (d != d) return luaL_argerror(L, 1, "delay is NaN");
  int n = lua_gettop(L) - 1;
  if (d <= 0 && n == 0) {
    lua_pushvalue(L, lua_upvalueindex(2)); /* the shared sleep(0) */
    return 1;
  }
  sleeper *s = lua_newuserdatauv(L, sizeof *s, n);
  s->delay = d;
  s->nvalues = n;
  lua_pushvalue(L, lua_upvalueindex(3));
  lua_setmetatable(L, -2);
  for (int i = 1; i <= n; i++) {
    lua_pushvalue(L, i + 1);
    lua_setiuservalue(L, -2, i);
  }
  return 1;
}

static int sleep_tostring(lua_State *L) {
  sleeper *s = luaL_checkudata(L, 1, MT_SLEEP);
  lua_pushfstring(L, "<sleep %f>", (double)s->delay);
  return 1;
}

const char alua__await_key = 0;

/* True when the value at idx has an await hook in its metatable. */
static int has_hook(lua_State *L, int idx) {
  if (!lua_getmetatable(L, idx)) return 0;
  lua_rawgetp(L, -1, &alua__await_key);
  int ok = lua_tocfunction(L, -1) != NULL;
  lua_pop(L, 2);
  return ok;
}

int alua__isawaitable(lua_State *L, int idx) {
  if (alua__tofuture(L, idx) || alua__tocoro(L, idx) || luaL_testudata(L, idx, MT_SLEEP) || has_hook(L, idx)) return 1;
  if (luaL_getmetafield(L, idx, "__await") == LUA_TNIL) return 0;
  lua_pop(L, 1);
  return 1;
}

/* internals.intask(): true when the caller runs as the current task's body. */
static int l_intask(lua_State *L) {
  rt *r = alua__rt(L);
  lua_pushboolean(L, r->current && r->current->co == L);
  return 1;
}

/* internals.running_loop(): the running loop or nil. */
static int l_running_loop(lua_State *L) {
  rt *r = alua__rt(L);
  if (!r->running) return 0;
  alua__pushloop(L, r->running);
  return 1;
}

void alua__open_await(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg methods[] = {{"__tostring", sleep_tostring}, {NULL, NULL}};
  alua__newclass(L, r, MT_SLEEP, methods);
  alua__tag_awaitable(L, "c");
  int mt = lua_gettop(L);
  lua_pushlightuserdata(L, r);
  sleeper *zero = lua_newuserdatauv(L, sizeof *zero, 0);
  zero->delay = 0;
  zero->nvalues = 0;
  lua_pushvalue(L, mt);
  lua_setmetatable(L, -2);
  lua_pushvalue(L, mt);
  lua_pushcclosure(L, l_sleep, 3);
  lua_setfield(L, module, "sleep");
  lua_pop(L, 1);
  static const luaL_Reg funcs[] = {
      {"await", l_await}, {"intask", l_intask}, {"running_loop", l_running_loop}, {NULL, NULL}};
  alua__setfuncs_at(L, r, internals, funcs);
}
