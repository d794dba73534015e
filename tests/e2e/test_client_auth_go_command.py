"""Proxy tokens as the go command uses them: HTTP Basic from a netrc, over HTTPS (the only
scheme the go command sends credentials on), against two gunicorn processes sharing
one PostgreSQL, so that a revocation must reach a process other than the one that
committed it (modules/tokens/client_auth.py, modules/hot_cache.py)."""

import urllib.error
import urllib.request

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from audit.models import DownloadEvent
from modules.models import PolicyRule
from modules.policy import changes
from modules.tokens.models import ApiToken
from tests.support.gomodules import expected_output, write_program
from tests.support.processes import WebServer, proxy_environment
from tests.support.tls import make_tls
from tests.support.users import basic_auth
from tests.support.waiting import eventually

pytestmark = pytest.mark.django_db(transaction=True)

HOST = "mods.example.test"
HELLO = f"{HOST}/hello"
GREETER = f"{HOST}/greeter"


@pytest.fixture
def secure_proxy(tmp_path, proxy, isolated_storage, settings):
    """`secure_proxy(mode)`: the proxy over HTTPS in two web processes, ATHENS_CLIENT_AUTH=mode."""
    tls = make_tls(tmp_path / "tls")
    started = []

    def start(mode: str) -> WebServer:
        env = proxy_environment(
            upstream=proxy.url, storage_dir=isolated_storage, lock_dir=settings.ATHENS_LOCK_DIR,
            ATHENS_CLIENT_AUTH=mode,
        )
        web = WebServer(env, tmp_path / "web.log", workers=2, tls=tls)
        started.append(web)
        return web

    yield start
    for web in started:
        web.stop()


def person(username: str, *, groups=()) -> tuple[object, ApiToken, str]:
    user = get_user_model().objects.create_user(username, password="x-long-password")
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    token, secret = ApiToken.create_token(user, "ci", kind=ApiToken.Kind.PROXY)
    return user, token, secret


def go_as(go_env, web, tmp_path, username: str | None = None, secret: str | None = None):
    """The go command for `web`, trusting its CA, with a netrc line for `username`."""
    netrc = tmp_path / f"netrc-{username or 'nobody'}"
    netrc.write_text("" if username is None else f"machine 127.0.0.1:{web.port} login {username} password {secret}\n")
    return go_env(web.url, extra_env={"SSL_CERT_FILE": str(web.tls.ca_file), "NETRC": str(netrc)})


def get(web, path: str, authorization: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(f"{web.url}{path}")
    if authorization:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=60, context=web.ssl_context) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def required(secure_proxy):
    return secure_proxy("required")


def test_required_without_credentials_the_go_command_fails_with_401_and_our_text(required, go_env, tmp_path):
    result = go_as(go_env, required, tmp_path).run("mod", "download", "-json", f"{HELLO}@v1.0.0", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "401 Unauthorized" in output, output
    assert "this proxy needs a proxy token" in output, output
    assert get(required, "/healthz")[0] == 200  # health checks stay open
    assert get(required, "/readyz")[0] == 200
    status, _ = get(required, f"/{HELLO}/@v/list")
    assert status == 401
    assert DownloadEvent.objects.filter(status=401).exists()
    assert not DownloadEvent.objects.filter(status=200).exists()


def test_with_a_netrc_the_go_command_downloads_and_builds_and_the_audit_names_the_user(required, go_env, tmp_path):
    _, _, secret = person("alice")
    go = go_as(go_env, required, tmp_path, "alice", secret)
    requires = {GREETER: "v1.0.0", HELLO: "v1.2.0"}
    program = write_program(tmp_path / "prog", requires)
    go.run("build", "-o", str(tmp_path / "prog.bin"), ".", cwd=program)
    assert go.run("run", ".", cwd=program).stdout == expected_output(requires)
    events = DownloadEvent.objects.all()
    assert events.count() >= 4  # .info/.mod/.zip of two modules at least
    assert set(events.values_list("username", "auth", "token_name", "status")) == {("alice", "token", "ci", 200)}


def test_a_netrc_line_for_another_login_is_refused(required, go_env, tmp_path):
    person("alice")
    _, _, bobs = person("bob")
    result = go_as(go_env, required, tmp_path, "alice", bobs).run("mod", "download", "-json", f"{HELLO}@v1.0.0",
                                                                     check=False)
    assert result.returncode != 0 and "401 Unauthorized" in result.stdout + result.stderr
    assert set(DownloadEvent.objects.values_list("username", "auth")) == {("", "bad-token")}


def test_a_revoked_token_is_refused_by_every_web_process(required, go_env, tmp_path):
    _, token, secret = person("alice")
    header = basic_auth("alice", secret)
    path = f"/{HELLO}/@v/v1.0.0.info"
    # Sixteen requests over two processes: each has verified the token and keeps it.
    assert [get(required, path, header)[0] for _ in range(16)] == [200] * 16
    token.revoke()
    eventually(lambda: get(required, path, header)[0] == 401, within=5)
    assert [get(required, path, header)[0] for _ in range(16)] == [401] * 16
    result = go_as(go_env, required, tmp_path, "alice", secret).run("mod", "download", "-json", f"{HELLO}@v1.0.0",
                                                                     check=False)
    assert result.returncode != 0 and "401 Unauthorized" in result.stdout + result.stderr


def test_a_rule_for_one_group_changes_what_its_members_get_and_nobody_elses(secure_proxy, go_env, tmp_path):
    web = secure_proxy("optional")
    _, _, carols = person("carol", groups=["Contractors"])
    _, _, daves = person("dave")
    rule = PolicyRule(pattern=HELLO, action="deny", reason="contractors may not pull hello")
    changes.save_rule(rule, "secteam", groups=Group.objects.filter(name="Contractors"))

    contractor = go_as(go_env, web, tmp_path, "carol", carols).download_json(f"{HELLO}@v1.0.0", check=False)
    assert "403 Forbidden" in contractor[0]["Error"] and "contractors may not pull hello" in contractor[0]["Error"]
    employee = go_as(go_env, web, tmp_path, "dave", daves).download_json(f"{HELLO}@v1.0.0")
    assert employee[0]["Version"] == "v1.0.0"
    anonymous = go_as(go_env, web, tmp_path).download_json(f"{HELLO}@v1.1.0")
    assert anonymous[0]["Version"] == "v1.1.0"
    assert set(DownloadEvent.objects.filter(status=403).values_list("username", flat=True)) == {"carol"}
