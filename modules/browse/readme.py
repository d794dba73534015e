"""Finding and rendering a module's README for the browsing UI.

A README comes from an arbitrary upstream repository, so its HTML is hostile until
proven otherwise: Markdown is rendered with cmark-gfm (GitHub's own renderer, through
cmarkgfm; raw HTML in it passes through, as on GitHub), then everything goes through
nh3, an allowlist sanitizer, so no script, style, frame, form, event handler or
`javascript:`/`data:` URL survives.

Why cmark-gfm: its parser is linear in its input and keeps no recursion on the C stack
for nested blocks. Python-Markdown took 16.5 s for 8,000 `[` (quadratic) and raised
RecursionError on a deeply nested list; cmark-gfm renders 30,000 `[` in 7 ms and 5,000
nested list levels (a 25 MB input) in 0.6 s (issue 20).
"""

import html as html_module
import posixpath
import re
from urllib.parse import urljoin, urlsplit

import cmarkgfm
import nh3
from cmarkgfm.cmark import Options

# Root README names in order of preference: Markdown first, then plain text.
_README_NAMES = (
    "readme.md", "readme.markdown", "readme.mdown", "readme.mkd",
    "readme", "readme.txt", "readme.rst",
)
_MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd")

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt",
    "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol",
    "p", "pre", "s", "samp", "span", "strong", "sub", "summary", "sup", "table", "tbody",
    "td", "tfoot", "th", "thead", "tr", "tt", "ul", "var",
}
# Tags removed together with their content (nh3 would otherwise keep their text).
_DROP_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "form", "noscript", "template", "textarea", "select"}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
    "ol": {"start"},
    "code": {"class"},  # a fenced block's "language-go": harmless, useful for styling
    "details": {"open"},
}
_URL_SCHEMES = {"http", "https", "mailto"}
_URL_ATTRIBUTES = {"href", "src"}


def find_readme(files) -> str | None:
    """The path of the README at the module root among `files` (ZipEntryInfo or str),
    preferring Markdown (README.md, readme.markdown, ...) over plain README/README.txt."""
    at_root = {}
    for entry in files:
        path = entry if isinstance(entry, str) else entry.path
        if "/" not in path:
            at_root.setdefault(path.lower(), path)
    for name in _README_NAMES:
        if name in at_root:
            return at_root[name]
    return None


def is_markdown(path: str) -> bool:
    return path.lower().endswith(_MARKDOWN_SUFFIXES)


def render_readme(text: str, *, base_url: str | None = None) -> str:
    """Markdown -> sanitized HTML, safe to mark safe in a template.

    Relative links and images are resolved against `base_url` when given (e.g. the
    view's URL of this version's files, ending in `/`), else dropped: there is no page
    they could sensibly point at. In-page anchors (`#usage`) are kept.
    """
    html = cmarkgfm.markdown_to_html_with_extensions(
        text, options=_CMARK_OPTIONS, extensions=_GFM_EXTENSIONS,
    )
    return sanitize(html, base_url=base_url)


# UNSAFE lets raw HTML through to nh3 (which removes what is unsafe) instead of replacing
# it with a comment, so READMEs look as on GitHub; VALIDATE_UTF8 replaces bad bytes.
_CMARK_OPTIONS = Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_VALIDATE_UTF8
# No "tagfilter": it shows <script> and the like as text, where nh3 drops them whole. No
# "tasklist": its <input> checkboxes are dropped by nh3, and "[x]" with them; without
# it, "- [x] done" keeps its brackets.
_GFM_EXTENSIONS = ["table", "strikethrough", "autolink"]


def render_plain(text: str) -> str:
    """A plain-text README as a sanitized <pre> block."""
    return sanitize("<pre>" + nh3.clean_text(text) + "</pre>")


def sanitize(html: str, *, base_url: str | None = None) -> str:
    def filter_attribute(tag: str, attribute: str, value: str) -> str | None:
        if attribute not in _URL_ATTRIBUTES:
            return value
        return _safe_url(value, base_url)

    return nh3.clean(
        html,
        tags=_TAGS,
        clean_content_tags=_DROP_WITH_CONTENT,
        attributes=_ATTRIBUTES,
        attribute_filter=filter_attribute,
        url_schemes=_URL_SCHEMES,
        link_rel="nofollow noopener noreferrer",
        strip_comments=True,
    )


def _safe_url(value: str, base_url: str | None) -> str | None:
    url = value.strip()
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme:
        # nh3 checks schemes as well; checking here too keeps the rule in one readable place.
        return url if parts.scheme.lower() in _URL_SCHEMES else None
    if url.startswith("//"):
        return "https:" + url
    if url.startswith("#"):
        return url
    if base_url is None:
        return None
    # A relative link stays inside this version's files: no climbing above the root.
    relative = posixpath.normpath(parts.path.lstrip("/")) if parts.path else ""
    if relative.startswith("..") or relative == ".":
        relative = ""
    joined = urljoin(base_url, relative)
    return joined + (f"#{parts.fragment}" if parts.fragment else "")


_BLOCK_TAG = re.compile(r"<(/?)(?:ul|ol|blockquote|table|div|details)\b", re.IGNORECASE)


def nesting_depth(html: str) -> int:
    """How deeply lists, quotes, tables and divs nest in sanitized HTML (nh3's output
    is well formed, so counting open and close tags is exact). Browsers lay out and
    scroll very deep nesting badly, so the digest shows such a README as plain text."""
    depth = deepest = 0
    for match in _BLOCK_TAG.finditer(html):
        if match.group(1):
            depth -= 1
        else:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


# nh3 serializes every attribute as name="value" with `"` escaped inside values, so
# this reads its <img> and <a> tags exactly, in one linear pass.
_TAG = re.compile(r'<(/?)(a|img)((?:\s+[^\s"=<>/]+="[^"]*")*)\s*/?>')
_ATTRIBUTE = re.compile(r'([^\s"=<>/]+)="([^"]*)"')


def external_images_as_links(html: str) -> str:
    """Sanitized README HTML with every image from another site replaced by a link to
    it (its alt text, or "image"), so viewing a page never makes the reader's browser
    contact a site the README's author chose (a tracking pixel). Images inside a link
    become that link's text. Relative images (files of the module, from this proxy)
    stay. ATHENS_README_EXTERNAL_IMAGES=true keeps external images as they are.
    """
    out, last, in_link = [], 0, 0
    for match in _TAG.finditer(html):
        closing, tag, attributes = match.group(1), match.group(2), match.group(3)
        if tag == "a":
            in_link = max(0, in_link - 1) if closing else in_link + 1
            continue
        values = dict(_ATTRIBUTE.findall(attributes))
        src = values.get("src", "")
        if src.startswith("files/"):
            continue  # the module's own file, from this proxy
        # Anything else is another site's, however its scheme is spelt ("ht\ttps:").
        label = html_module.escape(html_module.unescape(values.get("alt") or "image"))
        if in_link:
            replacement = f'<span class="readme-image">[{label}]</span>'
        else:
            replacement = (
                f'<a class="readme-image" href="{html_module.escape(html_module.unescape(src))}" '
                f'rel="nofollow noopener noreferrer">[{label}]</a>'
            )
        out.append(html[last:match.start()])
        out.append(replacement)
        last = match.end()
    out.append(html[last:])
    return "".join(out)
