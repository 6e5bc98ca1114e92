#include "signal.h"

#include <errno.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

static void on_readable(ac_io *io, uint32_t revents) {
  ac_signals *s = ac_container_of(io, ac_signals, io);
  struct signalfd_siginfo info[8];
  (void)revents;
  /* fn may close s, which sets io.fd to -1: stop reading then. */
  while (s->io.fd >= 0) {
    ssize_t r = read(s->io.fd, info, sizeof info);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return;
    size_t n = (size_t)r / sizeof info[0];
    for (size_t i = 0; i < n && s->io.fd >= 0; i++) {
      int signo = (int)info[i].ssi_signo;
      /* Read with the old mask just before fn removed it: drop it. */
      if (sigismember(&s->watched, signo) == 1) s->fn(s, signo);
    }
  }
}

int ac_signals_init(ac_signals *s, ac_loop *loop, void (*fn)(ac_signals *s, int signum)) {
  s->loop = loop;
  s->fn = fn;
  s->data = NULL;
  s->count = 0;
  sigemptyset(&s->watched);
  sigemptyset(&s->blocked);
  int fd = signalfd(-1, &s->watched, SFD_NONBLOCK | SFD_CLOEXEC);
  ac_io_init(&s->io, fd, on_readable);
  return fd < 0 ? -errno : 0;
}

static int set_mask(ac_signals *s) {
  return signalfd(s->io.fd, &s->watched, 0) < 0 ? -errno : 0;
}

int ac_signals_add(ac_signals *s, int signum) {
  if (signum <= 0 || signum >= NSIG || signum == SIGKILL || signum == SIGSTOP) return -EINVAL;
  if (s->io.fd < 0) return -EBADF;
  if (sigismember(&s->watched, signum) == 1) return 0;
  sigset_t one, cur;
  sigemptyset(&one);
  if (sigaddset(&one, signum) < 0) return -EINVAL;
  pthread_sigmask(SIG_BLOCK, &one, &cur);
  int we_blocked = !sigismember(&cur, signum);
  /* Blocked before the signalfd looks for it, so no delivery slips through
   * to a handler in between. */
  sigaddset(&s->watched, signum);
  int err = set_mask(s);
  if (!err && s->count == 0) err = ac_io_start(s->loop, &s->io, EPOLLIN);
  if (err) {
    sigdelset(&s->watched, signum);
    set_mask(s);
    if (we_blocked) pthread_sigmask(SIG_UNBLOCK, &one, NULL);
    return err;
  }
  if (we_blocked) sigaddset(&s->blocked, signum);
  s->count++;
  return 0;
}

int ac_signals_remove(ac_signals *s, int signum) {
  if (signum <= 0 || signum >= NSIG) return -EINVAL;
  if (sigismember(&s->watched, signum) != 1) return -ENOENT;
  sigdelset(&s->watched, signum);
  int err = set_mask(s);
  if (--s->count == 0) ac_io_stop(s->loop, &s->io);
  if (sigismember(&s->blocked, signum) == 1) {
    sigset_t one;
    struct timespec zero = {0, 0};
    sigemptyset(&one);
    sigaddset(&one, signum);
    /* Unblocking a pending signal would run its default action (often
     * killing the process) for a delivery meant for this watcher. */
    while (sigtimedwait(&one, NULL, &zero) == signum) {
    }
    pthread_sigmask(SIG_UNBLOCK, &one, NULL);
    sigdelset(&s->blocked, signum);
  }
  return err;
}

void ac_signals_close(ac_signals *s) {
  if (s->io.fd < 0) return;
  for (int signum = 1; signum < NSIG; signum++)
    if (sigismember(&s->watched, signum) == 1) ac_signals_remove(s, signum);
  ac_io_stop(s->loop, &s->io);
  close(s->io.fd);
  s->io.fd = -1;
}
