/* Lua functions on worker threads: loop:run_in_executor(nil, fn, ...) and
 * asyncio.to_thread(fn, ...) (lib/asyncio/executor.lua). Each call is one C
 * job of the loop's pool (executor.c) that carries the function as
 * bytecode (lua_dump; a standard library C function by its name) and its
 * arguments copied by marshal.c; the worker loads and runs it, and copies
 * the results or the error back the same way.
 *
 * Worker states: each worker thread opens one Lua state with the standard
 * libraries on its first Lua job and keeps it for later jobs (globals set by
 * one job are seen by later jobs on the same thread); it is closed when the
 * thread exits, at pool shutdown. A count hook stops a function whose
 * result nobody waits for any more. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lualib.h>

#include "lua/internal.h"
#include "lua/observe/observe.h"

/* Instructions between two looks at the abandoned flag of a running job. */
#define HOOK_COUNT 1000

/* A Lua function to run on a worker thread. */
typedef struct xjob {
  alua__job job;      /* must be first */
  char *code;        /* lua_dump of the function, or NULL for a library function */
  size_t codelen;    /* bytes of code */
  char lib[16];      /* standard library of a C function ("_G", "os", ...) */
  char name[48];     /* its name in that library */
  alua__mbuf args;    /* copied arguments */
  alua__mbuf out;     /* copied results, or the copied error value */
  int failed;        /* the function raised: out (or errmsg) is the error */
  char *errmsg;      /* error message made in C (instead of out), or NULL */
  char *traceback;   /* the worker's traceback of the error, or NULL */
} xjob;

static void xrelease(alua__job *jb) {
  xjob *j = (xjob *)jb;
  free(j->code);
  alua__mbuf_free(&j->args);
  alua__mbuf_free(&j->out);
  free(j->errmsg);
  free(j->traceback);
  free(j);
}

/* Sets j's error to a message made in C. Worker thread. */
static void set_errmsg(xjob *j, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  j->failed = 1;
  alua__mbuf_free(&j->out);
  free(j->errmsg);
  j->errmsg = strdup(buf);
}

static pthread_key_t state_key;
static pthread_once_t state_once = PTHREAD_ONCE_INIT;
static int state_key_ok;
/* The job running on this worker thread, for the count hook. */
static _Thread_local alua__job *current_job;

static void close_state(void *W) { lua_close(W); }

static void make_key(void) { state_key_ok = pthread_key_create(&state_key, close_state) == 0; }

/* Stops a Lua function whose result nobody waits for any more. */
static void abandon_hook(lua_State *W, lua_Debug *ar) {
  (void)ar;
  alua__job *j = current_job;
  if (j && __atomic_load_n(&j->abandoned, __ATOMIC_RELAXED))
    luaL_error(W, "abandoned: nobody waits for this result any more");
}

static int openlibs_p(lua_State *W) {
  luaL_openlibs(W);
  return 0;
}

/* This worker thread's Lua state (made on first use), or NULL. */
static lua_State *worker_state(void) {
  pthread_once(&state_once, make_key);
  if (!state_key_ok) return NULL;
  lua_State *W = pthread_getspecific(state_key);
  if (W) return W;
  W = luaL_newstate();
  if (!W) return NULL;
  lua_pushcfunction(W, openlibs_p);
  if (lua_pcall(W, 0, 0, 0) != LUA_OK || pthread_setspecific(state_key, W) != 0) {
    lua_close(W);
    return NULL;
  }
  /* coroutines made in W inherit the hook */
  lua_sethook(W, abandon_hook, LUA_MASKCOUNT, HOOK_COUNT);
  return W;
}

/* Message handler in the worker: {error, traceback}, the traceback cut
 * where the function was called from C. */
static int worker_msgh(lua_State *W) {
  lua_createtable(W, 2, 0);
  lua_pushvalue(W, 1);
  lua_rawseti(W, -2, 1);
  luaL_traceback(W, W, NULL, 1);
  const char *tb = lua_tostring(W, -1);
  const char *cut = strstr(tb, "\n\t[C]: in ?");
  if (cut) {
    lua_pushlstring(W, tb, (size_t)(cut - tb));
    lua_remove(W, -2);
  }
  lua_rawseti(W, -2, 2);
  return 1;
}

typedef struct rdctx {
  const char *p;
  size_t left;
} rdctx;

static const char *reader(lua_State *W, void *ud, size_t *size) {
  rdctx *r = ud;
  *size = r->left;
  r->left = 0;
  return *size ? r->p : NULL;
}

/* Protected body of a job in the worker state: xjob at 1. */
static int xrun(lua_State *W) {
  xjob *j = lua_touserdata(W, 1);
  lua_settop(W, 0);
  lua_pushcfunction(W, worker_msgh);
  if (j->code) {
    rdctx rd = {j->code, j->codelen};
    if (lua_load(W, reader, &rd, "=(worker)", "b") != LUA_OK) return lua_error(W);
  } else {
    luaL_getsubtable(W, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    if (lua_getfield(W, -1, j->lib) != LUA_TTABLE || lua_getfield(W, -1, j->name) != LUA_TFUNCTION)
      return luaL_error(W, "%s.%s is missing in the worker's Lua state", j->lib, j->name);
    lua_replace(W, 2);
    lua_settop(W, 2);
  }
  int nargs = alua__unmarshal(W, &j->args);
  int status = lua_pcall(W, nargs, LUA_MULTRET, 1);
  char why[256];
  int which;
  if (status == LUA_OK) {
    int n = lua_gettop(W) - 1;
    if (alua__marshal(W, 2, n, &j->out, why, sizeof why, &which) < 0) {
      if (which > 0)
        set_errmsg(j, "result #%d of the worker function cannot be copied back: it is %s", which, why);
      else if (strcmp(why, "not enough memory") == 0)
        set_errmsg(j, "%s", why);
      else /* not one value's fault */
        set_errmsg(j, "the results of the worker function cannot be copied back: %s", why);
    }
    return 0;
  }
  j->failed = 1;
  int err = lua_gettop(W);
  if (status == LUA_ERRRUN) {
    lua_rawgeti(W, err, 2);
    const char *tb = lua_tostring(W, -1);
    if (tb) j->traceback = strdup(tb);
    lua_rawgeti(W, err, 1);
    err = lua_gettop(W);
  }
  if (alua__marshal(W, err, 1, &j->out, why, sizeof why, &which) < 0) {
    /* not copyable (a userdata, a table with a metatable): its tostring */
    alua__mbuf_free(&j->out);
    luaL_tolstring(W, err, NULL);
    if (alua__marshal(W, -1, 1, &j->out, why, sizeof why, &which) < 0) set_errmsg(j, "%s", why);
  }
  return 0;
}

/* Worker thread: runs the function in this thread's Lua state. */
static void xwork(alua__job *jb) {
  xjob *j = (xjob *)jb;
  lua_State *W = worker_state();
  if (!W) {
    set_errmsg(j, "cannot create a Lua state for the worker thread");
    return;
  }
  current_job = jb;
  lua_pushcfunction(W, xrun);
  lua_pushlightuserdata(W, j);
  int status = lua_pcall(W, 1, 0, 0);
  if (status != LUA_OK) {
    const char *msg = status == LUA_ERRMEM ? NULL : lua_tostring(W, -1);
    set_errmsg(j, "%s", msg ? msg : "not enough memory");
  }
  current_job = NULL;
  lua_settop(W, 0);
}

/* Starts a fresh traceback chain (the layout of traceback.c: {value = err,
 * label, traceback, ...}) for the error at erridx with the worker's
 * traceback, so its report shows where in the worker it was raised; each task
 * it then fails adds its own after. */
static void chain_worker(lua_State *L, rt *r, int erridx, const char *tb) {
  lua_createtable(L, 2, 1);
  lua_pushvalue(L, erridx);
  lua_setfield(L, -2, "value");
  lua_pushliteral(L, "worker thread");
  lua_rawseti(L, -2, 1);
  lua_pushstring(L, tb);
  lua_rawseti(L, -2, 2);
  luaL_unref(L, LUA_REGISTRYINDEX, r->ref_chain);
  r->ref_chain = luaL_ref(L, LUA_REGISTRYINDEX);
}

/* Loop thread: the future at futidx gets the function's results or error. */
static void xcomplete(lua_State *L, alua__job *jb, int futidx) {
  xjob *j = (xjob *)jb;
  if (!j->failed) {
    int n = alua__unmarshal(L, &j->out);
    alua__future_set_result(L, futidx, n);
    return;
  }
  if (j->errmsg) lua_pushstring(L, j->errmsg);
  else alua__unmarshal(L, &j->out);
  if (j->traceback) chain_worker(L, jb->loop->rt, lua_gettop(L), j->traceback);
  alua__future_set_error(L, futidx);
}

/* Raises "bad argument #argn to 'fname' (...)" at the user's line; frees j
 * first. */
static int argerr(lua_State *L, xjob *j, const char *fname, int argn, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (j) xrelease(&j->job);
  return alua__user_argerror(L, argn, fname, "%s", buf);
}

/* Finds the C function at fnidx in the standard libraries of L; fills
 * j->lib and j->name (of a job not allocated yet: this may raise). */
static int find_libfunc(lua_State *L, int fnidx, xjob *j) {
  static const char *const libs[] = {"_G", "string", "table", "math", "os", "io", "utf8", "coroutine", NULL};
  int found = 0;
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  for (const char *const *lib = libs; *lib && !found; lib++) {
    if (lua_getfield(L, -1, *lib) != LUA_TTABLE) {
      lua_pop(L, 1);
      continue;
    }
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      size_t len;
      if (lua_rawequal(L, -1, fnidx) && lua_type(L, -2) == LUA_TSTRING && (lua_tolstring(L, -2, &len), len < sizeof j->name)) {
        snprintf(j->lib, sizeof j->lib, "%s", *lib);
        snprintf(j->name, sizeof j->name, "%s", lua_tostring(L, -2));
        found = 1;
        lua_pop(L, 2);
        break;
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return found;
}

static int writer(lua_State *L, const void *p, size_t n, void *ud) {
  xjob *j = ud;
  char *code = realloc(j->code, j->codelen + n);
  if (!code) return 1;
  memcpy(code + j->codelen, p, n);
  j->code = code;
  j->codelen += n;
  return 0;
}

/* Submits fn (at fnidx) with the nargs values after it to lp's pool; pushes
 * the future. fname and argn name fn's argument in errors. */
static future *submit_function(lua_State *L, lloop *lp, int fnidx, int nargs, const char *fname, int argn) {
  if (alua__iscoroutinefunction(L, fnidx) || alua__tocoro(L, fnidx))
    argerr(L, NULL, fname, argn, "async functions and coroutines cannot run in a worker thread");
  if (lua_type(L, fnidx) != LUA_TFUNCTION)
    argerr(L, NULL, fname, argn, "function expected, got %s", luaL_typename(L, fnidx));
  if (!lua_iscfunction(L, fnidx)) {
    for (int i = 1;; i++) {
      const char *name = lua_getupvalue(L, fnidx, i);
      if (!name) break;
      lua_pop(L, 1);
      if (strcmp(name, "_ENV") != 0)
        argerr(L, NULL, fname, argn,
               "the function uses '%s', a local variable of an enclosing function (an upvalue); a function "
               "run in a worker thread may use only its arguments and globals",
               name);
    }
  }
  xjob found;
  if (lua_iscfunction(L, fnidx) && !find_libfunc(L, fnidx, &found))
    argerr(L, NULL, fname, argn, "a C function can run in a worker thread only if it belongs to the standard libraries");
  xjob *j = calloc(1, sizeof *j);
  if (!j) luaL_error(L, "not enough memory");
  j->job.work = xwork;
  j->job.complete = xcomplete;
  j->job.release = xrelease;
  if (lua_iscfunction(L, fnidx)) {
    memcpy(j->lib, found.lib, sizeof j->lib);
    memcpy(j->name, found.name, sizeof j->name);
  } else {
    lua_pushvalue(L, fnidx);
    int rc = lua_dump(L, writer, j, 0);
    lua_pop(L, 1);
    if (rc != 0) {
      xrelease(&j->job);
      luaL_error(L, "not enough memory");
    }
  }
  char why[256];
  int which;
  if (alua__marshal(L, fnidx + 1, nargs, &j->args, why, sizeof why, &which) < 0) {
    if (which == 0) {
      xrelease(&j->job);
      luaL_error(L, "%s", why);
    }
    argerr(L, j, fname, argn + which,
           "cannot copy %s to a worker thread: only nil, booleans, numbers, strings and tables of those can be copied",
           why);
  }
  future *f = alua__executor_submit(L, lp, &j->job);
  /* reports name the function: "worker thread running function <file:line>" */
  alua__push_callable_desc(L, fnidx);
  lua_pushfstring(L, "running %s", lua_tostring(L, -1));
  alua__future_label(L, -3, "worker thread", -1);
  lua_pop(L, 2);
  return f;
}

/* loop:run_in_executor(nil, fn, ...): a future of fn(...)'s results, run on
 * a worker thread. */
static int l_run_in_executor(lua_State *L) {
  lloop *lp = alua__checkopen(L, 1);
  if (!lua_isnil(L, 2)) return argerr(L, NULL, "run_in_executor", 1, "only nil, the default executor, is supported");
  int n = lua_gettop(L);
  if (n < 3) return argerr(L, NULL, "run_in_executor", 2, "function expected, got no value");
  submit_function(L, lp, 3, n - 3, "run_in_executor", 2);
  return 1;
}

/* internals.to_thread_submit(fn, ...): the future of fn(...) on the running
 * (or default) loop's pool, for asyncio.to_thread (lib/asyncio/executor.lua). */
static int l_to_thread_submit(lua_State *L) {
  rt *r = alua__rt(L);
  int n = lua_gettop(L);
  if (n < 1) return argerr(L, NULL, "to_thread", 1, "function expected, got no value");
  lloop *lp = alua__push_current_loop(L, r);
  lua_pop(L, 1);
  submit_function(L, lp, 1, n - 1, "to_thread", 1);
  return 1;
}

void alua__open_worker(lua_State *L, rt *r, int module, int internals) {
  static const luaL_Reg loop_methods[] = {{"run_in_executor", l_run_in_executor}, {NULL, NULL}};
  alua__addmethods(L, r, MT_LOOP, loop_methods);
  static const luaL_Reg internal[] = {{"to_thread_submit", l_to_thread_submit}, {NULL, NULL}};
  alua__setfuncs_at(L, r, internals, internal);
}
