"""`python -m keysvc` runs the `keysvc` command."""

import sys

from keysvc.launcher import main

sys.exit(main())
