/* Handles: callbacks scheduled with loop:call_soon, call_later, call_at and
 * call_soon_threadsafe (signal handlers reuse them, see signals.c). A handle
 * is a userdata whose core nodes (ready-queue link, timer) live inside it;
 * its loop, function and arguments are uservalues. While scheduled it is
 * anchored in its loop, because only the core's lists point at it then. */
#include <stdio.h>

#include "core/clock.h"
#include "lua/internal.h"
#include "lua/observe/observe.h"

#define MT_HANDLE "asyncio.Handle"
#define MT_TIMERHANDLE "asyncio.TimerHandle"

enum { H_UV_LOOP = 1, H_UV_FN, H_UV_ARGS };

static void timer_fired(ac_timer *t);

static handle *checkhandle(lua_State *L, int idx) {
  handle *h = luaL_testudata(L, idx, MT_HANDLE);
  if (!h) h = luaL_testudata(L, idx, MT_TIMERHANDLE);
  if (!h) luaL_typeerror(L, idx, MT_HANDLE);
  return h;
}

void alua__check_callback(lua_State *L, int idx, const char *fname) {
  if (alua__tocoro(L, idx) || alua__iscoroutinefunction(L, idx))
    luaL_error(L, "bad argument #%d to '%s' (coroutines cannot be used as callbacks: wrap them in a task)",
               idx - 1, fname);
  if (lua_isfunction(L, idx)) return;
  if (luaL_getmetafield(L, idx, "__call") != LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  const char *got = luaL_getmetafield(L, idx, "__name") == LUA_TSTRING ? lua_tostring(L, -1) : luaL_typename(L, idx);
  luaL_error(L, "bad argument #%d to '%s' (function expected, got %s)", idx - 1, fname, got);
}

void alua__push_callable_desc(lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TFUNCTION) {
    luaL_tolstring(L, idx, NULL);
    return;
  }
  lua_Debug ar;
  lua_pushvalue(L, idx);
  lua_getinfo(L, ">S", &ar);
  if (*ar.what == 'C') lua_pushliteral(L, "function <[C]>");
  else lua_pushfstring(L, "function <%s:%d>", ar.short_src, ar.linedefined);
}

/* Pushes fn and the arguments of the handle at hidx; returns their count. */
static int push_call(lua_State *L, int hidx) {
  handle *h = lua_touserdata(L, hidx);
  luaL_checkstack(L, h->nargs + 1, "too many arguments");
  for (int i = 0; i <= h->nargs; i++) lua_getiuservalue(L, hidx, H_UV_FN + i);
  return h->nargs;
}

/* Protected body of a handle run: handle at 1. */
static int call_handle(lua_State *L) {
  int n = push_call(L, 1);
  lua_call(L, n, 0);
  return 0;
}

/* Protected: builds the context of a failed callback (handle at 1, error at
 * 2, traceback at 3) and reports it. */
static int report_failure(lua_State *L) {
  lloop *lp = ((handle *)lua_touserdata(L, 1))->loop;
  lua_createtable(L, 0, 4);
  lua_getiuservalue(L, 1, H_UV_FN);
  alua__push_callable_desc(L, -1);
  lua_pushfstring(L, "Exception in callback %s", lua_tostring(L, -1));
  lua_setfield(L, 4, "message");
  lua_settop(L, 4);
  lua_pushvalue(L, 2);
  lua_setfield(L, 4, "exception");
  lua_pushvalue(L, 3);
  lua_setfield(L, 4, "traceback");
  lua_pushvalue(L, 1);
  lua_setfield(L, 4, "handle");
  alua__report_context(L, lp);
  return 0;
}

/* The ready-queue callback of every handle. */
static void run_handle(ac_callback *cb) {
  handle *h = ac_container_of(cb, handle, cb);
  lloop *lp = h->loop;
  lua_State *L = lp->L;
  if (h->kind == HANDLE_THREADSAFE) ac_loop_external_end(&lp->core);
  if (h->ref == LUA_NOREF) return;
  int top = lua_gettop(L);
  alua__push_anchored(L, lp, h->ref);
  int hidx = lua_gettop(L);
  /* A signal or descriptor handle stays registered (signals.c and watch.c
   * own its anchor); the others ran their one time. */
  if (h->kind != HANDLE_SIGNAL && h->kind != HANDLE_WATCH) {
    alua__unanchor(L, lp, h->ref);
    h->ref = LUA_NOREF;
    alua__keepalive(lp, &h->keep, 0);
  }
  /* only a threadsafe handle can be cancelled after being queued: it sits on
   * the core's posted list, which cancel() may not touch */
  if (!h->cancelled) {
    uint64_t start = lp->observe ? alua__observe_callback_begin(lp) : 0;
    lua_pushcfunction(L, call_handle);
    lua_pushvalue(L, hidx);
    int status = alua__pcall_traced(L, 1, 0);
    if (start) alua__observe_callback_end(L, lp, hidx, start);
    if (status != LUA_OK) {
      lua_pushcfunction(L, report_failure);
      lua_pushvalue(L, hidx);
      lua_pushvalue(L, -4);
      lua_pushvalue(L, -4);
      if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
        /* could not even build the context (memory): report the bare error */
        lua_pop(L, 1);
        lua_pushvalue(L, -2);
        alua__report(L, lp, "Exception in callback", lua_gettop(L) - 1);
      }
    }
  }
  lua_settop(L, top);
}

handle *alua__newhandle(lua_State *L, lloop *lp, int kind, int fnidx, int nargs) {
  fnidx = lua_absindex(L, fnidx);
  handle *h = lua_newuserdatauv(L, sizeof *h, nargs + 2);
  ac_callback_init(&h->cb, run_handle);
  ac_timer_init(&h->timer, timer_fired);
  h->loop = lp;
  h->when = 0;
  h->nargs = nargs;
  h->ref = LUA_NOREF;
  h->owner = NULL;
  h->keep.counted = h->keep.unref = 0;
  h->kind = (uint8_t)kind;
  h->cancelled = 0;
  luaL_setmetatable(L, kind == HANDLE_TIMER ? MT_TIMERHANDLE : MT_HANDLE);
  alua__pushloop(L, lp);
  lua_setiuservalue(L, -2, H_UV_LOOP);
  for (int i = 0; i <= nargs; i++) {
    lua_pushvalue(L, fnidx + i);
    lua_setiuservalue(L, -2, H_UV_FN + i);
  }
  if (lp->debug) alua__debug_record(L, -1);
  return h;
}

/* Pushes a new handle for loop:<fname>(..., fn, ...) with fn at fnidx and
 * every value after it as arguments. */
static handle *newhandle(lua_State *L, lloop *lp, int kind, int fnidx, const char *fname) {
  alua__check_callback(L, fnidx, fname);
  return alua__newhandle(L, lp, kind, fnidx, lua_gettop(L) - fnidx);
}

/* loop:call_soon(fn, ...): runs fn(...) at the next loop pass. */
static int l_call_soon(lua_State *L) {
  lloop *lp = alua__checkopen(L, 1);
  handle *h = newhandle(L, lp, HANDLE_SOON, 2, "call_soon");
  h->ref = alua__anchor(L, lp, -1);
  alua__keepalive(lp, &h->keep, 1);
  ac_loop_enqueue(&lp->core, &h->cb);
  return 1;
}

/* Moves a due timer handle to the ready queue (timer phase of a pass). */
static void timer_fired(ac_timer *t) {
  handle *h = ac_container_of(t, handle, timer);
  ac_loop_enqueue(&h->loop->core, &h->cb);
}

/* Nanoseconds for a time in seconds, saturated to the clock's range. */
static uint64_t to_ns(lua_Number s) {
  lua_Number ns = s * 1e9;
  if (!(ns > 0)) return 0;
  if (ns >= 18446744073709551615.0) return UINT64_MAX;
  return (uint64_t)ns;
}

/* Schedules a new timer handle for fn at fnidx, due at deadline (ns). */
static int schedule_at(lua_State *L, lloop *lp, int fnidx, lua_Number when, uint64_t deadline, const char *fname) {
  handle *h = newhandle(L, lp, HANDLE_TIMER, fnidx, fname);
  h->when = when;
  h->ref = alua__anchor(L, lp, -1);
  alua__keepalive(lp, &h->keep, 1);
  ac_loop_timer_start(&lp->core, &h->timer, deadline);
  return 1;
}

static lua_Number checktime(lua_State *L, int idx, const char *fname, const char *what) {
  if (lua_type(L, idx) != LUA_TNUMBER)
    luaL_error(L, "bad argument #%d to '%s' (number expected, got %s)", idx - 1, fname, luaL_typename(L, idx));
  lua_Number v = lua_tonumber(L, idx);
  if (v != v) luaL_error(L, "bad argument #%d to '%s' (%s is NaN)", idx - 1, fname, what);
  return v;
}

/* loop:call_later(delay, fn, ...): runs fn(...) after delay seconds. */
static int l_call_later(lua_State *L) {
  lloop *lp = alua__checkopen(L, 1);
  lua_Number delay = checktime(L, 2, "call_later", "delay");
  uint64_t now = ac_loop_update_time(&lp->core);
  uint64_t d = to_ns(delay);
  uint64_t deadline = d >= UINT64_MAX - now ? UINT64_MAX : now + d;
  return schedule_at(L, lp, 3, (lua_Number)now / 1e9 + delay, deadline, "call_later");
}

/* loop:call_at(when, fn, ...): runs fn(...) at loop time `when`. */
static int l_call_at(lua_State *L) {
  lloop *lp = alua__checkopen(L, 1);
  lua_Number when = checktime(L, 2, "call_at", "when");
  return schedule_at(L, lp, 3, when, to_ns(when), "call_at");
}

/* loop:call_soon_threadsafe(fn, ...): like call_soon, but through the core's
 * thread-safe post, which also wakes a loop blocked in its poll. */
static int l_call_soon_threadsafe(lua_State *L) {
  lloop *lp = alua__checkopen(L, 1);
  handle *h = newhandle(L, lp, HANDLE_THREADSAFE, 2, "call_soon_threadsafe");
  h->ref = alua__anchor(L, lp, -1);
  alua__keepalive(lp, &h->keep, 1);
  /* the loop must not report a deadlock while this is on its way */
  ac_loop_external_begin(&lp->core);
  ac_loop_post(&lp->core, &h->cb);
  return 1;
}

/* handle:cancel(): the callback will not run (no effect once it ran). */
static int h_cancel(lua_State *L) {
  handle *h = checkhandle(L, 1);
  if (h->cancelled) return 0;
  h->cancelled = 1;
  lloop *lp = h->loop;
  alua__keepalive(lp, &h->keep, 0);
  switch (h->kind) {
  case HANDLE_SOON:
  case HANDLE_TIMER:
    if (h->ref == LUA_NOREF) break; /* ran already */
    /* a closed loop's lists are gone: nothing to take it off */
    if (!lp->closed) {
      ac_loop_timer_stop(&lp->core, &h->timer);
      ac_callback_cancel(&h->cb);
    }
    alua__unanchor(L, lp, h->ref);
    h->ref = LUA_NOREF;
    break;
  case HANDLE_SIGNAL:
    /* stays registered, but deliveries are ignored from now on */
    if (!lp->closed) ac_callback_cancel(&h->cb);
    break;
  case HANDLE_WATCH:
    /* as remove_reader / remove_writer */
    alua__watch_cancel(L, h);
    break;
  default:
    /* HANDLE_THREADSAFE: on the posted list until it runs, then skipped */
    break;
  }
  return 0;
}

/* True while the handle still keeps the program running when not
 * unref()'d: scheduled (or registered, for a descriptor), not cancelled.
 * Signal handlers never do. */
static int active(handle *h) {
  return h->kind != HANDLE_SIGNAL && h->ref != LUA_NOREF && !h->cancelled && !h->loop->closed;
}

/* handle:unref(): the program may end while this callback is still to
 * come (as Node's timer.unref()); handle:ref() undoes it. Both return the
 * handle. */
static int h_unref(lua_State *L) {
  handle *h = checkhandle(L, 1);
  return alua__keep_ref(L, h->loop, &h->keep, active(h), 0);
}

static int h_ref(lua_State *L) {
  handle *h = checkhandle(L, 1);
  return alua__keep_ref(L, h->loop, &h->keep, active(h), 1);
}

static int h_cancelled(lua_State *L) { return alua__retbool(L, checkhandle(L, 1)->cancelled); }

static int h_when(lua_State *L) {
  handle *h = luaL_checkudata(L, 1, MT_TIMERHANDLE);
  lua_pushnumber(L, h->when);
  return 1;
}

static int h_get_loop(lua_State *L) {
  checkhandle(L, 1);
  lua_getiuservalue(L, 1, H_UV_LOOP);
  return 1;
}

/* <Handle function <x.lua:5>>, <Handle cancelled ...>,
 * <TimerHandle when=12.500 function <x.lua:5>>, plus " created at
 * file:line" when recorded in debug mode. */
static int h_tostring(lua_State *L) {
  handle *h = checkhandle(L, 1);
  luaL_Buffer b;
  alua__repr_begin(L, &b, h->kind == HANDLE_TIMER ? "TimerHandle " : "Handle ");
  if (h->cancelled) luaL_addstring(&b, "cancelled ");
  if (h->kind == HANDLE_TIMER) {
    char when[64];
    snprintf(when, sizeof when, "when=%.3f ", (double)h->when);
    luaL_addstring(&b, when);
  }
  lua_getiuservalue(L, 1, H_UV_FN);
  alua__push_callable_desc(L, -1);
  lua_remove(L, -2);
  luaL_addvalue(&b);
  alua__debug_add_site(L, &b, 1);
  return alua__repr_end(&b);
}

void alua__open_handle(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg methods[] = {{"cancel", h_cancel},
                                     {"cancelled", h_cancelled},
                                     {"ref", h_ref},
                                     {"unref", h_unref},
                                     {"get_loop", h_get_loop},
                                     {"__tostring", h_tostring},
                                     {NULL, NULL}};
  static const luaL_Reg timer_methods[] = {{"when", h_when}, {NULL, NULL}};
  alua__newclass(L, r, MT_HANDLE, methods);
  lua_setfield(L, internals, "Handle");
  alua__newclass(L, r, MT_TIMERHANDLE, methods);
  alua__setfuncs(L, r, timer_methods);
  lua_setfield(L, internals, "TimerHandle");
  static const luaL_Reg loop_methods[] = {{"call_soon", l_call_soon},
                                          {"call_later", l_call_later},
                                          {"call_at", l_call_at},
                                          {"call_soon_threadsafe", l_call_soon_threadsafe},
                                          {NULL, NULL}};
  alua__addmethods(L, r, MT_LOOP, loop_methods);
}
