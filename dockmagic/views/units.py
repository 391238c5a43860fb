"""Sizes, durations and widths as the views print them."""

from __future__ import annotations


def cli_size(size: float) -> str:
    """A size as the docker CLI prints it (go-units HumanSizeWithPrecision(size, 3)): 0B, 77B, 1.99MB."""
    units = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
    value = float(size)
    index = 0
    while value >= 1000 and index < len(units) - 1:
        value /= 1000
        index += 1
    return f"{value:.3g}{units[index]}"


def human_size(size: int | None) -> str:
    """Bytes for prose and headers, three significant digits: "77 B", "1.99 MB", "1 EB"; beyond
    exabytes, whole exabytes ("1000000 EB")."""
    if size is None:
        return "?"
    value = float(size)
    if value < 1000:
        return f"{value:.0f} B"
    for unit in ("kB", "MB", "GB", "TB", "PB", "EB"):
        value /= 1000
        # Compare the rounded figure: 999.9 kB is shown as "1 MB", not "1e+03 kB".
        if float(f"{value:.3g}") < 1000:
            return f"{float(f'{value:.3g}'):g} {unit}"
    return f"{value:.0f} EB"


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
