/* The Loop type: one event core per loop, anchors that keep scheduled objects
 * alive, and running until a future is done. (Its exception handler is in
 * runtime/report.c.) */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/internal.h"
#include "lua/loop/interrupt.h"
#include "lua/observe/observe.h"
#include "lua/runtime/lazy.h"

lloop *alua__checkloop(lua_State *L, int idx) { return luaL_checkudata(L, idx, MT_LOOP); }

lloop *alua__checkopen(lua_State *L, int idx) {
  lloop *lp = alua__checkloop(L, idx);
  if (lp->closed) luaL_error(L, "event loop is closed");
  return lp;
}

void alua__pushloop(lua_State *L, lloop *lp) { lua_rawgeti(L, LUA_REGISTRYINDEX, lp->selfref); }

/* As luaL_ref and luaL_unref, with the head of the free list in the loop
 * rather than in the table, and no length to look up: a free slot holds
 * the next free one (0 ends the list). */
int alua__anchor(lua_State *L, lloop *lp, int idx) {
  if (lua_isnil(L, idx)) return LUA_REFNIL;
  idx = lua_absindex(L, idx);
  lua_rawgeti(L, LUA_REGISTRYINDEX, lp->ref_anchors);
  int ref = lp->anchor_free;
  if (ref) {
    lua_rawgeti(L, -1, ref);
    lp->anchor_free = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
  } else {
    ref = lp->anchor_top + 1;
  }
  lua_pushvalue(L, idx);
  /* a new slot may grow the table and raise: counted once stored */
  lua_rawseti(L, -2, ref);
  if (ref > lp->anchor_top) lp->anchor_top = ref;
  lua_pop(L, 1);
  lp->nanchors++;
  return ref;
}

void alua__unanchor(lua_State *L, lloop *lp, int ref) {
  if (ref < 0) return; /* LUA_NOREF, or LUA_REFNIL: nil was never stored */
  lp->nanchors--;
  lua_rawgeti(L, LUA_REGISTRYINDEX, lp->ref_anchors);
  lua_pushinteger(L, lp->anchor_free);
  lua_rawseti(L, -2, ref);
  lp->anchor_free = ref;
  lua_pop(L, 1);
}

int alua__anchor_next(const lloop *lp) { return lp->anchor_free ? lp->anchor_free : lp->anchor_top + 1; }

void alua__push_anchored(lua_State *L, lloop *lp, int ref) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, lp->ref_anchors);
  lua_rawgeti(L, -1, ref);
  lua_replace(L, -2);
}

static int by_id(const void *a, const void *b) {
  int x = (*(task *const *)a)->id, y = (*(task *const *)b)->id;
  return (x > y) - (x < y);
}

/* Why a scan of the anchors: the loop anchors every unfinished task (it
 * must hold them), so a task record needs no list link of its own, which
 * would cost every task 16 bytes. Ids grow with creation. */
void alua__push_tasks(lua_State *L, lloop *lp) {
  lua_createtable(L, lp->ntasks, 0);
  if (lp->ntasks == 0 || lp->ref_anchors == LUA_NOREF) return;
  int list = lua_gettop(L);
  task **v = lua_newuserdatauv(L, (size_t)lp->ntasks * sizeof *v, 0);
  lua_rawgeti(L, LUA_REGISTRYINDEX, lp->ref_anchors);
  int n = 0;
  for (int i = 1; i <= lp->anchor_top && n < lp->ntasks; i++) {
    if (lua_rawgeti(L, -1, i) == LUA_TUSERDATA) {
      task *t = alua__totask(L, -1);
      if (t && t->f.loop == lp && t->f.state == FUT_PENDING) v[n++] = t;
    }
    lua_pop(L, 1);
  }
  qsort(v, (size_t)n, sizeof *v, by_id);
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, -1, v[i]->f.anchor);
    lua_rawseti(L, list, i + 1);
  }
  lua_settop(L, list);
}

/* A registry ref of a new table with weak values. */
static int weak_values_ref(lua_State *L) {
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "v");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  return luaL_ref(L, LUA_REGISTRYINDEX);
}

/* Pushes a new loop, on virtual time when virtual_time is set. The loop is
 * always reachable from the registry (selfref) until it is closed, because
 * its tasks point at it. */
static lloop *newloop(lua_State *L, rt *r, int virtual_time) {
  if (r->closing) alua__user_error(L, "cannot create an event loop: the Lua state is closing");
  /* a host may ask for a loop before any name of the module was used */
  alua__lazy_load(L, r, 0);
  lloop *lp = lua_newuserdatauv(L, sizeof *lp, 0);
  memset(lp, 0, sizeof *lp);
  lp->rt = r;
  lp->selfref = lp->ref_anchors = lp->ref_threads = lp->ref_handler = lp->ref_unretrieved = LUA_NOREF;
  lp->ref_leftovers = lp->ref_watchers = lp->ref_coros = LUA_NOREF;
  ac_list_init(&lp->link);
  ac_list_init(&lp->resources);
  lp->closed = 1; /* safe state until the core exists */
  luaL_setmetatable(L, MT_LOOP);
  int rc = ac_loop_init(&lp->core);
  if (rc < 0) luaL_error(L, "cannot create event loop: %s", strerror(-rc));
  lp->closed = 0;
  lp->core.data = lp;
  /* cannot fail: no timer exists yet */
  if (virtual_time) ac_loop_set_virtual_time(&lp->core, 1);
  lp->id = ++r->next_loop_id;
  lp->debug = r->debug;
  lp->slice = ALUA_NO_SLICE;
  alua__observe_update(lp);
  lua_newtable(L);
  lp->ref_anchors = luaL_ref(L, LUA_REGISTRYINDEX);
  /* sized once: returning a thread to the pool must not allocate (a task
   * that ends out of memory would be lost) */
  lua_createtable(L, ALUA_THREAD_POOL_MAX, 0);
  lp->ref_threads = luaL_ref(L, LUA_REGISTRYINDEX);
  lp->ref_unretrieved = weak_values_ref(L);
  lp->ref_coros = weak_values_ref(L);
  lua_pushvalue(L, -1);
  lp->selfref = luaL_ref(L, LUA_REGISTRYINDEX);
  /* Why last: the state's shutdown closes the loops of this list, and a
   * loop that ran out of memory half-built has none of its tables (its
   * finalizer closes its core) */
  ac_list_push_back(&r->loops, &lp->link);
  return lp;
}

lloop *alua__push_current_loop(lua_State *L, rt *r) {
  if (r->running) {
    alua__pushloop(L, r->running);
    return r->running;
  }
  if (r->ref_default_loop != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_default_loop);
    lloop *lp = lua_touserdata(L, -1);
    if (!lp->closed) return lp;
    lua_pop(L, 1);
    luaL_unref(L, LUA_REGISTRYINDEX, r->ref_default_loop);
    /* the ref's slot is free now: a newloop that raises must not leave it */
    r->ref_default_loop = LUA_NOREF;
  }
  lloop *lp = newloop(L, r, r->virtual_time);
  lua_pushvalue(L, -1);
  r->ref_default_loop = luaL_ref(L, LUA_REGISTRYINDEX);
  return lp;
}

static void closeloop(lua_State *L, lloop *lp);

/* True when no callback, timer, descriptor or other thread can ever make
 * progress: waiting any longer would hang forever. */
int alua__loop_stuck(lloop *lp) { return !ac_loop_alive(&lp->core) && !alua__hub_pending(lp->rt); }

void alua__keepalive(lloop *lp, alua__keep *k, int active) {
  int want = active && !k->unref;
  if (want == k->counted) return;
  k->counted = (uint8_t)want;
  lp->nkeep += want ? 1 : -1;
}

int alua__keep_ref(lua_State *L, lloop *lp, alua__keep *k, int active, int ref) {
  k->unref = !ref;
  alua__keepalive(lp, k, active);
  lua_settop(L, 1);
  return 1;
}

/* Raises KeyboardInterrupt, as Ctrl+C does in Python. */
static int raise_keyboard_interrupt(lua_State *L, rt *r) {
  alua__push_error(L, r, "KeyboardInterrupt", NULL);
  return lua_error(L);
}

/* after_pass when something may be due: each step checks for itself. */
static __attribute__((noinline)) void after_pass_work(lua_State *L, lloop *lp) {
  alua__interrupt_poll(L, lp);
  alua__aw_pass_end(L, lp->rt);
  alua__observe_poll(L);
  alua__hub_drain(L, lp->rt);
  if (lp->rt->fresh_failures) alua__report_fresh_failures(L, lp);
}

void alua__after_pass(lua_State *L, lloop *lp) {
  rt *r = lp->rt;
  /* the common pass, after which nothing is due, only counts itself; one
   * condition per step of after_pass_work (a new step adds its own) */
  if (__atomic_load_n(&r->interrupts, __ATOMIC_RELAXED) || alua__aw_pass_due(r) || alua__quit_pending ||
      alua__hub_pending(r) || r->fresh_failures) {
    after_pass_work(L, lp);
    return;
  }
  alua__aw_pass_count(r);
}

/* Marks lp running on L, or not running (L NULL); returns the loop that
 * work posted from other threads went to before. */
static ac_loop *set_running(lua_State *L, lloop *lp, ac_loop *posts) {
  rt *r = lp->rt;
  lp->running = L != NULL;
  lp->L = L;
  r->running = L ? lp : NULL;
  if (!L) lp->stopping = 0;
  if (L) {
    r->thread = pthread_self();
    alua__observe_update(lp);
  }
  return alua__hub_target(r, L ? &lp->core : posts);
}

/* How run() was called: a run_until_complete / run_forever, or a top-level
 * await (whose cancellation the main chunk sees as a task would). */
enum { RUN_CALL, RUN_TOPLEVEL };

/* What run() hands its protected part. */
struct passes {
  lloop *lp;        /* the loop */
  int withf;        /* wait for the future at 2, else until stop() */
  int claimed;      /* the future is what Ctrl+C cancels */
  int interrupted;  /* Ctrl+C came with no main task: stop the run */
  const char *err;  /* why the passes stopped early, or NULL */
};

/* Protected part of run(): the passes themselves. Returns the deadlock
 * report when nothing can ever complete the future (read while the loop
 * still runs). */
static int p_passes(lua_State *L) {
  struct passes *p = lua_touserdata(L, 1);
  lloop *lp = p->lp;
  rt *r = lp->rt;
  future *f = p->withf ? alua__tofuture(L, 2) : NULL;
  /* stop() checked after each pass: called before the run, it still lets
   * one pass run, as in asyncio */
  while (!f || f->state == FUT_PENDING) {
    if (f && alua__loop_stuck(lp)) {
      alua__push_deadlock_report(L, lp, 2);
      return 1;
    }
    int rc = ac_loop_run_once(&lp->core, 1);
    if (rc < 0 && rc != -EINTR) {
      p->err = strerror(-rc);
      break;
    }
    alua__after_pass(L, lp);
    if (r->unclaimed && !p->claimed) {
      p->interrupted = 1;
      break;
    }
    if (lp->stopping) break;
  }
  if (f && f->state != FUT_PENDING && !p->err && !p->interrupted && !lp->stopping &&
      (!ac_loop_is_virtual_time(&lp->core) || ac_loop_due_now(&lp->core))) {
    /* asyncio stops from a done callback of f: the pass after the one that
     * completed f runs what was queued by then (f's done callbacks, calls
     * made by its last step, timers now due) before run returns. On
     * virtual time that pass must not jump the clock to a later timer. */
    int rc = ac_loop_run_once(&lp->core, 0);
    if (rc < 0 && rc != -EINTR) p->err = strerror(-rc);
    alua__after_pass(L, lp);
  }
  return 0;
}

/* Runs passes until the future at idx is done (idx 0: until stop()), then
 * the pass that asyncio's stop-from-a-done-callback runs; the loop must not
 * be running already. When nothing can ever complete the future, raises
 * the deadlock report. The future is what Ctrl+C cancels (interrupt.h)
 * unless something else is; when Ctrl+C did cancel it, a
 * run_until_complete raises KeyboardInterrupt instead of its
 * CancelledError, as asyncio.run does. Without a future, Ctrl+C stops the
 * loop with KeyboardInterrupt. An error escaping a pass (out of memory)
 * leaves the loop not running before it propagates. */
static void run(lua_State *L, lloop *lp, int idx, int level, int how) {
  rt *r = lp->rt;
  future *f = idx ? alua__tofuture(L, idx) : NULL;
  if (lp->closed) alua__error_at(L, level, "event loop is closed");
  if (lp->running) alua__error_at(L, level, "this event loop is already running");
  if (r->running) alua__error_at(L, level, "cannot run an event loop while another loop is running");
  lua_pushcfunction(L, p_passes);
  int claimed = f && alua__interrupt_claim(L, idx);
  struct passes p = {lp, idx != 0, claimed, 0, NULL};
  lua_pushlightuserdata(L, &p);
  if (idx) lua_pushvalue(L, idx);
  else lua_pushnil(L);
  ac_loop *posts = set_running(L, lp, NULL);
  int token = alua__sigint_acquire(L, ALUA_SIGINT_RUN);
  int status = lua_pcall(L, 2, 1, 0);
  int cancels = claimed ? alua__interrupt_unclaim(L) : 0;
  alua__sigint_release(L, token);
  set_running(NULL, lp, posts);
  if (status != LUA_OK) lua_error(L);
  if (lua_isstring(L, -1)) alua__error_at(L, level, "%s", lua_tostring(L, -1));
  lua_pop(L, 1);
  if (p.err) alua__error_at(L, level, "%s", p.err);
  if (p.interrupted) {
    r->unclaimed = 0;
    raise_keyboard_interrupt(L, r);
  }
  if (cancels && f->state == FUT_CANCELLED) {
    /* as asyncio.run: unless something else cancelled it too (uncancel()
     * says so), the cancellation was Ctrl+C's */
    if (f->kind == KIND_TASK && --((task *)f)->cancel_requests > 0) return;
    if (how == RUN_TOPLEVEL) r->toplevel_cancelled = 1;
    else raise_keyboard_interrupt(L, r);
  }
}

void alua__run_until(lua_State *L, lloop *lp, int idx, int level) {
  alua__checkfuture(L, idx);
  run(L, lp, lua_absindex(L, idx), level, RUN_TOPLEVEL);
}

/* Cancels every unfinished task of lp. They are listed first, because a
 * cancellation may finish other tasks meanwhile. */
static void cancel_all(lua_State *L, lloop *lp) {
  alua__push_tasks(L, lp);
  int list = lua_gettop(L);
  int n = (int)lua_rawlen(L, list);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, list, i);
    lua_pushnil(L);
    alua__future_cancel(L, -2);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* What run_tasks runs passes for, besides unfinished tasks. */
enum {
  TASKS_ONLY,   /* closing the state: the tasks' cleanup */
  TASKS_KEEP,   /* program end: and what keeps a program alive (SPEC 2.2) */
  TASKS_DUE     /* asyncio.run's end: and what is due at once, a bounded number of passes */
};

/* Protected part of run_tasks: lp at 1 and the interrupted flag at 2 (light
 * userdata), the TASKS_* mode at 3. Returns the poller's status and the
 * deadlock report, or nil. */
static int p_run_tasks(lua_State *L) {
  lloop *lp = lua_touserdata(L, 1);
  int *interrupted = lua_touserdata(L, 2);
  int mode = (int)lua_tointeger(L, 3);
  rt *r = lp->rt;
  int rc = 0, due = 100;
  for (;;) {
    int more = lp->ntasks > 0 || (mode == TASKS_KEEP && lp->nkeep > 0 && !*interrupted) ||
               (mode == TASKS_DUE && due-- > 0 && ac_loop_due_now(&lp->core));
    if (!more || alua__loop_stuck(lp) || lp->stopping) break;
    rc = ac_loop_run_once(&lp->core, 1);
    if (rc < 0 && rc != -EINTR) break;
    rc = 0;
    alua__after_pass(L, lp);
    if (r->unclaimed) {
      r->unclaimed = 0;
      if (!*interrupted) cancel_all(L, lp);
      *interrupted = 1;
    }
  }
  lua_pushinteger(L, rc);
  /* the report reads the tasks as they wait: before the loop closes */
  if (rc == 0 && lp->ntasks > 0 && alua__loop_stuck(lp)) alua__push_deadlock_report(L, lp, 0);
  else lua_pushnil(L);
  return 2;
}

/* Runs lp (not running) until its tasks are done (and what the TASKS_*
 * mode adds) or nothing can make progress; returns 0 or a negative errno
 * from the poller, and pushes the deadlock report when tasks are left that
 * nothing can wake, else nil. Ctrl+C cancels the tasks (their cleanup runs)
 * and stops waiting for the rest: *interrupted is set then. Errors escaping
 * a pass propagate once the loop is no longer running. */
static int run_tasks(lua_State *L, lloop *lp, int mode, int *interrupted) {
  *interrupted = 0;
  lua_pushcfunction(L, p_run_tasks);
  lua_pushlightuserdata(L, lp);
  lua_pushlightuserdata(L, interrupted);
  lua_pushinteger(L, mode);
  ac_loop *posts = set_running(L, lp, NULL);
  int token = alua__sigint_acquire(L, ALUA_SIGINT_RUN);
  int status = lua_pcall(L, 3, 2, 0);
  alua__sigint_release(L, token);
  set_running(NULL, lp, posts);
  if (status != LUA_OK) lua_error(L);
  int rc = (int)lua_tointeger(L, -2);
  lua_remove(L, -2);
  return rc;
}

/* internals.run_due(loop): asyncio.run's last passes, once its leftover
 * tasks are done: what they queued as they ended (their done callbacks: a
 * server closing their connections) runs before the loop closes, as in the
 * shutdown steps of Python's asyncio.run. At most 100 passes, so that a
 * callback that schedules itself again cannot hold the shutdown. */
static int l_run_due(lua_State *L) {
  lloop *lp = alua__checkopen(L, 1);
  if (lp->running) return luaL_error(L, "this event loop is already running");
  int interrupted;
  int rc = run_tasks(L, lp, TASKS_DUE, &interrupted);
  if (rc < 0) return luaL_error(L, "event loop failed: %s", strerror(-rc));
  if (!lua_isnil(L, -1)) return lua_error(L);
  if (interrupted) return raise_keyboard_interrupt(L, lp->rt);
  return 0;
}

/* internals.finish_tasks(): at program end, runs the default loop while
 * anything could still run user code (SPEC 2.2: unfinished tasks, and the
 * handles, servers and watchers not unref()'d) and something can make
 * progress, then closes it. Ctrl+C cancels the tasks (their cleanup runs),
 * stops waiting for the rest, and raises KeyboardInterrupt. */
static int l_finish_tasks(lua_State *L) {
  rt *r = alua__rt(L);
  if (r->ref_default_loop == LUA_NOREF || r->running) return 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_default_loop);
  lloop *lp = lua_touserdata(L, -1);
  if (lp->closed) return 0;
  int interrupted;
  int rc = run_tasks(L, lp, TASKS_KEEP, &interrupted);
  if (rc < 0) return luaL_error(L, "event loop failed: %s", strerror(-rc));
  int stuck = !lua_isnil(L, -1);
  closeloop(L, lp);
  if (stuck) return lua_error(L);
  if (interrupted) return raise_keyboard_interrupt(L, r);
  return 0;
}

void alua__ensure_future(lua_State *L, lloop *lp, int idx) {
  idx = lua_absindex(L, idx);
  future *f = alua__tofuture_rt(L, lp->rt, idx);
  if (f) {
    alua__future_taken(lp->rt, f);
    return;
  }
  if (alua__tocoro_rt(L, lp->rt, idx) || lua_isfunction(L, idx)) {
    alua__newtask(L, lp, idx, 0);
  } else {
    lua_rawgeti(L, LUA_REGISTRYINDEX, lp->rt->ref_wrap);
    lua_pushvalue(L, idx);
    lua_call(L, 1, 1);
    alua__newtask(L, lp, lua_gettop(L), 0);
    lua_remove(L, -2);
  }
  lua_replace(L, idx);
}

/* loop:run_until_complete(aw): runs until aw is done and returns its results. */
static int l_run_until_complete(lua_State *L) {
  lloop *lp = alua__checkopen(L, 1);
  luaL_checkany(L, 2);
  lua_settop(L, 2);
  alua__ensure_future(L, lp, 2);
  run(L, lp, 2, 1, RUN_CALL);
  if (alua__tofuture(L, 2)->state == FUT_PENDING) return luaL_error(L, "event loop stopped before the future completed");
  return alua__future_push_result(L, 2);
}

static int l_run_forever(lua_State *L) {
  lloop *lp = alua__checkopen(L, 1);
  run(L, lp, 0, 1, RUN_CALL);
  return 0;
}

static int l_stop(lua_State *L) {
  lloop *lp = alua__checkloop(L, 1);
  lp->stopping = 1;
  ac_loop_wake(&lp->core);
  return 0;
}

/* Removes the signal handlers, shuts the worker pool down (waiting for its
 * jobs) and closes the core. L is NULL in a finalizer at state close:
 * anchors are left alone then. Otherwise what is still there once close has
 * torn down its own (handlers, jobs) is recorded as left behind. */
static void teardown(lua_State *L, lloop *lp) {
  alua__host_loop_closing(L, lp);
  alua__watchers_close(L, lp);
  alua__signals_close(L, lp);
  alua__executor_close(L, lp);
  if (L) alua__leftovers_record(L, lp);
  ac_list_remove(&lp->link);
  lp->closed = 1;
  ac_loop_close(&lp->core);
}

static void closeloop(lua_State *L, lloop *lp) {
  if (lp->closed) return;
  alua__report_unretrieved(L, lp);
  teardown(L, lp);
  luaL_unref(L, LUA_REGISTRYINDEX, lp->ref_threads);
  lp->ref_threads = LUA_NOREF;
  luaL_unref(L, LUA_REGISTRYINDEX, lp->ref_handler);
  lp->ref_handler = LUA_NOREF;
  luaL_unref(L, LUA_REGISTRYINDEX, lp->selfref);
  lp->selfref = LUA_NOREF;
}

int alua__shutdown(lua_State *L) {
  rt *r = alua__rt_state(L);
  if (!r) return 0;
  /* os.exit(code, true) from code a loop runs: no loop can run now */
  while (!r->running && !ac_list_empty(&r->loops)) {
    lloop *lp = ac_container_of(r->loops.next, lloop, link);
    alua__pushloop(L, lp);
    if (lp->ntasks > 0) {
      int interrupted;
      cancel_all(L, lp);
      run_tasks(L, lp, TASKS_ONLY, &interrupted);
      lua_pop(L, 1);
    }
    closeloop(L, lp);
    lua_pop(L, 1);
  }
  r->closing = 1;
  lua_pushlightuserdata(L, r);
  return 1;
}

/* loop:close(), and __close: `local loop <close> = asyncio.new_event_loop()`
 * closes it when the scope ends. */
static int l_close(lua_State *L) {
  lloop *lp = alua__checkloop(L, 1);
  if (lp->running) return luaL_error(L, "cannot close a running event loop");
  closeloop(L, lp);
  return 0;
}

/* Only reached once the loop is closed (an open loop is held by selfref) or
 * when the state closes. */
static int l_gc(lua_State *L) {
  lloop *lp = alua__gc_self(L);
  if (!lp->closed) teardown(NULL, lp);
  luaL_unref(L, LUA_REGISTRYINDEX, lp->ref_anchors);
  lp->ref_anchors = LUA_NOREF;
  luaL_unref(L, LUA_REGISTRYINDEX, lp->ref_coros);
  lp->ref_coros = LUA_NOREF;
  luaL_unref(L, LUA_REGISTRYINDEX, lp->ref_leftovers);
  lp->ref_leftovers = LUA_NOREF;
  return 0;
}

static int l_is_running(lua_State *L) { return alua__retbool(L, alua__checkloop(L, 1)->running); }

static int l_is_closed(lua_State *L) { return alua__retbool(L, alua__checkloop(L, 1)->closed); }

/* loop:time(): seconds on the loop's clock (from 0 under virtual time). */
static int l_time(lua_State *L) {
  lloop *lp = alua__checkloop(L, 1);
  lua_pushnumber(L, (lua_Number)ac_loop_update_time(&lp->core) / 1e9);
  return 1;
}

/* loop:is_virtual_time(): true when the loop runs on virtual time. */
static int l_is_virtual_time(lua_State *L) {
  return alua__retbool(L, ac_loop_is_virtual_time(&alua__checkloop(L, 1)->core));
}

static int l_create_future(lua_State *L) {
  alua__newfuture(L, alua__checkopen(L, 1));
  return 1;
}

/* loop:create_task(coro_or_fn, ... [, {name = ...}]): as asyncio.create_task,
 * on this loop. */
static int l_create_task(lua_State *L) { return alua__create_task_at(L, alua__checkopen(L, 1), 2); }

static int l_set_exception_handler(lua_State *L) {
  lloop *lp = alua__checkloop(L, 1);
  if (!lua_isnil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
  luaL_unref(L, LUA_REGISTRYINDEX, lp->ref_handler);
  lua_settop(L, 2);
  lp->ref_handler = lua_isnil(L, 2) ? LUA_NOREF : luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

static int l_get_exception_handler(lua_State *L) {
  lloop *lp = alua__checkloop(L, 1);
  if (lp->ref_handler == LUA_NOREF) lua_pushnil(L);
  else lua_rawgeti(L, LUA_REGISTRYINDEX, lp->ref_handler);
  return 1;
}

static int l_tostring(lua_State *L) {
  lloop *lp = alua__checkloop(L, 1);
  lua_pushfstring(L, "<Loop running=%s closed=%s>", lp->running ? "true" : "false", lp->closed ? "true" : "false");
  return 1;
}

/* asyncio.ensure_future(aw): aw itself if it is a future or a task, else a
 * task running it (coroutine objects, functions, __await objects). */
static int l_ensure_future(lua_State *L) {
  rt *r = alua__rt(L);
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  future *f = alua__tofuture(L, 1);
  if (f) {
    alua__future_taken(r, f);
    return 1;
  }
  if (!lua_isfunction(L, 1) && !alua__isawaitable(L, 1)) return luaL_typeerror(L, 1, "awaitable");
  lua_settop(L, 1);
  lloop *lp = alua__push_current_loop(L, r);
  lua_pop(L, 1);
  alua__ensure_future(L, lp, 1);
  return 1;
}

static int l_get_running_loop(lua_State *L) {
  rt *r = alua__rt(L);
  if (!r->running) return luaL_error(L, "no running event loop");
  alua__pushloop(L, r->running);
  return 1;
}

static int l_get_event_loop(lua_State *L) {
  alua__push_current_loop(L, alua__rt(L));
  return 1;
}

/* asyncio.new_event_loop([{virtual_time = bool}]): a new loop; without the
 * option it runs on virtual time when the program asked for that
 * (alua --virtual-time). */
static int l_new_event_loop(lua_State *L) {
  rt *r = alua__rt(L);
  int virtual_time = r->virtual_time;
  static const char *const known[] = {"virtual_time", NULL};
  alua__check_options(L, 1, 1, "new_event_loop", known);
  if (!lua_isnoneornil(L, 1) && lua_getfield(L, 1, "virtual_time") != LUA_TNIL) {
    if (!lua_isboolean(L, -1))
      return alua__user_error(L, "bad option 'virtual_time' to 'new_event_loop' (boolean expected, got %s)",
                              luaL_typename(L, -1));
    virtual_time = lua_toboolean(L, -1);
  }
  newloop(L, r, virtual_time);
  return 1;
}

/* asyncio.set_event_loop(loop): the loop get_event_loop returns outside a
 * running loop. */
static int l_set_event_loop(lua_State *L) {
  rt *r = alua__rt(L);
  alua__checkloop(L, 1);
  lua_settop(L, 1);
  luaL_unref(L, LUA_REGISTRYINDEX, r->ref_default_loop);
  r->ref_default_loop = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

/* internals.swap_default_loop(loop or nil): installs the default loop and
 * returns the previous one (or nil). */
static int l_swap_default_loop(lua_State *L) {
  rt *r = alua__rt(L);
  if (!lua_isnil(L, 1)) alua__checkloop(L, 1);
  lua_settop(L, 1);
  if (r->ref_default_loop == LUA_NOREF) lua_pushnil(L);
  else lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_default_loop);
  luaL_unref(L, LUA_REGISTRYINDEX, r->ref_default_loop);
  lua_pushvalue(L, 1);
  r->ref_default_loop = lua_isnil(L, -1) ? (lua_pop(L, 1), LUA_NOREF) : luaL_ref(L, LUA_REGISTRYINDEX);
  return 1;
}

void alua__open_loop(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg methods[] = {
      {"run_until_complete", l_run_until_complete},
      {"run_forever", l_run_forever},
      {"stop", l_stop},
      {"close", l_close},
      {"is_running", l_is_running},
      {"is_closed", l_is_closed},
      {"time", l_time},
      {"is_virtual_time", l_is_virtual_time},
      {"create_future", l_create_future},
      {"create_task", l_create_task},
      {"set_exception_handler", l_set_exception_handler},
      {"get_exception_handler", l_get_exception_handler},
      {"__gc", l_gc},
      {"__tostring", l_tostring},
      {"__close", l_close},
      {NULL, NULL}};
  alua__newclass(L, r, MT_LOOP, methods);
  lua_setfield(L, internals, "Loop");
  static const luaL_Reg funcs[] = {{"get_running_loop", l_get_running_loop},
                                   {"get_event_loop", l_get_event_loop},
                                   {"new_event_loop", l_new_event_loop},
                                   {"set_event_loop", l_set_event_loop},
                                   {"ensure_future", l_ensure_future},
                                   {NULL, NULL}};
  alua__setfuncs_at(L, r, module, funcs);
  static const luaL_Reg internal[] = {
      {"swap_default_loop", l_swap_default_loop}, {"finish_tasks", l_finish_tasks}, {"run_due", l_run_due}, {NULL, NULL}};
  alua__setfuncs_at(L, r, internals, internal);
}
