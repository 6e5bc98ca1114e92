/* The interactive prompt (SPEC 4). One long-lived event loop runs the whole
 * session, driven as any host drives alua (alua.h): the prompt poll()s
 * standard input and the loop's descriptor (alua_fd), sleeping at most
 * alua_timeout_ms, then runs a pass with alua_step, so background tasks
 * keep running while the user types. Readline is used through its callback
 * interface: each readable byte is handed to rl_callback_read_char, which
 * calls on_line when a line is complete.
 *
 * A statement is read line by line until Lua stops reporting `<eof>`
 * (incomplete chunk); a first line that compiles as `return <line>` is an
 * expression whose values are printed (`=expr` too, as in Lua 5.4). The
 * compiled chunk runs as the state's main task (alua_start), so `await`
 * works at the prompt; while it runs, standard input is not read (what is
 * typed waits in the terminal) and Ctrl+C cancels it (alua_sigint's
 * prompt mode: a second Ctrl+C never stops the process). When standard input is not a terminal, statements
 * are read the same way without readline; the prompts and the lines read
 * are written to stdout, as lua5.4 (through readline) does with -i. At a
 * terminal without readline (cli_rl_load fails), the prompts are written
 * and the terminal's own line editing reads the lines.
 *
 * As in lua5.4, the prompts are the values of _PROMPT and _PROMPT2 when
 * set, through tostring; errors are shown without the program's name.
 * Values are shown as inspect.c renders them, through the global print. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alua.h"
#include "cli/cli.h"
#include "cli/repl.h"
#include "cli/rl.h"

#define PROMPT "> "
#define PROMPT2 ">> "
#define EOFMARK "<eof>"
#define CHUNKNAME "=stdin"

enum { READING, RUNNING };

/* Why a static: readline's line callback receives no user data. */
static struct {
  lua_State *L;        /* main thread, which runs the loop */
  int tty;             /* standard input is a terminal: prompts, no echo */
  int rl;              /* readline reads the lines (a terminal, and readline loaded) */
  int state;           /* READING a statement or RUNNING it */
  int quit;            /* leave once the current pass is over */
  int watching;        /* standard input is being watched */
  int loopfd;          /* alua_fd: readable when the loop has work */
  int wake[2];         /* self-pipe: signal handlers make poll() return */
  int sigint_old;      /* alua_sigint mode before the prompt took SIGINT */
  int report_old;      /* ALUA_OPT_REPORT_AT_ONCE before the prompt set it */
  char *code;          /* lines of the statement entered so far, or NULL */
  size_t codelen;      /* bytes in code */
  int was_eq;          /* its first line started with '=' (now "return ") */
  char *in;            /* without a terminal: bytes read, not yet handled */
  size_t inlen;        /* bytes in `in` */
  size_t incap;        /* bytes allocated for `in` */
  int in_eof;          /* without a terminal: standard input has ended */
  int prompted;        /* without a terminal: the prompt for the next line is out */
  volatile sig_atomic_t resized; /* SIGWINCH arrived */
  struct sigaction old_winch;    /* SIGWINCH disposition to restore */
} R;

static void show_prompt(void);

/* -- the line hook (the tutorial's commands) ---------------------------------- */

static int (*line_hook)(lua_State *L, const char *line);

void cli_repl_set_line_hook(int (*hook)(lua_State *L, const char *line)) { line_hook = hook; }

/* Offers the first line of a statement to the hook; true when the hook
 * took it (and maybe asked to quit). */
static int hooked_line(const char *line) {
  if (!line_hook) return 0;
  int what = line_hook(R.L, line);
  if (what == CLI_LINE_QUIT) R.quit = 1;
  return what != CLI_LINE_LUA;
}

/* -- prompts ------------------------------------------------------------------ */

/* Protected: tostring(_PROMPT) (or _PROMPT2 when the argument is true). */
static int p_prompt(lua_State *L) {
  lua_getglobal(L, lua_toboolean(L, 1) ? "_PROMPT2" : "_PROMPT");
  if (lua_isnil(L, -1)) return 0;
  luaL_tolstring(L, -1, NULL);
  return 1;
}

/* Pushes the prompt for the first line of a statement or the next one: the
 * default, or tostring of _PROMPT / _PROMPT2 (the default again if that
 * fails). */
static const char *push_prompt(lua_State *L, int continuation) {
  lua_pushcfunction(L, p_prompt);
  lua_pushboolean(L, continuation);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK || lua_type(L, -1) != LUA_TSTRING) {
    lua_pop(L, 1);
    lua_pushstring(L, continuation ? PROMPT2 : PROMPT);
  }
  return lua_tostring(L, -1);
}

/* Without a terminal: writes the prompt for the next line, once. */
static void write_prompt(void) {
  if (R.prompted) return;
  R.prompted = 1;
  fputs(push_prompt(R.L, R.code != NULL), stdout);
  lua_pop(R.L, 1);
  fflush(stdout);
}

/* -- the statement being entered ------------------------------------------ */

static void code_clear(void) {
  free(R.code);
  R.code = NULL;
  R.codelen = 0;
  R.was_eq = 0;
}

/* Appends a line (after a newline when there are lines already). */
static int code_append(const char *line) {
  size_t n = strlen(line);
  size_t need = R.codelen + n + 2;
  char *p = realloc(R.code, need);
  if (!p) return -1;
  if (R.code && R.codelen) p[R.codelen++] = '\n';
  memcpy(p + R.codelen, line, n + 1);
  R.codelen += n;
  R.code = p;
  return 0;
}

/* The statement as typed (for the history): "=x" rather than "return x". */
static void history_add_code(void) {
  if (!R.rl || !R.code) return;
  if (!R.was_eq) {
    cli_history_add(R.code);
    return;
  }
  size_t n = R.codelen - (sizeof "return " - 1) + 2;
  char *typed = malloc(n);
  if (!typed) return;
  snprintf(typed, n, "=%s", R.code + sizeof "return " - 1);
  cli_history_add(typed);
  free(typed);
}

/* Protected: compiles the string at 1; returns the chunk or the message,
 * and the status. */
static int p_load(lua_State *L) {
  size_t len;
  const char *s = lua_tolstring(L, 1, &len);
  int status = alua_loadbufferx(L, s, len, CHUNKNAME, "t");
  lua_pushinteger(L, status);
  return 2;
}

/* Compiles s: pushes the chunk (LUA_OK) or an error message. */
static int compile(lua_State *L, const char *s, size_t len) {
  lua_pushcfunction(L, p_load);
  lua_pushlstring(L, s, len);
  if (lua_pcall(L, 1, 2, 0) != LUA_OK) return LUA_ERRMEM;
  int status = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  return status;
}

/* True when the message on top says the chunk ended too early. */
static int incomplete(lua_State *L, int status) {
  if (status != LUA_ERRSYNTAX) return 0;
  size_t len;
  const char *msg = lua_tolstring(L, -1, &len);
  size_t marklen = sizeof EOFMARK - 1;
  return msg && len >= marklen && strcmp(msg + len - marklen, EOFMARK) == 0;
}

/* Compiles `return <line>` for a first line, so that an expression's values
 * get printed; pushes the chunk and returns 1, or pushes nothing. */
static int compile_expression(lua_State *L) {
  lua_pushfstring(L, "return %s;", R.code);
  size_t len;
  const char *s = lua_tolstring(L, -1, &len);
  int status = compile(L, s, len);
  lua_remove(L, -2);
  if (status == LUA_OK) return 1;
  lua_pop(L, 1);
  return 0;
}

/* Prints the error message on top (popped), as lua.c does. Unlike
 * cli_report, leaves the rest of the stack alone: the loop may be using it. */
static void report(lua_State *L) {
  const char *msg = lua_tostring(L, -1);
  cli_message(msg ? msg : lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, -1)));
  lua_settop(L, lua_gettop(L) - (msg ? 1 : 2));
}

/* Starts the chunk on top as the statement's task: the main task, named
 * 'stdin' (it takes no task number). */
static void start(lua_State *L) {
  if (alua_start(L, 0, "stdin") != 0) {
    report(L);
    return;
  }
  R.state = RUNNING;
}

/* Handles one line of input (without its newline); NULL is the end of
 * input. Leaves R.state RUNNING when a statement was started. */
static void handle_line(const char *line) {
  lua_State *L = R.L;
  int top = lua_gettop(L);
  if (!line) {
    if (!R.code || !R.rl) R.quit = 1;
    if (R.code) {
      /* the input ended inside a statement: show Lua's message; at a
       * terminal, a fresh prompt follows */
      int status = compile(L, R.code, R.codelen);
      history_add_code();
      code_clear();
      if (status != LUA_OK) report(L);
    }
    lua_settop(L, top);
    return;
  }
  int first = R.code == NULL;
  if (first && line[strspn(line, " \t\r")] == '\0') return; /* empty line */
  if (first && hooked_line(line)) {
    if (R.rl) cli_history_add(line);
    return;
  }
  if (first && line[0] == '=') {
    /* "=expr" as in Lua 5.4 */
    size_t n = strlen(line) + sizeof "return ";
    R.code = malloc(n);
    if (!R.code) return;
    snprintf(R.code, n, "return %s", line + 1);
    R.codelen = strlen(R.code);
    R.was_eq = 1;
  } else if (code_append(line) != 0) {
    cli_message("not enough memory");
    code_clear();
    return;
  }
  if (first && !R.was_eq && compile_expression(L)) {
    history_add_code();
    code_clear();
    start(L);
    lua_settop(L, top);
    return;
  }
  int status = compile(L, R.code, R.codelen);
  if (incomplete(L, status)) {
    lua_settop(L, top);
    return;
  }
  history_add_code();
  code_clear();
  if (status == LUA_OK) start(L);
  else report(L);
  lua_settop(L, top);
}

/* -- results -------------------------------------------------------------- */

/* Protected: print(...) with the values on the stack, each as inspect.c
 * renders it (tostring's if that fails). Through the global print, as
 * lua5.4 does, so a program's own print is used. */
static int p_print(lua_State *L) {
  int n = lua_gettop(L);
  for (int i = 1; i <= n; i++) {
    if (cli_inspect(L, i) != LUA_OK) {
      lua_pop(L, 1);
      luaL_tolstring(L, i, NULL);
    }
    lua_replace(L, i);
  }
  lua_getglobal(L, "print");
  lua_insert(L, 1);
  lua_call(L, n, 0);
  return 0;
}

/* Prints the n values on top (popped). */
static void print_values(lua_State *L, int n) {
  luaL_checkstack(L, LUA_MINSTACK, NULL);
  lua_pushcfunction(L, p_print);
  lua_insert(L, -n - 1);
  if (lua_pcall(L, n, 0, 0) != LUA_OK) {
    cli_message(lua_pushfstring(L, "error calling 'print' (%s)", luaL_tolstring(L, -1, NULL)));
    lua_pop(L, 2);
  }
}

/* Removes the suffix s from the string on top when it ends with it. */
static void strip_suffix(lua_State *L, const char *s) {
  size_t len, n = strlen(s);
  const char *str = lua_tolstring(L, -1, &len);
  if (len >= n && memcmp(str + len - n, s, n) == 0) {
    lua_pushlstring(L, str, len - n);
    lua_remove(L, -2);
  }
}

/* Protected: the report of the statement's error at 1, worded for the
 * prompt: its own frames read as in lua.c. */
static int p_statement_report(lua_State *L) {
  luaL_gsub(L, lua_tostring(L, 1), "\nstack traceback (task 'stdin'):", "\nstack traceback:");
  luaL_gsub(L, lua_tostring(L, -1), "\nawaited by task 'stdin':", "\nawaited by the statement:");
  /* headings left without frames */
  strip_suffix(L, "\nawaited by the statement:");
  strip_suffix(L, "\nstack traceback:");
  return 1;
}

/* When the statement's task is done: shows what it produced and prompts
 * for the next one. */
static void finish_statement(void) {
  lua_State *L = R.L;
  int top = lua_gettop(L);
  switch (alua_result(L, LUA_MULTRET)) {
  case ALUA_RUNNING:
    return;
  case LUA_OK:
    if (lua_gettop(L) > top) print_values(L, lua_gettop(L) - top);
    break;
  case LUA_ERRRUN:
    if (lua_type(L, -1) == LUA_TSTRING) {
      lua_pushcfunction(L, p_statement_report);
      lua_insert(L, -2);
      if (lua_pcall(L, 1, 1, 0) != LUA_OK && !lua_isstring(L, -1)) {
        lua_pop(L, 1);
        lua_pushliteral(L, "not enough memory");
      }
    }
    cli_message(lua_tostring(L, -1));
    break;
  case ALUA_INTERRUPTED:
    fputs("KeyboardInterrupt\n", stderr);
    fflush(stderr);
    break;
  default:
    break;
  }
  lua_settop(L, top);
  fflush(stdout);
  R.state = READING;
  show_prompt();
}

/* -- input ------------------------------------------------------------------ */

/* Standard input is polled while a statement is being read. */
static void watch_input(void) { R.watching = 1; }
static void unwatch_input(void) { R.watching = 0; }

/* readline's line callback: line is malloc'd, NULL at end of input
 * (Ctrl+D on an empty line). Readline has already left the terminal in its
 * normal mode and moved to a new line. */
static void on_line(char *line) {
  RL(rl_callback_handler_remove)();
  cli_term_set_prompt_visible(0);
  unwatch_input();
  handle_line(line);
  free(line);
  if (!R.quit && R.state == READING) show_prompt();
}

/* Without a terminal: hands the complete lines read so far to
 * handle_line until a statement starts, then the end of input. */
static void drain_input(void) {
  while (R.state == READING && !R.quit) {
    write_prompt();
    char *nl = R.inlen ? memchr(R.in, '\n', R.inlen) : NULL;
    if (!nl && !R.in_eof) return;
    if (!nl && R.inlen == 0) {
      /* the end: a new line after the last prompt, as lua5.4 leaves it */
      fputs("\n", stdout);
      fflush(stdout);
      R.prompted = 0;
      handle_line(NULL);
      return;
    }
    size_t n = nl ? (size_t)(nl - R.in) : R.inlen;
    char *line = malloc(n + 1);
    if (!line) {
      R.quit = 1;
      return;
    }
    memcpy(line, R.in, n);
    line[n] = '\0';
    size_t used = nl ? n + 1 : n;
    memmove(R.in, R.in + used, R.inlen - used);
    R.inlen -= used;
    if (!R.tty) {
      /* the line after its prompt, as readline echoes it */
      fputs(line, stdout);
      fputs("\n", stdout);
      fflush(stdout);
    }
    R.prompted = 0;
    handle_line(line);
    free(line);
  }
}

/* Without a terminal: reads what is there (stdin is readable, or a regular
 * file). */
static void read_input(void) {
  if (R.incap - R.inlen < 4096) {
    size_t cap = R.incap ? R.incap * 2 : 8192;
    char *p = realloc(R.in, cap);
    if (!p) {
      R.in_eof = 1;
      return;
    }
    R.in = p;
    R.incap = cap;
  }
  ssize_t n = read(STDIN_FILENO, R.in + R.inlen, R.incap - R.inlen);
  if (n > 0) R.inlen += (size_t)n;
  else if (n == 0 || (errno != EINTR && errno != EAGAIN)) R.in_eof = 1;
  if (R.in_eof) unwatch_input();
}

/* Standard input is readable (or a regular file, always). */
static void on_input(void) {
  if (R.rl) {
    /* output may have cleared the prompt in this pass: draw it first, so
     * that readline edits the line it thinks is shown */
    cli_term_refresh();
    RL(rl_callback_read_char)();
    return;
  }
  read_input();
  drain_input();
}

/* Prompts for a statement (or its next line) and watches standard input. */
static void show_prompt(void) {
  if (R.rl) {
    RL(rl_callback_handler_install)(push_prompt(R.L, R.code != NULL), on_line); /* readline copies it */
    lua_pop(R.L, 1);
    cli_term_set_prompt_visible(1);
    watch_input();
    return;
  }
  if (!R.in_eof) watch_input();
  drain_input();
}

/* -- Ctrl+C, window size ------------------------------------------------------ */

/* Ctrl+C at the prompt: drop the partial statement, show a fresh prompt. */
static void interrupt_prompt(void) {
  code_clear();
  if (!R.rl) {
    fputs("KeyboardInterrupt\n", stderr);
    fflush(stderr);
    R.prompted = 0;
    if (R.tty) write_prompt(); /* the terminal dropped the line being typed */
    return;
  }
  cli_term_refresh();
  RL(rl_callback_sigcleanup)(); /* an incremental search, a half-typed key sequence */
  RL(rl_point) = RL(rl_end);
  RL(rl_redisplay)();
  fputs("^C\n", RL(rl_outstream));
  fflush(RL(rl_outstream));
  RL(rl_free_line_state)();
  RL(rl_callback_handler_remove)();
  cli_term_set_prompt_visible(0);
  show_prompt();
}

static void on_winch(int sig) {
  (void)sig;
  int saved_errno = errno;
  R.resized = 1;
  if (R.wake[1] >= 0 && write(R.wake[1], "w", 1) < 0) {
    /* full: poll() returns anyway */
  }
  errno = saved_errno;
}

/* After every loop pass: Ctrl+C, resizes, the end of the statement, and
 * the prompt that output may have cleared. */
static void after_pass(void) {
  int stopped;
  /* a Ctrl+C while a statement runs cancels it (its main task); one that
   * found none while the statement was ending has nothing left to do */
  if (alua_interrupts(R.L, &stopped) && R.state != RUNNING) interrupt_prompt();
  if (stopped) {
    fputs(stopped == ALUA_STOPPED_TASK ? "KeyboardInterrupt: stopped a task that never yielded\n"
                                            : "KeyboardInterrupt: stopped a callback that never returned\n",
          stderr);
    fflush(stderr);
  }
  if (R.resized && R.state == READING) {
    /* while a statement runs, the new size waits for the next prompt */
    R.resized = 0;
    if (R.rl) RL(rl_resize_terminal)();
  }
  if (R.state == RUNNING) finish_statement();
  cli_term_refresh();
}

/* -- the session ---------------------------------------------------------------- */

static void setup_readline(lua_State *L) {
  RL(rl_readline_name) = "alua";
  RL(rl_instream) = stdin;
  RL(rl_outstream) = stdout; /* the real one: cli_term_install replaces stdout */
  RL(rl_catch_signals) = 0;  /* SIGINT is the prompt's (alua_sigint) */
  RL(rl_catch_sigwinch) = 0; /* handled here: readline only catches it while reading a key */
  RL(rl_change_environment) = 0;
  cli_complete_init(L);
  cli_history_load();
  cli_term_install(L);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_winch;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGWINCH, &sa, &R.old_winch);
}

static void teardown_readline(lua_State *L) {
  RL(rl_callback_handler_remove)();
  sigaction(SIGWINCH, &R.old_winch, NULL);
  cli_term_restore(L);
  cli_history_close();
}

/* asyncio makes its less used parts on first use, and pairs(asyncio) makes
 * them all: at the prompt they are made up front, so that completion,
 * help and printing the module show every name. */
static void make_module_whole(lua_State *L) {
  int top = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, "asyncio") == LUA_TTABLE && luaL_getmetafield(L, -1, "__pairs") != LUA_TNIL) {
    lua_insert(L, -2);
    lua_pcall(L, 1, 0, 0);
  }
  lua_settop(L, top);
}

/* Protected: cancels every unfinished task of the loop (asyncio.all_tasks
 * lists them first, because a cancellation may finish other tasks). */
static int p_cancel_all(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, "asyncio");
  lua_getfield(L, -1, "all_tasks");
  lua_call(L, 0, 1);
  int n = (int)luaL_len(L, -1);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    lua_getfield(L, -1, "cancel");
    lua_insert(L, -2);
    lua_call(L, 1, 0);
  }
  return 0;
}

/* Protected: pushes the number of unfinished tasks of the loop. */
static int p_count_tasks(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, "asyncio");
  lua_getfield(L, -1, "all_tasks");
  lua_call(L, 0, 1);
  lua_pushinteger(L, luaL_len(L, -1));
  return 1;
}

/* The unfinished tasks of the loop (0 if they cannot be counted). */
static int count_tasks(lua_State *L) {
  lua_pushcfunction(L, p_count_tasks);
  int n = lua_pcall(L, 0, 1, 0) == LUA_OK ? (int)lua_tointeger(L, -1) : 0;
  lua_pop(L, 1);
  return n;
}

/* Leaving: the tasks still running are cancelled, and the loop runs until
 * they are all done (their cleanup runs) or nothing can wake them. Returns
 * 0 or the negative errno of a failed pass. */
static int shutdown(lua_State *L) {
  if (count_tasks(L) == 0) return 0;
  lua_pushcfunction(L, p_cancel_all);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) lua_pop(L, 1);
  int rc;
  do {
    rc = alua_step(L, -1);
  } while (rc == ALUA_MORE && count_tasks(L) > 0);
  return rc < 0 ? rc : 0;
}

/* Sleeps until standard input (while it is watched), the loop's descriptor
 * or a signal handler's wake-up needs attention, or the loop's next timer
 * is due; reads standard input if it is readable. Returns 0, or a negative
 * errno. */
static int wait_input(lua_State *L) {
  struct pollfd p[3] = {
      {.fd = R.wake[0], .events = POLLIN},
      {.fd = R.loopfd, .events = POLLIN},
      {.fd = STDIN_FILENO, .events = POLLIN},
  };
  int rc = poll(p, R.watching ? 3 : 2, alua_timeout_ms(L));
  if (rc < 0) return errno == EINTR ? 0 : -errno;
  if (p[0].revents) {
    char buf[64];
    while (read(R.wake[0], buf, sizeof buf) > 0) {
    }
  }
  if (R.watching && p[2].revents) on_input();
  return 0;
}

void cli_repl(lua_State *L) {
  memset(&R, 0, sizeof R);
  R.L = L;
  R.tty = isatty(STDIN_FILENO);
  R.wake[0] = R.wake[1] = -1;
  R.loopfd = alua_fd(L);
  if (R.loopfd < 0 || pipe2(R.wake, O_NONBLOCK | O_CLOEXEC) != 0) {
    int err = R.loopfd < 0 ? -R.loopfd : errno;
    cli_message(lua_pushfstring(L, "cannot start the prompt: %s", strerror(err)));
    lua_pop(L, 1);
    return;
  }
  R.sigint_old = alua_sigint(L, ALUA_SIGINT_PROMPT);
  /* a background task that fails with nobody awaiting it is reported
   * above the prompt at once */
  R.report_old = alua_option(L, ALUA_OPT_REPORT_AT_ONCE, 1);
  cli_set_interactive(1);
  cli_help_install(L);
  make_module_whole(L);
  if (R.tty) {
    if (!line_hook) {
      fputs("Type help for what asyncio offers, help(asyncio.sleep) for one entry;\n"
            "alua --tutorial teaches async programming step by step. Ctrl+D leaves.\n",
            stdout);
      fflush(stdout);
    }
    R.rl = cli_rl_load();
    if (R.rl) setup_readline(L);
  }
  R.state = READING;
  show_prompt();
  while (!R.quit) {
    int rc = wait_input(L);
    if (rc >= 0) rc = alua_step(L, 0);
    if (rc < 0) {
      cli_message(lua_pushfstring(L, "event loop failed: %s", strerror(-rc)));
      lua_pop(L, 1);
      break;
    }
    after_pass();
  }
  unwatch_input();
  if (R.rl) teardown_readline(L);
  code_clear();
  free(R.in);
  R.in = NULL;
  fflush(stdout);
  /* Ctrl+D: the tasks still running are cancelled; their cleanup runs.
   * SIGINT is given back first, so that another Ctrl+C stops at once. */
  if (R.sigint_old >= 0) alua_sigint(L, R.sigint_old);
  int rc = shutdown(L);
  if (rc < 0) cli_message(lua_pushfstring(L, "event loop failed: %s", strerror(-rc)));
  if (R.report_old >= 0) alua_option(L, ALUA_OPT_REPORT_AT_ONCE, R.report_old);
  close(R.wake[0]);
  close(R.wake[1]);
  R.wake[0] = R.wake[1] = -1;
  cli_set_interactive(0);
}
