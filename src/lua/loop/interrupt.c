/* Ctrl+C under asyncio.run (SPEC 2.2): the first SIGINT cancels the main
 * task, so its cleanup (<close> variables, pcall handlers) runs, and run then
 * raises KeyboardInterrupt; a second SIGINT stops the process at once. */
#include <signal.h>
#include <string.h>

#include "lua/internal.h"
#include "lua/loop/interrupt.h"

/* Why process-wide statics: a signal's disposition belongs to the process,
 * and a signal handler can reach nothing else. Only one asyncio.run at a
 * time can own SIGINT (run refuses to nest). */
static volatile sig_atomic_t pending; /* SIGINTs the loop has not acted on */
static volatile sig_atomic_t count;   /* SIGINTs since the handler was installed */
static ac_loop *volatile wake_loop;   /* loop to wake, NULL when none */
static struct sigaction previous;     /* disposition to restore */
static int installed;                 /* our handler is in place */
static int task_ref = LUA_NOREF;      /* registry ref of the task to cancel */

static void on_sigint(int sig) {
  (void)sig;
  if (count > 0) {
    /* the second one: stop now, as the default disposition would */
    signal(SIGINT, SIG_DFL);
    raise(SIGINT);
    return;
  }
  count = 1;
  pending = 1;
  ac_loop *loop = wake_loop;
  if (loop) ac_loop_wake(loop);
}

/* -- Ctrl+C in plain code run by the alua program (lua.c's way) ---------- */

static lua_State *plain_L;             /* main thread running the chunk */
static rt *plain_rt;                   /* its runtime */
static struct sigaction plain_previous; /* disposition to restore */
static int plain_installed;            /* on_sigint_plain is in place */

/* Set from the signal handler on the main thread: raises KeyboardInterrupt
 * at its next instruction, call or return. */
static void plain_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  alua__push_error(L, plain_rt, "KeyboardInterrupt", NULL);
  lua_error(L);
}

/* As lua.c's laction: the next SIGINT gets the default disposition (so a C
 * function that never returns can still be stopped), and the hook stops
 * the Lua code. While an event loop runs (top-level await), the main
 * thread waits in C: stop now, as the default disposition would. */
static void on_sigint_plain(int sig) {
  signal(sig, SIG_DFL);
  if (plain_rt && plain_rt->running) {
    raise(sig);
    return;
  }
  lua_sethook(plain_L, plain_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT, 1);
}

void alua__sigint_plain_begin(lua_State *L) {
  if (plain_installed) return;
  if (lua_getfield(L, LUA_REGISTRYINDEX, "alua.rt") != LUA_TUSERDATA) {
    lua_pop(L, 1);
    return;
  }
  plain_rt = lua_touserdata(L, -1);
  lua_pop(L, 1);
  plain_L = plain_rt->main;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint_plain;
  sigemptyset(&sa.sa_mask);
  plain_installed = sigaction(SIGINT, &sa, &plain_previous) == 0;
}

void alua__sigint_plain_end(lua_State *L) {
  if (!plain_installed) return;
  sigaction(SIGINT, &plain_previous, NULL);
  plain_installed = 0;
  if (lua_gethook(L) == plain_hook) lua_sethook(L, NULL, 0, 0); /* set too late to fire */
}

/* -- Ctrl+C under asyncio.run ---------------------------------------------- */

/* internals.sigint_install(loop, task): cancel `task` on Ctrl+C while `loop`
 * runs. Does nothing if SIGINT is not at its default disposition (a host or
 * the script handles it); the alua program's handler for plain code counts
 * as the default. */
static int l_sigint_install(lua_State *L) {
  lloop *lp = alua__checkloop(L, 1);
  luaL_checkany(L, 2);
  struct sigaction current;
  if (installed || sigaction(SIGINT, NULL, &current) != 0) return 0;
  if (current.sa_handler != SIG_DFL && current.sa_handler != on_sigint_plain) return 0;
  lua_pushvalue(L, 2);
  task_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  pending = count = 0;
  wake_loop = &lp->core;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &previous);
  installed = 1;
  lua_pushboolean(L, 1);
  return 1;
}

/* internals.sigint_restore(): puts the previous disposition back; returns
 * true if Ctrl+C was pressed meanwhile. */
static int l_sigint_restore(lua_State *L) {
  if (!installed) return 0;
  sigaction(SIGINT, &previous, NULL);
  installed = 0;
  wake_loop = NULL;
  luaL_unref(L, LUA_REGISTRYINDEX, task_ref);
  task_ref = LUA_NOREF;
  lua_pushboolean(L, count > 0);
  pending = count = 0;
  return 1;
}

void alua__interrupt_poll(lua_State *L) {
  if (!pending) return;
  pending = 0;
  if (task_ref == LUA_NOREF) return;
  lua_rawgeti(L, LUA_REGISTRYINDEX, task_ref);
  future *f = alua__tofuture(L, -1);
  if (f && f->state == FUT_PENDING) {
    lua_pushnil(L);
    alua__future_cancel(L, -2);
  }
  lua_pop(L, 1);
}

void alua__open_interrupt(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg funcs[] = {
      {"sigint_install", l_sigint_install}, {"sigint_restore", l_sigint_restore}, {NULL, NULL}};
  alua__setfuncs_at(L, r, internals, funcs);
}
