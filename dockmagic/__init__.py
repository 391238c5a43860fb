"""dockmagic: build Docker images from Jupyter cells.

In a notebook::

    %load_ext dockmagic

    %%dockerfile -t hello
    FROM busybox
    RUN echo hello
    CMD ["echo", "hi"]

From plain Python: ``dockmagic.build(dockerfile_text, tags=["hello"])``.
"""

from .engine import connect
from .errors import (
    BuildCancelled,
    BuildConnectionLost,
    BuildContextError,
    ContainerError,
    DockerBuildError,
    DockerfileError,
    DockmagicError,
    EngineConnectionLost,
    EngineRefused,
    EngineUnavailable,
    Interrupted,
    InvalidInput,
    NotFound,
)
from .operations.build import BuildResult, build


def _version() -> str:
    """The version in the package metadata (setup.cfg is its one source); in a source tree that was never
    installed, setup.cfg's own line; "0+unknown" when neither is there."""
    from importlib import metadata

    try:
        return metadata.version("dockmagic")
    except metadata.PackageNotFoundError:
        import configparser
        import pathlib

        setup = configparser.ConfigParser(interpolation=None)
        setup.read(pathlib.Path(__file__).resolve().parent.parent / "setup.cfg", encoding="utf-8")
        return setup.get("metadata", "version", fallback="0+unknown")


__version__ = _version()

__all__ = [
    "BuildCancelled",
    "BuildConnectionLost",
    "BuildContextError",
    "BuildResult",
    "ContainerError",
    "DockerBuildError",
    "DockerfileError",
    "DockmagicError",
    "EngineConnectionLost",
    "EngineRefused",
    "EngineUnavailable",
    "Interrupted",
    "InvalidInput",
    "NotFound",
    "build",
    "connect",
]


def load_ipython_extension(ipython):
    """``%load_ext dockmagic``: register the magics."""
    from .magics import register

    register(ipython)


def unload_ipython_extension(ipython):
    """``%unload_ext dockmagic``: remove the magics."""
    from .magics import unregister

    unregister(ipython)
