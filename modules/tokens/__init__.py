"""API tokens, stored as hashes.

DRF's own token model (rest_framework.authtoken) keeps every key in plain text in the
database, so a copy of the database (a backup, var/athens.sqlite3) is every client's
credential. Here a token's secret is shown once, when it is created, and the database
keeps only its SHA-256 digest (to look it up) and its first characters (so people can
tell their tokens apart). The secrets are 256 random bits, so a fast hash is enough: a
password hasher's deliberate slowness protects guessable passwords, and would cost
every API request its ~100 ms.

- models.py: ApiToken, create_token();
- authentication.py: the JSON API's DRF authentication (`Authorization: Token <secret>`
  or `Bearer <secret>`);
- client_auth.py: the download API's (GOPROXY) client identity: a proxy token as the
  HTTP Basic password the go command sends from netrc, ATHENS_CLIENT_AUTH;
- views.py, forms.py, client_setup.py: /tokens/, where a person creates, lists and
  revokes their own proxy tokens and copies the netrc line;
- admin.py: list, revoke, delete (never a secret or a digest);
- command.py: `manage.py api_token` and `manage.py proxy_token` (create, list, revoke);
- legacy.py: the migration of DRF's old plain-text rows into digests.

A token has a kind, and each use accepts only its own: "api" for the JSON API, "proxy"
for the download API. A leaked CI download token cannot change a rule, and an API token
does not identify anyone to the download API.
"""
