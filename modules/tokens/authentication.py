"""DRF authentication by ApiToken: `Authorization: Token <secret>` (the header DRF's own
token authentication used, so existing clients keep working) or `Bearer <secret>`."""

from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiToken

# last_used is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)

KEYWORDS = ("token", "bearer")


def secret_from_header(header: str) -> str | None:
    """The secret of an `Authorization: Token|Bearer <secret>` header; None when the
    header is of another scheme (or absent), "" when it is one of these without a
    usable secret."""
    parts = header.split()
    if not parts or parts[0].lower() not in KEYWORDS:
        return None
    if len(parts) != 2:
        return ""
    return parts[1]


def touch(token: ApiToken, now=None) -> None:
    """Record that the token was used, unless it was less than a minute ago."""
    now = now or timezone.now()
    if token.last_used is not None and now - token.last_used < LAST_USED_RESOLUTION:
        return
    record_use(token.pk, now)
    token.last_used = now


def record_use(token_id: int, now) -> None:
    """Set last_used to `now` unless it is already within the last minute (also when
    another process wrote it meanwhile): one UPDATE, of that column alone, which
    notifies no cache (modules/migrations/0013)."""
    ApiToken.objects.filter(pk=token_id).exclude(last_used__gt=now - LAST_USED_RESOLUTION).update(last_used=now)


class TokenAuthentication(authentication.BaseAuthentication):
    """Tokens of kind "api"; a revoked or expired token, or an inactive user's, is a 401."""

    keyword = "Token"
    message = "Invalid or revoked token."

    def authenticate(self, request):
        header = authentication.get_authorization_header(request)
        try:
            header = header.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(self.message) from None
        secret = secret_from_header(header)
        if secret is None:
            return None  # another scheme (Basic, ...) or no header: not ours
        token = ApiToken.find(secret, ApiToken.Kind.API)
        if token is None:
            raise exceptions.AuthenticationFailed(self.message)
        touch(token)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


try:  # the OpenAPI schema (/api/schema/) describes the scheme
    from drf_spectacular.extensions import OpenApiAuthenticationExtension
except ImportError:  # pragma: no cover - drf-spectacular is a requirement
    pass
else:
    class TokenScheme(OpenApiAuthenticationExtension):
        target_class = "modules.tokens.authentication.TokenAuthentication"
        name = "tokenAuth"

        def get_security_definition(self, auto_schema):
            return {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": 'An API token (manage.py api_token create): "Token <secret>" or "Bearer <secret>".',
            }
