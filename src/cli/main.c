/* alua: the stand-alone interpreter. Follows lua5.4's command line (-e, -l,
 * -i, -v, -E, -W, -, --, the `arg` table, LUA_INIT), adds --translate and
 * --virtual-time, and
 * keeps the event loop running after the main chunk until the tasks it
 * started are done. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lualib.h>

#include "alua.h"
#include "cli/cli.h"
#include "lua/runtime/program.h"

static const char *progname = "alua";

void cli_message(const char *msg) {
  fprintf(stderr, "%s: %s\n", progname, msg);
  fflush(stderr);
}

/* Prints the error on top of the stack (a string or anything else). */
int cli_report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    if (!msg) {
      if (luaL_callmeta(L, -1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) msg = lua_tostring(L, -1);
      else msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, -1));
    }
    cli_message(msg);
    lua_settop(L, 0);
  }
  return status;
}

/* True when the value at idx is asyncio's KeyboardInterrupt. */
static int is_interrupt(lua_State *L, int idx) {
  if (!lua_istable(L, idx) || !lua_getmetatable(L, idx)) return 0;
  lua_getfield(L, -1, "type");
  int yes = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "KeyboardInterrupt") == 0;
  lua_pop(L, 2);
  return yes;
}

/* Set when the program ends with Ctrl+C: exit status 130, as a shell
 * reports a process stopped by SIGINT. */
static int interrupted;

/* Message handler: the error's message, the tasks it travelled through, and
 * this thread's traceback; a KeyboardInterrupt is reported without one. */
static int msghandler(lua_State *L) {
  extern void alua__push_error_report(lua_State * L, int erridx, lua_State *L1, int level);
  if (is_interrupt(L, 1)) {
    interrupted = 1;
    lua_pushliteral(L, "KeyboardInterrupt");
    return 1;
  }
  alua__push_error_report(L, 1, L, 1);
  return 1;
}

int cli_docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  int status = lua_pcall(L, narg, nres, base);
  lua_remove(L, base);
  return status;
}

static void print_usage(const char *badoption) {
  fprintf(stderr, "%s: ", progname);
  if (badoption[1] == 'e' || badoption[1] == 'l' || strcmp(badoption, "--translate") == 0 ||
      strcmp(badoption, "--trace") == 0)
    fprintf(stderr, "'%s' needs argument\n", badoption);
  else
    fprintf(stderr, "unrecognized option '%s'\n", badoption);
  fprintf(stderr,
          "usage: %s [options] [script [args]]\n"
          "Available options are:\n"
          "  -e stat          execute string 'stat'\n"
          "  -i               enter interactive mode after executing 'script'\n"
          "  -l mod           require library 'mod' into global 'mod'\n"
          "  -v               show version information\n"
          "  -E               ignore environment variables\n"
          "  -W               turn warnings on\n"
          "  --translate file print the plain Lua that 'file' translates to\n"
          "  --virtual-time   run event loops on virtual time: sleeps and timeouts\n"
          "                   take no real time\n"
          "  --trace file     record every task into 'file' (Chrome trace-event JSON)\n"
          "  --timeline       print a timeline of the tasks after the run\n"
          "  --               stop handling options\n"
          "  -                stop handling options and execute stdin\n",
          progname);
}

static void print_version(void) {
  printf("%s (%s)  asyncio for Lua\n", ALUA_VERSION, LUA_RELEASE);
  fflush(stdout);
}

/* Builds `arg`: script at 0, its arguments at 1.., interpreter options below. */
static void createargtable(lua_State *L, char **argv, int argc, int script) {
  if (script == argc) script = 0;
  lua_createtable(L, argc - script - 1, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK) status = cli_docall(L, 0, 0);
  return cli_report(L, status);
}

static int dostring(lua_State *L, const char *s, const char *name) {
  return dochunk(L, alua_loadbufferx(L, s, strlen(s), name, NULL));
}

static int dolibrary(lua_State *L, const char *name) {
  lua_getglobal(L, "require");
  lua_pushstring(L, name);
  int status = cli_docall(L, 1, 1);
  if (status == LUA_OK) lua_setglobal(L, name);
  return cli_report(L, status);
}

static int pushargs(lua_State *L) {
  if (lua_getglobal(L, "arg") != LUA_TTABLE) luaL_error(L, "'arg' is not a table");
  int n = (int)luaL_len(L, -1);
  luaL_checkstack(L, n + 3, "too many arguments to script");
  for (int i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
  lua_remove(L, -n - 1);
  return n;
}

static int handle_script(lua_State *L, char **argv) {
  const char *fname = argv[0];
  if (strcmp(fname, "-") == 0 && strcmp(argv[-1], "--") != 0) fname = NULL;
  int status = alua_loadfilex(L, fname, NULL);
  if (status == LUA_OK) {
    int n = pushargs(L);
    status = cli_docall(L, n, LUA_MULTRET);
  }
  return cli_report(L, status);
}

/* Option flags found by collectargs. */
#define has_error 1
#define has_i 2
#define has_v 4
#define has_e 8
#define has_E 16
#define has_vt 32

/* Scans options; returns flags and sets *first to the script's index. */
static int collectargs(char **argv, int *first) {
  int args = 0;
  int i;
  for (i = 1; argv[i] != NULL; i++) {
    *first = i;
    if (argv[i][0] != '-') return args;
    switch (argv[i][1]) {
    case '-':
      if (strcmp(argv[i], "--translate") == 0 || strcmp(argv[i], "--trace") == 0) {
        if (argv[i + 1] == NULL) return has_error;
        i++;
        continue;
      }
      if (strcmp(argv[i], "--virtual-time") == 0) {
        args |= has_vt;
        continue;
      }
      if (strcmp(argv[i], "--timeline") == 0) continue;
      if (argv[i][2] != '\0') return has_error;
      *first = i + 1;
      return args;
    case '\0':
      return args;
    case 'E':
      if (argv[i][2] != '\0') return has_error;
      args |= has_E;
      break;
    case 'W':
      if (argv[i][2] != '\0') return has_error;
      break;
    case 'i':
      args |= has_i; /* fallthrough: -i implies -v */
      /* FALLTHROUGH */
    case 'v':
      if (argv[i][2] != '\0') return has_error;
      args |= has_v;
      break;
    case 'e':
      args |= has_e; /* FALLTHROUGH */
    case 'l':
      if (argv[i][2] == '\0') {
        i++;
        if (argv[i] == NULL || argv[i][0] == '-') return has_error;
      }
      break;
    default:
      return has_error;
    }
  }
  *first = i;
  return args;
}

/* Runs -e, -l, -W and --translate in order. */
static int runargs(lua_State *L, char **argv, int n) {
  for (int i = 1; i < n; i++) {
    int option = argv[i][1];
    switch (option) {
    case 'e':
    case 'l': {
      const char *extra = argv[i] + 2;
      if (*extra == '\0') extra = argv[++i];
      int status = option == 'e' ? dostring(L, extra, "=(command line)") : dolibrary(L, extra);
      if (status != LUA_OK) return 0;
      break;
    }
    case 'W':
      lua_warning(L, "@on", 0);
      break;
    case '-':
      if (strcmp(argv[i], "--translate") == 0) {
        if (cli_translate_file(L, argv[++i]) != 0) return 0;
      }
      break;
    }
  }
  return 1;
}

static int handle_luainit(lua_State *L) {
  const char *name = "=LUA_INIT_5_4";
  const char *init = getenv(name + 1);
  if (init == NULL) {
    name = "=LUA_INIT";
    init = getenv(name + 1);
  }
  if (init == NULL) return LUA_OK;
  if (init[0] == '@') return dochunk(L, alua_loadfilex(L, init + 1, NULL));
  return dostring(L, init, name);
}

/* The main program, run protected. */
static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = (char **)lua_touserdata(L, 2);
  int script = 0;
  int args = collectargs(argv, &script);
  luaL_checkversion(L);
  if (args == has_error) {
    print_usage(argv[script]);
    return 0;
  }
  if (args & has_v) print_version();
  if (args & has_E) {
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  }
  luaL_openlibs(L);
  alua_openlibs(L);
  if (args & has_vt) alua__set_virtual_time(L, 1);
  if (cli_observe_start(L, argv, script) != LUA_OK) return 0;
  createargtable(L, argv, argc, script);
  lua_gc(L, LUA_GCGEN, 0, 0);
  if (!(args & has_E) && handle_luainit(L) != LUA_OK) return 0;
  if (!runargs(L, argv, script)) return 0;
  if (script < argc && handle_script(L, argv + script) != LUA_OK) return 0;
  if (args & has_i) {
    cli_repl(L);
  } else if (script == argc && !(args & (has_e | has_v)) && !cli_has_translate(argv, argc)) {
    if (isatty(0)) {
      print_version();
      cli_repl(L);
    } else {
      if (dochunk(L, alua_loadfilex(L, NULL, NULL)) != LUA_OK) return 0;
    }
  }
  /* like Node: tasks the program started finish before exit */
  if (cli_report(L, cli_finish_tasks(L)) != LUA_OK) return 0;
  lua_pushboolean(L, 1);
  return 1;
}

int main(int argc, char **argv) {
  lua_State *L = alua_newrawstate();
  if (L == NULL) {
    cli_message("cannot create state: not enough memory");
    return EXIT_FAILURE;
  }
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  int status = lua_pcall(L, 2, 1, 0);
  int result = lua_toboolean(L, -1);
  cli_report(L, status);
  if (cli_report(L, cli_observe_finish(L)) != LUA_OK) result = 0;
  int code = (result && status == LUA_OK) ? EXIT_SUCCESS : interrupted ? 130 : EXIT_FAILURE;
  alua_close(L);
  return code;
}
