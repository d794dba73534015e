"""Private modules straight from version control: the proxy's `direct` upstream, driven
by the real go command, against local git repositories (tests/support/gitrepos.py)."""

import json

import pytest

from audit.models import DownloadEvent, FetchEvent
from modules.models import ModuleVersion
from tests.support.gitrepos import git_config_for, module_path, standard_repositories

pytestmark = pytest.mark.django_db

TAGGED = module_path("tagged")
FIELDS = ("Path", "Version", "Sum", "GoModSum")


@pytest.fixture(scope="session")
def shared_repos(tmp_path_factory):
    """The standard repositories, built once; tests that change a repository build their own."""
    base = tmp_path_factory.mktemp("git-repos")
    repos = standard_repositories(base / "repos")
    return repos, git_config_for(repos, base / "gitconfig")


@pytest.fixture
def direct_proxy(settings, live_server, shared_repos):
    """The proxy with only `direct` behind it; returns its URL."""
    _, git_config = shared_repos
    settings.ATHENS_UPSTREAM = "direct"
    settings.ATHENS_GIT_CONFIG = str(git_config)
    return live_server.url


@pytest.fixture
def go_vcs(go_env, shared_repos):
    """The reference: the go command itself with GOPROXY=direct."""
    _, git_config = shared_repos
    return go_env("direct", extra_env={"GIT_CONFIG_GLOBAL": str(git_config)})


def summary(results):
    return {(r["Path"], r.get("Version")): [r.get(f) for f in FIELDS] for r in results}


def test_go_mod_download_through_the_proxy_matches_the_go_command_direct(go_env, direct_proxy, go_vcs, shared_repos):
    repos, _ = shared_repos
    queries = [
        f"{TAGGED}@v1.0.0", f"{TAGGED}@v1.1.0", f"{TAGGED}@v1.2.0-beta.1", f"{TAGGED}@v1.2.1",
        f"{module_path('major')}@v1.0.0", f"{module_path('major')}/v2@v2.0.0", f"{module_path('major')}/v3@v3.0.0",
        f"{module_path('incompat')}@v2.0.0+incompatible", f"{module_path('nested')}@v1.0.0",
        f"{module_path('nested')}/sub@v1.0.0", f"{module_path('nomod')}@v1.0.0",
        f"{module_path('untagged')}@latest", f"{TAGGED}@{repos['tagged'].marks['untagged']}",
    ]
    reference = summary(go_vcs.download_json(*queries))
    proxied = summary(go_env(direct_proxy).download_json(*queries))
    assert len(reference) == len(queries)
    assert all(None not in row for row in reference.values())
    assert proxied == reference


@pytest.mark.parametrize("name", ["tagged", "major/v2", "incompat", "untagged", "nested"])
def test_version_lists_through_the_proxy_match_the_go_command_direct(go_env, direct_proxy, go_vcs, name):
    module = module_path(name.split("/")[0]) + ("/v2" if name == "major/v2" else "")
    assert go_env(direct_proxy).versions(module) == go_vcs.versions(module)


@pytest.mark.parametrize("query", ["latest", "main", "feature", "v1.1", "mark:feature", "mark:untagged"])
def test_queries_resolve_to_the_same_version_as_direct(go_env, direct_proxy, go_vcs, shared_repos, query):
    repos, _ = shared_repos
    if query.startswith("mark:"):
        query = repos["tagged"].marks[query[5:]][:12]
    reference = go_vcs.list_json("-m", f"{TAGGED}@{query}")[0]["Version"]
    assert go_env(direct_proxy).list_json("-m", f"{TAGGED}@{query}")[0]["Version"] == reference


def test_branch_and_commit_resolve_to_one_pseudo_version(client, direct_proxy, shared_repos):
    repos, _ = shared_repos
    by_branch = json.loads(client.get(f"/{TAGGED}/@v/feature.info").content)
    by_commit = json.loads(client.get(f"/{TAGGED}/@v/{repos['tagged'].marks['feature']}.info").content)
    assert by_branch["Version"] == by_commit["Version"]
    assert by_branch["Version"].startswith("v1.1.1-0.")
    assert client.get(f"/{TAGGED}/@v/feature.zip").status_code == 404  # only canonical versions


def test_unknown_repository_and_revision_are_not_found(client, direct_proxy):
    missing = client.get(f"/{module_path('missing')}/@v/v1.0.0.info")
    assert missing.status_code == 404
    assert missing.content.startswith(b"not found:")
    assert client.get(f"/{TAGGED}/@v/v9.9.9.info").status_code == 404


def test_private_and_public_modules_build_together_and_private_names_never_leave(
    settings, live_server, static_upstream, shared_repos, go_env, tmp_path
):
    _, git_config = shared_repos
    settings.ATHENS_UPSTREAM = static_upstream.url
    settings.ATHENS_GOPRIVATE = "vcs.example.test"
    settings.ATHENS_GIT_CONFIG = str(git_config)
    program = tmp_path / "mixed"
    program.mkdir()
    (program / "go.mod").write_text(
        "module example.test/mixed\n\ngo 1.21\n\n"
        f"require (\n\tmods.example.test/hello v1.1.0\n\t{TAGGED} v1.2.0\n)\n"
    )
    (program / "main.go").write_text(
        'package main\n\nimport (\n\t"fmt"\n\n\t"mods.example.test/hello"\n'
        f'\ttagged "{TAGGED}"\n)\n\nfunc main() {{ fmt.Println(hello.Hello(), tagged.Version) }}\n'
    )
    result = go_env(live_server.url).run("run", ".", cwd=program)
    assert result.stdout == "hello v1.1.0 v1.2.0\n"
    assert static_upstream.count(f"/mods.example.test/hello/@v/v1.1.0.zip") == 1
    assert not [path for _, path in static_upstream.requests if "vcs.example.test" in path]
    upstreams = dict(FetchEvent.objects.filter(endpoint="version").values_list("module", "upstream"))
    assert upstreams == {"mods.example.test/hello": static_upstream.url, TAGGED: "direct"}


def test_a_moved_tag_keeps_the_original_bytes_and_records_the_conflict(settings, client, tmp_path):
    repos = standard_repositories(tmp_path / "repos")
    settings.ATHENS_UPSTREAM = "direct"
    settings.ATHENS_GIT_CONFIG = str(git_config_for(repos, tmp_path / "gitconfig"))
    settings.ATHENS_LIST_TTL = 0
    response = client.get(f"/{TAGGED}/@v/v1.2.1.zip")
    original = b"".join(response.streaming_content)

    repos["tagged"].move_tag("v1.2.1", repos["tagged"].marks["untagged"])
    assert json.loads(client.get(f"/{TAGGED}/@latest").content)["Version"] == "v1.2.1"
    assert b"".join(client.get(f"/{TAGGED}/@v/v1.2.1.zip").streaming_content) == original
    conflict = FetchEvent.objects.get(outcome="conflict")
    assert (conflict.module, conflict.version, conflict.upstream) == (TAGGED, "v1.2.1", "direct")
    assert ModuleVersion.objects.get(module__path=TAGGED, version="v1.2.1").zip_hash


def test_credentials_never_reach_error_bodies_or_audit_rows(settings, client, shared_repos, tmp_path):
    _, git_config = shared_repos
    secret = "s3cr3t-t0ken-value"
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine vcs.example.test login deploy-bot password {secret}\n")
    settings.ATHENS_UPSTREAM = "direct"
    settings.ATHENS_GIT_CONFIG = str(git_config)
    settings.ATHENS_NETRC = str(netrc)
    for path in (f"/{module_path('missing')}/@v/v1.0.0.info", f"/{module_path('missing')}/@v/list"):
        response = client.get(path)
        assert response.status_code == 404
        assert secret.encode() not in response.content
    assert client.get(f"/{TAGGED}/@v/v1.0.0.info").status_code == 200
    audit_text = str(list(FetchEvent.objects.values())) + str(list(DownloadEvent.objects.values()))
    assert secret not in audit_text and "deploy-bot" not in audit_text


def test_direct_after_a_comma_is_tried_when_the_proxy_has_no_such_module(settings, client, static_upstream, shared_repos):
    _, git_config = shared_repos
    settings.ATHENS_UPSTREAM = f"{static_upstream.url},direct"
    settings.ATHENS_GIT_CONFIG = str(git_config)
    assert client.get(f"/{TAGGED}/@v/v1.1.0.info").status_code == 200
    assert client.get("/mods.example.test/hello/@v/v1.0.0.info").status_code == 200
    attempts = list(FetchEvent.objects.filter(endpoint="version").order_by("id").values_list("module", "upstream", "outcome"))
    assert attempts == [
        (TAGGED, static_upstream.url, "not_found"),
        (TAGGED, "direct", "ok"),
        ("mods.example.test/hello", static_upstream.url, "ok"),
    ]



# Paths into each go command's own module cache: they differ between any two caches.
LOCAL_FIELDS = ("GoMod", "Dir")


def listed(env, subject):
    doc = env.list_json("-m", subject)[0]
    return {key: value for key, value in doc.items() if key not in LOCAL_FIELDS}


@pytest.mark.parametrize("query", ["main", "feature", "v1.1.0", "mark:feature"])
def test_go_list_json_through_the_proxy_prints_what_direct_prints(go_env, direct_proxy, go_vcs, shared_repos, query):
    """Origin included: for a query the proxy answers with one .info (a branch, a
    commit, a version), the go command prints that .info's Origin, so the proxy's
    `direct` must pass on the one the go command computed."""
    repos, _ = shared_repos
    if query.startswith("mark:"):
        query = repos["tagged"].marks[query[5:]][:12]
    subject = f"{TAGGED}@{query}"
    reference = listed(go_vcs, subject)
    assert reference["Origin"]["Hash"]
    assert listed(go_env(direct_proxy), subject) == reference


@pytest.mark.parametrize("subject", [f"{TAGGED}@latest", f"{TAGGED}@v1.1", f"{module_path('untagged')}@latest"])
def test_queries_answered_from_the_list_print_what_the_go_commands_own_proxy_tree_prints(
    go_env, direct_proxy, go_vcs, subject
):
    """`@latest` and `v1.2`-style prefixes the go command resolves from `@v/list` (then
    one `.info`, or `@latest` when the list is empty); its proxy client has no Origin
    for a list, so through any proxy it prints none (modfetch/proxy.go Versions, merged
    in modload/query.go). The reference is then the go command against a proxy tree it
    wrote itself: its own module cache."""
    direct = listed(go_vcs, subject)
    own_tree = listed(go_env(f"file://{go_vcs.modcache}/cache/download"), subject)
    assert "Origin" in direct and "Origin" not in own_tree
    assert listed(go_env(direct_proxy), subject) == own_tree
