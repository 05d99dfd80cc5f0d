"""``python -m bot.cli``: the same as ``tambon-bot``."""

import sys

from bot.cli import main

sys.exit(main())
