"""AsyncAPI 3.0 documents of the topics: one per service, one for the departments, committed
beside the builder; `make asyncapi` (`python -m deploy.asyncapi`) regenerates them."""

from pathlib import Path

DOCUMENT_ROOT = Path(__file__).parent
"""Where the committed documents live, `<name>.json`."""


def document_path(name: str) -> Path:
    """The committed document of one service (`routing`) or of the departments' side."""
    return DOCUMENT_ROOT / f"{name}.json"
