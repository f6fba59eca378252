"""``python -m easgw`` runs the command line."""

import sys

from easgw.cli import main

sys.exit(main())
