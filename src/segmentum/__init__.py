"""segmentum: a customer segmentation engine.

The Python API mirrors the CLI::

    from segmentum import Workspace
    ws = Workspace("my-shop")
    ws.ingest("order_items", "export.csv")
    result = ws.run(as_of="latest")
"""

from __future__ import annotations

from segmentum.errors import SegmentumError
from segmentum.workspace import Workspace

__version__ = "0.1.0"
__all__ = ["SegmentumError", "Workspace", "__version__"]
