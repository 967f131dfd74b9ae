//! The filesystem blob store beyond the kit: keys cannot escape the root, listings
//! follow key order, clashing keys are refused cleanly, writes are atomic.

use bytes::Bytes;
use kcl_core::ports::{BlobKey, BlobStore, BlobStoreError};
use kcl_local::FsBlobStore;

fn key(s: &str) -> BlobKey {
    BlobKey::parse(s).expect("key")
}

async fn store() -> (tempfile::TempDir, FsBlobStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FsBlobStore::open(dir.path().join("blobs"))
        .await
        .expect("open");
    (dir, store)
}

async fn put(store: &FsBlobStore, k: &str, data: &'static [u8]) {
    store
        .put(&key(k), Bytes::from_static(data), "text/plain")
        .await
        .expect("put");
}

async fn listed(store: &FsBlobStore, prefix: &str, limit: usize) -> Vec<String> {
    let metas = store.list(prefix, limit).await.expect("list");
    metas.into_iter().map(|m| m.key.to_string()).collect()
}

#[test]
fn escaping_keys_do_not_parse() {
    for bad in [
        "../x",
        "a/../../x",
        "/etc/passwd",
        "a/./b",
        "a//b",
        "a\\..\\b",
        "a\0b",
        "..",
        ".",
    ] {
        assert!(BlobKey::parse(bad).is_err(), "{bad:?}");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn symbolic_links_out_of_the_root_are_refused() {
    let (dir, store) = store().await;
    let outside = dir.path().join("outside");
    std::fs::create_dir(&outside).expect("mkdir");
    std::fs::write(outside.join("secret"), b"secret").expect("write");
    let objects = store.root().join("objects");
    std::os::unix::fs::symlink(&outside, objects.join("evil")).expect("symlink");
    std::os::unix::fs::symlink(outside.join("secret"), objects.join("link")).expect("symlink");

    let written = store
        .put(&key("evil/planted"), Bytes::from_static(b"x"), "text/plain")
        .await;
    assert!(
        matches!(written, Err(BlobStoreError::InvalidInput(_))),
        "{written:?}"
    );
    assert!(
        !outside.join("planted").exists(),
        "nothing written outside the root"
    );
    for k in ["evil/secret", "link"] {
        let read = store.get(&key(k)).await;
        assert!(
            matches!(read, Err(BlobStoreError::InvalidInput(_))),
            "{k}: {read:?}"
        );
        assert!(matches!(
            store.head(&key(k)).await,
            Err(BlobStoreError::InvalidInput(_))
        ));
        assert!(matches!(
            store.delete(&key(k)).await,
            Err(BlobStoreError::InvalidInput(_))
        ));
    }
    assert!(
        outside.join("secret").exists(),
        "nothing deleted outside the root"
    );
    put(&store, "plain", b"p").await;
    assert_eq!(
        listed(&store, "", 100).await,
        ["plain"],
        "listings skip links"
    );
}

#[tokio::test]
async fn listings_follow_key_order_across_folders() {
    let (_dir, store) = store().await;
    // Byte order: '-' < '.' < '/' < '0', so the folder `p/a/` sorts between files.
    for k in [
        "p/a0",
        "p/a/x",
        "p/a.b",
        "p/a-",
        "p/a/y/z",
        "q",
        "objects/meta",
        "tmp/x",
    ] {
        put(&store, k, b"1").await;
    }
    assert_eq!(
        listed(&store, "p/", 100).await,
        ["p/a-", "p/a.b", "p/a/x", "p/a/y/z", "p/a0"]
    );
    assert_eq!(listed(&store, "p/a/", 100).await, ["p/a/x", "p/a/y/z"]);
    assert_eq!(listed(&store, "p/a.", 100).await, ["p/a.b"]);
    assert_eq!(listed(&store, "p/a/y", 100).await, ["p/a/y/z"]);
    assert_eq!(listed(&store, "p/", 2).await, ["p/a-", "p/a.b"]);
    assert_eq!(
        listed(&store, "", 100).await.len(),
        8,
        "keys like the store's own folders are plain keys"
    );
    assert!(listed(&store, "p/", 0).await.is_empty());
    assert!(listed(&store, "nothing", 10).await.is_empty());
    assert!(listed(&store, "../", 10).await.is_empty());
}

#[tokio::test]
async fn a_key_cannot_be_both_a_blob_and_a_folder() {
    let (_dir, store) = store().await;
    put(&store, "c/d", b"1").await;
    let clash = store
        .put(&key("c"), Bytes::from_static(b"2"), "text/plain")
        .await;
    assert!(
        matches!(clash, Err(BlobStoreError::InvalidInput(_))),
        "{clash:?}"
    );
    assert!(matches!(
        store.get(&key("c")).await,
        Err(BlobStoreError::NotFound(_))
    ));
    store
        .delete(&key("c"))
        .await
        .expect("deleting a folder name deletes nothing");
    assert_eq!(listed(&store, "", 10).await, ["c/d"]);
    store.delete(&key("c/d")).await.expect("delete");
    put(&store, "c", b"2").await; // the emptied folder is gone
    let clash = store
        .put(&key("c/e"), Bytes::from_static(b"3"), "text/plain")
        .await;
    assert!(
        matches!(clash, Err(BlobStoreError::InvalidInput(_))),
        "{clash:?}"
    );
    assert!(matches!(
        store.get(&key("c/e")).await,
        Err(BlobStoreError::NotFound(_))
    ));
    let tmp = std::fs::read_dir(store.root().join("tmp"))
        .expect("tmp")
        .count();
    assert_eq!(tmp, 0, "failed writes leave no temporary file");
}

#[tokio::test]
async fn bad_content_types_are_refused() {
    let (_dir, store) = store().await;
    for ct in ["", "text/plain\n", &"x".repeat(256)] {
        let r = store.put(&key("a"), Bytes::from_static(b"1"), ct).await;
        assert!(matches!(r, Err(BlobStoreError::InvalidInput(_))), "{ct:?}");
    }
}

#[tokio::test]
async fn blobs_survive_a_new_instance_and_a_lost_sidecar() {
    let (_dir, store) = store().await;
    store
        .put(&key("u/a.png"), Bytes::from_static(b"png"), "image/png")
        .await
        .expect("put");
    let again = FsBlobStore::new(store.root().to_path_buf());
    let blob = again.get(&key("u/a.png")).await.expect("get");
    assert_eq!(
        (&blob.data[..], blob.meta.content_type.as_str()),
        (&b"png"[..], "image/png")
    );
    std::fs::remove_file(store.root().join("meta/u/a.png")).expect("remove sidecar");
    let head = again.head(&key("u/a.png")).await.expect("head");
    assert_eq!(head.content_type, "application/octet-stream");
    assert_eq!(head.size, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_never_see_half_a_write() {
    let (_dir, store) = store().await;
    let k = key("hot");
    let a = Bytes::from(vec![b'a'; 512 * 1024]);
    let b = Bytes::from(vec![b'b'; 256 * 1024]);
    store.put(&k, a.clone(), "text/plain").await.expect("put");
    let writer = {
        let (store, k) = (store.clone(), k.clone());
        tokio::spawn(async move {
            for i in 0..20 {
                let data = if i % 2 == 0 { b.clone() } else { a.clone() };
                store.put(&k, data, "text/plain").await.expect("put");
            }
        })
    };
    while !writer.is_finished() {
        let blob = store.get(&k).await.expect("get");
        let first = blob.data[0];
        assert!(blob.data.iter().all(|c| *c == first), "a mixed read");
        assert_eq!(
            blob.data.len(),
            if first == b'a' {
                512 * 1024
            } else {
                256 * 1024
            }
        );
    }
    writer.await.expect("writer");
}

#[tokio::test]
async fn over_long_segments_are_bad_input() {
    let (_dir, store) = store().await;
    let long = key(&format!("a/{}", "n".repeat(300)));
    let r = store
        .put(&long, Bytes::from_static(b"1"), "text/plain")
        .await;
    assert!(matches!(r, Err(BlobStoreError::InvalidInput(_))), "{r:?}");
    put(&store, &format!("a/{}", "n".repeat(255)), b"1").await;
}

#[tokio::test]
async fn a_broken_store_folder_is_unavailable_not_a_bad_key() {
    use kcl_core::ports::HealthProbe;
    let (dir, store) = store().await;
    put(&store, "covers/a.jpg", b"a").await;
    let store = std::sync::Arc::new(store);
    let probe = kcl_core::services::BlobStoreProbe(store.clone());
    assert_eq!(probe.check().await, Ok(()));
    // The objects folder replaced by a file (a bad restore, a mistaken command).
    let objects = dir.path().join("blobs").join("objects");
    std::fs::remove_dir_all(&objects).unwrap();
    std::fs::write(&objects, "not a folder").unwrap();
    let e = probe.check().await.unwrap_err();
    assert!(e.contains("not a folder"), "{e}");
    let put = store
        .put(&key("covers/b.jpg"), Bytes::from_static(b"b"), "image/jpeg")
        .await
        .unwrap_err();
    assert!(
        matches!(put, BlobStoreError::Unavailable(_)),
        "a server fault, not a client's bad key: {put:?}"
    );
}
