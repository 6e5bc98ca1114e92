/* The host owns the loop: alua_fd, alua_timeout_ms, alua_step, alua_post,
 * alua_pcallmain and the ordered alua_close, checked through alua.h alone. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alua.h"
#include "check.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Loads and runs src as a main chunk; fails the test on an error. */
static void run(lua_State *L, const char *src) {
  int st = alua_loadbufferx(L, src, strlen(src), "=test", NULL);
  CHECK(st == LUA_OK, "load: %s", lua_tostring(L, -1));
  st = alua_pcallmain(L, 0, 0);
  CHECK(st == LUA_OK, "run: %s", lua_tostring(L, -1));
}

static const char *global_string(lua_State *L, const char *name) {
  lua_getglobal(L, name);
  const char *s = lua_tostring(L, -1);
  lua_pop(L, 1);
  return s ? s : "(nil)";
}

static void posted_nothing(lua_State *L, void *ud) { (void)L, (void)ud; }

/* Drives L from a poll() loop on alua_fd until it is idle; returns the
 * number of times poll returned. */
static int drive(lua_State *L) {
  int fd = alua_fd(L);
  CHECK(fd >= 0, "alua_fd: %d", fd);
  int wakeups = 0;
  for (;;) {
    int rc = alua_step(L, 0);
    CHECK(rc >= 0, "alua_step: %d", rc);
    if (rc == ALUA_IDLE) return wakeups;
    int timeout = alua_timeout_ms(L);
    if (timeout != 0) {
      struct pollfd p = {.fd = fd, .events = POLLIN};
      poll(&p, 1, timeout);
      wakeups++;
    }
  }
}

/* A sleep costs a handful of wake-ups, not one per millisecond. */
static void test_poll_sleep(void) {
  lua_State *L = alua_newstate();
  CHECK(alua_fd(L) >= 0, "alua_fd");
  CHECK(alua_timeout_ms(L) == -1, "nothing scheduled: %d", alua_timeout_ms(L));
  run(L, "log = 'start'\n"
         "asyncio.create_task(function() await asyncio.sleep(0.05) log = log .. ' slept' end)\n");
  CHECK(strcmp(global_string(L, "log"), "start") == 0, "the host drives: the task has not run yet");
  CHECK(alua_timeout_ms(L) == 0, "a task is ready: %d", alua_timeout_ms(L));
  double t0 = now_ms();
  int wakeups = drive(L);
  double elapsed = now_ms() - t0;
  CHECK(strcmp(global_string(L, "log"), "start slept") == 0, "log: %s", global_string(L, "log"));
  CHECK(elapsed >= 49, "woke early: %.1f ms", elapsed);
  CHECK(wakeups <= 5, "%d wake-ups for one sleep", wakeups);
  CHECK(alua_step(L, 0) == ALUA_IDLE, "still idle");
  alua_close(L);
  printf("poll sleep: ok (%d wake-ups)\n", wakeups);
}

/* alua_fd stays the same when Lua code closes the loop: the new default
 * loop's events make it readable. */
static void test_fd_stable(void) {
  lua_State *L = alua_newstate();
  int fd = alua_fd(L);
  CHECK(fd >= 0, "alua_fd");
  run(L, "asyncio.get_event_loop():close()\n"
         "asyncio.create_task(function() await asyncio.sleep(0.02) done = true end)\n");
  CHECK(alua_fd(L) == fd, "the same descriptor: %d, then %d", fd, alua_fd(L));
  int wakeups = drive(L);
  lua_getglobal(L, "done");
  CHECK(lua_toboolean(L, -1), "the task on the new loop ran");
  lua_pop(L, 1);
  CHECK(wakeups <= 4, "%d wake-ups", wakeups);
  /* a post wakes the descriptor of the new loop */
  CHECK(alua_post(L, posted_nothing, NULL) == 0, "post");
  struct pollfd p = {.fd = fd, .events = POLLIN};
  CHECK(poll(&p, 1, 2000) == 1, "the descriptor is readable after a post");
  CHECK(alua_step(L, 0) >= 0, "step");
  alua_close(L);
  printf("fd stable: ok\n");
}

/* A bound on alua_step: it returns when the bound passes, or earlier for a
 * timer. */
static void test_step_bounds(void) {
  lua_State *L = alua_newstate();
  CHECK(alua_fd(L) >= 0, "alua_fd");
  double t0 = now_ms();
  CHECK(alua_step(L, 30) == ALUA_IDLE, "idle");
  double waited = now_ms() - t0;
  CHECK(waited >= 29 && waited < 1000, "waited %.1f ms for a 30 ms bound", waited);
  run(L, "asyncio.get_event_loop():call_later(0.01, function() fired = true end)");
  t0 = now_ms();
  while (alua_step(L, 1000) == ALUA_MORE) {
  }
  waited = now_ms() - t0;
  lua_getglobal(L, "fired");
  CHECK(lua_toboolean(L, -1), "the timer fired");
  lua_pop(L, 1);
  CHECK(waited >= 9 && waited < 500, "waited %.1f ms for a 10 ms timer", waited);
  alua_close(L);
  printf("step bounds: ok\n");
}

/* A callback may not step the loop. */
static int l_step(lua_State *L) {
  lua_pushinteger(L, alua_step(L, 0));
  return 1;
}

static void test_reentrancy(void) {
  lua_State *L = alua_newstate();
  lua_register(L, "step", l_step);
  CHECK(alua_fd(L) >= 0, "alua_fd");
  run(L, "asyncio.get_event_loop():call_soon(function() inside = step() end)\n"
         "outside = step()\n");
  drive(L);
  lua_getglobal(L, "inside");
  CHECK(lua_tointeger(L, -1) == -EBUSY, "inside a callback: %s", lua_tostring(L, -1));
  lua_getglobal(L, "outside");
  CHECK(lua_tointeger(L, -1) == ALUA_IDLE, "outside the loop: %s", lua_tostring(L, -1));
  lua_pop(L, 2);
  alua_close(L);
  printf("reentrancy: ok\n");
}

/* alua_post from other threads, while the host sleeps in alua_step. */
static pthread_t loop_thread;

struct poster {
  lua_State *L;
  int count;
};

static void posted(lua_State *L, void *ud) {
  CHECK(L != NULL, "posted with a NULL state while the state is open");
  CHECK(pthread_equal(pthread_self(), loop_thread), "posted function on another thread");
  lua_getglobal(L, "received");
  lua_Integer n = lua_tointeger(L, -1);
  lua_pop(L, 1);
  lua_pushinteger(L, n * 10 + (intptr_t)ud);
  lua_setglobal(L, "received");
}

static void *post_thread(void *arg) {
  struct poster *p = arg;
  for (int i = 1; i <= p->count; i++) {
    usleep(2000);
    CHECK(alua_post(p->L, posted, (void *)(intptr_t)i) == 0, "alua_post");
  }
  return NULL;
}

static int dropped;

static void dropped_fn(lua_State *L, void *ud) {
  CHECK(L == NULL, "a function posted after the last pass runs with L == NULL");
  dropped += (int)(intptr_t)ud;
}

static void raising(lua_State *L, void *ud) {
  (void)ud;
  luaL_error(L, "raised in a posted function");
}

static void test_post(void) {
  lua_State *L = alua_newstate();
  loop_thread = pthread_self();
  struct poster p = {L, 3};
  pthread_t th;
  pthread_create(&th, NULL, post_thread, &p);
  /* nothing is scheduled: each step sleeps until a post wakes it */
  double t0 = now_ms();
  while (1) {
    CHECK(alua_step(L, 5000) >= 0, "step");
    lua_getglobal(L, "received");
    lua_Integer n = lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (n == 123) break;
    CHECK(now_ms() - t0 < 4000, "posts did not arrive: %lld", (long long)n);
  }
  pthread_join(th, NULL);
  CHECK(alua_post(NULL, posted, NULL) == -EINVAL, "a state without asyncio");
  /* an error in a posted function goes to the exception handler */
  run(L, "asyncio.get_event_loop():set_exception_handler(function(loop, ctx) caught = ctx.message .. ': ' .. tostring(ctx.exception) end)");
  CHECK(alua_post(L, raising, NULL) == 0, "post");
  CHECK(alua_timeout_ms(L) == 0, "work was posted: %d", alua_timeout_ms(L));
  CHECK(alua_step(L, 0) >= 0, "step");
  CHECK(strstr(global_string(L, "caught"), "raised in a posted function") != NULL, "caught: %s", global_string(L, "caught"));
  /* posted too late: the state closes first, and fn frees its data */
  CHECK(alua_post(L, dropped_fn, (void *)(intptr_t)7) == 0, "post");
  alua_close(L);
  CHECK(dropped == 7, "a function still queued at alua_close is called with L == NULL");
  printf("post: ok\n");
}

/* alua_pcallmain: top-level await, tasks finish, the full report. */
static void test_pcallmain(void) {
  lua_State *L = alua_newstate();
  run(L, "order = {}\n"
         "asyncio.create_task(function() await asyncio.sleep(0.02) order[#order + 1] = 'task' end)\n"
         "order[#order + 1] = await asyncio.sleep(0.01, 'awaited')\n");
  lua_getglobal(L, "order");
  CHECK(luaL_len(L, -1) == 2, "the task finished inside alua_pcallmain: %d entries", (int)luaL_len(L, -1));
  lua_rawgeti(L, -1, 1);
  lua_rawgeti(L, -2, 2);
  CHECK(strcmp(lua_tostring(L, -2), "awaited") == 0 && strcmp(lua_tostring(L, -1), "task") == 0, "order");
  lua_pop(L, 3);
  /* results */
  const char *src = "return await asyncio.sleep(0, 1, 2, 3)";
  CHECK(alua_loadbufferx(L, src, strlen(src), "=results", NULL) == LUA_OK, "load");
  CHECK(alua_pcallmain(L, 0, LUA_MULTRET) == LUA_OK, "%s", lua_tostring(L, -1));
  CHECK(lua_gettop(L) == 3 && lua_tointeger(L, 3) == 3, "three results, got %d", lua_gettop(L));
  lua_settop(L, 0);
  /* arguments */
  src = "local a, b = ... return a + b";
  CHECK(alua_loadbufferx(L, src, strlen(src), "=args", NULL) == LUA_OK, "load");
  lua_pushinteger(L, 40);
  lua_pushinteger(L, 2);
  CHECK(alua_pcallmain(L, 2, 1) == LUA_OK && lua_tointeger(L, -1) == 42, "arguments");
  lua_settop(L, 0);
  /* an error through two tasks: message, both tasks, the main chunk */
  src = "local function inner() await asyncio.sleep(0) error('deep failure') end\n"
        "local function outer() await asyncio.create_task(inner, {name = 'inner'}) end\n"
        "await asyncio.create_task(outer, {name = 'outer'})\n";
  CHECK(alua_loadbufferx(L, src, strlen(src), "=chain", NULL) == LUA_OK, "load");
  CHECK(alua_pcallmain(L, 0, 0) == LUA_ERRRUN, "an error");
  const char *report = lua_tostring(L, -1);
  CHECK(report && lua_gettop(L) == 1, "one string");
  CHECK(strstr(report, "chain:1: deep failure") == report, "message first: %s", report);
  const char *a = strstr(report, "stack traceback (task 'inner'):");
  const char *b = strstr(report, "awaited by task 'outer':");
  const char *c = strstr(report, "awaited by the main chunk:");
  CHECK(a && b && c && a < b && b < c, "the chain: %s", report);
  lua_settop(L, 0);
  /* an error in a task left running fails the main chunk's end only through
   * the exception handler: the chunk itself succeeded */
  alua_close(L);
  printf("pcallmain: ok\n");
}

/* alua_close cancels what runs, lets it clean up, and runs nothing after. */
static char notes[1024];

static int l_note(lua_State *L) {
  strncat(notes, luaL_checkstring(L, 1), sizeof notes - strlen(notes) - 2);
  strcat(notes, "\n");
  return 0;
}

static void test_close(void) {
  lua_State *L = alua_newstate();
  lua_register(L, "note", l_note);
  CHECK(alua_fd(L) >= 0, "alua_fd");
  run(L, "asyncio.create_task(function()\n"
         "  local guard <close> = setmetatable({}, {__close = function() note('cleanup ran') end})\n"
         "  local ok, err = pcall(asyncio.await, asyncio.sleep(60))\n"
         "  note('cancelled: ' .. tostring(err))\n"
         "  await asyncio.sleep(0)\n"
         "  note('finished after cancellation')\n"
         "end)\n"
         "local other = asyncio.new_event_loop()\n"
         "other:create_task(function() local ok, err = pcall(asyncio.await, asyncio.sleep(60)) note('other loop: ' .. tostring(err)) end)\n"
         "other:run_until_complete(asyncio.sleep(0))\n"
         "other:call_soon(function() note('ready callback') end)\n"
         "other:call_later(60, function() note('never: a timer after close') end)\n");
  CHECK(alua_step(L, 0) == ALUA_MORE, "started");
  CHECK(notes[0] == '\0', "nothing yet: %s", notes);
  alua_close(L);
  CHECK(strcmp(notes, "cancelled: CancelledError\nfinished after cancellation\ncleanup ran\n"
                      "ready callback\nother loop: CancelledError\n") == 0, "notes:\n%s", notes);
  printf("close: ok\n");
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  test_poll_sleep();
  test_fd_stable();
  test_step_bounds();
  test_reentrancy();
  test_post();
  test_pcallmain();
  test_close();
  return 0;
}
