#!/usr/bin/env python3
"""Seeds the fuzz corpora from the fixture tables (../shared/fixtures) and fuzz/seeds/.

    tools/fuzz_corpus.py FIXTURES_DIR SEEDS_DIR OUT_DIR

Writes OUT_DIR/<target>/<sha1 of the input> for every fuzz target (fuzz/fuzz_targets/): the
fixtures' commit files, checkpoints, DV files and bitmaps, the `stats`, partition values and
inline DVs found in their commits, and every name in their `_delta_log` directories; then the
hand-written seeds and crash regressions under SEEDS_DIR/<target>/ (files, or for
`*.lines` files one input per line). Existing files are kept, so the corpus libFuzzer grew
stays. Nothing is written into the clone: the fixtures are not copied into the repository.
Standard library only.
"""

import hashlib
import json
import os
import struct
import sys
from pathlib import Path

TARGETS = [
    "commit_file",
    "checkpoint",
    "log_file_name",
    "partition_value",
    "expr_parse",
    "stats_json",
    "deletion_vector",
]

# The first byte of a partition_value input picks the type (fuzz_targets/partition_value.rs).
PARTITION_TYPES = {
    "string": 0,
    "long": 1,
    "integer": 2,
    "short": 3,
    "byte": 4,
    "float": 5,
    "double": 6,
    "boolean": 7,
    "binary": 8,
    "date": 9,
    "timestamp": 10,
    "timestamp_ntz": 11,
}


class Corpus:
    def __init__(self, out: Path):
        self.out = out
        self.counts = {t: 0 for t in TARGETS}

    def add(self, target: str, data: bytes) -> None:
        directory = self.out / target
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / hashlib.sha1(data).hexdigest()
        if not path.exists():
            path.write_bytes(data)
        self.counts[target] += 1


def partition_prefix(type_name: str) -> bytes:
    if type_name in PARTITION_TYPES:
        return bytes([PARTITION_TYPES[type_name]])
    if type_name.startswith("decimal(") and type_name.endswith(")"):
        precision, scale = (int(x) for x in type_name[8:-1].split(","))
        # precision = 1 + byte % 38, scale = byte % (precision + 1)
        return bytes([12, precision - 1, scale])
    return bytes([0])


def column_types(metadata: dict) -> dict:
    """Partition column types by logical and physical name."""
    try:
        schema = json.loads(metadata.get("schemaString", "{}"))
    except ValueError:
        return {}
    types = {}
    for field in schema.get("fields", []):
        if isinstance(field.get("type"), str):
            types[field["name"]] = field["type"]
            physical = field.get("metadata", {}).get("delta.columnMapping.physicalName")
            if physical:
                types[physical] = field["type"]
    return types


def seed_commit(corpus: Corpus, data: bytes, types: dict) -> None:
    """The stats, partition values and inline DVs of one commit's actions."""
    for line in data.splitlines():
        try:
            action = json.loads(line)
        except ValueError:
            continue
        if not isinstance(action, dict):
            continue
        if "metaData" in action:
            types.update(column_types(action["metaData"]))
        for kind in ("add", "remove"):
            file = action.get(kind)
            if not isinstance(file, dict):
                continue
            if isinstance(file.get("stats"), str):
                corpus.add("stats_json", file["stats"].encode())
            for column, value in (file.get("partitionValues") or {}).items():
                if isinstance(value, str):
                    prefix = partition_prefix(types.get(column, "string"))
                    corpus.add("partition_value", prefix + value.encode())
            dv = file.get("deletionVector")
            if isinstance(dv, dict) and isinstance(dv.get("pathOrInlineDv"), str):
                corpus.add("deletion_vector", dv["pathOrInlineDv"].encode())


def seed_dv_file(corpus: Corpus, data: bytes) -> None:
    """The DV file and the bitmap of each of its frames."""
    corpus.add("deletion_vector", data)
    offset = 1
    while offset + 4 <= len(data):
        (size,) = struct.unpack(">I", data[offset : offset + 4])
        bitmap = data[offset + 4 : offset + 4 + size]
        if len(bitmap) != size:
            break
        corpus.add("deletion_vector", bitmap)
        offset += 4 + size + 4


def seed_fixtures(corpus: Corpus, fixtures: Path) -> None:
    tables = fixtures / "tables"
    for log_dir in sorted(tables.rglob("_delta_log")):
        if not log_dir.is_dir():
            continue
        types: dict = {}
        names = sorted(p for p in log_dir.rglob("*") if p.is_file())
        for path in names:
            corpus.add("log_file_name", path.name.encode())
            if path.suffix == ".json":
                data = path.read_bytes()
                corpus.add("commit_file", data)
                seed_commit(corpus, data, types)
            elif path.suffix == ".parquet" and ".checkpoint." in path.name:
                corpus.add("checkpoint", path.read_bytes())
        # Pairs of neighbouring names, for the ordering check.
        protocol_names = [p.name for p in names if p.parent == log_dir]
        for a, b in zip(protocol_names, protocol_names[1:]):
            corpus.add("log_file_name", f"{a}\n{b}".encode())
    for path in sorted(tables.rglob("*.bin")):
        seed_dv_file(corpus, path.read_bytes())


def seed_committed(corpus: Corpus, seeds: Path) -> None:
    for target in TARGETS:
        directory = seeds / target
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            if path.suffix == ".lines":
                for line in path.read_text().splitlines():
                    if line and not line.startswith("#"):
                        corpus.add(target, line.encode())
            elif path.is_file():
                corpus.add(target, path.read_bytes())


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    fixtures, seeds, out = (Path(a) for a in sys.argv[1:])
    corpus = Corpus(out)
    if (fixtures / "tables").is_dir():
        seed_fixtures(corpus, fixtures)
    else:
        print(f"warning: no fixture tables under {fixtures}; hand-written seeds only",
              file=sys.stderr)
    seed_committed(corpus, seeds)
    for target in TARGETS:
        count = len(os.listdir(out / target)) if (out / target).is_dir() else 0
        print(f"  {target}: {corpus.counts[target]} seeds, {count} inputs in the corpus")
    return 0


if __name__ == "__main__":
    sys.exit(main())
