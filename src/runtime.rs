//! The composition root: the one place that knows every adapter. It reads the
//! [`Config`], builds the adapters it names and the services over them.

use std::sync::Arc;

use kcl_core::memory::{MemoryAuditLog, MemoryBlobStore, MemoryCache, MemoryCatalog, MemoryQueue};
use kcl_core::ports::{BlobStore, QueueConfig, SystemClock, TaskQueue, UuidV7Ids};
use kcl_core::services::Ports;
use kcl_core::Services;

use crate::config::{BlobsConfig, Config, DatabaseConfig, QueueKind};

/// Why KCL could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A configuration value is unusable.
    #[error(transparent)]
    Config(#[from] crate::ConfigError),
    /// An adapter could not be opened.
    #[error("{what}: {source}")]
    Adapter {
        /// Which adapter, and the variable that chose it.
        what: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A running KCL: the services, plus the infrastructure ports hosts need.
pub struct Kcl {
    /// The services.
    pub services: Services,
    /// Blob storage.
    pub blobs: Arc<dyn BlobStore>,
    /// The task queue.
    pub tasks: Arc<dyn TaskQueue>,
    #[cfg(feature = "local")]
    sqlite: Option<kcl_local::SqliteStore>,
}

impl Kcl {
    /// Everything in memory: nothing persisted.
    ///
    /// ```
    /// let kcl = kcl::Kcl::in_memory();
    /// # let _ = kcl.services;
    /// ```
    pub fn in_memory() -> Self {
        Self::in_memory_with(&kcl_core::services::Settings::default())
    }

    fn in_memory_with(settings: &kcl_core::services::Settings) -> Self {
        let catalog = Arc::new(MemoryCatalog::default());
        Self {
            services: Services::with_settings(
                Ports {
                    books: catalog.clone(),
                    rentals: catalog,
                    audit: Arc::new(MemoryAuditLog::default()),
                    cache: Arc::new(MemoryCache::default()),
                    clock: Arc::new(SystemClock),
                    ids: Arc::new(UuidV7Ids),
                    probes: Vec::new(),
                },
                settings,
            ),
            blobs: Arc::new(MemoryBlobStore::default()),
            tasks: Arc::new(MemoryQueue::default()),
            #[cfg(feature = "local")]
            sqlite: None,
        }
    }

    /// Builds the adapters `config` names, and the services over them.
    pub async fn open(config: &Config) -> Result<Self, StartError> {
        let mut kcl = Self::in_memory_with(&config.settings);
        if let DatabaseConfig::Sqlite(path) = &config.database {
            kcl.open_sqlite(path, config.queue == QueueKind::Sqlite, &config.settings)
                .await?;
        }
        if let BlobsConfig::File(root) = &config.blobs {
            kcl.blobs = file_blobs(root)?;
        }
        Ok(kcl)
    }

    #[cfg(feature = "local")]
    async fn open_sqlite(
        &mut self,
        path: &std::path::Path,
        queue: bool,
        settings: &kcl_core::services::Settings,
    ) -> Result<(), StartError> {
        let store = kcl_local::SqliteStore::open(path)
            .await
            .map_err(|e| StartError::Adapter {
                what: format!("KCL_DATABASE_URL: cannot open {}", path.display()),
                source: Box::new(e),
            })?;
        let shared = Arc::new(store.clone());
        self.services = Services::with_settings(
            Ports {
                books: shared.clone(),
                rentals: shared.clone(),
                audit: shared,
                cache: Arc::new(MemoryCache::default()),
                clock: Arc::new(SystemClock),
                ids: Arc::new(UuidV7Ids),
                probes: vec![Arc::new(kcl_local::SqliteProbe::new(&store))],
            },
            settings,
        );
        if queue {
            self.tasks = Arc::new(kcl_local::SqliteQueue::new(
                &store,
                "tasks",
                QueueConfig::default(),
            ));
        }
        self.sqlite = Some(store);
        Ok(())
    }

    #[cfg(not(feature = "local"))]
    async fn open_sqlite(
        &mut self,
        _: &std::path::Path,
        _: bool,
        _: &kcl_core::services::Settings,
    ) -> Result<(), StartError> {
        Err(crate::ConfigError {
            variable: "KCL_DATABASE_URL",
            value: "sqlite://...".into(),
            reason: "this build has no `local` feature; use memory:// or enable it".into(),
        }
        .into())
    }

    /// Closes connections cleanly (waits for in-flight database work).
    pub async fn close(self) {
        #[cfg(feature = "local")]
        if let Some(store) = self.sqlite {
            store.close().await;
        }
    }
}

#[cfg(feature = "local")]
fn file_blobs(root: &std::path::Path) -> Result<Arc<dyn BlobStore>, StartError> {
    std::fs::create_dir_all(root).map_err(|e| StartError::Adapter {
        what: format!("KCL_BLOBS: cannot create {}", root.display()),
        source: Box::new(e),
    })?;
    Ok(Arc::new(kcl_local::FsBlobStore::new(root.to_path_buf())))
}

#[cfg(not(feature = "local"))]
fn file_blobs(_: &std::path::Path) -> Result<Arc<dyn BlobStore>, StartError> {
    Err(crate::ConfigError {
        variable: "KCL_BLOBS",
        value: "file://...".into(),
        reason: "this build has no `local` feature; use memory:// or enable it".into(),
    }
    .into())
}
