"""A tolerant reader for go.mod files, for display and for the ``module`` line.

The proxy serves go.mod files byte for byte and never rewrites them; it reads them only
to show a module's requirements, its retractions and its deprecation notice, and to
check the module path a go.mod declares. So this parser never raises: what it cannot
understand it skips, much as cmd/go's lax parser (modfile.ParseLax) ignores directives
that only matter in a main module (replace, exclude, toolchain, tool, godebug).

The rules for comments follow golang.org/x/mod/modfile, because they carry meaning:

* A ``// Deprecated:`` paragraph in the comment block directly above the ``module``
  line (no blank line in between) or on the line itself deprecates the module.
* The comment above or beside a ``retract`` line is its rationale; a line inside a
  ``retract (...)`` block without comments of its own takes the block's comment.
* ``// indirect`` beside a requirement marks it indirect.
"""

import re
from dataclasses import dataclass, field
from typing import Iterator

from . import semver
from .errors import GoProxyError
from .paths import check_path_major, split_path_version


@dataclass(frozen=True)
class Require:
    path: str
    version: str
    indirect: bool = False


@dataclass(frozen=True)
class Retract:
    """Retracted versions ``low`` through ``high`` (equal for a single version)."""

    low: str
    high: str
    rationale: str = ""


@dataclass(frozen=True)
class GoMod:
    module: str | None = None
    go: str | None = None
    requires: list[Require] = field(default_factory=list)
    retracts: list[Retract] = field(default_factory=list)
    deprecated: str | None = None


def parse_go_mod(data: bytes) -> GoMod:
    """Parse go.mod content as far as it makes sense; never raises on odd input."""
    text = data.decode("utf-8", errors="replace")
    module = go = deprecated = None
    seen_module = False
    requires: list[Require] = []
    retracts: list[Retract] = []
    for stmt in _statements(text):
        if stmt.verb == "module" and not seen_module:
            seen_module = True  # only the first module line counts, as in Go
            deprecated = _deprecation(stmt.directive_comment)
            if len(stmt.args) == 1:
                module = _parse_string(stmt.args[0])
        elif stmt.verb == "go" and go is None and len(stmt.args) == 1:
            go = _parse_go_version(stmt.args[0])
        elif stmt.verb == "require":
            require = _parse_require(stmt)
            if require:
                requires.append(require)
        elif stmt.verb == "retract":
            retract = _parse_retract(stmt)
            if retract:
                retracts.append(retract)
    return GoMod(module=module, go=go, requires=requires, retracts=retracts, deprecated=deprecated)


def module_path_of(data: bytes) -> str | None:
    """The module path a go.mod declares, or None; tolerant of everything else in it.

    Scans for the first ``module`` line as modfile.ModulePath does, so it works even on a
    go.mod the parser would choke on. A ``module (...)`` block falls back to the parser.
    """
    for raw_line in data.split(b"\n"):
        line = raw_line.split(b"//", 1)[0].strip()
        if not line.startswith(b"module"):
            continue
        rest = line[len(b"module") :]
        path = rest.strip()
        if len(path) == len(rest) or not path:
            continue  # "modulex" or a bare "module"
        if path == b"(":
            return parse_go_mod(data).module
        text = path.decode("utf-8", errors="surrogateescape")
        if text[0] in "\"`":
            return _unquote(text)
        return text
    return None


# -- statements -----------------------------------------------------------------------


@dataclass
class _Line:
    tokens: list[str]
    comment: str | None  # the "//..." text on this physical line, if any


@dataclass
class _Statement:
    verb: str
    args: list[str]
    comments: list[str]  # comment lines attached to this line ("" marks a blank line)
    suffix: str | None  # the comment at the end of the line itself
    block_comments: list[str] | None  # comments above the enclosing "verb (" line

    @property
    def directive_comment(self) -> str:
        """The comment text that belongs to this directive (modfile.parseDirectiveComment).

        The line's own comments if it has any, else its block's. Lines are stripped of
        ``//`` and spaces and joined with newlines, so an empty ``//`` line separates
        paragraphs.
        """
        own = self.comments + ([self.suffix] if self.suffix else [])
        chosen = own if own or self.block_comments is None else self.block_comments
        return "\n".join(c[2:].strip() for c in chosen if c.startswith("//"))


def _statements(text: str) -> Iterator[_Statement]:
    """Group lines into directives, attaching comments the way modfile does."""
    lines = iter(_lex_line(line) for line in text.split("\n"))
    pending: list[str] = []
    for line in lines:
        if not line.tokens:
            # At top level a blank line detaches the comments above it.
            pending = pending + [line.comment] if line.comment is not None else []
            continue
        before, pending = pending, []
        tokens = line.tokens
        if len(tokens) >= 2 and tokens[-2:] == ["(", ")"]:
            continue  # an empty block: "require ()"
        if len(tokens) >= 2 and tokens[-1] == "(":
            # Go only understands blocks with a single verb ("require (").
            verb = tokens[0] if len(tokens) == 2 else ""
            yield from _block(verb, before, lines)
            continue
        yield _Statement(tokens[0], tokens[1:], before, line.comment, None)


def _block(verb: str, block_comments: list[str], lines: Iterator[_Line]) -> Iterator[_Statement]:
    comments: list[str] = []
    seen_line = False
    for line in lines:
        if line.tokens and line.tokens[0] == ")":
            return
        if not line.tokens:
            if line.comment is not None:
                comments.append(line.comment)
            elif (seen_line and not comments) or (comments and comments[-1] != ""):
                # modfile keeps blank lines as empty comments: they make the next line
                # "have comments" and so stop it from inheriting the block's comment.
                comments.append("")
            continue
        seen_line = True
        if verb:
            yield _Statement(verb, line.tokens, comments, line.comment, block_comments)
        comments = []


_PUNCTUATION = frozenset("()[]{},")


# Printable ASCII, tabs and carriage returns: nearly every go.mod line. Such a line is
# split by one regular expression with the same rules as _lex_any_line (a 633,589-line
# go.mod took 6.6 s character by character, issue 20); any other line goes the slow way.
_ASCII_LINE = re.compile(r"[\t\r\x20-\x7e]*")
_ASCII_TOKEN = re.compile(
    r"[ \t\r]+"  # spacing
    r"|(?P<comment>//.*)"
    r"|(?P<token>[()\[\]{},]"  # punctuation
    r'|"(?:[^"\\]|\\.)*(?:"|\\)?'  # an interpreted string, maybe unterminated
    r"|`[^`]*`?"  # a raw string, maybe unterminated
    r"|.(?:(?!//)[^ \t\r()\[\]{},])*)"  # a word: up to spacing, punctuation or a comment
)


def _lex_line(line: str) -> _Line:
    """Split one line into tokens (words, quoted strings, punctuation) and its comment."""
    if not _ASCII_LINE.fullmatch(line):
        return _lex_any_line(line)
    tokens = []
    for match in _ASCII_TOKEN.finditer(line):
        comment = match.group("comment")
        if comment is not None:
            return _Line(tokens, comment.rstrip("\r"))
        token = match.group("token")
        if token is not None:
            tokens.append(token)
    return _Line(tokens, None)


def _lex_any_line(line: str) -> _Line:
    """_lex_line character by character, for lines with characters beyond printable ASCII."""
    tokens = []
    i, n = 0, len(line)
    while i < n:
        char = line[i]
        if char in " \t\r":
            i += 1
        elif line.startswith("//", i):
            return _Line(tokens, line[i:].rstrip("\r"))
        elif char in _PUNCTUATION:
            tokens.append(char)
            i += 1
        elif char in "\"`":
            end = _string_end(line, i)
            tokens.append(line[i:end])
            i = end
        else:
            end = i + 1
            while end < n and _is_word_char(line[end]) and not line.startswith("//", end):
                end += 1
            tokens.append(line[i:end])
            i = end
    return _Line(tokens, None)


def _is_word_char(char: str) -> bool:
    return char not in _PUNCTUATION and not char.isspace() and char.isprintable()


def _string_end(line: str, start: int) -> int:
    """Index just past the quoted string starting at ``start`` (or the line's end)."""
    quote_char = line[start]
    i = start + 1
    while i < len(line):
        if line[i] == "\\" and quote_char == '"':
            i += 2
            continue
        if line[i] == quote_char:
            return i + 1
        i += 1
    return len(line)


# -- directives -----------------------------------------------------------------------

_GO_VERSION_RE = re.compile(r"([1-9][0-9]*)\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?([a-z]+[0-9]+)?", re.ASCII)
# Old go.mod files in the wild say "go 1.13.x" or "go v1.12"; lax parsing keeps 1.13.
_LAX_GO_VERSION_RE = re.compile(r"v?(([1-9][0-9]*)\.(0|[1-9][0-9]*))([^0-9].*)", re.ASCII | re.DOTALL)
# A deprecation is a paragraph starting "Deprecated:"; it runs to the paragraph's end.
_DEPRECATED_RE = re.compile(r"(?:^|\n\n)Deprecated: *(.*?)(?:\Z|\n\n)", re.DOTALL)


def _parse_go_version(arg: str) -> str | None:
    if _GO_VERSION_RE.fullmatch(arg):
        return arg
    lax = _LAX_GO_VERSION_RE.fullmatch(arg)
    return lax.group(1) if lax else None


def _deprecation(comment: str) -> str | None:
    match = _DEPRECATED_RE.search(comment)
    return match.group(1) if match else None


def _parse_require(stmt: _Statement) -> Require | None:
    if len(stmt.args) != 2:
        return None
    path = _parse_string(stmt.args[0])
    version = _parse_version(stmt.args[1])
    if path is None or version is None:
        return None
    try:
        # modfile refuses a requirement whose version cannot live at that path.
        check_path_major(version, split_path_version(path)[1])
    except GoProxyError:
        return None
    return Require(path=path, version=version, indirect=_is_indirect(stmt.suffix))


def _is_indirect(suffix: str | None) -> bool:
    """``// indirect``, or ``// indirect; some other note``."""
    words = suffix[2:].split() if suffix else []
    return words == ["indirect"] or (len(words) > 1 and words[0] == "indirect;")


def _parse_retract(stmt: _Statement) -> Retract | None:
    args = stmt.args
    if args[:1] == ["["]:
        if len(args) < 5 or args[2] != "," or args[4] != "]":
            return None
        low, high = _parse_version(args[1]), _parse_version(args[3])
    elif args:
        low = high = _parse_version(args[0])
    else:
        return None
    if low is None or high is None:
        return None
    return Retract(low=low, high=high, rationale=stmt.directive_comment)


def _parse_version(arg: str) -> str | None:
    text = _parse_string(arg)
    canonical = semver.canonical(text) if text is not None else ""
    return canonical or None


def _parse_string(token: str) -> str | None:
    """A go.mod string: a bare word, or a double-quoted Go string literal."""
    if token.startswith('"'):
        return _unquote(token)
    if any(quote_char in token for quote_char in "\"'`"):
        return None  # quotes inside words are reserved in go.mod
    return token


_ESCAPE_RE = re.compile(r"\\(?:[abfnrtv\\\"]|x[0-9A-Fa-f]{2}|[0-7]{3}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})")
_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"'}


def _unquote(literal: str) -> str | None:
    """Decode a Go string literal (interpreted ``"..."`` or raw `` `...` ``), or None."""
    if len(literal) < 2 or literal[0] != literal[-1] or literal[0] not in "\"`":
        return None
    body = literal[1:-1]
    if literal[0] == "`":
        return None if "`" in body else body
    unescaped = _ESCAPE_RE.sub("", body)
    if "\\" in unescaped or '"' in unescaped or "\n" in unescaped:
        return None  # an unknown escape, an unescaped quote, a raw newline
    try:
        return _ESCAPE_RE.sub(_decode_escape, body)
    except ValueError:
        return None  # \777 or \U00110000: not a character


def _decode_escape(match: re.Match) -> str:
    escape = match.group()[1:]
    if escape[0] in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[escape[0]]
    if escape[0] in "uU":
        return chr(int(escape[1:], 16))
    value = int(escape[1:], 16) if escape[0] == "x" else int(escape, 8)
    if value > 0xFF:
        raise ValueError("octal escape out of range")
    return chr(value)
