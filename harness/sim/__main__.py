"""`python -m harness.sim`: run one virtual board."""

import sys

from harness.sim.process import main

sys.exit(main())
