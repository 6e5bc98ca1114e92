/* alua --tutorial (SPEC 8): the lesson player. The player itself is Lua
 * (lib/tutorial/player.lua), compiled into the program with the lessons;
 * this file gives it what Lua alone cannot do:
 *
 *   - the embedded files (host.files, host.load);
 *   - a sandbox (host.sandbox): every example, exercise and check runs in a
 *     Lua state of its own, made for that run and closed after it, with
 *     stdout and stderr captured (lib/tutorial/sandbox.lua runs there), so
 *     a learner's program can neither disturb the session nor print over it;
 *   - the terminal's width and a recursive mkdir;
 *   - the REPL hook that hands each typed line to the player first, so the
 *     tutorial's commands (next, check, ...) work at the ordinary prompt.
 *
 * Requests and results cross between the states as strings: a Lua table
 * constructor that the other side loads with an empty environment. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "alua.h"
#include "cli/cli.h"

/* The lessons and the player, compiled at build time (lib/meson.build). */
extern const cli_embedded_file cli_tutorial_files[];

#define PLAYER_KEY "alua.tutorial.player"

/* -- embedded files ---------------------------------------------------------- */

/* host.files(): the names of the embedded files, e.g. "tutorial.01_chores". */
static int l_files(lua_State *L) {
  lua_newtable(L);
  int n = 0;
  for (const cli_embedded_file *f = cli_tutorial_files; f->name; f++) {
    lua_pushstring(L, f->name);
    lua_rawseti(L, -2, ++n);
  }
  return 1;
}

/* host.load(name): the chunk of an embedded file, or nil and a message. */
static int l_load(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  for (const cli_embedded_file *f = cli_tutorial_files; f->name; f++) {
    if (strcmp(f->name, name) != 0) continue;
    if (luaL_loadbufferx(L, f->source, f->len, name, "b") != LUA_OK) {
      lua_pushnil(L);
      lua_insert(L, -2);
      return 2;
    }
    return 1;
  }
  lua_pushnil(L);
  lua_pushfstring(L, "no tutorial file '%s'", name);
  return 2;
}

/* -- capturing the output of a run ----------------------------------------- */

/* One piece of output: the bytes one stream received while the time tag
 * stayed the same. */
typedef struct segment {
  double t;     /* the program's loop time when written (NaN: no loop yet) */
  int err;      /* written to stderr */
  char *text;   /* the bytes (malloc'd) */
  size_t len;   /* their number */
} segment;

/* Pieces taken out of the capture, to be pushed to Lua. */
typedef struct pieces {
  segment *segs; /* in the order they were written */
  size_t n;      /* their number */
  int overflow;  /* some output was dropped */
} pieces;

/* What a sandboxed run printed so far. Why a mutex: worker threads of the
 * sandboxed state (asyncio.to_thread) print too. */
static struct {
  pthread_mutex_t mu;
  segment *segs;  /* pieces in the order they were written */
  size_t n;       /* pieces held */
  size_t cap;     /* pieces allocated */
  size_t bytes;   /* bytes held */
  double now;     /* time tag for the next writes */
  int overflow;   /* output was dropped: too much of it */
} cap = {.mu = PTHREAD_MUTEX_INITIALIZER};

#define CAPTURE_LIMIT (1 << 20) /* bytes kept per take: a runaway print loop */

/* The capture streams' write function; the cookie says which stream. */
static ssize_t capture_write(void *cookie, const char *buf, size_t n) {
  int err = cookie != NULL;
  pthread_mutex_lock(&cap.mu);
  segment *last = cap.n ? &cap.segs[cap.n - 1] : NULL;
  int same_time = last && (last->t == cap.now || (last->t != last->t && cap.now != cap.now));
  if (cap.bytes + n > CAPTURE_LIMIT) {
    cap.overflow = 1;
  } else if (last && last->err == err && same_time) {
    char *p = realloc(last->text, last->len + n);
    if (p) {
      memcpy(p + last->len, buf, n);
      last->text = p;
      last->len += n;
      cap.bytes += n;
    }
  } else {
    if (cap.n == cap.cap) {
      size_t ncap = cap.cap ? cap.cap * 2 : 64;
      segment *s = realloc(cap.segs, ncap * sizeof *s);
      if (s) {
        cap.segs = s;
        cap.cap = ncap;
      }
    }
    char *p = malloc(n ? n : 1);
    if (cap.n < cap.cap && p) {
      memcpy(p, buf, n);
      cap.segs[cap.n++] = (segment){cap.now, err, p, n};
      cap.bytes += n;
    } else {
      free(p);
    }
  }
  pthread_mutex_unlock(&cap.mu);
  return (ssize_t)n; /* what could not be kept is dropped, never an error */
}

static void capture_clear(void) {
  for (size_t i = 0; i < cap.n; i++) free(cap.segs[i].text);
  free(cap.segs);
  cap.segs = NULL;
  cap.n = cap.cap = cap.bytes = 0;
  cap.overflow = 0;
}

/* Protected: pushes the pieces of the capture record at 1 (light userdata)
 * as {{t =, err =, text =}, ...}, with overflow = true when some output was
 * dropped. */
static int p_push_pieces(lua_State *L) {
  const pieces *c = lua_touserdata(L, 1);
  lua_createtable(L, (int)c->n, 1);
  for (size_t i = 0; i < c->n; i++) {
    lua_createtable(L, 0, 3);
    if (c->segs[i].t == c->segs[i].t) {
      lua_pushnumber(L, c->segs[i].t);
      lua_setfield(L, -2, "t");
    }
    lua_pushboolean(L, c->segs[i].err);
    lua_setfield(L, -2, "err");
    lua_pushlstring(L, c->segs[i].text, c->segs[i].len);
    lua_setfield(L, -2, "text");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  if (c->overflow) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "overflow");
  }
  return 1;
}

/* Pushes the pieces captured so far (see p_push_pieces) and forgets them.
 * They are taken out under the lock, so that worker threads can go on
 * writing meanwhile, and freed whether or not the push succeeds. */
static void capture_push(lua_State *L) {
  pieces c;
  pthread_mutex_lock(&cap.mu);
  c.segs = cap.segs;
  c.n = cap.n;
  c.overflow = cap.overflow;
  cap.segs = NULL;
  cap.n = cap.cap = cap.bytes = 0;
  cap.overflow = 0;
  pthread_mutex_unlock(&cap.mu);
  lua_pushcfunction(L, p_push_pieces);
  lua_pushlightuserdata(L, &c);
  int status = lua_pcall(L, 1, 1, 0);
  for (size_t i = 0; i < c.n; i++) free(c.segs[i].text);
  free(c.segs);
  if (status != LUA_OK) lua_error(L);
}

/* In the sandbox: host.take() returns and forgets what was printed. */
static int l_take(lua_State *L) {
  fflush(stdout);
  fflush(stderr);
  capture_push(L);
  return 1;
}

/* In the sandbox: host.settime(t) tags what is printed from now on with
 * the program's loop time t (nil: no loop runs). */
static int l_settime(lua_State *L) {
  double t = luaL_optnumber(L, 1, 0.0 / 0.0);
  fflush(stdout);
  fflush(stderr);
  pthread_mutex_lock(&cap.mu);
  cap.now = t;
  pthread_mutex_unlock(&cap.mu);
  return 0;
}

/* -- guarding a run --------------------------------------------------------- */

#define GUARD_KEY "alua.tutorial.guard"

/* Calls the guard function every `count` instructions. Why a C hook rather
 * than debug.sethook: a new thread inherits the C hook of the thread that
 * creates it, so every task of the program is guarded, while debug.sethook's
 * Lua function is looked up per thread and new threads would run unguarded.
 * Errors the guard raises propagate into the program. */
static void guard_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  if (lua_getfield(L, LUA_REGISTRYINDEX, GUARD_KEY) != LUA_TFUNCTION) {
    lua_pop(L, 1);
    return;
  }
  lua_call(L, 0, 0);
}

/* In the sandbox: host.sethook(fn, count) calls fn every count
 * instructions in this thread and the threads made from it from now on;
 * host.sethook() stops. */
static int l_sethook(lua_State *L) {
  if (lua_isnoneornil(L, 1)) {
    lua_sethook(L, NULL, 0, 0);
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, GUARD_KEY);
    return 0;
  }
  luaL_checktype(L, 1, LUA_TFUNCTION);
  int count = (int)luaL_checkinteger(L, 2);
  luaL_argcheck(L, count > 0, 2, "positive count expected");
  lua_settop(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, GUARD_KEY);
  lua_sethook(L, guard_hook, LUA_MASKCOUNT, count);
  return 0;
}

/* -- the sandbox ------------------------------------------------------------ */

/* In the new state, protected: runs lib/tutorial/sandbox.lua with the
 * request (a string at 1) and returns its result (a string). */
static int p_child(lua_State *L) {
  static const luaL_Reg host[] = {
      {"files", l_files},     {"load", l_load},       {"take", l_take},
      {"settime", l_settime}, {"sethook", l_sethook}, {NULL, NULL}};
  lua_settop(L, 1);
  lua_pushcfunction(L, l_load);
  lua_pushliteral(L, "tutorial.sandbox");
  lua_call(L, 1, 2);
  if (lua_isnil(L, -2)) return lua_error(L);
  lua_pop(L, 1);
  lua_pushvalue(L, 1);
  luaL_newlib(L, host);
  lua_call(L, 2, 1);
  if (!lua_isstring(L, -1)) return luaL_error(L, "the sandbox returned no result");
  return 1;
}

/* host.sandbox(request): runs a request of the player in a Lua state of its
 * own with stdout and stderr captured; returns the sandbox's result string,
 * and the output written while that state closed (as host.take gives it).
 * Raises only when the state cannot be made or the sandbox itself fails. */
static int l_sandbox(lua_State *L) {
  size_t reqlen;
  const char *req = luaL_checklstring(L, 1, &reqlen);
  lua_settop(L, 1);
  luaL_checkstack(L, 8, NULL);
  cookie_io_functions_t io = {.read = NULL, .write = capture_write, .seek = NULL, .close = NULL};
  FILE *out = fopencookie(NULL, "w", io);
  FILE *err = fopencookie((void *)1, "w", io);
  if (!out || !err) {
    if (out) fclose(out);
    if (err) fclose(err);
    return luaL_error(L, "cannot capture the output: %s", strerror(errno));
  }
  setvbuf(out, NULL, _IONBF, 0);
  setvbuf(err, NULL, _IONBF, 0);
  fflush(stdout);
  fflush(stderr);
  FILE *saved_out = stdout, *saved_err = stderr;
  pthread_mutex_lock(&cap.mu);
  capture_clear();
  cap.now = 0.0 / 0.0;
  pthread_mutex_unlock(&cap.mu);
  /* glibc's stdout and stderr are assignable (term.c does the same); the
   * new state's io library picks these streams up when it opens */
  stdout = out;
  stderr = err;

  char *result = NULL, *failure = NULL;
  size_t resultlen = 0;
  lua_State *C = alua_newstate();
  if (!C) {
    failure = strdup("cannot create a Lua state: not enough memory");
  } else {
    lua_pushcfunction(C, p_child);
    lua_pushlstring(C, req, reqlen);
    int status = lua_pcall(C, 1, 1, 0);
    size_t len;
    const char *s = lua_tolstring(C, -1, &len);
    char *copy = malloc(len + 1);
    if (copy && s) {
      memcpy(copy, s, len);
      copy[len] = '\0';
    }
    if (status == LUA_OK) {
      result = copy;
      resultlen = len;
    } else {
      failure = copy ? copy : strdup("the tutorial's sandbox failed");
    }
    alua_close(C);
  }
  fflush(out);
  fflush(err);
  stdout = saved_out;
  stderr = saved_err;
  fclose(out);
  fclose(err);
  if (failure) {
    lua_pushstring(L, failure);
    free(failure);
    pthread_mutex_lock(&cap.mu);
    capture_clear();
    pthread_mutex_unlock(&cap.mu);
    return lua_error(L);
  }
  lua_pushlstring(L, result ? result : "", resultlen);
  free(result);
  capture_push(L);
  return 2;
}

/* -- small system helpers ---------------------------------------------------- */

/* host.width(): columns of the terminal on stdout, 0 when it is not one. */
static int l_width(lua_State *L) {
  struct winsize ws;
  int w = 0;
  if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) w = ws.ws_col;
  lua_pushinteger(L, w);
  return 1;
}

/* host.isatty(fd) */
static int l_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
  return 1;
}

/* host.mkdir(path): makes path and its missing parents (mode 0700, as
 * state directories are private); true, or nil and a message. */
static int l_mkdir(lua_State *L) {
  size_t len;
  const char *path = luaL_checklstring(L, 1, &len);
  char *p = strdup(path);
  if (!p) return luaL_error(L, "not enough memory");
  for (size_t i = 1; i <= len; i++) {
    if (p[i] != '/' && p[i] != '\0') continue;
    char c = p[i];
    p[i] = '\0';
    if (mkdir(p, 0700) != 0 && errno != EEXIST) {
      int e = errno;
      lua_pushnil(L);
      lua_pushfstring(L, "%s: %s", p, strerror(e));
      free(p);
      return 2;
    }
    p[i] = c;
  }
  free(p);
  lua_pushboolean(L, 1);
  return 1;
}

/* -- the player -------------------------------------------------------------- */

/* Protected: loads the player with the host table; leaves it in the
 * registry. */
static int p_open_player(lua_State *L) {
  static const luaL_Reg host[] = {{"files", l_files},   {"load", l_load},       {"sandbox", l_sandbox},
                                  {"width", l_width},   {"isatty", l_isatty},   {"mkdir", l_mkdir},
                                  {NULL, NULL}};
  lua_pushcfunction(L, l_load);
  lua_pushliteral(L, "tutorial.player");
  lua_call(L, 1, 2);
  if (lua_isnil(L, -2)) return lua_error(L);
  lua_pop(L, 1);
  luaL_newlib(L, host);
  lua_call(L, 1, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, PLAYER_KEY);
  return 0;
}

/* Protected: player[method](args at 1..n); returns its first result. */
static int p_call(lua_State *L) {
  const char *method = lua_tostring(L, lua_upvalueindex(1));
  int n = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, PLAYER_KEY);
  lua_getfield(L, -1, method);
  lua_remove(L, -2);
  lua_insert(L, 1);
  lua_call(L, n, 1);
  return 1;
}

/* Calls player[method] with the n values on top (popped) and the
 * traceback handler; pushes its result or the error. */
static int call_player(lua_State *L, const char *method, int n) {
  lua_pushstring(L, method);
  lua_pushcclosure(L, p_call, 1);
  lua_insert(L, -n - 1);
  return cli_docall(L, n, 1);
}

/* The REPL's line hook: the player looks at the first line of each
 * statement and says whether it was one of its commands. */
static int on_line(lua_State *L, const char *line) {
  int top = lua_gettop(L);
  lua_pushstring(L, line);
  int status = call_player(L, "command", 1);
  int result = CLI_LINE_LUA;
  if (status != LUA_OK) {
    cli_message(lua_tostring(L, -1) ? lua_tostring(L, -1) : "tutorial command failed");
    result = CLI_LINE_DONE;
  } else if (lua_type(L, -1) == LUA_TSTRING) {
    const char *what = lua_tostring(L, -1);
    result = strcmp(what, "quit") == 0 ? CLI_LINE_QUIT : strcmp(what, "done") == 0 ? CLI_LINE_DONE : CLI_LINE_LUA;
  }
  fflush(stdout);
  lua_settop(L, top);
  return result;
}

int cli_tutorial(lua_State *L, int argc, char **argv) {
  lua_pushcfunction(L, p_open_player);
  if (cli_report(L, cli_docall(L, 0, 0)) != LUA_OK) return EXIT_FAILURE;
  /* the player parses the arguments after --tutorial */
  lua_createtable(L, argc, 0);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushboolean(L, isatty(STDIN_FILENO));
  if (cli_report(L, call_player(L, "start", 2)) != LUA_OK) return EXIT_FAILURE;
  /* start returns an exit status when it is all done (--check, a bad
   * argument), else true: the lessons go on at the prompt */
  if (lua_isinteger(L, -1)) {
    int code = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    return code;
  }
  lua_pop(L, 1);
  cli_repl_set_line_hook(on_line);
  cli_repl(L);
  cli_repl_set_line_hook(NULL);
  if (cli_report(L, call_player(L, "finish", 0)) != LUA_OK) return EXIT_FAILURE;
  lua_pop(L, 1);
  return EXIT_SUCCESS;
}
