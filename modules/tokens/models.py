"""ApiToken: a credential of which only a digest is stored (see the package docstring)."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

PREFIX_LENGTH = 8
# A lifetime of at most ten years, so that the expiry stays a date (the form and the
# commands check it).
MAX_EXPIRES_DAYS = 3650


def digest_of(secret: str) -> str:
    """Hex SHA-256 of the whole secret: what the database keeps and looks tokens up by."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    class Kind(models.TextChoices):
        API = "api", "API"
        # The download API's (GOPROXY) tokens: the password of HTTP Basic auth, which the
        # go command sends from netrc (modules/tokens/client_auth.py).
        PROXY = "proxy", "Proxy"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.API)
    name = models.CharField(max_length=100, blank=True, default="")
    # The secret's first characters, shown in lists; not enough to use the token.
    prefix = models.CharField(max_length=PREFIX_LENGTH, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)
    expires = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "modules"
        ordering = ["-created", "-id"]
        verbose_name = "API token"

    def __str__(self):
        label = f"{self.prefix}…"
        if self.name:
            label += f" {self.name}"
        return f"{label} ({self.user})" if self.user_id else label

    @classmethod
    def create_token(cls, user, name: str = "", expires_days: int | None = None, *,
                     kind: str = Kind.API) -> tuple["ApiToken", str]:
        """A new token of `user` and its secret; the secret is not stored anywhere, so
        this is the only time anybody sees it."""
        secret = secrets.token_urlsafe(32)
        while secret.startswith("-"):  # a prefix "-x…" would read as an option: `proxy_token revoke -x…`
            secret = secrets.token_urlsafe(32)
        expires = timezone.now() + timedelta(days=expires_days) if expires_days else None
        token = cls.objects.create(
            user=user, kind=kind, name=name, prefix=secret[:PREFIX_LENGTH], digest=digest_of(secret), expires=expires,
        )
        return token, secret

    @classmethod
    def find(cls, secret: str, kind: str = Kind.API) -> "ApiToken | None":
        """The token of this secret if it may be used now: of `kind`, not revoked, not
        expired, its user active. None otherwise, whatever the reason."""
        if not secret:
            return None
        return cls.find_digest(digest_of(secret), kind)

    @classmethod
    def find_digest(cls, digest: str, kind: str) -> "ApiToken | None":
        """find() by the secret's digest (what a cache of verified tokens is keyed by)."""
        token = cls.objects.select_related("user").filter(digest=digest, kind=kind).first()
        if token is None or not token.usable():
            return None
        return token

    def usable(self, now=None) -> bool:
        now = now or timezone.now()
        return (
            self.revoked is None
            and (self.expires is None or self.expires > now)
            and getattr(self.user, "is_active", True)
        )

    def state(self, now=None) -> str:
        now = now or timezone.now()
        if self.revoked is not None:
            return "revoked"
        if self.expires is not None and self.expires <= now:
            return "expired"
        return "active"

    def revoke(self, now=None) -> bool:
        """Revoke it (False when it already was)."""
        if self.revoked is not None:
            return False
        self.revoked = now or timezone.now()
        type(self).objects.filter(pk=self.pk, revoked__isnull=True).update(revoked=self.revoked)
        return True


def create_token(user, name: str = "", expires_days: int | None = None) -> tuple[ApiToken, str]:
    """An API token of `user` and its secret, shown once (ApiToken.create_token)."""
    return ApiToken.create_token(user, name, expires_days)
