//! Delete, update and restore: each one commit, read back through a new handle.

use tarn::Expr;

use super::TestStore;
use super::data::{assert_healthy, read, rows, rows_with};
use super::write_read::create_with_two_appends;

/// Deletes ids below 5 (version 3), adds 100 to the values of partition `a` (version 4), then
/// restores version 2 (version 5): each reads as expected through a new handle, and the
/// earlier versions still read as they were.
pub async fn delete_update_restore(store: &TestStore) {
    let name = store.name;
    let uri = create_with_two_appends(store, "delete-update-restore").await;
    let table = store.open(&uri).await;

    let deleted = table
        .delete()
        .with_predicate(Expr::parse("id < 5").unwrap())
        .execute()
        .await
        .unwrap();
    assert_eq!(
        (deleted.version, deleted.rows_deleted),
        (Some(3), 5),
        "{name}"
    );
    let reopened = store.open(&uri).await;
    assert_eq!(read(&reopened, None).await, rows(5..20), "{name}");

    let updated = table
        .update()
        .with_predicate(Expr::parse("part = 'a'").unwrap())
        .set_sql("value = value + 100")
        .unwrap()
        .execute()
        .await
        .unwrap();
    assert_eq!(
        (updated.version, updated.rows_updated),
        (Some(4), 7),
        "{name}"
    );
    let after_update = rows_with(
        5..20,
        |id| if id % 2 == 0 { id * 10 + 100 } else { id * 10 },
    );
    let reopened = store.open(&uri).await;
    assert_eq!(read(&reopened, None).await, after_update, "{name}");
    assert_healthy(name, &reopened).await;

    let restored = table.restore(2).execute().await.unwrap();
    assert_eq!(restored.version, Some(5), "{name}");
    let reopened = store.open(&uri).await;
    assert_eq!(read(&reopened, None).await, rows(0..20), "{name}");
    assert_eq!(read(&reopened, Some(3)).await, rows(5..20), "{name}");
    assert_eq!(read(&reopened, Some(4)).await, after_update, "{name}");
    assert_healthy(name, &reopened).await;
}
