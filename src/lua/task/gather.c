/* asyncio.gather: a future over children (tasks or futures) that completes
 * with the list of their first results, in argument order. The per-child
 * waiter nodes live inside the gather record itself: one allocation for any
 * number of children. The list of children becomes the list of results
 * when the last one is done, so a gather makes no second table of n slots
 * (16 bytes a child); only the errors that return_exceptions keeps wait in
 * a table of their own, made at the first. */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lua/internal.h"

enum { GATHER_UV_CHILDREN = FUT_NUV, GATHER_UV_RESULTS, GATHER_NUV };

struct gather;

/* Waits on one child; fires when that child completes. The gather it
 * reports to is found from its position (gather_of): 40 bytes a child. */
typedef struct gnode {
  ac_callback cb;    /* on the child's waiter list, then the ready queue */
  future *child;     /* the child (held in the children table meanwhile) */
  int index;         /* child position, 1-based */
} gnode;

typedef struct gather {
  future f;                  /* the outer future: must be first */
  alua__aw aw;               /* never-awaited tracking (forgotten.c) */
  int n;                     /* number of children */
  int remaining;             /* children whose node has not fired yet */
  int noderef;               /* anchor held until every node has fired */
  uint8_t return_exceptions; /* errors go into the list instead of failing */
  uint8_t cancel_requested;  /* cancel() reached the children */
  gnode nodes[];             /* one per child */
} gather;

/* The gather whose node is `node`. */
static gather *gather_of(gnode *node) {
  return (gather *)((char *)(node - (node->index - 1)) - offsetof(gather, nodes));
}

/* Pushes the first result of the successful child at cidx (nil for none). */
static void push_first_result(lua_State *L, future *c, int cidx) {
  if (c->nresults == 0) {
    lua_pushnil(L);
    return;
  }
  lua_getiuservalue(L, cidx, FUT_UV_RESULT);
  if (c->nresults > 1) {
    lua_rawgeti(L, -1, 1);
    lua_remove(L, -2);
  }
}

/* Every child is done and the gather at gidx is pending: it ends, with the
 * list of results or cancelled. The list is the children's, each child
 * replaced by its first result, or (return_exceptions) by its error, which
 * waits in GATHER_UV_RESULTS. Why node->child stays valid through the
 * loop: child i is held in the list until its own slot is replaced. The
 * list was made with room for every result and for `n`: this allocates
 * nothing. */
static void gather_finish(lua_State *L, gather *g, int gidx) {
  if (g->cancel_requested) {
    /* as asyncio: with the CancelledError of the last child, when that one
     * was cancelled (return_exceptions kept it): the request's message */
    if (!g->return_exceptions || g->nodes[g->n - 1].child->state != FUT_CANCELLED ||
        lua_getiuservalue(L, gidx, GATHER_UV_RESULTS) != LUA_TTABLE) {
      lua_settop(L, gidx);
      lua_pushnil(L);
    } else {
      lua_rawgeti(L, -1, g->n);
      lua_remove(L, -2);
    }
    alua__future_set_cancelled(L, gidx);
    return;
  }
  lua_getiuservalue(L, gidx, GATHER_UV_CHILDREN);
  int list = lua_gettop(L);
  lua_pushinteger(L, g->n);
  lua_setfield(L, list, "n");
  lua_getiuservalue(L, gidx, GATHER_UV_RESULTS);
  int errors = list + 1;
  for (int i = 0; i < g->n; i++) {
    future *c = g->nodes[i].child;
    if (c->state == FUT_CANCELLED || c->failed) {
      /* only return_exceptions comes here with one */
      if (lua_istable(L, errors)) lua_rawgeti(L, errors, i + 1);
      else lua_pushnil(L);
    } else {
      lua_rawgeti(L, list, i + 1);
      push_first_result(L, c, lua_gettop(L));
      lua_remove(L, -2);
    }
    lua_rawseti(L, list, i + 1);
  }
  lua_settop(L, list);
  alua__future_set_result(L, gidx, 1);
}

/* Pushes the table of the errors return_exceptions keeps for the gather at
 * gidx, made at the first. */
static void push_errors(lua_State *L, int gidx) {
  if (lua_getiuservalue(L, gidx, GATHER_UV_RESULTS) == LUA_TTABLE) return;
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, gidx, GATHER_UV_RESULTS);
}

/* A child finished. A success only counts down until the last child, when
 * gather_finish reads every result in one pass. A failure or a cancellation
 * is looked at at once, so that its error is never "unretrieved": it ends
 * the gather, or (return_exceptions) takes its place in the list. */
static void child_done(ac_callback *cb) {
  gnode *node = ac_container_of(cb, gnode, cb);
  gather *g = gather_of(node);
  future *c = node->child;
  int status = c->state == FUT_CANCELLED ? 2 : c->failed ? 1 : 0;
  g->remaining--;
  if (status == 0 && g->remaining > 0) return;
  lloop *lp = g->f.loop;
  rt *r = lp->rt;
  lua_State *L = lp->L;
  int top = lua_gettop(L);
  alua__push_anchored(L, lp, g->noderef);
  int gidx = lua_gettop(L);
  /* the gather completes because this child did (traces) */
  lp->slice = c->done_by;
  if (status != 0) {
    lua_getiuservalue(L, gidx, GATHER_UV_CHILDREN);
    lua_rawgeti(L, -1, node->index);
    int cidx = lua_gettop(L);
    if (status == 1) {
      lua_getfield(L, cidx, "exception");
      lua_pushvalue(L, cidx);
      lua_call(L, 1, 1);
    } else {
      alua__push_cancelled(L, r, cidx);
    }
    int value = lua_gettop(L);
    if (g->f.state == FUT_PENDING) {
      if (status == 2 && g->cancel_requested && !g->return_exceptions) {
        /* the gather itself was cancelled: it ends cancelled, not failed */
        lua_pushvalue(L, value);
        alua__future_set_cancelled(L, gidx);
      } else if (!g->return_exceptions) {
        lua_pushvalue(L, value);
        alua__future_set_error(L, gidx);
      } else {
        push_errors(L, gidx);
        lua_pushvalue(L, value);
        lua_rawseti(L, -2, node->index);
      }
    }
    lua_settop(L, gidx);
  }
  if (g->remaining == 0 && g->f.state == FUT_PENDING) gather_finish(L, g, gidx);
  lp->slice = ALUA_NO_SLICE;
  if (g->remaining == 0) {
    int ref = g->noderef;
    g->noderef = LUA_NOREF;
    alua__unanchor(L, lp, ref);
    alua__future_release(L, &g->f);
  }
  lua_settop(L, top);
}

void alua__gather_taken(rt *r, future *f) { alua__aw_taken(r, &((gather *)f)->aw); }

void alua__gather_gc(lua_State *L, rt *r, future *f) { alua__aw_gone(L, r, &((gather *)f)->aw, "asyncio.gather()"); }

int alua__gather_cancel(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  int msg = lua_gettop(L);
  gather *g = lua_touserdata(L, idx);
  int any = 0;
  if (g->f.state == FUT_PENDING) {
    lua_getiuservalue(L, idx, GATHER_UV_CHILDREN);
    for (int i = 1; i <= g->n; i++) {
      lua_rawgeti(L, -1, i);
      lua_pushvalue(L, msg);
      any |= alua__future_cancel(L, -2);
      lua_pop(L, 1);
    }
    if (any) g->cancel_requested = 1;
  }
  lua_settop(L, msg - 1);
  return any;
}

/* The list form gather(list [, opts]): a plain table first, then nothing
 * but an option table. A lone plain table without a first element and
 * with other keys is the option table of a gather of nothing. */
static int list_form(lua_State *L, int top) {
  if (top < 1 || top > 2 || !alua__is_plain_table(L, 1)) return 0;
  if (top == 2) return lua_isnil(L, 2) || alua__is_plain_table(L, 2);
  int listy = lua_rawgeti(L, 1, 1) != LUA_TNIL;
  lua_pop(L, 1);
  if (listy) return 1;
  lua_pushnil(L);
  int empty = !lua_next(L, 1);
  if (!empty) lua_pop(L, 2);
  return empty;
}

/* Checks that the value on top can be a child: an error about argument
 * `arg` (element `elem` of the list when > 0) if not. */
static void check_child(lua_State *L, int arg, lua_Integer elem) {
  int i = lua_gettop(L);
  if (lua_isfunction(L, i) || alua__isawaitable(L, i)) return;
  if (elem > 0)
    luaL_argerror(L, arg, lua_pushfstring(L, "awaitable expected at index %I, got %s", (LUAI_UACINT)elem,
                                          luaL_typename(L, i)));
  luaL_typeerror(L, arg, "awaitable");
}

/* Turns the awaitable on top into a child future of lp (replaced in place),
 * as ensure_future does: futures as they are; coroutine objects, functions
 * (called in the task) and other awaitables become tasks. */
static void to_child(lua_State *L, lloop *lp) { alua__ensure_future(L, lp, lua_gettop(L)); }

/* The first argument before the i-th that is the value on top (argument
 * j, or element j of the list at 1), or 0. */
static lua_Integer earlier_same(lua_State *L, int list, lua_Integer i) {
  for (lua_Integer j = 1; j < i; j++) {
    if (list) lua_rawgeti(L, 1, j);
    else lua_pushvalue(L, (int)j);
    int same = lua_rawequal(L, -1, -2);
    lua_pop(L, 1);
    if (same) return j;
  }
  return 0;
}

/* asyncio.gather(aw, ... [, {return_exceptions = true}]) or
 * asyncio.gather(list [, opts]): the list form takes any number of
 * awaitables, with no argument per awaitable (Lua's stack limit). */
static int l_gather(lua_State *L) {
  rt *r = alua__rt(L);
  int top = lua_gettop(L);
  int list = list_form(L, top);
  int opts = list ? (top == 2 && !lua_isnil(L, 2) ? 2 : 0) : alua__is_plain_table(L, top) ? top : 0;
  lua_Integer n = list ? (lua_Integer)lua_rawlen(L, 1) : opts ? top - 1 : top;
  int return_exceptions = 0;
  static const char *const known[] = {"return_exceptions", NULL};
  if (opts) alua__check_options(L, opts, opts, "gather", known);
  if (opts) {
    lua_getfield(L, opts, "return_exceptions");
    return_exceptions = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  if (n > INT_MAX / 2 || (size_t)n > (SIZE_MAX - sizeof(gather)) / sizeof(gnode))
    return luaL_argerror(L, 1, "too many awaitables");
  lloop *lp = alua__push_current_loop(L, r);
  lua_pop(L, 1);
  /* every argument checked before any task starts; futures (the common
   * children) go to their place at once, so that each is recognised once */
  lua_createtable(L, (int)n, 1); /* 1: the results' `n` (gather_finish) */
  int children = lua_gettop(L);
  lua_Integer others = 0;
  for (lua_Integer i = 1; i <= n; i++) {
    if (list) lua_rawgeti(L, 1, i);
    else lua_pushvalue(L, (int)i);
    if (alua__tofuture_rt(L, r, -1)) {
      lua_rawseti(L, children, i);
      continue;
    }
    check_child(L, list ? 1 : (int)i, list ? i : 0);
    lua_pop(L, 1);
    others++;
  }
  /* the other awaitables become tasks, in order (a pass only when there
   * are any: each pass over a list of 100k tasks reaches each one's record
   * in memory again) */
  for (lua_Integer i = 1; others > 0 && i <= n; i++) {
    if (lua_rawgeti(L, children, i) == LUA_TNIL) {
      lua_pop(L, 1);
      if (list) lua_rawgeti(L, 1, i);
      else lua_pushvalue(L, (int)i);
      coro *c = alua__tocoro_rt(L, r, -1);
      lua_Integer j = c && c->consumed ? earlier_same(L, list, i) : 0;
      if (j > 0) {
        /* the same coroutine object again: the same child, as in asyncio */
        lua_pop(L, 1);
        lua_rawgeti(L, children, j);
      } else {
        to_child(L, lp);
      }
      lua_rawseti(L, children, i);
      others--;
    } else {
      lua_pop(L, 1);
    }
  }
  gather *g = lua_newuserdatauv(L, sizeof *g + (size_t)n * sizeof(gnode), GATHER_NUV - 1);
  int gidx = lua_gettop(L);
  alua__future_init(L, &g->f, lp, KIND_GATHER);
  alua__aw_made(L, r, &g->aw);
  g->n = g->remaining = (int)n;
  g->noderef = LUA_NOREF;
  g->return_exceptions = (uint8_t)return_exceptions;
  g->cancel_requested = 0;
  /* the metatable with a finalizer: a gather nobody awaits warns */
  luaL_setmetatable(L, MT_GATHER " (failed)");
  lua_pushvalue(L, children);
  lua_setiuservalue(L, gidx, GATHER_UV_CHILDREN);
  if (n == 0) {
    lua_createtable(L, 0, 1);
    lua_pushinteger(L, 0);
    lua_setfield(L, -2, "n");
    alua__future_set_result(L, gidx, 1);
    return 1;
  }
  g->noderef = alua__anchor(L, lp, gidx);
  for (int i = 0; i < n; i++) {
    gnode *node = &g->nodes[i];
    ac_callback_init(&node->cb, child_done);
    node->index = i + 1;
    lua_rawgeti(L, children, i + 1);
    future *c = lua_touserdata(L, -1);
    lua_pop(L, 1);
    node->child = c;
    alua__future_taken(r, c);
    if (c->state == FUT_PENDING) ac_list_push_back(&c->waiters, &node->cb.link);
    else ac_loop_enqueue(&lp->core, &node->cb);
  }
  return 1;
}

void alua__gather_push_children(lua_State *L, int idx) {
  /* once done, the list holds the results */
  if (((future *)lua_touserdata(L, idx))->state == FUT_PENDING) lua_getiuservalue(L, idx, GATHER_UV_CHILDREN);
  else lua_pushnil(L);
}

void alua__open_gather(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg none[] = {{NULL, NULL}};
  alua__newfutureclass(L, r, MT_GATHER, none);
  lua_pop(L, 1);
  static const luaL_Reg funcs[] = {{"gather", l_gather}, {NULL, NULL}};
  alua__setfuncs_at(L, r, module, funcs);
}
