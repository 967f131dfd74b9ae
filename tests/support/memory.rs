//! A whole KCL on the in-memory adapters, opened through the configuration as a host
//! would (`KCL_DATABASE_URL`, `KCL_BLOBS`, `KCL_QUEUE` all `memory://`).

use std::collections::HashMap;

pub(crate) async fn memory_kcl() -> kcl::Kcl {
    let vars = HashMap::from(
        [
            ("KCL_DATABASE_URL", "memory://"),
            ("KCL_BLOBS", "memory://"),
            ("KCL_QUEUE", "memory://"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    kcl::Kcl::open(&kcl::Config::from_vars(&vars).expect("configuration"))
        .await
        .expect("open")
}
