"""`python -m sync` runs the align-sync command."""
import sys

from .cli import main

sys.exit(main())
