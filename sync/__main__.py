"""`python -m sync` runs the align-sync command."""
import sys

from .cli import entry

sys.exit(entry())
