//! The quickstart's scenario end to end: the same code `cargo run --example quickstart`
//! runs, against the embedded simulator, with its outcome checked.
#[allow(dead_code)]
#[path = "../quickstart.rs"]
mod quickstart;

use shopify_sync::status::SyncState;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quickstart_applies_everything_but_the_conflict() {
    let demo = quickstart::demo(quickstart::Args::default())
        .await
        .expect("the demo runs");
    assert_eq!(demo.conflicts, 1);
    assert_eq!(demo.approved, demo.planned - 1);
    let r = &demo.report;
    assert_eq!((r.stale, r.failed), (0, 0), "{r:?}");
    assert_eq!(r.applied as usize, demo.approved);
    assert_eq!(r.created.len(), 20);
    assert_eq!(demo.throttled, 0);
    // 1,000 adopted products and 20 new ones: all in sync but the contested one.
    assert_eq!(demo.statuses.get(&SyncState::Conflict), Some(&1));
    assert_eq!(
        demo.statuses.get(&SyncState::Synced),
        Some(&1019),
        "{:?}",
        demo.statuses
    );
}
