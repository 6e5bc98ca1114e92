/* Lua's error jumps for the Lua compiled into the program (meson.build
 * force-includes this into Lua's own sources; nothing else includes it).
 *
 * ldo.c sets a jump buffer in every protected call and every lua_resume,
 * and a yield from a C function (every await that parks) leaves by a
 * throw. glibc's _setjmp/_longjmp save and check more than Lua needs (the
 * signal mask flag, pointer mangling, the thread's cancellation cleanup
 * buffers on the way out); GCC's __builtin_setjmp/__builtin_longjmp keep
 * the frame and stack pointers and the landing address only, and the
 * function that sets the buffer reloads everything else after the jump.
 *
 * Their rules: the buffer is five words; the value passed is 1; a
 * __builtin_longjmp must not sit in the function of its __builtin_setjmp,
 * so the throw is a function that is never inlined. Not for sanitizer
 * builds (they watch longjmp), which link the system's Lua instead. */
#ifndef ALUA_LUAJMP_H
#define ALUA_LUAJMP_H

typedef void *alua_luai_jmpbuf[5];

__attribute__((noinline, noreturn, unused)) static void alua_luai_throw(void **b) { __builtin_longjmp(b, 1); }

#define luai_jmpbuf alua_luai_jmpbuf
#define LUAI_THROW(L, c) alua_luai_throw((c)->b)
#define LUAI_TRY(L, c, a)                                                                                         \
  if (__builtin_setjmp((c)->b) == 0) {                                                                            \
    a                                                                                                             \
  }

#endif
