#!/usr/bin/env python3
"""Generates the prompt's help (src/cli/help.c) from the API reference.

    gen_help.py docs/api.md OUTPUT.c

Run at build time, so `help` at the prompt cannot drift from the document.
Every row of a two-column table in docs/api.md whose first cell holds code
is an entry: the first cell is its title (the signatures), the second its
text, and the section (## heading) it is under groups it. The entry is
found by the qualified names in its title (`asyncio.sleep`, `loop:time`,
`t:done`: a name, then `.name` or `:name` parts), and the keywords `async`
and `await` by the rows that begin with them; methods its text shows called
(`q:put(v)`) find it too, after the entries that have them in their titles.
"""

import re
import sys

QUALIFIED = re.compile(r"[A-Za-z_]\w*(?:[.:][A-Za-z_]\w*)+")
METHOD_CALL = re.compile(r"\b[A-Za-z_]\w*:[A-Za-z_]\w*(?=\()")


def plain(md):
    """Markdown of a table cell as plain text."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", md)   # links
    text = text.replace("`", "")
    text = re.sub(r"\*\*([^*]+)\*\*", r"\1", text)
    text = re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"\1", text)
    text = text.replace("\\|", "|")
    return " ".join(text.split())


def summary(text):
    """The first clause of an entry's text: up to the first '; ' or the end
    of its first sentence ('. ', not '... ')."""
    m = re.search(r"(; |(?<!\.)\. )", text)
    s = text[: m.start()] if m else text
    return s.rstrip(".")


def cells(line):
    """The cells of a table row; '|' escaped as '\\|' stays in its cell."""
    parts = re.split(r"(?<!\\)\|", line.strip())
    return [p.strip() for p in parts[1:-1]]


def names_of(title_md):
    names = []
    for span in re.findall(r"`([^`]*)`", title_md):
        if span.startswith("async function"):
            names.append("async")
        if span.startswith("await "):
            names.append("await")
        for n in QUALIFIED.findall(span):
            if n not in names:
                names.append(n)
    return names


def c_string(s):
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 32:
            out.append("\\%03o" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def main():
    src, dst = sys.argv[1], sys.argv[2]
    entries = []
    section = ""
    with open(src, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if line.startswith("## "):
                section = plain(line[3:].strip())
                continue
            if not line.startswith("|"):
                continue
            row = cells(line)
            if len(row) < 2 or "`" not in row[0] or set(row[0]) <= set("-: "):
                continue
            names = names_of(row[0])
            text = plain(row[1])
            if not names:
                sys.exit("%s:%d: an entry without a name (asyncio.f, obj:m) in its first cell" % (src, lineno))
            if not text:
                sys.exit("%s:%d: the entry %s has no text" % (src, lineno, names[0]))
            also = []
            for span in re.findall(r"`([^`]*)`", row[1]):
                for n in METHOD_CALL.findall(span):
                    if n not in names and n not in also:
                        also.append(n)
            entries.append((section, names, also, plain(row[0]), summary(text), text))
    if not entries:
        sys.exit("%s: no entries found" % src)
    # The strings go into one constant, each once, and the entries hold
    # their offsets (byte offsets of the UTF-8 text).
    pool, offsets = [], {}

    def offset(s):
        if s not in offsets:
            offsets[s] = sum(len(p.encode("utf-8")) + 1 for p in pool)
            pool.append(s)
        return offsets[s]
    rows = [tuple(offset(s) for s in (section, " ".join(names), " ".join(also), title, summ, text))
            for section, names, also, title, summ, text in entries]
    with open(dst, "w", encoding="utf-8") as out:
        out.write("/* Generated from docs/api.md by src/cli/gen_help.py: do not edit. */\n")
        out.write('#include "cli/repl.h"\n\n')
        out.write("const char cli_help_strings[] =\n")
        for s in pool:
            out.write("    %s\\0\"\n" % c_string(s)[:-1])
        out.write('    "";\n\n')
        out.write("const struct cli_help_entry cli_help_entries[] = {\n")
        for row in rows:
            out.write("    {%d, %d, %d, %d, %d, %d},\n" % row)
        out.write("};\n")
        out.write("const int cli_help_count = %d;\n" % len(entries))


if __name__ == "__main__":
    main()
