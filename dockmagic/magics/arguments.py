"""Reading a magic's line: split like a POSIX shell, then parsed by the magic's ``magic_arguments``."""

from __future__ import annotations

import shlex

from IPython.core.error import UsageError


def parse_line(magic, line: str):
    """The parsed options of ``line`` for ``magic``. Quotes group words and go away, as in a shell:
    ``-c 'CMD ["figlet"]'``, ``--build-arg 'GREETING=hello there'``."""
    try:
        argv = shlex.split(line)
    except ValueError as error:
        raise UsageError(f"Cannot split the line into words ({error}): check its quotes.") from None
    return magic.parser.parse_args(argv)
