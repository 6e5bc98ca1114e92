/* loop:add_signal_handler / remove_signal_handler through the core's
 * signalfd watcher (src/core/signal.h). Each loop has its own watcher,
 * created with the first handler and closed with the loop, which restores the
 * thread's signal mask. A delivery only queues the handler's handle: the
 * handler runs as an ordinary callback in the same pass. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "core/signal.h"
#include "lua/internal.h"

typedef struct lsignals {
  ac_signals core;          /* signalfd watcher of the loop */
  handle *handlers[NSIG];   /* registered handler per signal number, or NULL */
} lsignals;

/* Poll phase: queue the handler (once, however many deliveries arrive before
 * it runs; signals coalesce anyway). */
static void on_signal(ac_signals *s, int signum) {
  lsignals *ls = s->data;
  handle *h = ls->handlers[signum];
  if (h && !h->cancelled && !ac_callback_pending(&h->cb)) ac_loop_enqueue(s->loop, &h->cb);
}

/* The signal number at idx, checked for `fname`. */
static int checksignum(lua_State *L, int idx, const char *fname) {
  int isnum;
  lua_Integer n = lua_tointegerx(L, idx, &isnum);
  if (!isnum)
    luaL_error(L, "bad argument #%d to '%s' (signal number expected, got %s)", idx - 1, fname,
               luaL_typename(L, idx));
  if (n <= 0 || n >= NSIG)
    luaL_error(L, "bad argument #%d to '%s' (invalid signal number %d)", idx - 1, fname, (int)n);
  return (int)n;
}

/* Takes the handler of signum out (not the watch itself). */
static void drop_handler(lua_State *L, lloop *lp, lsignals *ls, int signum) {
  handle *h = ls->handlers[signum];
  if (!h) return;
  ls->handlers[signum] = NULL;
  ac_callback_cancel(&h->cb);
  if (L) alua__unanchor(L, lp, h->ref);
  h->ref = LUA_NOREF;
}

/* loop:add_signal_handler(signum, fn, ...): fn(...) runs as a callback each
 * time signum arrives; replaces an earlier handler of signum. */
static int l_add_signal_handler(lua_State *L) {
  lloop *lp = alua__checkopen(L, 1);
  int signum = checksignum(L, 2, "add_signal_handler");
  if (signum == SIGKILL || signum == SIGSTOP) return luaL_error(L, "signal %d cannot be caught", signum);
  alua__check_callback(L, 3, "add_signal_handler");
  lsignals *ls = lp->signals;
  if (!ls) {
    ls = calloc(1, sizeof *ls);
    if (!ls) return luaL_error(L, "not enough memory");
    int rc = ac_signals_init(&ls->core, &lp->core, on_signal);
    if (rc < 0) {
      free(ls);
      return luaL_error(L, "cannot watch signals: %s", strerror(-rc));
    }
    ls->core.data = ls;
    lp->signals = ls;
  }
  handle *h = alua__newhandle(L, lp, HANDLE_SIGNAL, 3, lua_gettop(L) - 3);
  int rc = ac_signals_add(&ls->core, signum);
  if (rc < 0) return luaL_error(L, "cannot watch signal %d: %s", signum, strerror(-rc));
  drop_handler(L, lp, ls, signum);
  h->ref = alua__anchor(L, lp, -1);
  ls->handlers[signum] = h;
  return 0;
}

/* loop:remove_signal_handler(signum): true if a handler was removed. */
static int l_remove_signal_handler(lua_State *L) {
  lloop *lp = alua__checkloop(L, 1);
  int signum = checksignum(L, 2, "remove_signal_handler");
  lsignals *ls = lp->signals;
  if (!ls || !ls->handlers[signum]) {
    lua_pushboolean(L, 0);
    return 1;
  }
  drop_handler(L, lp, ls, signum);
  ac_signals_remove(&ls->core, signum);
  lua_pushboolean(L, 1);
  return 1;
}

void alua__signals_close(lua_State *L, lloop *lp) {
  lsignals *ls = lp->signals;
  if (!ls) return;
  for (int signum = 1; signum < NSIG; signum++) drop_handler(L, lp, ls, signum);
  ac_signals_close(&ls->core);
  free(ls);
  lp->signals = NULL;
}

void alua__open_signals(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg loop_methods[] = {{"add_signal_handler", l_add_signal_handler},
                                          {"remove_signal_handler", l_remove_signal_handler},
                                          {NULL, NULL}};
  alua__addmethods(L, r, MT_LOOP, loop_methods);
  static const struct {
    const char *name;
    int num;
  } names[] = {{"SIGINT", SIGINT},   {"SIGTERM", SIGTERM}, {"SIGHUP", SIGHUP},   {"SIGUSR1", SIGUSR1},
               {"SIGUSR2", SIGUSR2}, {"SIGCHLD", SIGCHLD}, {"SIGWINCH", SIGWINCH}, {"SIGQUIT", SIGQUIT},
               {"SIGALRM", SIGALRM}, {"SIGPIPE", SIGPIPE}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    lua_pushinteger(L, names[i].num);
    lua_setfield(L, module, names[i].name);
  }
}
