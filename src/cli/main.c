/* alua: the stand-alone interpreter. Follows lua5.4's command line (lua.c:
 * -e, -l, -i, -v, -E, -W, -, --, the `arg` table, LUA_INIT, messages that
 * start with the program's name as invoked), adds the long options of the
 * table below, and keeps the event loop running after the main chunk until
 * the tasks it started are done. The man page is docs/alua.1. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lualib.h>

#include "alua.h"
#include "cli/cli.h"

/* The program's name for messages: argv[0] as invoked, as lua.c has it. */
static const char *progname = "alua";
/* At the prompt, messages go without the name (as lua.c does). */
static int interactive;

void cli_message(const char *msg) {
  if (!interactive) fprintf(stderr, "%s: ", progname);
  fprintf(stderr, "%s\n", msg);
  fflush(stderr);
}

void cli_set_interactive(int on) { interactive = on; }

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

/* Set when the program ends with Ctrl+C: exit status 130, as a shell
 * reports a process stopped by SIGINT. */
static int interrupted;

/* The exit status when pmain returns false, if it is not the usual 1 (the
 * tutorial sets its own). */
static int exit_code;

/* Message handler: the error's message, the tasks it travelled through, and
 * this thread's traceback; a KeyboardInterrupt is reported without one, and
 * so are the errors Ctrl+C raised (a top-level await's cancellation, plain
 * code's "interrupted!"). */
static int msghandler(lua_State *L) {
  if (alua_report(L, 1, 1)) interrupted = 1;
  return 1;
}

/* lua_pcall with the message handler; while the chunk runs, Ctrl+C stops
 * plain Lua code as in lua.c (alua_sigint). */
int cli_docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  int old = alua_sigint(L, ALUA_SIGINT_INTERRUPT);
  int status = lua_pcall(L, narg, nres, base);
  if (old >= 0) alua_sigint(L, old);
  lua_remove(L, base);
  return status;
}

/* -- options ---------------------------------------------------------------- */

/* Option flags found by collectargs. */
#define has_error 1
#define has_i 2
#define has_v 4
#define has_e 8
#define has_E 16
#define has_help 32
#define has_action 64 /* a long option that is the program's work */
#define has_vt 128
#define has_tutorial 256 /* --tutorial: the rest of the line is the tutorial's */

/* The long options, in the order --help lists them. `flags` are set when
 * the option is found (has_action: the option is the program's work, so
 * without a script no prompt and no reading of stdin follow it); `run`, if
 * any, runs in command-line order with -e and -l (runargs). Keep
 * docs/alua.1 in step (tests/cli checks that every option listed here is
 * documented there). */
static const struct longopt {
  const char *name;  /* "--name" */
  const char *arg;   /* the argument's name in the usage, or NULL for none */
  const char *help;  /* for --help; '\n' starts a continuation line */
  int flags;         /* has_* bits it sets */
  int (*run)(lua_State *L, const char *arg); /* 0 on success, else reported */
} longopts[] = {
    {"--translate", "file", "print the plain Lua that 'file' translates to", has_action, cli_translate_file},
    {"--virtual-time", NULL, "run event loops on virtual time: sleeps and\ntimeouts take no real time", has_vt,
     NULL},
    {"--trace", "file", "record every task into 'file' (Chrome\ntrace-event JSON, opens in Perfetto)", 0, NULL},
    {"--timeline", NULL, "print a timeline of the tasks after the run", 0, NULL},
    {"--tutorial", "[lesson]", "start or resume the interactive tutorials\n(then also --lang en|zh, --check)",
     has_tutorial, NULL},
    {"--help", NULL, "show this help and exit", has_help, NULL},
};

static const struct longopt *find_longopt(const char *name) {
  for (size_t i = 0; i < sizeof longopts / sizeof *longopts; i++)
    if (strcmp(longopts[i].name, name) == 0) return &longopts[i];
  return NULL;
}

static void print_options(FILE *f) {
  fprintf(f,
          "usage: %s [options] [script [args]]\n"
          "Available options are:\n"
          "  -e stat           execute string 'stat'\n"
          "  -i                enter interactive mode after executing 'script'\n"
          "  -l mod            require library 'mod' into global 'mod'\n"
          "  -l g=mod          require library 'mod' into global 'g'\n"
          "  -v                show version information\n"
          "  -E                ignore environment variables\n"
          "  -W                turn warnings on\n"
          "  --                stop handling options\n"
          "  -                 stop handling options and execute stdin\n",
          progname);
  for (size_t i = 0; i < sizeof longopts / sizeof *longopts; i++) {
    char left[64];
    snprintf(left, sizeof left, "%s%s%s", longopts[i].name, longopts[i].arg ? " " : "",
             longopts[i].arg ? longopts[i].arg : "");
    const char *h = longopts[i].help;
    size_t n = strcspn(h, "\n");
    fprintf(f, "  %-17s %.*s\n", left, (int)n, h);
    while (h[n] == '\n') {
      h += n + 1;
      n = strcspn(h, "\n");
      fprintf(f, "  %-17s %.*s\n", "", (int)n, h);
    }
  }
}

static void print_usage(const char *badoption) {
  const struct longopt *o = find_longopt(badoption);
  fprintf(stderr, "%s: ", progname);
  if ((badoption[1] == 'e' || badoption[1] == 'l') || (o && o->arg))
    fprintf(stderr, "'%s' needs argument\n", badoption);
  else
    fprintf(stderr, "unrecognized option '%s'\n", badoption);
  print_options(stderr);
  fflush(stderr);
}

static void print_help(void) {
  printf("%s  %s\n", ALUA_VERSION, "Lua 5.4 with asyncio");
  print_options(stdout);
  printf("Without a script or -e, alua starts the interactive prompt when stdin is\n"
         "a terminal (type help there), and runs stdin otherwise. See alua(1).\n");
  fflush(stdout);
}

/* The version line, then Lua's own, as lua5.4 -v prints it. */
static void print_version(void) {
  printf("%s  %s\n%s\n", ALUA_VERSION, "Lua 5.4 with asyncio", LUA_COPYRIGHT);
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

/* What ends a module name's version suffix (loadlib.c's mark). */
#ifndef LUA_IGMARK
#define LUA_IGMARK "-"
#endif

/* -l: 'g=mod' runs g = require("mod"); plain 'mod' runs mod = require("mod")
 * with a version suffix cut from the global's name ('lib-v2' sets lib), as
 * lua.c does. */
static int dolibrary(lua_State *L, const char *arg) {
  const char *eq = strchr(arg, '=');
  const char *modname = eq ? eq + 1 : arg;
  size_t globlen = eq ? (size_t)(eq - arg) : strcspn(arg, LUA_IGMARK);
  lua_getglobal(L, "require");
  lua_pushstring(L, modname);
  int status = cli_docall(L, 1, 1);
  if (status == LUA_OK) {
    lua_pushlstring(L, arg, globlen);
    lua_insert(L, -2);
    lua_setglobal(L, lua_tostring(L, -2));
    lua_pop(L, 1);
  }
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

/* Scans options; returns flags and sets *first to the script's index (argc
 * when there is none) or, on an error, to the bad option's. */
static int collectargs(char **argv, int *first) {
  int args = 0;
  int i;
  if (argv[0] == NULL) return 0; /* no program name: no options either */
  for (i = 1; argv[i] != NULL; i++) {
    *first = i;
    if (argv[i][0] != '-') return args;
    switch (argv[i][1]) {
    case '-': {
      if (argv[i][2] == '\0') {
        *first = i + 1;
        return args;
      }
      const struct longopt *o = find_longopt(argv[i]);
      if (!o) return has_error;
      if (o->flags & has_tutorial) {
        /* its arguments are optional, and the tutorial's own to parse */
        *first = i + 1;
        return args | has_tutorial;
      }
      if (o->arg) {
        if (argv[i + 1] == NULL) return has_error;
        i++;
      }
      if (o->flags & has_help) return args | has_help;
      args |= o->flags;
      continue;
    }
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
      args |= has_i; /* -i implies -v */
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

/* Runs -e, -l, -W and the long options' actions in order; 0 if one failed. */
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
    case '-': {
      const struct longopt *o = find_longopt(argv[i]);
      const char *arg = o && o->arg ? argv[++i] : NULL;
      if (o && o->run && o->run(L, arg) != 0) return 0;
      break;
    }
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
  int script = argc;
  int args = collectargs(argv, &script);
  luaL_checkversion(L);
  if (args == has_error) {
    print_usage(argv[script]);
    return 0;
  }
  if (args & has_help) {
    print_help();
    lua_pushboolean(L, 1);
    return 1;
  }
  if (args & has_v) print_version();
  if (args & has_E) {
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  }
  luaL_openlibs(L);
  alua_openlibs(L);
  if (args & has_vt) alua_option(L, ALUA_OPT_VIRTUAL_TIME, 1);
  if (args & has_tutorial) {
    lua_gc(L, LUA_GCRESTART);
    /* a program of its own: no LUA_INIT, -e or script around it */
    int code = cli_tutorial(L, argc - script, argv + script);
    if (code == EXIT_SUCCESS) {
      lua_pushboolean(L, 1);
      return 1;
    }
    exit_code = code;
    return 0;
  }
  if (cli_observe_start(L, argv, script) != LUA_OK) return 0;
  createargtable(L, argv, argc, script);
  lua_gc(L, LUA_GCRESTART); /* stopped while the state was built, as lua.c does */
  lua_gc(L, LUA_GCGEN, 0, 0);
  if (!(args & has_E) && handle_luainit(L) != LUA_OK) return 0;
  if (!runargs(L, argv, script)) return 0;
  if (script < argc && handle_script(L, argv + script) != LUA_OK) return 0;
  if (args & has_i) {
    cli_repl(L);
  } else if (script == argc && !(args & (has_e | has_v | has_action))) {
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
  if (argv[0] && argv[0][0]) progname = argv[0];
  lua_State *L = alua_newrawstate();
  if (L == NULL) {
    cli_message("cannot create state: not enough memory");
    return EXIT_FAILURE;
  }
  lua_gc(L, LUA_GCSTOP); /* until pmain has built the state: no collection of live objects */
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  int status = lua_pcall(L, 2, 1, 0);
  int result = lua_toboolean(L, -1);
  cli_report(L, status);
  if (cli_report(L, cli_observe_finish(L)) != LUA_OK) result = 0;
  int code = (result && status == LUA_OK) ? EXIT_SUCCESS : interrupted ? 130 : exit_code ? exit_code : EXIT_FAILURE;
  alua_close(L);
  return code;
}
