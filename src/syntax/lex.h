/* A Lua 5.4 lexer that only finds token boundaries: it never decodes a
 * literal and never fails. Token boundaries agree with Lua's own lexer on
 * valid input; on invalid input it still makes progress and stays in bounds,
 * leaving the error to Lua. */
#ifndef ALUA_SYNTAX_LEX_H
#define ALUA_SYNTAX_LEX_H

#include <stdbool.h>
#include <stddef.h>

enum tk {
  TK_EOF,
  TK_NAME,
  TK_ASYNC, /* the name `async` */
  TK_AWAIT, /* the name `await` */
  TK_NUMBER,
  TK_STRING, /* short or long string literal */
  TK_OTHER,  /* a byte Lua rejects, or a malformed long bracket */
  /* reserved words */
  TK_AND, TK_BREAK, TK_DO, TK_ELSE, TK_ELSEIF, TK_END, TK_FALSE, TK_FOR,
  TK_FUNCTION, TK_GOTO, TK_IF, TK_IN, TK_LOCAL, TK_NIL, TK_NOT, TK_OR,
  TK_REPEAT, TK_RETURN, TK_THEN, TK_TRUE, TK_UNTIL, TK_WHILE,
  /* symbols */
  TK_PLUS, TK_MINUS, TK_STAR, TK_SLASH, TK_IDIV, TK_PERCENT, TK_CARET,
  TK_HASH, TK_AMP, TK_TILDE, TK_PIPE, TK_SHL, TK_SHR, TK_CONCAT, TK_DOTS,
  TK_EQ, TK_NE, TK_LE, TK_GE, TK_LT, TK_GT, TK_ASSIGN, TK_LPAREN, TK_RPAREN,
  TK_LBRACE, TK_RBRACE, TK_LBRACKET, TK_RBRACKET, TK_DBCOLON, TK_SEMI,
  TK_COLON, TK_COMMA, TK_DOT,
  TK_NKINDS /* the number of kinds */
};

struct token {
  enum tk kind; /* what it is */
  size_t gap;   /* start of the whitespace and comments before it */
  size_t start; /* offset of its first byte */
  size_t end;   /* offset just past its last byte */
  bool nl;      /* its gap holds a line break */
};

/* Reads the token that follows offset pos (pos <= len) of src[0..len) into
 * *t. At the end of the input t->kind is TK_EOF with t->start == len. */
void at_lex_next(const char *src, size_t len, size_t pos, struct token *t);

/* True for the three kinds a name can lex as. */
static inline bool tk_is_name(enum tk k) {
  return k == TK_NAME || k == TK_ASYNC || k == TK_AWAIT;
}

#endif
