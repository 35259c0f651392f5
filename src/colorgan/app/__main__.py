"""``python -m colorgan.app``: the same as ``colorgan-app``."""

import sys

from colorgan.app.cli import main

sys.exit(main())
