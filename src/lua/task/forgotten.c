/* Forgotten awaits (SPEC 2.1): an awaitable that is never awaited or
 * scheduled warns on stderr, naming it and the line that made it:
 * "asyncio.sleep() created at script.lua:3 was never awaited".
 *
 * - Fresh objects (coroutine objects, gathers, descriptor waits) are
 *   garbage once forgotten: their finalizer warns if they were never
 *   taken. So that this comes within a pass or two of the mistake, a pass
 *   at whose end an object made during it is still unawaited is followed
 *   by collector steps (young collections in generational mode) at its end
 *   and the next one's. Coroutine objects, made for every task, get their
 *   finalizer as the sleeps below do: only when a pass end finds them not
 *   taken (they have their own holder and nursery, swept first).
 *
 * - sleep(d) and sleep(0) without values hand out one of two shared
 *   sleepers (await.c): those are shared operations, below. The other
 *   sleeps (with values, or made while the shared one is armed and not
 *   awaited yet) are fresh, but can still be many, too many to all have
 *   finalizers (each costs the collector far more than the sleep itself).
 *   The last one made is held (one uservalue store); making another while
 *   it is not awaited moves it to the nursery. A pass end gives the
 *   finalizer (a second metatable) only to the sleeps held or in the
 *   nursery and not awaited, so `await asyncio.sleep(d, v)` never gets one.
 *
 * - Shared operations (q:get(), lock:acquire(), ev:wait(), ...: one object
 *   per owner, handed out again and again) are never garbage while their
 *   owner lives. One that was handed out and is still not awaited at the
 *   end of the pass after the one that handed it out is reported then
 *   (awaiting it, or handing it to wait_for / gather / shield, whose task
 *   awaits it in the next pass, is in time). A hand-out while an earlier
 *   one is pending counts as one more; the earlier keeps the record, since
 *   the later is usually awaited at once.
 *
 * The common path (an await right after the call) costs the creation site
 * (site.c) and a few stores; the rest runs only at the end of a pass that
 * left something unawaited. */
#include <stdio.h>

#include "lua/internal.h"
#include "lua/runtime/site.h"

/* Metatable of the sleeps a pass end found not awaited (with __gc). */
#define MT_SLEEP_TRACKED "asyncio.sleep (tracked)"

/* Prints the warning. It allocates nothing, so no collector step (and no
 * finalizer, which may take an operation off r->awops) runs while the
 * callers below walk that list. */
static void warn(lua_State *L, rt *r, const char *what, int site) {
  int top = lua_gettop(L);
  fprintf(stderr, "%s created at %s was never awaited\n", what, alua__site_name(L, r, site));
  fflush(stderr);
  lua_settop(L, top);
}

void alua__aw_made(lua_State *L, rt *r, alua__aw *aw) {
  aw->site = alua__site_fast(L, r);
  aw->pass = r->pass;
  aw->pending = 1;
  r->aw_fresh++;
}


void alua__aw_gone(lua_State *L, rt *r, alua__aw *aw, const char *what) {
  if (aw->pending == 0) return;
  aw->pending = 0;
  warn(L, r, what, aw->site);
}

void alua__awop_gone(lua_State *L, alua__awop *op) {
  rt *r = op->rt;
  for (unsigned i = 0; i < ALUA_AW_RING && i < r->ringn; i++)
    if (r->ring[i] == op) r->ring[i] = NULL;
  ac_list_remove(&op->link);
  ac_list_init(&op->link);
  if (op->aw.pending == 0) return;
  op->aw.pending = 0;
  r->aw_handed--;
  warn(L, r, op->what ? op->what : "an asyncio operation", op->aw.site);
}

/* A nursery, for sleeps or for coroutine objects: the last one made is
 * held (uservalue 1 of a holder userdata); making another while it is
 * still pending moves it to a table, and a pass end gives every one still
 * pending its finalizer. Fields of the runtime record, by reference. */
typedef struct nursery {
  int table;        /* registry ref of the table */
  int *n;           /* entries in the table */
  int holder;       /* registry ref of the holder */
  alua__aw **last;  /* the held one's record, or NULL */
} nursery;

static nursery sleeps(rt *r) { return (nursery){r->nursery, &r->nursery_n, r->ref_last_sleep, &r->last_sleep}; }

static nursery coros(rt *r) { return (nursery){r->coro_nursery, &r->coro_nursery_n, r->ref_last_coro, &r->last_coro}; }

/* Moves the held one (of the holder at index h) to the table. */
static void to_nursery(lua_State *L, nursery ns, int h) {
  h = lua_absindex(L, h);
  lua_rawgeti(L, LUA_REGISTRYINDEX, ns.table);
  lua_getiuservalue(L, h, 1);
  lua_rawseti(L, -2, ++*ns.n);
  lua_pop(L, 1);
}

/* The object on top was just made (aw its record): it becomes the held one. */
static void nurse(lua_State *L, nursery ns, alua__aw *aw, int holder) {
  if (*ns.last && (*ns.last)->pending) to_nursery(L, ns, holder);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, holder, 1);
  *ns.last = aw;
}

/* The pass ends: the held one and those in the table that are still
 * pending get their finalizer (track: the object on top); both are
 * emptied. */
static void sweep(lua_State *L, rt *r, nursery ns, void (*track)(lua_State *L, rt *r)) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, ns.holder);
  int h = lua_gettop(L);
  if (*ns.last && (*ns.last)->pending) to_nursery(L, ns, h);
  *ns.last = NULL;
  lua_pushnil(L);
  lua_setiuservalue(L, h, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, ns.table);
  int t = lua_gettop(L);
  for (int i = 1; i <= *ns.n; i++) {
    if (lua_rawgeti(L, t, i) == LUA_TUSERDATA && ((alua__aw *)lua_touserdata(L, -1))->pending) {
      track(L, r);
      r->aw_fresh++;
    }
    lua_settop(L, t);
    lua_pushnil(L);
    lua_rawseti(L, t, i);
  }
  lua_settop(L, h - 1);
  *ns.n = 0;
}

/* A sleep gets its finalizer through the second metatable. */
static void track_sleep(lua_State *L, rt *r) {
  (void)r;
  luaL_setmetatable(L, MT_SLEEP_TRACKED);
}

static void track_coro(lua_State *L, rt *r) { alua__coro_track(L, r, -1); }

void alua__aw_nurse(lua_State *L, rt *r, alua__aw *aw, int holder) { nurse(L, sleeps(r), aw, holder); }

void alua__aw_nurse_coro(lua_State *L, rt *r, alua__aw *aw, int holder) { nurse(L, coros(r), aw, holder); }

void alua__aw_pass_work(lua_State *L, rt *r) {
  if (r->last_coro || r->coro_nursery_n) sweep(L, r, coros(r), track_coro);
  if (r->last_sleep || r->nursery_n) sweep(L, r, sleeps(r), track_sleep);
  if (r->aw_fresh) {
    r->aw_fresh = 0;
    r->aw_collect = 2;
  }
  if (r->aw_collect) {
    r->aw_collect--;
    lua_gc(L, LUA_GCSTEP, 0);
  }
  /* the hand-outs of this pass still pending join those of earlier passes */
  unsigned n = r->ringn < ALUA_AW_RING ? r->ringn : ALUA_AW_RING;
  for (unsigned i = 0; i < n; i++) {
    alua__awop *op = r->ring[i];
    if (op && op->aw.pending && !ac_list_linked(&op->link)) ac_list_push_back(&r->awops, &op->link);
  }
  r->ringn = 0;
  for (ac_list *it = r->awops.next; it != &r->awops;) {
    alua__awop *op = ac_container_of(it, alua__awop, link);
    it = it->next;
    if (op->aw.pending && op->aw.pass == r->pass) continue;
    ac_list_remove(&op->link);
    ac_list_init(&op->link);
    if (op->aw.pending == 0) continue;
    /* handed out a pass ago and still not awaited */
    op->aw.pending = 0;
    r->aw_handed--;
    warn(L, r, op->what, op->aw.site);
  }
}

void alua__aw_close(lua_State *L, rt *r) {
  /* coroutine objects made after the last pass end, never taken: newest
   * first, as their finalizers would have run */
  if (L && r->coro_nursery != LUA_NOREF) {
    if (r->last_coro && r->last_coro->pending) {
      lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_last_coro);
      lua_getiuservalue(L, -1, 1);
      alua__coro_warn(L, r, -1);
      lua_pop(L, 2);
    }
    r->last_coro = NULL;
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->coro_nursery);
    for (int i = r->coro_nursery_n; i >= 1; i--) {
      if (lua_rawgeti(L, -1, i) == LUA_TUSERDATA && ((alua__aw *)lua_touserdata(L, -1))->pending)
        alua__coro_warn(L, r, -1);
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    r->coro_nursery_n = 0;
  }
  /* sleeps made after the last pass end, never awaited: left at exit */
  if (L && r->nursery != LUA_NOREF) {
    if (r->last_sleep && r->last_sleep->pending) {
      r->last_sleep->pending = 0;
      warn(L, r, "asyncio.sleep()", r->last_sleep->site);
    }
    r->last_sleep = NULL;
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->nursery);
    for (int i = 1; i <= r->nursery_n; i++) {
      if (lua_rawgeti(L, -1, i) == LUA_TUSERDATA) {
        alua__aw *aw = lua_touserdata(L, -1);
        if (aw->pending) {
          aw->pending = 0;
          warn(L, r, "asyncio.sleep()", aw->site);
        }
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    r->nursery_n = 0;
  }
  unsigned n = r->ringn < ALUA_AW_RING ? r->ringn : ALUA_AW_RING;
  for (unsigned i = 0; i < n; i++) {
    alua__awop *op = r->ring[i];
    if (op && op->aw.pending && !ac_list_linked(&op->link)) ac_list_push_back(&r->awops, &op->link);
  }
  r->ringn = 0;
  while (!ac_list_empty(&r->awops)) {
    alua__awop *op = ac_container_of(r->awops.next, alua__awop, link);
    ac_list_remove(&op->link);
    ac_list_init(&op->link);
    if (op->aw.pending && L) warn(L, r, op->what, op->aw.site);
    op->aw.pending = 0;
  }
  r->aw_handed = 0;
}

void alua__open_forgotten(lua_State *L, rt *r, int module, int internals) {
  (void)module;
  (void)internals;
  lua_newtable(L);
  r->nursery = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_newuserdatauv(L, 0, 1);
  r->ref_last_sleep = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_newtable(L);
  r->coro_nursery = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_newuserdatauv(L, 0, 1);
  r->ref_last_coro = luaL_ref(L, LUA_REGISTRYINDEX);
  alua__awop_init(&r->zero_awop, r);
  alua__awop_init(&r->sleep_awop, r);
}
