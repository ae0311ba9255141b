"""waterops: the operations platform of a drinking-water utility.

SI units inside (m, m³/s, s, mg/L); conversion happens at the edges (files, HTTP, CLI).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("waterops")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]
