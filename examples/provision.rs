//! Creates the buckets, queues (with their dead-letter queue) and tables the
//! environment names, if missing, then checks every adapter: the provisioning helper
//! for development and tests (production resources belong to infrastructure code).
//! What `kcl provision` runs ([`kcl::cli::provision`]).
//!
//! ```sh
//! AWS_ENDPOINT_URL=http://127.0.0.1:5599 AWS_REGION=us-east-1 \
//! AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
//! KCL_BLOBS=s3://kcl-media KCL_QUEUE=sqs://kcl-tasks KCL_AUDIT=dynamodb://kcl \
//! KCL_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//! cargo run --example provision --features cli,aws
//! ```
//!
//! The server does the same at start with `KCL_AUTO_PROVISION=1`.

use std::process::ExitCode;

fn main() -> ExitCode {
    kcl::cli::main(kcl::cli::Command::Provision)
}
