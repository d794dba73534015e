"""Reading `.info` bodies as the go command does (modules.goproxy.revinfo).

Each shape is a test named for what the go command does with it: its proxy client
(cmd/go/internal/modfetch/proxy.go, Stat and Latest) only runs json.Unmarshal into a
RevInfo. Every case is also put to the Go oracle (a real json.Unmarshal into a struct
of RevInfo's shape), so the table cannot drift from Go, and seeded random mutations of
real bodies look for the cases nobody thought of.
"""

import json
import random
from datetime import datetime, timezone

import pytest

from modules.goproxy.revinfo import InvalidRevInfoError, parse_rev_info, parse_rfc3339

from . import gotool

UTC = timezone.utc

ACCEPTED = {
    # Go's own test proxy and hand-made static trees: no Time at all.
    "only Version (cmd/go/testdata/mod)": (b'{"Version":"v1.0.0"}', "v1.0.0", None),
    "Name and Short as in the corpus": (
        b'{"Version":"v2.0.0+incompatible", "Name": "7307b307f4f0dde421900f8e5126fadac1e13aed", "Short": "7307b307f4f0"}',
        "v2.0.0+incompatible", None,
    ),
    "Time in UTC": (b'{"Version":"v1.0.0","Time":"2019-05-07T14:31:03Z"}', "v1.0.0", datetime(2019, 5, 7, 14, 31, 3, tzinfo=UTC)),
    "Time with an offset": (
        b'{"Version":"v1.0.0","Time":"2019-05-07T07:31:03-07:00"}', "v1.0.0", datetime(2019, 5, 7, 14, 31, 3, tzinfo=UTC),
    ),
    "Time with nanoseconds": (
        b'{"Version":"v1.0.0","Time":"2019-05-07T14:31:03.123456789Z"}', "v1.0.0",
        datetime(2019, 5, 7, 14, 31, 3, 123456, tzinfo=UTC),
    ),
    "Time null": (b'{"Version":"v1.0.0","Time":null}', "v1.0.0", None),
    "Origin from direct": (
        b'{"Version":"v1.0.0","Time":"2024-01-01T00:00:00Z","Origin":{"VCS":"git","URL":"https://x.test/r",'
        b'"Hash":"0123456789abcdef0123456789abcdef01234567","Ref":"refs/tags/v1.0.0"}}',
        "v1.0.0", datetime(2024, 1, 1, tzinfo=UTC),
    ),
    "unknown fields, of any type (a future go version)": (
        b'{"Version":"v1.0.0","Future":{"a":[1,2.5e3,true,null]},"Tags":["v1.0.0"]}', "v1.0.0", None,
    ),
    "keys in another case (encoding/json folds them)": (b'{"version":"v1.0.0","TIME":"2020-01-01T00:00:00Z"}',
                                                         "v1.0.0", datetime(2020, 1, 1, tzinfo=UTC)),
    "a duplicate key: the last one wins": (b'{"Version":"v0.1.0","Version":"v1.0.0"}', "v1.0.0", None),
    "whitespace around": (b' \n\t{ "Version" : "v1.0.0" }\r\n', "v1.0.0", None),
    "null body (an empty RevInfo)": (b"null", "", None),
    "an empty object": (b"{}", "", None),
    "a one-digit hour (time.Parse's RFC 3339 is lenient)": (
        b'{"Version":"v1.0.0","Time":"2019-05-07T7:31:03Z"}', "v1.0.0", datetime(2019, 5, 7, 7, 31, 3, tzinfo=UTC),
    ),
    "a comma before the fraction": (
        b'{"Version":"v1.0.0","Time":"2019-05-07T07:31:03,5Z"}', "v1.0.0", datetime(2019, 5, 7, 7, 31, 3, 500000, tzinfo=UTC),
    ),
    "an offset of 24:00": (b'{"Version":"v1.0.0","Time":"2019-05-07T07:31:03+24:00"}', "v1.0.0",
                           datetime(2019, 5, 6, 7, 31, 3, tzinfo=UTC)),
    "invalid UTF-8 inside a string": (b'{"Version":"v1.0.0","Name":"\xff\xfe"}', "v1.0.0", None),
    "a key with KELVIN SIGN and LONG S (Go's simple folding)": (
        '{"Version":"v1.0.0","\u212aind":1,"Time":"2020-01-01T00:00:00Z","\u017fhort":"x"}'.encode(),
        "v1.0.0", datetime(2020, 1, 1, tzinfo=UTC),
    ),
    "a key with a ligature is not a field (Go folds rune by rune)": (
        '{"Version":"v1.0.0","Origin":{"TagPre\ufb01x":1}}'.encode(), "v1.0.0", None,
    ),
    "Go's zero time (what it writes for no time)": (b'{"Version":"v1.0.0","Time":"0001-01-01T00:00:00Z"}', "v1.0.0", None),
    "a repeated Origin merges": (b'{"Version":"v1.0.0","Origin":{"VCS":"git"},"Origin":{"Hash":"ab"}}', "v1.0.0", None),
}

REFUSED = {
    "not JSON (an HTML error page)": b"<html>502</html>",
    "empty body": b"",
    "truncated": b'{"Version":"v1.0.0"',
    "trailing garbage": b'{"Version":"v1.0.0"} x',
    "an array": b'["v1.0.0"]',
    "a string": b'"v1.0.0"',
    "Version a number": b'{"Version":1}',
    "an earlier duplicate wrongly typed": b'{"Version":1,"Version":"v1.0.0"}',
    "Time not a string": b'{"Version":"v1.0.0","Time":1557239463}',
    "Time without a zone": b'{"Version":"v1.0.0","Time":"2019-05-07T14:31:03"}',
    "Time a date only": b'{"Version":"v1.0.0","Time":"2019-05-07"}',
    "Time with a space for T": b'{"Version":"v1.0.0","Time":"2019-05-07 14:31:03Z"}',
    "Time on February 30th": b'{"Version":"v1.0.0","Time":"2019-02-30T00:00:00Z"}',
    "Time at hour 24": b'{"Version":"v1.0.0","Time":"2019-05-07T24:00:00Z"}',
    "Time with a lowercase z": b'{"Version":"v1.0.0","Time":"2019-05-07T14:31:03z"}',
    "Time with an offset hour over 24": b'{"Version":"v1.0.0","Time":"2019-05-07T14:31:03+25:00"}',
    "Origin not an object": b'{"Version":"v1.0.0","Origin":"git"}',
    "Origin.Hash not a string": b'{"Version":"v1.0.0","Origin":{"Hash":12}}',
    "an earlier Origin wrongly typed inside": b'{"Version":"v1.0.0","Origin":{"VCS":1},"Origin":{}}',
    "Tags not an array": b'{"Version":"v1.0.0","Tags":"v1.0.0"}',
    "Tags holding a number": b'{"Version":"v1.0.0","Tags":[1]}',
    "NaN (not JSON)": b'{"Version":"v1.0.0","X":NaN}',
    "a control character in a string": b'{"Version":"v1.0.0\x01"}',
}


@pytest.fixture(scope="module")
def oracle():
    return gotool.oracle()


def go_reads(oracle, body: bytes) -> dict | None:
    """What Go's json.Unmarshal into a RevInfo makes of body (valid UTF-8: the oracle's
    requests are JSON): its version and time, or None if Go refuses it."""
    answer = oracle.ask("revInfo", body.decode("utf-8"))
    if answer["err"]:
        return None
    time = answer["value"]["time"]
    return {"version": answer["value"]["version"], "time": parse_rfc3339(time) if time else None}


def ours(body: bytes) -> dict | None:
    try:
        info = parse_rev_info(body)
    except InvalidRevInfoError:
        return None
    return {"version": info.version, "time": info.time}


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_accepted_like_the_go_command(case):
    body, version, time = ACCEPTED[case]
    info = parse_rev_info(body)
    assert (info.version, info.time) == (version, time)


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_like_the_go_command(case):
    with pytest.raises(InvalidRevInfoError):
        parse_rev_info(REFUSED[case])


def test_a_repeated_origin_merges_as_go_decodes_into_one_struct():
    info = parse_rev_info(b'{"Version":"v1.0.0","Origin":{"VCS":"git","Hash":"a"},"Origin":{"Hash":"b"}}')
    assert info.origin == {"VCS": "git", "Hash": "b"}


def test_origin_fields_are_read_and_unknown_ones_ignored():
    info = parse_rev_info(b'{"Version":"v1.0.0","Origin":{"VCS":"git","Hash":"ab","Extra":[1],"ref":"refs/heads/main"}}')
    assert info.origin == {"VCS": "git", "Hash": "ab", "Ref": "refs/heads/main"}


def test_nesting_deeper_than_pythons_parser_is_refused_not_a_crash():
    with pytest.raises(InvalidRevInfoError, match="nested too deeply"):
        parse_rev_info(b'{"Version":"v1.0.0","X":' + b"[" * 100_000 + b"]" * 100_000 + b"}")


def test_a_time_python_cannot_hold_is_read_as_unknown():
    assert parse_rfc3339("0000-01-01T00:00:00Z") is None
    assert parse_rfc3339("9999-12-31T23:59:59-01:00") is None


# -- against Go itself ------------------------------------------------------------------


def _comparable_bodies(cases):
    return [case for case in cases if _utf8(ACCEPTED[case][0] if case in ACCEPTED else REFUSED[case])]


def _utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize("case", _comparable_bodies(list(ACCEPTED) + list(REFUSED)))
def test_every_table_case_is_what_go_decides(oracle, case):
    body = ACCEPTED[case][0] if case in ACCEPTED else REFUSED[case]
    assert ours(body) == go_reads(oracle, body)


SEEDS = [
    b'{"Version":"v1.0.0","Time":"2019-05-07T07:31:03-07:00"}',
    b'{"Version":"v0.0.0-20190507143103-cc8cbe209b64","Time":"2019-05-07T14:31:03Z","Origin":{"VCS":"git","Hash":"cc"}}',
    b'{"Version":"v1.0.0","Name":"abc","Short":"ab","Tags":["v1.0.0"]}',
]
PIECES = [b'"', b":", b",", b"{", b"}", b"[", b"]", b"null", b"1", b"-", b"T", b"Z", b"+", b".", b" ", b"\\u0041",
          b'"Time"', b'"time"', b'"Version"', b'"Origin"', b"true", b"24", b"60", b"00", b"9", b",5", b"\\"]


def mutations(count: int, seed: int):
    rng = random.Random(seed)
    for _ in range(count):
        body = bytearray(rng.choice(SEEDS))
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(body) + 1)
            action = rng.random()
            if action < 0.4:
                body[at:at] = rng.choice(PIECES)
            elif action < 0.8:
                del body[at:at + rng.randint(1, 3)]
            else:
                body[at:at + 1] = rng.choice(PIECES)
        yield bytes(body)


def test_random_mutations_of_real_bodies_are_decided_as_go_decides(oracle):
    disagreements = []
    for body in mutations(3000, seed=11):
        theirs, mine = go_reads(oracle, body), ours(body)
        if theirs != mine:
            disagreements.append((body, theirs, mine))
    assert disagreements == []
