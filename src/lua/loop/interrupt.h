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
 * or a top-level await runs, or the host's main task (alua_start: the
 * statement at the prompt).
 *
 * Who owns the process's SIGINT is a stack (alua__sigint_acquire): a host
 * through alua_sigint (the alua program while it runs a chunk, the
 * prompt), asyncio.run and loop runs. Under every owner but the prompt's
 * a second Ctrl+C stops the process at once. */
#ifndef ALUA_LUA_LOOP_INTERRUPT_H
#define ALUA_LUA_LOOP_INTERRUPT_H

#include <lua.h>

/* Owners of SIGINT (alua__sigint_acquire). */
enum alua__sigint_owner {
  /* alua_sigint's ALUA_SIGINT_INTERRUPT (the alua program running a
   * chunk): installs its handler whatever the disposition was, as lua5.4
   * does (a SIGINT inherited as ignored is handled too). */
  ALUA_SIGINT_PROGRAM,
  /* asyncio.run and loop runs: install only over the default disposition
   * (or alua's own), as Python's asyncio.run; a host or a script that
   * handles SIGINT itself keeps it. */
  ALUA_SIGINT_RUN,
  /* alua_sigint's ALUA_SIGINT_PROMPT (the interactive prompt): like the
   * program, but a second Ctrl+C never stops the process (it interrupts
   * the statement again). */
  ALUA_SIGINT_REPL
};

/* Takes SIGINT for the state of L until the matching release (calls nest;
 * the innermost owner decides). The first owner of an empty stack starts a
 * fresh count of presses. Returns a token for alua__sigint_release. Never
 * raises. */
int alua__sigint_acquire(lua_State *L, int owner);
void alua__sigint_release(lua_State *L, int token);

/* The rest is alua.h's: alua_interrupt, alua_sigint (a host's hold, one
 * owner per state, rt.sigint_token), alua_interrupts (presses no main task
 * took) and alua_report (tells Ctrl+C's errors apart). */

#endif
