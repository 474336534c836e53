import sys

from appointments.entrypoints.cli import main

sys.exit(main())
