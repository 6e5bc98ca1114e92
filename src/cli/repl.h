/* The pieces of the interactive prompt (repl.c drives them): output that
 * keeps the prompt intact (term.c), tab completion (complete.c), the
 * history file (history.c), how values are shown (inspect.c) and `help`
 * (help.c). All of them run on the main thread. */
#ifndef ALUA_CLI_REPL_H
#define ALUA_CLI_REPL_H

#include <lua.h>

/* -- term.c -- */
/* Routes stdout and stderr (C's and Lua's io.stdout / io.stderr) through
 * streams that, while readline shows a prompt, clear the prompt line before
 * writing. Readline itself keeps writing to the real stdout. Does nothing
 * unless stdout is a terminal. */
void cli_term_install(lua_State *L);
/* Puts the real streams back (flushing ours first). */
void cli_term_restore(lua_State *L);
/* Tells whether readline shows the prompt and the input line now. */
void cli_term_set_prompt_visible(int visible);
/* Flushes stdout; if output cleared the prompt, draws the prompt and the
 * partial input again below it. Called after every loop pass. */
void cli_term_refresh(void);

/* -- complete.c -- */
/* Installs tab completion of globals, fields and methods, looked up in L's
 * globals without calling any function or metamethod. */
void cli_complete_init(lua_State *L);

/* -- history.c -- */
/* Loads the history file: $ALUA_HISTORY (empty: no file), else
 * ~/.alua_history. */
void cli_history_load(void);
/* Adds a statement (which may span lines) and appends it to the file. */
void cli_history_add(const char *entry);
/* Trims the file to the kept number of entries and frees the path. */
void cli_history_close(void);

/* -- inspect.c -- */
/* Pushes how the prompt shows the value at idx (a string as it is, a table
 * as a constructor, anything else as tostring shows it); returns LUA_OK,
 * or an error status with the message pushed instead. */
int cli_inspect(lua_State *L, int idx);

/* -- help.c, and the entries generated from docs/api.md -- */
/* One entry of the API reference. Its strings are offsets into
 * cli_help_strings (CLI_HELP_STR(e->title) is the title), not pointers: a
 * table of pointers would be relocated, so copied, at every start. */
struct cli_help_entry {
  unsigned section; /* the heading it is under */
  unsigned names;   /* what finds it, space-separated: "asyncio.sleep", "loop:time" */
  unsigned also;    /* methods its text shows ("q:put"): they find it too */
  unsigned title;   /* its signatures */
  unsigned summary; /* the first clause of its text */
  unsigned text;    /* its text */
};
extern const struct cli_help_entry cli_help_entries[];
extern const int cli_help_count;
/* The entries' strings, each ended by a NUL. */
extern const char cli_help_strings[];
#define CLI_HELP_STR(offset) (cli_help_strings + (offset))
/* Sets the global `help` (unless the program set one): printed, it lists
 * the entries; help(x) prints the entry of x (an asyncio function, method,
 * object, or a name as a string). */
void cli_help_install(lua_State *L);

#endif
