"""Sizes, durations and widths as the views print them."""

from __future__ import annotations

import math


def cli_size(size: float) -> str:
    """A size as the docker CLI prints it (go-units HumanSizeWithPrecision(size, 3)): 0B, 77B, 1.99MB."""
    units = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
    value = float(size)
    index = 0
    while value >= 1000 and index < len(units) - 1:
        value /= 1000
        index += 1
    return f"{value:.3g}{units[index]}"


SIZE_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB")


def human_size(size: int | None) -> str:
    """Bytes for prose, headers and trees: "77 B", "31.2 kB", "1.99 MB", "1 EB" (three significant digits,
    halves rounded up, never "1e+03"); beyond exabytes, whole exabytes ("1000000 EB"). The views'
    JavaScript (``humanSize`` in static/diff_tree.js) computes the same text step for step, so that a size
    reads the same in every view."""
    if size is None:
        return "?"
    value = float(max(0, size))
    index = 0
    while value >= 1000 and index < len(SIZE_UNITS) - 1:
        value /= 1000
        index += 1
    if index == 0:
        return f"{value:.0f} B"
    while True:
        decimals = 0 if value >= 100 else 1 if value >= 10 else 2
        scale = 10 ** decimals
        rounded = math.floor(value * scale + 0.5) / scale
        if rounded < 1000 or index == len(SIZE_UNITS) - 1:
            break
        value /= 1000  # 999.96 kB rounds to 1000 kB: say 1 MB
        index += 1
    text = f"{rounded:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} {SIZE_UNITS[index]}"


def human_duration(seconds: float) -> str:
    """An age as the docker CLI prints it (go-units HumanDuration): "2 minutes", "About an hour"."""
    whole = int(seconds)
    if whole < 1:
        return "Less than a second"
    if whole == 1:
        return "1 second"
    if whole < 60:
        return f"{whole} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def ellipsis(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"
