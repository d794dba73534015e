"""Allow/deny rules as the real go command experiences them through the proxy."""

from modules.models import PolicyRule
from tests.support.gomodules import write_program

HOST = "mods.example.test"
HELLO = f"{HOST}/hello"


def test_go_lists_and_picks_only_allowed_versions(go_through_proxy, tmp_path):
    PolicyRule.objects.create(pattern=HELLO, versions=">=v1.2.0-0", action="deny", reason="regression in v1.2")
    assert go_through_proxy.versions(HELLO) == ["v1.0.0", "v1.1.0"]
    program = write_program(tmp_path / "prog", {HELLO: "v1.0.0"})
    go_through_proxy.run("get", f"{HELLO}@latest", cwd=program)
    assert f"{HELLO} v1.1.0" in (program / "go.mod").read_text()
    assert go_through_proxy.run("run", ".", cwd=program).stdout == "hello v1.1.0\n"


def test_a_denied_go_get_fails_showing_the_reason(go_through_proxy, tmp_path):
    rule = PolicyRule.objects.create(
        pattern=f"{HOST}/greeter", action="deny", reason="CVE-2099-0001: greets too loudly"
    )
    program = write_program(tmp_path / "prog", {})
    result = go_through_proxy.run("get", f"{HOST}/greeter@v1.0.0", cwd=program, check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "403 Forbidden" in output
    assert f"denied by rule #{rule.pk}" in output
    assert "CVE-2099-0001: greets too loudly" in output
