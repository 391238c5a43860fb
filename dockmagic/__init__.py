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
    BuildContextError,
    ContainerError,
    DockerBuildError,
    DockerfileError,
    DockmagicError,
    EngineConnectionLost,
    EngineUnavailable,
    Interrupted,
    InvalidInput,
    NotFound,
)
from .operations.build import BuildResult, build

__version__ = "0.1.0"

__all__ = [
    "BuildCancelled",
    "BuildContextError",
    "BuildResult",
    "ContainerError",
    "DockerBuildError",
    "DockerfileError",
    "DockmagicError",
    "EngineConnectionLost",
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
