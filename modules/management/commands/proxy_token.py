"""`manage.py proxy_token create|list|revoke`: the download API's per-person tokens,
which the go command sends as the HTTP Basic password (from netrc).

    proxy_token create <username> [--name NAME] [--expires DAYS]
        prints the new token's secret on its last line; it is shown this once
    proxy_token list [<username>]
    proxy_token revoke <prefix-or-id>

Only tokens of kind "proxy"; people also manage their own at /tokens/. The work is done
by modules/tokens/command.py, shared with `api_token`.
"""

from modules.tokens.command import TokenCommand
from modules.tokens.models import ApiToken


class Command(TokenCommand):
    help = (
        "Create, list and revoke proxy tokens (the download API's HTTP Basic passwords). "
        "Only a hash of a token is stored: its secret is shown once, at creation."
    )
    kind = ApiToken.Kind.PROXY
