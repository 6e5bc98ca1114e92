/* alua_interrupt, the host's Ctrl+C: from a signal handler (here SIGALRM,
 * as a host's own SIGINT handler would call it) and from another thread. */
#include <criterion/criterion.h>
#include <lualib.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "alua.h"

static lua_State *target;

static void on_alarm(int sig) {
  (void)sig;
  alua_interrupt(target);
}

/* Calls alua_interrupt(L) from SIGALRM after `ms` milliseconds. */
static void interrupt_after(lua_State *L, int ms) {
  target = L;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {.it_value = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000}};
  setitimer(ITIMER_REAL, &it, NULL);
}

/* Runs the chunk and returns what it returned (a string), or its error. */
static const char *run(lua_State *L, const char *code) {
  int status = alua_loadbufferx(L, code, strlen(code), "=test", NULL);
  cr_assert_eq(status, LUA_OK, "%s", lua_tostring(L, -1));
  status = lua_pcall(L, 0, 1, 0);
  if (status != LUA_OK) {
    luaL_tolstring(L, -1, NULL);
    return lua_tostring(L, -1);
  }
  return lua_tostring(L, -1);
}

Test(interrupt, plain_state) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  interrupt_after(L, 50);
  cr_assert_str_eq(run(L, "local ok, e = pcall(function() while true do end end) return e"), "interrupted!");
  lua_close(L);
}

Test(interrupt, plain_code) {
  lua_State *L = alua_newstate();
  interrupt_after(L, 50);
  cr_assert_str_eq(run(L, "local ok, e = pcall(function() while true do end end) return e"), "interrupted!");
  alua_close(L);
}

static const char *waiting_main =
    "local log = {}\n"
    "local ok, e = pcall(asyncio.run, async function()\n"
    "  local _ <close> = setmetatable({}, {__close = function(_, e) log[#log + 1] = tostring(e) end})\n"
    "  await asyncio.sleep(10)\n"
    "end)\n"
    "return table.concat(log, ',') .. ' ' .. tostring(e)";

Test(interrupt, cancels_the_main_task) {
  lua_State *L = alua_newstate();
  interrupt_after(L, 50);
  cr_assert_str_eq(run(L, waiting_main), "CancelledError KeyboardInterrupt");
  alua_close(L);
}

Test(interrupt, stops_a_main_task_that_never_yields) {
  lua_State *L = alua_newstate();
  interrupt_after(L, 50);
  const char *code =
      "local ok, e = pcall(asyncio.run, function() while true do end end)\n"
      "return tostring(e)";
  cr_assert_str_eq(run(L, code), "KeyboardInterrupt");
  alua_close(L);
}

static void *interrupt_thread(void *ud) {
  struct timespec ts = {0, 50000000};
  nanosleep(&ts, NULL);
  alua_interrupt(ud);
  return NULL;
}

Test(interrupt, from_another_thread) {
  lua_State *L = alua_newstate();
  pthread_t th;
  pthread_create(&th, NULL, interrupt_thread, L);
  cr_assert_str_eq(run(L, waiting_main), "CancelledError KeyboardInterrupt");
  pthread_join(th, NULL);
  alua_close(L);
}
