"""API tokens, stored as hashes.

DRF's own token model (rest_framework.authtoken) keeps every key in plain text in the
database, so a copy of the database (a backup, var/athens.sqlite3) is every client's
credential. Here a token's secret is shown once, when it is created, and the database
keeps only its SHA-256 digest (to look it up) and its first characters (so people can
tell their tokens apart). The secrets are 256 random bits, so a fast hash is enough: a
password hasher's deliberate slowness protects guessable passwords, and would cost
every API request its ~100 ms.

- models.py: ApiToken, create_token();
- authentication.py: the DRF authentication class (`Authorization: Token <secret>` or
  `Bearer <secret>`);
- admin.py: list, revoke, delete (never a secret or a digest);
- legacy.py: the migration of the old plain-text rows into digests;
- modules/management/commands/api_token.py: create, list, revoke.

A token has a kind: "api" for the JSON API. The kind leaves room for other uses of the
same rows later (per-person credentials for the GOPROXY download endpoint, sent as an
HTTP Basic password), which only ever accept tokens of their own kind.
"""
