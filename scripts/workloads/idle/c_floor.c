/* idle, the C floor: N Lua threads each parked on one event (a C array of
 * waiting threads); once all are parked the event is set and they finish.
 * The harness runs this with N and with 0 and divides the difference in
 * max RSS by N: the least memory a parked Lua task can take. */
#include "../floor.h"

static lua_State **waiting;
static long nwaiting;
static long long sum;

static int wait_event(lua_State *co) {
  waiting[nwaiting++] = co;
  return lua_yield(co, 0);
}

static void done(lua_State *co, int nres) { sum += lua_tointeger(co, -nres); }

int main(int argc, char **argv) {
  long n = arg_n(argc, argv, 100000);
  static const luaL_Reg fns[] = {{"wait", wait_event}, {NULL, NULL}};
  lua_State *L = new_state(fns, "local wait = wait return function(i) wait() return i end", 1);
  int fn = lua_gettop(L);
  on_return = done;
  waiting = malloc((size_t)(n + 1) * sizeof *waiting);
  double c0;
  mark_start(&c0);
  lua_createtable(L, (int)n, 0); /* keeps the threads alive, as a task list does */
  int tasks = lua_gettop(L);
  for (long i = 1; i <= n; i++) {
    lua_State *co = lua_newthread(L);
    lua_pushvalue(L, fn);
    lua_xmove(L, co, 1);
    lua_rawseti(L, tasks, i);
    rq_push(co, i);
  }
  run(L); /* every thread runs up to its wait */
  if (nwaiting != n) {
    fprintf(stderr, "floor: %ld of %ld parked\n", nwaiting, n);
    return 1;
  }
  for (long i = 0; i < nwaiting; i++) rq_push(waiting[i], 1);
  run(L);
  mark_end(c0);
  printf("checksum=%ld:%lld\n", n, sum);
  fprintf(stderr, "@maxrss kib=%ld\n", peak_rss_kib());
  lua_close(L);
  return 0;
}
