"""Sizes, durations and widths as the views print them."""

from __future__ import annotations

import math

SIZE_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB")


def human_size(size: int | None) -> str:
    """Bytes as every dockmagic view prints them, in the docker CLI's style: "77B", "31.2kB", "1.99MB", "1EB"
    (three significant digits, as ``docker images`` and ``docker history`` print sizes; halves rounded up;
    never the CLI's "1e+03kB": 999.96kB reads "1MB"); beyond exabytes, whole exabytes ("1000000EB"). The
    views' JavaScript (``humanSize`` in static/units.js) computes the same text step for step."""
    if size is None:
        return "?"
    value = float(max(0, size))
    index = 0
    while value >= 1000 and index < len(SIZE_UNITS) - 1:
        value /= 1000
        index += 1
    if index == 0:
        return f"{value:.0f}B"
    while True:
        decimals = 0 if value >= 100 else 1 if value >= 10 else 2
        scale = 10 ** decimals
        rounded = math.floor(value * scale + 0.5) / scale
        if rounded < 1000 or index == len(SIZE_UNITS) - 1:
            break
        value /= 1000  # 999.96kB rounds to 1000kB: say 1MB
        index += 1
    text = f"{rounded:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}{SIZE_UNITS[index]}"


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
