"""The CDS Hooks 2.0 service (`b12kg cds-hooks`): app.py (routes), request.py (a call, read and
checked), prefetch.py (the record from prefetch or the FHIR server), hooks.py (what each hook
does), orders.py (draft orders as if signed), cards.py, feedback.py, auth.py (JWT), services.py
(the services the packs define), explanations.py (the pages the cards link to)."""

from .app import create_app, serve
from .config import Config

__all__ = ["Config", "create_app", "serve"]
