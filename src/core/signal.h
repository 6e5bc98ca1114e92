/* Signal watching for one loop through a signalfd.
 *
 * Watching a signal blocks it in the calling thread's mask (call these on the
 * loop thread) and reads it from a signalfd registered with the loop, so `fn`
 * runs in the poll phase, never in a signal handler. A process-directed signal
 * reaches the signalfd only if every other thread blocks it too (the pool's
 * workers do). Use one ac_signals per thread for a given signal. */
#ifndef ALUA_CORE_SIGNAL_H
#define ALUA_CORE_SIGNAL_H

#include <signal.h>

#include "loop.h"

typedef struct ac_signals {
  ac_loop *loop;    /* loop whose poll phase reads the signalfd */
  ac_io io;         /* watcher of the signalfd; io.fd is -1 once closed */
  sigset_t watched; /* signals being watched */
  sigset_t blocked; /* those of `watched` that were unblocked before ac_signals_add */
  int count;        /* number of signals in `watched` */
  void (*fn)(struct ac_signals *s, int signum); /* runs once per delivery */
  void *data;       /* owner's pointer, untouched by the core */
} ac_signals;

/* Creates the signalfd; nothing is watched or blocked yet. fn may add, remove
 * or close, but must not free s. */
int ac_signals_init(ac_signals *s, ac_loop *loop, void (*fn)(ac_signals *s, int signum));

/* Starts watching signum (blocking it in this thread). 0 if already watched;
 * -EINVAL for an invalid signal, SIGKILL or SIGSTOP. */
int ac_signals_add(ac_signals *s, int signum);

/* Stops watching signum. A delivery still pending is discarded, then the
 * signal is unblocked if ac_signals_add blocked it, so the thread's mask is as
 * before once the last signal is removed. -ENOENT if not watched. */
int ac_signals_remove(ac_signals *s, int signum);

/* Removes every signal, unregisters and closes the signalfd. Idempotent. */
void ac_signals_close(ac_signals *s);

#endif
