//! Lifecycle archiving on every writable store: tiering partition `a` to an archive location
//! on the same store (another prefix) keeps every version's rows, names the copies there by
//! absolute URI and leaves the hot copies to vacuum; detaching partition `b` takes exactly its
//! rows out of the live table, a delete meanwhile is applied when `restore-archive` brings
//! them back, and the table is healthy after each step.

use tarn::Expr;
use tarn_maintenance::archive::{Archive, ArchiveMode, RestoreArchive};
use tarn_maintenance::vacuum::Vacuum;

use super::TestStore;
use super::data::{assert_healthy, read, rows};
use super::write_read::create_with_two_appends;

fn part(value: &str) -> Expr {
    Expr::parse(&format!("part = '{value}'")).unwrap()
}

/// Tier: same rows in every version, copies in the archive location, hot copies vacuumed.
pub async fn archive_tier(store: &TestStore) {
    let name = store.name;
    let uri = create_with_two_appends(store, "archive-tier").await;
    let cold = store.table_uri("archive-tier-cold");
    let table = store.open(&uri).await;
    let before = table.snapshot().await.unwrap().version();
    let metrics = Archive::new(table.clone(), cold.clone())
        .with_filter(part("a"))
        .execute()
        .await
        .unwrap_or_else(|e| panic!("{name}: tier: {e}"));
    assert_eq!(metrics.files_archived, 2, "{name}: {metrics:?}");

    let reopened = store.open(&uri).await;
    let snapshot = reopened.snapshot().await.unwrap();
    let tiered: Vec<String> = snapshot
        .files()
        .iter()
        .map(|f| f.path().to_owned())
        .filter(|p| p.contains("://"))
        .collect();
    assert_eq!(tiered.len(), 2, "{name}: {tiered:?}");
    // A local location is named by its file:// URI in the log.
    let cold_uri = if cold.contains("://") {
        cold.clone()
    } else {
        format!("file://{cold}")
    };
    assert!(
        tiered
            .iter()
            .all(|p| p.starts_with(&format!("{cold_uri}/"))),
        "{name}: {tiered:?} not under {cold_uri}"
    );
    for version in [None, Some(before)] {
        assert_eq!(
            read(&reopened, version).await,
            rows(0..20),
            "{name} {version:?}"
        );
    }
    assert_healthy(name, &reopened).await;
    // Vacuum removes the hot copies once out of retention; the archive copies stay.
    let vacuumed = Vacuum::new(reopened.clone())
        .with_retention_ms(0)
        .with_force(true)
        .execute()
        .await
        .unwrap();
    assert_eq!(vacuumed.files_deleted, 2, "{name}: {vacuumed:?}");
    let reopened = store.open(&uri).await;
    assert_eq!(read(&reopened, None).await, rows(0..20), "{name}");
    assert_healthy(name, &reopened).await;
}

/// Detach and restore: the live table lacks exactly partition `b`'s rows, a delete in
/// between is applied on restore, and every other row is untouched.
pub async fn archive_detach_restore(store: &TestStore) {
    let name = store.name;
    let uri = create_with_two_appends(store, "archive-detach").await;
    let cold = store.table_uri("archive-detach-cold");
    let table = store.open(&uri).await;
    let all = read(&table, None).await;
    let in_b: Vec<Vec<String>> = all.iter().filter(|r| r[1] == "b").cloned().collect();
    assert!(!in_b.is_empty(), "{name}");
    let metrics = Archive::new(table.clone(), cold)
        .with_filter(part("b"))
        .with_mode(ArchiveMode::Detach)
        .execute()
        .await
        .unwrap_or_else(|e| panic!("{name}: detach: {e}"));
    assert_eq!(metrics.files_archived, 2, "{name}: {metrics:?}");
    let reopened = store.open(&uri).await;
    let live = read(&reopened, None).await;
    let expected: Vec<Vec<String>> = all.iter().filter(|r| r[1] != "b").cloned().collect();
    assert_eq!(live, expected, "{name}");
    assert_healthy(name, &reopened).await;

    // A delete reaches the live rows now, and the detached ones when they come back.
    reopened
        .delete()
        .with_predicate(Expr::parse("id % 5 = 0").unwrap())
        .execute()
        .await
        .unwrap();
    let restored = RestoreArchive::new(reopened.clone(), part("b"))
        .execute()
        .await
        .unwrap_or_else(|e| panic!("{name}: restore: {e}"));
    assert_eq!(restored.detached_restored, 2, "{name}: {restored:?}");
    let back = store.open(&uri).await;
    let expected: Vec<Vec<String>> = all
        .iter()
        .filter(|r| r[0].parse::<i64>().unwrap() % 5 != 0)
        .cloned()
        .collect();
    assert_eq!(read(&back, None).await, expected, "{name}");
    assert_healthy(name, &back).await;
}
