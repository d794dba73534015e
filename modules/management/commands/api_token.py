"""`manage.py api_token create|list|revoke`: the JSON API's tokens (modules/tokens/).

    api_token create <username> [--name NAME] [--expires DAYS]
        prints the new token's secret on its last line; it is shown this once, the
        database keeps only its SHA-256 digest
    api_token list [<username>]
        prefix, name, user, created, last used, expires, revoked (never a secret)
    api_token revoke <prefix-or-id>
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone

from modules.tokens.models import ApiToken, create_token


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "-"


class Command(BaseCommand):
    help = "Create, list and revoke API tokens. Only a hash of a token is stored: its secret is shown once, at creation."

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

    def _user(self, username):
        try:
            return get_user_model()._default_manager.get_by_natural_key(username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user {username!r}") from None

    def handle_create(self, *, username, name, expires, **options):
        if len(name) > 100:
            raise CommandError("--name: at most 100 characters")
        if expires is not None and expires <= 0:
            raise CommandError("--expires: a number of days, at least 1")
        user = self._user(username)
        if not user.is_active:
            self.stderr.write(f"warning: {username} is inactive; the token works only once the account is active again")
        token, secret = create_token(user, name, expires)
        until = f", expires {_when(token.expires)}" if token.expires else ""
        self.stdout.write(
            f"Created token {token.prefix}… (id {token.pk}) for {user.get_username()}{until}. "
            "Copy the secret below now: it is not stored and cannot be shown again."
        )
        self.stdout.write(secret)

    def handle_list(self, *, username, **options):
        tokens = ApiToken.objects.select_related("user").order_by("created", "id")
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
        found = list(ApiToken.objects.select_related("user").filter(match)[:10])
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
