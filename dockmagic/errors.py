"""The errors dockmagic raises: short, one paragraph, saying what was wrong and what to do.

IPython renders an exception through its ``_render_traceback_`` when it has one, so a user sees the
message alone, not a wall of traceback, while "Run all" still stops at the failing cell.
"""


class DockmagicError(Exception):
    """Base of every error dockmagic raises on purpose."""

    def _render_traceback_(self):
        return [f"\x1b[31m{type(self).__name__}\x1b[0m: {self}"]


class EngineUnavailable(DockmagicError):
    """No container engine answered (nothing listens at DOCKER_HOST or the default sockets)."""


class EngineConnectionLost(EngineUnavailable):
    """The engine stopped answering in the middle of an operation (it was stopped, crashed or restarted)."""


class Interrupted(DockmagicError, KeyboardInterrupt):
    """An operation was interrupted (Ctrl-C, the notebook's stop button); what it had started was undone.

    A KeyboardInterrupt still, so "Run all" stops there, but shown as its one-line message."""


class DockerfileError(DockmagicError):
    """The Dockerfile cannot be built as written (no FROM, an unknown instruction, ...)."""


class BuildContextError(DockmagicError):
    """The build context cannot be sent (missing folder, unreadable file, ...)."""


class DockerBuildError(DockmagicError):
    """A build failed; ``.result`` holds the build with its steps and logs."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result


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
