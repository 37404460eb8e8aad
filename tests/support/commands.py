"""How tests start the ``shopmind`` command in a process of its own (as the installed script does)."""

import sys

SHOPMIND = (sys.executable, "-m", "services.runtime.cli")
