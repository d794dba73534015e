"""Who the audit says a client is: X-Forwarded-For is a claim, believed only from the
reverse proxies in ATHENS_TRUSTED_PROXIES, and a bad header never loses the row."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from athens_site.trusted_proxies import parse_networks
from audit.models import DownloadEvent

pytestmark = pytest.mark.django_db

LIST = "/mods.example.test/hello/@v/list"


def audited(client, **meta) -> DownloadEvent:
    assert client.get(LIST, **meta).status_code == 200
    return DownloadEvent.objects.latest("id")


def test_without_trusted_proxies_a_forwarded_address_is_recorded_as_a_claim_only(client, proxy):
    # Sent straight to the web server: the TCP peer is the client, whatever it says.
    event = audited(client, REMOTE_ADDR="198.51.100.20", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert (event.client_addr, event.forwarded_for) == ("198.51.100.20", "203.0.113.9")


@pytest.mark.parametrize(("forwarded", "client_addr"), [
    ("203.0.113.9", "203.0.113.9"),
    ("198.51.100.1, 203.0.113.9", "203.0.113.9"),  # the rightmost untrusted hop, not the client's claim
    ("203.0.113.9, 10.0.0.7", "203.0.113.9"),  # 10.0.0.7 is a trusted load balancer: skipped
    ("", "10.0.0.5"),
    ("not-an-address", "10.0.0.5"),  # unparsable: the last address we could check
    ("203.0.113.9, bogus, 10.0.0.7", "10.0.0.7"),
    ("::ffff:203.0.113.9", "203.0.113.9"),
    ("2001:db8::1", "2001:db8::1"),
])
def test_behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client(client, proxy, settings, forwarded, client_addr):
    settings.ATHENS_TRUSTED_PROXIES = parse_networks("10.0.0.5, 10.0.0.0/29")
    event = audited(client, REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR=forwarded)
    assert event.client_addr == client_addr
    assert event.forwarded_for == forwarded  # the header itself, as text beside it


def test_a_hostile_header_is_kept_as_text_and_the_row_is_never_lost(client, proxy, settings):
    settings.ATHENS_TRUSTED_PROXIES = parse_networks("127.0.0.1")
    event = audited(client, HTTP_X_FORWARDED_FOR="1.2.3.4\x00'; DROP TABLE x; --" + "," * 2000)
    assert event.client_addr == "127.0.0.1"
    assert event.forwarded_for.startswith("1.2.3.4\\x00'; DROP") and len(event.forwarded_for) == 512


def test_bad_settings_fail_at_start_up_saying_what_to_change():
    with pytest.raises(ImproperlyConfigured, match="ATHENS_TRUSTED_PROXIES.*not an IP address"):
        parse_networks("10.0.0.5, nginx")
