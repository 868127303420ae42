"""The peer: wsgidav's own FilesystemProvider on a directory, under cheroot, as
`wsgidav --root DIR --auth anonymous` would serve it (in-memory locks, property manager on,
no request log). Usage: wsgidav_peer.py ROOT PORT. Needs cheroot (bench/requirements.txt)."""

import os
import signal
import sys
from types import FrameType

from cheroot import wsgi
from wsgidav.fs_dav_provider import FilesystemProvider
from wsgidav.wsgidav_app import WsgiDAVApp


def main() -> None:
    root, port = sys.argv[1], int(sys.argv[2])
    app = WsgiDAVApp(
        {
            "provider_mapping": {"/": FilesystemProvider(root)},
            "simple_dc": {"user_mapping": {"*": True}},
            "property_manager": True,
            "lock_storage": True,
            "verbose": 1,
            "logging": {"enable": False},
        }
    )
    server = wsgi.Server(bind_addr=("127.0.0.1", port), wsgi_app=app, numthreads=50)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        os._exit(0)  # cheroot's stop() from a signal handler can hang; nothing to flush

    signal.signal(signal.SIGTERM, stop)
    server.start()


if __name__ == "__main__":
    main()
