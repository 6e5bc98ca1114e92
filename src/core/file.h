/* Descriptor I/O the bindings need, without Lua: the blocking file
 * operations that run on worker threads (open, read, write, seek, each
 * retrying EINTR) and the write to a non-blocking pipe that never raises
 * SIGPIPE. Functions return a descriptor, a count, an offset, or a negative
 * errno, and never print. */
#ifndef ALUA_CORE_FILE_H
#define ALUA_CORE_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Opens path with `flags` (O_CLOEXEC is added) and `mode` for a file it
 * creates. A directory is refused with -EISDIR even when opened read-only,
 * so every descriptor returned can be read and written as a file. */
int ac_file_open(const char *path, int flags, mode_t mode);

/* One read of up to len bytes: the count read (short reads from pipes and
 * terminals return what there is), 0 at the end of the file. */
ssize_t ac_file_read(int fd, void *buf, size_t len);

/* Writes all len bytes, looping over short writes: len, or the error of
 * the write that failed (what was written before it stays written). */
ssize_t ac_file_write(int fd, const void *buf, size_t len);

/* Moves the position as lseek does: the new offset. */
off_t ac_file_seek(int fd, off_t offset, int whence);

/* One write to a pipe whose reader may be gone, without dying of (or
 * leaving pending) SIGPIPE: the count written, -EPIPE when nobody reads,
 * -EAGAIN when a non-blocking pipe is full, -EINTR when a signal came
 * first. The signal is blocked in the calling thread around the write and a
 * SIGPIPE the write raised is taken back before unblocking; one that was
 * pending already is left alone. Sockets need none of this: send with
 * MSG_NOSIGNAL. */
ssize_t ac_pipe_write(int fd, const void *buf, size_t len);

#endif
