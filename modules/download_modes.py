"""What a cache miss does: ATHENS_DOWNLOAD_MODE, overridden per module pattern.

- `sync`: fetch now (through the single flight) and answer;
- `async`: answer 404 at once and fetch in the background, so a retry succeeds;
- `redirect`: answer 302 to the first HTTP upstream, cache nothing;
- `async_redirect`: both: 302 now, fetch in the background;
- `none`: answer 404, never fetch.

Rules (DownloadModeRule rows, edited in the admin) are tried in `position` order and the
first whose pattern matches the module wins; without a match the global setting applies.
A redirect needs an HTTP upstream: for a module that only `direct` serves (ATHENS_GOPRIVATE,
or ATHENS_UPSTREAM=direct) `redirect` acts as `sync` and `async_redirect` as `async`.
"""

from django.conf import settings

from modules.goproxy.patterns import match_prefix_patterns

from .models import DownloadModeRule

Mode = DownloadModeRule.Mode


def mode_for(module: str) -> str:
    """The download mode for a cache miss of `module`."""
    for pattern, mode in DownloadModeRule.objects.values_list("pattern", "mode"):
        if match_prefix_patterns(pattern, module):
            return mode
    return settings.ATHENS_DOWNLOAD_MODE


def fetches_in_background(mode: str) -> bool:
    return mode in (Mode.ASYNC, Mode.ASYNC_REDIRECT)


def redirects(mode: str) -> bool:
    return mode in (Mode.REDIRECT, Mode.ASYNC_REDIRECT)
