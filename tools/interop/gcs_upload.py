#!/usr/bin/env python3
"""Uploads every file under a local directory to the GCS emulator (fake-gcs-server) through
its JSON upload API, under a prefix. The emulator cannot take object_store's writes (it has no
XML-API PUT), so a table tarn wrote to local disk reaches it this way for the read tests.

    gcs_upload.py --url http://127.0.0.1:PORT --bucket NAME --prefix PREFIX --dir DIR

Prints the number of objects uploaded.
"""

from __future__ import annotations

import argparse
import os
import urllib.parse
import urllib.request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()

    if not args.url.startswith("http://127.0.0.1:"):
        raise SystemExit(f"refusing URL {args.url}: tests use 127.0.0.1 only")
    uploaded = 0
    for root, _dirs, files in os.walk(args.dir):
        for name in sorted(files):
            path = os.path.join(root, name)
            relative = os.path.relpath(path, args.dir).replace(os.sep, "/")
            object_name = f"{args.prefix.strip('/')}/{relative}"
            query = urllib.parse.urlencode({"uploadType": "media", "name": object_name})
            with open(path, "rb") as f:
                body = f.read()
            request = urllib.request.Request(
                f"{args.url}/upload/storage/v1/b/{args.bucket}/o?{query}",
                data=body,
                headers={"Content-Type": "application/octet-stream"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=30):
                uploaded += 1
    print(uploaded)


if __name__ == "__main__":
    main()
