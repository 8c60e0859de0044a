//! The resolver's rules, without I/O: every store here is built but never asked anything.

use std::collections::BTreeMap;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::memory::InMemory;
use tarn_protocol::ProtocolError;
use tarn_protocol::archive_domain::ArchiveConfiguration;
use tarn_protocol::data_path::DataFilePath;

use super::*;
use crate::error::LogError;
use crate::location::TableLocation;

fn path(text: &str) -> DataFilePath {
    DataFilePath::parse(text).unwrap()
}

fn local_table() -> PathResolver {
    PathResolver::for_location(Arc::new(TableLocation::parse("/tmp/tarn-rules/t").unwrap()))
}

#[track_caller]
fn assert_outside(resolver: &PathResolver, text: &str) {
    match resolver.resolve(&path(text)) {
        Err(LogError::PathOutsideTable { path, table }) => {
            assert_eq!(path, text);
            assert_eq!(table, resolver.location().to_string());
        }
        other => panic!("{text}: expected PathOutsideTable, got {other:?}"),
    }
}

#[track_caller]
fn assert_unregistered(resolver: &PathResolver, text: &str, expected_store: &str) {
    match resolver.resolve(&path(text)) {
        Err(LogError::UnregisteredStore { path, store, .. }) => {
            assert_eq!(path, text);
            assert_eq!(store, expected_store);
        }
        other => panic!("{text}: expected UnregisteredStore, got {other:?}"),
    }
}

/// Whether `a` and `b` reach the same objects: the same store, or (for in-memory stores a
/// caller registered, which tarn wraps) an object put through `b` is seen through `a`.
fn same_store(a: &Arc<dyn ObjectStore>, b: &Arc<dyn ObjectStore>) -> bool {
    if Arc::ptr_eq(a, b) {
        return true;
    }
    if a.to_string() != "InMemory" || b.to_string() != "InMemory" {
        return false;
    }
    use object_store::ObjectStoreExt;
    let marker =
        object_store::path::Path::from(format!("same-store-probe-{}", uuid::Uuid::new_v4()));
    futures::executor::block_on(async {
        b.put(&marker, "x".into()).await.unwrap();
        let seen = a.head(&marker).await.is_ok();
        b.delete(&marker).await.unwrap();
        seen
    })
}

#[test]
fn relative_paths_stay_under_the_root() {
    let resolver = local_table();
    let resolved = resolver.resolve(&path("day=a/part%20one.parquet")).unwrap();
    assert_eq!(
        resolved.path().as_ref(),
        "tmp/tarn-rules/t/day=a/part one.parquet"
    );
    assert_eq!(
        resolved.display(),
        "/tmp/tarn-rules/t/day=a/part one.parquet"
    );
    assert!(resolved.is_in_table());
    assert!(same_store(resolved.store(), resolver.location().store()));
    // `.` segments are no step at all (as Hadoop normalises them).
    let resolved = resolver.resolve(&path("./x.parquet")).unwrap();
    assert_eq!(resolved.path().as_ref(), "tmp/tarn-rules/t/x.parquet");
    // A relative path built in code (a deletion vector's prefix) is checked too.
    for climbing in ["../x.parquet", "a/../../x", "..", "./"] {
        let err = resolver
            .resolve(&DataFilePath::Relative(climbing.to_owned()))
            .unwrap_err();
        assert!(
            matches!(err, LogError::PathOutsideTable { .. }),
            "{climbing}: {err}"
        );
    }
}

#[test]
fn absolute_paths_on_the_table_store_must_be_inside_its_root() {
    let resolver = local_table();
    for inside in [
        "file:///tmp/tarn-rules/t/x.parquet",
        "file:/tmp/tarn-rules/t/x.parquet",
        "file://localhost/tmp/tarn-rules/t/x.parquet",
        "/tmp/tarn-rules/t/x.parquet",
        "/tmp/tarn-rules/t/sub/../x.parquet",
        "file:///tmp/tarn-rules/t/./x.parquet",
        "file:///tmp/tarn-rules/%74/x.parquet",
    ] {
        let resolved = resolver.resolve(&path(inside)).unwrap();
        assert_eq!(
            resolved.path().as_ref(),
            "tmp/tarn-rules/t/x.parquet",
            "{inside}"
        );
        assert!(resolved.is_in_table(), "{inside}");
    }
    for outside in [
        "file:///etc/passwd",
        "/etc/passwd",
        // A sibling whose name starts like the table's: prefixes match whole segments.
        "/tmp/tarn-rules/t2/x.parquet",
        "file:///tmp/tarn-rules/tx.parquet",
        "/tmp/tarn-rules/t/../t2/x.parquet",
        "file:///tmp/tarn-rules/t/%2E%2E/t2/x.parquet",
        "file:///tmp/tarn-rules/t/a%2F..%2F..%2Fetc/passwd",
        // The root itself is no file in it.
        "file:///tmp/tarn-rules/t",
        "/tmp/tarn-rules/t/",
    ] {
        assert_outside(&resolver, outside);
    }
    // Another host is another store.
    assert_unregistered(
        &resolver,
        "file://server/tmp/tarn-rules/t/x",
        "file://server",
    );
}

#[test]
fn cloud_paths_match_bucket_and_prefix() {
    let options = BTreeMap::from([
        ("aws_access_key_id".to_owned(), "test".to_owned()),
        ("aws_secret_access_key".to_owned(), "test".to_owned()),
        ("aws_region".to_owned(), "us-east-1".to_owned()),
        ("aws_endpoint".to_owned(), "http://127.0.0.1:1".to_owned()),
        ("allow_http".to_owned(), "true".to_owned()),
    ]);
    let mut stores = StoreRegistry::new();
    stores.register("s3://archive/events/", &options).unwrap();
    let table = TableLocation::parse_with_options("s3://bucket/tables/events", &options)
        .unwrap()
        .with_stores(stores);
    let resolver = PathResolver::for_location(Arc::new(table));
    let resolved = resolver
        .resolve(&path("s3://bucket/tables/events/day=1/x.parquet"))
        .unwrap();
    assert_eq!(resolved.path().as_ref(), "tables/events/day=1/x.parquet");
    assert!(resolved.is_in_table());
    let resolved = resolver.resolve(&path("/tables/events/x.parquet")).unwrap();
    assert!(resolved.is_in_table());
    for archived in [
        "s3://archive/events/day=1/x.parquet",
        "s3a://archive/events/day=1/x.parquet",
        "s3://archive/events/day=1/../day=1/x.parquet",
    ] {
        let resolved = resolver.resolve(&path(archived)).unwrap();
        assert_eq!(
            resolved.path().as_ref(),
            "events/day=1/x.parquet",
            "{archived}"
        );
        assert_eq!(resolved.display(), "s3://archive/events/day=1/x.parquet");
        assert!(!resolved.is_in_table());
        assert!(!same_store(resolved.store(), resolver.location().store()));
    }
    for outside in [
        "s3://bucket/tables/other/x.parquet",
        "s3://bucket/tables/events2/x.parquet",
        "s3://archive/events2/x.parquet",
        "s3://archive/x.parquet",
        "s3://archive/events/%2E%2E/secrets/x.parquet",
        "/other/x.parquet",
    ] {
        assert_outside(&resolver, outside);
    }
    assert_unregistered(
        &resolver,
        "s3://elsewhere/events/x.parquet",
        "s3://elsewhere",
    );
    assert_unregistered(&resolver, "gs://archive/events/x.parquet", "gs://archive");
    assert_unregistered(&resolver, "file:///etc/passwd", "file://");
}

#[test]
fn the_longest_registered_prefix_serves() {
    let wide: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let narrow: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let mut stores = StoreRegistry::new();
    stores
        .register_store("memory://rules-arch/a", Arc::clone(&wide))
        .unwrap();
    stores
        .register_store("memory://rules-arch/a/b/", Arc::clone(&narrow))
        .unwrap();
    assert_eq!(
        stores.prefixes(),
        ["memory://rules-arch/a", "memory://rules-arch/a/b"]
    );
    let table = TableLocation::parse("memory://rules-table/t")
        .unwrap()
        .with_stores(stores);
    let resolver = PathResolver::for_location(Arc::new(table));
    let resolved = resolver
        .resolve(&path("memory://rules-arch/a/b/x"))
        .unwrap();
    assert!(same_store(resolved.store(), &narrow));
    assert_eq!(resolved.path().as_ref(), "a/b/x");
    let resolved = resolver
        .resolve(&path("memory://rules-arch/a/bb/x"))
        .unwrap();
    assert!(same_store(resolved.store(), &wide));
    assert_outside(&resolver, "memory://rules-arch/ab/x");
    assert_unregistered(
        &resolver,
        "memory://rules-other/a/x",
        "memory://rules-other",
    );
    // Sidecars do not count registered locations.
    let err = resolver
        .resolve_in_table(&path("memory://rules-arch/a/x"))
        .unwrap_err();
    assert!(matches!(err, LogError::PathOutsideTable { .. }), "{err}");
    assert!(
        resolver
            .resolve_in_table(&path(
                "memory://rules-table/t/_delta_log/_sidecars/s.parquet"
            ))
            .unwrap()
            .is_in_table()
    );
}

fn declared(locations: &[&str]) -> Result<Option<ArchiveConfiguration>, ProtocolError> {
    Ok(Some(ArchiveConfiguration {
        locations: locations.iter().map(|l| (*l).to_owned()).collect(),
        ..ArchiveConfiguration::default()
    }))
}

#[test]
fn declared_locations_count_unless_refused() {
    let location = Arc::new(TableLocation::parse("memory://rules-declaring/t").unwrap());
    let resolver = PathResolver::with_archive_configuration(
        Arc::clone(&location),
        3,
        declared(&["memory://rules-declared/arch/"]),
    );
    let resolved = resolver
        .resolve(&path("memory://rules-declared/arch/x.parquet"))
        .unwrap();
    assert!(!resolved.is_in_table());
    assert_eq!(resolved.path().as_ref(), "arch/x.parquet");
    // Built as `memory://rules-declared` would be opened: the process's store of that name.
    let expected = TableLocation::parse("memory://rules-declared/other").unwrap();
    assert!(same_store(resolved.store(), expected.store()));
    assert_outside(&resolver, "memory://rules-declared/arch2/x.parquet");

    // A caller's registration of the same place wins over the table's declaration.
    let own: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let mut stores = StoreRegistry::new();
    stores
        .register_store("memory://rules-declared/arch", Arc::clone(&own))
        .unwrap();
    let registered = Arc::new((*location).clone().with_stores(stores));
    let resolver = PathResolver::with_archive_configuration(
        registered,
        3,
        declared(&["memory://rules-declared/arch/"]),
    );
    let resolved = resolver
        .resolve(&path("memory://rules-declared/arch/x.parquet"))
        .unwrap();
    assert!(same_store(resolved.store(), &own));

    let untrusted = Arc::new(
        (*location)
            .clone()
            .with_declared_locations(DeclaredLocations::Refuse),
    );
    let resolver = PathResolver::with_archive_configuration(
        untrusted,
        3,
        declared(&["memory://rules-declared/arch/"]),
    );
    assert_unregistered(
        &resolver,
        "memory://rules-declared/arch/x.parquet",
        "memory://rules-declared",
    );
}

#[test]
fn a_broken_declaration_fails_only_the_paths_that_need_it() {
    let location = Arc::new(TableLocation::parse("memory://rules-broken/t").unwrap());
    let broken = ArchiveConfiguration::parse(r#"{"locations": "not a list"}"#).map(Some);
    let resolver = PathResolver::with_archive_configuration(Arc::clone(&location), 7, broken);
    assert!(resolver.resolve(&path("x.parquet")).is_ok());
    assert!(
        resolver
            .resolve(&path("memory://rules-broken/t/x.parquet"))
            .is_ok()
    );
    match resolver.resolve(&path("memory://rules-archive/x.parquet")) {
        Err(LogError::InvalidMetadata {
            version, source, ..
        }) => {
            assert_eq!(version, 7);
            assert!(
                matches!(*source, ProtocolError::InvalidDomainMetadata { .. }),
                "{source}"
            );
        }
        other => panic!("expected InvalidMetadata, got {other:?}"),
    }
    let refusing = Arc::new(
        (*location)
            .clone()
            .with_declared_locations(DeclaredLocations::Refuse),
    );
    let broken = ArchiveConfiguration::parse(r#"{"locations": "not a list"}"#).map(Some);
    let resolver = PathResolver::with_archive_configuration(refusing, 7, broken);
    assert_unregistered(
        &resolver,
        "memory://rules-archive/x.parquet",
        "memory://rules-archive",
    );
}

#[test]
fn declared_stores_take_the_table_options() {
    // A local table has no options; an S3 location it declares is built from the environment
    // and nothing else, and an option the table has but that store lacks is named.
    let options = BTreeMap::from([("aws_region".to_owned(), "us-east-1".to_owned())]);
    let location =
        Arc::new(TableLocation::parse_with_options("s3://rules-bucket/t", &options).unwrap());
    let resolver =
        PathResolver::with_archive_configuration(location, 1, declared(&["gs://rules-cold/t/"]));
    match resolver.resolve(&path("gs://rules-cold/t/x.parquet")) {
        Err(LogError::UnknownOption { uri, key }) => {
            assert_eq!(key, "aws_region");
            assert_eq!(uri, "gs://rules-cold/t");
        }
        other => panic!("expected UnknownOption, got {other:?}"),
    }
}

#[test]
fn errors_never_show_credentials() {
    let resolver = local_table();
    let err = resolver
        .resolve(&path("s3://AKIA:SECRET@bucket/x.parquet"))
        .unwrap_err()
        .to_string();
    assert!(!err.contains("SECRET"), "{err}");
    assert!(err.contains("register the location"), "{err}");
}
