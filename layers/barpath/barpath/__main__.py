"""`python -m barpath ...` is the `barpath` command."""

import sys

from barpath.cli import main

sys.exit(main())
