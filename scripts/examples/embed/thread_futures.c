/* Work on the host's own threads, awaited by scripts: each call of
 * slow_square(n, ms) starts a worker thread and returns a host future
 * (alua_future_new); the worker completes it from its thread
 * (alua_future_complete), and the result is pushed on the loop thread.
 * When a script stops waiting (a timeout), the cancellation reaches the
 * host through alua_future_on_cancel and the worker stops early.
 *
 *   cc thread_futures.c $(pkg-config --cflags --libs alua) -lpthread -o thread_futures
 *   ./thread_futures
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <alua.h>

/* One job: owned by the host until its push function frees it. */
typedef struct job {
  alua_future *future;
  long n;
  int ms;               /* how long the work takes */
  atomic_int cancelled; /* set on the loop thread by on_cancel */
} job;

static atomic_int jobs_alive;

/* Loop thread (or the worker, when the state is already closed): delivers
 * the result, or only frees the job when nobody waits for it (L NULL). */
static int push_result(lua_State *L, void *ud) {
  job *j = ud;
  long n = j->n;
  free(j);
  atomic_fetch_sub(&jobs_alive, 1);
  if (!L) return 0;
  if (n < 0) return luaL_error(L, "slow_square: %d is negative", (int)n);
  lua_pushinteger(L, n * n);
  return 1;
}

/* Loop thread: the script stopped waiting; tell the worker. */
static void on_cancel(void *ud) {
  job *j = ud;
  printf("host: job %ld cancelled, its worker stops\n", j->n);
  atomic_store(&j->cancelled, 1);
}

static void *worker(void *arg) {
  job *j = arg;
  for (int i = 0; i < j->ms && !atomic_load(&j->cancelled); i++) usleep(1000); /* the "work" */
  alua_future_complete(j->future, push_result, j); /* any thread; releases the handle */
  return NULL;
}

/* Lua: slow_square(n, ms): a future of n * n, ready after ms milliseconds. */
static int l_slow_square(lua_State *L) {
  long n = (long)luaL_checkinteger(L, 1);
  int ms = (int)luaL_checkinteger(L, 2);
  job *j = calloc(1, sizeof *j);
  if (!j) return luaL_error(L, "not enough memory");
  j->n = n;
  j->ms = ms;
  j->future = alua_future_new(L); /* pushes the Future */
  alua_future_on_cancel(j->future, on_cancel, j);
  atomic_fetch_add(&jobs_alive, 1);
  pthread_t th;
  if (pthread_create(&th, NULL, worker, j) != 0) {
    alua_future_complete(j->future, push_result, j);
    return luaL_error(L, "cannot start a thread");
  }
  pthread_detach(th);
  return 1;
}

static const char script[] =
    "local squares = await asyncio.gather(slow_square(2, 30), slow_square(3, 10), slow_square(4, 20))\n"
    "print('squares: ' .. table.concat(squares, ', '))\n"
    "local ok, err = pcall(asyncio.await, asyncio.wait_for(slow_square(5, 60000), 0.05))\n"
    "print('the slow job: ' .. tostring(err))\n"
    "ok, err = pcall(asyncio.await, slow_square(-1, 1))\n"
    "print('a failing job: ' .. tostring(err))\n";

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  lua_State *L = alua_newstate();
  if (!L) return 1;
  lua_register(L, "slow_square", l_slow_square);
  if (alua_loadbufferx(L, script, strlen(script), "=script", NULL) != LUA_OK || alua_pcallmain(L, 0, 0) != LUA_OK) {
    fprintf(stderr, "thread_futures: %s\n", lua_tostring(L, -1));
    return 1;
  }
  alua_close(L);
  /* the cancelled worker may finish after the state closed: its push
   * then runs on the worker's thread, with L NULL */
  for (int i = 0; i < 5000 && atomic_load(&jobs_alive) > 0; i++) usleep(1000);
  printf("jobs left: %d\n", atomic_load(&jobs_alive));
  return 0;
}
