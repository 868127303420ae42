"""Named crash points for the durability tests.

`point(name)` does nothing unless the process was started with PARVIS_CRASH_AT=name, in which
case it kills its own process with SIGKILL right there, as a power cut or an OOM kill would.
"""

import os
import signal


def point(name: str) -> None:
    if os.environ.get("PARVIS_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
