/* Lock, Semaphore and BoundedSemaphore: counted permits, handed over first
 * come, first served.
 *
 * A lock is a semaphore of one permit. acquire takes a free permit when one
 * is free and nobody is parked or handed a permit before it; otherwise the
 * task parks on `waiters`. release hands its permit straight to the first
 * parked task (the count does not change, so no newcomer can slip in before
 * it), or returns it to the pool when nobody waits. A task handed a permit
 * and then cancelled before it runs hands the permit on in turn: none is
 * ever lost. As in asyncio, a woken task that runs (or is cancelled) first
 * hands the permits freed meanwhile to the tasks that parked behind it, and
 * a Lock handed over is not locked() until its new holder runs.
 *
 * await x:acquire() returns the object's guard: closing it (a <close>
 * variable going out of scope) releases one permit. Collecting it does
 * nothing. The acquire operation and the guard are created once per object,
 * so acquiring and handing over allocate nothing. */
#include "lua/internal.h"

enum { P_LOCK, P_SEMAPHORE, P_BOUNDED };
static const char *const kind_names[] = {"Lock", "Semaphore", "BoundedSemaphore"};
static const char *const kind_mts[] = {"asyncio.Lock", "asyncio.Semaphore", "asyncio.BoundedSemaphore"};

/* Uservalues of a lock or semaphore. */
enum { PUV_ACQUIRE = 1, PUV_GUARD, PUV_N = PUV_GUARD };

#define MT_ACQUIRE "asyncio.Lock operation"
#define MT_GUARD "asyncio.Lock guard"

/* Marks the three metatables. */
static const char permits_key = 0;

typedef struct permits {
  lua_Integer value; /* permits free now */
  lua_Integer bound; /* BoundedSemaphore: the initial value, which release may not pass */
  lua_Integer handed; /* permits handed to woken tasks that have not run yet */
  ac_list waiters;   /* tasks parked in acquire, first come first */
  /* The task that took the last permit (a Lock's holder), NULL once it is
   * back in the pool. Only compared with live tasks, never dereferenced:
   * the holder may have finished and been collected since. */
  task *owner;
  int owner_id;      /* its id, which tells a reused address apart */
  uint8_t kind;      /* P_LOCK, P_SEMAPHORE or P_BOUNDED */
} permits;

static permits *checkpermits(lua_State *L, int idx) {
  permits *p = alua__tomarked(L, idx, &permits_key);
  if (!p) luaL_typeerror(L, idx, "Lock or Semaphore");
  return p;
}

/* acquire must wait: no permit is free, or a task parked or handed a
 * permit before it has not run yet (first come, first served). */
static int mustwait(const permits *p) { return p->value == 0 || !ac_list_empty(&p->waiters) || p->handed > 0; }

/* locked(), as asyncio answers it: a Semaphore is locked when acquire would
 * wait; a Lock when a running task holds it (not while it is handed to a
 * task that has not run yet, though acquire waits then too). */
static int islocked(const permits *p) {
  if (p->kind == P_LOCK) return p->value == 0 && p->handed == 0;
  return mustwait(p);
}

/* Hands a permit to the first parked task. */
static void hand_first(permits *p) {
  task *t = ac_container_of(p->waiters.next, task, step.link);
  p->owner = t;
  p->owner_id = t->id;
  p->handed++;
  alua__wake_first(&p->waiters);
}

/* Gives one permit back: to the first parked task, or to the pool. */
static void hand_on(permits *p) {
  if (ac_list_empty(&p->waiters)) {
    p->value++;
    p->owner = NULL;
    return;
  }
  hand_first(p);
}

/* Hands the free permits to parked tasks: those that parked behind a woken
 * task while permits were free, once that task has run or was cancelled. */
static void hand_free(permits *p) {
  while (p->value > 0 && !ac_list_empty(&p->waiters)) {
    p->value--;
    hand_first(p);
  }
}

/* Releases one permit of the object at idx, or raises on misuse. */
static void release(lua_State *L, permits *p) {
  if (p->kind == P_LOCK && !islocked(p)) luaL_error(L, "release() of a Lock that is not acquired");
  if (p->kind == P_BOUNDED && p->value >= p->bound) luaL_error(L, "BoundedSemaphore released too many times");
  if (p->value == LUA_MAXINTEGER)
    alua__user_error(L, "release: the Semaphore's value would pass math.maxinteger");
  hand_on(p);
}

/* -- acquire ----------------------------------------------------------- */

/* A cancelled acquire that was handed a permit hands it on. */
static void acquire_cancelled(lua_State *L, void *on, int woken, lua_KContext ctx) {
  permits *p = on;
  if (woken) {
    p->handed--;
    hand_on(p);
  }
  hand_free(p);
}

/* "Lock <Lock locked waiters=1> (held by Task 'b')"; the holder goes to
 * the record for the deadlock report. */
static void describe_acquire(lua_State *L, task *t, void *on, int obj, int rec) {
  permits *p = on;
  lua_pushstring(L, kind_names[p->kind]);
  if (obj) {
    luaL_tolstring(L, obj, NULL);
    lua_pushfstring(L, "%s %s", lua_tostring(L, -2), lua_tostring(L, -1));
    lua_replace(L, -3);
    lua_pop(L, 1);
  }
  if (p->kind != P_LOCK || !p->owner) return;
  alua__push_tasks(L, t->f.loop);
  for (int i = 1, n = (int)lua_rawlen(L, -1); i <= n; i++) {
    lua_rawgeti(L, -1, i);
    task *o = lua_touserdata(L, -1);
    if (o != p->owner || o->id != p->owner_id) {
      lua_pop(L, 1);
      continue;
    }
    lua_remove(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, rec, "holder");
    alua__task_pushname(L, -1);
    lua_pushfstring(L, "%s (held by Task '%s')", lua_tostring(L, -3), lua_tostring(L, -1));
    lua_replace(L, -4);
    lua_pop(L, 2);
    return;
  }
  lua_pop(L, 1);
  lua_pushfstring(L, "%s (held by task #%d, which ended without releasing it)", lua_tostring(L, -1), p->owner_id);
  lua_remove(L, -2);
  lua_pushliteral(L, "");
  lua_setfield(L, rec, "never");
}

static const alua__waitclass wait_lock = {.what = "Lock",
                                         .cancelled = acquire_cancelled,
                                         .slot = 2,
                                         .never = ", which no task will ever release",
                                         .describe = describe_acquire};
static const alua__waitclass wait_semaphore = {.what = "Semaphore",
                                              .cancelled = acquire_cancelled,
                                              .slot = 2,
                                              .never = ", which no task will ever release",
                                              .describe = describe_acquire};

/* Continuation of a parked acquire: stack [op, lock]. Being woken means the
 * permit was handed over already. */
static int k_acquire(lua_State *L, int status, lua_KContext ctx) {
  alua__resumed(L, ctx);
  permits *p = lua_touserdata(L, 2);
  p->handed--;
  hand_free(p);
  lua_getiuservalue(L, 2, PUV_GUARD);
  return 1;
}

/* The await hook of acquire: stack [op]. */
static int acquire_await(lua_State *L) {
  task *t;
  permits *p = alua__op_await_begin(L, &t);
  if (!mustwait(p)) {
    p->value--;
    p->owner = t;
    p->owner_id = t->id;
    lua_getiuservalue(L, 2, PUV_GUARD);
    return 1;
  }
  return alua__park(L, t, &p->waiters, p->kind == P_LOCK ? &wait_lock : &wait_semaphore, p, 0, k_acquire);
}

/* -- the guard ---------------------------------------------------------- */

/* guard:__close(): releases one permit of its lock. */
static int guard_close(lua_State *L) {
  luaL_checkudata(L, 1, MT_GUARD);
  lua_getiuservalue(L, 1, 1);
  release(L, lua_touserdata(L, -1));
  return 0;
}

static int guard_tostring(lua_State *L) {
  luaL_checkudata(L, 1, MT_GUARD);
  lua_getiuservalue(L, 1, 1);
  lua_pushfstring(L, "<%s guard>", kind_names[((permits *)lua_touserdata(L, -1))->kind]);
  return 1;
}

/* -- methods ------------------------------------------------------------ */

/* x:acquire(): an awaitable that returns the guard once a permit is taken. */
static int p_acquire(lua_State *L) {
  static const char *const names[] = {"lock:acquire()", "semaphore:acquire()", "semaphore:acquire()"};
  permits *p = checkpermits(L, 1);
  /* an acquire operation's kind is its lock's */
  return alua__push_op(L, 1, PUV_ACQUIRE, 0, p->kind, MT_ACQUIRE, names[p->kind]);
}

static int p_release(lua_State *L) {
  release(L, checkpermits(L, 1));
  return 0;
}

static int p_locked(lua_State *L) { return alua__retbool(L, islocked(checkpermits(L, 1))); }

/* <Lock unlocked>, <Lock locked waiters=2>, <Semaphore value=3>,
 * <BoundedSemaphore value=0/2 waiters=1> */
static int p_tostring(lua_State *L) {
  permits *p = checkpermits(L, 1);
  luaL_Buffer b;
  if (p->kind == P_LOCK) alua__repr_begin(L, &b, "Lock %s", islocked(p) ? "locked" : "unlocked");
  else alua__repr_begin(L, &b, "%s value=%I", kind_names[p->kind], (LUAI_UACINT)p->value);
  if (p->kind == P_BOUNDED) alua__repr_add(&b, "/%I", (LUAI_UACINT)p->bound);
  int n = alua__count_waiters(&p->waiters);
  if (n) alua__repr_add(&b, " waiters=%d", n);
  return alua__repr_end(&b);
}

/* -- constructors -------------------------------------------------------- */

/* Pushes a new lock or semaphore of `value` permits. */
static int newpermits(lua_State *L, int kind, lua_Integer value) {
  permits *p = lua_newuserdatauv(L, sizeof *p, PUV_N);
  int pidx = lua_gettop(L);
  p->value = p->bound = value;
  p->handed = 0;
  ac_list_init(&p->waiters);
  p->owner = NULL;
  p->owner_id = 0;
  p->kind = (uint8_t)kind;
  luaL_setmetatable(L, kind_mts[kind]);
  lua_newuserdatauv(L, 0, 1);
  luaL_setmetatable(L, MT_GUARD);
  lua_pushvalue(L, pidx);
  lua_setiuservalue(L, -2, 1);
  lua_setiuservalue(L, pidx, PUV_GUARD);
  return 1;
}

static int l_lock(lua_State *L) { return newpermits(L, P_LOCK, 1); }

/* Semaphore([value]) and BoundedSemaphore([value]); value defaults to 1. */
static int semaphore(lua_State *L, int kind) {
  lua_Integer value = luaL_optinteger(L, 1, 1);
  luaL_argcheck(L, value >= 0, 1, "value must be >= 0");
  return newpermits(L, kind, value);
}

static int l_semaphore(lua_State *L) { return semaphore(L, P_SEMAPHORE); }
static int l_boundedsemaphore(lua_State *L) { return semaphore(L, P_BOUNDED); }

void alua__open_lock(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg methods[] = {{"acquire", p_acquire},
                                     {"release", p_release},
                                     {"locked", p_locked},
                                     {"__tostring", p_tostring},
                                     {NULL, NULL}};
  for (int kind = P_LOCK; kind <= P_BOUNDED; kind++) {
    alua__newclass(L, r, kind_mts[kind], methods);
    lua_pushboolean(L, 1);
    lua_rawsetp(L, -2, &permits_key);
    if (kind == P_LOCK) lua_setfield(L, internals, "Lock");
    else lua_pop(L, 1);
  }
  static const luaL_Reg guard_methods[] = {{"__close", guard_close}, {"__tostring", guard_tostring}, {NULL, NULL}};
  alua__newclass(L, r, MT_GUARD, guard_methods);
  lua_pop(L, 1);
  static const char *const ops[] = {"Lock:acquire", "Semaphore:acquire", "BoundedSemaphore:acquire"};
  alua__newopclass(L, r, MT_ACQUIRE, acquire_await, "", ops);
  static const luaL_Reg funcs[] = {
      {"Lock", l_lock}, {"Semaphore", l_semaphore}, {"BoundedSemaphore", l_boundedsemaphore}, {NULL, NULL}};
  alua__setfuncs_at(L, r, module, funcs);
}
