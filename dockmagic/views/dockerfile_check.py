"""What ``%%dockerfile --check`` shows: the steps a Dockerfile would run and its problems, by line."""

from __future__ import annotations

from dataclasses import dataclass

from ..parsing.dockerfile import Instruction, Problem
from .display import TextAndHtml, escape


@dataclass
class DockerfileCheck(TextAndHtml):
    instructions: list[Instruction]
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    def _text(self) -> str:
        steps = [i for i in self.instructions if i.keyword != "ARG" or i is not self.instructions[0]]
        out = [f"Dockerfile check: {len(steps)} instructions, "
               + (f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}" if self.problems
                  else "no problems found")]
        # Columns aligned left, each as wide as its longest entry; the instruction as its author wrote it
        # (a continuation or heredoc line under its first, indented to the same column).
        numbers = [f"{number}." for number in range(1, len(self.instructions) + 1)]
        places = [f"line {instruction.line}" for instruction in self.instructions]
        number_width = max(map(len, numbers), default=0)
        place_width = max(map(len, places), default=0)
        for number, place, instruction in zip(numbers, places, self.instructions, strict=True):
            first, *rest = instruction.shown.split("\n")
            out.append(f"  {number:<{number_width}} {place:<{place_width}} {first}")
            out.extend(f"  {'':<{number_width}} {'':<{place_width}} {line}" for line in rest)
        for problem in self.problems:
            out.append(f"  line {problem.line}: {problem.message} [{problem.rule}]")
        return "\n".join(out)

    def _html(self) -> str:
        flagged = {problem.line for problem in self.problems}
        rows = "".join(
            f'<tr style="{"background:#fef2f2" if i.line in flagged else ""}"><td>{n}</td><td>line {i.line}</td>'
            f'<td style="text-align:left"><pre style="margin:0">{escape(i.shown)}</pre></td></tr>'
            for n, i in enumerate(self.instructions, 1)
        )
        problems = "".join(
            f'<li><b>line {p.line}</b>: {escape(p.message)} <code style="color:#6b7280">{escape(p.rule)}</code></li>'
            for p in self.problems
        )
        verdict = (f'<div style="color:#b91c1c;font-weight:600">{len(self.problems)} problem(s)</div>'
                   f"<ul>{problems}</ul>"
                   if self.problems else '<div style="color:#15803d;font-weight:600">No problems found</div>')
        return (f'<div class="dockmagic-check">{verdict}<table><thead><tr><th>#</th><th>where</th>'
                f"<th style='text-align:left'>instruction</th></tr></thead><tbody>{rows}</tbody></table></div>")
