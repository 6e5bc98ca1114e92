/* Futures owned by the host (alua.h): a plain Future that Lua awaits, and a
 * handle the host completes from any thread. A completion is queued on the
 * state's hub and taken on the loop thread at the next pass, where the
 * host's push function supplies the results.
 *
 * Lifetimes. The record is allocated by alua_future_new and freed when its
 * completion is taken (loop thread), or inside alua_future_complete when the
 * state is already closed. Until then it holds a reference to the hub and,
 * while its loop is open, an anchor of the future and one unit of the
 * loop's external work (so that tasks awaiting it are not reported as
 * deadlocked). A loop that closes first cancels the future and lets go. */
#include <stdlib.h>

#include "lua/embed/embed.h"
#include "lua/observe/observe.h"

/* Called when the future leaves pending (it sits on its waiter list):
 * a cancellation reaches the host through on_cancel. */
static void on_future_done(ac_callback *cb) {
  alua_future *hf = ac_container_of(cb, alua_future, watch);
  if (hf->fut->state != FUT_CANCELLED || hf->cancel_called) return;
  hf->cancel_called = 1;
  if (hf->on_cancel) hf->on_cancel(hf->cancel_ud);
}

/* Lets go of the loop's resources (L NULL: the state is closing, anchors
 * go with it). */
static void release_loop(lua_State *L, alua_future *hf) {
  if (!hf->loop) return;
  ac_callback_cancel(&hf->watch);
  if (L) alua__unanchor(L, hf->loop, hf->futref);
  hf->futref = LUA_NOREF;
  ac_loop_external_end(&hf->loop->core);
  hf->loop = NULL;
  hf->fut = NULL;
}

/* Protected: marks the future at 1 cancelled. */
static int p_cancel(lua_State *L) {
  lua_settop(L, 1);
  lua_pushnil(L);
  alua__future_cancel(L, 1);
  return 0;
}

void alua__host_future_detach(lua_State *L, alua_future *hf) {
  if (!hf->loop) return;
  if (L && hf->fut->state == FUT_PENDING) {
    alua__push_anchored(L, hf->loop, hf->futref);
    lua_pushcfunction(L, p_cancel);
    lua_insert(L, -2);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) lua_pop(L, 1);
  }
  int pending = hf->fut->state == FUT_PENDING || hf->fut->state == FUT_CANCELLED;
  release_loop(L, hf);
  if (pending && !hf->cancel_called) {
    hf->cancel_called = 1;
    if (hf->on_cancel) hf->on_cancel(hf->cancel_ud);
  }
}

/* Protected: calls the host's push (light userdata at 1) for the future at
 * 2 and sets its result from what push returned. */
static int p_push(lua_State *L) {
  alua_future *hf = lua_touserdata(L, 1);
  int base = lua_gettop(L);
  int n = hf->push(L, hf->item.ud);
  int got = lua_gettop(L) - base;
  if (n < 0 || n > got) return luaL_error(L, "alua_future_complete: push returned %d but pushed %d values", n, got);
  alua__future_set_result(L, 2, n);
  return 0;
}

void alua__host_future_take(lua_State *L, alua_future *hf) {
  alua__hub *h = hf->hub;
  if (L && hf->loop && hf->fut->state == FUT_PENDING) {
    /* the completion arrives: no cancellation can reach the host now */
    ac_callback_cancel(&hf->watch);
    int top = lua_gettop(L);
    lua_pushcfunction(L, p_push);
    lua_pushlightuserdata(L, hf);
    alua__push_anchored(L, hf->loop, hf->futref);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
      /* push raised: that error is the future's */
      alua__push_anchored(L, hf->loop, hf->futref);
      future *f = lua_touserdata(L, -1);
      if (f->state == FUT_PENDING) {
        lua_insert(L, -2);
        alua__future_set_error(L, -2);
      }
    }
    lua_settop(L, top);
  } else {
    hf->push(NULL, hf->item.ud);
  }
  release_loop(L, hf);
  /* while the hub is open only the loop thread changes the list */
  pthread_mutex_lock(&h->mu);
  ac_list_remove(&hf->link);
  pthread_mutex_unlock(&h->mu);
  free(hf);
  alua__hub_unref(h);
}

alua_future *alua_future_new(lua_State *L) {
  rt *r = alua__rt_state(L);
  if (!r || !r->hub) luaL_error(L, "alua_future_new: asyncio is not open in this state");
  lloop *lp = alua__push_current_loop(L, r);
  future *f = alua__newfuture(L, lp);
  lua_remove(L, -2);
  /* reports of waits say what a task awaiting it waits for */
  alua__future_label(L, -1, "host future", 0);
  int ref = alua__anchor(L, lp, -1);
  /* allocated after the calls that may raise, so that it cannot leak */
  alua_future *hf = calloc(1, sizeof *hf);
  if (!hf) {
    alua__unanchor(L, lp, ref);
    luaL_error(L, "not enough memory");
  }
  hf->futref = ref;
  hf->hub = r->hub;
  hf->loop = lp;
  hf->fut = f;
  ac_callback_init(&hf->watch, on_future_done);
  ac_list_push_back(&f->waiters, &hf->watch.link);
  ac_loop_external_begin(&lp->core);
  pthread_mutex_lock(&hf->hub->mu);
  hf->hub->refs++;
  ac_list_push_back(&hf->hub->futures, &hf->link);
  pthread_mutex_unlock(&hf->hub->mu);
  return hf;
}

int alua_future_complete(alua_future *hf, int (*push)(lua_State *L, void *ud), void *ud) {
  alua__hub *h = hf->hub;
  hf->push = push;
  hf->item.fn = NULL;
  hf->item.ud = ud;
  pthread_mutex_lock(&h->mu);
  if (h->closed) {
    ac_list_remove(&hf->link);
    pthread_mutex_unlock(&h->mu);
    push(NULL, ud);
    free(hf);
    alua__hub_unref(h);
    return 0;
  }
  ac_list_push_back(&h->queue, &hf->item.link);
  __atomic_store_n(&h->npending, h->npending + 1, __ATOMIC_RELAXED);
  if (h->target) ac_loop_wake(h->target);
  pthread_mutex_unlock(&h->mu);
  return 0;
}

void alua_future_on_cancel(alua_future *hf, void (*fn)(void *ud), void *ud) {
  hf->on_cancel = fn;
  hf->cancel_ud = ud;
  /* cancelled before anyone asked: tell the host now */
  if (hf->cancel_called || !hf->fut || hf->fut->state != FUT_CANCELLED) return;
  hf->cancel_called = 1;
  if (fn) fn(ud);
}
