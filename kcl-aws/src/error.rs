/// Why an AWS-profile adapter could not be set up.
///
/// Errors of the ports themselves are the ports' own enums
/// ([`BookRepoError`](kcl_core::ports::BookRepoError) and the others).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AwsError {
    /// A connection URL or setting is malformed (the message never repeats a
    /// password).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The PostgreSQL server could not be reached or refused the connection.
    #[cfg(feature = "postgres")]
    #[error("cannot connect to PostgreSQL: {0}")]
    PostgresConnect(#[source] sqlx::Error),
    /// The Redis server could not be reached or refused the connection.
    #[cfg(feature = "redis")]
    #[error("cannot connect to Redis: {0}")]
    RedisConnect(#[source] redis::RedisError),
    /// The PostgreSQL schema could not be brought up to date.
    #[cfg(feature = "postgres")]
    #[error("cannot migrate the PostgreSQL database: {0}")]
    PostgresMigrate(#[source] sqlx::migrate::MigrateError),
    /// KCL's tables in PostgreSQL lack these migrations, and this server was told
    /// not to apply them (`KCL_DATABASE_MIGRATE=verify`): run `kcl migrate`.
    #[cfg(feature = "postgres")]
    #[error("the PostgreSQL schema is behind this version of KCL (migrations {pending:?} are not applied): run `kcl migrate`")]
    SchemaBehind {
        /// The versions of the missing migrations.
        pending: Vec<i64>,
    },
    /// An AWS service (S3, SQS, DynamoDB) could not be reached, or the resource
    /// (bucket, queue, table) does not exist or cannot be created.
    #[error("{0}")]
    Unreachable(String),
}
