"""`python -m exporter` runs the same command as `ovh-vps-exporter`."""

import sys

from exporter.cli import main

sys.exit(main())
