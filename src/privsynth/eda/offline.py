"""Offline HTML: what a page would fetch from other hosts, removed where it is nbconvert's or plotly's
(require.js/MathJax, the mermaid loader), and the live content (event handlers, scripts) a page carries."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from ..errors import PrivsynthError

_REMOTE = re.compile(r"^\s*(?:https?:)?//", re.I)
# <script src="https://..."></script> as written by nbconvert's template and plotly.
_REMOTE_SCRIPT = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^>]*>\s*</script>", re.I)
_REMOTE_LINK = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^>]*>", re.I)
# nbconvert's loader that imports mermaid from cdnjs when a page has diagrams (edvart draws none).
_MERMAID_LOADER = re.compile(r"<script type=\"module\">(?:(?!</script>).)*?mermaid(?:(?!</script>).)*</script>", re.S)
# Attributes whose URL the browser fetches on its own (an <a href> is only followed on click).
_FETCHED = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "source": ("src", "srcset"),
    "audio": ("src",),
    "video": ("src", "poster"),
    "link": ("href",),
    "input": ("src",),
}


class _FetchCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in _FETCHED.get(tag, ()):
                self.urls.append(value)
            elif value and name == "style" and "url(" in value:
                self.urls.extend(re.findall(r"url\(\s*['\"]?([^'\")]+)", value))

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        # CSS in <style> blocks: @import and url(...) are fetched too.
        if self.lasttag == "style":
            self.urls.extend(re.findall(r"url\(\s*['\"]?([^'\")]+)", data))
            self.urls.extend(re.findall(r"@import\s+['\"]([^'\"]+)", data))


def remote_references(html: str) -> list[str]:
    """URLs on other hosts that a browser would fetch to display ``html`` (tags and CSS, not JS strings)."""
    parser = _FetchCollector()
    parser.feed(html)
    parser.close()
    return sorted({u for u in parser.urls if _REMOTE.match(u)})


def make_offline(html: str) -> str:
    """Remove remote <script src>/<link href> tags and the mermaid loader; raise if any remote reference remains."""
    out = _REMOTE_SCRIPT.sub("", html)
    out = _MERMAID_LOADER.sub("", out)
    out = _REMOTE_LINK.sub("", out)
    left = remote_references(out)
    if left:
        raise PrivsynthError(f"report would fetch {left[:3]} from the internet; not writing it")
    return out


_HANDLER_ATTR = re.compile(r"^on[a-z]+$")


class _LiveCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if _HANDLER_ATTR.match(name):
                self.found.append(f"<{tag} {name}=...>")
            elif name in ("href", "src", "action", "formaction", "xlink:href", "data") and (
                value or ""
            ).strip().lower().startswith(("javascript:", "vbscript:")):
                self.found.append(f"<{tag} {name}=javascript:...>")
        self._in_script = tag == "script"
        if tag == "script":
            self.scripts.append("")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and self.scripts:
            self.scripts[-1] += data


def live_content(html: str) -> tuple[list[str], list[str]]:
    """Event-handler attributes and javascript: URLs in ``html``, and the text of every <script>."""
    parser = _LiveCollector()
    parser.feed(html)
    parser.close()
    return parser.found, parser.scripts
