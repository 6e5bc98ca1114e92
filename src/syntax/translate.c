/* The async/await translator: one pass over the tokens, rewriting
 *   async function NAME(...) ... end   ->  NAME = __alua_async(function(...) ... end, "NAME")
 *   local async function f(...) ... end ->  local f; f = __alua_async(function(...) ... end, "f")
 *   async function (...) ... end        ->  __alua_async(function (...) ... end)
 *   await OPERAND                       ->  __alua_await(OPERAND)
 * Edits only change bytes within lines, so every token keeps its line. The
 * closing parentheses are placed by a stack of pending closes: an async
 * function closes after the `end` that brings the block depth back, an await
 * closes right after the last token of its operand (see operand.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include "syntax/translate.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "syntax/emit.h"
#include "syntax/lex.h"
#include "syntax/operand.h"

/* Binds the two names from the string library's hidden table, which every
 * state with asyncio open has (runtime/load.c): nothing is taken from the
 * chunk's environment, so translated code runs in a sandbox that has no
 * `require`. Where asyncio is not open (plain Lua running translated output
 * directly) it falls back to require. */
#define PRELUDE                                                            \
  "local " ALUA_SYNTAX_ASYNC ", " ALUA_SYNTAX_AWAIT                        \
  " = (\"\")." ALUA_SYNTAX_ASYNC " or require(\"asyncio\").async, "       \
  "(\"\")." ALUA_SYNTAX_AWAIT " or require(\"asyncio\").await; "

/* Deeper than Lua's own limit of 200 nested C levels: any input that fills
 * the stack fails to load anyway, so keywords past it are left as they are. */
#define MAX_PENDING 256

/* What the names that come next declare or denote (nothing, for B_NONE). */
enum bind {
  B_NONE,
  B_LOCAL_FIRST, /* right after `local` */
  B_LOCAL_NAME,  /* after `,` in a local list */
  B_LOCAL_AFTER, /* after a name in a local list */
  B_ATTRIB,      /* after `<` in a local list */
  B_ATTRIB_END,  /* after an attribute name, before `>` */
  B_FOR_NAME,    /* after `for`, or `,` in its name list */
  B_FOR_AFTER,   /* after a name in a for list */
  B_FUNC_NAME,   /* after `function` */
  B_FUNC_DOT,    /* after a name of a function statement */
  B_FUNC_FIELD,  /* after `.` or `:` in a function name */
  B_PARAMS,      /* in a parameter list */
  B_LABEL,       /* after an opening `::` */
  B_LABEL_END,   /* after a label's name */
  B_GOTO,        /* after `goto` */
};

/* What a token turned out to be. */
enum role {
  R_PLAIN,       /* left as it is */
  R_AWAIT,       /* `await` as the keyword */
  R_ASYNC_EXPR,  /* `async` of `async function (...)` */
  R_ASYNC_STAT,  /* `async` of `async function a.b:c(...)` */
  R_ASYNC_LOCAL, /* `async` of `local async function f(...)` */
};

/* Tokens found by looking ahead from a keyword. */
struct ahead {
  struct token next;  /* after `await`: the operand's first token */
  struct token fn;    /* after `async`: the `function` */
  struct token first; /* async statement: the first name */
  struct token last;  /* async statement: the last name */
  struct token colon; /* async method: the `:` (kind TK_EOF if none) */
  struct token paren; /* async statement: the `(` of the parameters */
};

/* The answer of call_only_parens for one `(` after `await`. */
struct memo {
  size_t pos; /* where the `(` starts */
  bool call;  /* it holds call arguments only */
};

/* A bracket open during call_only_parens' scan. */
struct frame {
  size_t pos;  /* where it starts */
  long blk;    /* block depth at its opening */
  bool await;  /* a `(` right after `await` */
  bool empty;  /* nothing came after it yet */
  bool comma;  /* a comma at its own level came */
};

/* A parenthesis to close later. */
struct pending {
  bool is_async;     /* closes an async function, not an await operand */
  long target;       /* async: the block depth its `end` returns to */
  size_t name_start; /* async statement: its name in the input (from == to: none) */
  size_t name_end;
  struct operand op; /* await: how far its operand got */
};

struct xlate {
  const char *src;     /* the input */
  size_t len;          /* its length */
  struct emit out;     /* the output */
  enum bind bind;      /* what the next names declare or denote */
  bool stat;           /* a new statement may start at the next token */
  bool after_dot;      /* the previous token was `.` or `:` */
  bool await_name;     /* `await` was declared or assigned: a name from now on */
  long br;             /* bracket depth: ( [ { minus ) ] } */
  long blk;            /* block depth: function, if, do minus end */
  size_t depth;        /* pending closes in use */
  size_t operands;     /* how many of them are await operands */
  struct pending stack[MAX_PENDING]; /* pending closes, innermost last */
  struct memo *memo;   /* answers found by the last scan, sorted by pos */
  size_t nmemo;        /* entries in memo */
  size_t capmemo;      /* entries allocated */
  struct frame *frames; /* the scan's open brackets (reused) */
  size_t capframes;     /* entries allocated */
};

/* True if a name here is not an expression: a name being declared, or the
 * name of a field, function, attribute or label. */
static bool bind_is_name(enum bind b) {
  return b != B_NONE && b != B_LOCAL_AFTER && b != B_ATTRIB_END &&
         b != B_FOR_AFTER && b != B_FUNC_DOT && b != B_LABEL_END;
}

/* True if a name here declares a variable, parameter or function. */
static bool bind_declares(enum bind b) {
  return b == B_LOCAL_FIRST || b == B_LOCAL_NAME || b == B_FOR_NAME ||
         b == B_FUNC_NAME || b == B_PARAMS;
}

/* The state after a token of kind k: lists of names go on or end, and the
 * keywords that start one start it. */
static enum bind bind_step(enum bind b, enum tk k) {
  bool name = tk_is_name(k);
  switch (b) {
  case B_LOCAL_FIRST:
    if (k == TK_FUNCTION)
      return B_FUNC_NAME;
    /* fall through */
  case B_LOCAL_NAME:
    if (name)
      return B_LOCAL_AFTER;
    break;
  case B_LOCAL_AFTER:
    if (k == TK_COMMA)
      return B_LOCAL_NAME;
    if (k == TK_LT)
      return B_ATTRIB;
    break;
  case B_ATTRIB:
    if (name)
      return B_ATTRIB_END;
    break;
  case B_ATTRIB_END:
    if (k == TK_GT)
      return B_LOCAL_AFTER;
    break;
  case B_FOR_NAME:
    if (name)
      return B_FOR_AFTER;
    break;
  case B_FOR_AFTER:
    if (k == TK_COMMA)
      return B_FOR_NAME;
    break;
  case B_FUNC_NAME:
    if (name)
      return B_FUNC_DOT;
    if (k == TK_LPAREN)
      return B_PARAMS;
    break;
  case B_FUNC_DOT:
    if (k == TK_DOT || k == TK_COLON)
      return B_FUNC_FIELD;
    if (k == TK_LPAREN)
      return B_PARAMS;
    break;
  case B_FUNC_FIELD:
    if (name)
      return B_FUNC_DOT;
    break;
  case B_PARAMS:
    if (name || k == TK_COMMA || k == TK_DOTS)
      return B_PARAMS;
    if (k == TK_RPAREN)
      return B_NONE;
    break;
  case B_LABEL:
    if (name)
      return B_LABEL_END;
    break;
  case B_LABEL_END:
    if (k == TK_DBCOLON)
      return B_NONE; /* the closing `::` opens no label */
    break;
  case B_GOTO:
    if (name)
      return B_NONE;
    break;
  case B_NONE:
    break;
  }
  switch (k) {
  case TK_LOCAL: return B_LOCAL_FIRST;
  case TK_FOR: return B_FOR_NAME;
  case TK_FUNCTION: return B_FUNC_NAME;
  case TK_DBCOLON: return B_LABEL;
  case TK_GOTO: return B_GOTO;
  default: return B_NONE;
  }
}

/* What a kind of token does to the bookkeeping, looked up once per token. */
enum {
  K_OPEN = 1,   /* opens a bracket */
  K_CLOSE = 2,  /* closes a bracket */
  K_BLOCK = 4,  /* opens a block that `end` closes: function, if, do */
  K_END = 8,    /* `end` */
  K_STAT = 16,  /* a statement may start right after it */
  K_BIND = 32,  /* starts a list of names: local, for, function, ::, goto */
};

static const unsigned char kind_flags[TK_NKINDS] = {
  [TK_NAME] = K_STAT, [TK_ASYNC] = K_STAT, [TK_AWAIT] = K_STAT,
  [TK_NUMBER] = K_STAT, [TK_STRING] = K_STAT, [TK_OTHER] = K_STAT,
  [TK_NIL] = K_STAT, [TK_TRUE] = K_STAT, [TK_FALSE] = K_STAT,
  [TK_DOTS] = K_STAT, [TK_SEMI] = K_STAT, [TK_BREAK] = K_STAT,
  [TK_THEN] = K_STAT, [TK_ELSE] = K_STAT, [TK_REPEAT] = K_STAT,
  [TK_DO] = K_STAT | K_BLOCK, [TK_IF] = K_BLOCK, [TK_FUNCTION] = K_BLOCK | K_BIND,
  [TK_END] = K_STAT | K_END,
  [TK_LPAREN] = K_OPEN, [TK_LBRACKET] = K_OPEN, [TK_LBRACE] = K_OPEN,
  [TK_RPAREN] = K_STAT | K_CLOSE, [TK_RBRACKET] = K_STAT | K_CLOSE,
  [TK_RBRACE] = K_STAT | K_CLOSE,
  [TK_DBCOLON] = K_STAT | K_BIND, [TK_LOCAL] = K_BIND, [TK_FOR] = K_BIND,
  [TK_GOTO] = K_BIND,
};

static int br_delta(enum tk k) {
  unsigned f = kind_flags[k];
  return (f & K_OPEN) ? 1 : (f & K_CLOSE) ? -1 : 0;
}

static int blk_delta(enum tk k) {
  unsigned f = kind_flags[k];
  return (f & K_BLOCK) ? 1 : (f & K_END) ? -1 : 0;
}

static void lex(const struct xlate *x, size_t pos, struct token *t) {
  at_lex_next(x->src, x->len, pos, t);
}

/* Grows *p (of *cap elements of size sz) to hold n; false if it cannot. */
static bool grow(void **p, size_t *cap, size_t n, size_t sz) {
  if (n <= *cap)
    return true;
  size_t c = *cap ? *cap * 2 : 64;
  while (c < n)
    c *= 2;
  if (c > SIZE_MAX / sz)
    return false;
  void *q = realloc(*p, c * sz);
  if (!q)
    return false;
  *p = q;
  *cap = c;
  return true;
}

static bool memo_add(struct xlate *x, size_t pos, bool call) {
  if (!grow((void **)&x->memo, &x->capmemo, x->nmemo + 1, sizeof *x->memo))
    return false;
  x->memo[x->nmemo].pos = pos;
  x->memo[x->nmemo++].call = call;
  return true;
}

static int memo_cmp(const void *a, const void *b) {
  size_t pa = ((const struct memo *)a)->pos, pb = ((const struct memo *)b)->pos;
  return pa < pb ? -1 : pa > pb;
}

/* The memo entry for a `(` at pos, or NULL. */
static const struct memo *memo_find(const struct xlate *x, size_t pos) {
  size_t lo = 0, hi = x->nmemo;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (x->memo[mid].pos == pos)
      return &x->memo[mid];
    if (x->memo[mid].pos < pos)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

/* call_only_parens without a memo, for when memory runs out: counts
 * brackets and blocks only. */
static bool call_only_parens_slow(const struct xlate *x, const struct token *open) {
  struct token t;
  long br = 0, blk = 0;
  size_t pos = open->end;
  lex(x, pos, &t);
  if (t.kind == TK_RPAREN)
    return true;
  for (; t.kind != TK_EOF; lex(x, pos, &t)) {
    if (t.kind == TK_COMMA && br == 0 && blk == 0)
      return true;
    br += br_delta(t.kind);
    blk += blk_delta(t.kind);
    if (br < 0)
      return false; /* the matching `)` */
    pos = t.end;
  }
  return false;
}

/* True when the `(` at open starts an argument list that only a call can
 * have: `()`, or a comma at its own level as in `await(a, b)`. Such
 * parentheses cannot hold an expression, so `await` before them is a
 * function named `await` (SPEC 3). Commas inside brackets and function
 * bodies do not count. Input that ends first is left to the keyword reading,
 * which keeps Lua's `<eof>` error.
 *
 * The scan stops at the first such comma or the matching `)`. Why a memo:
 * `await(await(await(x, y), y), y)` would otherwise scan the inner groups
 * again for each `await`, in quadratic time; one scan records the answer
 * for every `await(` it passes over. */
static bool call_only_parens(struct xlate *x, const struct token *open) {
  const struct memo *m = memo_find(x, open->start);
  if (m)
    return m->call;
  x->nmemo = 0;
  struct token t;
  enum tk prev = TK_AWAIT;
  long blk = 0;
  size_t n = 0, pos = open->start;
  bool result = false, ok = true;
  for (lex(x, pos, &t); t.kind != TK_EOF; prev = t.kind, pos = t.end, lex(x, pos, &t)) {
    struct frame *top = n ? &x->frames[n - 1] : NULL;
    if (top)
      top->empty = top->empty && t.kind == TK_RPAREN;
    unsigned f = kind_flags[t.kind];
    if (f & K_OPEN) {
      if (!grow((void **)&x->frames, &x->capframes, n + 1, sizeof *x->frames)) {
        ok = false;
        break;
      }
      x->frames[n++] = (struct frame){
          .pos = t.start, .blk = blk, .await = prev == TK_AWAIT && t.kind == TK_LPAREN,
          .empty = true, .comma = false};
    } else if (f & K_CLOSE) {
      if (!top)
        break;
      n--;
      bool call = top->empty || top->comma;
      if (top->await && !top->comma && !memo_add(x, top->pos, call)) {
        ok = false;
        break;
      }
      if (n == 0) {
        result = call;
        break;
      }
    } else if (t.kind == TK_COMMA && top && blk == top->blk && !top->comma) {
      top->comma = true;
      if (top->await && !memo_add(x, top->pos, true)) {
        ok = false;
        break;
      }
      if (n == 1) {
        result = true;
        break;
      }
    }
    blk += blk_delta(t.kind);
  }
  if (!ok) {
    x->nmemo = 0;
    return call_only_parens_slow(x, open);
  }
  if (x->nmemo > 1)
    qsort(x->memo, x->nmemo, sizeof *x->memo, memo_cmp);
  return result;
}

/* Role of `await`: the keyword when it stands where an expression may and
 * an operand starts on the same line, unless `await` is a name here or the
 * parentheses after it can only be call arguments. */
static enum role classify_await(struct xlate *x, const struct token *t,
                                struct ahead *a) {
  if (x->after_dot || bind_is_name(x->bind)) {
    if (!x->after_dot && bind_declares(x->bind))
      x->await_name = true;
    return R_PLAIN;
  }
  if (x->await_name)
    return R_PLAIN;
  lex(x, t->end, &a->next);
  if (!a->next.nl && at_operand_can_start(a->next.kind)) {
    if (a->next.kind == TK_LPAREN && call_only_parens(x, &a->next))
      return R_PLAIN;
    return R_AWAIT;
  }
  if (x->stat && a->next.kind == TK_ASSIGN)
    x->await_name = true;
  return R_PLAIN;
}

/* Reads `Name {. Name} [: Name] (` from pos into a; the `(` must follow.
 * With only_one, just `Name (`. Returns false if that is not what is there. */
static bool read_funcname(const struct xlate *x, size_t pos, bool only_one,
                          struct ahead *a) {
  struct token t;
  lex(x, pos, &a->first);
  if (!tk_is_name(a->first.kind))
    return false;
  a->last = a->first;
  a->colon.kind = TK_EOF;
  for (;;) {
    lex(x, a->last.end, &t);
    if (t.kind == TK_LPAREN) {
      a->paren = t;
      return true;
    }
    if (only_one || a->colon.kind != TK_EOF ||
        (t.kind != TK_DOT && t.kind != TK_COLON))
      return false;
    if (t.kind == TK_COLON)
      a->colon = t;
    lex(x, t.end, &a->last);
    if (!tk_is_name(a->last.kind))
      return false;
  }
}

/* Role of `async`: a keyword when `function` follows on the same line, in
 * one of the forms of section 3; otherwise a name. */
static enum role classify_async(struct xlate *x, const struct token *t,
                                struct ahead *a) {
  bool local = x->bind == B_LOCAL_FIRST;
  struct token paren;
  if (!local && (x->after_dot || bind_is_name(x->bind)))
    return R_PLAIN;
  lex(x, t->end, &a->fn);
  if (a->fn.kind != TK_FUNCTION || a->fn.nl)
    return R_PLAIN;
  if (local)
    return read_funcname(x, a->fn.end, true, a) ? R_ASYNC_LOCAL : R_PLAIN;
  if (x->stat)
    return read_funcname(x, a->fn.end, false, a) ? R_ASYNC_STAT : R_PLAIN;
  lex(x, a->fn.end, &paren);
  return paren.kind == TK_LPAREN ? R_ASYNC_EXPR : R_PLAIN;
}

static enum role classify(struct xlate *x, const struct token *t, struct ahead *a) {
  if (x->depth == MAX_PENDING)
    return R_PLAIN;
  if (t->kind == TK_AWAIT)
    return classify_await(x, t, a);
  if (t->kind == TK_ASYNC)
    return classify_async(x, t, a);
  return R_PLAIN;
}

/* Feeds the token to every pending await operand; the operands that end
 * before it, innermost first, get their `)` right after the previous token. */
static void feed_operands(struct xlate *x, const struct token *t, enum role r) {
  struct op_token ot = {
    .kind = t->kind,
    .await_kw = r == R_AWAIT,
    .async_kw = r == R_ASYNC_EXPR,
    .br = x->br,
    .blk = x->blk,
    .br_after = x->br + br_delta(t->kind),
    .blk_after = x->blk + blk_delta(t->kind),
  };
  bool closing = true;
  for (size_t i = x->depth; i-- > 0;) {
    struct pending *p = &x->stack[i];
    if (p->is_async) {
      closing = false;
      continue;
    }
    bool inside = at_operand_step(&p->op, &ot);
    if (!inside && closing) {
      at_emit_insert(&x->out, t->gap, ")");
      x->depth = i;
      x->operands--;
    } else {
      closing = false;
    }
  }
}

/* Pushes a pending close; the caller checked there is room (classify). */
static void push_operand(struct xlate *x) {
  struct pending *p = &x->stack[x->depth++];
  x->operands++;
  p->is_async = false;
  p->target = 0;
  p->op.state = OP_EXPECT;
  p->op.after = OP_EXPECT;
  p->op.target = 0;
}

static void push_async(struct xlate *x) {
  struct pending *p = &x->stack[x->depth++];
  p->is_async = true;
  p->target = x->blk;
  p->name_start = p->name_end = 0;
}

/* The close of an async function: `)`, or `, "name")` for the statement
 * forms, so that warnings and task descriptions can name the function. The
 * name is the source text without blanks; one holding anything else than
 * names, dots and colons (a comment...) is left out. */
static void emit_async_close(struct xlate *x, const struct pending *p, size_t at) {
  char buf[160];
  size_t n = 0;
  bool ok = p->name_end > p->name_start;
  buf[n++] = ',';
  buf[n++] = ' ';
  buf[n++] = '"';
  for (size_t i = p->name_start; ok && i < p->name_end; i++) {
    char c = x->src[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
      continue;
    bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':';
    if (!word || n + 3 >= sizeof buf)
      ok = false;
    else
      buf[n++] = c;
  }
  if (!ok) {
    at_emit_insert(&x->out, at, ")");
    return;
  }
  buf[n++] = '"';
  buf[n++] = ')';
  buf[n] = '\0';
  at_emit_insert(&x->out, at, buf);
}

/* After an `end`: closes the async functions it ends. */
static void close_async(struct xlate *x, const struct token *t) {
  while (x->depth > 0) {
    struct pending *p = &x->stack[x->depth - 1];
    if (!p->is_async || x->blk > p->target)
      return;
    emit_async_close(x, p, t->end);
    x->depth--;
  }
}

/* The bookkeeping of a token that is left as it is. */
static void pass(struct xlate *x, const struct token *t) {
  enum tk k = t->kind;
  unsigned f = kind_flags[k];
  if (f & (K_OPEN | K_CLOSE))
    x->br += (f & K_OPEN) ? 1 : -1;
  if (f & K_BLOCK) {
    x->blk++;
  } else if (f & K_END) {
    x->blk--;
    close_async(x, t);
  }
  x->stat = (f & K_STAT) || (x->bind == B_ATTRIB_END && k == TK_GT);
  x->after_dot = k == TK_DOT || k == TK_COLON;
  if (x->bind != B_NONE || (f & K_BIND))
    x->bind = bind_step(x->bind, k);
}

/* `async function a.b:c(` or `local async function f(`: the name moves in
 * front, the `:` becomes `.`, and a method gets `self`. Lexing resumes after
 * the last name, in the state after a function statement's name. */
static size_t async_statement(struct xlate *x, const struct token *t,
                              const struct ahead *a, bool local) {
  struct emit *e = &x->out;
  at_emit_drop(e, t->start, a->first.start);
  if (local) {
    at_emit_insert(e, a->first.end, "; ");
    at_emit_insertn(e, a->first.end, x->src + a->first.start,
                 a->first.end - a->first.start);
  } else if (a->colon.kind != TK_EOF) {
    at_emit_insert(e, a->colon.start, ".");
    at_emit_drop(e, a->colon.start, a->colon.end);
  }
  at_emit_insert(e, a->last.end, " = " ALUA_SYNTAX_ASYNC "(function");
  if (a->colon.kind != TK_EOF && !local) {
    struct token after;
    lex(x, a->paren.end, &after);
    at_emit_insert(e, a->paren.end, after.kind == TK_RPAREN ? "self" : "self, ");
  }
  if (a->first.kind == TK_AWAIT)
    x->await_name = true;
  push_async(x);
  x->stack[x->depth - 1].name_start = a->first.start;
  x->stack[x->depth - 1].name_end = a->last.end;
  x->blk++;
  x->stat = false;
  x->after_dot = false;
  x->bind = B_FUNC_DOT;
  return a->last.end;
}

/* Emits the token in its role and returns where lexing resumes. */
static size_t apply(struct xlate *x, const struct token *t, enum role r,
                    const struct ahead *a) {
  switch (r) {
  case R_AWAIT:
    at_emit_insert(&x->out, t->start, ALUA_SYNTAX_AWAIT "(");
    at_emit_drop(&x->out, t->start, a->next.start);
    push_operand(x);
    x->stat = false;
    x->after_dot = false;
    x->bind = B_NONE;
    return t->end;
  case R_ASYNC_EXPR:
    /* `function` itself is left for the main loop, which counts its block */
    at_emit_insert(&x->out, t->start, ALUA_SYNTAX_ASYNC "(");
    at_emit_drop(&x->out, t->start, a->fn.start);
    push_async(x);
    x->stat = false;
    x->after_dot = false;
    x->bind = B_NONE;
    return t->end;
  case R_ASYNC_STAT:
    return async_statement(x, t, a, false);
  case R_ASYNC_LOCAL:
    return async_statement(x, t, a, true);
  case R_PLAIN:
  default:
    pass(x, t);
    return t->end;
  }
}

/* At the end of the input: closes the operands that are whole expressions.
 * Incomplete ones (and async functions without their `end`) stay open, so
 * that Lua reports the `<eof>` error a REPL waits for. */
static void finish(struct xlate *x, const struct token *eof) {
  while (x->depth > 0) {
    struct pending *p = &x->stack[x->depth - 1];
    if (p->is_async || !at_operand_complete(&p->op))
      return;
    at_emit_insert(&x->out, eof->gap, ")");
    x->depth--;
    x->operands--;
  }
}

static void run(struct xlate *x, size_t pos) {
  struct token t;
  struct ahead a;
  for (;;) {
    lex(x, pos, &t);
    if (t.kind == TK_EOF) {
      finish(x, &t);
      return;
    }
    enum role r = R_PLAIN;
    if (t.kind == TK_AWAIT || t.kind == TK_ASYNC)
      r = classify(x, &t, &a);
    if (x->operands)
      feed_operands(x, &t, r);
    pos = apply(x, &t, r, &a);
  }
}

/* True if src holds the letters of either keyword anywhere. Most Lua files
 * hold neither, and then the output is the input without lexing at all. */
static bool mentions_keywords(const char *src, size_t len) {
  return memmem(src, len, "await", 5) != NULL || memmem(src, len, "async", 5) != NULL;
}

/* Where the code starts: after a UTF-8 byte order mark and a '#' first line,
 * which luaL_loadfilex skips up to its '\n'. The prelude goes there. */
static size_t code_start(const char *src, size_t len) {
  size_t i = 0;
  if (len >= 3 && memcmp(src, "\xEF\xBB\xBF", 3) == 0)
    i = 3;
  if (i < len && src[i] == '#') {
    const char *nl = memchr(src + i, '\n', len - i);
    i = nl ? (size_t)(nl - src) + 1 : len;
    if (i < len && src[i] == '\r') {
      /* luaL_loadfilex's "\n" for the '#' line pairs with this '\r' into one
       * line break, while in the text the '\r' may pair with a '\n' after
       * it: code starts at the first token, where neither can be split */
      struct token t;
      at_lex_next(src, len, i, &t);
      i = t.start;
    }
  }
  return i;
}

int at_translate(const char *src, size_t len, char **out, size_t *outlen) {
  struct xlate x;
  if (!out || !outlen || (!src && len))
    return -EINVAL;
  if (!src)
    src = "";
  size_t start = code_start(src, len);
  x.src = src;
  x.len = len;
  x.bind = B_NONE;
  x.stat = true;
  x.after_dot = false;
  x.await_name = false;
  x.br = 0;
  x.blk = 0;
  x.depth = 0;
  x.operands = 0;
  x.memo = NULL;
  x.nmemo = x.capmemo = 0;
  x.frames = NULL;
  x.capframes = 0;
  at_emit_init(&x.out, src, len, start, PRELUDE);
  /* a chunk starting with ESC is binary to lua_load: never touch it */
  if (len > 0 && src[0] != '\x1b' && mentions_keywords(src + start, len - start))
    run(&x, start);
  free(x.memo);
  free(x.frames);
  return at_emit_finish(&x.out, len, out, outlen);
}
