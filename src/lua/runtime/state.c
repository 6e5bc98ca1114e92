/* States set up as the alua program has them: alua's allocator, the
 * standard libraries, asyncio and the translating loaders. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lualib.h>

#include "alua.h"
#include "core/alloc.h"
#include "core/fault.h"
#include "lua/internal.h"
#include "lua/runtime/load.h"

/* os.exit as loslib's, except that closing the state (the second argument)
 * goes through alua_close, which also releases alua's allocator. */
static int os_exit(lua_State *L) {
  int status;
  if (lua_isboolean(L, 1)) status = lua_toboolean(L, 1) ? EXIT_SUCCESS : EXIT_FAILURE;
  else status = (int)luaL_optinteger(L, 1, EXIT_SUCCESS);
  if (lua_toboolean(L, 2)) alua_close(L);
  exit(status);
}

#ifdef ALUA_FAULT_INJECTION
/* Fault builds (src/core/fault.h): each request of a Lua state for more
 * memory may be refused; shrinking and freeing never fail (Lua relies on
 * it). */
static void *state_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  if (nsize > (ptr ? osize : 0) && ac_fault_hit()) return NULL;
  return ac_alloc_fn(ud, ptr, osize, nsize);
}

/* What a sweep (tests/oom) learns from a run: the requests counted once
 * the first state's libraries were open (the same for every program), and
 * the states never closed. */
static unsigned long fault_mark;
static int fault_states;

/* ALUA_FAULT_REPORT=file: at exit, "requests failures mark states" of the
 * main thread go to file. */
static const char *fault_report;

static void write_fault_report(void) {
  FILE *f = fopen(fault_report, "w");
  if (!f) return;
  fprintf(f, "%lu %lu %lu %d\n", ac_fault_requests(), ac_fault_failures(), fault_mark, __atomic_load_n(&fault_states, __ATOMIC_RELAXED));
  fclose(f);
}

/* ALUA_FAIL_ALLOC_AFTER=N[:K]: the main thread's Nth request for memory
 * (or a thread, or a descriptor watch) fails, and the K after it, or every
 * one after it without K. Read before main runs, so a program's first
 * request counts as 1. */
__attribute__((constructor)) static void fault_from_env(void) {
  const char *spec = getenv("ALUA_FAIL_ALLOC_AFTER");
  fault_report = getenv("ALUA_FAULT_REPORT");
  if (!spec && !fault_report) return;
  unsigned long nth = 0, count = 0;
  if (spec) {
    char *end;
    nth = strtoul(spec, &end, 10);
    if (*end == ':') count = strtoul(end + 1, NULL, 10);
  }
  if (fault_report) atexit(write_fault_report);
  ac_fault_arm(nth, count);
}
/* The mark, once the first state's libraries are open. With
 * ALUA_FAULT_SERVER set, the process then becomes a sweep's fault server
 * (fault.h), and goes on as one of its runs. */
static void fault_mark_once(void) {
  if (fault_mark) return;
  fault_mark = ac_fault_requests();
  if (!getenv("ALUA_FAULT_SERVER")) return;
  static char report[4096];
  static const char name[] = "/report";
  int r = ac_fault_serve(report, sizeof report - sizeof name);
  if (r < 0) {
    fprintf(stderr, "ALUA_FAULT_SERVER: %s\n", strerror(-r));
    exit(EXIT_FAILURE);
  }
  strcat(report, name);
  if (!fault_report) atexit(write_fault_report);
  fault_report = report;
}
#define FAULT_MARK() fault_mark_once()
#define FAULT_STATES(n) __atomic_add_fetch(&fault_states, (n), __ATOMIC_RELAXED)
#else
#define state_alloc ac_alloc_fn
#define FAULT_MARK() ((void)0)
#define FAULT_STATES(n) ((void)0)
#endif

/* collectgarbage as lbaselib's (Lua 5.4's options, results and errors),
 * except that a full collection ("collect", the default) then gives the
 * allocator's free pages back to the kernel (ac_alloc_trim): after a burst
 * of tasks has finished, the process shrinks to about its live heap.
 * Installed only in states that use alua's allocator (upvalue 1). */
static int collectgarbage(lua_State *L) {
  static const char *const opts[] = {"stop", "restart", "collect", "count", "step", "setpause", "setstepmul",
                                     "isrunning", "generational", "incremental", NULL};
  static const int optsnum[] = {LUA_GCSTOP,     LUA_GCRESTART,    LUA_GCCOLLECT,   LUA_GCCOUNT, LUA_GCSTEP,
                                LUA_GCSETPAUSE, LUA_GCSETSTEPMUL, LUA_GCISRUNNING, LUA_GCGEN,   LUA_GCINC};
  int o = optsnum[luaL_checkoption(L, 1, "collect", opts)];
  int res;
  switch (o) {
  case LUA_GCCOUNT: {
    int k = lua_gc(L, o), b = lua_gc(L, LUA_GCCOUNTB);
    if (k == -1) break;
    lua_pushnumber(L, (lua_Number)k + ((lua_Number)b / 1024));
    return 1;
  }
  case LUA_GCSTEP:
  case LUA_GCISRUNNING:
    res = o == LUA_GCSTEP ? lua_gc(L, o, (int)luaL_optinteger(L, 2, 0)) : lua_gc(L, o);
    if (res == -1) break;
    lua_pushboolean(L, res);
    return 1;
  case LUA_GCSETPAUSE:
  case LUA_GCSETSTEPMUL:
    res = lua_gc(L, o, (int)luaL_optinteger(L, 2, 0));
    if (res == -1) break;
    lua_pushinteger(L, res);
    return 1;
  case LUA_GCGEN:
  case LUA_GCINC: {
    int p1 = (int)luaL_optinteger(L, 2, 0), p2 = (int)luaL_optinteger(L, 3, 0);
    res = o == LUA_GCGEN ? lua_gc(L, o, p1, p2) : lua_gc(L, o, p1, p2, (int)luaL_optinteger(L, 4, 0));
    if (res == -1) break;
    lua_pushstring(L, res == LUA_GCINC ? "incremental" : "generational");
    return 1;
  }
  default:
    res = lua_gc(L, o);
    if (res == -1) break;
    if (o == LUA_GCCOLLECT) ac_alloc_trim(lua_touserdata(L, lua_upvalueindex(1)));
    lua_pushinteger(L, res);
    return 1;
  }
  luaL_pushfail(L); /* called inside a finalizer */
  return 1;
}

void alua_openlibs(lua_State *L) {
  luaL_requiref(L, "asyncio", luaopen_asyncio, 1);
  alua__install_prelude(L, -1);
  lua_pop(L, 1);
  alua__install_loaders(L);
  void *ud;
  if (lua_getallocf(L, &ud) == state_alloc) {
    lua_pushlightuserdata(L, ud);
    lua_pushcclosure(L, collectgarbage, 1);
    lua_setglobal(L, "collectgarbage");
  }
  if (lua_getglobal(L, "os") == LUA_TTABLE) {
    lua_pushcfunction(L, os_exit);
    lua_setfield(L, -2, "exit");
  }
  lua_pop(L, 1);
  FAULT_MARK();
}

static int panic(lua_State *L) {
  const char *msg = lua_tostring(L, -1);
  fprintf(stderr, "PANIC: unprotected error in call to Lua API (%s)\n", msg ? msg : "error object is not a string");
  fflush(stderr);
  return 0;
}

/* Warnings, as lauxlib's: off until "@on"; a message may come in pieces. */
static void warn_off(void *ud, const char *msg, int tocont);
static void warn_on(void *ud, const char *msg, int tocont);

static void warn_cont(void *ud, const char *msg, int tocont) {
  lua_State *L = ud;
  fputs(msg, stderr);
  if (tocont) {
    lua_setwarnf(L, warn_cont, L);
  } else {
    fputs("\n", stderr);
    fflush(stderr);
    lua_setwarnf(L, warn_on, L);
  }
}

/* A control message ("@on", "@off"): true if msg was one. */
static int warn_control(lua_State *L, const char *msg, int tocont) {
  if (tocont || *msg != '@') return 0;
  if (strcmp(msg, "@off") == 0) lua_setwarnf(L, warn_off, L);
  else if (strcmp(msg, "@on") == 0) lua_setwarnf(L, warn_on, L);
  return 1;
}

static void warn_off(void *ud, const char *msg, int tocont) { warn_control(ud, msg, tocont); }

static void warn_on(void *ud, const char *msg, int tocont) {
  if (warn_control(ud, msg, tocont)) return;
  fputs("Lua warning: ", stderr);
  warn_cont(ud, msg, tocont);
}


lua_State *alua_newrawstate(void) {
  ac_alloc *a = malloc(sizeof *a);
  if (!a) return NULL;
  ac_alloc_init(a);
  lua_State *L = lua_newstate(state_alloc, a);
  if (!L) {
    free(a);
    return NULL;
  }
  lua_atpanic(L, panic);
  lua_setwarnf(L, warn_off, L);
  FAULT_STATES(1);
  return L;
}

static int open_all(lua_State *L) {
  luaL_openlibs(L);
  alua_openlibs(L);
  return 0;
}

lua_State *alua_newstate(void) {
  lua_State *L = alua_newrawstate();
  if (!L) return NULL;
  lua_pushcfunction(L, open_all);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
    alua_close(L);
    return NULL;
  }
  return L;
}

void alua_close(lua_State *L) {
  lua_settop(L, 0);
  lua_pushcfunction(L, alua__shutdown);
  if (lua_pcall(L, 0, 1, 0) == LUA_OK && lua_islightuserdata(L, -1)) {
    rt *r = lua_touserdata(L, -1);
    /* posts and completions still queued get L == NULL now, while the
     * state is whole */
    alua__hub_close(r);
  }
  lua_settop(L, 0);
  void *ud;
  lua_Alloc f = lua_getallocf(L, &ud);
  lua_close(L);
  if (f == state_alloc) {
    ac_alloc_close(ud);
    free(ud);
    FAULT_STATES(-1);
  }
}
