//! Curated copies of a load (Parquet), one per store and day, written by the
//! [`CuratedWriter`](crate::ports::CuratedWriter) in `Ports::curated`; none without
//! one.

use std::sync::Arc;

use uuid::Uuid;

use super::spool::RemoveDirOnDrop;
use super::{IngestReport, SalesService};
use crate::domain::{SalesKey, StoreDay};
use crate::ports::{BlobStoreError, CuratedError, CuratedWriter, RowSpool};

impl SalesService {
    /// The curated-copy writer, when there is one and the settings want copies.
    pub(super) fn curated_writer(&self) -> Option<&Arc<dyn CuratedWriter>> {
        self.curated.as_ref().filter(|_| self.settings.curated)
    }

    /// Whether a curated copy of one of `days` of the file `name` is missing (a
    /// crash between the load and its copies).
    pub(super) async fn curated_missing(&self, name: &str, days: &[StoreDay]) -> bool {
        let Some(writer) = self.curated_writer() else {
            return false;
        };
        let keys = SalesKey::of(name);
        for d in days {
            let key = keys.curated(d, writer.extension());
            if let Err(BlobStoreError::NotFound(_)) = self.blobs.head(&key).await {
                return true;
            }
        }
        false
    }

    /// Writes the curated copies of the spool and deletes those of `gone` days (a
    /// replaced version's days the new version does not have).
    pub(super) async fn write_curated(
        &self,
        name: &str,
        spool: &Arc<dyn RowSpool>,
        gone: &[StoreDay],
        report: &mut IngestReport,
    ) {
        let Some(writer) = self.curated_writer() else {
            return;
        };
        let (format, extension) = (writer.name(), writer.extension());
        let keys = SalesKey::of(name);
        for d in gone {
            let key = keys.curated(d, extension);
            if let Err(e) = self.blobs.delete(&key).await {
                report.warnings.push(format!(
                    "old {format} copy {} not deleted: {e}",
                    key.as_str()
                ));
            }
        }
        // `kcl-parquet-*` whatever the format: the name `clean_spool` knows.
        let dir = self
            .spool_dir()
            .join(format!("kcl-parquet-{}", Uuid::new_v4()));
        let _cleanup = RemoveDirOnDrop(dir.clone());
        let parts = {
            let (writer, spool, dir) = (writer.clone(), spool.clone(), dir.clone());
            tokio::task::spawn_blocking(move || {
                std::fs::create_dir_all(&dir)?;
                writer.write(spool.as_ref(), &dir)
            })
            .await
            .unwrap_or_else(|e| Err(CuratedError::Internal(Box::new(e))))
        };
        let parts = match parts {
            Ok(p) => p,
            Err(e) => {
                report
                    .warnings
                    .push(format!("{format} copy not written: {e}"));
                return;
            }
        };
        for part in parts {
            let key = keys.curated(&part.day, extension);
            match self.put_file(&key, &part.path, writer.media_type()).await {
                Ok(()) => report.curated_keys.push(key.as_str().to_owned()),
                Err(e) => report
                    .warnings
                    .push(format!("{format} copy {key} not written: {e}")),
            }
        }
    }
}
