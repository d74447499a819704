"""`python -m keysvc` runs the `keysvc` command."""

import sys

from keysvc.cli import main

sys.exit(main())
