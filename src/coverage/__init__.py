"""coverage: service-coverage planning for migrant family-planning services.

The import name is ``coverage``, the same as coverage.py's: never install coverage.py or
pytest-cov in the same environment.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
