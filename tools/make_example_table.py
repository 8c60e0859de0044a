"""Regenerates examples/events, the small Delta table the README's first command inspects.

It is written by delta-rs (the Python `deltalake` package) on purpose: a table tarn did not
write, with a delta-rs checkpoint, a delete and an update. Run from the repository root:

    python3 -m pip install deltalake pyarrow
    rm -rf examples/events && python3 tools/make_example_table.py

integration-tests/tests/example_table.rs asserts the row and file counts of every version.
"""
import pyarrow as pa, datetime as dt
from deltalake import write_deltalake, DeltaTable
path = "examples/events"
def batch(day, start, n):
    return pa.table({
        "event_id": pa.array(range(start, start + n), pa.int64()),
        "day": pa.array([day] * n, pa.string()),
        "user": pa.array([f"user-{i % 7}" for i in range(start, start + n)], pa.string()),
        "kind": pa.array([["click", "view", "purchase"][i % 3] for i in range(start, start + n)], pa.string()),
        "amount": pa.array([round((i % 11) * 1.25, 2) for i in range(start, start + n)], pa.float64()),
        "ts": pa.array([dt.datetime(2026, 1, int(day[-2:]), 8, 0, tzinfo=dt.timezone.utc) + dt.timedelta(minutes=i) for i in range(start, start + n)], pa.timestamp("us", tz="UTC")),
    })
write_deltalake(path, batch("2026-01-05", 0, 40), partition_by=["day"], name="events", description="Example click stream shipped with tarn", configuration={"delta.appendOnly": "false"})
write_deltalake(path, batch("2026-01-06", 40, 40), mode="append")
write_deltalake(path, batch("2026-01-07", 80, 40), mode="append")
dt_ = DeltaTable(path)
dt_.delete("kind = 'view' AND day = '2026-01-06'")
dt_.update(updates={"amount": "amount * 2"}, predicate="kind = 'purchase' AND day = '2026-01-07'")
DeltaTable(path).create_checkpoint()
write_deltalake(path, batch("2026-01-08", 120, 20), mode="append")
print(DeltaTable(path).version())
