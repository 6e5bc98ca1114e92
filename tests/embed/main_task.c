/* A host's main task and Ctrl+C, through alua.h alone: alua_start and
 * alua_result on a loop the host steps, alua_interrupts, alua_sigint,
 * alua_report, alua_option and alua_finish. */
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "alua.h"
#include "check.h"

/* Loads src and pushes the chunk; fails the test on a syntax error. */
static void load(lua_State *L, const char *src) {
  int st = alua_loadbufferx(L, src, strlen(src), "=test", NULL);
  CHECK(st == LUA_OK, "load: %s", lua_tostring(L, -1));
}

/* Steps L until the main task is done; returns alua_result's status with
 * the results (or the report) pushed. */
static int finish(lua_State *L, int nresults) {
  for (int i = 0; i < 1000; i++) {
    int rc = alua_step(L, 10);
    CHECK(rc >= 0, "alua_step: %d", rc);
    int st = alua_result(L, nresults);
    if (st != ALUA_RUNNING) return st;
  }
  CHECK(0, "the main task never finished");
  return -1;
}

static int contains(lua_State *L, int idx, const char *what) {
  const char *s = lua_tostring(L, idx);
  return s && strstr(s, what) != NULL;
}

/* Its values come back; a name takes no number from Task-N; asyncio.run
 * in it awaits its argument (the host owns the loop). */
static void test_values(void) {
  lua_State *L = alua_newstate();
  CHECK(alua_result(L, 0) == -1, "no main task yet");
  load(L, "local a, b = ...\n"
          "local other = asyncio.create_task(function() end)\n"
          "await asyncio.sleep(0.01)\n"
          "local inner = asyncio.run(function() await asyncio.sleep(0) return 'ran' end)\n"
          "return a + b, asyncio.current_task():get_name(), other:get_name(), inner\n");
  lua_pushinteger(L, 40);
  lua_pushinteger(L, 2);
  int top = lua_gettop(L) - 3;
  CHECK(alua_start(L, 2, "job") == 0, "alua_start: %s", lua_tostring(L, -1));
  CHECK(lua_gettop(L) == top, "alua_start pops the function and its arguments");
  CHECK(alua_result(L, LUA_MULTRET) == ALUA_RUNNING, "not run before a step");
  load(L, "return 1");
  CHECK(alua_start(L, 0, NULL) == -1, "one main task at a time");
  CHECK(contains(L, -1, "already"), "message: %s", lua_tostring(L, -1));
  lua_pop(L, 1);
  CHECK(finish(L, LUA_MULTRET) == LUA_OK, "status: %s", lua_tostring(L, -1));
  CHECK(lua_gettop(L) == top + 4, "4 results, got %d", lua_gettop(L) - top);
  CHECK(lua_tointeger(L, top + 1) == 42, "a + b");
  CHECK(strcmp(lua_tostring(L, top + 2), "job") == 0, "name: %s", lua_tostring(L, top + 2));
  CHECK(strcmp(lua_tostring(L, top + 3), "Task-1") == 0, "numbering: %s", lua_tostring(L, top + 3));
  CHECK(strcmp(lua_tostring(L, top + 4), "ran") == 0, "asyncio.run: %s", lua_tostring(L, top + 4));
  lua_settop(L, top);
  CHECK(alua_result(L, 0) == -1, "forgotten once collected");
  /* a fixed number of results */
  load(L, "return 1, 2, 3");
  CHECK(alua_start(L, 0, NULL) == 0, "alua_start");
  CHECK(finish(L, 1) == LUA_OK && lua_gettop(L) == top + 1 && lua_tointeger(L, -1) == 1, "nresults 1");
  lua_settop(L, top);
  alua_close(L);
  printf("values: ok\n");
}

/* An error comes back as the report: message and the task's traceback. */
static void test_error(void) {
  lua_State *L = alua_newstate();
  load(L, "local function inner() await asyncio.sleep(0) error('boom') end\n"
          "inner()\n");
  CHECK(alua_start(L, 0, "job") == 0, "alua_start");
  CHECK(finish(L, 0) == LUA_ERRRUN, "an error");
  CHECK(contains(L, -1, "test:1: boom"), "message: %s", lua_tostring(L, -1));
  CHECK(contains(L, -1, "stack traceback (task 'job'):"), "traceback: %s", lua_tostring(L, -1));
  CHECK(contains(L, -1, "in local 'inner'") || contains(L, -1, "inner"), "frames: %s", lua_tostring(L, -1));
  CHECK(!contains(L, -1, "awaited by the main chunk"), "no caller: %s", lua_tostring(L, -1));
  alua_close(L);
  printf("error: ok\n");
}

/* An interrupt cancels the main task: ALUA_INTERRUPTED; without a main
 * task it is the host's (alua_interrupts). */
static void test_interrupt(void) {
  lua_State *L = alua_newstate();
  load(L, "cleaned = false\n"
          "local ok, e = pcall(function() await asyncio.sleep(60) end)\n"
          "cleaned = true\n"
          "error(e, 0)\n");
  CHECK(alua_start(L, 0, NULL) == 0, "alua_start");
  CHECK(alua_step(L, 0) >= 0, "step");
  CHECK(alua_result(L, 0) == ALUA_RUNNING, "sleeping");
  alua_interrupt(L);
  CHECK(finish(L, 0) == ALUA_INTERRUPTED, "interrupted");
  CHECK(strcmp(lua_tostring(L, -1), "KeyboardInterrupt") == 0, "value: %s", lua_tostring(L, -1));
  lua_pop(L, 1);
  lua_getglobal(L, "cleaned");
  CHECK(lua_toboolean(L, -1), "the task's cleanup ran");
  lua_pop(L, 1);
  int stopped = -1;
  CHECK(alua_interrupts(L, &stopped) == 0 && stopped == 0, "the main task took it");
  /* nobody to cancel: the host's */
  alua_interrupt(L);
  alua_interrupt(L);
  CHECK(alua_step(L, 0) >= 0, "step");
  CHECK(alua_interrupts(L, NULL) == 2, "two presses for the host");
  CHECK(alua_interrupts(L, &stopped) == 0 && stopped == 0, "reset");
  alua_close(L);
  printf("interrupt: ok\n");
}

/* A main task nothing can wake is cancelled (its cleanup runs) and
 * reported as a deadlock. */
static void test_deadlock(void) {
  lua_State *L = alua_newstate();
  load(L, "local f = asyncio.Future()\n"
          "local ok, e = pcall(function() await f end)\n"
          "cleaned = true\n"
          "error(e, 0)\n");
  CHECK(alua_start(L, 0, NULL) == 0, "alua_start");
  CHECK(finish(L, 0) == LUA_ERRRUN, "a deadlock");
  CHECK(contains(L, -1, "deadlock"), "report: %s", lua_tostring(L, -1));
  lua_pop(L, 1);
  lua_getglobal(L, "cleaned");
  CHECK(lua_toboolean(L, -1), "the task's cleanup ran");
  alua_close(L);
  printf("deadlock: ok\n");
}

static sig_atomic_t raise_sigint;

static void on_alarm(int sig) {
  (void)sig;
  if (raise_sigint) raise(SIGINT);
}

static int interrupted;

/* A message handler: the report, and whether Ctrl+C made the error. */
static int msgh(lua_State *L) {
  interrupted = alua_report(L, 1, 1);
  return 1;
}

static int pcall_report(lua_State *L, const char *src) {
  lua_pushcfunction(L, msgh);
  load(L, src);
  interrupted = -1;
  int st = lua_pcall(L, 0, 0, -2);
  lua_remove(L, -2);
  return st;
}

static void sigint_handler(struct sigaction *sa) { sigaction(SIGINT, NULL, sa); }

/* alua_sigint takes SIGINT in a mode and gives it back; alua_report tells
 * Ctrl+C's errors from others. */
static void test_sigint_report(void) {
  lua_State *L = alua_newstate();
  struct sigaction sa;
  CHECK(alua_sigint(L, 7) == -1, "an unknown mode");
  CHECK(alua_sigint(L, ALUA_SIGINT_INTERRUPT) == ALUA_SIGINT_DEFAULT, "the first mode");
  sigint_handler(&sa);
  CHECK(sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN, "alua handles SIGINT");
  /* an ordinary error: the report */
  CHECK(pcall_report(L, "local function f() error('plain') end f()") == LUA_ERRRUN, "an error");
  CHECK(interrupted == 0, "not an interrupt");
  CHECK(contains(L, -1, "test:1: plain") && contains(L, -1, "stack traceback:"), "report: %s", lua_tostring(L, -1));
  lua_pop(L, 1);
  /* asyncio's KeyboardInterrupt */
  CHECK(pcall_report(L, "error(asyncio.KeyboardInterrupt())") == LUA_ERRRUN, "an error");
  CHECK(interrupted == 1 && strcmp(lua_tostring(L, -1), "KeyboardInterrupt") == 0, "KeyboardInterrupt");
  lua_pop(L, 1);
  /* a real Ctrl+C in plain code */
  struct sigaction al;
  memset(&al, 0, sizeof al);
  al.sa_handler = on_alarm;
  sigemptyset(&al.sa_mask);
  sigaction(SIGALRM, &al, NULL);
  raise_sigint = 1;
  struct itimerval it = {.it_value = {.tv_usec = 50000}};
  setitimer(ITIMER_REAL, &it, NULL);
  CHECK(pcall_report(L, "while true do end") == LUA_ERRRUN, "interrupted");
  CHECK(interrupted == 1, "Ctrl+C's error: %s", lua_tostring(L, -1));
  lua_pop(L, 1);
  /* the prompt's mode: presses are the host's, none stops the process */
  CHECK(alua_sigint(L, ALUA_SIGINT_PROMPT) == ALUA_SIGINT_INTERRUPT, "the mode it replaces");
  raise(SIGINT);
  raise(SIGINT);
  raise(SIGINT);
  CHECK(alua_step(L, 0) >= 0, "step");
  CHECK(alua_interrupts(L, NULL) == 3, "three presses");
  CHECK(alua_sigint(L, ALUA_SIGINT_DEFAULT) == ALUA_SIGINT_PROMPT, "back");
  sigint_handler(&sa);
  CHECK(sa.sa_handler == SIG_DFL, "the disposition found is back");
  CHECK(alua_sigint(L, ALUA_SIGINT_DEFAULT) == ALUA_SIGINT_DEFAULT, "twice is nothing");
  alua_close(L);
  printf("sigint and report: ok\n");
}

/* Loops made after ALUA_OPT_VIRTUAL_TIME is set run on virtual time. */
static void test_virtual_time(void) {
  lua_State *L = alua_newstate();
  CHECK(alua_option(L, ALUA_OPT_VIRTUAL_TIME, 1) == 0, "off by default");
  CHECK(alua_option(L, ALUA_OPT_VIRTUAL_TIME, -1) == 1, "reads it");
  CHECK(alua_option(L, 99, 1) == -1, "an unknown option");
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  load(L, "return asyncio.run(function() await asyncio.sleep(3600) return asyncio.get_running_loop():time() end)");
  CHECK(alua_pcallmain(L, 0, 1) == LUA_OK, "run: %s", lua_tostring(L, -1));
  clock_gettime(CLOCK_MONOTONIC, &t1);
  CHECK(lua_tonumber(L, -1) >= 3600 && lua_tonumber(L, -1) < 3601, "loop time %g", lua_tonumber(L, -1));
  CHECK(t1.tv_sec - t0.tv_sec < 5, "an hour took no real time");
  alua_close(L);
  printf("virtual time: ok\n");
}

/* ALUA_OPT_REPORT_AT_ONCE: a task that fails with nobody awaiting it is
 * reported at the end of that pass; the main task's error is not. */
static void test_report_at_once(void) {
  lua_State *L = alua_newstate();
  CHECK(alua_option(L, ALUA_OPT_REPORT_AT_ONCE, 1) == 0, "off by default");
  load(L, "reported = {}\n"
          "asyncio.get_event_loop():set_exception_handler(function(loop, ctx)\n"
          "  reported[#reported + 1] = ctx.message\n"
          "end)\n");
  CHECK(lua_pcall(L, 0, 0, 0) == LUA_OK, "handler: %s", lua_tostring(L, -1));
  load(L, "asyncio.create_task(function() error('lost') end)\n"
          "await asyncio.sleep(0.02)\n"
          "local seen = reported[1]\n"
          "error('main failed: ' .. tostring(seen), 0)\n");
  CHECK(alua_start(L, 0, NULL) == 0, "alua_start");
  CHECK(finish(L, 0) == LUA_ERRRUN, "the main task's error");
  CHECK(contains(L, -1, "main failed: Task exception was never retrieved"), "reported before the main task ended: %s",
        lua_tostring(L, -1));
  lua_pop(L, 1);
  for (int i = 0; i < 3; i++) alua_step(L, 0);
  lua_getglobal(L, "reported");
  CHECK(luaL_len(L, -1) == 1, "the main task's error is alua_result's alone: %d reports", (int)luaL_len(L, -1));
  lua_pop(L, 1);
  CHECK(alua_option(L, ALUA_OPT_REPORT_AT_ONCE, 0) == 1, "was on");
  alua_close(L);
  printf("report at once: ok\n");
}

/* alua_finish: after chunks that started tasks, the loop runs until they
 * are done and nothing else keeps the program alive (a call_later); a
 * deadlock is its error; a state that never used tasks has nothing to do. */
static void test_finish(void) {
  lua_State *L = alua_newstate();
  CHECK(alua_finish(L) == LUA_OK, "nothing to finish");
  load(L, "log = {}\n"
          "asyncio.create_task(function() await asyncio.sleep(0.01) log[#log + 1] = 'task' end)\n"
          "asyncio.get_event_loop():call_later(0.02, function() log[#log + 1] = 'handle' end)\n");
  CHECK(lua_pcall(L, 0, 0, 0) == LUA_OK, "chunk: %s", lua_tostring(L, -1));
  load(L, "asyncio.create_task(function() await asyncio.sleep(0) log[#log + 1] = 'second chunk' end)\n");
  CHECK(lua_pcall(L, 0, 0, 0) == LUA_OK, "chunk: %s", lua_tostring(L, -1));
  CHECK(alua_finish(L) == LUA_OK, "finish: %s", lua_tostring(L, -1));
  load(L, "return table.concat(log, ',')");
  CHECK(lua_pcall(L, 0, 1, 0) == LUA_OK, "log");
  CHECK(strcmp(lua_tostring(L, -1), "second chunk,task,handle") == 0, "order: %s", lua_tostring(L, -1));
  lua_pop(L, 1);
  load(L, "asyncio.create_task(function() await asyncio.Event():wait() end)");
  CHECK(lua_pcall(L, 0, 0, 0) == LUA_OK, "chunk: %s", lua_tostring(L, -1));
  CHECK(alua_finish(L) == LUA_ERRRUN && contains(L, -1, "deadlock"), "deadlock: %s", lua_tostring(L, -1));
  lua_pop(L, 1);
  alua_close(L);
  printf("finish: ok\n");
}

/* ALUA_OPT_SIGQUIT takes SIGQUIT over its default disposition only, and
 * gives the default back. */
static void test_sigquit_option(void) {
  lua_State *L = alua_newstate();
  struct sigaction sa;
  signal(SIGQUIT, SIG_DFL);
  CHECK(alua_option(L, ALUA_OPT_SIGQUIT, 1) == 0, "off by default");
  sigaction(SIGQUIT, NULL, &sa);
  CHECK(sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN, "installed");
  CHECK(alua_option(L, ALUA_OPT_SIGQUIT, 0) == 1, "was on");
  sigaction(SIGQUIT, NULL, &sa);
  CHECK(sa.sa_handler == SIG_DFL, "the default is back");
  /* a host's own handler stays */
  signal(SIGQUIT, SIG_IGN);
  alua_option(L, ALUA_OPT_SIGQUIT, 1);
  sigaction(SIGQUIT, NULL, &sa);
  CHECK(sa.sa_handler == SIG_IGN, "the host's disposition stays");
  alua_option(L, ALUA_OPT_SIGQUIT, 0);
  sigaction(SIGQUIT, NULL, &sa);
  CHECK(sa.sa_handler == SIG_IGN, "and is not taken away");
  signal(SIGQUIT, SIG_DFL);
  alua_close(L);
  printf("sigquit option: ok\n");
}

int main(void) {
  test_values();
  test_error();
  test_interrupt();
  test_deadlock();
  test_sigint_report();
  test_virtual_time();
  test_report_at_once();
  test_finish();
  test_sigquit_option();
  return 0;
}
