/* Token boundaries of Lua 5.4 source, following llex.c. */
#include "syntax/lex.h"

#include <string.h>

enum {
  C_ALPHA = 1, /* letter or '_': may start a name */
  C_DIGIT = 2, /* decimal digit */
  C_XDIGIT = 4, /* hexadecimal digit */
  C_SPACE = 8, /* whitespace other than a line break */
  C_NL = 16,   /* '\n' or '\r' */
};

/* Lua's own classes for the C locale; bytes >= 0x80 are in none of them. */
static const unsigned char cls[256] = {
  ['\t'] = C_SPACE, ['\v'] = C_SPACE, ['\f'] = C_SPACE, [' '] = C_SPACE,
  ['\n'] = C_NL, ['\r'] = C_NL,
  ['0'] = C_DIGIT | C_XDIGIT, ['1'] = C_DIGIT | C_XDIGIT,
  ['2'] = C_DIGIT | C_XDIGIT, ['3'] = C_DIGIT | C_XDIGIT,
  ['4'] = C_DIGIT | C_XDIGIT, ['5'] = C_DIGIT | C_XDIGIT,
  ['6'] = C_DIGIT | C_XDIGIT, ['7'] = C_DIGIT | C_XDIGIT,
  ['8'] = C_DIGIT | C_XDIGIT, ['9'] = C_DIGIT | C_XDIGIT,
  ['A'] = C_ALPHA | C_XDIGIT, ['B'] = C_ALPHA | C_XDIGIT,
  ['C'] = C_ALPHA | C_XDIGIT, ['D'] = C_ALPHA | C_XDIGIT,
  ['E'] = C_ALPHA | C_XDIGIT, ['F'] = C_ALPHA | C_XDIGIT,
  ['a'] = C_ALPHA | C_XDIGIT, ['b'] = C_ALPHA | C_XDIGIT,
  ['c'] = C_ALPHA | C_XDIGIT, ['d'] = C_ALPHA | C_XDIGIT,
  ['e'] = C_ALPHA | C_XDIGIT, ['f'] = C_ALPHA | C_XDIGIT,
  ['G'] = C_ALPHA, ['H'] = C_ALPHA, ['I'] = C_ALPHA, ['J'] = C_ALPHA,
  ['K'] = C_ALPHA, ['L'] = C_ALPHA, ['M'] = C_ALPHA, ['N'] = C_ALPHA,
  ['O'] = C_ALPHA, ['P'] = C_ALPHA, ['Q'] = C_ALPHA, ['R'] = C_ALPHA,
  ['S'] = C_ALPHA, ['T'] = C_ALPHA, ['U'] = C_ALPHA, ['V'] = C_ALPHA,
  ['W'] = C_ALPHA, ['X'] = C_ALPHA, ['Y'] = C_ALPHA, ['Z'] = C_ALPHA,
  ['g'] = C_ALPHA, ['h'] = C_ALPHA, ['i'] = C_ALPHA, ['j'] = C_ALPHA,
  ['k'] = C_ALPHA, ['l'] = C_ALPHA, ['m'] = C_ALPHA, ['n'] = C_ALPHA,
  ['o'] = C_ALPHA, ['p'] = C_ALPHA, ['q'] = C_ALPHA, ['r'] = C_ALPHA,
  ['s'] = C_ALPHA, ['t'] = C_ALPHA, ['u'] = C_ALPHA, ['v'] = C_ALPHA,
  ['w'] = C_ALPHA, ['x'] = C_ALPHA, ['y'] = C_ALPHA, ['z'] = C_ALPHA,
  ['_'] = C_ALPHA,
};

static inline bool is(const char *s, size_t len, size_t i, int c) {
  return i < len && (cls[(unsigned char)s[i]] & c);
}

static inline bool at(const char *s, size_t len, size_t i, char c) {
  return i < len && s[i] == c;
}

/* For a '[' or ']' at s[i]: the level of the long bracket it opens or closes
 * (the count of '=' before the second bracket), or -1 if it is not one. */
static long bracket_level(const char *s, size_t len, size_t i) {
  char b = s[i];
  size_t j = i + 1;
  while (j < len && s[j] == '=')
    j++;
  return (j < len && s[j] == b) ? (long)(j - i - 1) : -1;
}

/* Skips the body of a long bracket of the given level whose opening bracket
 * ends just before i. Returns the offset past the closing bracket, or len if
 * it never closes. Sets *nl if the body holds a line break. */
static size_t skip_long(const char *s, size_t len, size_t i, long level, bool *nl) {
  size_t lvl = (size_t)level;
  for (;;) {
    const char *close = i < len ? memchr(s + i, ']', len - i) : NULL;
    size_t stop = close ? (size_t)(close - s) : len;
    if (nl && !*nl) {
      for (size_t k = i; k < stop; k++)
        if (cls[(unsigned char)s[k]] & C_NL) {
          *nl = true;
          break;
        }
    }
    if (!close)
      return len;
    i = stop + 1;
    if (len - i >= lvl + 1) {
      size_t k = 0;
      while (k < lvl && s[i + k] == '=')
        k++;
      if (k == lvl && s[i + lvl] == ']')
        return i + lvl + 1;
    }
  }
}

/* Skips a short string whose opening quote is at s[i]. Like Lua, it stops at
 * an unescaped line break (an error Lua will report) or at the end. */
static size_t skip_short(const char *s, size_t len, size_t i) {
  char q = s[i++];
  while (i < len) {
    char c = s[i];
    if (c == q)
      return i + 1;
    if (cls[(unsigned char)c] & C_NL)
      return i;
    if (c != '\\') {
      i++;
      continue;
    }
    i++;
    if (i >= len)
      return len;
    c = s[i++];
    if (c == '\n' || c == '\r') {
      /* "\<CR><LF>" and "\<LF><CR>" are one escaped line break */
      if (i < len && (s[i] == '\n' || s[i] == '\r') && s[i] != c)
        i++;
    } else if (c == 'z') {
      while (is(s, len, i, C_SPACE | C_NL))
        i++;
    }
  }
  return len;
}

/* Skips a numeral whose first digit is at s[i] (read_numeral in llex.c). */
static size_t skip_number(const char *s, size_t len, size_t i) {
  char e1 = 'E', e2 = 'e';
  if (s[i] == '0' && i + 1 < len && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
    e1 = 'P';
    e2 = 'p';
    i++;
  }
  i++;
  for (;;) {
    if (i < len && (s[i] == e1 || s[i] == e2)) {
      i++;
      if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    } else if (is(s, len, i, C_XDIGIT) || at(s, len, i, '.')) {
      i++;
    } else {
      break;
    }
  }
  if (is(s, len, i, C_ALPHA))
    i++;
  return i;
}

/* True if s[0..n) spells w; n is w's length (short: a loop beats memcmp). */
static inline bool spells(const char *s, const char *w, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != w[i])
      return false;
  return true;
}

/* The reserved word spelled by s[0..n), or TK_NAME. */
static enum tk word(const char *s, size_t n) {
#define W(str, k)                                              \
  if (n == sizeof(str) - 1 && spells(s, str, sizeof(str) - 1)) \
    return k
  if (n < 2 || n > 8)
    return TK_NAME;
  switch (s[0]) {
  case 'a':
    W("and", TK_AND);
    W("async", TK_ASYNC);
    W("await", TK_AWAIT);
    break;
  case 'b': W("break", TK_BREAK); break;
  case 'd': W("do", TK_DO); break;
  case 'e':
    W("else", TK_ELSE);
    W("elseif", TK_ELSEIF);
    W("end", TK_END);
    break;
  case 'f':
    W("false", TK_FALSE);
    W("for", TK_FOR);
    W("function", TK_FUNCTION);
    break;
  case 'g': W("goto", TK_GOTO); break;
  case 'i':
    W("if", TK_IF);
    W("in", TK_IN);
    break;
  case 'l': W("local", TK_LOCAL); break;
  case 'n':
    W("nil", TK_NIL);
    W("not", TK_NOT);
    break;
  case 'o': W("or", TK_OR); break;
  case 'r':
    W("repeat", TK_REPEAT);
    W("return", TK_RETURN);
    break;
  case 't':
    W("then", TK_THEN);
    W("true", TK_TRUE);
    break;
  case 'u': W("until", TK_UNTIL); break;
  case 'w': W("while", TK_WHILE); break;
  default: break;
  }
#undef W
  return TK_NAME;
}

/* Skips whitespace and comments from i; sets *nl if they hold a line break. */
static size_t skip_gap(const char *s, size_t len, size_t i, bool *nl) {
  unsigned seen = 0;
  while (i < len) {
    unsigned char c = (unsigned char)s[i];
    unsigned k = cls[c];
    if (k & (C_SPACE | C_NL)) {
      seen |= k;
      i++;
    } else if (c == '-' && at(s, len, i + 1, '-')) {
      i += 2;
      if (at(s, len, i, '[')) {
        long level = bracket_level(s, len, i);
        if (level >= 0) {
          i = skip_long(s, len, i + (size_t)level + 2, level, nl);
          continue;
        }
      }
      while (i < len && !(cls[(unsigned char)s[i]] & C_NL))
        i++;
    } else {
      break;
    }
  }
  if (seen & C_NL)
    *nl = true;
  return i;
}

/* Two-character symbols, and the one-character ones they extend. */
static size_t symbol(const char *s, size_t len, size_t i, enum tk *k) {
  char c = s[i];
  char d = i + 1 < len ? s[i + 1] : '\0';
  switch (c) {
  case '+': *k = TK_PLUS; return 1;
  case '-': *k = TK_MINUS; return 1;
  case '*': *k = TK_STAR; return 1;
  case '%': *k = TK_PERCENT; return 1;
  case '^': *k = TK_CARET; return 1;
  case '#': *k = TK_HASH; return 1;
  case '&': *k = TK_AMP; return 1;
  case '|': *k = TK_PIPE; return 1;
  case '(': *k = TK_LPAREN; return 1;
  case ')': *k = TK_RPAREN; return 1;
  case '{': *k = TK_LBRACE; return 1;
  case '}': *k = TK_RBRACE; return 1;
  case ']': *k = TK_RBRACKET; return 1;
  case ';': *k = TK_SEMI; return 1;
  case ',': *k = TK_COMMA; return 1;
  case '/':
    if (d == '/') { *k = TK_IDIV; return 2; }
    *k = TK_SLASH; return 1;
  case '~':
    if (d == '=') { *k = TK_NE; return 2; }
    *k = TK_TILDE; return 1;
  case '=':
    if (d == '=') { *k = TK_EQ; return 2; }
    *k = TK_ASSIGN; return 1;
  case '<':
    if (d == '=') { *k = TK_LE; return 2; }
    if (d == '<') { *k = TK_SHL; return 2; }
    *k = TK_LT; return 1;
  case '>':
    if (d == '=') { *k = TK_GE; return 2; }
    if (d == '>') { *k = TK_SHR; return 2; }
    *k = TK_GT; return 1;
  case ':':
    if (d == ':') { *k = TK_DBCOLON; return 2; }
    *k = TK_COLON; return 1;
  default:
    *k = TK_OTHER;
    return 1;
  }
}

void at_lex_next(const char *s, size_t len, size_t pos, struct token *t) {
  size_t i;
  t->nl = false;
  t->gap = pos;
  i = skip_gap(s, len, pos, &t->nl);
  t->start = i;
  if (i >= len) {
    t->kind = TK_EOF;
    t->start = t->end = len;
    return;
  }
  unsigned char c = (unsigned char)s[i];
  if (cls[c] & C_ALPHA) {
    size_t j = i + 1;
    while (is(s, len, j, C_ALPHA | C_DIGIT))
      j++;
    t->kind = word(s + i, j - i);
    t->end = j;
  } else if (cls[c] & C_DIGIT) {
    t->kind = TK_NUMBER;
    t->end = skip_number(s, len, i);
  } else if (c == '"' || c == '\'') {
    t->kind = TK_STRING;
    t->end = skip_short(s, len, i);
  } else if (c == '[') {
    long level = bracket_level(s, len, i);
    if (level >= 0) {
      t->kind = TK_STRING;
      t->end = skip_long(s, len, i + (size_t)level + 2, level, NULL);
    } else {
      /* "[=" without a second '[' is an error in Lua; one byte keeps us moving */
      t->kind = at(s, len, i + 1, '=') ? TK_OTHER : TK_LBRACKET;
      t->end = i + 1;
    }
  } else if (c == '.') {
    if (at(s, len, i + 1, '.')) {
      bool three = at(s, len, i + 2, '.');
      t->kind = three ? TK_DOTS : TK_CONCAT;
      t->end = i + (three ? 3 : 2);
    } else if (is(s, len, i + 1, C_DIGIT)) {
      t->kind = TK_NUMBER;
      t->end = skip_number(s, len, i + 1);
    } else {
      t->kind = TK_DOT;
      t->end = i + 1;
    }
  } else {
    t->end = i + symbol(s, len, i, &t->kind);
  }
}
