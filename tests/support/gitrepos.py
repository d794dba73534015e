"""Build local git repositories that the go command can fetch "direct", offline.

Why this exists: the `direct` upstream runs the real go command against version
control, and the only convincing test of it is the real go command cloning real git
repositories. Those must be local (the test machines have no internet) and
deterministic (fixed author and committer dates), so that the pseudo-versions and h1
hashes the go command computes are the same on every run.

How the go command reaches them: a module path ending in `.git`
(`vcs.example.test/team/<name>.git`) names its repository directly, so the go command
makes no `?go-get=1` HTTP lookup. It builds the repository URL from the path *without*
the `.git` suffix and tries the secure schemes in order (cmd/go/internal/vcs:
`https://`, then `git+ssh://`, then `ssh://`; `git://` and `http://` only with
GOINSECURE), pinging each with `git ls-remote`. The first one that answers wins, so a
git config rewriting `https://vcs.example.test/team/<name>` to the repository's
directory is enough::

    [url "/tmp/.../repos/tagged"]
        insteadOf = https://vcs.example.test/team/tagged

`git_config_for` writes such a file; point GIT_CONFIG_GLOBAL at it. Git's `insteadOf`
is a prefix match (the longest one wins), so the rewrite also covers any URL the go
command derives from it.

Only the standard library and the `git` command are used; every git invocation ignores
the host's git configuration (GIT_CONFIG_NOSYSTEM, GIT_CONFIG_GLOBAL=/dev/null), so a
developer's signing or hook settings cannot change the commits.
"""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

__all__ = [
    "HOST",
    "GitRepo",
    "git_config_for",
    "module_path",
    "repository_url",
    "standard_repositories",
]

#: Host of every test module path; it does not resolve, so nothing can leak online.
HOST = "vcs.example.test"

#: The date of the first commit of every repository; each commit is one hour later.
EPOCH = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def module_path(name: str) -> str:
    """`vcs.example.test/team/<name>.git`: a path the go command treats as the repository."""
    return f"{HOST}/team/{name}.git"


def repository_url(name: str) -> str:
    """The URL the go command asks git for: the module path minus `.git`, over https."""
    return f"https://{HOST}/team/{name}"


class GitRepo:
    """A git working repository on disk with a deterministic clock.

    Every commit and annotated tag gets the next tick of the repository's own clock
    (one hour apart, starting at EPOCH), so the same sequence of calls always yields the
    same commit hashes. `marks` holds commit hashes a test wants to name later
    ("untagged", "feature"...).
    """

    def __init__(self, path: Path, name: str):
        self.path = Path(path)
        self.name = name
        self.marks: dict[str, str] = {}
        self._ticks = 0

    @classmethod
    def create(cls, base_dir: Path, name: str) -> "GitRepo":
        path = Path(base_dir) / name
        path.mkdir(parents=True)
        repo = cls(path, name)
        repo.git("-c", "init.defaultBranch=main", "init", "-q")
        return repo

    @property
    def module_path(self) -> str:
        return module_path(self.name)

    @property
    def url(self) -> str:
        return repository_url(self.name)

    # -- git -----------------------------------------------------------------------------

    def git(self, *args: str, date: datetime | None = None) -> str:
        """Run git in the repository, isolated from the host's configuration."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.path),
            "LANG": "C",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_AUTHOR_NAME": "Test Author",
            "GIT_AUTHOR_EMAIL": "author@example.test",
            "GIT_COMMITTER_NAME": "Test Committer",
            "GIT_COMMITTER_EMAIL": "committer@example.test",
        }
        if date is not None:
            stamp = date.strftime("%Y-%m-%dT%H:%M:%S+0000")
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = stamp
        result = subprocess.run(
            ["git", *args], cwd=self.path, env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed in {self.path}:\n{result.stderr}")
        return result.stdout.strip()

    def _tick(self) -> datetime:
        date = EPOCH + timedelta(hours=self._ticks)
        self._ticks += 1
        return date

    # -- files and commits -----------------------------------------------------------------

    def write(self, relpath: str, content: str | bytes) -> "GitRepo":
        target = self.path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        target.write_bytes(content)
        return self

    def write_go_mod(self, module: str, *, directory: str = "", go: str = "1.21") -> "GitRepo":
        prefix = f"{directory.rstrip('/')}/" if directory else ""
        return self.write(f"{prefix}go.mod", f"module {module}\n\ngo {go}\n")

    def remove(self, relpath: str) -> "GitRepo":
        self.git("rm", "-q", "-r", "--", relpath)
        return self

    def commit(self, message: str, *, mark: str | None = None) -> str:
        """Commit everything in the working tree; return the commit hash."""
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "--no-gpg-sign", "-m", message, date=self._tick())
        commit = self.head()
        if mark:
            self.marks[mark] = commit
        return commit

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def commit_time(self, ref: str = "HEAD") -> datetime:
        return datetime.fromtimestamp(int(self.git("log", "-1", "--format=%ct", ref)), tz=timezone.utc)

    # -- refs ----------------------------------------------------------------------------

    def tag(self, name: str, *, ref: str = "HEAD", message: str | None = None, force: bool = False) -> "GitRepo":
        """A lightweight tag, or an annotated one when `message` is given."""
        args = ["tag"]
        if force:
            args.append("-f")
        if message is not None:
            args += ["-a", "--no-sign", "-m", message]
        self.git(*args, "--", name, ref, date=self._tick())
        return self

    def move_tag(self, name: str, ref: str, *, message: str | None = None) -> "GitRepo":
        """`git tag -f`: what an author does when they re-tag a published version."""
        return self.tag(name, ref=ref, message=message, force=True)

    def branch(self, name: str, *, start: str = "HEAD") -> "GitRepo":
        """Create a branch and check it out."""
        self.git("checkout", "-q", "-b", name, start)
        return self

    def checkout(self, ref: str) -> "GitRepo":
        self.git("checkout", "-q", ref)
        return self

    def __repr__(self) -> str:
        return f"GitRepo({self.name!r}, {str(self.path)!r})"


def git_config_for(repos: dict[str, GitRepo], path: Path) -> Path:
    """Write a git config that sends the go command's URL for each repository to its
    directory; return its path (for GIT_CONFIG_GLOBAL)."""
    lines = []
    for repo in repos.values():
        lines.append(f'[url "{repo.path}"]\n\tinsteadOf = {repo.url}\n')
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines))
    return path


def _go_file(package: str, body: str = "") -> str:
    return f"package {package}\n{body}"


def _tagged(base_dir: Path) -> GitRepo:
    """Several tags (lightweight and annotated, one prerelease), a branch, and an
    untagged commit on main after the last tag."""
    repo = GitRepo.create(base_dir, "tagged")
    repo.write_go_mod(repo.module_path)
    repo.write("LICENSE", "Test license\n")
    repo.write("tagged.go", _go_file("tagged", 'const Version = "v1.0.0"\n'))
    repo.commit("v1.0.0", mark="v1.0.0")
    repo.tag("v1.0.0")

    repo.write("tagged.go", _go_file("tagged", 'const Version = "v1.1.0"\n'))
    repo.commit("v1.1.0", mark="v1.1.0")
    repo.tag("v1.1.0", message="release v1.1.0")

    repo.write("tagged.go", _go_file("tagged", 'const Version = "v1.2.0-beta.1"\n'))
    repo.commit("v1.2.0-beta.1")
    repo.tag("v1.2.0-beta.1")

    repo.write("tagged.go", _go_file("tagged", 'const Version = "v1.2.0"\n'))
    repo.write("util/util.go", _go_file("util"))
    repo.commit("v1.2.0")
    repo.tag("v1.2.0", message="release v1.2.0")

    repo.write("tagged.go", _go_file("tagged", 'const Version = "v1.2.1"\n'))
    repo.commit("v1.2.1", mark="v1.2.1")
    repo.tag("v1.2.1")

    repo.write("tagged.go", _go_file("tagged", 'const Version = "main"\n'))
    repo.commit("work after v1.2.1", mark="untagged")

    repo.branch("feature", start="v1.1.0")
    repo.write("feature.go", _go_file("tagged"))
    repo.commit("feature work", mark="feature")
    repo.checkout("main")
    return repo


def _major(base_dir: Path) -> GitRepo:
    """v1 at the root, v2 in a `v2/` subdirectory (major subdirectory layout), and v3 on
    a `v3` branch whose root go.mod says `/v3` (major branch layout)."""
    repo = GitRepo.create(base_dir, "major")
    repo.write_go_mod(repo.module_path)
    repo.write("major.go", _go_file("major"))
    repo.commit("v1.0.0")
    repo.tag("v1.0.0")

    repo.write_go_mod(f"{repo.module_path}/v2", directory="v2")
    repo.write("v2/major.go", _go_file("major", "const Major = 2\n"))
    repo.commit("v2 in a subdirectory", mark="v2.0.0")
    repo.tag("v2.0.0")

    repo.branch("v3")
    repo.remove("v2")
    repo.write_go_mod(f"{repo.module_path}/v3")
    repo.write("major.go", _go_file("major", "const Major = 3\n"))
    repo.commit("v3 on its own branch", mark="v3.0.0")
    repo.tag("v3.0.0")
    repo.checkout("main")
    return repo


def _incompatible(base_dir: Path) -> GitRepo:
    """No go.mod anywhere, tags v1.0.0 and v2.0.0: v2.0.0 is `v2.0.0+incompatible`."""
    repo = GitRepo.create(base_dir, "incompat")
    repo.write("incompat.go", _go_file("incompat"))
    repo.commit("v1.0.0")
    repo.tag("v1.0.0")
    repo.write("incompat.go", _go_file("incompat", "const Major = 2\n"))
    repo.commit("v2.0.0 without go.mod")
    repo.tag("v2.0.0")
    return repo


def _nested(base_dir: Path) -> GitRepo:
    """A root module and a nested module in `sub/` (its own go.mod, tag `sub/v1.0.0`);
    the root module's zip must leave `sub/` out."""
    repo = GitRepo.create(base_dir, "nested")
    repo.write_go_mod(repo.module_path)
    repo.write("root.go", _go_file("nested"))
    repo.write_go_mod(f"{repo.module_path}/sub", directory="sub")
    repo.write("sub/sub.go", _go_file("sub"))
    repo.commit("root and sub modules")
    repo.tag("v1.0.0")
    repo.tag("sub/v1.0.0")
    return repo


def _no_go_mod(base_dir: Path) -> GitRepo:
    """A plain repository without any go.mod: its .mod is synthesized as `module <path>`."""
    repo = GitRepo.create(base_dir, "nomod")
    repo.write("nomod.go", _go_file("nomod"))
    repo.write("README.md", "No go.mod here.\n")
    repo.commit("v1.0.0")
    repo.tag("v1.0.0")
    return repo


def _untagged(base_dir: Path) -> GitRepo:
    """Commits but no tags: it lists nothing and its latest is a pseudo-version."""
    repo = GitRepo.create(base_dir, "untagged")
    repo.write_go_mod(repo.module_path)
    repo.write("untagged.go", _go_file("untagged"))
    repo.commit("first")
    repo.write("untagged.go", _go_file("untagged", "const Second = true\n"))
    repo.commit("second", mark="head")
    return repo


def standard_repositories(base_dir: Path) -> dict[str, GitRepo]:
    """Create the standard test repositories under `base_dir`; return them by name.

    * `tagged`: v1.0.0, v1.1.0 (annotated), v1.2.0-beta.1, v1.2.0 (annotated), v1.2.1,
      then an untagged commit on main (mark "untagged") and a `feature` branch off
      v1.1.0 (mark "feature").
    * `major`: v1.0.0 at the root; `…/major.git/v2` in `v2/`, tag v2.0.0; `…/major.git/v3`
      on branch `v3`, tag v3.0.0.
    * `incompat`: no go.mod, tags v1.0.0 and v2.0.0 (`v2.0.0+incompatible`).
    * `nested`: root module and `…/nested.git/sub`, tags v1.0.0 and sub/v1.0.0.
    * `nomod`: no go.mod at all, tag v1.0.0.
    * `untagged`: no tags (mark "head" is the newest commit).
    """
    base_dir = Path(base_dir)
    builders = (_tagged, _major, _incompatible, _nested, _no_go_mod, _untagged)
    repos = [build(base_dir) for build in builders]
    return {repo.name: repo for repo in repos}
