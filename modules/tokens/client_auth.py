"""Who is asking the download API: a person or CI system identified by a proxy token.

The go command sends credentials the way netrc (its default GOAUTH) makes it: HTTP Basic,
`machine proxy.example.com login <username> password <token>`, and only over HTTPS. A
GOAUTH command may send `Authorization: Bearer <token>` instead; both are accepted. The
token is a proxy token (ApiToken kind "proxy"): an API token, made for the JSON API, is
no credential here (least privilege: a leaked CI download token cannot change rules).
With Basic, the login must be the token owner's username, so a netrc line that names the
wrong person fails instead of being recorded as someone else.

ATHENS_CLIENT_AUTH says what happens with what a request sends:
- `none`: nobody is refused; a valid token (or a browser session) still names the user
  in the audit, and anything else is recorded as "bad-token";
- `optional`: no credentials is anonymous; a wrong, revoked or expired token is a 401;
- `required`: every request needs a valid token (or a browser session), else 401.

Speed: a verified token is kept in memory per process (modules/hot_cache.py), with its
user's groups for the policy, so a download costs no query for it; the triggers of
modules/migrations/0013 notify every process when a token, a user or a group membership
changes, and a revoked token is refused as soon as the notification arrives
(milliseconds). Expiry is checked on every request against the cached time.
"""

from __future__ import annotations

import base64
import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from modules import hot_cache

from .authentication import LAST_USED_RESOLUTION, record_use, secret_from_header
from .models import ApiToken, digest_of

logger = logging.getLogger(__name__)

TOKENS_PAGE = "/tokens/"


@dataclass(frozen=True)
class Client:
    """The requester as the audit and the policy see it."""

    username: str = ""
    auth: str = ""  # "token", "session", "bad-token" or "" (anonymous)
    token_name: str = ""
    groups: frozenset[int] = frozenset()

    @property
    def identified(self) -> bool:
        return self.auth in ("token", "session")


ANONYMOUS = Client()
BAD_TOKEN = Client(auth="bad-token")


class Unauthorized(Exception):
    """A 401 for the go command: the text it prints, and the header it expects."""

    http_status = 401

    def __init__(self, message: str, client: Client):
        super().__init__(message)
        self.client_message = message
        self.client = client


@dataclass(frozen=True)
class _Verified:
    """A usable proxy token as cached: what a request needs, never the secret."""

    token_id: int
    username: str
    name: str
    groups: frozenset[int]
    expires: datetime | None


def identify(request) -> Client:
    """The client of a download API request, or Unauthorized when ATHENS_CLIENT_AUTH
    refuses it."""
    mode = settings.ATHENS_CLIENT_AUTH
    credentials = _credentials(request.META.get("HTTP_AUTHORIZATION", ""))
    if credentials is None:
        client = _session_client(request)
        if mode == "required" and not client.identified:
            raise Unauthorized(
                f"unauthorized: this proxy needs a proxy token; create one at {TOKENS_PAGE} on this proxy and add "
                "`machine <proxy host> login <your username> password <token>` to your ~/.netrc",
                client,
            )
        return client
    login, secret = credentials
    verified = _verify(secret)
    if verified is None or (login is not None and login != verified.username):
        if mode == "none":
            return BAD_TOKEN
        raise Unauthorized(
            "unauthorized: the proxy token is wrong, revoked or expired, or not the login's; "
            f"check your ~/.netrc (tokens: {TOKENS_PAGE} on this proxy)",
            BAD_TOKEN,
        )
    _touch(verified.token_id)
    return Client(username=verified.username, auth="token", token_name=verified.name, groups=verified.groups)


def _credentials(header: str) -> tuple[str | None, str] | None:
    """(login, secret) of a Basic header, (None, secret) of a Bearer or Token one; None
    without an Authorization header. A malformed header gives an empty secret, which
    verifies as nothing."""
    secret = secret_from_header(header)  # Token/Bearer: the JSON API's parser
    if secret is not None:
        return None, secret
    scheme, _, value = header.strip().partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if not scheme:
        return None
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except ValueError:  # binascii.Error, UnicodeDecodeError, non-ASCII text ("Basic é")
            return "", ""
        login, colon, secret = decoded.partition(":")
        return (login, secret) if colon else ("", "")
    return "", ""


def _verify(secret: str) -> _Verified | None:
    if not secret or len(secret) > 256:
        return None
    digest = digest_of(secret)
    verified = hot_cache.verified_token(digest, lambda: _load(digest))
    if verified is None or (verified.expires is not None and verified.expires <= timezone.now()):
        return None
    return verified


def _load(digest: str) -> _Verified | None:
    token = ApiToken.find_digest(digest, ApiToken.Kind.PROXY)
    if token is None:
        return None
    return _Verified(token.pk, token.user.get_username(), token.name, group_ids(token.user), token.expires)


def group_ids(user) -> frozenset[int]:
    """The ids of the groups of `user` (None: none), which choose the policy rules."""
    if user is None:
        return frozenset()
    return frozenset(user.groups.values_list("pk", flat=True))


def _session_client(request) -> Client:
    """A logged-in browser (someone following a link from the UI): the go command never
    sends a cookie, so without one the lazy user is not loaded (a query saved)."""
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return ANONYMOUS
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_active:
        return ANONYMOUS
    return Client(username=user.get_username(), auth="session", groups=group_ids(user))


# last_used is written at most once a minute per token and process: an UPDATE of that
# column alone, which notifies no cache.
_touched: dict[int, datetime] = {}
_touched_lock = threading.Lock()


def _touch(token_id: int) -> None:
    """Best effort: a download is not refused because last_used could not be written."""
    now = timezone.now()
    with _touched_lock:
        last = _touched.get(token_id)
        if last is not None and now - last < LAST_USED_RESOLUTION:
            return
        _touched[token_id] = now
    try:
        record_use(token_id, now)
    except DatabaseError as exc:
        logger.warning("could not record the use of proxy token %s: %s", token_id, exc)


def unauthorized_headers() -> dict[str, str]:
    return {"WWW-Authenticate": f'Basic realm="{_quoted(settings.ATHENS_AUTH_REALM)}", charset="UTF-8"'}


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
