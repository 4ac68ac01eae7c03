"""HTTP faces of the library: Open311 GeoReport v2 and a JSON API for portals.

This package imports the library; nothing in the library imports it.  Its web
dependencies (Litestar, uvicorn) come with the ``http`` extra::

    pip install 'petitions[http]'

:mod:`petitions.http.keys` (API keys) needs none of them, so the command line
can manage keys without the extra.
"""

from __future__ import annotations

INSTALL_HINT = "the HTTP server needs the http extra: pip install 'petitions[http]'"


def available() -> bool:
    """Whether the ``http`` extra (Litestar and uvicorn) is installed."""
    from importlib.util import find_spec

    return find_spec("litestar") is not None and find_spec("uvicorn") is not None
