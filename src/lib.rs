#![doc = include_str!("../README.md")]

mod cloud;
pub mod config;
mod runtime;
#[cfg(feature = "http")]
mod server;

pub use config::{Config, ConfigError};
pub use kcl_core::{domain, memory, ports, services, ServiceError, Services};
pub use runtime::{Kcl, StartError};
#[cfg(feature = "http")]
pub use server::serve_from_env;

/// The HTTP host (axum router, REST API, web UI).
#[cfg(feature = "http")]
pub use kcl_adapters::http;

/// The queue worker host.
#[cfg(feature = "worker")]
pub use kcl_adapters::worker;

/// The embedded adapters (SQLite, files, SQLite queue).
#[cfg(feature = "local")]
pub use kcl_local as local;

/// The AWS profile's adapters (PostgreSQL, Redis, S3, SQS, DynamoDB).
#[cfg(feature = "aws")]
pub use kcl_aws as aws;

/// Conformance kits, to prove your own adapter honours a port's contract.
#[cfg(feature = "testkit")]
pub use kcl_core::testkit;
