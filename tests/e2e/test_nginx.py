"""The shipped nginx template (athens_site/deploy/nginx.conf.template), really run: nginx
in front of a gunicorn web server with ATHENS_ZIP_SERVING=accel, driven by the real go
command. nginx sends the cached zips itself from the storage directory; the proxy
decides, audits and answers with X-Accel-Redirect."""

import http.client
import ipaddress
import json
import stat
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from audit.models import DownloadEvent
from modules.models import ModuleVersion
from modules.serving import IMMUTABLE
from tests.support.nginx import TEMPLATE, NginxServer, find_nginx, placeholders, render
from tests.support.processes import REPO, WebServer, proxy_environment

pytestmark = pytest.mark.django_db(transaction=True)

HOST = "mods.example.test"
HELLO = f"{HOST}/hello"
UPPER = f"{HOST}/Upper/Case"
INCOMPAT = f"{HOST}/incompat"
# !-escaped path and version; a plain one; a `+` in the version.
VERSIONS = [(UPPER, "v0.1.1-RC.1"), (HELLO, "v1.1.0"), (INCOMPAT, "v2.0.0+incompatible")]
TEMPLATE_VARIABLES = {"NGINX_PORT", "ATHENS_WEB_UPSTREAM", "NGINX_RESOLVER", "ATHENS_STORAGE_DIR"}


@pytest.fixture(scope="session")
def nginx_binary() -> str:
    path = find_nginx()
    if path is None:
        pytest.fail("nginx is required for tests/e2e/test_nginx.py (Debian: apt-get install -y nginx; `make test` installs it)")
    return path


@pytest.fixture
def behind_nginx(tmp_path, proxy, isolated_storage, settings, nginx_binary):
    """(nginx, web): gunicorn as docker-compose.yml runs it behind nginx, and nginx from
    the shipped template in front of it, both on 127.0.0.1."""
    env = proxy_environment(
        upstream=proxy.url, storage_dir=isolated_storage, lock_dir=settings.ATHENS_LOCK_DIR,
        ATHENS_ZIP_SERVING="accel", ATHENS_TRUSTED_PROXIES="127.0.0.1", GUNICORN_CMD_ARGS="--keep-alive 75",
    )
    web = WebServer(env, tmp_path / "web.log", workers=2)
    try:
        nginx = NginxServer(nginx_binary, tmp_path / "nginx", upstream=f"127.0.0.1:{web.port}", storage_dir=isolated_storage)
    except BaseException:
        web.stop()
        raise
    yield nginx, web
    nginx.stop()
    web.stop()


def get(url: str, *, method: str = "GET", headers: dict | None = None):
    """(status, headers, body) of one request; HTTP errors are answers too."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def zip_url(base: str, proxy, module: str, version: str) -> str:
    return base + proxy.tree.files(module, version).url_path("zip")


def test_go_mod_download_through_nginx_gets_the_zips_from_storage(behind_nginx, proxy, go_env, isolated_storage):
    nginx, web = behind_nginx
    results = go_env(nginx.url).download_json(*(f"{module}@{version}" for module, version in VERSIONS))

    by_module = {(r["Path"], r["Version"]): r for r in results}
    assert set(by_module) == set(VERSIONS), (results, nginx.log(), web.log())
    for module, version in VERSIONS:
        expected = proxy.tree.files(module, version).zip_bytes
        assert Path(by_module[module, version]["Zip"]).read_bytes() == expected, (module, version)

        # The proxy decided and audited; nginx sent the bytes.
        event = DownloadEvent.objects.get(module=module, version=version, endpoint="zip")
        assert event.status == 200
        assert event.bytes_sent == len(expected) == ModuleVersion.objects.get(module__path=module, version=version).zip_size
        assert event.client_addr == "127.0.0.1"
        assert event.user_agent.startswith("Go")

        # nginx's workers in docker-compose.yml are another user than the web servers':
        # what the proxy stores must be readable by others (directories searchable).
        row = ModuleVersion.objects.get(module__path=module, version=version)
        stored = isolated_storage / row.zip_key
        assert stored.stat().st_mode & stat.S_IROTH, oct(stored.stat().st_mode)
        for directory in stored.relative_to(isolated_storage).parents:
            if directory != Path("."):
                assert (isolated_storage / directory).stat().st_mode & stat.S_IXOTH, directory

    # What nginx turned into those zips: the web server's own answer has no body, only
    # the storage key, with `!`, `@` and `+` as they are (nginx maps them to the file).
    accel = {}
    for module, version in VERSIONS:
        status, headers, body = get(zip_url(web.url, proxy, module, version))
        key = ModuleVersion.objects.get(module__path=module, version=version).zip_key
        assert (status, body) == (200, b"")
        assert headers["X-Accel-Redirect"] == f"/_athens_storage/{key}"
        assert headers["Cache-Control"] == IMMUTABLE
        accel[version] = headers["X-Accel-Redirect"]
    assert accel["v0.1.1-RC.1"] == "/_athens_storage/mods.example.test/!upper/!case/@v/v0.1.1-!r!c.1.zip"
    assert accel["v2.0.0+incompatible"] == "/_athens_storage/mods.example.test/incompat/@v/v2.0.0+incompatible.zip"


def test_a_cached_zip_through_nginx_keeps_the_proxys_headers(behind_nginx, proxy):
    nginx, _ = behind_nginx
    for module, version in VERSIONS:
        expected = proxy.tree.files(module, version).zip_bytes
        url = zip_url(nginx.url, proxy, module, version)
        assert get(url)[0] == 200  # fetched and cached

        request_id = "nginx-test-" + version.replace("+", "_")  # `+` is not allowed in an id
        status, headers, body = get(url, headers={"X-Request-ID": request_id})
        assert status == 200
        assert body == expected
        assert headers["Content-Type"] == "application/zip"
        assert headers["Content-Length"] == str(len(expected))
        assert headers.get_all("Cache-Control") == [IMMUTABLE]
        assert "X-Accel-Redirect" not in headers
        # The client's request id went to the proxy and came back.
        assert headers.get_all("X-Request-ID") == [request_id]
        event = DownloadEvent.objects.get(request_id=request_id)
        assert (event.module, event.version, event.endpoint, event.cache) == (module, version, "zip", "hit")
        assert event.bytes_sent == len(expected)

        # HEAD: nginx answers from the file, with the same headers and no body.
        status, headers, body = get(url, method="HEAD")
        assert (status, body) == (200, b"")
        assert headers["Content-Length"] == str(len(expected))
        assert headers["Content-Type"] == "application/zip"
        assert headers["Cache-Control"] == IMMUTABLE

    # Without an acceptable id of its own the request carries nginx's $request_id, the
    # same one the proxy audits.
    status, headers, _ = get(zip_url(nginx.url, proxy, HELLO, "v1.1.0"), headers={"X-Request-ID": "not acceptable!"})
    assert status == 200
    assert len(headers["X-Request-ID"]) == 32
    assert DownloadEvent.objects.filter(request_id=headers["X-Request-ID"], endpoint="zip").count() == 1

    # .info and .mod are proxied as they are, Cache-Control included.
    files = proxy.tree.files(HELLO, "v1.1.0")
    status, headers, answer = get(nginx.url + files.url_path("info"))
    assert (status, json.loads(answer)) == (200, json.loads(files.info_bytes))
    assert headers["Cache-Control"] == IMMUTABLE
    status, headers, answer = get(nginx.url + files.url_path("mod"))
    assert (status, answer) == (200, files.mod_bytes)
    assert headers["Cache-Control"] == IMMUTABLE


def get_from_127_0_0_2(port: int, path: str, headers: dict):
    """(response, body) of GET path on 127.0.0.1:port, sent from the address 127.0.0.2:
    a client that is neither the test's usual 127.0.0.1 nor a trusted proxy."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120, source_address=("127.0.0.2", 0))
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


def test_the_audited_client_is_the_address_nginx_saw(behind_nginx, proxy):
    nginx, _ = behind_nginx
    path = proxy.tree.files(HELLO, "v1.1.0").url_path("zip")
    # From another loopback address, with a forged X-Forwarded-For: nginx appends the
    # address it saw, and the proxy (one trusted hop) believes only that one.
    response, body = get_from_127_0_0_2(nginx.port, path, {"X-Forwarded-For": "203.0.113.9", "X-Request-ID": "forged-xff"})
    assert response.status == 200
    assert body == proxy.tree.files(HELLO, "v1.1.0").zip_bytes
    event = DownloadEvent.objects.get(request_id="forged-xff")
    assert event.client_addr == "127.0.0.2"
    assert event.forwarded_for == "203.0.113.9, 127.0.0.2"  # the claim, kept as text


def test_a_client_that_bypasses_nginx_cannot_choose_its_address_or_request_id(behind_nginx, proxy):
    _, web = behind_nginx
    path = proxy.tree.files(HELLO, "v1.1.0").url_path("info")
    # Straight to gunicorn from an address that is not nginx's (127.0.0.2).
    response, _ = get_from_127_0_0_2(web.port, path, {"X-Forwarded-For": "203.0.113.9", "X-Request-ID": "ci-build-4711"})
    assert response.status == 200
    ours = response.getheader("X-Request-ID")
    assert ours != "ci-build-4711"
    event = DownloadEvent.objects.get(request_id=ours)
    assert (event.client_addr, event.forwarded_for, event.client_request_id) == ("127.0.0.2", "203.0.113.9", "ci-build-4711")


def test_the_storage_location_is_internal_only(behind_nginx, proxy, isolated_storage):
    nginx, _ = behind_nginx
    for module, version in VERSIONS:
        assert get(zip_url(nginx.url, proxy, module, version))[0] == 200
        key = ModuleVersion.objects.get(module__path=module, version=version).zip_key
        assert (isolated_storage / key).is_file()
        for path in (f"/_athens_storage/{key}", f"/%5Fathens_storage/{key}", f"//_athens_storage/{key}",
                     f"/x/../_athens_storage/{key}"):
            status, _, body = get(nginx.url + path)
            assert status == 404, (path, status)
            assert body != proxy.tree.files(module, version).zip_bytes


def test_the_template_renders_as_the_nginx_image_renders_it():
    text = TEMPLATE.read_text()
    assert placeholders(text) == TEMPLATE_VARIABLES
    values = {name: f"<{name.lower()}>" for name in TEMPLATE_VARIABLES}
    rendered = render(text, values)
    # nginx's own variables are left for nginx.
    for variable in ("$http_host", "$proxy_add_x_forwarded_for", "$request_id", "$athens_request_id", "$scheme"):
        assert variable in rendered
    assert "alias <athens_storage_dir>/;" in rendered


def test_docker_compose_runs_nginx_with_the_template_in_front_of_web():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    nginx, web = services["nginx"], services["web"]
    assert nginx["image"].startswith("nginx:")
    assert "./athens_site/deploy/nginx.conf.template:/etc/nginx/templates/default.conf.template:ro" in nginx["volumes"]
    assert set(nginx["environment"]) == TEMPLATE_VARIABLES
    # nginx reads the same volume the web servers write, at the path it is told.
    storage_dir = nginx["environment"]["ATHENS_STORAGE_DIR"]
    assert f"storage:{storage_dir}:ro" in nginx["volumes"]
    assert f"storage:{storage_dir}" in web["volumes"]
    assert web["environment"]["ATHENS_STORAGE_DIR"] == storage_dir
    assert web["environment"]["ATHENS_ZIP_SERVING"] == "${ATHENS_ZIP_SERVING:-accel}"
    # The web servers trust nginx's address, and nothing else.
    nginx_address = nginx["networks"]["default"]["ipv4_address"]
    assert web["environment"]["ATHENS_TRUSTED_PROXIES"] == nginx_address == web["environment"]["FORWARDED_ALLOW_IPS"]
    subnet = compose["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(nginx_address) in ipaddress.ip_network(subnet)
    # Only nginx is published; everything has a healthcheck or is a one-shot job.
    assert "ports" not in web and nginx["ports"]
    assert nginx["environment"]["ATHENS_WEB_UPSTREAM"].split()[0] == "web:3000"
    one_shot = {"migrate", "minio-init"}
    assert all("healthcheck" in service for name, service in services.items() if name not in one_shot)
