"""The options several magics share, declared once (as IPython's ``script_args`` does), and the reading of
a magic's line.

An option that repeats means the same in every magic: ``-o NAME`` always binds the magic's result object to
NAME in the notebook, ``--network MODE`` always falls back to ``%config DockMagic.network``. Each decorator
adds its ``argument`` to a magic below ``@magic_arguments()``, so ``%magic?`` lists it with the others.
"""

from __future__ import annotations

import keyword
import shlex

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument

from ..errors import InvalidInput


def _options(*arguments):
    """A decorator adding ``arguments`` (IPython ``argument`` decorators) to a magic, in order."""

    def add(magic):
        for add_argument in reversed(arguments):
            magic = add_argument(magic)
        return magic

    return add


def out_option(what: str = "the result"):
    """``-o/--out NAME``: bind ``what`` to NAME in the notebook's namespace."""
    return argument("-o", "--out", metavar="NAME", help=f"Bind {what} to the Python name NAME in the notebook.")


def network_option(what: str = "Network mode", default: str = ""):
    """``--network MODE``, defaulting to ``%config DockMagic.network`` (then to ``default``, if given)."""
    fallback = f", else {default}" if default else ""
    return argument("--network", metavar="MODE", help=f"{what} (host, none, a network's name, ...). "
                    f"Default: %%config DockMagic.network{fallback}.")


environment_and_volume_options = _options(
    argument("-e", "--env", action="append", default=[], metavar="K=V",
             help="Set an environment variable (repeatable); -e K alone passes this process's value of K."),
    argument("-v", "--volume", action="append", default=[], metavar="SRC:DST[:ro]",
             help="Mount a folder or volume (repeatable); a relative SRC is relative to the current folder."),
)


def record_option(what: str):
    """``--record FILE``: also save ``what`` to FILE, for ``%docker_replay``."""
    return argument("--record", metavar="FILE", help=f"Also save {what} to FILE (JSON lines), for %%docker_replay.")


builder_option = argument(
    "--builder", choices=("auto", "buildkit", "legacy"),
    help="The builder: buildkit, legacy, or auto (BuildKit on Docker Engine, the legacy builder on Podman). "
    "Default: DOCKER_BUILDKIT (0 or 1), else %%config DockMagic.builder.")

keep_going_option = argument(
    "--keep-going", "--no-raise", action="store_true",
    help="A failure only shows its exit status; it raises no error, so \"Run all\" goes on past this cell.")

quiet_option = argument("--quiet", action="store_true", help="No live view: show only the final summary.")


def parse_line(magic, line: str):
    """The parsed options of ``line`` for ``magic``. Quotes group words and go away, as in a shell:
    ``-c 'CMD ["figlet"]'``, ``--build-arg 'GREETING=hello there'``. A ``-o NAME`` that Python cannot
    bind is refused here, before anything runs."""
    try:
        argv = shlex.split(line)
    except ValueError as error:
        raise UsageError(f"Cannot split the line into words ({error}): check its quotes.") from None
    args = magic.parser.parse_args(argv)
    # A magic that writes a file takes its path with --file: say so to whoever gives -o a path.
    check_out_name(getattr(args, "out", None), file_option="file" in vars(args))
    return args


def check_out_name(name: str | None, file_option: bool = False) -> None:
    """Raise a one-line error unless ``name`` (the value of ``-o``) is a Python name a result can be bound to."""
    if name is not None and (not name.isidentifier() or keyword.iskeyword(name)):
        to_write = " To write a file, give its path with --file PATH." if file_option else ""
        raise InvalidInput(
            f"-o {name!r} is not a Python name to bind the result to: use letters, digits and _ "
            f"(not starting with a digit, not a keyword), e.g. -o result.{to_write}"
        )


def bind_result(shell, args, result) -> None:
    """Bind ``result`` to the name given with ``-o``, if one was."""
    name = getattr(args, "out", None)
    if name and result is not None:
        shell.user_ns[name] = result
