//! Property tests: every action survives a round trip through its log-line JSON, and a commit
//! file through `format_commit` / `parse_commit`.

use std::collections::BTreeMap;

use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;

use super::*;

fn text() -> impl Strategy<Value = String> {
    // Arbitrary unicode, including quotes, backslashes and control characters.
    any::<String>().prop_map(|s| s.chars().take(24).collect())
}

fn string_map() -> impl Strategy<Value = BTreeMap<String, Option<String>>> {
    btree_map(text(), option::of(text()), 0..4)
}

fn feature() -> impl Strategy<Value = TableFeature> {
    let known: Vec<TableFeature> = TableFeature::all_known().collect();
    prop_oneof![
        proptest::sample::select(known),
        "[a-z][a-zA-Z]{0,12}".prop_map(|name| name.parse().unwrap_or(TableFeature::AppendOnly)),
    ]
}

fn protocol() -> impl Strategy<Value = Protocol> {
    (
        1..=3i32,
        1..=7i32,
        option::of(vec(feature(), 0..4)),
        option::of(vec(feature(), 0..4)),
    )
        .prop_map(|(r, w, rf, wf)| Protocol {
            min_reader_version: r,
            min_writer_version: w,
            reader_features: rf,
            writer_features: wf,
        })
}

fn metadata() -> impl Strategy<Value = Metadata> {
    (
        text(),
        option::of(text()),
        option::of(text()),
        text(),
        vec(text(), 0..3),
        option::of(any::<i64>()),
        btree_map(text(), text(), 0..4),
        btree_map(text(), text(), 0..2),
    )
        .prop_map(
            |(
                id,
                name,
                description,
                schema_string,
                partition_columns,
                created_time,
                configuration,
                options,
            )| {
                Metadata {
                    id,
                    name,
                    description,
                    format: Format {
                        provider: "parquet".to_owned(),
                        options,
                    },
                    schema_string,
                    partition_columns,
                    created_time,
                    configuration,
                }
            },
        )
}

fn deletion_vector() -> impl Strategy<Value = DeletionVectorDescriptor> {
    (
        prop_oneof![Just("u"), Just("i"), Just("p")],
        text(),
        option::of(any::<i32>()),
        any::<i32>(),
        any::<i64>(),
    )
        .prop_map(
            |(storage, path, offset, size, cardinality)| DeletionVectorDescriptor {
                storage_type: storage.to_owned(),
                path_or_inline_dv: path,
                offset,
                size_in_bytes: size,
                cardinality,
            },
        )
}

fn add() -> impl Strategy<Value = Add> {
    (
        (
            text(),
            string_map(),
            any::<i64>(),
            any::<i64>(),
            any::<bool>(),
        ),
        (
            option::of(text()),
            option::of(string_map()),
            option::of(deletion_vector()),
            option::of(any::<i64>()),
            option::of(any::<i64>()),
            option::of(text()),
        ),
    )
        .prop_map(
            |(
                (path, partition_values, size, modification_time, data_change),
                (
                    stats,
                    tags,
                    deletion_vector,
                    base_row_id,
                    default_row_commit_version,
                    clustering_provider,
                ),
            )| Add {
                path,
                partition_values,
                size,
                modification_time,
                data_change,
                stats,
                tags,
                deletion_vector,
                base_row_id,
                default_row_commit_version,
                clustering_provider,
            },
        )
}

fn remove() -> impl Strategy<Value = Remove> {
    (
        (
            text(),
            option::of(any::<i64>()),
            any::<bool>(),
            option::of(any::<bool>()),
        ),
        (
            option::of(string_map()),
            option::of(any::<i64>()),
            option::of(text()),
            option::of(string_map()),
            option::of(deletion_vector()),
            option::of(any::<i64>()),
            option::of(any::<i64>()),
        ),
    )
        .prop_map(
            |(
                (path, deletion_timestamp, data_change, extended_file_metadata),
                (
                    partition_values,
                    size,
                    stats,
                    tags,
                    deletion_vector,
                    base_row_id,
                    default_row_commit_version,
                ),
            )| Remove {
                path,
                deletion_timestamp,
                data_change,
                extended_file_metadata,
                partition_values,
                size,
                stats,
                tags,
                deletion_vector,
                base_row_id,
                default_row_commit_version,
            },
        )
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        text().prop_map(serde_json::Value::from),
    ]
}

fn json_map() -> impl Strategy<Value = serde_json::Map<String, serde_json::Value>> {
    btree_map(text(), json_value(), 0..3).prop_map(|m| m.into_iter().collect())
}

fn commit_info() -> impl Strategy<Value = CommitInfo> {
    (
        (
            option::of(any::<i64>()),
            option::of(any::<i64>()),
            option::of(text()),
            option::of(json_map()),
        ),
        (
            option::of(json_map()),
            option::of(text()),
            option::of(text()),
            option::of(any::<i64>()),
        ),
        (
            option::of(text()),
            option::of(any::<bool>()),
            btree_map("x_[a-z]{1,8}", json_value(), 0..3),
        ),
    )
        .prop_map(
            |(
                (timestamp, in_commit_timestamp, operation, operation_parameters),
                (operation_metrics, engine_info, txn_id, read_version),
                (isolation_level, is_blind_append, other),
            )| CommitInfo {
                timestamp,
                in_commit_timestamp,
                operation,
                operation_parameters,
                operation_metrics,
                engine_info,
                txn_id,
                read_version,
                isolation_level,
                is_blind_append,
                other: other.into_iter().collect(),
            },
        )
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        protocol().prop_map(Action::Protocol),
        metadata().prop_map(Action::Metadata),
        add().prop_map(Action::Add),
        remove().prop_map(Action::Remove),
        (
            text(),
            string_map(),
            any::<i64>(),
            any::<bool>(),
            option::of(string_map())
        )
            .prop_map(
                |(path, partition_values, size, data_change, tags)| Action::Cdc(AddCdcFile {
                    path,
                    partition_values,
                    size,
                    data_change,
                    tags,
                })
            ),
        (text(), any::<i64>(), option::of(any::<i64>())).prop_map(
            |(app_id, version, last_updated)| {
                Action::Txn(Txn {
                    app_id,
                    version,
                    last_updated,
                })
            }
        ),
        commit_info().prop_map(Action::CommitInfo),
        (text(), text(), any::<bool>()).prop_map(|(domain, configuration, removed)| {
            Action::DomainMetadata(DomainMetadata {
                domain,
                configuration,
                removed,
            })
        }),
        (text(), any::<i64>(), any::<i64>(), option::of(string_map())).prop_map(
            |(path, size_in_bytes, modification_time, tags)| Action::Sidecar(Sidecar {
                path,
                size_in_bytes,
                modification_time,
                tags,
            })
        ),
        (any::<i64>(), option::of(string_map())).prop_map(|(version, tags)| {
            Action::CheckpointMetadata(CheckpointMetadata { version, tags })
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_action_round_trips_through_its_log_line(action in action()) {
        let line = action.to_json_line().unwrap();
        prop_assert!(!line.contains('\n'), "a log line must be one line: {line}");
        let parsed = Action::from_json_line(&line).unwrap();
        prop_assert_eq!(parsed, Some(action));
    }

    #[test]
    fn commit_files_round_trip(actions in vec(action(), 0..8)) {
        let text = format_commit(&actions).unwrap();
        prop_assert_eq!(parse_commit(&text).unwrap(), actions);
    }
}
