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

/* A host's own hold (alua_sigint in alua.h) is one of these owners: the
 * alua program's around each chunk (ALUA_SIGINT_INTERRUPT) and the
 * prompt's (ALUA_SIGINT_PROMPT). alua_interrupts gives a prompt the
 * presses no main task took; alua_report tells Ctrl+C's errors apart. */

#endif
