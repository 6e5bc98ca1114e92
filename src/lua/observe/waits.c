/* What each parked task waits on, for reports: the raw records behind
 * asyncio.ps() (lib/asyncio/observe.lua builds the tree and the words),
 * labels naming the futures that the library's compositions wait on
 * (Condition, Barrier, TaskGroup, worker threads, host futures), the
 * deadlock report, and Ctrl+\ (SIGQUIT).
 *
 * A record is read from the wait record of the task (class, object, loop
 * time; see park.c) and from its suspended thread: the object a wait is on
 * is a value of the parked C frame (the await hook's), at the slot its
 * class names, so parking never stores a Lua reference. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "lua/observe/observe.h"

/* Registry key of the weak-keyed table {[future] = label}. A label is a
 * table: kind, and optionally object, text (instead of the object's
 * tostring), awaits (the futures it stands for) and never (the deadlock
 * report's ending). */
static const char labels_key = 0;

/* Pushes the labels table, creating it. */
static void push_labels(lua_State *L) { alua__push_weaktable(L, &labels_key, "k"); }

void alua__future_label(lua_State *L, int futidx, const char *kind, int objidx) {
  futidx = lua_absindex(L, futidx);
  objidx = objidx ? lua_absindex(L, objidx) : 0;
  push_labels(L);
  lua_pushvalue(L, futidx);
  lua_createtable(L, 0, 2);
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  if (objidx) {
    lua_pushvalue(L, objidx);
    lua_setfield(L, -2, lua_type(L, objidx) == LUA_TSTRING ? "text" : "object");
  }
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

/* internals.label_future(fut, label): labels a future from Lua (see
 * labels_key for the fields). */
static int l_label_future(lua_State *L) {
  alua__checkfuture(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  push_labels(L);
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 2);
  lua_rawset(L, -3);
  return 0;
}

/* Pushes "Task 'name'" for the task at idx. */
static void push_task_words(lua_State *L, int idx) {
  alua__task_pushname(L, idx);
  lua_pushfstring(L, "Task '%s'", lua_tostring(L, -1));
  lua_remove(L, -2);
}

/* Pushes tostring(value at idx). */
static void push_repr(lua_State *L, int idx) { luaL_tolstring(L, idx, NULL); }

/* -- descriptions ---------------------------------------------------------------- */

/* Waiting for a future, a task or a gather (await.c's class). */
void alua__describe_future(lua_State *L, task *t, void *on, int obj, int rec) {
  (void)t;
  future *f = on;
  if (!obj) {
    lua_pushliteral(L, "future");
    return;
  }
  push_labels(L);
  lua_pushvalue(L, obj);
  if (lua_rawget(L, -2) == LUA_TTABLE) {
    int label = lua_gettop(L);
    static const char *const copied[] = {"kind", "object", "awaits", "never", NULL};
    for (const char *const *k = copied; *k; k++) {
      if (lua_getfield(L, label, *k) != LUA_TNIL) lua_setfield(L, rec, *k);
      else lua_pop(L, 1);
    }
    lua_getfield(L, label, "kind");
    if (lua_getfield(L, label, "text") == LUA_TSTRING) {
      lua_pushfstring(L, "%s %s", lua_tostring(L, -2), lua_tostring(L, -1));
    } else if (lua_getfield(L, label, "object") != LUA_TNIL) {
      push_repr(L, -1);
      lua_pushfstring(L, "%s %s", lua_tostring(L, -4), lua_tostring(L, -1));
    } else {
      lua_pushvalue(L, -3);
    }
    return;
  }
  lua_pop(L, 2);
  if (f->kind == KIND_TASK) {
    lua_createtable(L, 1, 0);
    lua_pushvalue(L, obj);
    lua_rawseti(L, -2, 1);
    lua_setfield(L, rec, "awaits");
    push_task_words(L, obj);
    return;
  }
  if (f->kind == KIND_GATHER) {
    lua_pushliteral(L, "gather");
    lua_setfield(L, rec, "kind");
    alua__gather_push_children(L, obj);
    int children = lua_gettop(L);
    lua_pushvalue(L, children);
    lua_setfield(L, rec, "awaits");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "gather(");
    lua_Integer n = luaL_len(L, children);
    for (lua_Integer i = 1; i <= n; i++) {
      if (i > 1) luaL_addstring(&b, ", ");
      if (i > 4) {
        lua_pushfstring(L, "... %I more", (LUAI_UACINT)(n - 4));
        luaL_addvalue(&b);
        break;
      }
      lua_rawgeti(L, children, i);
      if (alua__totask(L, -1)) push_task_words(L, -1);
      else push_repr(L, -1);
      lua_remove(L, -2);
      luaL_addvalue(&b);
    }
    luaL_addchar(&b, ')');
    luaL_pushresult(&b);
    lua_remove(L, children);
    return;
  }
  lua_pushliteral(L, "Future");
  lua_setfield(L, rec, "kind");
  push_repr(L, obj);
  lua_pushfstring(L, "Future %s", lua_tostring(L, -1));
  lua_remove(L, -2);
}

const alua__waitclass alua__wait_host = {
    .what = "host future", .slot = 1, .never = ", which the host never completed"};

/* Pushes the Lua object of the parked frame's `slot`, or returns 0. */
static int push_slot(lua_State *L, task *t, int slot) {
  lua_Debug ar;
  if (!slot || !t->co || !lua_getstack(t->co, 0, &ar)) return 0;
  if (!lua_getlocal(t->co, &ar, slot)) return 0;
  lua_xmove(t->co, L, 1);
  return 1;
}

/* A task is parked (not woken, not running, not about to be cancelled). */
static int is_waiting(task *t) {
  if (t == t->f.loop->rt->current || !t->co || !t->suspended || !t->wait) return 0;
  if (t->woken || t->must_cancel) return 0;
  if (t->wait->forwards_cancel && ((future *)t->wait_on)->state != FUT_PENDING) return 0;
  return 1;
}

/* Protected: pushes the record of the task at 1. */
static int build_record(lua_State *L) {
  task *t = lua_touserdata(L, 1);
  lloop *lp = t->f.loop;
  lua_settop(L, 1);
  lua_createtable(L, 0, 16);
  int rec = 2;
  lua_pushvalue(L, 1);
  lua_setfield(L, rec, "task");
  alua__task_pushname(L, 1);
  lua_setfield(L, rec, "name");
  lua_pushinteger(L, t->id);
  lua_setfield(L, rec, "id");
  int waiting = is_waiting(t);
  lua_pushstring(L, t == lp->rt->current ? "running" : waiting ? "waiting" : "ready");
  lua_setfield(L, rec, "state");
  lua_Debug ar;
  if (t->co && alua__user_frame(t->co, 0, &ar)) {
    lua_pushfstring(L, "%s:%d", ar.short_src, ar.currentline);
    lua_setfield(L, rec, "where");
  } else if (t->co && t->resume == RESUME_START) {
    alua__task_push_body(L, t);
    alua__coro_pushsite(L, -1);
    lua_setfield(L, rec, "where");
    lua_pop(L, 1);
  }
  if (waiting) {
    const alua__waitclass *wc = t->wait;
    lua_pushstring(L, wc->what);
    lua_setfield(L, rec, "kind");
    int obj = 0;
    if (push_slot(L, t, wc->slot)) {
      obj = lua_gettop(L);
      lua_pushvalue(L, obj);
      lua_setfield(L, rec, "object");
    }
    if (wc->never) {
      lua_pushstring(L, wc->never);
      lua_setfield(L, rec, "never");
    }
    if (wc->describe) {
      wc->describe(L, t, t->wait_on, obj, rec);
    } else if (obj) {
      push_repr(L, obj);
      lua_pushfstring(L, "%s %s", wc->what, lua_tostring(L, -1));
      lua_remove(L, -2);
    } else {
      lua_pushstring(L, wc->what);
    }
    lua_setfield(L, rec, "text");
    lua_pushnumber(L, (lua_Number)t->since / 1e9);
    lua_setfield(L, rec, "since");
  }
  static const alua__taskstats none;
  const alua__taskstats *own = alua__task_stats(L, 1);
  const alua__taskstats *st = own ? own : &none;
  if (lp->observe || st->steps) {
    lua_pushinteger(L, st->steps);
    lua_setfield(L, rec, "steps");
    lua_pushnumber(L, (lua_Number)st->cpu_ns / 1e9);
    lua_setfield(L, rec, "cpu");
    lua_pushnumber(L, (lua_Number)st->waited_ns / 1e9);
    lua_setfield(L, rec, "waited");
  }
  lua_settop(L, rec);
  return 1;
}

/* internals.task_records([loop]): the raw record of every unfinished task
 * of the loop (the running one, else the default one), in creation order;
 * and the loop's time. A task whose record cannot be built gets one with
 * only task, name and error. */
static int l_task_records(lua_State *L) {
  rt *r = alua__rt(L);
  lloop *lp;
  if (lua_isnoneornil(L, 1)) {
    lp = alua__push_current_loop(L, r);
    lua_pop(L, 1);
  } else {
    lp = alua__checkloop(L, 1);
  }
  alua__push_tasks(L, lp);
  int list = lua_gettop(L);
  int n = (int)lua_rawlen(L, list);
  for (int i = 1; i <= n; i++) {
    lua_pushcfunction(L, build_record);
    lua_rawgeti(L, list, i);
    task *t = lua_touserdata(L, -1);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
      lua_createtable(L, 0, 3);
      lua_insert(L, -2);
      lua_setfield(L, -2, "error");
      lua_rawgeti(L, list, i);
      lua_setfield(L, -2, "task");
      lua_pushinteger(L, t->id);
      lua_setfield(L, -2, "id");
      lua_pushstring(L, "?");
      lua_setfield(L, -2, "state");
    }
    lua_rawseti(L, list, i); /* the record takes its task's place */
  }
  lua_pushnumber(L, (lua_Number)ac_loop_now(&lp->core) / 1e9);
  return 2;
}

/* internals.task_record(task): the raw record of one task. */
static int l_task_record(lua_State *L) {
  if (!alua__totask(L, 1)) return luaL_typeerror(L, 1, "Task");
  return build_record(L);
}

/* internals.gather_children(g): the children of a gather, or nil. */
static int l_gather_children(lua_State *L) {
  future *f = alua__tofuture(L, 1);
  if (!f || f->kind != KIND_GATHER) return 0;
  alua__gather_push_children(L, 1);
  return 1;
}

/* internals.terminal_width(): COLUMNS, else the width of the terminal on
 * stdout or stderr, else 80. */
static int l_terminal_width(lua_State *L) {
  const char *c = getenv("COLUMNS");
  int w = c ? atoi(c) : 0;
  if (w <= 0) {
    struct winsize ws;
    if ((ioctl(1, TIOCGWINSZ, &ws) == 0 || ioctl(2, TIOCGWINSZ, &ws) == 0) && ws.ws_col > 0) w = ws.ws_col;
  }
  lua_pushinteger(L, w > 0 ? w : 80);
  return 1;
}

/* -- the deadlock report -------------------------------------------------------- */

/* Protected: future at 1; pushes internals.deadlock_report(future). */
static int deadlock_report_p(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, "alua.internals");
  lua_getfield(L, -1, "deadlock_report");
  lua_pushvalue(L, 1);
  lua_call(L, 1, 1);
  if (!lua_isstring(L, -1)) return luaL_error(L, "no report");
  return 1;
}

void alua__push_deadlock_report(lua_State *L, lloop *lp, int idx) {
  (void)lp;
  idx = idx ? lua_absindex(L, idx) : 0;
  lua_pushcfunction(L, deadlock_report_p);
  if (idx) lua_pushvalue(L, idx);
  else lua_pushnil(L);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    lua_pop(L, 1);
    lua_pushliteral(L, "deadlock: nothing left can complete the awaited future");
  }
}

/* -- Ctrl+\ ------------------------------------------------------------------------ */

/* Why process-wide statics: a signal's disposition belongs to the process.
 * Only the alua program installs the handler, for its one state. */
volatile sig_atomic_t alua__quit_pending; /* Ctrl+\ pressed, tree not printed yet */
static rt *volatile quit_rt;               /* runtime of the program's state */
static pthread_t quit_thread;              /* the thread that runs it */

/* Protected: prints the task tree to stderr. */
static int print_tree_p(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, "alua.internals");
  lua_getfield(L, -1, "dump_tasks");
  lua_call(L, 0, 0);
  return 0;
}

static void print_tree(lua_State *L) {
  alua__quit_pending = 0;
  lua_pushcfunction(L, print_tree_p);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
    fprintf(stderr, "alua: cannot print the tasks: %s\n", lua_tostring(L, -1));
    fflush(stderr);
    lua_pop(L, 1);
  }
}

/* Count hook set by the handler on a task that runs without awaiting:
 * prints the tree from inside it, so a busy task does not hide it. */
static void quit_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  if (alua__quit_pending) print_tree(L);
}

static void on_sigquit(int sig) {
  (void)sig;
  int saved = errno;
  alua__quit_pending = 1;
  rt *r = quit_rt;
  if (r && pthread_equal(pthread_self(), quit_thread)) {
    lloop *lp = r->running;
    if (lp) ac_loop_wake(&lp->core);
    task *cur = r->current;
    /* only when no other hook is set (Ctrl+C's, the user's) */
    if (cur && cur->co && !lua_gethook(cur->co)) lua_sethook(cur->co, quit_hook, LUA_MASKCOUNT, 1);
  }
  errno = saved;
}

void alua__observe_print_tree(lua_State *L) { print_tree(L); }

void alua__observe_sigquit_remove(void) {
  struct sigaction current;
  if (sigaction(SIGQUIT, NULL, &current) != 0 || current.sa_handler != on_sigquit) return;
  signal(SIGQUIT, SIG_DFL);
  quit_rt = NULL;
}

void alua__observe_sigquit(lua_State *L) {
  struct sigaction current;
  if (sigaction(SIGQUIT, NULL, &current) != 0 || current.sa_handler != SIG_DFL) return;
  quit_rt = alua__rt_state(L);
  quit_thread = pthread_self();
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigquit;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  /* Ctrl+C's handler also sets hooks: never interleave the two */
  sigaddset(&sa.sa_mask, SIGINT);
  sigaction(SIGQUIT, &sa, NULL);
}

void alua__open_observe(lua_State *L, rt *r, int module, int internals) {
  (void)module;
  static const luaL_Reg funcs[] = {
      {"task_records", l_task_records},       {"task_record", l_task_record},
      {"gather_children", l_gather_children}, {"label_future", l_label_future},
      {"terminal_width", l_terminal_width},
      {NULL, NULL}};
  lua_pushvalue(L, internals);
  alua__setfuncs(L, r, funcs);
  lua_pop(L, 1);
}
