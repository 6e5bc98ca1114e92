/* asyncio.Event: a flag tasks can wait for. set() wakes every parked task;
 * clear() afterwards does not put them back to sleep. Waiting allocates
 * nothing: a parked task is only its own step link on `waiters`, so a
 * hundred thousand idle tasks cost nothing beyond their threads. */
#include "lua/internal.h"

#define MT_EVENT "asyncio.Event"
#define MT_WAIT "asyncio.Event operation"

/* Uservalues of an event. */
enum { EUV_WAIT = 1, EUV_N = EUV_WAIT };

typedef struct event {
  ac_list waiters; /* tasks parked in wait */
  uint8_t set;     /* the flag */
} event;

static event *checkevent(lua_State *L, int idx) {
  event *e = luaL_testudata(L, idx, MT_EVENT);
  if (!e) luaL_typeerror(L, idx, "Event");
  return e;
}

static const alua__waitclass wait_event = {.what = "Event", .slot = 2, .never = ", which no task will ever set"};

static int k_wait(lua_State *L, int status, lua_KContext ctx) {
  alua__resumed(L, ctx);
  lua_pushboolean(L, 1);
  return 1;
}

/* The await hook of ev:wait(): stack [op]; returns true once the flag is
 * set. */
static int wait_await(lua_State *L) {
  task *t;
  event *e = alua__op_await_begin(L, &t);
  if (e->set) {
    lua_pushboolean(L, 1);
    return 1;
  }
  return alua__park(L, t, &e->waiters, &wait_event, e, 0, k_wait);
}

/* ev:wait(): an awaitable that returns true once the event is set. */
static int e_wait(lua_State *L) {
  checkevent(L, 1);
  return alua__push_op(L, 1, EUV_WAIT, 0, 0, MT_WAIT, "ev:wait()");
}

static int e_set(lua_State *L) {
  event *e = checkevent(L, 1);
  if (!e->set) {
    e->set = 1;
    alua__wake_all(&e->waiters);
  }
  return 0;
}

static int e_clear(lua_State *L) {
  checkevent(L, 1)->set = 0;
  return 0;
}

static int e_is_set(lua_State *L) { return alua__retbool(L, checkevent(L, 1)->set); }

/* <Event set>, <Event unset waiters=3> */
static int e_tostring(lua_State *L) {
  event *e = checkevent(L, 1);
  luaL_Buffer b;
  alua__repr_begin(L, &b, "Event %s", e->set ? "set" : "unset");
  int n = alua__count_waiters(&e->waiters);
  if (n) alua__repr_add(&b, " waiters=%d", n);
  return alua__repr_end(&b);
}

static int l_event(lua_State *L) {
  event *e = lua_newuserdatauv(L, sizeof *e, EUV_N);
  ac_list_init(&e->waiters);
  e->set = 0;
  luaL_setmetatable(L, MT_EVENT);
  return 1;
}

void alua__open_event(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg methods[] = {{"wait", e_wait},         {"set", e_set},
                                     {"clear", e_clear},       {"is_set", e_is_set},
                                     {"__tostring", e_tostring}, {NULL, NULL}};
  alua__newclass(L, r, MT_EVENT, methods);
  lua_pop(L, 1);
  static const char *const ops[] = {"wait"};
  alua__newopclass(L, r, MT_WAIT, wait_await, "ev:", ops);
  static const luaL_Reg funcs[] = {{"Event", l_event}, {NULL, NULL}};
  alua__setfuncs_at(L, r, module, funcs);
  (void)internals;
}
