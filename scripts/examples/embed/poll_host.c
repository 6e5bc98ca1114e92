/* A host with its own poll() loop: it watches standard input and alua's
 * descriptor together, hands every line it reads to the script's
 * on_line(line), and sleeps in poll() for at most what alua_timeout_ms
 * allows. At the end of input it calls on_eof() and runs until the script
 * has nothing left to do, then says how many times poll() woke up.
 *
 *   cc poll_host.c $(pkg-config --cflags --libs alua) -o poll_host
 *   printf 'one\ntwo\n' | ./poll_host poll_sleep.lua
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <alua.h>

/* Calls the global function `name` with the string s (or nothing), if the
 * script defined it. Errors are reported and the host goes on. */
static void call_script(lua_State *L, const char *name, const char *s) {
  if (lua_getglobal(L, name) != LUA_TFUNCTION) {
    lua_pop(L, 1);
    return;
  }
  if (s) lua_pushstring(L, s);
  if (lua_pcall(L, s ? 1 : 0, 0, 0) != LUA_OK) {
    fprintf(stderr, "poll_host: %s\n", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s script.lua < input\n", argv[0]);
    return 2;
  }
  lua_State *L = alua_newstate();
  if (!L) return 1;
  /* The host drives the loop from here on: the script's tasks run in the
   * steps below, not inside alua_pcallmain. */
  int afd = alua_fd(L);
  if (afd < 0) {
    fprintf(stderr, "poll_host: alua_fd: %s\n", strerror(-afd));
    return 1;
  }
  if (alua_loadfilex(L, argv[1], NULL) != LUA_OK || alua_pcallmain(L, 0, 0) != LUA_OK) {
    fprintf(stderr, "poll_host: %s\n", lua_tostring(L, -1));
    alua_close(L);
    return 1;
  }

  char buf[4096];
  size_t have = 0;  /* bytes of an unfinished line in buf */
  int input_open = 1;
  int wakeups = 0;
  for (;;) {
    int rc = alua_step(L, 0); /* never blocks: poll() below does the waiting */
    if (rc < 0) {
      fprintf(stderr, "poll_host: alua_step: %s\n", strerror(-rc));
      break;
    }
    if (rc == ALUA_IDLE && !input_open) break; /* nothing can happen any more */

    struct pollfd fds[2] = {{.fd = afd, .events = POLLIN}, {.fd = STDIN_FILENO, .events = POLLIN}};
    int timeout = alua_timeout_ms(L); /* 0: work is ready, -1: wait for an event */
    if (timeout == 0) continue;
    if (poll(fds, input_open ? 2 : 1, timeout) < 0 && errno != EINTR) break;
    wakeups++;
    if (input_open && fds[1].revents) {
      ssize_t n = read(STDIN_FILENO, buf + have, sizeof buf - 1 - have);
      if (n <= 0) {
        input_open = 0;
        call_script(L, "on_eof", NULL);
        continue;
      }
      have += (size_t)n;
      char *start = buf, *nl;
      while ((nl = memchr(start, '\n', have - (size_t)(start - buf)))) {
        *nl = '\0';
        call_script(L, "on_line", start);
        start = nl + 1;
      }
      have -= (size_t)(start - buf);
      memmove(buf, start, have);
    }
  }
  fprintf(stderr, "poll_host: idle after %d wake-ups\n", wakeups);
  alua_close(L);
  return 0;
}
