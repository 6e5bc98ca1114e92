/* The interactive prompt: reads a statement (more lines while Lua reports an
 * incomplete chunk), tries it first as an expression to print its values,
 * and runs it; `await` at the prompt runs the loop until the awaited thing is
 * done. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "alua.h"
#include "cli/cli.h"

#define PROMPT "> "
#define PROMPT2 ">> "
#define EOFMARK "<eof>"

/* Reads one line with the prompt; pushes it (without the newline). */
static int readline_push(lua_State *L, const char *prompt) {
  char *line = readline(prompt);
  if (!line) return 0;
  lua_pushstring(L, line);
  free(line);
  return 1;
}

/* True when the status and message say the chunk just ended too early. */
static int incomplete(lua_State *L, int status) {
  if (status != LUA_ERRSYNTAX) return 0;
  size_t len;
  const char *msg = lua_tolstring(L, -1, &len);
  size_t marklen = sizeof EOFMARK - 1;
  if (len >= marklen && strcmp(msg + len - marklen, EOFMARK) == 0) {
    lua_pop(L, 1);
    return 1;
  }
  return 0;
}

/* Tries "return <line>" so that expressions print their values. */
static int addreturn(lua_State *L) {
  const char *line = lua_tostring(L, -1);
  const char *retline = lua_pushfstring(L, "return %s;", line);
  int status = alua_loadbufferx(L, retline, strlen(retline), "=stdin", "t");
  if (status == LUA_OK) {
    lua_remove(L, -2);
    if (line[0] != '\0') add_history(line);
  } else {
    lua_pop(L, 2);
  }
  return status;
}

/* Adds more lines until the chunk is complete or wrong. */
static int multiline(lua_State *L) {
  for (;;) {
    size_t len;
    const char *line = lua_tolstring(L, 1, &len);
    int status = alua_loadbufferx(L, line, len, "=stdin", "t");
    if (!incomplete(L, status) || !readline_push(L, PROMPT2)) {
      add_history(line);
      return status;
    }
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_concat(L, 3);
  }
}

/* Reads and compiles one statement; leaves the chunk on the stack. -1 at
 * end of input. */
static int loadline(lua_State *L) {
  lua_settop(L, 0);
  if (!readline_push(L, PROMPT)) return -1;
  if (lua_tostring(L, 1)[0] == '=') {
    /* "=expr" as in Lua 5.4 */
    lua_pushfstring(L, "%s", lua_tostring(L, 1) + 1);
    lua_replace(L, 1);
  }
  int status = addreturn(L);
  if (status != LUA_OK) status = multiline(L);
  lua_remove(L, 1);
  return status;
}

/* Prints every value left on the stack, as `print` does. */
static void printvalues(lua_State *L) {
  int n = lua_gettop(L);
  if (n == 0) return;
  luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
  lua_getglobal(L, "print");
  lua_insert(L, 1);
  if (lua_pcall(L, n, 0, 0) != LUA_OK)
    cli_message(lua_pushfstring(L, "error calling 'print' (%s)", lua_tostring(L, -1)));
}

void cli_repl(lua_State *L) {
  int status;
  rl_readline_name = "alua";
  while ((status = loadline(L)) != -1) {
    if (status == LUA_OK) status = cli_docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK) printvalues(L);
    else cli_report(L, status);
  }
  lua_settop(L, 0);
  fputc('\n', stdout);
  fflush(stdout);
}
