"""What a client is told when an upstream fails: its kind and the request id, never the
upstream's own text, which names internal hosts, paths and resolvers (issue 21). The
whole text is kept for staff: in the FetchEvent, the DownloadEvent and the log."""

import pytest

from audit.models import DownloadEvent, FetchEvent

pytestmark = pytest.mark.django_db

HELLO = "mods.example.test/hello"
SECRET = "db.corp.internal:5432 via resolver 10.0.0.53"


def body(response) -> str:
    return response.content.decode()


@pytest.mark.parametrize(("status", "answered", "kind"), [
    (500, 502, "upstream unreachable or failing"),
    (404, 404, "not found upstream"),
])
def test_an_upstreams_error_text_stays_with_staff(client, proxy, status, answered, kind):
    proxy.fail("v1.0.0.info", status=status, body=f"cannot reach {SECRET}\n")
    response = client.get(f"/{HELLO}/@v/v1.0.0.info")
    assert response.status_code == answered
    text = body(response)
    assert kind in text and "corp.internal" not in text and "10.0.0.53" not in text
    assert proxy.url not in text  # nor the upstream's own address
    event = DownloadEvent.objects.get(endpoint="info")
    assert f"(request id {event.request_id})" in text
    assert SECRET in event.message
    assert SECRET in FetchEvent.objects.get(module=HELLO, version="v1.0.0").error


def test_a_remembered_failure_is_told_the_same_way(client, proxy):
    proxy.fail("v1.0.0.info", status=500, body=f"cannot reach {SECRET}\n")
    first = body(client.get(f"/{HELLO}/@v/v1.0.0.info"))
    again = client.get(f"/{HELLO}/@v/v1.0.0.info")  # from the negative cache
    assert "corp.internal" not in body(again)
    assert first.split(" (request id")[0] == body(again).split(" (request id")[0]


def test_content_that_breaks_a_rule_says_which_rule_without_the_upstreams_url(client, proxy):
    proxy.tree.version_path(HELLO, "v1.0.0", "info").write_bytes(b'{"Version":"v1.0.1"}')
    response = client.get(f"/{HELLO}/@v/v1.0.0.info")
    assert response.status_code == 502
    assert "instead of requested version" in body(response)
    assert proxy.url not in body(response) and "127.0.0.1" not in body(response)


def test_a_refusal_by_policy_names_the_rule_and_the_request(client, proxy):
    from modules.models import PolicyRule

    rule = PolicyRule.objects.create(pattern=HELLO, action="deny", reason="CVE-2024-1")
    response = client.get(f"/{HELLO}/@v/v1.0.0.info")
    assert response.status_code == 403
    event = DownloadEvent.objects.get(endpoint="info")
    assert f"rule #{rule.pk}" in body(response) and f"(request id {event.request_id})" in body(response)
