"""`python -m deploy.access`: see `deploy.access.command`."""

import sys

from .command import main

sys.exit(main())
