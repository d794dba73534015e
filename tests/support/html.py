"""Checking rendered HTML for what a browser would act on (README rendering tests)."""

from html.parser import HTMLParser


class _Markup(HTMLParser):
    """The tags and attributes of rendered HTML: what a browser would act on (text,
    however it reads, is only shown)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attributes = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.extend((tag, name, value or "") for name, value in attrs)


def assert_harmless(html):
    markup = _Markup()
    markup.feed(html)
    assert not {"script", "iframe", "style", "form", "input", "object", "embed", "svg"} & set(markup.tags), html
    for tag, name, value in markup.attributes:
        assert not name.startswith("on"), (tag, name, html)
        if name in ("href", "src"):
            scheme = value.strip().split(":", 1)[0].lower() if ":" in value else ""
            assert scheme in ("", "http", "https", "mailto"), (tag, name, value)
    # Nothing dropped leaks as the text of a <script> or <style> either.
    assert "alert(\"readme\")" not in html and "display: none" not in html
