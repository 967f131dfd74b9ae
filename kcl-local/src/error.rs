use std::path::PathBuf;

/// Why an embedded store could not be opened.
///
/// Errors of the ports themselves are the ports' own enums
/// ([`BookRepoError`](kcl_core::ports::BookRepoError) and the others).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalError {
    /// A directory or file could not be created.
    #[error("cannot create {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The SQLite database could not be opened.
    #[error("cannot open SQLite database {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: sqlx::Error,
    },
    /// The schema could not be brought up to date.
    #[error("cannot migrate SQLite database {path}: {source}")]
    Migrate {
        /// The database file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
}
