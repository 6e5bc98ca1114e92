/* The bindings' side of the interactive prompt (see repl_support.h): the
 * default loop run pass by pass, the statement's task, and Ctrl+C. */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "lua/internal.h"
#include "lua/loop/interrupt.h"
#include "lua/observe/observe.h"
#include "lua/loop/repl_support.h"

/* Why process-wide statics: the prompt's readline callbacks and signal
 * handlers receive no user data, and SIGINT belongs to the process, so
 * there is one prompt at a time. Ctrl+C itself is interrupt.c's: the
 * statement is its main task, and the prompt takes the presses no
 * statement took. */
static struct {
  lua_State *L;              /* main thread: runs the loop and the prompt */
  rt *r;                     /* runtime of L's state */
  lloop *lp;                 /* the loop the prompt drives; NULL outside */
  int loop_ref;              /* registry ref keeping lp alive */
  ac_io in;                  /* input watcher */
  void (*on_input)(void *);  /* what runs when it is readable */
  void *ud;                  /* its argument */
  task *stmt;                /* statement's task while it runs, else NULL */
  int stmt_ref;              /* registry ref of that task */
  int deadlock_ref;          /* registry ref of the deadlock report that cancelled it */
  int sigint;                /* token of the prompt's hold on SIGINT, or -1 */
} S = {.loop_ref = LUA_NOREF, .stmt_ref = LUA_NOREF, .deadlock_ref = LUA_NOREF, .sigint = -1};

/* Runs f protected with the nargs values on top; on error leaves the
 * message on top and returns its status. */
static int protect(lua_State *L, lua_CFunction f, int nargs, int nres) {
  lua_pushcfunction(L, f);
  lua_insert(L, -nargs - 1);
  return lua_pcall(L, nargs, nres, 0);
}

/* -- Ctrl+C -------------------------------------------------------------- */

int alua__repl_take_interrupts(int *stopped) {
  if (!S.L) {
    *stopped = 0;
    return 0;
  }
  return alua__sigint_take_unclaimed(S.L, stopped);
}

void alua__repl_wake(void) {
  if (S.lp) ac_loop_wake(&S.lp->core);
}

static void sigint_release(void) {
  if (S.sigint < 0) return;
  alua__sigint_release(S.L, S.sigint);
  S.sigint = -1;
}

/* -- entering and leaving ------------------------------------------------ */

/* Protected part of alua__repl_enter: pushes the loop. */
static int p_enter(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, "alua.rt") != LUA_TUSERDATA)
    return luaL_error(L, "the asyncio module is not open");
  rt *r = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (r->running) return luaL_error(L, "an event loop is already running");
  alua__push_current_loop(L, r);
  r->report_at_once = 1;
  if (lua_getfield(L, LUA_REGISTRYINDEX, "alua.internals") == LUA_TTABLE) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "repl_await");
  }
  lua_pop(L, 1);
  return 1;
}

int alua__repl_enter(lua_State *L) {
  if (S.lp) {
    lua_pushliteral(L, "the prompt is already running");
    return -1;
  }
  if (protect(L, p_enter, 0, 1) != LUA_OK) return -1;
  lloop *lp = lua_touserdata(L, -1);
  S.loop_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  S.L = L;
  S.r = lp->rt;
  S.lp = lp;
  lp->running = 1;
  lp->L = L;
  lp->rt->running = lp;
  lp->rt->thread = pthread_self();
  ac_io_init(&S.in, -1, NULL);
  S.sigint = alua__sigint_acquire(L, ALUA_SIGINT_REPL);
  return 0;
}

static int p_clear_await(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, "alua.internals") == LUA_TTABLE) {
    lua_pushnil(L);
    lua_setfield(L, -2, "repl_await");
  }
  return 0;
}

void alua__repl_leave(lua_State *L) {
  if (!S.lp) return;
  alua__repl_unwatch(L);
  sigint_release();
  if (protect(L, p_clear_await, 0, 0) != LUA_OK) lua_pop(L, 1);
  S.lp->running = 0;
  S.lp->stopping = 0;
  S.lp->L = NULL;
  S.r->running = NULL;
  S.r->report_at_once = 0;
  if (S.stmt) alua__interrupt_unclaim(L);
  luaL_unref(L, LUA_REGISTRYINDEX, S.stmt_ref);
  S.stmt_ref = LUA_NOREF;
  S.stmt = NULL;
  luaL_unref(L, LUA_REGISTRYINDEX, S.loop_ref);
  S.loop_ref = LUA_NOREF;
  S.lp = NULL;
  S.r = NULL;
  S.L = NULL;
}

/* -- passes and input ---------------------------------------------------- */

int alua__repl_pass(lua_State *L, int may_block) {
  int rc = ac_loop_run_once(&S.lp->core, may_block);
  alua__after_pass(L, S.lp);
  S.lp->stopping = 0;
  return rc == -EINTR ? 0 : rc < 0 ? rc : 0;
}

static void input_ready(ac_io *io, uint32_t revents) {
  (void)io;
  (void)revents;
  if (S.on_input) S.on_input(S.ud);
}

int alua__repl_watch(lua_State *L, int fd, void (*fn)(void *ud), void *ud) {
  (void)L;
  S.on_input = fn;
  S.ud = ud;
  if (S.in.events && S.in.fd == fd) return 0;
  alua__repl_unwatch(L);
  ac_io_init(&S.in, fd, input_ready);
  return ac_io_start(&S.lp->core, &S.in, EPOLLIN);
}

void alua__repl_unwatch(lua_State *L) {
  (void)L;
  if (S.lp && S.in.events) ac_io_stop(&S.lp->core, &S.in);
}

/* -- the statement ------------------------------------------------------- */

/* Protected part of alua__repl_start: the function at 1 becomes a task. */
static int p_start(lua_State *L) {
  rt *r = S.r;
  int id = r->next_task_id;
  alua__newtask(L, S.lp, 1, 0);
  r->next_task_id = id; /* the user's tasks keep the numbers 1, 2, ... */
  lua_pushliteral(L, "stdin");
  alua__task_set_extra(L, -2, "name");
  return 1;
}

int alua__repl_start(lua_State *L) {
  if (protect(L, p_start, 1, 1) != LUA_OK) return -1;
  S.stmt = lua_touserdata(L, -1);
  alua__interrupt_claim(L, -1);
  S.stmt_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

/* Removes the suffix s from the string on top when it ends with it. */
static void strip_suffix(lua_State *L, const char *s) {
  size_t len, n = strlen(s);
  const char *str = lua_tolstring(L, -1, &len);
  if (len >= n && memcmp(str + len - n, s, n) == 0) {
    lua_pushlstring(L, str, len - n);
    lua_remove(L, -2);
  }
}

static int p_cancel(lua_State *L);

/* Protected: the task at 1 is done; pushes its values, or raises. */
static int p_values(lua_State *L) { return alua__future_push_result(L, 1); }

/* Protected: pushes the report of the error at 1 (message, then the
 * traceback of each task it went through). An empty thread stands for the
 * stack of the code that awaited the statement: there is none. */
static int p_report(lua_State *L) {
  lua_State *none = lua_newthread(L);
  alua__push_error_report(L, 1, none, 0);
  /* the statement's own frames read as in lua.c */
  luaL_gsub(L, lua_tostring(L, -1), "\nstack traceback (task 'stdin'):", "\nstack traceback:");
  luaL_gsub(L, lua_tostring(L, -1), "\nawaited by task 'stdin':", "\nawaited by the statement:");
  /* headings left without frames */
  strip_suffix(L, "\nawaited by the main chunk:");
  strip_suffix(L, "\nawaited by the statement:");
  strip_suffix(L, "\nstack traceback:");
  return 1;
}

int alua__repl_result(lua_State *L, int *nvalues) {
  *nvalues = 0;
  task *t = S.stmt;
  if (!t) return ALUA_REPL_IDLE;
  if (t->f.state == FUT_PENDING) {
    /* nothing can ever wake the statement (the prompt does not read while
     * it runs): report why and cancel it, so its cleanup runs */
    if (S.deadlock_ref == LUA_NOREF && alua__loop_stuck(S.lp)) {
      lua_rawgeti(L, LUA_REGISTRYINDEX, S.stmt_ref);
      alua__push_deadlock_report(L, S.lp, -1);
      S.deadlock_ref = luaL_ref(L, LUA_REGISTRYINDEX);
      if (protect(L, p_cancel, 1, 1) != LUA_OK) lua_pop(L, 1);
      lua_pop(L, 1);
    }
    return ALUA_REPL_RUNNING;
  }
  S.stmt = NULL;
  int interrupted = alua__interrupt_unclaim(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, S.stmt_ref);
  luaL_unref(L, LUA_REGISTRYINDEX, S.stmt_ref);
  S.stmt_ref = LUA_NOREF;
  if (S.deadlock_ref != LUA_NOREF && t->f.state == FUT_CANCELLED) {
    lua_pop(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, S.deadlock_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, S.deadlock_ref);
    S.deadlock_ref = LUA_NOREF;
    *nvalues = 1;
    return ALUA_REPL_ERROR;
  }
  luaL_unref(L, LUA_REGISTRYINDEX, S.deadlock_ref);
  S.deadlock_ref = LUA_NOREF;
  if (t->f.state == FUT_CANCELLED && interrupted) {
    lua_pop(L, 1);
    return ALUA_REPL_INTERRUPTED;
  }
  int base = lua_gettop(L) - 1;
  if (protect(L, p_values, 1, LUA_MULTRET) == LUA_OK) {
    *nvalues = lua_gettop(L) - base;
    return ALUA_REPL_OK;
  }
  if (protect(L, p_report, 1, 1) != LUA_OK) {
    /* no memory for the report: the bare message */
    if (!lua_isstring(L, -1)) {
      lua_pop(L, 1);
      lua_pushliteral(L, "(error object is not a string)");
    }
  }
  *nvalues = 1;
  return ALUA_REPL_ERROR;
}

/* Protected: cancels the task at 1 (no message). */
static int p_cancel(lua_State *L) {
  lua_settop(L, 1);
  lua_pushnil(L);
  lua_pushboolean(L, alua__future_cancel(L, 1));
  return 1;
}

int alua__repl_interrupt_statement(lua_State *L) {
  if (!S.stmt || S.stmt->f.state != FUT_PENDING) return 0;
  S.r->main_interrupted++;
  lua_rawgeti(L, LUA_REGISTRYINDEX, S.stmt_ref);
  if (protect(L, p_cancel, 1, 1) != LUA_OK) {
    lua_pop(L, 1);
    return 0;
  }
  lua_pop(L, 1);
  return 1;
}

/* -- leaving: cancel what is left ---------------------------------------- */

/* Protected: cancels every unfinished task of the loop. They are listed
 * first, because a cancellation may finish other tasks meanwhile. */
static int p_cancel_all(lua_State *L) {
  lloop *lp = S.lp;
  lua_createtable(L, lp->ntasks, 0);
  int list = lua_gettop(L);
  int n = 0;
  for (ac_list *it = lp->tasks.next; it != &lp->tasks; it = it->next) {
    task *t = ac_container_of(it, task, link);
    alua__push_anchored(L, lp, t->f.anchor);
    lua_rawseti(L, list, ++n);
  }
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, list, i);
    lua_pushnil(L);
    alua__future_cancel(L, -2);
    lua_pop(L, 1);
  }
  return 0;
}

int alua__repl_shutdown(lua_State *L) {
  if (!S.lp) return 0;
  alua__repl_unwatch(L);
  sigint_release();
  if (S.lp->ntasks == 0) return 0;
  if (protect(L, p_cancel_all, 0, 0) != LUA_OK) lua_pop(L, 1);
  while (S.lp->ntasks > 0 && !alua__loop_stuck(S.lp)) {
    int rc = alua__repl_pass(L, 1);
    if (rc < 0) return rc;
  }
  return 0;
}
