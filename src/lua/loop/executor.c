/* The loop's worker pool: blocking work off the loop thread, as C jobs
 * (alua__job, see internal.h) completed through futures. Files and DNS
 * submit jobs; so do loop:run_in_executor and asyncio.to_thread, whose jobs
 * run a Lua function in a Lua state of the worker thread's own (worker.c).
 *
 * Lifetimes. The pool starts with the first job and its threads are started
 * lazily by the core; it is shut down when the loop closes. A job record lives
 * from submission until its `done` callback ran on the loop thread (or until
 * the loop closes); the future it completes is anchored in the loop meanwhile.
 * Cancelling that future (cancelling the task awaiting it) marks the job
 * abandoned: a job still queued is dropped, a running Lua function is stopped
 * at its next count hook, and whatever result comes is dropped. While any job
 * is outstanding, it counts as the core's external work: the loop does not
 * report a deadlock, and a virtual clock waits for it in real time. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lua/internal.h"
#include "lua/observe/observe.h"

typedef struct lexecutor {
  ac_pool pool;   /* worker threads, started lazily by the core */
  ac_list jobs;   /* submitted jobs whose `done` has not run yet */
} lexecutor;

static void work_trampoline(ac_work *w) {
  alua__job *j = ac_container_of(w, alua__job, w);
  j->work(j);
}

/* The job's future completed before the job did (cancelled, or set by hand):
 * nobody wants the outcome any more. */
static void on_future_done(ac_callback *cb) {
  alua__job *j = ac_container_of(cb, alua__job, watch);
  __atomic_store_n(&j->abandoned, 1, __ATOMIC_SEQ_CST);
  /* still queued: it never runs, and its `done` comes at once */
  ac_pool_cancel(&j->loop->executor->pool, &j->w);
}

/* Protected: j->complete for the job at 1 (light userdata), future at 2;
 * a job whose work never ran (the pool shut down first) fails it. */
static int complete_p(lua_State *L) {
  alua__job *j = lua_touserdata(L, 1);
  if (j->w.state != AC_WORK_DONE) return luaL_error(L, "the worker pool shut down before the job could run");
  j->complete(L, j, 2);
  return 0;
}

/* Protected: fails the future at 2 with the error at 1. */
static int fail_p(lua_State *L) {
  lua_pushvalue(L, 1);
  alua__future_set_error(L, 2);
  return 0;
}

/* Loop thread, once the job ended: completes the future if anyone still
 * waits for it, then frees the job. */
static void job_done(ac_callback *cb) {
  alua__job *j = ac_container_of(ac_work_of(cb), alua__job, w);
  lloop *lp = j->loop;
  lua_State *L = lp->L;
  int top = lua_gettop(L);
  ac_loop_external_end(&lp->core);
  ac_list_remove(&j->link);
  ac_callback_cancel(&j->watch);
  alua__push_anchored(L, lp, j->futref);
  int fidx = lua_gettop(L);
  future *f = lua_touserdata(L, fidx);
  int failed = 0;
  if (f && f->state == FUT_PENDING) {
    lua_pushcfunction(L, complete_p);
    lua_pushlightuserdata(L, j);
    lua_pushvalue(L, fidx);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK && f->state == FUT_PENDING) {
      lua_pushcfunction(L, fail_p);
      lua_insert(L, -2);
      lua_pushvalue(L, fidx);
      failed = lua_pcall(L, 2, 0, 0) != LUA_OK;
    }
  }
  /* out of memory even to fail the future: the job is freed all the same,
   * then the error goes up through the loop's run */
  if (failed) lua_copy(L, -1, top + 1);
  lua_settop(L, top + failed);
  alua__unanchor(L, lp, j->futref);
  j->futref = LUA_NOREF;
  j->release(j);
  if (failed) lua_error(L);
}

/* Protected: pushes a new future of the loop at 1 and its anchor. */
static int newfuture_p(lua_State *L) {
  lloop *lp = lua_touserdata(L, 1);
  alua__newfuture(L, lp);
  /* reports: a task awaiting it waits for a worker thread */
  alua__future_label(L, -1, "worker thread", 0);
  lua_pushinteger(L, alua__anchor(L, lp, -1));
  return 2;
}

future *alua__executor_submit(lua_State *L, lloop *lp, alua__job *j) {
  if (lp->closed) {
    j->release(j);
    luaL_error(L, "event loop is closed");
  }
  lexecutor *x = lp->executor;
  if (!x) {
    x = calloc(1, sizeof *x);
    int rc = x ? ac_pool_init(&x->pool, &lp->core, 0) : -ENOMEM;
    if (rc < 0) {
      free(x);
      j->release(j);
      luaL_error(L, "cannot create the worker pool: %s", strerror(-rc));
    }
    ac_list_init(&x->jobs);
    lp->executor = x;
  }
  lua_pushcfunction(L, newfuture_p);
  lua_pushlightuserdata(L, lp);
  if (lua_pcall(L, 1, 2, 0) != LUA_OK) {
    j->release(j);
    lua_error(L);
  }
  j->futref = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  future *f = lua_touserdata(L, -1);
  ac_work_init(&j->w, work_trampoline, job_done);
  j->abandoned = 0;
  j->loop = lp;
  ac_callback_init(&j->watch, on_future_done);
  ac_list_init(&j->link);
  int rc = ac_pool_submit(&x->pool, &j->w);
  if (rc < 0) {
    alua__unanchor(L, lp, j->futref);
    j->release(j);
    luaL_error(L, "cannot start a worker thread: %s", strerror(-rc));
  }
  /* Why this is safe after the submit: `done` only runs on this thread, at a
   * later pass. */
  ac_list_push_back(&f->waiters, &j->watch.link);
  ac_list_push_back(&x->jobs, &j->link);
  ac_loop_external_begin(&lp->core);
  return f;
}

void alua__executor_close(lua_State *L, lloop *lp) {
  lexecutor *x = lp->executor;
  if (!x) return;
  for (ac_list *p = x->jobs.next; p != &x->jobs; p = p->next)
    __atomic_store_n(&ac_container_of(p, alua__job, link)->abandoned, 1, __ATOMIC_SEQ_CST);
  ac_pool_shutdown(&x->pool);
  /* Every worker has exited; the `done` of each job left is posted (or
   * queued) but will never run: take it off the core's list and drop it. */
  ac_list *n;
  while ((n = ac_list_pop_front(&x->jobs))) {
    alua__job *j = ac_container_of(n, alua__job, link);
    pthread_mutex_lock(&lp->core.post_mu);
    ac_callback_cancel(&j->w.done);
    pthread_mutex_unlock(&lp->core.post_mu);
    ac_callback_cancel(&j->watch);
    if (L) alua__unanchor(L, lp, j->futref);
    ac_loop_external_end(&lp->core);
    j->release(j);
  }
  free(x);
  lp->executor = NULL;
}
