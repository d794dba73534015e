"""Reading a `.info` (or `@latest`) body the way the go command reads it.

The go command's proxy client (cmd/go/internal/modfetch/proxy.go, ``Stat`` and
``Latest``) does nothing but ``json.Unmarshal(data, new(RevInfo))``, where RevInfo
(modfetch/codehost/codehost.go) is::

    Origin *Origin; Name, Short, Version string; Time time.Time; Tags []string

So a body is accepted exactly when Go's encoding/json can decode it into that struct:

* valid JSON; the top level an object (or ``null``, which leaves every field empty);
* object keys match field names case-insensitively (encoding/json prefers an exact
  match but accepts a folded one), the last occurrence wins, unknown keys are ignored;
* each known field, when present and not ``null``, has the JSON type of its Go field;
  a mismatch anywhere is an error (Unmarshal reports the first one after decoding all);
* ``Time`` is optional; when present it is parsed by ``time.Time.UnmarshalJSON``: an
  RFC 3339 timestamp, any offset (``-07:00``), any number of fractional digits.

Nothing here rebuilds the body: callers keep and serve the upstream's bytes as they
came, and only use the parsed fields (the version, the time) for their own bookkeeping.
Checking that ``Version`` is the one asked for is the caller's job (proxy.go does it
only for canonical requests).
"""

import calendar
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from .errors import GoProxyError

__all__ = ["InvalidRevInfoError", "RevInfo", "parse_rev_info", "parse_rfc3339"]


class InvalidRevInfoError(GoProxyError):
    """A `.info` body that the go command's json.Unmarshal into RevInfo refuses."""


@dataclass(frozen=True)
class RevInfo:
    """The fields of a `.info` body the go command reads (others are ignored by it)."""

    version: str = ""
    time: datetime | None = None  # None: absent or null, Go's zero time
    name: str = ""
    short: str = ""
    origin: dict[str, str] | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)


# RevInfo's and Origin's fields and the JSON type each accepts (besides null).
_REVINFO_FIELDS = ("Origin", "Name", "Short", "Version", "Time", "Tags")
_ORIGIN_FIELDS = ("VCS", "URL", "Subdir", "Hash", "TagPrefix", "TagSum", "Ref", "RepoSum")


def parse_rev_info(data: bytes) -> RevInfo:
    """Decode `data` as Go's ``json.Unmarshal(data, new(RevInfo))`` does, or raise."""
    document = _decode_json(data)
    if document is None:
        return RevInfo()
    if not _is_object(document):
        raise InvalidRevInfoError(f"cannot unmarshal {_json_type(document)} into Go value of type RevInfo")
    values = _decode_fields(document, _REVINFO_FIELDS, "RevInfo")
    origin = values.get("Origin")
    time = values.get("Time")
    return RevInfo(
        version=values.get("Version") or "",
        time=parse_rfc3339(time) if time is not None else None,
        name=values.get("Name") or "",
        short=values.get("Short") or "",
        origin=origin,
        tags=tuple(tag or "" for tag in values.get("Tags") or ()),
    )


class _Object(list):
    """A JSON object as its (key, value) pairs in order: duplicates are kept, as Go sees them."""


def _is_object(value: Any) -> bool:
    return isinstance(value, _Object)


def _decode_json(data: bytes) -> Any:
    # Go decodes bytes; invalid UTF-8 inside a string becomes U+FFFD rather than an error.
    text = data.decode("utf-8", errors="replace")
    try:
        return json.loads(text, object_pairs_hook=_Object, parse_constant=_reject_constant)
    except RecursionError:
        # encoding/json allows 10,000 levels; Python's parser stops near 1,000. No real
        # .info nests anything (Origin is one level), so this is only ever an attack.
        raise InvalidRevInfoError("invalid JSON: nested too deeply") from None
    except ValueError as exc:
        raise InvalidRevInfoError(f"invalid JSON: {exc}") from None


def _reject_constant(name: str):
    raise ValueError(f"invalid character {name[0]!r} looking for beginning of value")


def _decode_fields(pairs: "_Object", names: tuple[str, ...], struct: str) -> dict[str, Any]:
    """The known fields of a JSON object, as encoding/json fills a struct from it.

    Keys match field names case-insensitively; every occurrence is decoded in order (so
    the last one wins, and a wrongly typed earlier one is still an error); `null` leaves
    a string or time field as it was and clears a pointer or slice; unknown keys are
    ignored.
    """
    folded = {name.upper(): name for name in names}
    values: dict[str, Any] = {}
    for key, value in pairs:
        name = folded.get(_fold_key(key))
        if name is None:
            continue
        if value is None:
            if name in ("Origin", "Tags"):
                values.pop(name, None)
            continue
        _check_type(value, name, struct)
        if name == "Origin":
            # A repeated object decodes into the same struct: the fields merge.
            values[name] = {**values.get(name, {}), **_decode_fields(value, _ORIGIN_FIELDS, "Origin")}
        else:
            values[name] = value
    return values


# encoding/json compares a key with a field name rune by rune under simple case
# folding (fold.go: each rune becomes the smallest of its fold orbit). For ASCII field
# names only two non-ASCII runes can match: KELVIN SIGN (k) and LONG S (s).
_FOLD_TO_ASCII = {"\u212a": "K", "\u017f": "S"}


def _fold_key(key: str) -> str:
    return "".join(_FOLD_TO_ASCII.get(char, char.upper() if char.isascii() else char) for char in key)


def _check_type(value: Any, name: str, struct: str) -> None:
    if name == "Origin":
        if not _is_object(value):
            raise InvalidRevInfoError(f"cannot unmarshal {_json_type(value)} into Go struct field {struct}.Origin")
    elif name == "Tags":
        if not isinstance(value, list) or _is_object(value):
            raise InvalidRevInfoError(f"cannot unmarshal {_json_type(value)} into Go struct field {struct}.Tags")
        for tag in value:
            if not isinstance(tag, str):  # null in a []string is Go's "", a string still
                _require_string(tag, f"{struct}.Tags")
    elif name == "Time":
        if not isinstance(value, str):
            raise InvalidRevInfoError("Time.UnmarshalJSON: input is not a JSON string")
    else:
        _require_string(value, f"{struct}.{name}")


def _require_string(value: Any, name: str) -> None:
    if value is not None and not isinstance(value, str):
        raise InvalidRevInfoError(f"cannot unmarshal {_json_type(value)} into Go struct field {name} of type string")


def _json_type(value: Any) -> str:
    if _is_object(value):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "null"


# time.Time.UnmarshalJSON -> parseStrictRFC3339 (time/format_rfc3339.go): the fast
# parser, and where it fails time.Parse(time.RFC3339, ...), which also takes a one-digit
# hour, a comma before the fraction and offsets up to 24:60 (the strict checks of
# go.dev/issue/54580 are disabled in go1.27).
_RFC3339 = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"T(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
    r"(?:[.,](?P<fraction>[0-9]+))?"
    r"(?:Z|(?P<sign>[+-])(?P<offset_hour>[0-9]{2}):(?P<offset_minute>[0-9]{2}))",
    re.ASCII,
)


def parse_rfc3339(text: str) -> datetime | None:
    """Parse a `.info` Time as Go does; return it in UTC, or None where Python's datetime
    cannot hold it (Go's year 0, or an offset pushing it past year 1 or 9999)."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise InvalidRevInfoError(f"parsing time {json.dumps(text)} as RFC 3339: cannot parse")
    year, month, day = int(match["year"]), int(match["month"]), int(match["day"])
    hour, minute, second = int(match["hour"]), int(match["minute"]), int(match["second"])
    days_in_month = calendar.monthrange(year if year > 0 else 2000, month)[1] if 1 <= month <= 12 else 0
    if not (1 <= month <= 12 and 1 <= day <= days_in_month and hour < 24 and minute < 60 and second < 60):
        raise InvalidRevInfoError(f"parsing time {json.dumps(text)}: out of range")
    offset = timedelta(0)
    if match["sign"]:
        offset_hour, offset_minute = int(match["offset_hour"]), int(match["offset_minute"])
        if offset_hour > 24 or offset_minute > 60:
            raise InvalidRevInfoError(f"parsing time {json.dumps(text)}: time zone offset out of range")
        offset = timedelta(hours=offset_hour, minutes=offset_minute) * (-1 if match["sign"] == "-" else 1)
    microseconds = int((match["fraction"] or "0")[:6].ljust(6, "0"))
    if year == 0:
        return None
    try:
        local = datetime(year, month, day, hour, minute, second, microseconds)
        instant = (local - offset).replace(tzinfo=timezone.utc)
    except OverflowError:
        return None
    # Go's zero time.Time is what the go command writes for "no time" (`go list -m
    # -json` prints it so): it means unknown, not the year 1.
    return None if instant == _GO_ZERO_TIME else instant


_GO_ZERO_TIME = datetime(1, 1, 1, tzinfo=timezone.utc)
