"""The read-only SPARQL 1.1 endpoint over a cohort store (`b12kg serve DIR`): app.py (routes,
limits, the sandboxed user queries), formats.py (content negotiation), pages.py (HTML tables,
the index page, the Service Description). Quality measures ride along under /fhir
(serve/fhir/measures.py)."""

from .app import Endpoint, create_app, serve
from .formats import negotiate
from .pages import index_page

__all__ = ["Endpoint", "create_app", "index_page", "negotiate", "serve"]
