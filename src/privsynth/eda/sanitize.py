"""Escaping: nothing from the data becomes markup in an edvart report.

edvart writes column names, category labels and values unescaped into Markdown
headings (``## *<name> - Categorical*``), HTML tables (pandas Styler, its own
dict_to_html) and so on: a column named ``<img src=x onerror=...>`` became a
live handler in eda.html.  Rather than patch every place in edvart, the
executed notebook's outputs are made inert before they are converted: raw HTML
in Markdown outputs is escaped, HTML outputs are rebuilt from an allowlist of
tags and attributes (no scripts, no event handlers, no javascript: URLs), and
only plotly figures (recognised by their MIME type, which data cannot choose;
plotly escapes ``<`` in its JSON) keep their script.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Sequence
from html.parser import HTMLParser
from typing import Any

# Markup edvart's HTML outputs use; anything else in them came from the data.
_SAFE_TAGS = frozenset(
    "a abbr b br caption code col colgroup dd div dl dt em h1 h2 h3 h4 h5 h6 hr i li ol p pre small span "
    "strong style sub sup table tbody td tfoot th thead tr u ul".split()
)
_VOID_TAGS = frozenset({"br", "col", "hr"})
_SAFE_ATTRS = frozenset(
    "class id style title colspan rowspan align valign width height border cellpadding cellspacing scope "
    "href".split()
)
_UNSAFE_CSS = re.compile(r"url\s*\(|expression\s*\(|javascript:|@import|behavior\s*:|-moz-binding|</|<", re.I)
# edvart's structural markup, let through so pages do not show it as text:
# pandas' <style scoped> and the Styler's <style type="text/css"> (only these attributes,
# and only CSS whose selectors are pandas' own: .dataframe ... or the Styler's #T_<uuid>...),
_STYLE_ATTRS = {("scoped", ""), ("type", "text/css")}
_CSS_SELECTOR = re.compile(r"\s*(\.dataframe|#T_[A-Za-z0-9_]+)(\s+[A-Za-z0-9_:\-().]+)*\s*")
# and the heading anchors edvart appends to its Markdown headings: <a id='<uuid>'> (no text, no href).
_ANCHOR = re.compile(r"&lt;a id=(['\"])([0-9a-fA-F-]{1,64})\1&gt;(?:&lt;/a&gt;)?")


class _Sanitizer(HTMLParser):
    """Re-serialise HTML: allowlisted tags with allowlisted attributes pass, everything else is text.

    A tag that is not on the list, or that carries any other attribute (an event
    handler, a foreign link, CSS that loads something), is written out escaped, so
    a column named ``<img src=x onerror=...>`` reads as exactly that.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []

    @staticmethod
    def _attr_ok(name: str, value: str) -> bool:
        if name not in _SAFE_ATTRS:
            return False
        if name == "href":
            return value.strip().startswith("#")  # links within the page only
        if name == "style":
            return not _UNSAFE_CSS.search(value)
        return True

    def _tag(self, tag: str, attrs: list[tuple[str, str | None]]) -> str | None:
        if tag == "style":
            ok = all((n.lower(), (v or "").strip().lower()) in _STYLE_ATTRS for n, v in attrs)
            return "" if ok else None  # written without attributes: a bare <style> is scoped enough here
        if tag not in _SAFE_TAGS or not all(self._attr_ok(n.lower(), v or "") for n, v in attrs):
            return None
        return "".join(f' {n.lower()}="{html_lib.escape(v or "", quote=True)}"' for n, v in attrs)

    def _as_text(self) -> None:
        self.out.append(html_lib.escape(self.get_starttag_text() or "", quote=False))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = self._tag(tag, attrs)
        if a is None:
            self._as_text()
            return
        self.out.append(f"<{tag}{a}>")
        if tag not in _VOID_TAGS:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = self._tag(tag, attrs)
        if a is None:
            self._as_text()
            return
        self.out.append(f"<{tag}{a}>" + ("" if tag in _VOID_TAGS else f"</{tag}>"))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            while self.open:
                t = self.open.pop()
                self.out.append(f"</{t}>")
                if t == tag:
                    break
        elif tag not in _SAFE_TAGS:
            self.out.append(html_lib.escape(f"</{tag}>", quote=False))

    def handle_data(self, data: str) -> None:
        if self.open and self.open[-1] == "style" and self.cdata_elem == "style":
            # CSS from pandas' Styler (ids and properties); nothing else may pass as CSS.
            if _css_ok(data):
                self.out.append(data)
            return
        self.out.append(html_lib.escape(data, quote=False))

    def handle_comment(self, data: str) -> None:
        self.out.append(html_lib.escape(f"<!--{data}-->", quote=False))

    def handle_decl(self, decl: str) -> None:
        self.out.append(html_lib.escape(f"<!{decl}>", quote=False))

    def handle_pi(self, data: str) -> None:
        self.out.append(html_lib.escape(f"<?{data}>", quote=False))

    def unknown_decl(self, data: str) -> None:
        self.out.append(html_lib.escape(f"<![{data}]>", quote=False))

    def close_all(self) -> str:
        self.close()
        while self.open:
            self.out.append(f"</{self.open.pop()}>")
        return "".join(self.out)


def _css_ok(css: str) -> bool:
    """CSS with nothing that loads or runs, and only pandas' own selectors (so data cannot restyle the page)."""
    if _UNSAFE_CSS.search(css) or "/*" in css or "@" in css:
        return False
    rules = css.split("}")
    for rule in rules[:-1]:
        selectors, brace, _ = rule.partition("{")
        if not brace or not all(_CSS_SELECTOR.fullmatch(sel) for sel in selectors.split(",")):
            return False
    return not rules[-1].strip()


def sanitize_html(fragment: str) -> str:
    """``fragment`` with every script, event handler and foreign URL removed (text escaped)."""
    parser = _Sanitizer()
    parser.feed(fragment)
    return parser.close_all()


def escape_markdown_html(text: str) -> str:
    """Markdown with its raw HTML made literal text (``<`` ``>`` ``&`` as entities).

    edvart's heading anchors (``<a id='<uuid>'>``) are the one piece of markup restored:
    an id of hex digits and dashes and nothing else cannot carry a handler or a link.
    """
    return _ANCHOR.sub(r'<a id="\2"></a>', html_lib.escape(text, quote=False))


# MIME types kept in outputs of the cell that renders the data.
_PLOTLY_MIME = "application/vnd.plotly.v1+json"
_SAFE_MIMES = ("text/plain", "image/png", "image/jpeg")


def sanitize_notebook(nb: Any, data_cells: Sequence[int]) -> None:
    """Make the outputs of the code cells ``data_cells`` (which print the data) inert, in place."""
    for i in data_cells:
        for output in nb["cells"][i].get("outputs", []):
            data = output.get("data")
            if not data:
                continue  # stream / error outputs: nbconvert escapes their text
            clean: dict[str, Any] = {k: v for k, v in data.items() if k in _SAFE_MIMES}
            if _PLOTLY_MIME in data and "text/html" in data:
                clean["text/html"] = data["text/html"]  # written by plotly.io, JSON-escaped
            elif "text/html" in data and _is_plotly_init(_text(data["text/html"])):
                clean["text/html"] = data["text/html"]  # plotly.js itself, inlined once
            elif "text/html" in data:
                clean["text/html"] = sanitize_html(_text(data["text/html"]))
            if "text/markdown" in data:
                clean["text/markdown"] = escape_markdown_html(_text(data["text/markdown"]))
            output["data"] = clean
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            cell["source"] = escape_markdown_html(_text(cell["source"]))


_PLOTLY_INIT = re.compile(r"\s*<script>\s*(window\.PlotlyConfig[^<]*)</script>\s*<script>(.*)</script>\s*", re.S)


def _is_plotly_init(html: str) -> bool:
    """Whether ``html`` is exactly plotly's notebook initialisation: its config and plotly.js."""
    m = _PLOTLY_INIT.fullmatch(html)
    if not m:
        return False
    from plotly.offline import get_plotlyjs

    return m.group(2) == get_plotlyjs()


def _text(v: Any) -> str:
    return "".join(v) if isinstance(v, list) else str(v)
