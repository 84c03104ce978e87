"""segmentum: a customer segmentation engine.

The Python API mirrors the CLI::

    from segmentum import Workspace
    ws = Workspace("my-shop")
    ws.ingest("order_items", "export.csv")
    result = ws.run(as_of="latest")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from segmentum.errors import SegmentumError

if TYPE_CHECKING:
    from segmentum.workspace import Workspace

__version__ = "0.1.0"
__all__ = ["SegmentumError", "Workspace", "__version__"]


def __getattr__(name: str) -> Any:
    # `Workspace` is the facade at the top of the package: imported on first use, so that importing any
    # module below it (segmentum.errors, segmentum.spec, ...) never pulls in the whole library.
    if name == "Workspace":
        from segmentum.workspace import Workspace

        return Workspace
    raise AttributeError(f"module 'segmentum' has no attribute {name!r}")
