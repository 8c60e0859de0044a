"""Runs moto's S3 server with its requests handled one at a time.

moto checks `If-None-Match: *` and then stores the object, without a lock between the two
(moto 5.2.5, `S3Response.put_object`). Two concurrent conditional puts of one key can both
pass the check, and both succeed: the emulator then loses a commit that real S3 would have
refused. Under CPU load the window is wide enough that the tests' concurrent writers hit it.
Serialising requests makes moto's conditional put atomic, as S3's is. Connections are still
served on their own threads, so a kept-alive connection never blocks another.

Usage: moto_serial.py HOST PORT
"""

import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serial(environ, start_response):
        with lock:
            # The whole response is produced under the lock, not just its first part.
            return list(app(environ, start_response))

    run_simple(host, port, serial, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
