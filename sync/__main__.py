"""`python -m sync` runs the align-sync command."""
import sys

from sync.cli.main import entry

sys.exit(entry())
