//! The [`BlobStore`] contract.

use bytes::Bytes;

use super::fixtures::tag;
use crate::ports::{BlobKey, BlobStore, BlobStoreError};

fn key(s: &str) -> BlobKey {
    BlobKey::parse(s).expect("kit key")
}

/// Runs every blob-store case.
pub async fn run(store: &dyn BlobStore) {
    let root = format!("kit-{}", tag());
    let a = key(&format!("{root}/uploads/a.jpg"));
    let meta = store
        .put(&a, Bytes::from_static(b"\xff\xd8jpeg"), "image/jpeg")
        .await
        .expect("put");
    assert_eq!((meta.size, meta.content_type.as_str()), (6, "image/jpeg"));
    let blob = store.get(&a).await.expect("get");
    assert_eq!(&blob.data[..], b"\xff\xd8jpeg", "bytes round-trip");
    assert_eq!(blob.meta.content_type, "image/jpeg", "content type is kept");
    let head = store.head(&a).await.expect("head");
    assert_eq!(head.size, 6);
    store
        .put(&a, Bytes::from_static(b"new"), "text/plain")
        .await
        .expect("replace");
    let blob = store.get(&a).await.expect("get");
    assert_eq!(
        (&blob.data[..], blob.meta.content_type.as_str()),
        (&b"new"[..], "text/plain")
    );

    let big = key(&format!("{root}/big.bin"));
    let data: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    store
        .put(&big, Bytes::from(data.clone()), "application/octet-stream")
        .await
        .expect("put big");
    assert_eq!(
        store.get(&big).await.expect("get big").data.as_ref(),
        &data[..],
        "3 MiB round-trip"
    );

    for name in ["uploads/b.png", "uploads/c/d.gif", "thumb/a.jpg"] {
        store
            .put(
                &key(&format!("{root}/{name}")),
                Bytes::from_static(b"x"),
                "image/png",
            )
            .await
            .expect("put");
    }
    let listed: Vec<String> = store
        .list(&format!("{root}/uploads/"), 100)
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.key.to_string())
        .collect();
    assert_eq!(
        listed,
        [
            format!("{root}/uploads/a.jpg"),
            format!("{root}/uploads/b.png"),
            format!("{root}/uploads/c/d.gif")
        ],
        "list by prefix, in key order, nested keys included"
    );
    assert_eq!(
        store
            .list(&format!("{root}/uploads/"), 2)
            .await
            .expect("list")
            .len(),
        2,
        "limit"
    );

    store.delete(&a).await.expect("delete");
    assert!(
        matches!(store.get(&a).await, Err(BlobStoreError::NotFound(_))),
        "deleted"
    );
    assert!(matches!(
        store.head(&a).await,
        Err(BlobStoreError::NotFound(_))
    ));
    store
        .delete(&a)
        .await
        .expect("deleting a missing blob is fine");
    let missing = key(&format!("{root}/nope"));
    assert!(matches!(store.get(&missing).await, Err(BlobStoreError::NotFound(k)) if k == missing));

    files(store, &root, &data).await;
}

/// `put_file` and `get_to_file`: the same bytes and metadata as `put` and `get`.
async fn files(store: &dyn BlobStore, root: &str, data: &[u8]) {
    let dir = std::env::temp_dir();
    let src = dir.join(format!("{root}-src.bin"));
    let dest = dir.join(format!("{root}-dest.bin"));
    std::fs::write(&src, data).expect("write the source file");
    let k = key(&format!("{root}/from-file.csv"));
    let meta = store
        .put_file(&k, &src, "text/csv")
        .await
        .expect("put_file");
    assert_eq!(
        (meta.size, meta.content_type.as_str()),
        (data.len() as u64, "text/csv")
    );
    let blob = store.get(&k).await.expect("get after put_file");
    assert!(
        blob.data.as_ref() == data,
        "put_file stores the file's bytes"
    );
    assert_eq!(blob.meta.content_type, "text/csv");
    std::fs::write(&dest, b"old content, longer than nothing").expect("write dest");
    let meta = store.get_to_file(&k, &dest).await.expect("get_to_file");
    assert_eq!(meta.size, data.len() as u64);
    assert!(
        std::fs::read(&dest).expect("read dest") == data,
        "get_to_file writes the blob's bytes, replacing the file"
    );
    let gone = dir.join(format!("{root}-no-such-file"));
    assert!(
        matches!(
            store.put_file(&k, &gone, "text/csv").await,
            Err(BlobStoreError::InvalidInput(_))
        ),
        "a missing source file is bad input"
    );
    let missing = key(&format!("{root}/nope.csv"));
    assert!(
        matches!(
            store.get_to_file(&missing, &dest).await,
            Err(BlobStoreError::NotFound(_))
        ),
        "get_to_file of a missing blob"
    );
    let _ = std::fs::remove_file(&src);
    let _ = std::fs::remove_file(&dest);
}
