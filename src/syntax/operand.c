/* The await-operand state machine (see operand.h). */
#include "syntax/operand.h"

static bool is_close(enum tk k) {
  return k == TK_RPAREN || k == TK_RBRACE || k == TK_RBRACKET;
}

static void nest(struct operand *o, const struct op_token *t, enum op_state after) {
  o->state = OP_NEST;
  o->after = after;
  o->target = t->br;
}

static void func(struct operand *o, const struct op_token *t) {
  o->state = OP_FUNC;
  o->target = t->blk;
}

static bool end(struct operand *o) {
  o->state = OP_ENDED;
  return false;
}

bool at_operand_can_start(enum tk k) {
  switch (k) {
  case TK_NAME: case TK_ASYNC: case TK_AWAIT: case TK_NUMBER: case TK_STRING:
  case TK_NIL: case TK_TRUE: case TK_FALSE: case TK_DOTS: case TK_FUNCTION:
  case TK_LPAREN: case TK_LBRACE: case TK_MINUS: case TK_NOT: case TK_HASH:
  case TK_TILDE:
    return true;
  default:
    return false;
  }
}

/* OP_EXPECT: the start of a simple expression, after any unary operators. */
static bool expect(struct operand *o, const struct op_token *t) {
  if (t->await_kw || t->async_kw)
    return true;
  switch (t->kind) {
  case TK_MINUS: case TK_NOT: case TK_HASH: case TK_TILDE:
    return true;
  case TK_NAME: case TK_ASYNC: case TK_AWAIT:
    o->state = OP_SUFFIX;
    return true;
  case TK_LPAREN:
    nest(o, t, OP_SUFFIX);
    return true;
  case TK_LBRACE:
    nest(o, t, OP_PLAIN);
    return true;
  case TK_FUNCTION:
    func(o, t);
    return true;
  case TK_NUMBER: case TK_STRING: case TK_NIL: case TK_TRUE: case TK_FALSE:
  case TK_DOTS:
    o->state = OP_PLAIN;
    return true;
  default:
    return end(o);
  }
}

/* OP_SUFFIX: `.name`, `[exp]`, `:name args`, call arguments, or `^`. */
static bool suffix(struct operand *o, const struct op_token *t) {
  switch (t->kind) {
  case TK_DOT:
    o->state = OP_DOT;
    return true;
  case TK_COLON:
    o->state = OP_COLON;
    return true;
  case TK_LBRACKET: case TK_LPAREN: case TK_LBRACE:
    nest(o, t, OP_SUFFIX);
    return true;
  case TK_STRING:
    return true;
  case TK_CARET:
    o->state = OP_EXPECT;
    return true;
  default:
    return end(o);
  }
}

bool at_operand_step(struct operand *o, const struct op_token *t) {
  switch (o->state) {
  case OP_EXPECT:
    return expect(o, t);
  case OP_SUFFIX:
    return suffix(o, t);
  case OP_PLAIN:
    if (t->kind != TK_CARET)
      return end(o);
    o->state = OP_EXPECT;
    return true;
  case OP_DOT:
    if (!tk_is_name(t->kind))
      return end(o);
    o->state = OP_SUFFIX;
    return true;
  case OP_COLON:
    if (!tk_is_name(t->kind))
      return end(o);
    o->state = OP_METHOD;
    return true;
  case OP_METHOD:
    if (t->kind == TK_STRING) {
      o->state = OP_SUFFIX;
      return true;
    }
    if (t->kind != TK_LPAREN && t->kind != TK_LBRACE)
      return end(o);
    nest(o, t, OP_SUFFIX);
    return true;
  case OP_NEST:
    if (is_close(t->kind) && t->br_after <= o->target)
      o->state = o->after;
    return true;
  case OP_FUNC:
    if (t->kind == TK_END && t->blk_after <= o->target)
      o->state = OP_PLAIN;
    return true;
  case OP_ENDED:
  default:
    return false;
  }
}

bool at_operand_complete(const struct operand *o) {
  return o->state == OP_SUFFIX || o->state == OP_PLAIN || o->state == OP_ENDED;
}
