/* Pieces of the alua program shared between its files. */
#ifndef ALUA_CLI_H
#define ALUA_CLI_H

#include <stddef.h>

#include <lua.h>

/* A Lua file compiled into the program at build time (lib/embed.c writes
 * the table of the tutorial's files). */
typedef struct cli_embedded_file {
  const char *name;   /* module name, e.g. "tutorial.player" */
  const char *source; /* the chunk's bytecode */
  size_t len;         /* its length */
} cli_embedded_file;

/* Prints "PROGNAME: msg" to stderr, PROGNAME being argv[0]; in interactive
 * mode, just the message (as lua.c does). */
void cli_message(const char *msg);
/* Turns interactive mode on or off. */
void cli_set_interactive(int on);
/* Prints the error on top of the stack when status is not LUA_OK; returns status. */
int cli_report(lua_State *L, int status);
/* lua_pcall with the traceback-chain message handler; Ctrl+C interrupts
 * plain Lua code meanwhile, as in lua5.4. */
int cli_docall(lua_State *L, int narg, int nres);
/* Runs the default loop until the tasks started so far are done, then closes
 * it (reporting errors nobody retrieved). Returns a Lua status; an error is
 * left on the stack. */
int cli_finish_tasks(lua_State *L);
/* Ctrl+\ prints the task tree; --trace FILE and --timeline (found in
 * argv before the script at `script`) start recording. Returns a Lua
 * status; an error is left on the stack. */
int cli_observe_start(lua_State *L, char **argv, int script);
/* Writes the trace or prints the timeline being recorded, if any. */
int cli_observe_finish(lua_State *L);
/* The interactive prompt (repl.c): readline on a terminal, plain lines
 * otherwise; each statement runs as a task on the default loop, which keeps
 * running between statements. Returns at the end of input (Ctrl+D) after
 * cancelling the tasks still running and letting them finish. */
void cli_repl(lua_State *L);
/* What a line hook did with a line (see cli_repl_set_line_hook). */
enum { CLI_LINE_LUA, CLI_LINE_DONE, CLI_LINE_QUIT };
/* Installs (NULL: removes) a hook that sees the first line of each
 * statement before it is compiled: it returns CLI_LINE_LUA to let the
 * prompt compile the line as usual, CLI_LINE_DONE when it has handled the
 * line itself, CLI_LINE_QUIT to end the session. While one is installed the
 * prompt prints no banner: the program that installed it speaks first. The
 * tutorial's commands use it. */
void cli_repl_set_line_hook(int (*hook)(lua_State *L, const char *line));
/* alua --tutorial ARGS...: the lesson player (tutorial.c); argv holds the
 * arguments after --tutorial. Returns the exit status. */
int cli_tutorial(lua_State *L, int argc, char **argv);
/* --translate: prints the translation of a file; 0 on success (else the
 * error was reported). */
int cli_translate_file(lua_State *L, const char *path);

#endif
