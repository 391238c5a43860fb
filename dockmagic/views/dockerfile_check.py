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
        for number, instruction in enumerate(self.instructions, 1):
            out.append(f"  {number:>2}. line {instruction.line:<3} {instruction.written}")
        for problem in self.problems:
            out.append(f"  line {problem.line}: {problem.message} [{problem.rule}]")
        return "\n".join(out)

    def _html(self) -> str:
        flagged = {problem.line for problem in self.problems}
        rows = "".join(
            f'<tr style="{"background:#fef2f2" if i.line in flagged else ""}"><td>{n}</td><td>line {i.line}</td>'
            f"<td><code>{escape(i.written)}</code></td></tr>"
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
                f"<th>instruction</th></tr></thead><tbody>{rows}</tbody></table></div>")
