#!/usr/bin/env python3
"""Prints what an S3 emulator says of objects (HEAD): size and storage class, for tarn's
archive tests (object_store does not return the storage class).

    s3_head.py --endpoint http://127.0.0.1:PORT --bucket NAME KEY...

Prints one JSON object {KEY: {"size": N, "storage_class": "GLACIER_IR" | "STANDARD"}}; a
missing object is null. Credentials are the emulator's dummy ones, passed explicitly, and the
instance-metadata lookup is disabled.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("keys", nargs="+")
    args = parser.parse_args()
    if not args.endpoint.startswith("http://127.0.0.1:"):
        raise SystemExit(f"refusing endpoint {args.endpoint}: tests use 127.0.0.1 only")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

    import boto3
    from botocore.exceptions import ClientError

    s3 = boto3.client(
        "s3",
        endpoint_url=args.endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    out = {}
    for key in args.keys:
        try:
            head = s3.head_object(Bucket=args.bucket, Key=key)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                out[key] = None
                continue
            raise
        # S3 leaves the header out for STANDARD objects.
        out[key] = {
            "size": head["ContentLength"],
            "storage_class": head.get("StorageClass", "STANDARD"),
        }
    sys.stdout.write(json.dumps(out, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
