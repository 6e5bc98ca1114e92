/* The floor of the task workloads (scripts/bench): a C program against
 * liblua5.4 that does the least work per task and per round trip that Lua
 * allows. Each task is a Lua thread made by lua_newthread running a Lua
 * function; waiting is lua_yield from a C function; the scheduler is a C
 * ring of ready threads resumed in passes, as asyncio runs its ready queue.
 * Nothing else: no futures, no names, no cancellation, no error reports.
 *
 * Included by the c_floor.c of each workload (one program each, compiled
 * by the harness with cc -O2 against liblua5.4); they follow the protocol
 * of the README beside this file. */
#ifndef FLOOR_H
#define FLOOR_H

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A ring of threads to resume, each with the value to resume it with. */
typedef struct ready {
  lua_State **co;   /* threads */
  lua_Integer *val; /* the value each is resumed with */
  size_t cap, head, n;
} ready;

static ready rq;

static void rq_push(lua_State *co, lua_Integer v) {
  if (rq.n == rq.cap) {
    size_t cap = rq.cap ? rq.cap * 2 : 1024;
    lua_State **c = malloc(cap * sizeof *c);
    lua_Integer *w = malloc(cap * sizeof *w);
    for (size_t i = 0; i < rq.n; i++) {
      c[i] = rq.co[(rq.head + i) % rq.cap];
      w[i] = rq.val[(rq.head + i) % rq.cap];
    }
    free(rq.co);
    free(rq.val);
    rq.co = c;
    rq.val = w;
    rq.cap = cap;
    rq.head = 0;
  }
  size_t i = (rq.head + rq.n) % rq.cap;
  rq.co[i] = co;
  rq.val[i] = v;
  rq.n++;
}

/* Called when a thread returns, with its nres results on its stack. */
static void (*on_return)(lua_State *co, int nres);

/* Runs passes until nothing is ready: each pass resumes the threads that
 * were ready when it began, passing each its value. */
static void run(lua_State *L) {
  while (rq.n > 0) {
    size_t n = rq.n;
    while (n-- > 0) {
      lua_State *co = rq.co[rq.head];
      lua_Integer v = rq.val[rq.head];
      rq.head = (rq.head + 1) % rq.cap;
      rq.n--;
      int nres;
      lua_pushinteger(co, v);
      int st = lua_resume(co, L, 1, &nres);
      if (st == LUA_OK) {
        if (on_return) on_return(co, nres);
        lua_pop(co, nres);
      } else if (st == LUA_YIELD) {
        lua_pop(co, nres);
      } else {
        fprintf(stderr, "floor: %s\n", lua_tostring(co, -1));
        exit(1);
      }
    }
  }
}

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void mark_start(double *c0) {
  *c0 = cpu_now();
  fputs("@start\n", stderr);
  fflush(stderr);
}

static void mark_end(double c0) {
  fprintf(stderr, "@end cpu=%.6f\n", cpu_now() - c0);
  fflush(stderr);
}

/* Peak RSS of this process in KiB (VmHWM), or -1. */
static long peak_rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long kib = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmHWM: %ld", &kib) == 1) break;
  fclose(f);
  return kib;
}

/* A state with the standard libraries, the C functions `fns` as globals,
 * and what the chunk `src` returns left on its stack. */
static lua_State *new_state(const luaL_Reg *fns, const char *src, int nres) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  lua_gc(L, LUA_GCGEN, 0, 0); /* as lua.c */
  lua_pushglobaltable(L);
  luaL_setfuncs(L, fns, 0);
  lua_pop(L, 1);
  if (luaL_loadstring(L, src) != LUA_OK || lua_pcall(L, 0, nres, 0) != LUA_OK) {
    fprintf(stderr, "floor: %s\n", lua_tostring(L, -1));
    exit(1);
  }
  return L;
}

static long arg_n(int argc, char **argv, long dflt) { return argc > 1 ? atol(argv[1]) : dflt; }

#endif
