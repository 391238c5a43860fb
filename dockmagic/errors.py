"""The errors dockmagic raises: short, one paragraph, saying what was wrong and what to do.

IPython renders an exception through its ``_render_traceback_`` when it has one, so a user sees the
message alone, not a wall of traceback, while "Run all" still stops at the failing cell.
"""


class DockmagicError(Exception):
    """Base of every error dockmagic raises on purpose."""

    def _render_traceback_(self):
        return [f"\x1b[31m{type(self).__name__}\x1b[0m: {self}"]


class InvalidInput(DockmagicError, ValueError):
    """What the user gave cannot be used as it is (a bad name, option or value); nothing was sent."""


class EngineUnavailable(DockmagicError):
    """No container engine answered (nothing listens at DOCKER_HOST or the default sockets)."""


class EngineConnectionLost(EngineUnavailable):
    """The engine stopped answering in the middle of an operation (it was stopped, crashed or restarted)."""


class Interrupted(DockmagicError, KeyboardInterrupt):
    """An operation was interrupted (Ctrl-C, the notebook's stop button); what it had started was undone.

    A KeyboardInterrupt still, so "Run all" stops there, but shown as its one-line message."""


class DockerfileError(InvalidInput):
    """The Dockerfile cannot be built as written (no FROM, an unknown instruction, ...)."""


class BuildContextError(InvalidInput):
    """The build context cannot be sent (missing folder, unreadable file, ...)."""


class DockerBuildError(DockmagicError):
    """A build failed; ``.result`` holds the build with its steps and logs."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result


class BuildConnectionLost(DockerBuildError, EngineConnectionLost):
    """A build failed because the engine stopped answering in the middle of it: both a failed build
    (``.result``) and a lost engine, so that either ``except`` catches it."""


class BuildCancelled(Interrupted):
    """A build was interrupted; the stream was closed and its intermediate containers removed."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result


class ContainerError(DockmagicError):
    """A program in a container exited with a non-zero code."""

    def __init__(self, message, exit_code=None, output=""):
        super().__init__(message)
        self.exit_code = exit_code
        self.output = output


class NotFound(DockmagicError):
    """A container or image named by the user does not exist on the engine."""


class EngineRefused(DockmagicError):
    """The engine refused a request; ``status_code`` is its HTTP answer, ``explanation`` its own words."""

    def __init__(self, explanation, status_code=None):
        super().__init__(explanation)
        self.explanation = explanation
        self.status_code = status_code

    @property
    def summary(self) -> str:
        """The explanation's first line, at most 300 characters: what a sentence quotes."""
        return first_line(self.explanation, 300)


class ContainerNotRunning(DockmagicError):
    """The container exists but is not running, so nothing can run in it."""


class CellInterrupted(ContainerError, KeyboardInterrupt):
    """A cell was interrupted: its command was stopped; the shell and the container keep running."""


class CommitChangeError(InvalidInput):
    """A ``-c`` change is not an instruction ``docker commit`` can apply, or is malformed."""


def first_line(text, limit: int = 200) -> str:
    """The first line of ``text`` (stripped), at most ``limit`` characters; "" for none."""
    text = (text or "").strip()
    return text.splitlines()[0][:limit] if text else ""
