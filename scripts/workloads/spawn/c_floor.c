/* spawn, the C floor: N Lua threads, each sleep(0) once (re-queued, then
 * yield) and return its index; the results are summed as they arrive. */
#include "../floor.h"

static long long sum;

static int sleep0(lua_State *co) {
  rq_push(co, 0);
  return lua_yield(co, 0);
}

static void done(lua_State *co, int nres) { sum += lua_tointeger(co, -nres); }

int main(int argc, char **argv) {
  long n = arg_n(argc, argv, 200000);
  static const luaL_Reg fns[] = {{"sleep0", sleep0}, {NULL, NULL}};
  lua_State *L = new_state(fns, "local sleep0 = sleep0 return function(i) sleep0() return i end", 1);
  int fn = lua_gettop(L);
  on_return = done;
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
  run(L);
  mark_end(c0);
  printf("checksum=%ld:%lld\n", n, sum);
  lua_close(L);
  return 0;
}
