"""The widgets' JavaScript, as the frontend loads it: a view's module with the helpers it shares in front.

anywidget loads a widget's module from a string, so a module cannot import a sibling file; the helpers
the views share (static/kernel_requests.js, static/units.js) are put in front of each view's own file instead.
"""

from __future__ import annotations

import pathlib

STATIC = pathlib.Path(__file__).parent / "static"
SHARED = ("kernel_requests.js", "units.js")


def widget_script(name: str) -> str:
    """The module ``static/<name>`` with the shared helpers in front."""
    parts = [(STATIC / shared).read_text(encoding="utf-8") for shared in SHARED]
    parts.append((STATIC / name).read_text(encoding="utf-8"))
    return "\n".join(parts)
