"""`python -m hub …`, the same as `threshold-hub …`."""

import signal
import sys

# Until the worker installs its own graceful handler, a stop (systemd, compose, a test) during start-up — the
# imports and the migration — is a clean exit: nothing has been received yet that could be lost.
signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))

from hub.cli import main  # noqa: E402

sys.exit(main())
