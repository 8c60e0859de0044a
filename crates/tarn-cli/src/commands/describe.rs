//! `tarn describe`: what a table is at one version.

use serde_json::{Value, json};
use tarn::Snapshot;
use tarn::protocol::schema::{DataType, StructType};

use crate::output::{format_millis, human_bytes};

/// Where a table's files live: one entry per place and kind, hot first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoragePlace {
    /// `hot`, an archive location's URI, or `elsewhere`.
    pub(crate) location: String,
    /// `hot`, `tiered` (active files in an archive location), `detached` (the archive
    /// manifest's files there), or `elsewhere`.
    pub(crate) kind: &'static str,
    pub(crate) num_files: u64,
    pub(crate) size_bytes: u64,
}

/// Files and bytes per place: active files by where they live, and the archive manifest's
/// detached files by their archive location.
pub(crate) fn storage_places(snapshot: &Snapshot) -> Vec<StoragePlace> {
    use tarn_maintenance::archive::{FilePlacements, Placement};
    let placements = FilePlacements::of(snapshot);
    let mut places: std::collections::BTreeMap<(u8, String, &'static str), (u64, u64)> =
        Default::default();
    for file in snapshot.files().iter() {
        let place = placements.place(file.path());
        let (order, kind) = match &place {
            Placement::Hot { .. } => (0, "hot"),
            Placement::Archive { .. } => (1, "tiered"),
            Placement::Elsewhere => (3, "elsewhere"),
        };
        let entry = places
            .entry((order, place.label().to_owned(), kind))
            .or_default();
        entry.0 += 1;
        entry.1 = entry
            .1
            .saturating_add(u64::try_from(file.size()).unwrap_or(0));
    }
    let manifest = tarn::protocol::archive_domain::ArchiveConfiguration::of_domains(
        snapshot.domain_metadata(),
    )
    .ok()
    .flatten()
    .and_then(|config| config.detached_files().ok())
    .unwrap_or_default();
    for record in manifest {
        let place = placements.place(&record.archive_path);
        let entry = places
            .entry((2, place.label().to_owned(), "detached"))
            .or_default();
        entry.0 += 1;
        entry.1 = entry
            .1
            .saturating_add(u64::try_from(record.add.size).unwrap_or(0));
    }
    places
        .into_iter()
        .map(
            |((_, location, kind), (num_files, size_bytes))| StoragePlace {
                location,
                kind,
                num_files,
                size_bytes,
            },
        )
        .collect()
}

/// The `describe --json` document. The keys are a contract with scripts: add, never rename.
pub(crate) fn describe_json(snapshot: &Snapshot, timestamp: i64) -> Value {
    let protocol = snapshot.protocol();
    let metadata = snapshot.metadata();
    let files = snapshot.files();
    let schema: Value = serde_json::from_str(&metadata.schema_string).unwrap_or(Value::Null);
    json!({
        "location": snapshot.location().to_string(),
        "version": snapshot.version(),
        "timestamp": timestamp,
        "id": metadata.id,
        "name": metadata.name,
        "description": metadata.description,
        "min_reader_version": protocol.min_reader_version,
        "min_writer_version": protocol.min_writer_version,
        "reader_features": protocol.reader_features,
        "writer_features": protocol.writer_features,
        "partition_columns": metadata.partition_columns,
        "column_mapping_mode": snapshot.column_mapping_mode().as_str(),
        "num_files": files.len(),
        "num_rows": files.num_records(),
        "size_bytes": files.total_size(),
        "created_time": metadata.created_time,
        "schema": schema,
        "properties": metadata.configuration,
        "storage": storage_places(snapshot)
            .into_iter()
            .map(|place| json!({
                "location": place.location,
                "kind": place.kind,
                "num_files": place.num_files,
                "size_bytes": place.size_bytes,
            }))
            .collect::<Vec<_>>(),
    })
}

fn feature_list(features: Option<&Vec<tarn::protocol::features::TableFeature>>) -> String {
    match features {
        None => String::new(),
        Some(list) if list.is_empty() => " []".to_owned(),
        Some(list) => format!(
            " [{}]",
            list.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// A compact type label: `integer`, `array<string>`, `map<string,long>`, `struct<a:int>`.
pub(crate) fn type_label(data_type: &DataType) -> String {
    match data_type {
        DataType::Primitive(p) => p.to_string(),
        DataType::Variant => "variant".to_owned(),
        DataType::Array(a) => format!("array<{}>", type_label(&a.element_type)),
        DataType::Map(m) => format!(
            "map<{},{}>",
            type_label(&m.key_type),
            type_label(&m.value_type)
        ),
        DataType::Struct(s) => format!(
            "struct<{}>",
            s.fields
                .iter()
                .map(|f| format!("{}:{}", f.name, type_label(&f.data_type)))
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

fn schema_lines(schema: &StructType, indent: usize, out: &mut Vec<(String, String, bool)>) {
    for field in &schema.fields {
        let name = format!("{}{}", "  ".repeat(indent), field.name);
        match &field.data_type {
            DataType::Struct(inner) => {
                out.push((name, "struct".to_owned(), field.nullable));
                schema_lines(inner, indent + 1, out);
            }
            other => out.push((name, type_label(other), field.nullable)),
        }
    }
}

/// The human-readable description.
pub(crate) fn describe_text(snapshot: &Snapshot, timestamp: i64) -> String {
    let protocol = snapshot.protocol();
    let metadata = snapshot.metadata();
    let files = snapshot.files();
    let mut lines: Vec<(String, String)> = vec![
        ("Table".into(), snapshot.location().to_string()),
        (
            "Version".into(),
            format!(
                "{} (committed {})",
                snapshot.version(),
                format_millis(timestamp)
            ),
        ),
        ("Id".into(), metadata.id.clone()),
    ];
    if let Some(name) = &metadata.name {
        lines.push(("Name".into(), name.clone()));
    }
    if let Some(description) = &metadata.description {
        lines.push(("Description".into(), description.clone()));
    }
    lines.push((
        "Protocol".into(),
        format!(
            "reader {}{}, writer {}{}",
            protocol.min_reader_version,
            feature_list(protocol.reader_features.as_ref()),
            protocol.min_writer_version,
            feature_list(protocol.writer_features.as_ref())
        ),
    ));
    let partitions = if metadata.partition_columns.is_empty() {
        "none".to_owned()
    } else {
        metadata.partition_columns.join(", ")
    };
    lines.push(("Partitioned by".into(), partitions));
    lines.push((
        "Files".into(),
        format!("{} ({})", files.len(), human_bytes(files.total_size())),
    ));
    let places = storage_places(snapshot);
    if places.iter().any(|place| place.kind != "hot") {
        for (index, place) in places.iter().enumerate() {
            let what = match place.kind {
                "hot" => String::new(),
                "detached" => " detached (archive manifest; not in the live table)".to_owned(),
                other => format!(" {other}"),
            };
            lines.push((
                if index == 0 {
                    "Storage".into()
                } else {
                    String::new()
                },
                format!(
                    "{}: {} ({}){what}",
                    place.location,
                    super::commit::count(place.num_files, "file", "files"),
                    human_bytes(place.size_bytes)
                ),
            ));
        }
    }
    lines.push((
        "Rows".into(),
        files.num_records().map_or_else(
            || "unknown (some files have no statistics)".to_owned(),
            |n| n.to_string(),
        ),
    ));
    let mut props = metadata.configuration.iter();
    match props.next() {
        None => lines.push(("Properties".into(), "none".into())),
        Some((k, v)) => {
            lines.push(("Properties".into(), format!("{k}={v}")));
            for (k, v) in props {
                lines.push((String::new(), format!("{k}={v}")));
            }
        }
    }
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (key, value) in lines {
        out.push_str(&format!("{key:width$}  {value}\n"));
    }
    out.push_str("Schema\n");
    let mut schema_rows = Vec::new();
    schema_lines(snapshot.schema(), 1, &mut schema_rows);
    let name_width = schema_rows
        .iter()
        .map(|(n, _, _)| n.chars().count())
        .max()
        .unwrap_or(0);
    let type_width = schema_rows
        .iter()
        .map(|(_, t, _)| t.chars().count())
        .max()
        .unwrap_or(0);
    for (name, ty, nullable) in schema_rows {
        let null = if nullable { "" } else { "not null" };
        let line = format!("  {name:name_width$}  {ty:type_width$}  {null}");
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
