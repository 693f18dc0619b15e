"""`python -m shotbridge_resolve`: the ShotBridge window on a running DaVinci Resolve Studio (external scripting)."""

import sys

from shotbridge_resolve.launch import main

sys.exit(main())
