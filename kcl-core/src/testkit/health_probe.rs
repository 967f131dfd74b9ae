//! A store's readiness probe ([`HealthProbe`]).

use std::future::Future;

use uuid::Uuid;

use crate::domain::BookId;
use crate::ports::{BookRepo, BookRepoError, HealthProbe};

/// The probe of a store is named `database` and healthy while the store is open;
/// once `close` has closed the store, the probe fails and a read of `books` is
/// `Unavailable`.
pub async fn fails_once_closed(
    probe: &dyn HealthProbe,
    books: &dyn BookRepo,
    close: impl Future<Output = ()>,
) {
    assert_eq!(probe.name(), "database");
    probe.check().await.expect("healthy");
    close.await;
    assert!(probe.check().await.is_err(), "a closed store is not ready");
    let err = books.get(BookId(Uuid::nil())).await.expect_err("closed");
    assert!(matches!(err, BookRepoError::Unavailable(_)), "{err:?}");
}
