"""`python -m seisfuse.cli`: the seisfuse command."""

import sys

from seisfuse.cli import main

sys.exit(main())
