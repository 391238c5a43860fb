"""Where output goes: a live widget in a notebook kernel, plain text in a terminal or a script."""

from __future__ import annotations

import html


def in_notebook_kernel() -> bool:
    """True when running in a Jupyter kernel that can show widgets (not terminal IPython, not a script)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def escape(text: str) -> str:
    """Untrusted text (logs, file names, container output) as HTML text, never markup."""
    return html.escape(text, quote=True)


class TextAndHtml:
    """Mixin: objects with ``_text()`` and ``_html()`` get a mimebundle with both, so terminals, saved
    notebooks and HTML exports all show something true."""

    def _text(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def _html(self) -> str:
        return f"<pre>{escape(self._text())}</pre>"

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/plain": self._text(), "text/html": self._html()}

    def __str__(self) -> str:
        return self._text()


def widget_bundle(widget, text: str, html_snapshot: str):
    """The mimebundle of a widget, with a true text/plain and a static text/html snapshot beside the
    widget's view, so that a frontend without the widget's state still shows the final state."""
    bundle = widget._repr_mimebundle_() or {}
    metadata = {}
    if isinstance(bundle, tuple):  # anywidget returns (data, metadata)
        bundle, metadata = bundle
    bundle = dict(bundle)
    bundle["text/plain"] = text
    bundle["text/html"] = html_snapshot
    return bundle, metadata


# The colour of each kind of file change ("A" added, "C" changed, "D" deleted), wherever one is shown.
KIND_COLOURS = {"A": "#15803d", "C": "#b45309", "D": "#b91c1c"}
