"""The `create|list|revoke` management command of one kind of token.

`manage.py api_token` (the JSON API's tokens) and `manage.py proxy_token` (the download
API's, sent as HTTP Basic passwords) do the same things to rows of one table; they
differ only in the kind they touch. Each is a subclass of TokenCommand naming its
`kind`, and sees only tokens of that kind: revoking by a prefix must never reach a token
of the other kind, and a list of API tokens is not the place to audit proxy tokens.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone

from .models import MAX_EXPIRES_DAYS, ApiToken


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "-"


class TokenCommand(BaseCommand):
    """Create, list and revoke the tokens of `kind` (an ApiToken.Kind)."""

    kind: str = ApiToken.Kind.API

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{create,list,revoke}")
        create = actions.add_parser("create", help="a new token for a user; prints its secret on the last line")
        create.add_argument("username")
        create.add_argument("--name", default="", help="what the token is for, e.g. 'ci' (at most 100 characters)")
        create.add_argument("--expires", type=int, default=None, metavar="DAYS", help="expires after DAYS days")
        listing = actions.add_parser("list", help="the tokens (of one user), never their secrets")
        listing.add_argument("username", nargs="?", default=None)
        revoke = actions.add_parser("revoke", help="revoke a token, named by its prefix or its id")
        revoke.add_argument("token", metavar="prefix-or-id")

    def handle(self, *args, action, **options):
        return getattr(self, f"handle_{action}")(**options)

    def tokens(self):
        return ApiToken.objects.filter(kind=self.kind).select_related("user")

    def _user(self, username):
        try:
            return get_user_model()._default_manager.get_by_natural_key(username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user {username!r}") from None

    def handle_create(self, *, username, name, expires, **options):
        if len(name) > 100:
            raise CommandError("--name: at most 100 characters")
        if expires is not None and not 1 <= expires <= MAX_EXPIRES_DAYS:
            raise CommandError(f"--expires: a number of days, from 1 to {MAX_EXPIRES_DAYS}")
        user = self._user(username)
        if not user.is_active:
            self.stderr.write(f"warning: {username} is inactive; the token works only once the account is active again")
        token, secret = ApiToken.create_token(user, name, expires, kind=self.kind)
        until = f", expires {_when(token.expires)}" if token.expires else ""
        self.stdout.write(
            f"Created token {token.prefix}… (id {token.pk}) for {user.get_username()}{until}. "
            "Copy the secret below now: it is not stored and cannot be shown again."
        )
        self.stdout.write(secret)

    def handle_list(self, *, username, **options):
        tokens = self.tokens().order_by("created", "id")
        if username is not None:
            tokens = tokens.filter(user=self._user(username))
        rows = [("ID", "PREFIX", "NAME", "USER", "CREATED", "LAST USED", "EXPIRES", "REVOKED")]
        rows += [
            (str(token.pk), token.prefix, token.name or "-", token.user.get_username(), _when(token.created),
             _when(token.last_used), _when(token.expires), _when(token.revoked))
            for token in tokens
        ]
        if len(rows) == 1:
            self.stdout.write("no tokens")
            return
        widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())

    def handle_revoke(self, *, token, **options):
        match = Q(prefix=token)
        if token.isdigit():
            match |= Q(pk=int(token))
        found = list(self.tokens().filter(match)[:10])
        if not found:
            raise CommandError(f"no token with prefix or id {token!r}")
        if len(found) > 1:
            ids = ", ".join(str(candidate.pk) for candidate in found)
            raise CommandError(f"{token!r} names several tokens (ids {ids}): give the id")
        found = found[0]
        if not found.revoke():
            self.stdout.write(f"token {found.prefix}… (id {found.pk}) of {found.user.get_username()} was already revoked")
            return
        self.stdout.write(f"revoked token {found.prefix}… (id {found.pk}) of {found.user.get_username()}")
