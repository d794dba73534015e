"""Module paths, file paths and their escaped forms (golang.org/x/mod/module).

A module path names a module (``github.com/Azure/azure-sdk-for-go/v68``); the rules
keep it usable as an import path, a URL path and a directory name on every operating
system. Because neither file systems nor web servers can be trusted to keep
``rsc.io/QUOTE`` and ``rsc.io/quote`` apart, the proxy protocol never uses uppercase
letters: each one is written as ``!`` plus the lowercase letter (``github.com/!azure``).
Versions travel in URLs the same way.

The major version of a module lives in its path: ``example.com/m`` holds v0 and v1,
``example.com/m/v2`` holds v2, and ``gopkg.in/yaml.v3`` holds v3. ``split_path_version``
and ``version_fits_path`` implement that pairing.
"""

import posixpath
import re

from . import semver
from .errors import InvalidPathError, InvalidVersionError, quote, quote_rune

# Reserved device names on Windows: no path element may be one of these (in any case),
# even with an extension ("nul.txt"), or the module could not be extracted there.
_WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"COM{i}" for i in range(1, 10)] + [f"LPT{i}" for i in range(1, 10)]
)

# Punctuation allowed in module path elements: nothing that changes meaning in a URL
# (no '%' or '+') or needs quoting in a shell.
_MODULE_PUNCTUATION = frozenset("-._~")
# Punctuation allowed in file names inside a module zip: more than in module paths, but
# still none of  " ' * < > ? ` |  (shell specials) nor / : \ (path separators).
_FILE_PUNCTUATION = frozenset("!#$%&()+,-.=@[]^_{}~ ")

_GOPKG_IN = "gopkg.in/"


# -- checking paths -------------------------------------------------------------------


def check_path(path: str) -> None:
    """Check that ``path`` is a valid module path (module.CheckPath); raise InvalidPathError.

    A module path is a clean, slash-separated path whose elements use only ASCII letters,
    digits and ``-._~``, with no element starting or ending with a dot. Its first element
    is a domain-like name: lowercase letters, digits, dots and dashes, with at least one
    dot and no leading dash. A final ``/vN`` element must be a valid major version
    suffix (N >= 2, no leading zero); ``gopkg.in/`` paths must end in ``.vN`` instead.
    """
    reason = _path_problem(path, "module") or _module_path_problem(path)
    if reason:
        raise InvalidPathError(f"malformed module path {quote(path)}: {reason}")


def check_import_path(path: str) -> None:
    """Check that ``path`` is a valid package import path (module.CheckImportPath).

    Like a module path element by element (plus ``+``), but with no domain rule for the
    first element and no major-version rule.
    """
    reason = _path_problem(path, "import")
    if reason:
        raise InvalidPathError(f"malformed import path {quote(path)}: {reason}")


def check_file_path(path: str) -> None:
    """Check that ``path`` is a valid file path inside a module (module.CheckFilePath).

    File names may use Unicode letters, spaces and more punctuation than module paths,
    but never characters that are special to shells or file systems.
    """
    reason = _path_problem(path, "file")
    if reason:
        raise InvalidPathError(f"malformed file path {quote(path)}: {reason}")


def _path_problem(path: str, kind: str) -> str | None:
    """Why ``path`` is not a valid path of ``kind`` (module, import, file), or None."""
    if not _is_utf8(path):
        return "invalid UTF-8"
    if path == "":
        return "empty string"
    if path[0] == "-" and kind != "file":
        return "leading dash"
    if "//" in path:
        return "double slash"
    if path.endswith("/"):
        return "trailing slash"
    for elem in path.split("/"):
        reason = _element_problem(elem, kind)
        if reason:
            return reason
    return None


def _element_problem(elem: str, kind: str) -> str | None:
    """Why ``elem`` is not a valid element of a ``kind`` path, or None."""
    if elem == "":
        return "empty path element"
    if elem.count(".") == len(elem):
        return f"invalid path element {quote(elem)}"
    if elem[0] == "." and kind == "module":
        return "leading dot in path element"
    if elem[-1] == ".":
        return "trailing dot in path element"
    allowed = {"module": _module_char_ok, "import": _import_char_ok, "file": _file_char_ok}[kind]
    for char in elem:
        if not allowed(char):
            return f"invalid char {quote_rune(char)}"
    # Windows refuses these names whatever the extension: "nul.txt" is the NUL device.
    short = elem.split(".", 1)[0]
    if short.isascii() and short.upper() in _WINDOWS_RESERVED:
        return f"{quote(short)} disallowed as path element component on Windows"
    # "PROGRA~1" looks like a Windows 8.3 short name and could alias another directory.
    # File names inside a module are exempt: the check only protects import paths.
    if kind != "file":
        tilde = short.rfind("~")
        if 0 <= tilde < len(short) - 1 and short[tilde + 1 :].isdigit() and short[tilde + 1 :].isascii():
            return "trailing tilde and digits in path element"
    return None


def _module_char_ok(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char in _MODULE_PUNCTUATION)


def _import_char_ok(char: str) -> bool:
    # '+' is allowed in import paths for binaries like "c++" wrappers.
    return _module_char_ok(char) or char == "+"


def _file_char_ok(char: str) -> bool:
    if char.isascii():
        return char.isalnum() or char in _FILE_PUNCTUATION
    # Unicode letters only (Go's unicode.IsLetter: categories Lu, Ll, Lt, Lm, Lo).
    return char.isalpha()


def _module_path_problem(path: str) -> str | None:
    """The module-specific rules on top of the element rules, or None."""
    first = path.split("/", 1)[0]
    if first == "":
        return "leading slash"
    if "." not in first:
        return "missing dot in first path element"
    if first[0] == "-":
        return "leading dash in first path element"
    for char in first:
        if not (char.isascii() and (char.islower() or char.isdigit() or char in "-.")):
            return f"invalid char {quote_rune(char)} in first path element"
    if _split_path_version(path) is None:
        return "invalid version"
    return None


def _is_utf8(text: str) -> bool:
    """False for strings carrying lone surrogates (raw non-UTF-8 bytes decoded leniently)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# -- major version suffixes -----------------------------------------------------------

def split_path_version(path: str) -> tuple[str, str]:
    """Split ``path`` into (prefix, path_major) so that ``prefix + path_major == path``.

    ``example.com/m/v2`` -> (``example.com/m``, ``/v2``); ``example.com/m`` ->
    (``example.com/m``, ``''``); ``gopkg.in/yaml.v2`` -> (``gopkg.in/yaml``, ``.v2``).
    Raises InvalidPathError for a final element that looks like a major version but is
    not a valid one (``/v1``, ``/v02``, ``/v1.2``) and for a gopkg.in path without ``.vN``.
    """
    split = _split_path_version(path)
    if split is None:
        raise InvalidPathError(f"malformed module path {quote(path)}: invalid version")
    return split


def _split_path_version(path: str) -> tuple[str, str] | None:
    if path.startswith(_GOPKG_IN):
        return _split_gopkg_in(path)
    # Only a final element of "v" followed by digits (and, to reject it, dots) is a
    # major suffix: "example.com/m2" and "example.com/v" have none.
    start = len(path) - len(re.search(r"[0-9.]*\Z", path).group())
    if start <= 1 or start == len(path) or path[start - 2 : start] != "/v":
        return path, ""
    prefix, path_major = path[: start - 2], path[start - 2 :]
    if "." in path_major or path_major[2] == "0" or path_major == "/v1":
        return None
    return prefix, path_major


def _split_gopkg_in(path: str) -> tuple[str, str] | None:
    """gopkg.in paths always end in ``.vN`` (any N, even 0) with an optional ``-unstable``.

    As in Go, ``.v0-unstable`` is refused while ``.v0`` is accepted.
    """
    match = re.search(r"\.v([0-9]+)(?:-unstable)?\Z", path)
    if match is None:
        return None
    path_major = match.group()
    if match.group(1)[0] == "0" and path_major != ".v0":
        return None
    return path[: match.start()], path_major


def check_path_major(version: str, path_major: str) -> None:
    """Check ``version`` against a path's major suffix exactly as module.CheckPathMajor.

    ``''`` accepts v0, v1 and any ``+incompatible`` version; ``/vN`` and ``.vN`` accept
    major N. Two historical allowances are kept: ``.vN-unstable`` means ``.vN``, and
    ``.v1`` also accepts ``v0.0.0-...`` (old go commands generated such pseudo-versions
    for gopkg.in v1 packages). Raises InvalidVersionError.
    """
    if path_major.startswith(".v") and path_major.endswith("-unstable"):
        path_major = path_major[: -len("-unstable")]
    if version.startswith("v0.0.0-") and path_major == ".v1":
        return
    version_major = semver.major(version)
    if path_major == "":
        if version_major in ("v0", "v1") or semver.build(version) == semver.INCOMPATIBLE:
            return
        wanted = "v0 or v1"
    else:
        if version_major == path_major[1:]:
            return
        wanted = path_major[1:]
    raise _version_error(version, f"should be {wanted}, not {version_major}")


def check_version_fits_path(path: str, version: str) -> None:
    """Check that ``version`` is a valid version that ``path`` can hold; raise otherwise.

    This is module.Check plus the go command's rule for ``+incompatible``
    (modfetch/coderepo.go): the suffix is only for a v2+ version of a module whose path
    has no major suffix. ``v1.0.0+incompatible`` and ``m/v2@v2.0.0+incompatible`` pass
    CheckPathMajor but no repository can produce them, and proxy.golang.org refuses them.
    Raises InvalidPathError for a bad path, InvalidVersionError for a bad version.
    """
    check_path(path)
    if not semver.is_valid(version):
        raise _version_error(version, "not a semantic version")
    _, path_major = split_path_version(path)
    if semver.build(version) == semver.INCOMPATIBLE:
        base = version[: -len(semver.INCOMPATIBLE)]
        if path_major:
            raise _version_error(version, "+incompatible suffix not allowed: module path includes a major version suffix")
        if semver.major(base) in ("v0", "v1"):
            raise _version_error(
                version, f"+incompatible suffix not allowed: major version {semver.major(base)} is compatible"
            )
        return
    check_path_major(version, path_major)


def _version_error(version: str, reason: str) -> InvalidVersionError:
    return InvalidVersionError(f"version {quote(version)} invalid: {reason}", reason)


def version_fits_path(path: str, version: str) -> bool:
    """Whether module ``path`` can hold ``version`` (see check_version_fits_path).

    ``example.com/m`` holds v0, v1 and v2+ ``+incompatible``; ``example.com/m/v2`` holds
    v2 only; ``gopkg.in/yaml.v1`` holds v1 and ``v0.0.0-`` pseudo-versions.
    """
    try:
        check_version_fits_path(path, version)
    except (InvalidPathError, InvalidVersionError):
        return False
    return True


# -- escaping -------------------------------------------------------------------------


def escape_path(path: str) -> str:
    """The escaped form of a valid module path: uppercase ``X`` becomes ``!x``.

    Raises InvalidPathError if ``path`` is not a valid module path, so an escaped path
    always unescapes back to the same module.
    """
    check_path(path)
    return _escape(path)


def unescape_path(escaped: str) -> str:
    """The module path for an escaped path; raise InvalidPathError if either is invalid.

    Rejects raw uppercase letters (they would make two spellings of one module), ``!``
    not followed by a lowercase letter, a trailing ``!`` and non-ASCII characters.
    """
    try:
        path = _unescape(escaped)
    except ValueError as exc:
        raise InvalidPathError(f"invalid escaped module path {quote(escaped)}: {exc}") from None
    try:
        check_path(path)
    except InvalidPathError as exc:
        raise InvalidPathError(f"invalid escaped module path {quote(escaped)}: {exc}") from None
    return path


def escape_version(version: str) -> str:
    """The escaped form of a version or query (``v1.0.0-RC1`` -> ``v1.0.0-!r!c1``).

    Versions need not be semver (a query may be a branch name) but must be a valid file
    name element without ``!``. Raises InvalidVersionError.
    """
    if "!" in version or not version.isascii() or _element_problem(version, "file"):
        raise _version_error(version, "disallowed version string")
    return _escape(version)


def unescape_version(escaped: str) -> str:
    """The version for an escaped version; raise InvalidVersionError if either is invalid.

    The result must be a valid file name element: no ``/``, no control characters, no
    shell specials, not empty. It need not be a semantic version.
    """
    try:
        version = _unescape(escaped)
    except ValueError as exc:
        raise InvalidVersionError(f"invalid escaped version {quote(escaped)}: {exc}") from None
    reason = _element_problem(version, "file")
    if reason:
        raise InvalidVersionError(f"invalid escaped version {quote(version)}: {reason}")
    return version


def _escape(text: str) -> str:
    return re.sub(r"[A-Z]", lambda match: "!" + match.group().lower(), text)


def _unescape(escaped: str) -> str:
    """Undo ``!``-escaping; raise ValueError with the reason if ``escaped`` is not canonical."""
    out = []
    bang = False
    for char in escaped:
        if not char.isascii():
            raise ValueError(f"non-ASCII character {quote_rune(char)}")
        if bang:
            bang = False
            if not "a" <= char <= "z":
                raise ValueError(f"'!' followed by {quote_rune(char)}, not a lowercase letter")
            out.append(char.upper())
        elif char == "!":
            bang = True
        elif "A" <= char <= "Z":
            raise ValueError(f"uppercase letter {quote_rune(char)} must be escaped as '!{char.lower()}'")
        else:
            out.append(char)
    if bang:
        raise ValueError("trailing '!'")
    return "".join(out)


# -- slash-separated paths ------------------------------------------------------------


def clean(path: str) -> str:
    """Go's path.Clean: the shortest equivalent slash path (``a//b/../c`` -> ``a/c``).

    Differs from posixpath.normpath only in that Go folds a leading ``//`` into ``/``.
    """
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned
