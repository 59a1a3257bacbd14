"""Entry point: ``python -m contracts.schemas [--check]``."""

from contracts.schemagen import main

raise SystemExit(main())
