import sys

from patchhub.cli import main

sys.exit(main())
