/* pingpong, the C floor: two Lua threads, two unbounded queues in C, N
 * round trips: ping puts i on queue 1 and gets the reply from queue 2; pong
 * gets from 1 and puts v * 2 on 2. A get on an empty queue parks its
 * thread; a put hands the item to the parked getter and makes it ready. */
#include "../floor.h"

typedef struct queue {
  lua_Integer items[64]; /* ring; at most one item waits in this workload */
  int head, n;
  lua_State *getter; /* parked thread, or NULL */
} queue;

static queue qs[3];
static long long sum;

static int put(lua_State *L) {
  queue *q = &qs[lua_tointeger(L, 1)];
  lua_Integer v = lua_tointeger(L, 2);
  if (q->getter) {
    rq_push(q->getter, v);
    q->getter = NULL;
  } else {
    q->items[(q->head + q->n++) % 64] = v;
  }
  return 0;
}

static int get(lua_State *L) {
  queue *q = &qs[lua_tointeger(L, 1)];
  if (q->n > 0) {
    lua_pushinteger(L, q->items[q->head]);
    q->head = (q->head + 1) % 64;
    q->n--;
    return 1;
  }
  q->getter = L;
  return lua_yield(L, 0); /* resumed with the item, which get returns */
}

static void done(lua_State *co, int nres) { sum += lua_tointeger(co, -nres); }

int main(int argc, char **argv) {
  long n = arg_n(argc, argv, 500000);
  static const luaL_Reg fns[] = {{"put", put}, {"get", get}, {NULL, NULL}};
  lua_State *L = new_state(fns,
                           "local put, get = put, get\n"
                           "return function(N) local s = 0 for i = 1, N do put(1, i) s = s + get(2) end return s end,\n"
                           "       function(N) for _ = 1, N do put(2, get(1) * 2) end return 0 end",
                           2);
  on_return = done;
  double c0;
  mark_start(&c0);
  for (int k = 0; k < 2; k++) {
    lua_State *co = lua_newthread(L);
    lua_pushvalue(L, 1 + k);
    lua_xmove(L, co, 1);
    rq_push(co, n);
  }
  run(L);
  mark_end(c0);
  printf("checksum=%ld:%lld\n", n, sum);
  lua_close(L);
  return 0;
}
