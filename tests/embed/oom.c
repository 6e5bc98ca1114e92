/* The loaders and alua_pcallmain never raise, even out of memory: with an
 * allocator that fails from its Nth request on, for every N up to the
 * number of requests a whole call makes, each call returns a clean status
 * with a message, nothing crashes, and the state stays usable. Closing the
 * state at the end must give every byte back (the sanitizer build also
 * checks malloc). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lualib.h>

#include "alua.h"
#include "check.h"

/* Counts requests that need new memory and fails them from `fail_from` on
 * (0: never). Lua requires that shrinking never fails. */
typedef struct ctl {
  unsigned long requests; /* growing requests since the count was reset */
  unsigned long fail_from; /* first request to fail, 0 for none */
  size_t inuse;            /* bytes held by the state */
  unsigned long failed;    /* requests refused since the count was reset */
} ctl;

static void *alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  ctl *c = ud;
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    free(ptr);
    c->inuse -= old;
    return NULL;
  }
  if (nsize > old) {
    c->requests++;
    if (c->fail_from && c->requests >= c->fail_from) {
      c->failed++;
      return NULL;
    }
  }
  void *p = realloc(ptr, nsize);
  if (p) c->inuse += nsize - old;
  return p;
}

static const char chunk[] =
    "local async function twice(x) await asyncio.sleep(0) return 2 * x end\n"
    "local t = {}\n"
    "for i = 1, 3 do t[i] = asyncio.create_task(twice(i)) end\n"
    "local r = await asyncio.gather(table.unpack(t))\n"
    "return r[1] + r[2] + r[3]\n";

/* One kind of call under test: pushes exactly one value and returns a
 * status. */
typedef int (*call_fn)(lua_State *L, void *arg);

static int call_loadbuffer(lua_State *L, void *arg) {
  const char *src = arg;
  return alua_loadbufferx(L, src, strlen(src), "=chunk", NULL);
}

static int call_loadfile(lua_State *L, void *arg) { return alua_loadfilex(L, arg, NULL); }

/* Loads the chunk without failures, then runs it as a main chunk. */
static int call_pcallmain(lua_State *L, void *arg) {
  ctl *c = arg;
  unsigned long fail_from = c->fail_from;
  c->fail_from = 0;
  int st = alua_loadbufferx(L, chunk, sizeof chunk - 1, "=chunk", NULL);
  c->fail_from = fail_from;
  c->requests = 0;
  if (st != LUA_OK) return st;
  return alua_pcallmain(L, 0, 1);
}

/* Runs `call` with failures from the Nth request, for N = 1, 2, ... until a
 * run needs no failure; returns how many runs saw one. `ok` is the status
 * expected when nothing fails. */
static int sweep(lua_State *L, ctl *c, const char *what, call_fn call, void *arg, int ok) {
  int failing_runs = 0;
  for (unsigned long n = 1;; n++) {
    int top = lua_gettop(L);
    c->requests = 0;
    c->failed = 0;
    c->fail_from = n;
    int st = call(L, arg);
    unsigned long failed = c->failed;
    c->fail_from = 0;
    CHECK(lua_gettop(L) == top + 1, "%s, failing from request %lu: %d values pushed", what, n, lua_gettop(L) - top);
    if (failed == 0) {
      CHECK(st == ok, "%s without failures: status %d (%s)", what, st, lua_tostring(L, -1));
      lua_settop(L, top);
      return failing_runs;
    }
    failing_runs++;
    CHECK(st == LUA_ERRMEM || st == ok || (call == call_pcallmain && (st == LUA_ERRRUN || st == LUA_ERRERR)),
          "%s, failing from request %lu: status %d", what, n, st);
    if (st != ok)
      CHECK(lua_type(L, -1) == LUA_TSTRING, "%s: the error is a %s", what, luaL_typename(L, -1));
    lua_settop(L, top);
    lua_gc(L, LUA_GCCOLLECT);
  }
}

int main(void) {
  ctl c = {0};
  lua_State *L = lua_newstate(alloc, &c);
  CHECK(L != NULL, "no state");
  luaL_openlibs(L);
  alua_openlibs(L);

  char path[] = "/tmp/alua-oom-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0, "mkstemp");
  CHECK(write(fd, chunk, sizeof chunk - 1) == (ssize_t)(sizeof chunk - 1), "write");
  close(fd);

  int runs = sweep(L, &c, "alua_loadbufferx", call_loadbuffer, (void *)chunk, LUA_OK);
  CHECK(runs > 10, "alua_loadbufferx made only %d requests", runs);
  runs = sweep(L, &c, "alua_loadbufferx (syntax error)", call_loadbuffer, "async function f( end", LUA_ERRSYNTAX);
  CHECK(runs > 0, "no request failed");
  runs = sweep(L, &c, "alua_loadfilex", call_loadfile, path, LUA_OK);
  CHECK(runs > 10, "alua_loadfilex made only %d requests", runs);
  runs = sweep(L, &c, "alua_loadfilex (missing file)", call_loadfile, "/nonexistent/alua.lua", LUA_ERRFILE);
  CHECK(runs > 0, "no request failed");
  unlink(path);
  printf("loaders: ok\n");
  /* each run leaves its loop with nothing pending (the default loop closes
   * at the end of each main chunk) */
  runs = sweep(L, &c, "alua_pcallmain", call_pcallmain, &c, LUA_OK);
  CHECK(runs > 10, "alua_pcallmain made only %d requests", runs);
  printf("pcallmain: ok\n");

  /* the state still works */
  CHECK(alua_loadbufferx(L, chunk, sizeof chunk - 1, "=chunk", NULL) == LUA_OK, "%s", lua_tostring(L, -1));
  CHECK(alua_pcallmain(L, 0, 1) == LUA_OK, "%s", lua_tostring(L, -1));
  CHECK(lua_tointeger(L, -1) == 12, "result %s", lua_tostring(L, -1));
  lua_pop(L, 1);
  printf("afterwards: ok\n");

  alua_close(L);
  CHECK(c.inuse == 0, "%zu bytes still held after alua_close", c.inuse);
  printf("closed: ok\n");
  return 0;
}
