"""`manage.py api_token create|list|revoke`: the JSON API's tokens (modules/tokens/).

    api_token create <username> [--name NAME] [--expires DAYS]
        prints the new token's secret on its last line; it is shown this once, the
        database keeps only its SHA-256 digest
    api_token list [<username>]
        prefix, name, user, created, last used, expires, revoked (never a secret)
    api_token revoke <prefix-or-id>

Only tokens of kind "api"; `proxy_token` manages the download API's. The work is done
by modules/tokens/command.py, shared by both.
"""

from modules.tokens.command import TokenCommand
from modules.tokens.models import ApiToken


class Command(TokenCommand):
    help = "Create, list and revoke API tokens. Only a hash of a token is stored: its secret is shown once, at creation."
    kind = ApiToken.Kind.API
