/* Futures: state that moves once from pending to finished or cancelled, the
 * result values, and done callbacks. Completion moves the waiter list (task
 * steps, done-callback nodes, gather nodes) onto the ready queue in one
 * splice, so callbacks run in registration order and never inside
 * set_result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "lua/internal.h"

/* Marks the metatables of future-like types (Future, Task, gathers). */
static const char future_key = 0;

future *alua__tofuture(lua_State *L, int idx) { return alua__tomarked(L, idx, &future_key); }

future *alua__checkfuture(lua_State *L, int idx) {
  future *f = alua__tofuture(L, idx);
  if (!f) luaL_typeerror(L, idx, "Future or Task");
  return f;
}

/* Sets up the future part of a new future-like userdata (on top). */
void alua__future_init(lua_State *L, future *f, lloop *lp, int kind) {
  memset(f, 0, sizeof *f);
  f->kind = (uint8_t)kind;
  f->loop = lp;
  f->anchor = LUA_NOREF;
  ac_list_init(&f->waiters);
  alua__pushloop(L, lp);
  lua_setiuservalue(L, -2, FUT_UV_LOOP);
}

future *alua__newfuture(lua_State *L, lloop *lp) {
  future *f = lua_newuserdatauv(L, sizeof *f, FUT_NUV - 1);
  alua__future_init(L, f, lp, KIND_FUTURE);
  luaL_setmetatable(L, MT_FUTURE);
  return f;
}

/* A Lua done callback waiting on a future: a userdata whose uservalue is
 * the function, anchored in the loop until it runs or is removed. Its
 * memory is Lua's, so a loop or state that closes while it waits (a future
 * never completed) leaves nothing behind. */
typedef struct cbnode {
  ac_callback cb; /* on the future's waiter list, then on the ready queue */
  future *f;      /* the future it reports */
  int ref;        /* this node, in the loop's anchors */
} cbnode;

/* Pushes the function of the node anchored at ref. */
static void push_cbfunc(lua_State *L, lloop *lp, int ref) {
  alua__push_anchored(L, lp, ref);
  lua_getiuservalue(L, -1, 1);
  lua_remove(L, -2);
}

/* Moves every waiter of f to the ready queue (f just left pending). */
static void wake_waiters(future *f) {
  f->done_by = f->loop->slice;
  ac_loop_enqueue_all(&f->loop->core, &f->waiters);
}

void alua__future_set_result(lua_State *L, int idx, int n) {
  idx = lua_absindex(L, idx);
  future *f = lua_touserdata(L, idx);
  if (n == 1) {
    lua_setiuservalue(L, idx, FUT_UV_RESULT);
  } else if (n > 1) {
    lua_createtable(L, n, 0);
    lua_insert(L, -n - 1);
    for (int i = n; i >= 1; i--) lua_rawseti(L, -i - 1, i);
    lua_setiuservalue(L, idx, FUT_UV_RESULT);
  }
  f->nresults = n;
  f->state = FUT_FINISHED;
  wake_waiters(f);
}

void alua__future_set_error(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  future *f = lua_touserdata(L, idx);
  lua_setiuservalue(L, idx, FUT_UV_RESULT);
  f->failed = 1;
  f->state = FUT_FINISHED;
  /* from now on the future reports its error if it dies unretrieved */
  lua_getmetatable(L, idx);
  if (lua_getfield(L, -1, "__gctwin") == LUA_TTABLE) lua_setmetatable(L, idx);
  else lua_pop(L, 1);
  lua_pop(L, 1);
  lloop *lp = f->loop;
  if (lp->rt->report_at_once && f->kind == KIND_TASK && ac_list_empty(&f->waiters)) {
    f->report_soon = 1;
    lp->rt->fresh_failures = 1;
  }
  /* before the one step that allocates: out of memory there, the future is
   * done all the same (its report then waits for the collector) */
  wake_waiters(f);
  if (lp->ref_unretrieved != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, lp->ref_unretrieved);
    lua_pushvalue(L, idx);
    lua_rawsetp(L, -2, f);
    lua_pop(L, 1);
  }
}

void alua__future_set_cancelled(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  future *f = lua_touserdata(L, idx);
  lua_setiuservalue(L, idx, FUT_UV_RESULT);
  f->state = FUT_CANCELLED;
  wake_waiters(f);
}

/* Marks the error of f retrieved: no "never retrieved" report. */
static void retrieve(lua_State *L, future *f) {
  if (f->retrieved) return;
  f->retrieved = 1;
  if (f->loop->ref_unretrieved == LUA_NOREF) return;
  lua_rawgeti(L, LUA_REGISTRYINDEX, f->loop->ref_unretrieved);
  lua_pushnil(L);
  lua_rawsetp(L, -2, f);
  lua_pop(L, 1);
}

int alua__future_push_result(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  future *f = lua_touserdata(L, idx);
  switch (f->state) {
  case FUT_PENDING:
    return alua__raise(L, f->loop->rt, "InvalidStateError", "result is not set");
  case FUT_CANCELLED:
    alua__push_cancelled(L, f->loop->rt, idx);
    return lua_error(L);
  }
  if (f->failed) {
    retrieve(L, f);
    lua_getiuservalue(L, idx, FUT_UV_RESULT);
    return lua_error(L);
  }
  if (f->nresults == 1) {
    lua_getiuservalue(L, idx, FUT_UV_RESULT);
  } else if (f->nresults > 1) {
    luaL_checkstack(L, f->nresults, "too many results");
    lua_getiuservalue(L, idx, FUT_UV_RESULT);
    int t = lua_gettop(L);
    for (int i = 1; i <= f->nresults; i++) lua_rawgeti(L, t, i);
    lua_remove(L, t);
  }
  return f->nresults;
}

int alua__future_cancel(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  future *f = lua_touserdata(L, idx);
  /* as asyncio: cancelling a failed future, too late, still counts as
   * having dealt with its error (no "never retrieved" report) */
  if (f->failed) retrieve(L, f);
  if (f->kind == KIND_TASK) return alua__task_cancel(L, idx);
  if (f->kind == KIND_GATHER) return alua__gather_cancel(L, idx);
  if (f->state != FUT_PENDING) {
    lua_pop(L, 1);
    return 0;
  }
  alua__future_set_cancelled(L, idx);
  return 1;
}

/* __gc of every future-like type: a failed future nobody looked at is
 * reported, as asyncio does when the object dies. */
static int f_gc(lua_State *L) {
  future *f = alua__gc_self(L);
  if (f->kind == KIND_GATHER) alua__gather_gc(L, alua__rt(L), f);
  if (f->failed && !f->retrieved) {
    f->retrieved = 1;
    alua__future_report(L, 1);
  }
  return 0;
}

static future *checkf(lua_State *L) { return alua__checkfuture(L, 1); }

static int f_done(lua_State *L) { return alua__retbool(L, checkf(L)->state != FUT_PENDING); }

static int f_cancelled(lua_State *L) { return alua__retbool(L, checkf(L)->state == FUT_CANCELLED); }

static int f_result(lua_State *L) {
  alua__future_taken(alua__rt(L), checkf(L));
  return alua__future_push_result(L, 1);
}

static int f_exception(lua_State *L) {
  future *f = checkf(L);
  alua__future_taken(alua__rt(L), f);
  if (f->state == FUT_PENDING) return alua__raise(L, f->loop->rt, "InvalidStateError", "exception is not set");
  if (f->state == FUT_CANCELLED) {
    alua__push_cancelled(L, f->loop->rt, 1);
    return lua_error(L);
  }
  if (!f->failed) return 0;
  retrieve(L, f);
  lua_getiuservalue(L, 1, FUT_UV_RESULT);
  return 1;
}

static int f_cancel(lua_State *L) {
  alua__future_taken(alua__rt(L), checkf(L));
  lua_settop(L, 2);
  if (!lua_isnil(L, 2)) luaL_checkstring(L, 2);
  lua_pushboolean(L, alua__future_cancel(L, 1));
  return 1;
}

/* The plain Future at idx (not a task or a gather), or an argument error. */
static future *checkplain(lua_State *L, int idx) {
  future *f = alua__tofuture(L, idx);
  if (!f || f->kind != KIND_FUTURE) luaL_typeerror(L, idx, MT_FUTURE);
  return f;
}

static int f_set_result(lua_State *L) {
  future *f = checkplain(L, 1);
  if (f->state != FUT_PENDING) return alua__raise(L, f->loop->rt, "InvalidStateError", "invalid state: the future is already done");
  alua__future_set_result(L, 1, lua_gettop(L) - 1);
  return 0;
}

/* True when the value at idx is an asyncio error class itself (the table
 * registered under its type), not an error of it. */
static int is_errclass(lua_State *L, rt *r, int idx) {
  if (lua_type(L, idx) != LUA_TTABLE) return 0;
  lua_pushliteral(L, "type");
  int ok = 0;
  if (lua_rawget(L, idx) == LUA_TSTRING) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_errors);
    lua_pushvalue(L, -2);
    lua_rawget(L, -2);
    ok = lua_rawequal(L, -1, idx);
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
  return ok;
}

static int f_set_exception(lua_State *L) {
  future *f = checkplain(L, 1);
  luaL_checkany(L, 2);
  if (lua_isnil(L, 2)) return luaL_argerror(L, 2, "error value expected, got nil");
  if (f->state != FUT_PENDING) return alua__raise(L, f->loop->rt, "InvalidStateError", "invalid state: the future is already done");
  lua_settop(L, 2);
  if (is_errclass(L, f->loop->rt, 2)) {
    /* a class, as asyncio takes one: an error of it */
    lua_call(L, 0, 1);
  }
  alua__future_set_error(L, 1);
  return 0;
}

/* Runs one Lua done callback from the ready queue. */
static void run_cbnode(ac_callback *cb) {
  cbnode *n = ac_container_of(cb, cbnode, cb);
  future *f = n->f;
  lloop *lp = f->loop;
  lua_State *L = lp->L;
  int top = lua_gettop(L);
  push_cbfunc(L, lp, n->ref);
  alua__push_anchored(L, lp, f->anchor);
  uint64_t start = lp->debug ? ac_clock_ns() : 0; /* debug mode: slow callbacks */
  /* what the callback wakes was woken by whoever completed f (traces) */
  lp->slice = f->done_by;
  int status = alua__pcall_traced(L, 1, 0);
  lp->slice = ALUA_NO_SLICE;
  if (start) {
    push_cbfunc(L, lp, n->ref);
    alua__debug_slow(L, lp, -1, start);
    lua_pop(L, 1);
  }
  if (status != LUA_OK) {
    lua_pushvalue(L, -2);
    alua__report(L, lp, "Exception in done callback", -2);
  }
  lua_settop(L, top);
  alua__unanchor(L, lp, n->ref); /* n is garbage from here on */
  f->ncallbacks--;
  alua__future_release(L, f);
}

void alua__future_release(lua_State *L, future *f) {
  if (f->state == FUT_PENDING || f->ncallbacks > 0 || f->anchor == LUA_NOREF) return;
  int ref = f->anchor;
  f->anchor = LUA_NOREF;
  alua__unanchor(L, f->loop, ref);
}

static int f_add_done_callback(lua_State *L) {
  future *f = checkf(L);
  alua__future_taken(alua__rt(L), f);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  cbnode *n = lua_newuserdatauv(L, sizeof *n, 1);
  lua_pushvalue(L, 2);
  lua_setiuservalue(L, -2, 1);
  if (f->anchor == LUA_NOREF) f->anchor = alua__anchor(L, f->loop, 1);
  ac_callback_init(&n->cb, run_cbnode);
  n->f = f;
  n->ref = alua__anchor(L, f->loop, -1);
  f->ncallbacks++;
  if (f->state == FUT_PENDING) ac_list_push_back(&f->waiters, &n->cb.link);
  else ac_loop_enqueue(&f->loop->core, &n->cb);
  return 0;
}

/* Removes every registration of fn that has not been scheduled yet; returns
 * how many. */
static int f_remove_done_callback(lua_State *L) {
  future *f = checkf(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  int removed = 0;
  ac_list *next;
  for (ac_list *p = f->waiters.next; p != &f->waiters; p = next) {
    next = p->next;
    ac_callback *cb = ac_container_of(p, ac_callback, link);
    if (cb->fn != run_cbnode) continue;
    cbnode *n = ac_container_of(cb, cbnode, cb);
    push_cbfunc(L, f->loop, n->ref);
    int same = lua_rawequal(L, -1, 2);
    lua_pop(L, 1);
    if (!same) continue;
    ac_callback_cancel(cb);
    alua__unanchor(L, f->loop, n->ref);
    removed++;
    f->ncallbacks--;
  }
  if (f->ncallbacks == 0 && f->kind == KIND_FUTURE && f->anchor != LUA_NOREF) {
    /* a pending plain future is kept alive only for its callbacks */
    alua__unanchor(L, f->loop, f->anchor);
    f->anchor = LUA_NOREF;
  }
  lua_pushinteger(L, removed);
  return 1;
}

static int f_get_loop(lua_State *L) {
  checkf(L);
  /* a task with extras keeps its loop among them (TASK_UV_EXTRA) */
  if (lua_getiuservalue(L, 1, FUT_UV_LOOP) == LUA_TTABLE) lua_getfield(L, -1, "loop");
  return 1;
}

/* Appends the state of the future at idx: "pending", "cancelled", or
 * "finished" followed by " result=..." or " error=...". */
void alua__future_describe(lua_State *L, luaL_Buffer *b, int idx) {
  future *f = lua_touserdata(L, idx);
  if (f->state == FUT_CANCELLED) {
    luaL_addstring(b, "cancelled");
    return;
  }
  if (f->state == FUT_PENDING) {
    luaL_addstring(b, "pending");
    return;
  }
  luaL_addstring(b, "finished");
  alua__future_describe_outcome(L, b, idx);
}

/* Appends " result=..." or " error=..." (nothing for no results). */
void alua__future_describe_outcome(lua_State *L, luaL_Buffer *b, int idx) {
  future *f = lua_touserdata(L, idx);
  if (f->failed) {
    luaL_addstring(b, " error=");
  } else if (f->nresults == 0) {
    return;
  } else {
    luaL_addstring(b, " result=");
  }
  lua_getiuservalue(L, idx, FUT_UV_RESULT);
  if (!f->failed && f->nresults > 1) {
    lua_rawgeti(L, -1, 1);
    lua_remove(L, -2);
  }
  future *g = alua__tofuture(L, -1);
  if (g) {
    /* a future's result may be a future (itself, even): name its kind
     * only, so that describing never recurses */
    lua_pop(L, 1);
    lua_pushstring(L, g->kind == KIND_TASK ? "<Task>" : "<Future>");
  } else if (lua_type(L, -1) == LUA_TSTRING && !f->failed) {
    lua_pushfstring(L, "'%s'", lua_tostring(L, -1));
    lua_remove(L, -2);
  } else {
    alua__push_tostring(L, -1);
    lua_remove(L, -2);
  }
  luaL_addvalue(b);
  if (!f->failed && f->nresults > 1) {
    lua_pushfstring(L, " (+%d more)", f->nresults - 1);
    luaL_addvalue(b);
  }
}

/* <Future pending>, <GatheringFuture finished result=...> (a task has its
 * own, task.c). */
static int f_tostring(lua_State *L) {
  future *f = checkf(L);
  luaL_Buffer b;
  alua__repr_begin(L, &b, f->kind == KIND_GATHER ? "GatheringFuture " : "Future ");
  alua__future_describe(L, &b, 1);
  return alua__repr_end(&b);
}

const luaL_Reg alua__future_methods[] = {
    {"done", f_done},
    {"cancelled", f_cancelled},
    {"result", f_result},
    {"exception", f_exception},
    {"cancel", f_cancel},
    {"add_done_callback", f_add_done_callback},
    {"remove_done_callback", f_remove_done_callback},
    {"get_loop", f_get_loop},
    {"__tostring", f_tostring},
    {NULL, NULL}};

/* Creates the metatable `name` with the common future methods plus `extra`,
 * marked as future-like; leaves it on the stack. */
void alua__newfutureclass(lua_State *L, rt *r, const char *name, const luaL_Reg *extra) {
  /* Why two metatables: an object whose metatable has __gc is finalized,
   * which costs on every collection. Only a future that failed needs it (to
   * report an error nobody retrieved), so it switches to the twin then. */
  char twin[64];
  snprintf(twin, sizeof twin, "%s (failed)", name);
  alua__newclass(L, r, name, alua__future_methods);
  alua__setfuncs(L, r, extra);
  lua_pushboolean(L, 1);
  lua_rawsetp(L, -2, &future_key);
  alua__tag_awaitable(L, "c");
  /* the twin holds the same fields (the same method closures), its own
   * __index, and __gc; a part of the module opened again after running out
   * of memory finds it registered (so its address stays the one recorded) */
  int mt = lua_gettop(L);
  if (luaL_getmetatable(L, twin) == LUA_TNIL) {
    lua_pop(L, 1);
    lua_createtable(L, 0, 32);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, twin);
  }
  lua_pushnil(L);
  while (lua_next(L, mt)) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, mt + 1);
  }
  lua_pushvalue(L, -1);
  lua_setfield(L, -2, "__index");
  lua_pushlightuserdata(L, r);
  lua_pushcclosure(L, f_gc, 1);
  lua_setfield(L, -2, "__gc");
  for (int i = mt; i <= mt + 1; i++) {
    const void *p = lua_topointer(L, i);
    int k = 0;
    while (k < r->nmt_future && r->mt_future[k] != p) k++;
    if (k == r->nmt_future && k < (int)(sizeof r->mt_future / sizeof r->mt_future[0])) r->mt_future[r->nmt_future++] = p;
  }
  lua_setfield(L, mt, "__gctwin");
}

static int l_future(lua_State *L) {
  rt *r = alua__rt(L);
  alua__push_current_loop(L, r);
  lloop *lp = lua_touserdata(L, -1);
  alua__newfuture(L, lp);
  return 1;
}

/* asyncio.isfuture(x) */
static int l_isfuture(lua_State *L) { return alua__retbool(L, alua__tofuture(L, 1) != NULL); }

void alua__open_future(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg extra[] = {
      {"set_result", f_set_result}, {"set_exception", f_set_exception}, {NULL, NULL}};
  alua__newfutureclass(L, r, MT_FUTURE, extra);
  lua_setfield(L, internals, "Future");
  static const luaL_Reg funcs[] = {{"Future", l_future}, {"isfuture", l_isfuture}, {NULL, NULL}};
  alua__setfuncs_at(L, r, module, funcs);
}
