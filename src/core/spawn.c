#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* One standard descriptor of the child while it is being made. */
typedef struct stdfd {
  int child;  /* the descriptor the child gets (>= 3 once prepared), or -1 */
  int parent; /* our end of a pipe, or -1 */
  int temp;   /* a descriptor made here, closed once the child runs */
} stdfd;

/* Moves fd above the standard descriptors (close-on-exec), so the child's
 * dup2 never finds a source and a target in the way of each other. Returns
 * the new descriptor (the old one is closed when `own`) or -errno. */
static int lift(int fd, int own) {
  if (fd > 2) return fd;
  int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (nfd < 0) return -errno;
  if (own) close(fd);
  return nfd;
}

static void close_all(stdfd *sp) {
  for (int i = 0; i < 3; i++) {
    if (sp[i].temp >= 0) close(sp[i].temp);
    if (sp[i].parent >= 0) close(sp[i].parent);
    sp[i].temp = sp[i].parent = sp[i].child = -1;
  }
}

/* Opens what the stdio kinds need: pipes and /dev/null. 0 or -errno; on
 * failure everything opened is closed again. */
static int prepare(const int *kinds, stdfd *sp) {
  for (int i = 0; i < 3; i++) sp[i].child = sp[i].parent = sp[i].temp = -1;
  for (int i = 0; i < 3; i++) {
    int k = kinds[i], rc = 0;
    if (k == AC_SPAWN_PIPE) {
      int p[2];
      if (pipe2(p, O_CLOEXEC) < 0) {
        rc = -errno;
      } else {
        int cend = lift(i == 0 ? p[0] : p[1], 1), pend = lift(i == 0 ? p[1] : p[0], 1);
        /* a failed lift closed nothing of its own: close what is left */
        if (cend < 0 || pend < 0) {
          rc = cend < 0 ? cend : pend;
          if (cend >= 0) close(cend);
          else close(i == 0 ? p[0] : p[1]);
          if (pend >= 0) close(pend);
          else close(i == 0 ? p[1] : p[0]);
        } else {
          sp[i].child = sp[i].temp = cend;
          sp[i].parent = pend;
        }
      }
    } else if (k == AC_SPAWN_DEVNULL) {
      int fd = open("/dev/null", (i == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
      int lfd = fd < 0 ? -errno : lift(fd, 1);
      if (lfd < 0 && fd >= 0) close(fd);
      if (lfd < 0) rc = lfd;
      else sp[i].child = sp[i].temp = lfd;
    } else if (k >= 0 && k != i) { /* k == i: already in place, inherited as it is */
      int lfd = lift(k, 0);
      if (lfd < 0) rc = lfd;
      sp[i].child = lfd;
      if (lfd != k) sp[i].temp = lfd;
    }
    if (rc < 0) {
      close_all(sp);
      return rc;
    }
  }
  return 0;
}

int ac_spawn(ac_child *c, const ac_spawn_opts *o, int pipes[3], int *step) {
  c->pid = 0;
  c->pidfd = -1;
  c->status = 0;
  c->reaped = 0;
  for (int i = 0; i < 3; i++) pipes[i] = -1;
  stdfd sp[3];
  int rc = prepare(o->stdio, sp);
  if (rc < 0) {
    if (step) *step = AC_SPAWN_STEP_FDS;
    return rc;
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  for (int i = 0; i < 3; i++) {
    if (o->stdio[i] == AC_SPAWN_STDOUT) posix_spawn_file_actions_adddup2(&fa, 1, 2);
    else if (sp[i].child >= 0) posix_spawn_file_actions_adddup2(&fa, sp[i].child, i);
  }
  if (o->cwd) posix_spawn_file_actions_addchdir_np(&fa, o->cwd);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (o->new_session) flags |= POSIX_SPAWN_SETSID;
  posix_spawnattr_setflags(&attr, flags);
  pid_t pid;
  int err = posix_spawnp(&pid, o->file, &fa, &attr, o->argv, o->envp ? o->envp : environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  for (int i = 0; i < 3; i++)
    if (sp[i].temp >= 0) close(sp[i].temp);
  if (err != 0) {
    for (int i = 0; i < 3; i++)
      if (sp[i].parent >= 0) close(sp[i].parent);
    /* the child reports a failed chdir with chdir's errno, as it would a
     * failed exec: tell them apart by trying the directory here */
    if (step)
      *step = o->cwd && (err == ENOENT || err == ENOTDIR || err == EACCES) && access(o->cwd, X_OK) < 0
                  ? AC_SPAWN_STEP_CWD
                  : AC_SPAWN_STEP_EXEC;
    return -err;
  }
  c->pid = pid;
  for (int i = 0; i < 3; i++) pipes[i] = sp[i].parent;
  return 0;
}

int ac_child_open_pidfd(ac_child *c) {
#ifdef SYS_pidfd_open
  int fd = (int)syscall(SYS_pidfd_open, c->pid, 0);
  if (fd < 0) return -errno;
  /* pidfd_open's descriptors are close-on-exec already */
  c->pidfd = fd;
  return 0;
#else
  (void)c;
  return -ENOSYS;
#endif
}

int ac_child_poll(ac_child *c) {
  if (c->reaped) return 1;
  int status;
  pid_t r;
  do r = waitpid(c->pid, &status, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == c->pid) {
    c->status = status;
  } else if (r < 0 && errno == ECHILD) {
    c->status = 0;
  } else {
    return 0;
  }
  c->reaped = 1;
  return 1;
}

int ac_child_returncode(const ac_child *c) {
  int s = c->status;
  return WIFEXITED(s) ? WEXITSTATUS(s) : WIFSIGNALED(s) ? -WTERMSIG(s) : s;
}

int ac_child_signal(ac_child *c, int sig) {
  if (c->reaped || c->pid <= 0) return -ESRCH;
#ifdef SYS_pidfd_send_signal
  if (c->pidfd >= 0) {
    if (syscall(SYS_pidfd_send_signal, c->pidfd, sig, NULL, 0) == 0) return 0;
    if (errno != ENOSYS) return -errno;
  }
#endif
  return kill(c->pid, sig) < 0 ? -errno : 0;
}

void ac_child_close_pidfd(ac_child *c) {
  if (c->pidfd >= 0) close(c->pidfd);
  c->pidfd = -1;
}
