/* Where the operand of `await` ends. The operand is what a Lua unary
 * operator takes (lparser.c: subexpr with UNARY_PRIORITY): more unary
 * operators, then a simple or suffixed expression, then any `^` chain, since
 * `^` binds tighter than unary operators. The tracker is a state machine fed
 * one token at a time, so nesting costs no C recursion: bracketed parts and
 * function bodies are followed through the translator's depth counters. */
#ifndef ALUA_SYNTAX_OPERAND_H
#define ALUA_SYNTAX_OPERAND_H

#include <stdbool.h>

#include "syntax/lex.h"

enum op_state {
  OP_EXPECT, /* an operand (or a unary operator) must come next */
  OP_SUFFIX, /* after a name, index or call: suffixes or `^` may follow */
  OP_PLAIN,  /* after a literal, constructor or function body: only `^` */
  OP_DOT,    /* after `.`: a field name */
  OP_COLON,  /* after `:`: a method name */
  OP_METHOD, /* after `:name`: call arguments */
  OP_NEST,   /* inside brackets opened at bracket depth `target` */
  OP_FUNC,   /* inside a function body opened at block depth `target` */
  OP_ENDED,  /* the operand ended; waiting to be closed */
};

struct operand {
  enum op_state state; /* where the operand's parse is */
  enum op_state after; /* state to take when OP_NEST's brackets close */
  long target;         /* depth at which OP_NEST or OP_FUNC ends */
};

/* One token as the tracker sees it. */
struct op_token {
  enum tk kind;  /* its kind */
  bool await_kw; /* it is `await` used as the keyword */
  bool async_kw; /* it is `async` before the `function` of an expression */
  long br;        /* bracket depth before the token */
  long blk;       /* block depth before the token */
  long br_after;  /* bracket depth after it */
  long blk_after; /* block depth after it */
};

/* Feeds a token to the operand. Returns true if the token is part of it,
 * false if the operand ended just before it (it then stays ended). */
bool at_operand_step(struct operand *o, const struct op_token *t);

/* True if the operand, as far as it went, is a whole expression (or was
 * already cut short): closing it at the end of the input cannot hide the
 * error Lua gives for incomplete input. */
bool at_operand_complete(const struct operand *o);

/* True if a token of this kind can begin an operand. */
bool at_operand_can_start(enum tk kind);

#endif
