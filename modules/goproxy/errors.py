"""The exceptions raised by this package, and Go-style quoting for their messages.

Every error is a ``ValueError``: it always means "this input breaks a protocol rule",
never "something went wrong on our side", so callers can map the whole family to a
4xx answer (usually 404, as the go command expects for unknown or malformed paths).
Messages follow Go's wording where Go has one, lowercase and short, because they end up
in the first lines of a text/plain error body that the go command prints to the user.
"""


class GoProxyError(ValueError):
    """Base class: the input breaks a rule of the module proxy protocol."""


class InvalidPathError(GoProxyError):
    """A module, import or file path (or its escaped form) is malformed."""


class InvalidVersionError(GoProxyError):
    """A version (or its escaped form) is malformed or does not fit the module path.

    ``reason`` is the message without the ``version "..." invalid:`` lead, for callers
    that name the module and version themselves (``m@v: invalid version: <reason>``).
    """

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason or message


class InvalidZipError(GoProxyError):
    """A module zip file breaks golang.org/x/mod/zip's rules or is not a readable zip.

    ``problems`` lists every problem found (the message shows the first), so an audit
    record can keep the whole list.
    """

    def __init__(self, message: str, problems: tuple[str, ...] = ()):
        super().__init__(message)
        self.problems = problems or (message,)


class InvalidRequestError(GoProxyError):
    """A download-protocol URL path cannot name a module endpoint; answer 404."""


class InvalidProxyListError(GoProxyError):
    """A GOPROXY-style list of upstreams cannot be parsed."""


def quote(text: str) -> str:
    """Quote ``text`` roughly as Go's ``%q`` does.

    Messages echo untrusted input back to users, so everything unprintable is escaped.
    That includes lone surrogates: this package decodes raw bytes that are not UTF-8
    with ``surrogateescape`` (to keep them distinct, as Go keeps raw bytes), and such a
    character must never reach an HTTP body, where it cannot be encoded.
    """
    return '"' + "".join(_escape_char(char, '"') for char in text) + '"'


def quote_rune(char: str) -> str:
    """Quote a single character as Go's ``%q`` does for a rune: ``'x'``."""
    return "'" + _escape_char(char, "'") + "'"


def _escape_char(char: str, delimiter: str) -> str:
    code = ord(char)
    if char in (delimiter, "\\"):
        return "\\" + char
    if 0xDC80 <= code <= 0xDCFF:  # a raw byte smuggled through surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if char.isprintable() and not 0xD800 <= code <= 0xDFFF:
        return char
    named = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}
    if char in named:
        return named[char]
    if code < 0x80:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
