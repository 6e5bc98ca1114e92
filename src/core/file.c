#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int ac_file_open(const char *path, int flags, mode_t mode) {
  int fd;
  do fd = open(path, flags | O_CLOEXEC, mode);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return -errno;
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    return -EISDIR;
  }
  return fd;
}

ssize_t ac_file_read(int fd, void *buf, size_t len) {
  ssize_t r;
  do r = read(fd, buf, len);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : r;
}

ssize_t ac_file_write(int fd, const void *buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t r = write(fd, (const char *)buf + done, len - done);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    done += (size_t)r;
  }
  return (ssize_t)done;
}

off_t ac_file_seek(int fd, off_t offset, int whence) {
  off_t r = lseek(fd, offset, whence);
  return r < 0 ? -errno : r;
}

ssize_t ac_pipe_write(int fd, const void *buf, size_t len) {
  sigset_t pipe_set, old, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigpending(&pending);
  int was_pending = sigismember(&pending, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  ssize_t r = write(fd, buf, len);
  int err = r < 0 ? errno : 0;
  if (err == EPIPE && !was_pending) {
    /* the SIGPIPE this write raised is pending now: take it back */
    struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return err ? -err : r;
}
