#!/usr/bin/env python3
"""Waits for an Azure Blob emulator (azurite) to answer, then creates a container in it (an
existing container is fine). Used by tools/azurite.sh.

    azure_container.py --url http://127.0.0.1:PORT --container NAME [--timeout SECONDS]

The account and key are azurite's well-known development ones, passed explicitly in a
connection string whose blob endpoint is the emulator: nothing here may reach beyond it.
"""

from __future__ import annotations

import argparse
import time
import urllib.error
import urllib.request

# Azurite's well-known development account (the same object_store fills in for the emulator).
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def wait_until_up(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # the server answered, even if with an error status
        except OSError as err:
            last_error = err
            time.sleep(0.1)
    raise SystemExit(f"no Azure Blob emulator answering at {url} after {timeout}s: {last_error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--container", required=True)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()

    if not args.url.startswith("http://127.0.0.1:"):
        raise SystemExit(f"refusing URL {args.url}: tests use 127.0.0.1 only")
    wait_until_up(args.url, args.timeout)

    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
        f"BlobEndpoint={args.url}/{ACCOUNT};"
    )
    try:
        service.create_container(args.container)
    except ResourceExistsError:
        pass
    service.get_container_client(args.container).get_container_properties()


if __name__ == "__main__":
    main()
