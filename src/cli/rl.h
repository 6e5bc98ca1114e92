/* readline, loaded with dlopen when the prompt starts (cli_rl_load), not
 * linked: a program that never shows a prompt (`alua -e`, a script) does
 * not pay for loading readline and libtinfo at start-up, and a machine
 * without readline still gets a plain prompt. Every readline function and
 * variable used goes through the table cli_rl, filled with dlsym; RL(name)
 * is the function or variable itself. The build uses readline's headers
 * only, so a name not listed here fails to link. */
#ifndef ALUA_CLI_RL_H
#define ALUA_CLI_RL_H

#include <stdio.h>

#include <readline/history.h>
#include <readline/readline.h>

#define CLI_RL_NAMES(X)                                                                                     \
  X(rl_callback_handler_install) X(rl_callback_handler_remove) X(rl_callback_read_char)                     \
  X(rl_callback_sigcleanup) X(rl_clear_visible_line) X(rl_on_new_line) X(rl_redisplay) X(rl_resize_terminal) \
  X(rl_free_line_state) X(rl_completion_matches) X(rl_point) X(rl_end) X(rl_instream) X(rl_outstream)         \
  X(rl_readline_name) X(rl_catch_signals) X(rl_catch_sigwinch) X(rl_change_environment)                      \
  X(rl_attempted_completion_function) X(rl_attempted_completion_over) X(rl_completion_append_character)      \
  X(rl_completer_word_break_characters) X(using_history) X(stifle_history) X(read_history) X(write_history)  \
  X(append_history) X(history_truncate_file) X(add_history) X(history_get) X(clear_history) X(history_base)  \
  X(history_length) X(history_comment_char) X(history_write_timestamps) X(history_multiline_entries)

/* A pointer of each name's own type: to the function, or to the variable. */
struct cli_rl {
#define X(name) __typeof__(name) *name;
  CLI_RL_NAMES(X)
#undef X
};
extern struct cli_rl cli_rl;

/* The readline function or variable `name`; only once cli_rl_load said 1. */
#define RL(name) (*cli_rl.name)

/* Loads readline on the first call; 1 when it is there (every name found),
 * 0 when it is not (then the prompt reads plain lines). */
int cli_rl_load(void);

#endif
