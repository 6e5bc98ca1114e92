/* Queues: asyncio.Queue (first in, first out), LifoQueue and PriorityQueue.
 *
 * Items live in a Lua table (uservalue QUV_ITEMS) of `cap` slots used as a
 * ring: the queue's position i is slot (head + i) mod cap, plus one. LIFO
 * and priority queues never take from the front, so their head stays 0 and
 * the items sit in slots 1..count (a binary heap for PriorityQueue).
 *
 * Waiting works as in asyncio: a get that finds the queue empty (a put that
 * finds it full) parks its task on `getters` (`putters`); each put wakes the
 * first getter and each get the first putter. A woken task retries when it
 * runs; if another task got there first it parks again at the front, so its
 * turn is kept. A task that is woken and then cancelled before it runs
 * passes the wake-up to the next waiter, so no item and no free slot is ever
 * left unclaimed, and a cancelled get or put has not happened.
 *
 * q:get(), q:put(v) and q:join() return operation objects (ops.c) that
 * the queue creates once: the hot path allocates nothing. Each queue has a
 * metatable of its own, which holds q.maxsize and get/put/join closures
 * bound to the queue and its operations, so those calls skip the type check
 * (an identity test suffices). The other methods come from the shared
 * class, the metatable's metatable. */
#include <limits.h>

#include "lua/internal.h"
#include "lua/runtime/peek.h"
#include "lua/runtime/site.h"

enum { Q_FIFO, Q_LIFO, Q_PRIORITY };
static const char *const kind_names[] = {"Queue", "LifoQueue", "PriorityQueue"};

/* Uservalues of a queue. */
enum { QUV_ITEMS = 1, QUV_GET, QUV_PUT, QUV_JOIN, QUV_LESS, QUV_N = QUV_LESS };

/* Operation kinds, and the uservalues of a put (its queue, its value). */
enum { OP_GET, OP_PUT, OP_JOIN };
enum { OPUV_QUEUE = 1, OPUV_VALUE, OPUV_N = OPUV_VALUE };

#define MT_QUEUE "asyncio.Queue"
#define MT_QUEUE_OP "asyncio.Queue operation"

/* The helpers of the get and put paths (and of the bound methods), inlined
 * into them whatever the profile build's training (the test suite, where
 * queues are not hot) would decide. */
#define HOT static inline __attribute__((always_inline))

/* Marks the per-queue metatables. */
static const char queue_key = 0;

/* Smallest table once a queue holds items; beyond SHRINK_MIN slots the
 * table halves when it falls below a quarter full. */
#define INITIAL_CAP 8
#define SHRINK_MIN 64

typedef struct queue {
  lua_Integer maxsize;    /* most items held; 0 for no limit */
  lua_Integer count;      /* items held now */
  lua_Integer head;       /* slot index (0-based) of the first item; FIFO only */
  lua_Integer cap;        /* slots in the items table */
  lua_Integer unfinished; /* items put and not yet marked task_done */
  ac_list getters;        /* tasks parked in get, first come first */
  ac_list putters;        /* tasks parked in put; each keeps its item on its own stack */
  ac_list joiners;        /* tasks parked in join */
  alua__op *ops[3];       /* its own get, put and join operations (uservalues QUV_GET..QUV_JOIN) */
  uint8_t kind;           /* Q_FIFO, Q_LIFO or Q_PRIORITY */
  uint8_t shutdown;       /* shutdown() was called */
  uint8_t has_less;       /* PriorityQueue ordered by a comparator (QUV_LESS) */
} queue;

static queue *toqueue(lua_State *L, int idx) { return alua__tomarked(L, idx, &queue_key); }

static queue *checkqueue(lua_State *L, int idx) {
  queue *q = toqueue(L, idx);
  if (!q) luaL_typeerror(L, idx, "Queue");
  return q;
}

static int isfull(const queue *q) { return q->maxsize > 0 && q->count >= q->maxsize; }

/* -- item storage ----------------------------------------------------- */

/* The table index of queue position i (0 is the first item). */
static lua_Integer slot(const queue *q, lua_Integer i) {
  i += q->head;
  if (i >= q->cap) i -= q->cap;
  return i + 1;
}

/* Moves the items to a new table of newcap (>= count) slots, in order from
 * slot 1. The only place the queue allocates. */
static void resize(lua_State *L, queue *q, int qidx, lua_Integer newcap) {
  lua_getiuservalue(L, qidx, QUV_ITEMS);
  int old = lua_gettop(L);
  lua_createtable(L, newcap > INT_MAX ? INT_MAX : (int)newcap, 0);
  for (lua_Integer i = 0; i < q->count; i++) {
    lua_rawgeti(L, old, slot(q, i));
    lua_rawseti(L, -2, i + 1);
  }
  lua_setiuservalue(L, qidx, QUV_ITEMS);
  lua_pop(L, 1);
  q->head = 0;
  q->cap = newcap;
}

/* a < b for the values at stack indices a and b: the queue's comparator, or
 * Lua's `<`. May raise. */
static int less(lua_State *L, queue *q, int qidx, int a, int b) {
  if (!q->has_less) return lua_compare(L, a, b, LUA_OPLT);
  lua_getiuservalue(L, qidx, QUV_LESS);
  lua_pushvalue(L, a);
  lua_pushvalue(L, b);
  lua_call(L, 2, 1);
  int lt = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return lt;
}

/* Heap sifts over slots 1..n of the table at ti. Why swaps and not a hole
 * that moves: a comparison may raise half way, and the table must still
 * hold every item exactly once when it does. */
static void sift_up(lua_State *L, queue *q, int qidx, int ti, lua_Integer i) {
  lua_rawgeti(L, ti, i);
  int v = lua_gettop(L);
  while (i > 1) {
    lua_Integer p = i / 2;
    lua_rawgeti(L, ti, p);
    if (!less(L, q, qidx, v, v + 1)) break;
    lua_rawseti(L, ti, i);
    lua_pushvalue(L, v);
    lua_rawseti(L, ti, p);
    i = p;
  }
  lua_settop(L, v - 1);
}

static void sift_down(lua_State *L, queue *q, int qidx, int ti, lua_Integer i, lua_Integer n) {
  lua_rawgeti(L, ti, i);
  int v = lua_gettop(L);
  for (lua_Integer c = 2 * i; c <= n; c = 2 * i) {
    lua_rawgeti(L, ti, c);
    if (c + 1 <= n) {
      lua_rawgeti(L, ti, c + 1);
      if (less(L, q, qidx, v + 2, v + 1)) {
        lua_replace(L, v + 1);
        c++;
      } else {
        lua_pop(L, 1);
      }
    }
    if (!less(L, q, qidx, v + 1, v)) break;
    lua_rawseti(L, ti, i);
    lua_pushvalue(L, v);
    lua_rawseti(L, ti, c);
    i = c;
  }
  lua_settop(L, v - 1);
}

/* Grows the items table of the queue at qidx when it is full: before a
 * put pushes that table (the only step of a put that allocates). */
static void make_room(lua_State *L, queue *q, int qidx) {
  if (q->count == q->cap) {
    lua_Integer newcap = q->cap ? q->cap * 2 : INITIAL_CAP;
    if (q->maxsize > 0 && newcap > q->maxsize) newcap = q->maxsize;
    resize(L, q, qidx, newcap);
  }
}

/* Adds the value on top (popped) to the queue at qidx, whose items table
 * (with room: make_room) is at ti: counts it, wakes the first getter, then
 * (priority queues) restores the heap order, which may raise; the item is
 * in the queue either way. Leaves the table on the stack. */
HOT void put_item(lua_State *L, queue *q, int qidx, int ti) {
  lua_rawseti(L, ti, slot(q, q->count));
  q->count++;
  q->unfinished++;
  alua__wake_first(&q->getters);
  if (q->kind == Q_PRIORITY) sift_up(L, q, qidx, ti, q->count);
}

/* Removes the next item and pushes it above the queue's items table (the
 * caller returns it at once: the table below goes with the frame); then
 * wakes the first putter, whose slot is free now. Priority queues may raise
 * while reordering; the item then stays in the queue. */
HOT int take_item(lua_State *L, queue *q, int qidx) {
  lua_getiuservalue(L, qidx, QUV_ITEMS);
  int ti = lua_gettop(L);
  lua_Integer s;
  if (q->kind == Q_FIFO) {
    s = slot(q, 0);
    q->head = s == q->cap ? 0 : s;
  } else {
    s = q->count;
    if (q->kind == Q_PRIORITY && s > 1) {
      /* swap the smallest to the last slot, reorder the rest */
      lua_rawgeti(L, ti, 1);
      lua_rawgeti(L, ti, s);
      lua_rawseti(L, ti, 1);
      lua_rawseti(L, ti, s);
      sift_down(L, q, qidx, ti, 1, s - 1);
    }
  }
  lua_rawgeti(L, ti, s);
  lua_pushnil(L);
  lua_rawseti(L, ti, s);
  q->count--;
  if (q->cap > SHRINK_MIN && q->count < q->cap / 4) resize(L, q, qidx, q->cap / 2);
  alua__wake_first(&q->putters);
  return 1;
}

/* -- waiting: the await hook and its continuations ---------------------- */

static int k_get(lua_State *L, int status, lua_KContext ctx);
static int k_put(lua_State *L, int status, lua_KContext ctx);
static int k_join(lua_State *L, int status, lua_KContext ctx);

/* Woken for an item this task will not take: the next getter may. */
static void get_cancelled(lua_State *L, void *on, int woken, lua_KContext ctx) {
  queue *q = on;
  if (woken && q->count > 0) alua__wake_first(&q->getters);
}

/* Woken for a free slot this task will not fill: the next putter may. */
static void put_cancelled(lua_State *L, void *on, int woken, lua_KContext ctx) {
  queue *q = on;
  if (woken && !isfull(q) && !q->shutdown) alua__wake_first(&q->putters);
}

static const alua__waitclass wait_get = {
    .what = "Queue.get", .cancelled = get_cancelled, .slot = 2, .never = ", which no task will ever feed"};
static const alua__waitclass wait_put = {
    .what = "Queue.put", .cancelled = put_cancelled, .slot = 2, .never = ", from which no task will ever take"};
static const alua__waitclass wait_join = {
    .what = "Queue.join", .slot = 2, .never = ", whose items no task will ever mark done"};

/* Every wait below parks with the operation (stack index 1) as its
 * continuation's context: the operation knows its queue and the runtime,
 * so a resumed get or put makes no Lua call to find them. */

/* The shared end of get: stack [op, queue]. `again` is set for a woken
 * task that found nothing: it keeps its place at the front. */
HOT int do_get(lua_State *L, task *t, alua__op *o, int again) {
  queue *q = o->on;
  if (q->count > 0) return take_item(L, q, 2);
  if (q->shutdown) return alua__raise_await(L, "QueueShutDown", "the queue is shut down");
  if (again) return alua__repark(L, t, &q->getters, &wait_get, q, (lua_KContext)o, k_get);
  return alua__park(L, t, &q->getters, &wait_get, q, (lua_KContext)o, k_get);
}

/* The shared end of put: stack [op, queue, value]. */
HOT int do_put(lua_State *L, task *t, alua__op *o, int again) {
  queue *q = o->on;
  if (q->shutdown) return alua__raise_await(L, "QueueShutDown", "the queue is shut down");
  if (!isfull(q)) {
    make_room(L, q, 2);
    lua_getiuservalue(L, 2, QUV_ITEMS);
    lua_pushvalue(L, 3);
    put_item(L, q, 2, 4);
    return 0;
  }
  if (again) return alua__repark(L, t, &q->putters, &wait_put, q, (lua_KContext)o, k_put);
  return alua__park(L, t, &q->putters, &wait_put, q, (lua_KContext)o, k_put);
}

static int k_get(lua_State *L, int status, lua_KContext ctx) {
  alua__op *o = (alua__op *)ctx;
  return do_get(L, alua__resumed_rt(L, o->awop.rt, ctx), o, 1);
}

static int k_put(lua_State *L, int status, lua_KContext ctx) {
  alua__op *o = (alua__op *)ctx;
  return do_put(L, alua__resumed_rt(L, o->awop.rt, ctx), o, 1);
}

static int k_join(lua_State *L, int status, lua_KContext ctx) {
  alua__resumed_rt(L, ((alua__op *)ctx)->awop.rt, ctx);
  return 0;
}

/* The await hook of queue operations, stack [op]. */
static int op_await(lua_State *L) {
  alua__op *o = lua_touserdata(L, 1);
  rt *r = o->awop.rt;
  alua__awop_taken(&o->awop);
  task *t = alua__current_task(L, r);
  queue *q = o->on;
  lua_getiuservalue(L, 1, OPUV_QUEUE);
  switch (o->kind) {
  case OP_GET:
    return do_get(L, t, o, 0);
  case OP_PUT:
    if (!o->armed) return alua__error_at(L, 1, "this q:put() was already awaited: call q:put() again");
    /* the operation is free for the next q:put() from here on */
    o->armed = 0;
    lua_getiuservalue(L, 1, OPUV_VALUE);
    lua_pushnil(L);
    lua_setiuservalue(L, 1, OPUV_VALUE);
    return do_put(L, t, o, 0);
  default:
    if (q->unfinished == 0) return 0;
    return alua__park(L, t, &q->joiners, &wait_join, q, (lua_KContext)o, k_join);
  }
}

/* -- methods ---------------------------------------------------------- */

/* Hands out the operation of q on top, o, as `what` (forgotten.c);
 * returns 1. */
static int handout(lua_State *L, alua__op *o, const char *what) {
  alua__aw_handout_fast(L, &o->awop, what);
  return 1;
}

/* q:get(): an awaitable that returns the next item. */
static int q_get(lua_State *L) {
  queue *q = checkqueue(L, 1);
  lua_getiuservalue(L, 1, QUV_GET);
  return handout(L, q->ops[OP_GET], "q:get()");
}

/* The queue a bound method belongs to (upvalue 2, its record upvalue 4)
 * when argument 1 is that queue, else NULL: two pointer reads, cheaper
 * than lua_rawequal's generic compare. */
HOT queue *bound_self(lua_State *L) {
  if (alua__peek_ok > 0)
    return lua_gettop(L) >= 1 && alua__peek_is_upvalue(L, 1, 2) ? alua__peek_upvalue(L, 4)->value.p : NULL;
  queue *q = lua_touserdata(L, 1);
  return q && q == lua_touserdata(L, lua_upvalueindex(2)) ? q : NULL;
}

/* q.get bound to its queue (upvalues 2 and 4) and get operation (upvalue 3). */
static int bound_get(lua_State *L) {
  queue *q = bound_self(L);
  if (!q) return q_get(L);
  lua_pushvalue(L, lua_upvalueindex(3));
  return handout(L, q->ops[OP_GET], "q:get()");
}

/* Rejects nil in a priority queue: it cannot be ordered. */
static void checkitem(lua_State *L, queue *q, int idx) {
  luaL_checkany(L, idx);
  if (q->kind == Q_PRIORITY && lua_isnil(L, idx)) luaL_argerror(L, idx, "PriorityQueue items cannot be nil");
}

/* Arms q's put operation (on top) with the value at 2 and leaves it on top;
 * a new operation when that one is still pending. */
static int arm_put(lua_State *L, queue *q) {
  alua__op *o = q->ops[OP_PUT];
  if (o->armed) {
    /* an earlier q:put() was not awaited yet: that one keeps its value */
    lua_pop(L, 1);
    o = alua__newop(L, 1, OP_PUT, OPUV_N, MT_QUEUE_OP);
  }
  lua_pushvalue(L, 2);
  lua_setiuservalue(L, -2, OPUV_VALUE);
  o->armed = 1;
  alua__aw_handout_fast(L, &o->awop, "q:put()");
  return 1;
}

/* q:put(v): an awaitable that adds v, waiting while the queue is full. The
 * queue's own put operation is reused while no earlier one is pending. */
static int q_put(lua_State *L) {
  queue *q = checkqueue(L, 1);
  checkitem(L, q, 2);
  lua_settop(L, 2);
  lua_getiuservalue(L, 1, QUV_PUT);
  return arm_put(L, q);
}

/* q.put bound to its queue (upvalues 2 and 4) and put operation (upvalue 3). */
static int bound_put(lua_State *L) {
  queue *q = bound_self(L);
  if (!q) return q_put(L);
  if (lua_gettop(L) != 2 || q->kind == Q_PRIORITY) {
    checkitem(L, q, 2);
    lua_settop(L, 2);
  }
  lua_pushvalue(L, lua_upvalueindex(3));
  return arm_put(L, q);
}

/* q:join(): an awaitable that returns once every item put was marked done. */
static int q_join(lua_State *L) {
  queue *q = checkqueue(L, 1);
  lua_getiuservalue(L, 1, QUV_JOIN);
  return handout(L, q->ops[OP_JOIN], "q:join()");
}

static int bound_join(lua_State *L) {
  queue *q = bound_self(L);
  if (!q) return q_join(L);
  lua_pushvalue(L, lua_upvalueindex(3));
  return handout(L, q->ops[OP_JOIN], "q:join()");
}

static int q_get_nowait(lua_State *L) {
  queue *q = checkqueue(L, 1);
  lua_settop(L, 1);
  if (q->count == 0) {
    if (q->shutdown) return alua__raise(L, alua__rt(L), "QueueShutDown", "the queue is shut down");
    return alua__raise(L, alua__rt(L), "QueueEmpty", "the queue is empty");
  }
  return take_item(L, q, 1);
}

static int q_put_nowait(lua_State *L) {
  queue *q = checkqueue(L, 1);
  checkitem(L, q, 2);
  lua_settop(L, 2);
  if (q->shutdown) return alua__raise(L, alua__rt(L), "QueueShutDown", "the queue is shut down");
  if (isfull(q)) return alua__raise(L, alua__rt(L), "QueueFull", "the queue is full");
  make_room(L, q, 1);
  lua_getiuservalue(L, 1, QUV_ITEMS);
  lua_pushvalue(L, 2);
  put_item(L, q, 1, 3);
  return 0;
}

static int q_qsize(lua_State *L) { return alua__retint(L, checkqueue(L, 1)->count); }

static int q_empty(lua_State *L) { return alua__retbool(L, checkqueue(L, 1)->count == 0); }

static int q_full(lua_State *L) { return alua__retbool(L, isfull(checkqueue(L, 1))); }

/* q:task_done(): one item taken earlier is processed; join() returns when
 * every item put has been. */
static int q_task_done(lua_State *L) {
  queue *q = checkqueue(L, 1);
  if (q->unfinished <= 0) return luaL_error(L, "task_done() called too many times");
  if (--q->unfinished == 0) alua__wake_all(&q->joiners);
  return 0;
}

/* q:shutdown([immediate]): puts raise QueueShutDown from now on, and gets do
 * once the queue is empty; immediate empties it at once (counting each item
 * as done, which releases join). Every parked task wakes to see it. */
static int q_shutdown(lua_State *L) {
  queue *q = checkqueue(L, 1);
  int immediate = lua_toboolean(L, 2);
  lua_settop(L, 1);
  q->shutdown = 1;
  if (immediate) {
    q->unfinished = q->unfinished > q->count ? q->unfinished - q->count : 0;
    q->count = q->head = q->cap = 0;
    lua_newtable(L);
    lua_setiuservalue(L, 1, QUV_ITEMS);
    if (q->unfinished == 0) alua__wake_all(&q->joiners);
  }
  alua__wake_all(&q->getters);
  alua__wake_all(&q->putters);
  return 0;
}

/* <Queue maxsize=0 qsize=2 getters=1>: getters, putters and unfinished only
 * when not zero, then "shutdown" once shut down. */
static int q_tostring(lua_State *L) {
  queue *q = checkqueue(L, 1);
  luaL_Buffer b;
  alua__repr_begin(L, &b, "%s maxsize=%I qsize=%I", kind_names[q->kind], (LUAI_UACINT)q->maxsize,
                   (LUAI_UACINT)q->count);
  int n = alua__count_waiters(&q->getters);
  if (n) alua__repr_add(&b, " getters=%d", n);
  n = alua__count_waiters(&q->putters);
  if (n) alua__repr_add(&b, " putters=%d", n);
  if (q->unfinished) alua__repr_add(&b, " unfinished=%I", (LUAI_UACINT)q->unfinished);
  if (q->shutdown) luaL_addstring(&b, " shutdown");
  return alua__repr_end(&b);
}

/* -- constructors ------------------------------------------------------- */

/* Pushes a new queue of `kind`: Queue([maxsize]), LifoQueue([maxsize]),
 * PriorityQueue([maxsize [, less]]), with its own metatable (see the top). */
static int newqueue(lua_State *L, int kind) {
  lua_Integer maxsize = 0;
  if (!lua_isnoneornil(L, 1)) {
    maxsize = luaL_checkinteger(L, 1);
    luaL_argcheck(L, maxsize >= 0, 1, "maxsize must be >= 0");
  }
  int has_less = kind == Q_PRIORITY && !lua_isnoneornil(L, 2);
  if (has_less) luaL_checktype(L, 2, LUA_TFUNCTION);
  queue *q = lua_newuserdatauv(L, sizeof *q, QUV_N);
  int qidx = lua_gettop(L);
  q->maxsize = maxsize;
  q->count = q->head = q->cap = q->unfinished = 0;
  ac_list_init(&q->getters);
  ac_list_init(&q->putters);
  ac_list_init(&q->joiners);
  q->kind = (uint8_t)kind;
  q->shutdown = 0;
  q->has_less = (uint8_t)has_less;

  lua_newtable(L);
  lua_setiuservalue(L, qidx, QUV_ITEMS);
  static const int ops[] = {QUV_GET, QUV_PUT, QUV_JOIN};
  for (int i = 0; i < 3; i++) {
    q->ops[i] = alua__newop(L, qidx, i, i == OP_PUT ? OPUV_N : 1, MT_QUEUE_OP);
    lua_setiuservalue(L, qidx, ops[i]);
  }
  if (has_less) {
    lua_pushvalue(L, 2);
    lua_setiuservalue(L, qidx, QUV_LESS);
  }

  lua_createtable(L, 0, 9);
  static const struct {
    const char *name;
    lua_CFunction fn;
  } bound[] = {{"get", bound_get}, {"put", bound_put}, {"join", bound_join}};
  for (int i = 0; i < 3; i++) {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, qidx);
    lua_getiuservalue(L, qidx, ops[i]);
    lua_pushlightuserdata(L, q);
    lua_pushcclosure(L, bound[i].fn, 4);
    lua_setfield(L, -2, bound[i].name);
  }
  lua_pushvalue(L, -1);
  lua_setfield(L, -2, "__index");
  lua_pushfstring(L, "asyncio.%s", kind_names[kind]);
  lua_setfield(L, -2, "__name");
  lua_pushcfunction(L, q_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushinteger(L, maxsize);
  lua_setfield(L, -2, "maxsize");
  lua_pushboolean(L, 1);
  lua_rawsetp(L, -2, &queue_key);
  luaL_getmetatable(L, MT_QUEUE);
  lua_setmetatable(L, -2);
  lua_setmetatable(L, qidx);
  return 1;
}

static int l_queue(lua_State *L) { return newqueue(L, Q_FIFO); }
static int l_lifoqueue(lua_State *L) { return newqueue(L, Q_LIFO); }
static int l_priorityqueue(lua_State *L) { return newqueue(L, Q_PRIORITY); }

void alua__open_queue(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg methods[] = {
      {"get", q_get},
      {"put", q_put},
      {"join", q_join},
      {"get_nowait", q_get_nowait},
      {"put_nowait", q_put_nowait},
      {"qsize", q_qsize},
      {"empty", q_empty},
      {"full", q_full},
      {"task_done", q_task_done},
      {"shutdown", q_shutdown},
      {NULL, NULL}};
  alua__newclass(L, r, MT_QUEUE, methods);
  lua_pop(L, 1);
  static const char *const ops[] = {"get", "put", "join"};
  alua__newopclass(L, r, MT_QUEUE_OP, op_await, "q:", ops);
  static const luaL_Reg funcs[] = {
      {"Queue", l_queue}, {"LifoQueue", l_lifoqueue}, {"PriorityQueue", l_priorityqueue}, {NULL, NULL}};
  alua__setfuncs_at(L, r, module, funcs);
  (void)internals;
}
