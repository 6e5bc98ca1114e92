/* Host futures (alua_future_new / _complete / _on_cancel): completed from
 * worker threads and from the loop thread, failed by push, cancelled from
 * Lua (the host hears of it), completed after the state closed, and every
 * push called exactly once (the ud records are counted). */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "alua.h"
#include "check.h"

static pthread_t loop_thread;
static atomic_int live_jobs;    /* job records not freed yet */
static atomic_int null_pushes;  /* push calls with L == NULL */
static atomic_int cancels;      /* on_cancel calls */

/* The work behind one future: wait `ms`, then complete with value * 2. */
typedef struct job {
  alua_future *f;
  int value;
  int ms;
  int fail;             /* push raises instead */
  atomic_int abort;     /* set by on_cancel */
} job;

static int push_job(lua_State *L, void *ud) {
  job *j = ud;
  if (!L) {
    atomic_fetch_add(&null_pushes, 1);
    free(j);
    atomic_fetch_sub(&live_jobs, 1);
    return 0;
  }
  CHECK(pthread_equal(pthread_self(), loop_thread), "push on another thread");
  int value = j->value, fail = j->fail;
  free(j);
  atomic_fetch_sub(&live_jobs, 1);
  if (fail) return luaL_error(L, "job %d failed", value);
  lua_pushinteger(L, value * 2);
  lua_pushliteral(L, "done");
  return 2;
}

static void on_cancel(void *ud) {
  job *j = ud;
  CHECK(pthread_equal(pthread_self(), loop_thread), "on_cancel on another thread");
  atomic_fetch_add(&cancels, 1);
  atomic_store(&j->abort, 1);
}

static void *worker(void *arg) {
  job *j = arg;
  for (int waited = 0; waited < j->ms && !atomic_load(&j->abort); waited++) usleep(1000);
  alua_future_complete(j->f, push_job, j);
  return NULL;
}

static job *new_job(lua_State *L, int value, int ms) {
  job *j = calloc(1, sizeof *j);
  CHECK(j != NULL, "calloc");
  atomic_fetch_add(&live_jobs, 1);
  j->value = value;
  j->ms = ms;
  j->f = alua_future_new(L);
  alua_future_on_cancel(j->f, on_cancel, j);
  return j;
}

/* Lua: work(value, ms [, fail]): a future a worker thread completes. */
static int l_work(lua_State *L) {
  int fail = lua_toboolean(L, 3);
  job *j = new_job(L, (int)luaL_checkinteger(L, 1), (int)luaL_checkinteger(L, 2));
  j->fail = fail;
  pthread_t th;
  CHECK(pthread_create(&th, NULL, worker, j) == 0, "pthread_create");
  pthread_detach(th);
  return 1;
}

/* Lua: now(value): a future completed at once, from the loop thread. */
static int l_now(lua_State *L) {
  job *j = new_job(L, (int)luaL_checkinteger(L, 1), 0);
  alua_future_complete(j->f, push_job, j);
  return 1;
}

/* Lua: held(value): a future whose handle the test keeps (in `held`). */
static job *held;

static int l_held(lua_State *L) {
  held = new_job(L, (int)luaL_checkinteger(L, 1), 0);
  return 1;
}

static void run(lua_State *L, const char *src) {
  int st = alua_loadbufferx(L, src, strlen(src), "=test", NULL);
  CHECK(st == LUA_OK, "load: %s", lua_tostring(L, -1));
  st = alua_pcallmain(L, 0, 0);
  CHECK(st == LUA_OK, "run: %s", lua_tostring(L, -1));
}

static lua_State *new_state(void) {
  lua_State *L = alua_newstate();
  CHECK(L != NULL, "alua_newstate");
  lua_register(L, "work", l_work);
  lua_register(L, "now", l_now);
  lua_register(L, "held", l_held);
  return L;
}

static const char script[] =
    "local r = {}\n"
    "local f = work(21, 5)\n"
    "r[#r + 1] = tostring(f):match('^<Future pending')\n"
    "local v, s = await f\n"
    "r[#r + 1] = v .. ' ' .. s\n"
    "r[#r + 1] = table.concat({await now(5)}, ' ')\n"
    /* many at once, completed in any order */
    "local fs = {}\n"
    "for i = 1, 20 do fs[i] = work(i, 20 - i) end\n"
    "local all = await asyncio.gather(table.unpack(fs))\n"
    "local sum = 0 for i = 1, 20 do sum = sum + all[i] end\n"
    "r[#r + 1] = 'sum ' .. sum\n"
    /* push raises: the error is the future's */
    "local ok, err = pcall(asyncio.await, work(3, 1, true))\n"
    "r[#r + 1] = tostring(ok) .. ' ' .. tostring(err)\n"
    /* a timeout cancels the await, which cancels the future: on_cancel */
    "local ok2, err2 = pcall(asyncio.await, asyncio.wait_for(work(9, 10000), 0.02))\n"
    "r[#r + 1] = tostring(ok2) .. ' ' .. tostring(err2)\n"
    /* set from Lua first: the host's push gets L == NULL */
    "local g = held(4)\n"
    "g:set_result('from lua')\n"
    "r[#r + 1] = await g\n"
    "result = table.concat(r, '\\n')\n";

static const char expected[] =
    "<Future pending\n"
    "42 done\n"
    "10 done\n"
    "sum 420\n"
    "false job 3 failed\n"
    "false TimeoutError\n"
    "from lua";

int main(void) {
  loop_thread = pthread_self();
  lua_State *L = new_state();
  run(L, script);
  lua_getglobal(L, "result");
  CHECK(lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), expected) == 0, "result:\n%s", lua_tostring(L, -1));
  lua_pop(L, 1);
  CHECK(atomic_load(&cancels) == 1, "%d on_cancel calls", atomic_load(&cancels));
  /* the held handle's future was set from Lua: completing it now */
  alua_future_complete(held->f, push_job, held);
  held = NULL;
  CHECK(alua_step(L, 0) >= 0, "step");
  /* the cancelled job's worker completes after on_cancel: wait for it */
  for (int i = 0; i < 2000 && atomic_load(&live_jobs) > 0; i++) {
    alua_step(L, 10);
  }
  CHECK(atomic_load(&live_jobs) == 0, "%d jobs never freed", atomic_load(&live_jobs));
  CHECK(atomic_load(&null_pushes) == 2, "%d push(NULL) calls", atomic_load(&null_pushes));
  printf("futures: ok\n");

  /* on_cancel set after the future was cancelled runs at once */
  run(L, "pending_future = held(1) pending_future:cancel()");
  atomic_store(&cancels, 0);
  alua_future_on_cancel(held->f, on_cancel, held);
  CHECK(atomic_load(&cancels) == 1, "on_cancel after cancel");
  alua_future_complete(held->f, push_job, held);
  CHECK(alua_step(L, 0) >= 0, "step");
  CHECK(atomic_load(&live_jobs) == 0 && atomic_load(&null_pushes) == 3, "freed");
  printf("late on_cancel: ok\n");

  /* the state closes with a task awaiting a worker's future, and one held
   * by the test: both hear on_cancel; the worker completes after the
   * close, held is completed after it too, each with push(NULL) */
  atomic_store(&cancels, 0);
  CHECK(alua_fd(L) >= 0, "alua_fd");
  run(L, "asyncio.create_task(function() local ok, e = pcall(asyncio.await, work(1, 100000)) note = tostring(e) end)\n"
         "kept = held(2)\n");
  CHECK(alua_step(L, 0) == ALUA_MORE, "the task awaits");
  job *h = held;
  alua_close(L);
  CHECK(atomic_load(&cancels) == 2, "%d on_cancel calls at close", atomic_load(&cancels));
  alua_future_complete(h->f, push_job, h);
  for (int i = 0; i < 2000 && atomic_load(&live_jobs) > 0; i++) usleep(1000);
  CHECK(atomic_load(&live_jobs) == 0, "%d jobs never freed", atomic_load(&live_jobs));
  CHECK(atomic_load(&null_pushes) == 5, "%d push(NULL) calls", atomic_load(&null_pushes));
  printf("close: ok\n");
  return 0;
}
