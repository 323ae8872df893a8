"""`python -m kizuna_server` is the `kizuna` command."""

import sys

from kizuna_server.cli import main

sys.exit(main())
