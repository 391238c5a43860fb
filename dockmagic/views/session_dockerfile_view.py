"""The text and HTML forms of a session's Dockerfile
(:class:`dockmagic.operations.session_dockerfile.SessionDockerfile`)."""

from __future__ import annotations

from .display import escape


def summary_lines(result) -> list[str]:
    """The comment lines above the Dockerfile: how many cells it holds, where it was written."""
    lines = [f"# Dockerfile of container {result.container}: {result.included} of {result.cells} cells as RUN"
             f" ({result.cmd_source})"]
    if not result.cells:
        lines.append("# no %%docker_shell cell was recorded for this container in this Python process")
    if result.left_out:
        cells = ", ".join(f"{number} ({why})" for number, why in sorted(result.left_out.items()))
        lines.append(f"# cells left out: {cells}")
    if result.path:
        lines.append(f"# written to {result.path}")
    return lines


def build_lines(result) -> list[str]:
    """After a rebuild: what was built, and which files differ."""
    if result.build is None:
        return []
    tags = ", ".join(getattr(result.build, "tags", []) or [])
    image_id = (getattr(result.build, "image_id", "") or "").split(":")[-1][:12]
    lines = [f"Rebuilt as {tags} ({image_id})."]
    if result.differences is not None:
        if result.differences:
            count = len(result.differences)
            lines.append(f"{count} {'file differs' if count == 1 else 'files differ'} from "
                         f"{result.compared_with} (logs and caches left out):")
            lines.extend(f"  {d}" for d in result.differences[:200])
            if len(result.differences) > 200:
                lines.append(f"  ... and {len(result.differences) - 200} more")
        else:
            lines.append(f"Same files as {result.compared_with} (logs and caches left out).")
    return lines


def session_dockerfile_text(result) -> str:
    parts = ["\n".join(summary_lines(result)), result.text]
    build = build_lines(result)
    if build:
        parts.append("\n".join(build))
    return "\n".join(parts)


def session_dockerfile_html(result) -> str:
    summary = "<br>".join(escape(line.lstrip("# ")) for line in summary_lines(result))
    html = (f"<div class='dockmagic-dockerfile'><div><small>{summary}</small></div>"
            f"<pre>{escape(result.text)}</pre>")
    build = build_lines(result)
    if build:
        html += f"<pre>{escape(chr(10).join(build))}</pre>"
    return html + "</div>"
