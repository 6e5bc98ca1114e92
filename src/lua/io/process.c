/* Child processes: the Lua side of spawning and reaping. The Process
 * object, its streams and communicate() are in lib/asyncio/subprocess.lua;
 * this file gives it internals.spawn(argv, opts) -> child, stdin fd,
 * stdout fd, stderr fd. Spawning itself (descriptors, posix_spawn, signal
 * mask) and reaping (pidfd, waitpid) are the core's (core/spawn.h).
 *
 * Reaping: a pidfd per child, registered with the loop; it becomes
 * readable when the child exits, and the core's poll then collects it. On
 * kernels without pidfd_open the loop watches SIGCHLD through a signalfd
 * instead and polls its live children at each delivery (signals coalesce).
 * Either way a running child is a watcher (the loop is not idle while one
 * runs), counts as the core's external work (a virtual clock waits for it
 * in real time) and is anchored (it is reaped even when nobody holds the
 * Process). */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "core/signal.h"
#include "core/spawn.h"
#include "lua/io/io.h"

#define MT_CHILD "asyncio.ChildProcess"
#define MT_CHILDOP "asyncio.ChildProcess operation"
#define MT_CHILDREN "asyncio.ChildWatcher"

/* Uservalues of a child. */
enum { CHUV_LOOP = 1, CHUV_WAIT, CHUV_WATCHER, CHUV_N = CHUV_WATCHER };

typedef struct lchildren lchildren;

typedef struct lchild {
  lloop *lp;            /* loop that reaps it */
  ac_child ch;          /* the process (pid, pidfd, status once reaped) */
  ac_io io;             /* watcher of ch.pidfd (io.fd -1 without one) */
  uint8_t external;     /* counted as the loop's external work (from spawn until reaped) */
  ac_list waiters;      /* tasks parked in wait */
  ac_list link;         /* in the SIGCHLD watcher's list (fallback only) */
  lchildren *watcher;   /* that watcher, or NULL */
  int anchor;           /* ref in the loop until reaped */
} lchild;

/* The SIGCHLD fallback of one loop (lp->children). */
struct lchildren {
  ac_signals sig;       /* signalfd watcher of SIGCHLD */
  lloop *lp;            /* its loop */
  ac_list live;         /* children not reaped yet */
  int anchor;           /* ref in the loop while `live` is not empty */
  uint8_t open;         /* sig is initialized and not closed */
};

/* Set by internals.force_sigchld(true), to test the fallback on kernels
 * that have pidfd_open. Per process, like the kernel's answer. */
static int force_sigchld;

/* -- reaping ------------------------------------------------------------------ */

static void watcher_drop(lchildren *w, lua_State *L);

/* Stops watching the pidfd and closes it. */
static void close_pidfd(lchild *c) {
  if (c->io.fd < 0) return;
  if (!c->lp->closed) ac_io_stop(&c->lp->core, &c->io);
  ac_child_close_pidfd(&c->ch);
  c->io.fd = -1;
}

/* The child has been reaped: wake the waiters, release the watchers and
 * the anchor. */
static void exited(lchild *c) {
  lloop *lp = c->lp;
  if (c->external) {
    c->external = 0;
    if (!lp->closed) ac_loop_external_end(&lp->core);
  }
  close_pidfd(c);
  alua__wake_all(&c->waiters);
  lua_State *L = lp->L;
  if (c->watcher) {
    ac_list_remove(&c->link);
    lchildren *w = c->watcher;
    c->watcher = NULL;
    if (ac_list_empty(&w->live)) watcher_drop(w, L);
  }
  if (c->anchor != LUA_NOREF && L) {
    alua__unanchor(L, lp, c->anchor);
    c->anchor = LUA_NOREF;
  }
}

/* Tries to reap c without blocking. */
static void poll_child(lchild *c) {
  if (!c->ch.reaped && ac_child_poll(&c->ch)) exited(c);
}

static void on_pidfd(ac_io *io, uint32_t revents) {
  (void)revents;
  poll_child(ac_container_of(io, lchild, io));
}

static void on_sigchld(ac_signals *s, int signum) {
  lchildren *w = s->data;
  (void)signum;
  ac_list *p, *next;
  for (p = w->live.next; p != &w->live; p = next) {
    next = p->next;
    poll_child(ac_container_of(p, lchild, link));
    /* the last child may have closed the watcher */
    if (!w->open) return;
  }
}

/* Closes the fallback watcher once no child needs it. */
static void watcher_drop(lchildren *w, lua_State *L) {
  if (w->open) {
    ac_signals_close(&w->sig);
    w->open = 0;
  }
  if (w->lp->children == w) w->lp->children = NULL;
  if (w->anchor != LUA_NOREF && L) {
    alua__unanchor(L, w->lp, w->anchor);
    w->anchor = LUA_NOREF;
  }
}

static int watcher_gc(lua_State *L) {
  lchildren *w = alua__gc_self(L);
  w->anchor = LUA_NOREF;
  if (w->open && !w->lp->closed) ac_signals_close(&w->sig);
  w->open = 0;
  if (w->lp->children == w) w->lp->children = NULL;
  return 0;
}

/* The loop's SIGCHLD watcher, made and anchored on first use; pushed. It
 * must exist before the child does, so an early exit is not missed. */
static lchildren *push_watcher(lua_State *L, lloop *lp) {
  lchildren *w = lp->children;
  if (w) {
    alua__push_anchored(L, lp, w->anchor);
    return w;
  }
  w = lua_newuserdatauv(L, sizeof *w, 1);
  memset(w, 0, sizeof *w);
  w->lp = lp;
  w->anchor = LUA_NOREF;
  ac_list_init(&w->live);
  luaL_setmetatable(L, MT_CHILDREN);
  alua__pushloop(L, lp);
  lua_setiuservalue(L, -2, 1);
  int rc = ac_signals_init(&w->sig, &lp->core, on_sigchld);
  if (rc < 0) alua__oserror(L, -rc, "create_subprocess_exec: cannot watch SIGCHLD");
  w->open = 1;
  w->sig.data = w;
  rc = ac_signals_add(&w->sig, SIGCHLD);
  if (rc < 0) {
    ac_signals_close(&w->sig);
    w->open = 0;
    alua__oserror(L, -rc, "create_subprocess_exec: cannot watch SIGCHLD");
  }
  w->anchor = alua__anchor(L, lp, -1);
  lp->children = w;
  return w;
}

/* -- the child object ------------------------------------------------------------ */

static lchild *checkchild(lua_State *L, int idx) { return luaL_checkudata(L, idx, MT_CHILD); }

static int ch_gc(lua_State *L) {
  lchild *c = alua__gc_self(L);
  close_pidfd(c);
  /* the loop went away first: reap it if it is done, never block */
  if (c->ch.pid > 0) ac_child_poll(&c->ch);
  if (c->watcher) ac_list_remove(&c->link);
  return 0;
}

static int ch_pid(lua_State *L) { return alua__retint(L, checkchild(L, 1)->ch.pid); }

static int ch_returncode(lua_State *L) {
  lchild *c = checkchild(L, 1);
  if (!c->ch.reaped) return 0;
  lua_pushinteger(L, ac_child_returncode(&c->ch));
  return 1;
}

/* child:send_signal(sig): false when the child was already reaped. */
static int ch_send_signal(lua_State *L) {
  lchild *c = checkchild(L, 1);
  lua_Integer sig = luaL_checkinteger(L, 2);
  if (sig < 0 || sig >= NSIG) return luaL_argerror(L, 2, "invalid signal number");
  int rc = ac_child_signal(&c->ch, (int)sig);
  if (rc < 0 && rc != -ESRCH) return alua__oserror(L, -rc, "send_signal");
  lua_pushboolean(L, rc == 0);
  return 1;
}

static const alua__waitclass wait_process = {.what = "Process wait", .slot = 2};

static int k_wait(lua_State *L, int status, lua_KContext ctx) {
  task *t = alua__resumed(L, ctx);
  lchild *c = lua_touserdata(L, 2);
  if (!c->ch.reaped) return alua__park(L, t, &c->waiters, &wait_process, c, 0, k_wait);
  lua_pushinteger(L, ac_child_returncode(&c->ch));
  return 1;
}

/* The await hook of child:wait(): the return code once the child exited. */
static int wait_await(lua_State *L) {
  task *t;
  lchild *c = alua__op_await_begin(L, &t);
  if (c->ch.reaped) {
    lua_pushinteger(L, ac_child_returncode(&c->ch));
    return 1;
  }
  if (c->lp != t->f.loop) return alua__user_error(L, "wait: the process belongs to another event loop");
  return alua__park(L, t, &c->waiters, &wait_process, c, 0, k_wait);
}

static int ch_wait(lua_State *L) {
  checkchild(L, 1);
  return alua__push_op(L, 1, CHUV_WAIT, 0, 0, MT_CHILDOP, "process:wait()");
}

static int ch_tostring(lua_State *L) {
  lchild *c = checkchild(L, 1);
  if (c->ch.reaped)
    lua_pushfstring(L, "<ChildProcess pid=%d returncode=%d>", (int)c->ch.pid, ac_child_returncode(&c->ch));
  else lua_pushfstring(L, "<ChildProcess pid=%d running>", (int)c->ch.pid);
  return 1;
}

/* -- spawning -------------------------------------------------------------------- */

/* Reads the stdin/stdout/stderr option `name` of the table at opts. */
static int read_spec(lua_State *L, int opts, const char *name, int which) {
  int t = lua_getfield(L, opts, name);
  int kind = AC_SPAWN_INHERIT;
  if (t == LUA_TNIL) {
  } else if (t == LUA_TNUMBER && lua_isinteger(L, -1)) {
    lua_Integer v = lua_tointeger(L, -1);
    if (v == AC_SPAWN_STDOUT && which != 2) alua__user_error(L, "bad option '%s' to 'create_subprocess_exec' (asyncio.STDOUT is only for stderr)", name);
    if (v < AC_SPAWN_DEVNULL || v > 0x7fffffff) alua__user_error(L, "bad option '%s' to 'create_subprocess_exec' (PIPE, DEVNULL, STDOUT or a descriptor expected)", name);
    kind = (int)v;
  } else if (t == LUA_TUSERDATA && luaL_testudata(L, -1, LUA_FILEHANDLE)) {
    luaL_Stream *p = lua_touserdata(L, -1);
    if (!p->closef) alua__user_error(L, "bad option '%s' to 'create_subprocess_exec' (the file is closed)", name);
    fflush(p->f); /* what Lua buffered comes before what the child writes */
    kind = fileno(p->f);
  } else if (luaL_getmetafield(L, -1, "fileno") != LUA_TNIL || (t == LUA_TTABLE && lua_getfield(L, -1, "fileno") != LUA_TNIL)) {
    lua_pushvalue(L, -2);
    lua_call(L, 1, 1);
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 0)
      alua__user_error(L, "bad option '%s' to 'create_subprocess_exec' (its fileno() is not a descriptor)", name);
    kind = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
  } else {
    alua__user_error(L, "bad option '%s' to 'create_subprocess_exec' (PIPE, DEVNULL, STDOUT, a descriptor or a file expected, got %s)", name,
               luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  return kind;
}

/* Collects the strings of the list at idx into a NULL-terminated array (a
 * userdata pushed on the stack keeps it; the strings stay in the table). */
static char **string_array(lua_State *L, int idx, const char *what, int min) {
  lua_Integer n = luaL_len(L, idx);
  if (n < min) alua__user_error(L, "create_subprocess_exec: %s is empty", what);
  char **a = lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + 1), 0);
  for (lua_Integer i = 1; i <= n; i++) {
    if (lua_geti(L, idx, i) != LUA_TSTRING) alua__user_error(L, "create_subprocess_exec: %s item %d is not a string", what, (int)i);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    if (strlen(s) != len) alua__user_error(L, "create_subprocess_exec: %s item %d contains a zero byte", what, (int)i);
    a[i - 1] = (char *)s;
    lua_pop(L, 1); /* still referenced by the table */
  }
  a[n] = NULL;
  return a;
}

/* Builds "KEY=VALUE" strings of the env table at idx into a new list
 * (pushed, below the array it returns). */
static char **env_array(lua_State *L, int idx) {
  lua_newtable(L);
  int list = lua_gettop(L);
  int n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING || !lua_isstring(L, -1))
      alua__user_error(L, "bad option 'env' to 'create_subprocess_exec' (a table of string keys and string values expected)");
    lua_pushfstring(L, "%s=%s", lua_tostring(L, -2), lua_tostring(L, -1));
    lua_rawseti(L, list, ++n);
    lua_pop(L, 1);
  }
  return string_array(L, list, "env", 0);
}

/* internals.spawn(argv, opts): child, stdin fd, stdout fd, stderr fd (the
 * parent's pipe ends, or nil). opts: stdin, stdout, stderr, cwd, env,
 * executable, start_new_session. */
static int l_spawn(lua_State *L) {
  rt *r = alua__rt(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  if (lua_isnil(L, 2)) {
    lua_newtable(L);
    lua_replace(L, 2);
  }
  lloop *lp = alua__push_current_loop(L, r);
  if (lp->closed) return alua__user_error(L, "event loop is closed");
  lua_pop(L, 1);

  /* everything that may raise comes before any descriptor is opened */
  ac_spawn_opts o;
  o.stdio[0] = read_spec(L, 2, "stdin", 0);
  o.stdio[1] = read_spec(L, 2, "stdout", 1);
  o.stdio[2] = read_spec(L, 2, "stderr", 2);
  char **argv = string_array(L, 1, "the argument list", 1);
  o.argv = argv;
  o.file = argv[0];
  o.envp = NULL;
  if (lua_getfield(L, 2, "env") != LUA_TNIL) {
    if (!lua_istable(L, -1))
      return alua__user_error(L, "bad option 'env' to 'create_subprocess_exec' (table expected, got %s)", luaL_typename(L, -1));
    o.envp = env_array(L, lua_gettop(L));
  }
  o.cwd = NULL;
  if (lua_getfield(L, 2, "cwd") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TSTRING) return alua__user_error(L, "bad option 'cwd' to 'create_subprocess_exec' (string expected, got %s)", luaL_typename(L, -1));
    o.cwd = lua_tostring(L, -1);
  }
  if (lua_getfield(L, 2, "executable") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TSTRING) return alua__user_error(L, "bad option 'executable' to 'create_subprocess_exec' (string expected, got %s)", luaL_typename(L, -1));
    o.file = lua_tostring(L, -1);
  }
  o.new_session = lua_getfield(L, 2, "start_new_session") != LUA_TNIL && lua_toboolean(L, -1);
  lua_pop(L, 1);

  lchild *c = lua_newuserdatauv(L, sizeof *c, CHUV_N);
  int cidx = lua_gettop(L);
  memset(c, 0, sizeof *c);
  c->lp = lp;
  c->ch.pidfd = -1;
  c->anchor = LUA_NOREF;
  ac_io_init(&c->io, -1, on_pidfd);
  ac_list_init(&c->waiters);
  ac_list_init(&c->link);
  luaL_setmetatable(L, MT_CHILD);
  alua__pushloop(L, lp);
  lua_setiuservalue(L, cidx, CHUV_LOOP);
  /* the anchor is taken now: afterwards nothing may fail between spawn and
   * the child being tracked */
  c->anchor = alua__anchor(L, lp, cidx);
  lchildren *w = NULL;
  if (force_sigchld || lp->children) {
    w = push_watcher(L, lp);
    lua_setiuservalue(L, cidx, CHUV_WATCHER);
  }

  int pipes[3], step;
  int rc = ac_spawn(&c->ch, &o, pipes, &step);
  if (rc < 0) {
    alua__unanchor(L, lp, c->anchor);
    c->anchor = LUA_NOREF;
    if (w && ac_list_empty(&w->live)) watcher_drop(w, L);
    if (step == AC_SPAWN_STEP_FDS)
      return alua__oserror(L, -rc, "create_subprocess_exec: cannot make the child's descriptors");
    if (step == AC_SPAWN_STEP_CWD)
      return alua__oserror(L, -rc, "create_subprocess_exec: cannot change to directory '%s'", o.cwd);
    return alua__oserror(L, -rc, "create_subprocess_exec: cannot run '%s'", o.file);
  }
  c->external = 1;
  ac_loop_external_begin(&lp->core);
  if (!w && ac_child_open_pidfd(&c->ch) == 0) {
    c->io.fd = c->ch.pidfd;
    if (ac_io_start(&lp->core, &c->io, EPOLLIN) < 0) close_pidfd(c);
  }
  if (c->io.fd < 0) {
    /* no pidfd: the SIGCHLD watcher polls this child from now on (an exit
     * before the watcher existed is caught by the first poll) */
    if (!w) {
      w = push_watcher(L, lp);
      lua_setiuservalue(L, cidx, CHUV_WATCHER);
    }
    ac_list_push_back(&w->live, &c->link);
    c->watcher = w;
    poll_child(c);
  }
  lua_settop(L, cidx);
  for (int i = 0; i < 3; i++) {
    if (pipes[i] >= 0) lua_pushinteger(L, pipes[i]);
    else lua_pushnil(L);
  }
  return 4;
}

/* internals.force_sigchld(on): use the SIGCHLD fallback for new children. */
static int l_force_sigchld(lua_State *L) {
  force_sigchld = lua_toboolean(L, 1);
  return 0;
}

void alua__open_process(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg methods[] = {{"pid", ch_pid},
                                     {"returncode", ch_returncode},
                                     {"send_signal", ch_send_signal},
                                     {"wait", ch_wait},
                                     {"__tostring", ch_tostring},
                                     {"__gc", ch_gc},
                                     {NULL, NULL}};
  alua__newclass(L, r, MT_CHILD, methods);
  lua_pop(L, 1);
  static const luaL_Reg wmethods[] = {{"__gc", watcher_gc}, {NULL, NULL}};
  alua__newclass(L, r, MT_CHILDREN, wmethods);
  lua_pop(L, 1);
  static const char *const ops[] = {"wait"};
  alua__newopclass(L, r, MT_CHILDOP, wait_await, "process:", ops);
  static const luaL_Reg funcs[] = {{"spawn", l_spawn}, {"force_sigchld", l_force_sigchld}, {NULL, NULL}};
  alua__setfuncs_at(L, r, internals, funcs);
  static const struct {
    const char *name;
    int value;
  } consts[] = {{"PIPE", AC_SPAWN_PIPE}, {"STDOUT", AC_SPAWN_STDOUT}, {"DEVNULL", AC_SPAWN_DEVNULL},
                {"SIGKILL", SIGKILL}, {"SIGSTOP", SIGSTOP},  {"SIGCONT", SIGCONT}};
  for (size_t i = 0; i < sizeof consts / sizeof consts[0]; i++) {
    if (lua_getfield(L, module, consts[i].name) == LUA_TNIL) {
      lua_pushinteger(L, consts[i].value);
      lua_setfield(L, module, consts[i].name);
    }
    lua_pop(L, 1);
  }
}
