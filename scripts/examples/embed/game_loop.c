/* A game's frame loop at 60 Hz: each frame the host updates the world,
 * wakes the scripts that wait for the next frame, and gives alua one pass
 * that never blocks, alua_step(L, 0). Scripts are plain sequential code
 * that awaits frames (`await next_frame()`, a future the host completes)
 * and timers (`await asyncio.sleep(0.1)`), the way game scripting wants.
 *
 *   cc game_loop.c $(pkg-config --cflags --libs alua) -o game_loop
 *   ./game_loop
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <alua.h>

#define FRAME_NS (1000000000L / 60)
#define MAX_WAITERS 64

static long frame;                         /* number of the current frame */
static alua_future *waiters[MAX_WAITERS];  /* scripts waiting for the next frame */
static int nwaiters;
static int quit;                           /* a script asked to stop */

/* Pushes the frame number as the result of `await next_frame()`. */
static int push_frame(lua_State *L, void *ud) {
  if (!L) return 0; /* the waiting script was cancelled: nothing to free */
  lua_pushinteger(L, frame);
  return 1;
}

/* Lua: next_frame(): a future completed at the start of the next frame. */
static int l_next_frame(lua_State *L) {
  if (nwaiters == MAX_WAITERS) return luaL_error(L, "too many scripts waiting for a frame");
  waiters[nwaiters++] = alua_future_new(L);
  return 1;
}

static int l_quit(lua_State *L) {
  quit = 1;
  return 0;
}

static const char script[] =
    "-- a walker moves one step a frame until it reaches x = 5\n"
    "asyncio.create_task(function()\n"
    "  local x = 0\n"
    "  while x < 5 do\n"
    "    local f = await next_frame()\n"
    "    x = x + 1\n"
    "    print(string.format('frame %d: walker at x = %d', f, x))\n"
    "  end\n"
    "end)\n"
    "-- a timer: six frames of 16.7 ms make 0.1 s\n"
    "asyncio.create_task(function()\n"
    "  local start = await next_frame()\n"
    "  await asyncio.sleep(0.1)\n"
    "  local now = await next_frame()\n"
    "  print(string.format('0.1 s later: at least 6 frames passed: %s', now - start >= 6))\n"
    "  quit()\n"
    "end)\n";

int main(void) {
  lua_State *L = alua_newstate();
  if (!L) return 1;
  lua_register(L, "next_frame", l_next_frame);
  lua_register(L, "quit", l_quit);
  /* the host drives the loop from now on: alua_pcallmain below leaves the
   * script's tasks to the frames instead of running them to the end */
  alua_step(L, 0);
  if (alua_loadbufferx(L, script, strlen(script), "=script", NULL) != LUA_OK || alua_pcallmain(L, 0, 0) != LUA_OK) {
    fprintf(stderr, "game_loop: %s\n", lua_tostring(L, -1));
    return 1;
  }
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  while (!quit) {
    frame++;
    /* the world update would go here; then the scripts waiting for this
     * frame resume, in this frame's pass */
    int n = nwaiters;
    nwaiters = 0;
    for (int i = 0; i < n; i++) alua_future_complete(waiters[i], push_frame, NULL);
    int rc = alua_step(L, 0);
    if (rc < 0) break;
    /* render, then sleep until the next frame is due */
    next.tv_nsec += FRAME_NS;
    if (next.tv_nsec >= 1000000000L) {
      next.tv_nsec -= 1000000000L;
      next.tv_sec++;
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
  }
  printf("stopped after %s frames\n", frame >= 7 ? "7 or more" : "too few");
  /* scripts still waiting for a frame: alua_close cancels them, and the
   * host must still complete their handles */
  for (int i = 0; i < nwaiters; i++) alua_future_complete(waiters[i], push_frame, NULL);
  alua_close(L);
  return 0;
}
