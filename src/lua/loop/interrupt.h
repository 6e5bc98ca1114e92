/* Ctrl+C: the one SIGINT machine of alua (interrupt.c).
 *
 * An interrupt (a SIGINT, or a host calling alua_interrupt) does two
 * things. The Lua code running at that moment is interrupted at its next
 * instruction by a count hook, as lua5.4 does it: plain code gets lua5.4's
 * "interrupted!" error, the main task gets its cancellation; code that
 * holds the loop without being either (another task, a callback) is
 * interrupted only once it has held the loop for half a second, or at a
 * second interrupt. And once the loop gets control back, the main task is
 * cancelled: the task asyncio.run runs, the task a loop:run_until_complete
 * or a top-level await runs, or the statement at the prompt.
 *
 * Who owns the process's SIGINT is a stack (alua__sigint_acquire): the
 * alua program while it runs a chunk, asyncio.run and loop runs, the
 * prompt. Under every owner but the prompt a second Ctrl+C stops the
 * process at once. */
#ifndef ALUA_LUA_LOOP_INTERRUPT_H
#define ALUA_LUA_LOOP_INTERRUPT_H

#include <lua.h>

/* Owners of SIGINT (alua__sigint_acquire). */
enum alua__sigint_owner {
  /* The alua program running a chunk: installs its handler whatever the
   * disposition was, as lua5.4 does (a SIGINT inherited as ignored is
   * handled too). */
  ALUA_SIGINT_PROGRAM,
  /* asyncio.run and loop runs: install only over the default disposition
   * (or alua's own), as Python's asyncio.run; a host or a script that
   * handles SIGINT itself keeps it. */
  ALUA_SIGINT_RUN,
  /* The interactive prompt: like the program, but a second Ctrl+C never
   * stops the process (it interrupts the statement again). */
  ALUA_SIGINT_REPL
};

/* Takes SIGINT for the state of L until the matching release (calls nest;
 * the innermost owner decides). The first owner of an empty stack starts a
 * fresh count of presses. Returns a token for alua__sigint_release. Never
 * raises. */
int alua__sigint_acquire(lua_State *L, int owner);
void alua__sigint_release(lua_State *L, int token);

/* The alua program's plain Lua code (src/cli/main.c, around each chunk). */
void alua__sigint_plain_begin(lua_State *L);
void alua__sigint_plain_end(lua_State *L);

/* True when the error at idx, reaching the top of a chunk, is what Ctrl+C
 * made: the CancelledError of a top-level await it cancelled, or the
 * "interrupted!" error it raised in plain code. The alua program reports
 * it as KeyboardInterrupt and exits with status 130 (SPEC 4). */
int alua__sigint_was_interrupt(lua_State *L, int idx);

/* What the prompt needs: presses no main task took since the last call,
 * and whether the hook stopped a task (1) or a callback (2) that held the
 * loop (0: neither). Both are reset. */
int alua__sigint_take_unclaimed(lua_State *L, int *stopped);

#endif
