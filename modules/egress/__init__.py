"""Where `direct` may connect: the host guard and the egress proxy that enforces it.

A `direct` fetch runs the go command, which picks the hosts it contacts from the
module path and from whatever a `?go-get=1` page says (a `go-import` meta tag may send
it anywhere, including 127.0.0.1 or the cloud's metadata address). Without a guard,
anyone who may download through the proxy could make it connect to internal services
(issues 14 and 21).

- hosts.py: which host names and addresses are allowed (ATHENS_DIRECT_HOSTS), checked
  on the addresses a name resolves to, not on the name;
- proxy.py: a small HTTP proxy in each process, on 127.0.0.1, that the go command and
  git are told to use (HTTPS_PROXY, HTTP_PROXY). It resolves each host once, checks
  every address, and connects to the address it checked, so a name cannot resolve to a
  public address for the check and to an internal one for the connection.
"""
