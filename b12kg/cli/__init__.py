"""The b12kg command line: one thin module per command group (assess, batch, knowledge, cohort,
serve) on one group (group.py) that turns errors into exit codes in one place."""

from . import assess, batch, cohort, knowledge, living, serve  # noqa: F401  (each registers its commands on `main`)
from .common import REASONERS
from .group import main

__all__ = ["REASONERS", "main"]
