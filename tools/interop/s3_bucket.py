#!/usr/bin/env python3
"""Waits for an S3 emulator to answer, then creates a bucket in it (an existing bucket is
fine). Used by tools/moto.sh.

    s3_bucket.py --endpoint http://127.0.0.1:PORT --bucket NAME [--timeout SECONDS]

Credentials are the emulator's dummy ones ("test"/"test", us-east-1), passed explicitly, and
the instance-metadata lookup is disabled: nothing here may reach beyond the endpoint.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import urllib.error
import urllib.request


def wait_until_up(endpoint: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(endpoint + "/", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # the server answered, even if with an error status
        except OSError as err:
            last_error = err
            time.sleep(0.1)
    raise SystemExit(f"no S3 emulator answering at {endpoint} after {timeout}s: {last_error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()

    if not args.endpoint.startswith("http://127.0.0.1:"):
        raise SystemExit(f"refusing endpoint {args.endpoint}: tests use 127.0.0.1 only")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    wait_until_up(args.endpoint, args.timeout)

    import boto3
    from botocore.exceptions import ClientError

    s3 = boto3.client(
        "s3",
        endpoint_url=args.endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    try:
        s3.create_bucket(Bucket=args.bucket)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") not in (
            "BucketAlreadyOwnedByYou",
            "BucketAlreadyExists",
        ):
            raise
    s3.head_bucket(Bucket=args.bucket)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
