/* Tasks: a future driven by a Lua thread. The step callback resumes the
 * thread; the thread suspends only inside an await (alua__park), with its
 * step link parked on whatever it waits for. Finished threads are reused. */
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "lua/internal.h"
#include "lua/observe/observe.h"

/* A task's userdata is Lua's header (40 bytes on 64-bit machines), its two
 * uservalues (32) and the record: 224 bytes, one of the allocator's size
 * classes, while the record keeps to 152 (see the fields of struct task). */
_Static_assert(sizeof(void *) != 8 || sizeof(task) <= 152, "struct task outgrew the 224-byte class");

task *alua__totask(lua_State *L, int idx) {
  future *f = alua__tofuture(L, idx);
  return f && f->kind == KIND_TASK ? (task *)f : NULL;
}

static task *checktask(lua_State *L, int idx) {
  task *t = alua__totask(L, idx);
  if (!t) luaL_typeerror(L, idx, MT_TASK);
  return t;
}

static void step(ac_callback *cb);
static lua_State *acquire_thread(lua_State *L, lloop *lp);
static int body(lua_State *L);

static void timer_fired(ac_timer *tm) {
  task *t = ac_container_of(tm, task, timer);
  t->woken = ALUA_NO_SLICE;
  ac_loop_enqueue(&t->f.loop->core, &t->step);
}

void alua__push_cancelled(lua_State *L, rt *r, int futidx) {
  futidx = lua_absindex(L, futidx);
  /* a pending task keeps the message of its request in its extras */
  if (((future *)lua_touserdata(L, futidx))->state == FUT_PENDING) alua__task_get_extra(L, futidx, "cancelmsg");
  else lua_getiuservalue(L, futidx, FUT_UV_RESULT);
  if (alua__iserror(L, r, -1, "CancelledError")) return;
  const char *msg = lua_tostring(L, -1);
  alua__push_error(L, r, "CancelledError", msg);
  lua_remove(L, -2);
}

/* alua__newtask, with c the coroutine object at idx or NULL when the value
 * there is none (the caller has looked). */
static task *newtask(lua_State *L, lloop *lp, int idx, int nargs, coro *c) {
  idx = lua_absindex(L, idx);
  rt *r = lp->rt;
  if (c && c->consumed) luaL_error(L, "cannot reuse already awaited coroutine");
  if (lp->closed) luaL_error(L, "event loop is closed");
  task *t = lua_newuserdatauv(L, sizeof *t, TASK_NUV - 1);
  int tidx = lua_gettop(L);
  alua__future_init(L, &t->f, lp, KIND_TASK);
  ac_callback_init(&t->step, step);
  ac_timer_init(&t->timer, timer_fired);
  t->co = NULL;
  t->wait = NULL;
  t->wait_on = NULL;
  t->since = 0;
  t->cancel_requests = 0;
  t->must_cancel = t->cancel_delivered = t->suspended = t->cdepth = t->unwind = 0;
  t->woken = lp->slice; /* its first step: its creator's doing */
  t->id = ++r->next_task_id;
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_mt_task);
  lua_setmetatable(L, -2);
  if (!c && alua__iscoroutinefunction(L, idx)) {
    /* an async function: its call makes the coroutine object to run */
    luaL_checkstack(L, nargs + 1, "too many arguments");
    for (int i = 0; i <= nargs; i++) lua_pushvalue(L, idx + i);
    lua_call(L, nargs, 1);
    c = alua__tocoro(L, -1);
    if (!c) luaL_error(L, "async function did not return a coroutine object");
    alua__coro_consume(L, r, -1);
  } else if (c) {
    alua__coro_consume(L, r, idx);
    lua_pushvalue(L, idx);
  } else {
    luaL_checktype(L, idx, LUA_TFUNCTION);
    lua_pushnil(L); /* no coroutine object: get_coro() makes one if asked */
  }
  /* The thread is made now rather than at the first step, and the body and
   * its arguments move to it, so that the task holds its coroutine object
   * only weakly (for get_coro). Why: a burst of tasks made before any runs
   * would otherwise keep every coroutine object until its task's first
   * step, and the memory they free then is not what threads are made of:
   * 112 bytes a task at the peak of such a burst. What can raise (memory)
   * comes before the task is anchored and scheduled. */
  int cidx = lua_gettop(L);
  if (lp->ref_coros != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, lp->ref_coros);
    lua_pushvalue(L, cidx);
    lua_rawseti(L, -2, alua__anchor_next(lp));
    lua_pop(L, 1);
  }
  lua_State *co = acquire_thread(L, lp);
  lua_pushcfunction(co, body);
  if (c) {
    alua__coro_push_body(L, cidx, co);
  } else {
    /* the error is raised on L: co runs nothing that could catch it */
    if (!lua_checkstack(co, nargs + 1)) luaL_error(L, "stack overflow (too many arguments)");
    luaL_checkstack(L, nargs + 1, "too many arguments");
    for (int i = 0; i <= nargs; i++) lua_pushvalue(L, idx + i);
    lua_xmove(L, co, nargs + 1);
  }
  lua_setiuservalue(L, tidx, TASK_UV_THREAD);
  lua_pop(L, 1);
  t->co = co;
  t->resume = RESUME_START;
  t->f.anchor = alua__anchor(L, lp, tidx);
  if (lp->debug) alua__debug_record(L, tidx);
  lp->ntasks++;
  ac_loop_enqueue(&lp->core, &t->step);
  return t;
}

task *alua__newtask(lua_State *L, lloop *lp, int idx, int nargs) {
  return newtask(L, lp, idx, nargs, alua__tocoro_rt(L, lp->rt, idx));
}

/* Pushes a thread for a task's body, reusing a finished one when possible. */
static lua_State *acquire_thread(lua_State *L, lloop *lp) {
  lua_State *co;
  if (lp->nthreads > 0) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, lp->ref_threads);
    lua_rawgeti(L, -1, lp->nthreads);
    lua_pushnil(L);
    lua_rawseti(L, -3, lp->nthreads--);
    lua_remove(L, -2);
    co = lua_tothread(L, -1);
  } else {
    co = lua_newthread(L);
  }
  return co;
}

/* Returns t's finished, clean thread to the pool. Never raises: the pool's
 * table has room for ALUA_THREAD_POOL_MAX threads from the start (loop.c). */
static void release_thread(lua_State *L, lloop *lp, int tidx) {
  if (lp->nthreads < ALUA_THREAD_POOL_MAX && lp->ref_threads != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, lp->ref_threads);
    lua_getiuservalue(L, tidx, TASK_UV_THREAD);
    /* counted once stored: growing the table may raise (memory) */
    lua_rawseti(L, -2, lp->nthreads + 1);
    lp->nthreads++;
    lua_pop(L, 1);
  }
  lua_pushnil(L);
  lua_setiuservalue(L, tidx, TASK_UV_THREAD);
}

/* Pushes the coroutine object of t, which has not started: the one it was
 * made from while anything else still holds that one (the loop's weak
 * table keeps it for this), else a new one made from the body and the
 * arguments on t's thread, which then takes its place in the table. So
 * t:get_coro() == co holds whenever co is there to compare with. */
static void push_coro(lua_State *L, task *t) {
  lloop *lp = t->f.loop;
  lua_State *co = t->co;
  if (lp->ref_coros == LUA_NOREF) {
    lua_pushnil(L);
    return;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, lp->ref_coros);
  if (lua_rawgeti(L, -1, t->f.anchor) != LUA_TNIL) {
    lua_remove(L, -2);
    return;
  }
  lua_pop(L, 1);
  int n = lua_gettop(co) - 1; /* the function and its arguments, above `body` */
  luaL_checkstack(L, n + 2, "too many arguments");
  if (!lua_checkstack(co, n)) luaL_error(L, "stack overflow (too many arguments)");
  for (int i = 2; i <= n + 1; i++) lua_pushvalue(co, i);
  lua_xmove(co, L, n);
  int fn = lua_gettop(L) - n + 1;
  alua__newcoro_for_task(L, fn, n - 1);
  lua_replace(L, fn);
  lua_settop(L, fn);
  lua_pushvalue(L, -1);
  lua_rawseti(L, -3, t->f.anchor);
  lua_remove(L, -2);
}

/* t starts, or ends before it did: its slot in the weak table is cleared
 * (setting nil never allocates). */
static void forget_coro(lua_State *L, task *t) {
  lloop *lp = t->f.loop;
  if (lp->ref_coros == LUA_NOREF) return;
  lua_rawgeti(L, LUA_REGISTRYINDEX, lp->ref_coros);
  lua_pushnil(L);
  lua_rawseti(L, -2, t->f.anchor);
  lua_pop(L, 1);
}

/* Common end of a task, before its outcome is set: it no longer counts
 * among the loop's unfinished tasks. */
static void finished(task *t) {
  t->f.loop->ntasks--;
  t->co = NULL;
}

/* Pushes the extras table of the task at tidx, made now if the slot still
 * holds the loop (which moves into it). */
static void push_extras(lua_State *L, int tidx) {
  tidx = lua_absindex(L, tidx);
  if (lua_getiuservalue(L, tidx, TASK_UV_EXTRA) != LUA_TTABLE) {
    lua_createtable(L, 0, 2);
    lua_insert(L, -2);
    lua_setfield(L, -2, "loop");
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, tidx, TASK_UV_EXTRA);
  }
}

void alua__task_set_extra(lua_State *L, int tidx, const char *field) {
  push_extras(L, tidx);
  lua_insert(L, -2);
  lua_setfield(L, -2, field);
  lua_pop(L, 1);
}

int alua__task_get_extra(lua_State *L, int tidx, const char *field) {
  if (lua_getiuservalue(L, tidx, TASK_UV_EXTRA) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_pushnil(L);
    return LUA_TNIL;
  }
  int type = lua_getfield(L, -1, field);
  lua_remove(L, -2);
  return type;
}

void alua__task_pushname(lua_State *L, int tidx) {
  if (alua__task_get_extra(L, tidx, "name") == LUA_TSTRING) return;
  lua_pop(L, 1);
  lua_pushfstring(L, "Task-%d", ((task *)lua_touserdata(L, tidx))->id);
}

/* Protected part of failed(): the error at 2 of the task at 1 gets the
 * task's traceback and joins the chain of tasks it went through. */
static int decorate_p(lua_State *L) {
  rt *r = ((task *)lua_touserdata(L, 1))->f.loop->rt;
  alua__task_get_extra(L, 1, "traceback");
  if (alua__iserror(L, r, 2, NULL)) {
    if (lua_getfield(L, 2, "traceback") == LUA_TNIL) {
      lua_pushvalue(L, 3);
      lua_setfield(L, 2, "traceback");
    }
    lua_pop(L, 1);
  }
  alua__task_pushname(L, 1);
  alua__chain_add(L, r, 2, lua_tostring(L, -1), lua_tostring(L, 3));
  return 0;
}

/* The task ended with the error on top of L: it becomes cancelled (a
 * CancelledError) or failed. Its traceback is already in its "traceback".
 * Ending the task allocates nothing; the extras that do (decorate_p) are
 * left out when memory runs out, so the task never stays pending. */
static void failed(lua_State *L, task *t, int tidx) {
  rt *r = t->f.loop->rt;
  int err = lua_gettop(L);
  finished(t);
  if (alua__iserror(L, r, err, "CancelledError")) {
    lua_pushvalue(L, err);
    alua__future_set_cancelled(L, tidx);
  } else {
    lua_pushcfunction(L, decorate_p);
    lua_pushvalue(L, tidx);
    lua_pushvalue(L, err);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) lua_pop(L, 1);
    lua_pushvalue(L, err);
    alua__future_set_error(L, tidx);
  }
  alua__future_release(L, &t->f);
  lua_settop(L, err - 1);
}

/* Protected part of failed_raw: the traceback of the thread at 2 for the
 * task at 1. */
static int raw_traceback_p(lua_State *L) {
  luaL_traceback(L, lua_tothread(L, 2), NULL, 0);
  alua__task_set_extra(L, 1, "traceback");
  return 0;
}

/* The thread raised the error on top of co outside the body's protection
 * (out of memory, or a bare coroutine.yield): close what the body left open
 * and fail the task. */

static void failed_raw(lua_State *L, task *t, int tidx, lua_State *co) {
  lua_pushvalue(co, -1);
  lua_xmove(co, L, 1);
  int err = lua_gettop(L);
  lua_pushcfunction(L, raw_traceback_p);
  lua_pushvalue(L, tidx);
  lua_getiuservalue(L, tidx, TASK_UV_THREAD);
  if (lua_pcall(L, 2, 0, 0) != LUA_OK) lua_pop(L, 1); /* out of memory: no traceback */
  /* an error in a __close handler replaces the original one, as in Lua */
  if (lua_resetthread(co) != LUA_OK) {
    lua_xmove(co, L, 1);
    lua_replace(L, err);
  }
  lua_settop(co, 0);
  release_thread(L, t->f.loop, tidx);
  failed(L, t, tidx);
}

/* Message handler of a task body: records the traceback where the error
 * happened, before the stack unwinds, in the running task. */
static int body_handler(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, "alua.rt");
  rt *r = lua_touserdata(L, -1);
  lua_pop(L, 1);
  task *t = r ? r->current : NULL;
  if (t && t->co == L) {
    alua__push_anchored(L, t->f.loop, t->f.anchor);
    alua__push_traceback(L, L, 1);
    alua__task_set_extra(L, -2, "traceback");
    lua_pop(L, 1);
  }
  lua_settop(L, 1);
  return 1;
}

/* After the body: true and its results, or false and its error. */
static int k_body(lua_State *L, int status, lua_KContext ctx) {
  if (status == LUA_OK || status == LUA_YIELD) {
    lua_pushboolean(L, 1);
    lua_replace(L, 1);
    return lua_gettop(L);
  }
  lua_pushboolean(L, 0);
  lua_insert(L, -2);
  return 2;
}

/* What every task thread runs: the body in a protected call, so that when an
 * error ends the body its __close handlers run inside the task, where they
 * may still await (a TaskGroup or a timeout scope does). */
static int body(lua_State *L) {
  lua_pushcfunction(L, body_handler);
  lua_insert(L, 1);
  return k_body(L, lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 1, 0, k_body), 0);
}

/* The key of a task's accounting record among its extras: not a string,
 * so that looking it up allocates nothing. */
static const char stats_key = 0;

alua__taskstats *alua__task_stats(lua_State *L, int tidx) {
  alua__taskstats *s = NULL;
  if (lua_getiuservalue(L, tidx, TASK_UV_EXTRA) == LUA_TTABLE) {
    lua_rawgetp(L, -1, &stats_key);
    s = lua_touserdata(L, -1);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return s;
}

/* Protected part of make_stats: the task at 1 gets its accounting record,
 * returned. */
static int make_stats_p(lua_State *L) {
  alua__taskstats *s = lua_newuserdatauv(L, sizeof *s, 0);
  memset(s, 0, sizeof *s);
  push_extras(L, 1);
  lua_pushvalue(L, -2);
  lua_rawsetp(L, -2, &stats_key);
  lua_pop(L, 1);
  return 1;
}

/* Gives the task at tidx its accounting record; never raises (out of
 * memory, its steps go unaccounted until one can make it: NULL). */
static alua__taskstats *make_stats(lua_State *L, int tidx) {
  lua_pushcfunction(L, make_stats_p);
  lua_pushvalue(L, tidx);
  alua__taskstats *s = NULL;
  if (lua_pcall(L, 1, 1, 0) == LUA_OK) s = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return s;
}

/* The ready-queue callback of a task: runs its body up to the next await. */
static void step(ac_callback *cb) {
  task *t = ac_container_of(cb, task, step);
  lloop *lp = t->f.loop;
  rt *r = lp->rt;
  lua_State *L = lp->L;
  int top = lua_gettop(L);
  /* The task object is needed on the stack only to cancel, to finish and
   * while observed; otherwise (the common step, the first one too) it
   * stays where its anchor is. */
  int tidx = 0;
  lua_State *co = t->co;
  int nargs = 0;
  if (t->must_cancel) {
    /* Until the resume, an error here (out of memory) must leave the task
     * queued to try again at the next pass, not lost; so nothing below
     * changes the task before what can raise is done. */
    ac_loop_enqueue(&lp->core, &t->step);
    alua__push_anchored(L, lp, t->f.anchor);
    tidx = lua_gettop(L);
  }
  if (t->resume == RESUME_START) {
    if (t->must_cancel) {
      /* cancelled before its first step: the body never runs, and its
       * thread goes back to the pool. get_coro() finds the coroutine
       * object among the extras. */
      push_coro(L, t);
      alua__task_set_extra(L, tidx, "coro");
      forget_coro(L, t);
      lua_settop(co, 0);
      release_thread(L, lp, tidx);
      ac_callback_cancel(&t->step);
      t->must_cancel = t->cancel_delivered = 0;
      finished(t);
      alua__task_get_extra(L, tidx, "cancelmsg");
      alua__future_set_cancelled(L, tidx);
      alua__future_release(L, &t->f);
      lua_settop(L, top);
      return;
    }
    /* nothing here can raise: the body and its arguments wait on co */
    forget_coro(L, t);
    nargs = lua_gettop(co) - 1;
    t->resume = RESUME_OK;
  } else if (t->must_cancel) {
    alua__push_cancelled(L, r, tidx);
    lua_xmove(L, co, 1);
    t->must_cancel = t->cancel_delivered = 0;
    t->resume = RESUME_CANCEL;
    nargs = 1;
    ac_callback_cancel(&t->step);
  } else {
    t->resume = RESUME_OK;
  }
  /* observed: the task comes to the stack for its accounting record */
  alua__taskstats *stats = NULL;
  if (lp->observe) {
    if (!tidx) {
      alua__push_anchored(L, lp, t->f.anchor);
      tidx = lua_gettop(L);
    }
    stats = alua__task_stats(L, tidx);
    if (!stats) stats = make_stats(L, tidx);
  }
  task *prev = r->current;
  r->current = t;
  t->suspended = 0;
  t->cdepth = 0;
  int nres;
  /* debug mode, accounting, recording: the one test while they are off */
  uint64_t start = lp->observe ? alua__observe_step_begin(lp, t, stats) : 0;
  int status = lua_resume(co, L, nargs, &nres);
  while (status == LUA_YIELD && t->unwind) {
    /* an await yielded to empty the C stack (await.c): go on at once; no
     * wait ended, so no continuation may see this step's cancellation */
    t->unwind = 0;
    t->cdepth = 0;
    t->resume = RESUME_OK;
    status = lua_resume(co, L, 0, &nres);
  }
  r->current = prev;
  t->woken = 0;
  if (status == LUA_YIELD && t->suspended && !start) {
    /* parked in an await: the common case, nothing else to do (a
     * park yields no values, and the first step pushed nothing on L) */
    if (nres) lua_pop(co, nres);
    if (lua_gettop(L) != top) lua_settop(L, top);
    return;
  }
  if (!tidx) {
    /* still anchored: the task is pending until this step ends it */
    alua__push_anchored(L, lp, t->f.anchor);
    tidx = lua_gettop(L);
  }
  if (status == LUA_YIELD) {
    lua_pop(co, nres);
    if (!t->suspended) {
      lua_pushliteral(co, "coroutine.yield() inside a task: use await to wait");
      failed_raw(L, t, tidx, co);
    }
  } else if (status == LUA_OK) {
    luaL_checkstack(L, nres + 2, "too many results");
    lua_xmove(co, L, nres);
    release_thread(L, lp, tidx);
    if (lua_toboolean(L, -nres) && t->must_cancel) {
      /* cancelled after its last await, before it returned: as in asyncio,
       * the request still ends it cancelled, its results dropped */
      lua_settop(L, tidx);
      t->must_cancel = t->cancel_delivered = 0;
      finished(t);
      alua__task_get_extra(L, tidx, "cancelmsg");
      alua__future_set_cancelled(L, tidx);
      alua__future_release(L, &t->f);
    } else if (lua_toboolean(L, -nres)) {
      lua_remove(L, -nres);
      finished(t);
      alua__future_set_result(L, tidx, nres - 1);
      alua__future_release(L, &t->f);
    } else {
      failed(L, t, tidx);
    }
  } else {
    failed_raw(L, t, tidx, co);
  }
  if (start) alua__observe_step_end(L, lp, t, tidx, start, stats);
  lua_settop(L, top);
}

/* Pushes the awaited object of a task suspended in an await: the first
 * argument of the C function it yielded from. */
static int push_awaited(lua_State *L, task *t) {
  lua_Debug ar;
  if (!t->co || !lua_getstack(t->co, 0, &ar)) return 0;
  if (!lua_getlocal(t->co, &ar, 1)) return 0;
  lua_xmove(t->co, L, 1);
  return 1;
}

int alua__task_cancel(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  int msg = lua_gettop(L);
  task *t = lua_touserdata(L, idx);
  if (t->f.state != FUT_PENDING) {
    lua_pop(L, 1);
    return 0;
  }
  int running = t == t->f.loop->rt->current;
  /* first, since it may raise (memory): the message, kept until delivered
   * (a nil one needs no table). A request already thrown at the task keeps
   * its own, as asyncio's CancelledError in flight does. */
  if (t->must_cancel && t->cancel_delivered) {
    /* keep it */
  } else if (!lua_isnil(L, msg)) {
    lua_pushvalue(L, msg);
    alua__task_set_extra(L, idx, "cancelmsg");
  } else if (lua_getiuservalue(L, idx, TASK_UV_EXTRA) == LUA_TTABLE) {
    lua_pushnil(L);
    lua_setfield(L, -2, "cancelmsg");
    lua_pop(L, 1);
  } else {
    lua_pop(L, 1);
  }
  t->cancel_requests++;
  int ended = t->woken != 0; /* the wait is over: the task is queued to go on */
  if (t->wait && t->wait->forwards_cancel && !running && push_awaited(L, t)) {
    /* cancel what the task waits on; the task wakes when it completes. A
     * future cancelled already has woken it with its CancelledError. */
    future *a = alua__tofuture(L, -1);
    int gone = a && a->state == FUT_CANCELLED;
    ended = ended || (a && a->state != FUT_PENDING);
    lua_pushvalue(L, msg);
    int ok = alua__future_cancel(L, -2);
    lua_pop(L, 1);
    if (ok || gone) {
      lua_settop(L, msg - 1);
      return 1;
    }
  }
  if (!t->must_cancel) t->cancel_delivered = 0;
  t->must_cancel = 1;
  if (t->co && t->suspended && !running) {
    /* a wait that had not ended is over: that cannot be taken back */
    if (!ended) t->cancel_delivered = 1;
    alua__unpark_for_cancel(t);
  }
  lua_settop(L, msg - 1);
  return 1;
}

static int t_cancelling(lua_State *L) { return alua__retint(L, checktask(L, 1)->cancel_requests); }

static int t_uncancel(lua_State *L) {
  task *t = checktask(L, 1);
  if (t->cancel_requests > 0) t->cancel_requests--;
  /* a request not yet thrown at the task is taken back with the last one */
  if (t->cancel_requests == 0 && !t->cancel_delivered) t->must_cancel = 0;
  lua_pushinteger(L, t->cancel_requests);
  return 1;
}

/* t:set_result(), t:set_exception(): a task's outcome is its function's,
 * as asyncio refuses them too. */
static int t_set_result(lua_State *L) {
  checktask(L, 1);
  return alua__user_error(L, "Task does not support set_result() operation");
}

static int t_set_exception(lua_State *L) {
  checktask(L, 1);
  return alua__user_error(L, "Task does not support set_exception() operation");
}

static int t_get_name(lua_State *L) {
  checktask(L, 1);
  alua__task_pushname(L, 1);
  return 1;
}

static int t_set_name(lua_State *L) {
  checktask(L, 1);
  luaL_checkany(L, 2);
  luaL_tolstring(L, 2, NULL);
  alua__task_set_extra(L, 1, "name");
  return 0;
}

/* t:get_coro(): the coroutine object, until the task's first step. */
static int t_get_coro(lua_State *L) {
  task *t = checktask(L, 1);
  if (!t->co) alua__task_get_extra(L, 1, "coro"); /* done; set when cancelled before it started */
  else if (t->resume == RESUME_START) push_coro(L, t);
  else lua_pushnil(L);
  return 1;
}

/* The function is at index 2 of the thread until the first step (under it
 * `body`), then in the frame called by the outermost one. */
void alua__task_push_body(lua_State *L, task *t) {
  lua_Debug ar;
  int n = 0;
  if (t->co && t->resume == RESUME_START && lua_checkstack(t->co, 1)) {
    lua_pushvalue(t->co, 2);
    lua_xmove(t->co, L, 1);
    return;
  }
  if (t->co)
    while (lua_getstack(t->co, n, &ar)) n++;
  if (n >= 2 && lua_getstack(t->co, n - 2, &ar) && lua_getinfo(t->co, "f", &ar)) lua_xmove(t->co, L, 1);
  else lua_pushcfunction(L, body); /* not reached: a pending task has a body */
}

static int t_tostring(lua_State *L) {
  task *t = checktask(L, 1);
  luaL_Buffer b;
  /* as asyncio: a pending task with a cancel request it has not taken
   * back (uncancel) reads "cancelling", whether it has seen it yet or not */
  alua__repr_begin(L, &b, "Task %s name='", t->f.state == FUT_PENDING     ? (t->cancel_requests > 0 ? "cancelling" : "pending")
                                            : t->f.state == FUT_CANCELLED ? "cancelled"
                                                                          : "finished");
  alua__task_pushname(L, 1);
  luaL_addvalue(&b);
  luaL_addchar(&b, '\'');
  if (t->f.state == FUT_PENDING) {
    alua__task_push_body(L, t);
    int c = lua_gettop(L);
    alua__coro_pushname(L, c);
    lua_Debug ar;
    if (t->co && alua__user_frame(t->co, 0, &ar)) {
      lua_pushfstring(L, " coro=<%s() running at %s:%d>", lua_tostring(L, -1), ar.short_src, ar.currentline);
    } else {
      alua__coro_pushsite(L, c);
      lua_pushfstring(L, " coro=<%s() running at %s>", lua_tostring(L, -2), lua_tostring(L, -1));
      lua_remove(L, -2);
    }
    lua_remove(L, -2);
    lua_remove(L, c);
    luaL_addvalue(&b);
  } else if (t->f.state == FUT_FINISHED) {
    alua__future_describe_outcome(L, &b, 1);
  }
  alua__debug_add_site(L, &b, 1); /* debug mode */
  return alua__repr_end(&b);
}

/* task:get_stack([limit]): the suspended frames, innermost first, as
 * {source =, line =, name =} tables. */
static int t_get_stack(lua_State *L) {
  task *t = checktask(L, 1);
  lua_Integer limit = luaL_optinteger(L, 2, LUA_MAXINTEGER);
  lua_newtable(L);
  if (!t->co) return 1;
  lua_Debug ar;
  int n = 0;
  for (int level = 0; n < limit && lua_getstack(t->co, level, &ar); level++) {
    lua_getinfo(t->co, "Sln", &ar);
    if (ar.currentline <= 0) continue;
    lua_createtable(L, 0, 3);
    lua_pushstring(L, ar.short_src);
    lua_setfield(L, -2, "source");
    lua_pushinteger(L, ar.currentline);
    lua_setfield(L, -2, "line");
    if (ar.name) {
      lua_pushstring(L, ar.name);
      lua_setfield(L, -2, "name");
    }
    lua_rawseti(L, -2, ++n);
  }
  return 1;
}

/* task:print_stack(): writes the task's stack (or its error's traceback) to
 * stderr. */
static int t_print_stack(lua_State *L) {
  task *t = checktask(L, 1);
  lua_settop(L, 1);
  t_tostring(L);
  fprintf(stderr, "Stack for %s:\n", lua_tostring(L, -1));
  if (t->co && t->resume != RESUME_START) {
    luaL_traceback(L, t->co, NULL, 0);
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
  } else if (alua__task_get_extra(L, 1, "traceback") == LUA_TSTRING) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
  } else {
    fprintf(stderr, "No stack for this task.\n");
  }
  fflush(stderr);
  return 0;
}

/* After a function, a trailing plain table is create_task's option table
 * only when `name` is its only key (anything else is an argument of the
 * function). */
static int is_options(lua_State *L, int idx) {
  if (!alua__is_plain_table(L, idx)) return 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING || strcmp(lua_tostring(L, -1), "name") != 0) {
      lua_pop(L, 1);
      return 0;
    }
  }
  return 1;
}

/* True when the value at idx is one of asyncio's own awaitables other than
 * futures and coroutine objects: a sleep, an operation (q:get(), ...). */
static int own_awaitable(lua_State *L, int idx) {
  if (alua__tofuture(L, idx) || !lua_getmetatable(L, idx)) return 0;
  lua_rawgetp(L, -1, &alua__await_key);
  int ok = lua_tocfunction(L, -1) != NULL;
  lua_pop(L, 2);
  return ok;
}

/* internals.own_awaitable(x): asyncio.run's test for a sleep or an
 * operation, which it runs as create_task does. */
static int l_own_awaitable(lua_State *L) { return alua__retbool(L, own_awaitable(L, 1)); }

int alua__create_task_at(lua_State *L, lloop *lp, int first) {
  static const char *const known[] = {"name", NULL};
  int n = lua_gettop(L);
  coro *c = alua__tocoro_rt(L, lp->rt, first);
  if (!c && !lua_isfunction(L, first)) {
    /* a sleep or an operation, what asyncio's own coroutines are: the task
     * runs a coroutine object that awaits it */
    if (!own_awaitable(L, first)) return luaL_typeerror(L, first, "coroutine object or function");
    lua_rawgeti(L, LUA_REGISTRYINDEX, lp->rt->ref_wrap);
    lua_pushvalue(L, first);
    lua_call(L, 1, 1);
    lua_replace(L, first);
    c = alua__tocoro_rt(L, lp->rt, first);
  }
  int coro = c != NULL;
  /* after a coroutine object (which takes no arguments) it always is */
  int opts = n > first && (coro ? alua__is_plain_table(L, n) : is_options(L, n)) ? n : 0;
  if (opts) alua__check_options(L, opts, opts - first + 1, "create_task", known);
  int nargs = (opts ? opts : n + 1) - first - 1;
  if (coro && nargs > 0) return luaL_argerror(L, first + 1, "no arguments expected after a coroutine object");
  newtask(L, lp, first, nargs, c);
  if (opts && lua_getfield(L, opts, "name") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TSTRING) return luaL_argerror(L, opts, "'name' must be a string");
    alua__task_set_extra(L, -2, "name");
  } else if (opts) {
    lua_pop(L, 1);
  }
  return 1;
}

/* asyncio.create_task(coro_or_fn, ... [, {name = ...}]) */
static int l_create_task(lua_State *L) {
  lloop *lp = alua__push_current_loop(L, alua__rt(L));
  lua_pop(L, 1);
  return alua__create_task_at(L, lp, 1);
}

static int l_current_task(lua_State *L) {
  rt *r = alua__rt(L);
  if (!r->current) return 0;
  alua__push_anchored(L, r->current->f.loop, r->current->f.anchor);
  return 1;
}

/* asyncio.all_tasks([loop]): the unfinished tasks of the loop, in creation
 * order. */
static int l_all_tasks(lua_State *L) {
  rt *r = alua__rt(L);
  lloop *lp;
  if (lua_isnoneornil(L, 1)) {
    lp = alua__push_current_loop(L, r);
  } else {
    lp = alua__checkloop(L, 1);
  }
  alua__push_tasks(L, lp);
  return 1;
}

/* coroutine.yield, as alua__open_task installs it. A task's own thread
 * yields to the scheduler only, which would never resume it with what the
 * caller waits for: from there it raises, where the code can catch it and
 * its <close> variables see the error (as asyncio throws "bad yield" into
 * the coroutine). From a coroutine a task runs, and outside tasks, it is
 * Lua's. (A yield that bypasses it, through a copy taken before asyncio
 * was loaded, fails the task in `step`.) */
static int l_coroutine_yield(lua_State *L) {
  rt *r = lua_touserdata(L, lua_upvalueindex(1));
  task *t = r->current;
  if (t && t->co == L) return alua__error_at(L, 1, "coroutine.yield() inside a task: use await to wait");
  return lua_yield(L, lua_gettop(L));
}

void alua__open_task(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg methods[] = {{"cancelling", t_cancelling}, {"uncancel", t_uncancel},
                                     {"get_name", t_get_name},     {"set_name", t_set_name},
                                     {"get_coro", t_get_coro},     {"get_stack", t_get_stack},
                                     {"print_stack", t_print_stack}, {"set_result", t_set_result},
                                     {"set_exception", t_set_exception}, {"__tostring", t_tostring},
                                     {NULL, NULL}};
  alua__newfutureclass(L, r, MT_TASK, methods);
  lua_pushvalue(L, -1);
  r->ref_mt_task = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_setfield(L, internals, "Task");
  lua_pushcfunction(L, l_own_awaitable);
  lua_setfield(L, internals, "own_awaitable");
  static const luaL_Reg funcs[] = {{"create_task", l_create_task},
                                   {"current_task", l_current_task},
                                   {"all_tasks", l_all_tasks},
                                   {NULL, NULL}};
  alua__setfuncs_at(L, r, module, funcs);
  /* where the coroutine library is loaded (a host may load it later) */
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, "coroutine") == LUA_TTABLE) {
    lua_pushlightuserdata(L, r);
    lua_pushcclosure(L, l_coroutine_yield, 1);
    lua_setfield(L, -2, "yield");
  }
  lua_pop(L, 2);
}
