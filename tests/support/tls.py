"""A throwaway certificate authority and a certificate for 127.0.0.1 (trustme): the go
command sends netrc credentials over HTTPS only (cmd/go/internal/web/http.go adds them
when the scheme is https), so the tests of proxy tokens serve the proxy over TLS and
point the go command's SSL_CERT_FILE at this CA."""

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class TestTLS:
    ca_file: Path
    cert_file: Path
    key_file: Path

    def client_context(self) -> ssl.SSLContext:
        """An SSL context that trusts the CA (for urllib in the tests)."""
        return ssl.create_default_context(cafile=str(self.ca_file))


def make_tls(directory: Path) -> TestTLS:
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    tls = TestTLS(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    ca.cert_pem.write_to_path(str(tls.ca_file))
    leaf.private_key_pem.write_to_path(str(tls.key_file))
    for index, pem in enumerate(leaf.cert_chain_pems):
        pem.write_to_path(str(tls.cert_file), append=index > 0)
    return tls
