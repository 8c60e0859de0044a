#!/usr/bin/env python3
"""Waits for the GCS emulator (fake-gcs-server) to answer, then creates a bucket in it (an
existing bucket is fine), through its JSON API. Used by tools/fake_gcs.sh.

    gcs_bucket.py --url http://127.0.0.1:PORT --bucket NAME [--timeout SECONDS]

Plain HTTP to the emulator, no credentials, no Google client library: nothing here may reach
beyond it.
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.error
import urllib.request


def wait_until_up(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/storage/v1/b", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # the server answered, even if with an error status
        except OSError as err:
            last_error = err
            time.sleep(0.1)
    raise SystemExit(f"no GCS emulator answering at {url} after {timeout}s: {last_error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()

    if not args.url.startswith("http://127.0.0.1:"):
        raise SystemExit(f"refusing URL {args.url}: tests use 127.0.0.1 only")
    wait_until_up(args.url, args.timeout)

    request = urllib.request.Request(
        args.url + "/storage/v1/b",
        data=json.dumps({"name": args.bucket}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10):
            pass
    except urllib.error.HTTPError as err:
        if err.code != 409:  # 409: the bucket exists already
            raise
    with urllib.request.urlopen(f"{args.url}/storage/v1/b/{args.bucket}", timeout=10):
        pass


if __name__ == "__main__":
    main()
