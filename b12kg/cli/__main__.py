"""python -m b12kg.cli: the b12kg command."""

from . import main

main()
