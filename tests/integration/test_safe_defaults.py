"""Defaults that are safe before anyone configures anything (issue 21): the proxy answers
only for the host names it is told it has, and what it keeps on disk is its own."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def default_hosts(settings):
    # The test runner adds "testserver"; the defaults are what `make run` serves.
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]


def test_a_forged_host_gets_a_plain_400_not_a_page_that_names_it(default_hosts, settings):
    settings.ATHENS_UI_PUBLIC = True
    response = Client(HTTP_HOST="evil.example").get("/")
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert b"evil.example" not in response.content and b"ATHENS_ALLOWED_HOSTS" in response.content
    assert Client(HTTP_HOST="evil.example").get("/mods.example.test/hello/@v/list").status_code == 400
    assert Client(HTTP_HOST="127.0.0.1:3000").get("/healthz").status_code == 200


def test_the_goproxy_hint_uses_the_public_url_when_set(default_hosts, settings):
    settings.ATHENS_UI_PUBLIC = True
    page = Client(HTTP_HOST="localhost:3000").get("/").content.decode()
    assert "GOPROXY=http://localhost:3000" in page
    settings.ATHENS_PUBLIC_URL = "https://goproxy.example.com"
    page = Client(HTTP_HOST="localhost:3000").get("/").content.decode()
    assert "go env -w GOPROXY=https://goproxy.example.com<" in page


def test_a_bad_public_url_fails_start_up():
    env = {**os.environ, "ATHENS_PUBLIC_URL": "goproxy.example.com"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "ATHENS_PUBLIC_URL" in result.stderr.strip().splitlines()[-1]


def test_var_is_private_to_the_proxys_user():
    assert stat.S_IMODE(django_settings.VAR_DIR.stat().st_mode) == 0o700


def test_a_new_sqlite_database_is_readable_by_its_owner_only(tmp_path):
    database = tmp_path / "athens.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=REPO, env=env, check=True, timeout=300)
    files = [path for path in tmp_path.iterdir() if path.name.startswith("athens.sqlite3")]
    assert database in files
    assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in files} == {path.name: 0o600 for path in files}


# --- Browsers -----------------------------------------------------------------------------

HTTPS_PROBE = """
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "athens_site.settings")
django.setup()
from django.test import Client
for peer in ("127.0.0.1", "203.0.113.9"):
    response = Client(HTTP_HOST="localhost", REMOTE_ADDR=peer, HTTP_X_FORWARDED_PROTO="https").get("/accounts/login/")
    print(peer, "hsts" if response.has_header("Strict-Transport-Security") else "-",
          "secure" if response.cookies["csrftoken"]["secure"] else "-")
"""


def test_with_athens_https_cookies_are_secure_and_hsts_is_sent_only_for_what_a_trusted_proxy_says_is_https():
    env = {**os.environ, "ATHENS_HTTPS": "true", "ATHENS_TRUSTED_PROXIES": "127.0.0.1/32"}
    result = subprocess.run([sys.executable, "-c", HTTPS_PROBE], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=120, check=True)
    # 127.0.0.1 is the reverse proxy: its X-Forwarded-Proto counts. 203.0.113.9 is a
    # client saying the same: its request is plain HTTP, which gets no HSTS.
    assert result.stdout.splitlines() == ["127.0.0.1 hsts secure", "203.0.113.9 - secure"]


def test_every_page_has_a_content_security_policy(client, settings):
    settings.ATHENS_UI_PUBLIC = True
    policy = client.get("/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert "https:" not in directives["img-src"]  # README images from elsewhere are links (issue 20)


def login(client, password, **extra):
    return client.post("/accounts/login/", {"username": "alice", "password": password}, **extra)


def test_password_guessing_is_stopped_for_that_user_and_address_only(settings):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("alice", password="the-right-password")
    guesser = Client(REMOTE_ADDR="203.0.113.9")
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(guesser, f"guess-{attempt}").status_code == 200  # the form again, with its error
    assert login(guesser, "one-guess-too-many").status_code == 429
    assert login(guesser, "the-right-password").status_code == 429  # locked, even with the password
    # A forged X-Forwarded-For from an untrusted peer is not another client.
    assert login(guesser, "the-right-password", HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429
    assert login(Client(REMOTE_ADDR="192.0.2.1"), "the-right-password").status_code == 302  # alice herself
