/* The prompt's history file: $ALUA_HISTORY, else ~/.alua_history. Each
 * statement is appended as soon as it is entered, so a session that ends
 * abruptly keeps what was typed. Entries are written with timestamps, which
 * is how readline keeps a statement that spans lines as one entry. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/repl.h"
#include "cli/rl.h"

/* Entries kept in memory and in the file. */
#define HISTORY_MAX 1000

static char *path; /* history file, or NULL for none */

/* The file to use: malloc'd, or NULL when there is none. */
static char *history_path(void) {
  const char *env = getenv("ALUA_HISTORY");
  if (env) return *env ? strdup(env) : NULL;
  const char *home = getenv("HOME");
  if (!home || !*home) return NULL;
  size_t n = strlen(home) + sizeof "/.alua_history";
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/.alua_history", home);
  return p;
}

void cli_history_load(void) {
  RL(using_history)();
  RL(stifle_history)(HISTORY_MAX);
  /* timestamps ("#<seconds>" lines) separate the entries in the file, so
   * that a statement spanning lines reads back as one entry */
  RL(history_comment_char) = '#';
  RL(history_write_timestamps) = 1;
  RL(history_multiline_entries) = 1;
  path = history_path();
  if (path) RL(read_history)(path);
}

/* True when entry is the same as the newest history entry. */
static int repeats_last(const char *entry) {
  HIST_ENTRY *last = RL(history_get)(RL(history_base) + RL(history_length) - 1);
  return last && last->line && strcmp(last->line, entry) == 0;
}

void cli_history_add(const char *entry) {
  if (!entry || !*entry || repeats_last(entry)) return;
  RL(add_history)(entry);
  if (!path) return;
  /* append_history does not create the file: the first write does */
  if (RL(append_history)(1, path) == ENOENT) RL(write_history)(path);
}

void cli_history_close(void) {
  if (path) RL(history_truncate_file)(path, HISTORY_MAX);
  free(path);
  path = NULL;
  RL(clear_history)();
}
