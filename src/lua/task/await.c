/* await, the hot path of the library: one C function for every awaitable
 * (coroutine objects run inline, in the awaiting task's frame), and
 * asyncio.sleep. */
#include <math.h>
#include <stdio.h>

#include "lua/internal.h"
#include "lua/runtime/peek.h"
#include "lua/runtime/site.h"
#include "lua/observe/observe.h"

/* A sleep awaitable: the delay, and the values to return as uservalues.
 * sleep(d) without values returns one shared sleeper armed with d, which
 * the await disarms (as a queue's put operation): no object per sleep. */
typedef struct sleeper {
  alua__aw aw;      /* never-awaited tracking (forgotten.c); first */
  lua_Number delay; /* seconds; <= 0 yields once, +inf never wakes */
  int nvalues;      /* values returned when the sleep ends */
  uint8_t shared;   /* the shared sleeper: awaiting it takes its delay once */
  uint8_t armed;    /* shared: holds a delay no await has taken yet */
  uint8_t zero;     /* the shared sleep(0), awaited any number of times */
} sleeper;

/* Marks both sleep metatables. */
static const char sleep_key = 0;

/* The sleep at idx (either metatable), or NULL. */
static sleeper *tosleeper(lua_State *L, int idx) { return alua__tomarked(L, idx, &sleep_key); }

task *alua__current_task_slow(lua_State *L, rt *r) {
  task *t = r->current;
  if (t && t->co == L) return t;
  if (t) alua__error_at(L, 1, "await inside a coroutine nested in a task (coroutine.resume/wrap): await from the task itself");
  alua__error_at(L, 1, "await called from a callback while the event loop is running: only tasks can await");
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
  /* the shared sleeper left its delay in its place (sleep_await) */
  lua_Number d = !obj ? 0 : lua_type(L, obj) == LUA_TNUMBER ? lua_tonumber(L, obj) : ((sleeper *)lua_touserdata(L, obj))->delay;
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

/* Continuation of a sleep at stack index 1 (or its delay): returns its
 * values. */
static int k_sleep(lua_State *L, int status, lua_KContext ctx) {
  alua__resumed(L, ctx);
  if (lua_type(L, 1) == LUA_TNUMBER) return 0;
  sleeper *s = lua_touserdata(L, 1);
  luaL_checkstack(L, s->nvalues, "too many values");
  for (int i = 1; i <= s->nvalues; i++) lua_getiuservalue(L, 1, i);
  return s->nvalues;
}

/* An await outside any task with no loop running (scripts, the REPL): runs
 * the loop until the awaitable at 1 is done and returns its results. */
static int await_toplevel(lua_State *L, rt *r) {
  if (!alua__isawaitable(L, 1)) return alua__error_at(L, 1, "attempt to await a %s value", luaL_typename(L, 1));
  lloop *lp = alua__push_current_loop(L, r);
  int loopidx = lua_gettop(L);
  future *f = alua__tofuture(L, 1);
  if (f) alua__future_taken(r, f);
  if (!f) {
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
  alua__run_until(L, lp, 1, 1);
  lua_settop(L, 1);
  return alua__future_push_result(L, 1);
}

/* The await_seen entry of a metatable. */
static struct alua__await_seen *seen_entry(rt *r, const void *mt) {
  uintptr_t p = (uintptr_t)mt;
  return &r->await_seen[((p >> 6) ^ (p >> 11)) & (sizeof r->await_seen / sizeof r->await_seen[0] - 1)];
}

void alua__set_await_hook(lua_State *L, rt *r, lua_CFunction hook) {
  lua_pushcfunction(L, hook);
  lua_rawsetp(L, -2, &alua__await_key);
  /* a part of the module that failed to open (out of memory) is opened
   * again later, on the same registered metatable: entered once */
  const void *mt = lua_topointer(L, -1);
  struct alua__await_seen *e = seen_entry(r, mt);
  if (e->mt == mt) e->mt = NULL;
  int i = 0;
  while (i < r->nawait && r->await_mt[i] != mt) i++;
  if (i == (int)(sizeof r->await_mt / sizeof r->await_mt[0])) return; /* await finds it through the key */
  r->await_mt[i] = mt;
  r->await_hook[i] = hook;
  if (i == r->nawait) r->nawait++;
}

/* A task may nest this many inline coroutine awaits on the C stack before
 * the next one unwinds it (see task.cdepth). Lua allows 200 C levels
 * (LUAI_MAXCCALLS), and each await often sits in a pcall, another level;
 * the unwinding yield flattens those too. */
#define AWAIT_CDEPTH_MAX 50

/* Continuation of an inline call: its results are everything above x. */
static int k_inline(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  (void)ctx;
  return lua_gettop(L) - 1;
}

static int k_unwound(lua_State *L, int status, lua_KContext ctx);

/* Calls the function below the nargs values on top, x at 1 under it, in
 * the current task t's frame; returns its results. Nesting counts in
 * t->cdepth; past the limit, the task yields first (the step resumes it at
 * once, see step in task.c), which empties the C stack. */
static int call_inline(lua_State *L, task *t, int nargs) {
  /* not across a C boundary that cannot yield (a table.sort comparator):
   * there the call goes on, as deep as Lua lets it */
  if (t->cdepth >= AWAIT_CDEPTH_MAX && lua_isyieldable(L)) {
    t->unwind = 1;
    return lua_yieldk(L, 0, nargs, k_unwound);
  }
  t->cdepth++;
  lua_callk(L, nargs, LUA_MULTRET, 0, k_inline);
  /* a normal return: nothing yielded since the increment (a yield resets
   * the count: the continuation then runs on an empty C stack) */
  t->cdepth--;
  return lua_gettop(L) - 1;
}

/* The inline call after an unwinding yield: ctx is its argument count. */
static int k_unwound(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  return call_inline(L, alua__rt(L)->current, (int)ctx);
}

/* The running task t, with a cancel request it has not seen, is about to
 * wait on the pending future at 1: cancels that future with the request's
 * message instead. True when it took the request (a gather whose children
 * are all done refuses it). */
static int cancel_awaited(lua_State *L, task *t) {
  alua__push_anchored(L, t->f.loop, t->f.anchor);
  alua__task_get_extra(L, -1, "cancelmsg");
  lua_remove(L, -2);
  return alua__future_cancel(L, 1);
}

/* A future, task or gather at 1, awaited: its results, or the task parks
 * until it is done. */
static int await_future(lua_State *L, rt *r, future *f) {
  alua__future_taken(r, f);
  task *t = alua__current_task(L, r);
  if (f == &t->f) return alua__error_at(L, 1, "a task cannot await itself");
  if (f->state != FUT_PENDING) return alua__future_push_result(L, 1);
  if (f->loop != t->f.loop) return alua__error_at(L, 1, "cannot await a future that belongs to a different loop");
  if (t->must_cancel && cancel_awaited(L, t)) {
    /* the request went to what the task awaits (asyncio's rule): a future
     * ends cancelled at once, a task or a gather when it has unwound */
    t->must_cancel = t->cancel_delivered = 0;
    if (f->state != FUT_PENDING) return alua__future_push_result(L, 1);
  }
  return alua__park(L, t, &f->waiters, &wait_future, f, 0, k_future);
}

/* A coroutine object at 1 (metatable at 2), awaited: its body runs inline
 * in the awaiting task, as a plain call would. */
static int await_coro(lua_State *L, rt *r) {
  coro *c = lua_touserdata(L, 1);
  if (c->consumed) return alua__error_at(L, 1, "cannot reuse already awaited coroutine");
  task *t = alua__current_task(L, r);
  lua_settop(L, 1);
  alua__coro_consume(L, r, 1);
  return call_inline(L, t, alua__coro_push_call(L, 1));
}

/* When x at 1 (metatable at 2) is a value with __await and no asyncio
 * type, replaces the metatable with internals.await_via and pushes x, its
 * __await and 1: the call that resolves it, in Lua. Else returns 0. */
static int push_await_via(lua_State *L) {
  lua_pushliteral(L, "__asyncio");
  int own = lua_rawget(L, 2) != LUA_TNIL;
  lua_pop(L, 1);
  lua_pushliteral(L, "__await");
  if (own || lua_rawget(L, 2) == LUA_TNIL) return 0;
  lua_getfield(L, lua_upvalueindex(2), "await_via");
  lua_replace(L, 2);
  lua_pushvalue(L, 1);
  lua_insert(L, 3);
  lua_pushinteger(L, 1);
  return 1;
}

/* await x outside any task and loop: a value with __await resolves here,
 * where the user's frames are; everything else runs the loop. */
static int await_outside(lua_State *L, rt *r) {
  if (lua_getmetatable(L, 1) && lua_type(L, 2) == LUA_TTABLE && push_await_via(L)) {
    lua_callk(L, 3, LUA_MULTRET, 0, k_inline);
    return lua_gettop(L) - 1;
  }
  lua_settop(L, 1);
  return await_toplevel(L, r);
}

/* The await_seen entries of coroutine objects and futures: stack [x]. */
static int seen_coro(lua_State *L) { return await_coro(L, alua__rt(L)); }

static int seen_future(lua_State *L) { return await_future(L, alua__rt(L), lua_touserdata(L, 1)); }

/* l_await past its cache, stack [x]. */
static __attribute__((noinline)) int await_search(lua_State *L) {
  rt *r = alua__rt(L);
  if (lua_gettop(L) != 1) lua_settop(L, 1);
  if (!r->current && !r->running) return await_outside(L, r);
  if (!lua_getmetatable(L, 1)) return alua__error_at(L, 1, "attempt to await a %s value", luaL_typename(L, 1));
  const void *mt = lua_topointer(L, 2);
  for (int i = 0; i < r->nawait; i++) {
    if (r->await_mt[i] == mt) {
      lua_pop(L, 1);
      *seen_entry(r, mt) = (struct alua__await_seen){mt, r->await_hook[i]};
      return r->await_hook[i](L);
    }
  }
  if (lua_type(L, 1) == LUA_TUSERDATA) {
    for (int i = 0; i < r->nmt_coro; i++) {
      if (r->mt_coro[i] == mt) {
        *seen_entry(r, mt) = (struct alua__await_seen){mt, seen_coro};
        return await_coro(L, r);
      }
    }
    for (int i = 0; i < r->nmt_future; i++) {
      if (r->mt_future[i] == mt) {
        lua_settop(L, 1);
        *seen_entry(r, mt) = (struct alua__await_seen){mt, seen_future};
        return await_future(L, r, lua_touserdata(L, 1));
      }
    }
    /* a hook not entered in the runtime's list */
    lua_rawgetp(L, 2, &alua__await_key);
    lua_CFunction hook = lua_tocfunction(L, -1);
    lua_pop(L, 1);
    if (hook) {
      lua_settop(L, 1);
      return hook(L);
    }
  }
  if (push_await_via(L)) return call_inline(L, alua__current_task(L, r), 3);
  return alua__error_at(L, 1, "attempt to await a %s value", luaL_typename(L, 1));
}

/* await x, for every x (SPEC 2.1). Upvalues: the runtime, the internals
 * table. The C types are told apart by metatable pointer: a type's await
 * hook (queue, lock, event operations, sleeps, I/O), coroutine objects,
 * futures; then a value whose metatable has __await (await_via in
 * lib/asyncio/core.lua resolves it); anything else is an error. What the
 * search finds for a userdata's metatable is remembered (await_seen), so
 * that the next await of that type goes straight to it. */
static int l_await(lua_State *L) {
  /* the common await: one argument, a task running, a type seen before */
  if (alua__peek_ok > 0 && lua_gettop(L) == 1) {
    rt *r = alua__peek_upvalue1(L);
    const void *mt = alua__peek_mt(L, 1);
    const struct alua__await_seen *e = seen_entry(r, mt);
    if (r->current && mt && e->mt == mt) return e->fn(L);
  }
  return await_search(L);
}

/* The await hook of sleeps: stack [sleeper]. */
static int sleep_await(lua_State *L) {
  rt *r = alua__rt(L);
  sleeper *s = lua_touserdata(L, 1);
  /* an await that raises below still counts: the mistake was not to forget */
  if (s->zero)
    alua__awop_taken(&r->zero_awop);
  else if (s->shared)
    alua__awop_taken(&r->sleep_awop);
  else
    alua__aw_taken(r, &s->aw);
  task *t = alua__current_task(L, r);
  lua_Number d = s->delay;
  if (s->shared) {
    if (!s->armed) return alua__error_at(L, 1, "this sleep() was already awaited: call sleep() again");
    s->armed = 0;
    /* the next sleep() rearms it: the wait keeps its own delay */
    lua_pushnumber(L, d);
    lua_replace(L, 1);
  }
  ac_loop *core = &t->f.loop->core;
  if (d <= 0) {
    t->woken = ALUA_NO_SLICE;
    ac_loop_enqueue(core, &t->step);
  } else if (d != HUGE_VAL) {
    uint64_t now = ac_loop_update_time(core);
    double ns = d * 1e9;
    uint64_t deadline = ns >= (double)(UINT64_MAX - now) ? UINT64_MAX : now + (uint64_t)ns;
    ac_loop_timer_start(core, &t->timer, deadline);
  }
  return alua__park(L, t, NULL, &wait_sleep, NULL, 0, k_sleep);
}

/* asyncio.sleep(delay, ...): an awaitable that returns ... after delay
 * seconds. Upvalues: the runtime, the shared sleep(0), the metatable, the
 * shared sleeper, the holder of the last fresh sleep (forgotten.c). */
static int l_sleep(lua_State *L) {
  lua_Number d = luaL_checknumber(L, 1);
  if (d != d) return luaL_argerror(L, 1, "delay is NaN");
  int n = lua_gettop(L) - 1;
  rt *r = lua_touserdata(L, lua_upvalueindex(1));
  if (d <= 0 && n == 0) {
    lua_pushvalue(L, lua_upvalueindex(2)); /* the shared sleep(0) */
    alua__aw_handout_fast(L, &r->zero_awop, "asyncio.sleep()");
    return 1;
  }
  if (n == 0) {
    sleeper *s = lua_touserdata(L, lua_upvalueindex(4));
    if (!s->armed) {
      s->armed = 1;
      s->delay = d;
      lua_pushvalue(L, lua_upvalueindex(4));
      alua__aw_handout_fast(L, &r->sleep_awop, "asyncio.sleep()");
      return 1;
    }
    /* an earlier sleep() was not awaited yet: that one keeps its delay */
  }
  sleeper *s = lua_newuserdatauv(L, sizeof *s, n);
  s->delay = d;
  s->nvalues = n;
  s->shared = s->armed = s->zero = 0;
  alua__aw_made(L, r, &s->aw);
  alua__aw_nurse(L, r, &s->aw, lua_upvalueindex(5));
  lua_pushvalue(L, lua_upvalueindex(3));
  lua_setmetatable(L, -2);
  for (int i = 1; i <= n; i++) {
    lua_pushvalue(L, i + 1);
    lua_setiuservalue(L, -2, i);
  }
  return 1;
}

/* The never-awaited warning of a sleep (SPEC 2.1). */
static int sleep_gc(lua_State *L) {
  sleeper *s = alua__gc_self(L);
  alua__aw_gone(L, alua__rt(L), &s->aw, "asyncio.sleep()");
  return 0;
}

static int sleep_tostring(lua_State *L) {
  sleeper *s = tosleeper(L, 1);
  if (!s) return luaL_typeerror(L, 1, MT_SLEEP);
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
  if (alua__tofuture(L, idx) || alua__tocoro(L, idx) || has_hook(L, idx)) return 1;
  if (luaL_getmetafield(L, idx, "__await") == LUA_TNIL) return 0;
  lua_pop(L, 1);
  return 1;
}

/* internals.isawaitable(x): what ensure_future accepts (functions too). */
static int l_isawaitable(lua_State *L) {
  lua_pushboolean(L, lua_isfunction(L, 1) || alua__isawaitable(L, 1));
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

/* internals.in_host_step(): true while alua_step runs a pass, that is
 * while the host owns the running loop (asyncio.run then awaits). */
static int l_in_host_step(lua_State *L) {
  lua_pushboolean(L, alua__rt(L)->host_step);
  return 1;
}

void alua__open_await(lua_State *L, rt *r, int module, int internals) {
  if (!alua__peek_ok) alua__peek_probe(L);
  /* the tracked twin: a sleep not awaited in the pass that made it gets it
   * (forgotten.c), so that its finalizer can warn */
  static const luaL_Reg tracked[] = {{"__tostring", sleep_tostring}, {"__gc", sleep_gc}, {NULL, NULL}};
  alua__newclass(L, r, "asyncio.sleep (tracked)", tracked);
  alua__tag_awaitable(L, "c");
  alua__set_await_hook(L, r, sleep_await);
  lua_pushboolean(L, 1);
  lua_rawsetp(L, -2, &sleep_key);
  lua_pushliteral(L, MT_SLEEP);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  static const luaL_Reg methods[] = {{"__tostring", sleep_tostring}, {NULL, NULL}};
  alua__newclass(L, r, MT_SLEEP, methods);
  alua__tag_awaitable(L, "c");
  lua_pushboolean(L, 1);
  lua_rawsetp(L, -2, &sleep_key);
  int mt = lua_gettop(L);
  alua__set_await_hook(L, r, sleep_await);
  lua_pushlightuserdata(L, r);
  for (int i = 0; i < 2; i++) {
    /* the shared sleep(0), then the shared sleeper */
    sleeper *s = lua_newuserdatauv(L, sizeof *s, 0);
    s->aw.pending = 0;
    s->aw.site = 0;
    s->delay = 0;
    s->nvalues = 0;
    s->shared = (uint8_t)i;
    s->zero = (uint8_t)(i == 0);
    s->armed = 0;
    lua_pushvalue(L, mt);
    lua_setmetatable(L, -2);
    if (i == 0) lua_pushvalue(L, mt);
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_last_sleep);
  lua_pushcclosure(L, l_sleep, 5);
  lua_setfield(L, module, "sleep");
  lua_pop(L, 1);
  static const luaL_Reg funcs[] = {
      {"intask", l_intask}, {"running_loop", l_running_loop}, {"isawaitable", l_isawaitable},
      {"in_host_step", l_in_host_step},
      {NULL, NULL}};
  alua__setfuncs_at(L, r, internals, funcs);
  lua_pushlightuserdata(L, r);
  lua_pushvalue(L, internals);
  lua_pushcclosure(L, l_await, 2);
  lua_setfield(L, internals, "await");
}
