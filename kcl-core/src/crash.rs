//! Deterministic crash points for fault tests (feature `crash-points`).
//!
//! [`crash_point!`](crate::crash_point) marks a place where a crash matters (inside
//! a transaction, between a write and its follow-up). Without the feature it
//! compiles to nothing. With it, the process aborts on the spot (no destructor, no
//! flush: as `kill -9` would stop it) when the environment variable `KCL_CRASH_AT`
//! names that point:
//!
//! - `KCL_CRASH_AT=sales.publish.committed`: the first time it is reached;
//! - `KCL_CRASH_AT=sales.publish.committed@3`: the third time, so a test can crash
//!   after some progress.
//!
//! A value that is not `name` or `name@N` (N from 1) stops the process at the
//! first crash point with a message saying so, rather than never crashing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The crash point `KCL_CRASH_AT` names, and how many times it was reached.
struct Target {
    name: String,
    nth: u64,
    reached: AtomicU64,
}

/// Reads `name` or `name@N` (N from 1).
fn parse(spec: &str) -> Result<(String, u64), String> {
    let (name, nth) = match spec.rsplit_once('@') {
        None => (spec, 1),
        Some((name, n)) => match n.parse::<u64>() {
            Ok(n) if n >= 1 => (name, n),
            _ => return Err(format!("{n:?} is not a count from 1")),
        },
    };
    if name.is_empty() {
        return Err("no crash point is named".into());
    }
    Ok((name.to_owned(), nth))
}

fn target() -> Option<&'static Target> {
    static TARGET: OnceLock<Option<Target>> = OnceLock::new();
    TARGET
        .get_or_init(|| {
            let spec = std::env::var("KCL_CRASH_AT").ok()?;
            match parse(&spec) {
                Ok((name, nth)) => Some(Target {
                    name,
                    nth,
                    reached: AtomicU64::new(0),
                }),
                Err(why) => {
                    eprintln!("kcl: KCL_CRASH_AT={spec:?}: {why}: use NAME or NAME@N");
                    std::process::exit(2);
                }
            }
        })
        .as_ref()
}

/// Called by [`crash_point!`](crate::crash_point): aborts the process when
/// `KCL_CRASH_AT` names `name` and this is the time it asks for.
#[doc(hidden)]
pub fn reached(name: &'static str) {
    let Some(t) = target() else { return };
    if t.name != name {
        return;
    }
    if t.reached.fetch_add(1, Ordering::SeqCst) + 1 == t.nth {
        eprintln!(
            "kcl: crash point {name}@{} reached (KCL_CRASH_AT): aborting",
            t.nth
        );
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn names_and_counts() {
        assert_eq!(parse("a.b"), Ok(("a.b".into(), 1)));
        assert_eq!(parse("a.b@3"), Ok(("a.b".into(), 3)));
        assert!(parse("a.b@0").is_err());
        assert!(parse("a.b@x").is_err());
        assert!(parse("@2").is_err());
        assert!(parse("").is_err());
    }
}
