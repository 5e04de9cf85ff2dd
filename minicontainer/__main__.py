"""`python -m minicontainer`: runc's main.go entry point (see cli/main.py)."""

import sys

from minicontainer.cli.main import main

sys.exit(main(sys.argv[1:]))
