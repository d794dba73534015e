"""DirectUpstream, called directly, against local git repositories (tests/support/gitrepos.py).

The reference for every answer is the real go command fetching with GOPROXY=direct from
the same repositories: same versions, same pseudo-versions, same h1 hashes. The rest
proves the runner's promises: timeouts kill everything, the concurrency cap holds,
workspaces disappear, and neither the server's environment nor a credential leaks.
"""

import io
import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from modules.goproxy.dirhash import hash_go_mod, hash_zip
from modules.goproxy.zipcheck import validate_zip
from modules.upstreams.direct import DirectUpstream
from modules.upstreams.errors import InvalidContent, NotFound, Timeout, Unavailable
from modules.upstreams.gocommand import (
    MAX_MESSAGE,
    GoCommand,
    GoSession,
    Workspace,
    classify,
    find_go_binary,
    go_environment,
    redact,
)
from tests.support.gitrepos import git_config_for, module_path, standard_repositories

TAGGED = module_path("tagged")
LIMIT = 500 << 20
SERVER_SECRETS = {
    "DATABASE_URL": "postgres://athens:db-secret-1234@db/athens",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-5678",
    "DJANGO_SECRET_KEY": "django-secret-9012",
}
NETRC_PASSWORD = "netrc-pass-3456"
URL_TOKEN = "url-token-7890"


@pytest.fixture(scope="module")
def shared_repos(tmp_path_factory):
    """The standard repositories and a git config reaching them, built once (read-only)."""
    base = tmp_path_factory.mktemp("direct-git-repos")
    repos = standard_repositories(base / "repos")
    return repos, git_config_for(repos, base / "gitconfig")


@pytest.fixture
def work_dir(tmp_path):
    """Where the upstream creates its workspaces; tests check it is left empty."""
    path = tmp_path / "direct-work"
    path.mkdir()
    return path


@pytest.fixture
def direct(go_binary, shared_repos, work_dir):
    _, git_config = shared_repos
    return DirectUpstream(go=go_binary, git_config=str(git_config), tmp_dir=str(work_dir))


@pytest.fixture
def go_vcs(go_env, shared_repos):
    """The reference: the go command itself with GOPROXY=direct."""
    _, git_config = shared_repos
    return go_env("direct", extra_env={"GIT_CONFIG_GLOBAL": str(git_config)})


def fake_go(directory: Path, script: str) -> str:
    """A shell script standing in for the go command (to observe how it is run)."""
    path = directory / "fake-go"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return str(path)


def netrc_file(directory: Path) -> Path:
    path = directory / "netrc"
    path.write_text(f"machine vcs.example.test\nlogin alice-the-user\npassword {NETRC_PASSWORD}\n")
    return path


def is_running(pid: int) -> bool:
    """Alive and not a zombie (a zombie is dead, merely not yet reaped by its parent)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


# -- list, latest, info -------------------------------------------------------------------


@pytest.mark.parametrize(
    "module",
    [TAGGED, f"{module_path('major')}/v2", f"{module_path('major')}/v3", module_path("incompat"),
     module_path("nested"), f"{module_path('nested')}/sub", module_path("nomod")],
)
def test_list_gives_the_versions_the_go_command_lists(direct, go_vcs, module):
    assert direct.list(module) == go_vcs.versions(module)
    assert direct.list(module)


def test_list_of_a_module_without_tags_is_empty(direct):
    assert direct.list(module_path("untagged")) == []


def test_list_of_a_path_no_module_of_the_repository_has_is_not_found(direct):
    with pytest.raises(NotFound):
        direct.list(f"{TAGGED}/v2")


@pytest.mark.parametrize("name", ["tagged", "untagged", "incompat"])
def test_latest_is_what_the_go_command_resolves_latest_to(direct, go_vcs, name):
    reference = go_vcs.list_json("-m", f"{module_path(name)}@latest")[0]
    info = direct.latest(module_path(name))
    assert (info.version, json.loads(info.raw)["Time"]) == (reference["Version"], reference["Time"])


def test_latest_of_a_module_with_only_commits_is_a_pseudo_version_of_its_head(direct, shared_repos):
    repos, _ = shared_repos
    info = direct.latest(module_path("untagged"))
    assert info.is_pseudo
    assert info.version.endswith(repos["untagged"].marks["head"][:12])
    assert json.loads(info.raw)["Origin"]["Hash"] == repos["untagged"].marks["head"]


@pytest.mark.parametrize(
    "query",
    ["v1.1.0", "v1.2.0-beta.1", "v1.2", "v1", "main", "feature", "mark:untagged", "mark:feature", "full:v1.1.0"],
)
def test_info_resolves_a_query_as_the_go_command_does(direct, go_vcs, shared_repos, query):
    repos, _ = shared_repos
    if query.startswith("mark:"):
        query = repos["tagged"].marks[query[5:]][:12]
    elif query.startswith("full:"):
        query = repos["tagged"].marks[query[5:]]
    reference = go_vcs.list_json("-m", f"{TAGGED}@{query}")[0]
    info = direct.info(TAGGED, query)
    body = json.loads(info.raw)
    assert (info.version, body["Time"]) == (reference["Version"], reference["Time"])
    assert body["Origin"]["Hash"] == reference["Origin"]["Hash"]


def test_a_branch_and_its_commit_resolve_to_one_pseudo_version(direct, shared_repos):
    repos, _ = shared_repos
    by_branch = direct.info(TAGGED, "feature")
    by_commit = direct.info(TAGGED, repos["tagged"].marks["feature"])
    assert by_branch.version == by_commit.version
    assert by_branch.version.startswith("v1.1.1-0.") and by_branch.is_pseudo


def test_info_of_a_canonical_version_names_exactly_that_version(direct):
    info = direct.info(TAGGED, "v1.2.0")
    assert info.version == "v1.2.0"
    assert json.loads(info.raw)["Time"].endswith("Z")


# -- fetching versions ----------------------------------------------------------------------


FETCH_CASES = {
    "tagged lightweight": (TAGGED, "v1.0.0"),
    "tagged annotated": (TAGGED, "v1.2.0"),
    "prerelease": (TAGGED, "v1.2.0-beta.1"),
    "pseudo-version of main": (TAGGED, "query:main"),
    "pseudo-version of a branch": (TAGGED, "query:feature"),
    "v2 subdirectory": (f"{module_path('major')}/v2", "v2.0.0"),
    "v3 major branch": (f"{module_path('major')}/v3", "v3.0.0"),
    "incompatible": (module_path("incompat"), "v2.0.0+incompatible"),
    "root with a nested module": (module_path("nested"), "v1.0.0"),
    "nested module": (f"{module_path('nested')}/sub", "v1.0.0"),
    "no go.mod": (module_path("nomod"), "v1.0.0"),
    "pseudo-version only module": (module_path("untagged"), "query:latest"),
}


@pytest.mark.parametrize("case", list(FETCH_CASES))
def test_fetch_version_gives_what_go_mod_download_direct_gives(direct, go_vcs, work_dir, tmp_path, case):
    module, version = FETCH_CASES[case]
    if version.startswith("query:"):
        version = go_vcs.list_json("-m", f"{module}@{version[6:]}")[0]["Version"]
    reference = go_vcs.download_json(f"{module}@{version}")[0]

    zip_path = tmp_path / "fetched.zip"
    with open(zip_path, "wb") as zip_dest:
        info, go_mod, zip_size = direct.fetch_version(
            module, version, zip_dest, max_zip_bytes=LIMIT, max_mod_bytes=16 << 20
        )

    assert info.version == version
    assert info.raw == Path(reference["Info"]).read_bytes()  # the go command's own .info, verbatim
    assert go_mod == Path(reference["GoMod"]).read_bytes()
    assert zip_size == zip_path.stat().st_size
    assert (hash_zip(zip_path), hash_go_mod(go_mod)) == (reference["Sum"], reference["GoModSum"])
    summary = validate_zip(zip_path, module, version, expected_go_mod=go_mod)
    assert summary.zip_hash == reference["Sum"]
    assert summary.notices == ()
    assert list(work_dir.iterdir()) == []


def test_the_root_module_zip_leaves_the_nested_module_out(direct):
    zip_dest = io.BytesIO()
    direct.fetch_version(module_path("nested"), "v1.0.0", zip_dest, max_zip_bytes=LIMIT, max_mod_bytes=1 << 20)
    zip_dest.seek(0)
    summary = validate_zip(zip_dest, module_path("nested"), "v1.0.0")
    assert summary.files == ["go.mod", "root.go"]
    assert summary.notices == ()


def test_a_repository_without_go_mod_gets_the_synthesized_mod(direct):
    module = module_path("nomod")
    assert direct.mod(module, "v1.0.0", max_bytes=1 << 20) == f"module {module}\n".encode()


def test_fetch_version_runs_the_go_command_once(direct, monkeypatch):
    runs = []
    original = GoSession.run

    def counting(self, *args, subject):
        runs.append(args)
        return original(self, *args, subject=subject)

    monkeypatch.setattr(GoSession, "run", counting)
    direct.fetch_version(TAGGED, "v1.1.0", io.BytesIO(), max_zip_bytes=LIMIT, max_mod_bytes=1 << 20)
    assert [args[:2] for args in runs] == [("mod", "download")]


def test_mod_and_download_zip_agree_with_fetch_version(direct):
    zip_dest = io.BytesIO()
    info, go_mod, size = direct.fetch_version(TAGGED, "v1.2.1", zip_dest, max_zip_bytes=LIMIT, max_mod_bytes=1 << 20)
    separate_zip = io.BytesIO()
    assert direct.download_zip(TAGGED, "v1.2.1", separate_zip, max_bytes=LIMIT) == size
    assert separate_zip.getvalue() == zip_dest.getvalue()
    assert direct.mod(TAGGED, "v1.2.1", max_bytes=1 << 20) == go_mod
    assert direct.info(TAGGED, "v1.2.1").version == info.version


def test_a_v2_tag_without_go_mod_is_not_the_version_v2_0_0(direct):
    with pytest.raises(NotFound, match=r"v2\.0\.0\+incompatible"):
        direct.fetch_version(
            module_path("incompat"), "v2.0.0", io.BytesIO(), max_zip_bytes=LIMIT, max_mod_bytes=1 << 20
        )


def test_a_zip_over_the_limit_is_invalid_content(direct, work_dir):
    with pytest.raises(InvalidContent, match="over the limit"):
        direct.fetch_version(TAGGED, "v1.0.0", io.BytesIO(), max_zip_bytes=100, max_mod_bytes=1 << 20)
    with pytest.raises(InvalidContent, match="over the limit"):
        direct.mod(TAGGED, "v1.0.0", max_bytes=10)
    assert list(work_dir.iterdir()) == []


# -- not found --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda d: d.list(module_path("missing")), id="unknown repository"),
        pytest.param(lambda d: d.info(TAGGED, "v9.9.9"), id="unknown tag"),
        pytest.param(lambda d: d.info(TAGGED, "no-such-branch"), id="unknown branch"),
        pytest.param(lambda d: d.info(TAGGED, "deadbeef1234"), id="unknown commit"),
        pytest.param(lambda d: d.info(TAGGED, "v1.9"), id="no matching versions"),
        pytest.param(lambda d: d.info(module_path("major"), "v2.0.0"), id="major version does not fit the path"),
        pytest.param(lambda d: d.latest(f"{TAGGED}/sub"), id="no such module in the repository"),
        pytest.param(lambda d: d.mod(TAGGED, "v9.9.9", max_bytes=1 << 20), id="mod of an unknown version"),
        pytest.param(
            lambda d: d.fetch_version(TAGGED, "v9.9.9", io.BytesIO(), max_zip_bytes=LIMIT, max_mod_bytes=1 << 20),
            id="fetch of an unknown version",
        ),
        pytest.param(lambda d: d.list("example.com/no/such/module"), id="unrecognized import path"),
    ],
)
def test_what_does_not_exist_is_not_found(direct, work_dir, call):
    with pytest.raises(NotFound) as raised:
        call(direct)
    assert raised.value.http_status == 404
    assert 0 < len(raised.value.message) <= MAX_MESSAGE
    assert list(work_dir.iterdir()) == []


@pytest.mark.parametrize(
    "module, query",
    [(TAGGED, "-modfile=/etc/passwd"), (TAGGED, "--"), (TAGGED, "v1.0.0 v1.1.0"), (TAGGED, "a@b"), (TAGGED, ""),
     (TAGGED, "upgrade"), (TAGGED, "patch"), (TAGGED, "<v1.2.0"), (TAGGED, ">=v1.1.0"), (TAGGED, "v1\n"),
     ("-x/foo", "v1.0.0"), ("Vcs.Example.test/x", "v1.0.0"), ("vcs.example.test/../etc", "v1.0.0")],
)
def test_bad_paths_and_option_like_queries_never_reach_the_go_command(direct, monkeypatch, module, query):
    monkeypatch.setattr(GoSession, "run", lambda *a, **k: pytest.fail("the go command ran"))
    with pytest.raises(NotFound):
        direct.info(module, query)


@pytest.mark.parametrize(
    "message, expected",
    [
        ("vcs.example.test/team/tagged.git@v9.9.9: invalid version: unknown revision v9.9.9", NotFound),
        ('module vcs.example.test/team/tagged.git: no matching versions for query "v1.9"', NotFound),
        ("vcs.example.test/team/missing.git: no secure protocol found for repository", NotFound),
        ('unrecognized import path "example.com/x": reading https://example.com/x?go-get=1: 404 Not Found', NotFound),
        ("remote: Repository not found.\nfatal: repository 'https://github.com/a/b/' not found", NotFound),
        ("module example.com/m@latest found (v1.0.0), but does not contain package example.com/m/x", NotFound),
        ("reading https://proxy.example/m/@v/v1.0.0.info: 410 Gone", NotFound),
        ("git ls-remote -q origin in $WORK/x: exit status 128:\nfatal: unable to access "
         "'https://git.example.com/a/': Could not resolve host: git.example.com", Unavailable),
        ("git fetch: exit status 128: fatal: early EOF", Unavailable),
        ('exec: "git": executable file not found in $PATH', Unavailable),
        ("v0.0.0-20240404010203-abcdef123456: zip: write error: no space left on device", Unavailable),
    ],
)
def test_go_command_messages_are_classified_as_go_itself_would(message, expected):
    assert classify(message) is expected


def test_a_long_failure_message_keeps_its_last_lines_within_the_limit(tmp_path):
    go = fake_go(tmp_path, 'i=0; while [ $i -lt 200 ]; do echo "line $i of noise" >&2; i=$((i+1)); done\n'
                           'echo "go: example.com/m@v1.0.0: invalid version: unknown revision v1.0.0" >&2; exit 1\n')
    with pytest.raises(NotFound) as raised:
        GoCommand(go=go, tmp_dir=str(tmp_path / "work")).run("list", subject="example.com/m@v1.0.0")
    message = raised.value.message
    assert len(message) <= MAX_MESSAGE
    assert message.endswith("example.com/m@v1.0.0: invalid version: unknown revision v1.0.0")
    assert "line 199 of noise" in message and "line 0 of noise" not in message


# -- timeouts, concurrency, workspaces ------------------------------------------------------


def test_a_hanging_fetch_times_out_and_every_process_it_started_is_killed(go_binary, tmp_path, work_dir):
    pid_file = tmp_path / "ssh.pid"
    hanging_ssh = tmp_path / "hanging-ssh"
    hanging_ssh.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 120\n")
    hanging_ssh.chmod(0o755)
    git_config = tmp_path / "gitconfig"
    git_config.write_text(
        f'[core]\n\tsshCommand = {hanging_ssh}\n'
        f'[url "ssh://hang.example.test/team/hang"]\n\tinsteadOf = https://vcs.example.test/team/hang\n'
    )
    direct = DirectUpstream(go=go_binary, git_config=str(git_config), timeout=3, tmp_dir=str(work_dir))

    started = time.monotonic()
    with pytest.raises(Timeout) as raised:
        direct.list(module_path("hang"))
    assert time.monotonic() - started < 15
    assert raised.value.http_status == 504
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while is_running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not is_running(pid), "the ssh started by git survived the timeout"
    assert list(work_dir.iterdir()) == []


def test_a_tiny_timeout_is_a_timeout(go_binary, shared_repos, work_dir):
    _, git_config = shared_repos
    direct = DirectUpstream(go=go_binary, git_config=str(git_config), timeout=0.001, tmp_dir=str(work_dir))
    with pytest.raises(Timeout):
        direct.list(TAGGED)
    assert list(work_dir.iterdir()) == []


def test_concurrent_runs_never_exceed_the_cap(tmp_path, work_dir):
    log = tmp_path / "runs.log"
    go = fake_go(
        tmp_path,
        f'echo "start $(date +%s.%N)" >> {log}\nsleep 0.3\necho "end $(date +%s.%N)" >> {log}\n'
        'echo \'{"Path": "example.com/m", "Versions": ["v1.0.0"]}\'\n',
    )
    direct = DirectUpstream(go=go, max_concurrent=3, tmp_dir=str(work_dir))
    threads = [threading.Thread(target=direct.list, args=("example.com/m",)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    lines = [line.split() for line in log.read_text().splitlines()]
    events = sorted((float(stamp), kind == "start") for kind, stamp in lines)
    running = peak = 0
    for _, is_start in events:  # an end sorts before a start at the same instant
        running += 1 if is_start else -1
        peak = max(peak, running)
    assert len(events) == 16
    assert peak == 3
    assert list(work_dir.iterdir()) == []


def test_a_workspace_with_a_read_only_module_cache_is_still_removed(tmp_path):
    workspace = Workspace.create(tmp_path / "work")
    extracted = workspace.modcache / "example.com" / "m@v1.0.0"
    extracted.mkdir(parents=True)
    (extracted / "m.go").write_text("package m\n")
    (extracted / "m.go").chmod(0o444)
    extracted.chmod(0o555)
    workspace.modcache.chmod(0o555)
    workspace.remove()
    assert not workspace.root.exists()


# -- environment and credentials ----------------------------------------------------------


ALLOWED_VARIABLES = {
    "PATH", "HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "TMPDIR", "LANG", "LC_ALL",
    "GOPATH", "GOMODCACHE", "GOCACHE", "GOPROXY", "GOSUMDB", "GONOSUMDB", "GOPRIVATE", "GONOPROXY",
    "GOINSECURE", "GOAUTH", "GOFLAGS", "GOTOOLCHAIN", "GO111MODULE", "GOENV", "GOWORK",
    "GIT_TERMINAL_PROMPT", "GCM_INTERACTIVE", "GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_GLOBAL",
}


@pytest.fixture
def server_secrets(monkeypatch):
    """The server's own environment, as a real deployment has it."""
    for name, value in SERVER_SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GOPROXY", "https://proxy.example.test")
    monkeypatch.setenv("GOFLAGS", "-insecure")
    monkeypatch.setenv("GIT_ALLOW_PROTOCOL", "ext")
    return SERVER_SECRETS


def test_the_environment_is_built_from_scratch(server_secrets, tmp_path):
    workspace = Workspace.create(tmp_path)
    env = go_environment(workspace, go="/opt/go/bin/go", git_config="/etc/athens/gitconfig")
    assert set(env) == ALLOWED_VARIABLES
    assert not any(secret in value for secret in server_secrets.values() for value in env.values())
    assert env["PATH"].split(os.pathsep) == ["/opt/go/bin", "/usr/bin", "/bin"]
    assert (env["GOPROXY"], env["GOSUMDB"], env["GOTOOLCHAIN"], env["GOFLAGS"]) == (
        "direct", "off", "local", "-mod=mod -modcacherw")
    assert env["GIT_CONFIG_GLOBAL"] == "/etc/athens/gitconfig"
    assert "GOVCS" not in env  # Go's default: git and hg
    assert go_environment(workspace, go="go", govcs="*:git")["GOVCS"] == "*:git"
    assert go_environment(workspace, go="go")["GIT_CONFIG_GLOBAL"] == os.devnull
    for name in ("HOME", "GOPATH", "GOMODCACHE", "GOCACHE", "TMPDIR"):
        assert Path(env[name]).is_relative_to(workspace.root)


def test_the_go_command_sees_only_the_isolated_settings(server_secrets, go_binary, work_dir):
    result = GoCommand(go=go_binary, tmp_dir=str(work_dir)).run("env", "-json", subject="go env")
    go_env = json.loads(result.stdout)
    assert (go_env["GOPROXY"], go_env["GOSUMDB"], go_env["GOFLAGS"]) == ("direct", "off", "-mod=mod -modcacherw")
    assert (go_env["GOPRIVATE"], go_env["GONOSUMDB"], go_env["GONOPROXY"], go_env["GOINSECURE"]) == ("", "", "", "")
    assert go_env["GOMODCACHE"].startswith(str(work_dir))
    assert go_env["GOTOOLCHAIN"] == "local"


def test_child_processes_see_no_server_secret(server_secrets, tmp_path, work_dir):
    result = GoCommand(go=fake_go(tmp_path, "env\n"), tmp_dir=str(work_dir)).run("env", subject="env")
    seen = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert not set(server_secrets) & set(seen)
    assert not any(secret in result.stdout for secret in server_secrets.values())
    assert seen["GIT_ALLOW_PROTOCOL"] == "https:http"  # ours (no ATHENS_GIT_CONFIG), not the server's "ext"
    assert seen["GOPROXY"] == "direct"
    assert seen["HTTPS_PROXY"].startswith("http://127.0.0.1:") and seen["NO_PROXY"] == ""  # the egress guard


def test_the_netrc_is_copied_into_the_temporary_home_readable_by_its_owner_only(tmp_path, work_dir):
    netrc = netrc_file(tmp_path)
    go = fake_go(tmp_path, 'stat -c %a "$HOME/.netrc"; cat "$HOME/.netrc"\n')
    result = GoCommand(go=go, netrc=str(netrc), tmp_dir=str(work_dir)).run("env", subject="netrc")
    mode, content = result.stdout.split("\n", 1)
    assert mode == "600"
    assert content == netrc.read_text()
    assert list(work_dir.iterdir()) == []


def test_credentials_printed_by_failing_commands_never_reach_the_message_or_the_log(tmp_path, work_dir, caplog):
    netrc = netrc_file(tmp_path)
    go = fake_go(
        tmp_path,
        "echo \"go: vcs.example.test/team/private.git@v1.0.0: git ls-remote -q origin: exit status 128:\" >&2\n"
        f"echo \"fatal: unable to access 'https://alice:{URL_TOKEN}@vcs.example.test/team/private/'\" >&2\n"
        f"echo \"fatal: Authentication failed for 'https://{URL_TOKEN}@vcs.example.test/team/private/'\" >&2\n"
        f"echo \"curl: using netrc password {NETRC_PASSWORD} for vcs.example.test\" >&2\n"
        "exit 1\n",
    )
    command = GoCommand(go=go, netrc=str(netrc), tmp_dir=str(work_dir))
    with caplog.at_level("DEBUG"), pytest.raises(Unavailable) as raised:
        command.run("mod", "download", subject="vcs.example.test/team/private.git@v1.0.0")
    message = raised.value.message
    assert URL_TOKEN not in message and NETRC_PASSWORD not in message and "alice" not in message
    assert "https://***@vcs.example.test/team/private/" in message
    assert URL_TOKEN not in caplog.text and NETRC_PASSWORD not in caplog.text


def test_a_private_repository_that_fails_with_credentials_configured_leaks_none(go_binary, tmp_path, work_dir, caplog):
    netrc = netrc_file(tmp_path)
    git_config = tmp_path / "gitconfig"
    git_config.write_text(
        f'[url "https://alice:{URL_TOKEN}@127.0.0.1:9/team/private"]\n'
        "\tinsteadOf = https://vcs.example.test/team/private\n"
    )
    direct = DirectUpstream(
        go=go_binary, netrc=str(netrc), git_config=str(git_config), timeout=60, tmp_dir=str(work_dir)
    )
    calls = (
        lambda: direct.info(module_path("private"), "v1.0.0"),  # a .git path: git with the rewritten URL
        lambda: direct.list("vcs.example.test/team/private"),  # a go-get lookup by the go command itself
    )
    for call in calls:
        with caplog.at_level("DEBUG"), pytest.raises(NotFound) as raised:
            call()
        assert URL_TOKEN not in raised.value.message and NETRC_PASSWORD not in raised.value.message
    assert URL_TOKEN not in caplog.text and NETRC_PASSWORD not in caplog.text
    assert list(work_dir.iterdir()) == []


@pytest.mark.parametrize(
    "text, hidden",
    [
        ("fatal: unable to access 'https://bob:hunter22@git.example.com/x/'", "bob:hunter22"),
        ("Get \"https://ghp_abcdef0123@github.com/x\": EOF", "ghp_abcdef0123"),
        ("git+ssh://deploy:pw0rd@host/x.git and ssh://u:p@h/x", "pw0rd"),
    ],
)
def test_redact_masks_the_userinfo_of_urls(text, hidden):
    assert hidden not in redact(text)
    assert "***@" in redact(text)


def test_redact_withholds_lines_naming_a_netrc_secret_and_masks_short_ones():
    text = "first line\nusing password s3cret-value now\nlogin git for example\nlast line"
    redacted = redact(text, ["s3cret-value", "git"])
    assert "s3cret-value" not in redacted
    assert redacted.splitlines()[0] == "first line" and redacted.splitlines()[-1] == "last line"
    assert "login *** for example" in redacted


# -- finding the go command ------------------------------------------------------------------


def test_find_go_binary_prefers_the_explicit_path_and_otherwise_finds_one(tmp_path, go_binary):
    explicit = fake_go(tmp_path, "exit 0\n")
    assert find_go_binary(explicit) == explicit
    found = find_go_binary(None)
    assert os.access(found, os.X_OK)
    with pytest.raises(FileNotFoundError):
        find_go_binary(str(tmp_path / "no-such-go"))


def test_a_missing_go_command_makes_direct_unavailable(tmp_path):
    direct = DirectUpstream(go=str(tmp_path / "no-such-go"), tmp_dir=str(tmp_path / "work"))
    with pytest.raises(Unavailable, match="not an executable file"):
        direct.list(TAGGED)


def test_workspace_netrc_copy_is_private_even_with_a_permissive_umask(tmp_path):
    netrc = netrc_file(tmp_path)
    netrc.chmod(0o644)
    old = os.umask(0)
    try:
        workspace = Workspace.create(tmp_path / "work")
        workspace.install_netrc(netrc)
    finally:
        os.umask(old)
    assert stat.S_IMODE((workspace.home / ".netrc").stat().st_mode) == 0o600
    workspace.remove()
