/* Output while the prompt waits: tasks keep running and printing, and their
 * lines must appear above the prompt without mangling what the user is
 * typing. stdout and stderr are replaced by stdio streams (fopencookie)
 * whose writes first clear the visible prompt line when readline shows one;
 * after the loop pass, cli_term_refresh draws the prompt and the partial
 * input again. Clearing lazily, at the first write, keeps an idle prompt
 * from flickering. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <lauxlib.h>

#include "cli/repl.h"
#include "cli/rl.h"

static int installed;       /* our streams are in place */
static FILE *real_out;      /* the process's stdout before (readline writes there) */
static FILE *real_err;      /* the process's stderr before */
static FILE *hooked_out;    /* what stdout is while installed */
static FILE *hooked_err;    /* what stderr is while installed */
static pthread_t owner;     /* thread of readline and the loop */
static int visible;         /* readline shows the prompt and input line */
static int hidden;          /* output cleared them: they must be drawn again */
static int at_bol = 1;      /* the last byte written ended a line */

/* Writes all of buf to fd, retrying short writes. */
static ssize_t write_all(int fd, const char *buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t w = write(fd, buf + done, n - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      return done ? (ssize_t)done : -1;
    }
    done += (size_t)w;
  }
  return (ssize_t)n;
}

/* True when buf[0..n) holds nothing but BEL characters. */
static int only_bells(const char *buf, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (buf[i] != '\a') return 0;
  return 1;
}

/* The streams' write function; the cookie is the descriptor. Other threads
 * (worker states printing) write straight through: readline is not theirs
 * to touch. */
static ssize_t hooked_write(void *cookie, const char *buf, size_t n) {
  int fd = (int)(intptr_t)cookie;
  if (n == 0) return 0;
  int mine = pthread_equal(pthread_self(), owner);
  /* readline rings the bell through stderr (an ambiguous Tab): that is not
   * output to show above the prompt, and clearing the line for it would
   * leave readline's idea of the screen wrong */
  if (mine && only_bells(buf, n)) return write_all(fd, buf, n);
  if (mine && visible && !hidden) {
    RL(rl_clear_visible_line)();
    fflush(RL(rl_outstream));
    hidden = 1;
    at_bol = 1;
  }
  ssize_t w = write_all(fd, buf, n);
  if (mine && w > 0) at_bol = buf[w - 1] == '\n';
  return w;
}

static FILE *open_hooked(int fd, int mode) {
  cookie_io_functions_t io = {.read = NULL, .write = hooked_write, .seek = NULL, .close = NULL};
  FILE *f = fopencookie((void *)(intptr_t)fd, "w", io);
  if (f) setvbuf(f, NULL, mode, BUFSIZ);
  return f;
}

/* Points the io library's standard file `name` at `to` if it uses `from`.
 * Its handles are luaL_Streams; io.write uses the default output, which is
 * io.stdout's own userdata unless the program changed it. */
static void swap_stream(lua_State *L, int io, const char *name, FILE *from, FILE *to) {
  lua_getfield(L, io, name);
  luaL_Stream *p = luaL_testudata(L, -1, LUA_FILEHANDLE);
  if (p && p->f == from) p->f = to;
  lua_pop(L, 1);
}

/* Swaps the FILE of io.stdout and io.stderr. Only raw accesses: it cannot
 * raise. */
static void swap_lua_streams(lua_State *L, FILE *out_from, FILE *out_to, FILE *err_from, FILE *err_to) {
  int top = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_istable(L, -1)) {
    lua_pushliteral(L, "io");
    lua_rawget(L, -2);
    if (lua_istable(L, -1)) {
      int io = lua_gettop(L);
      swap_stream(L, io, "stdout", out_from, out_to);
      swap_stream(L, io, "stderr", err_from, err_to);
    }
  }
  lua_settop(L, top);
}

void cli_term_install(lua_State *L) {
  if (installed || !isatty(STDOUT_FILENO)) return;
  owner = pthread_self();
  hooked_out = open_hooked(STDOUT_FILENO, _IOLBF);
  hooked_err = open_hooked(STDERR_FILENO, _IONBF);
  if (!hooked_out || !hooked_err) {
    if (hooked_out) fclose(hooked_out);
    if (hooked_err) fclose(hooked_err);
    hooked_out = hooked_err = NULL;
    return;
  }
  fflush(stdout);
  fflush(stderr);
  real_out = stdout;
  real_err = stderr;
  /* glibc documents stdout and stderr as assignable variables; Lua's print
   * and the C library's own messages write through them */
  stdout = hooked_out;
  stderr = hooked_err;
  swap_lua_streams(L, real_out, hooked_out, real_err, hooked_err);
  visible = hidden = 0;
  at_bol = 1;
  installed = 1;
}

void cli_term_restore(lua_State *L) {
  if (!installed) return;
  visible = hidden = 0;
  fflush(hooked_out);
  swap_lua_streams(L, hooked_out, real_out, hooked_err, real_err);
  stdout = real_out;
  stderr = real_err;
  fclose(hooked_out);
  fclose(hooked_err);
  hooked_out = hooked_err = NULL;
  installed = 0;
}

void cli_term_set_prompt_visible(int v) {
  visible = v;
  if (!v) hidden = 0;
}

void cli_term_refresh(void) {
  if (!installed) return;
  fflush(hooked_out);
  if (!hidden) return;
  hidden = 0;
  if (!at_bol) {
    /* the output ended mid-line: the prompt starts on a line of its own */
    fflush(real_out);
    write_all(STDOUT_FILENO, "\n", 1);
    at_bol = 1;
  }
  if (visible) {
    RL(rl_on_new_line)();
    RL(rl_redisplay)();
  }
}
