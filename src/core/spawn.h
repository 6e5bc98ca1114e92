/* Child processes: spawning and reaping, without Lua.
 *
 * ac_spawn runs a program with posix_spawn (glibc's is clone(CLONE_VFORK)
 * + exec and reports exec failures) and gives the child exactly the three
 * standard descriptors it asks for: every descriptor of ours is
 * close-on-exec. The child starts with an empty signal mask and default
 * dispositions, whatever the calling thread blocks or ignores (a loop
 * thread blocks the signals its signalfds read, and masks are inherited).
 *
 * Reaping: ac_child_open_pidfd gives a descriptor that becomes readable
 * when the child exits (register it with the loop), and ac_child_poll then
 * collects the status without blocking. Without pidfd_open (old kernels),
 * watch SIGCHLD instead and poll every live child at each delivery (signals
 * coalesce). Functions return 0 or a negative errno and never print. */
#ifndef ALUA_CORE_SPAWN_H
#define ALUA_CORE_SPAWN_H

#include <stdint.h>
#include <sys/types.h>

/* What one standard descriptor of the child is: one of these, or a
 * descriptor of ours (>= 0) that the child gets a copy of. */
enum {
  AC_SPAWN_PIPE = -1,    /* a new pipe; we keep the other end */
  AC_SPAWN_STDOUT = -2,  /* stderr only: the same as the child's stdout */
  AC_SPAWN_DEVNULL = -3, /* /dev/null */
  AC_SPAWN_INHERIT = -4, /* ours, as it is */
};

typedef struct ac_spawn_opts {
  const char *file;     /* program: a path, or a name looked up in PATH */
  char *const *argv;    /* its arguments, argv[0] first, NULL-terminated */
  char *const *envp;    /* its environment, NULL-terminated; NULL for ours */
  const char *cwd;      /* directory it starts in, NULL for ours */
  int stdio[3];         /* stdin, stdout, stderr: AC_SPAWN_* or a descriptor */
  int new_session;      /* the child calls setsid */
} ac_spawn_opts;

/* A child process of ours. */
typedef struct ac_child {
  pid_t pid;            /* 0 until spawned */
  int pidfd;            /* readable once the child exited, or -1 */
  int status;           /* its wait status once reaped */
  uint8_t reaped;       /* waited for (or found reaped by someone else) */
} ac_child;

/* Which step of ac_spawn failed. */
enum {
  AC_SPAWN_STEP_FDS = 1, /* making the pipes and /dev/null descriptors */
  AC_SPAWN_STEP_CWD,     /* changing to opts->cwd */
  AC_SPAWN_STEP_EXEC,    /* running the program */
};

/* Starts the child of `o` into c. pipes[i] receives our end of the child's
 * descriptor i when it is AC_SPAWN_PIPE (non-blocking is up to the caller),
 * else -1. On failure nothing is left open, *step (when not NULL) says
 * which step failed, and the error is returned. */
int ac_spawn(ac_child *c, const ac_spawn_opts *o, int pipes[3], int *step);

/* Opens c->pidfd (close-on-exec): 0, or -ENOSYS where the kernel has no
 * pidfd_open. */
int ac_child_open_pidfd(ac_child *c);

/* Reaps c if it exited, never blocking: 1 when reaped (c->status is set),
 * 0 while it runs. A child someone else reaped (ECHILD) counts as reaped,
 * with status 0, since its status is lost. */
int ac_child_poll(ac_child *c);

/* The return code of a reaped child: its exit status, or -N when signal N
 * killed it. */
int ac_child_returncode(const ac_child *c);

/* Sends sig to the child: through the pidfd when there is one (never a
 * recycled pid), else with kill. -ESRCH when it already exited. */
int ac_child_signal(ac_child *c, int sig);

/* Closes the pidfd (after the caller stopped watching it). */
void ac_child_close_pidfd(ac_child *c);

#endif
