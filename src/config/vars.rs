//! Reading variables: trimmed values, numbers in a range, on/off switches, and
//! secrets given as `_FILE` variables.

use std::collections::HashMap;

use super::ConfigError;

/// The variables, as [`super::Config::from_vars`] reads them: a value is trimmed,
/// and an empty one counts as unset.
pub(super) struct Vars<'a>(&'a HashMap<String, String>);

impl<'a> Vars<'a> {
    pub(super) fn new(vars: &'a HashMap<String, String>) -> Self {
        Self(vars)
    }

    /// The trimmed value of `k`, unless it is unset or empty.
    pub(super) fn get(&self, k: &str) -> Option<String> {
        self.0
            .get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A whole number in `range`, if set.
    pub(super) fn number(
        &self,
        var: &'static str,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Option<u64>, ConfigError> {
        self.get(var)
            .map(|v| {
                v.parse::<u64>()
                    .ok()
                    .filter(|n| range.contains(n))
                    .ok_or_else(|| ConfigError {
                        variable: var,
                        value: v.clone(),
                        reason: format!(
                            "must be a number from {} to {}",
                            range.start(),
                            range.end()
                        ),
                    })
            })
            .transpose()
    }

    /// `on`/`1`/`true` or `off`/`0`/`false`; `default` when unset.
    pub(super) fn on_off(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        self.switch(var, default, "")
    }

    /// [`on_off`](Self::on_off), with what `on` means in the error (`must be on (run
    /// the queue worker in the server) or off`).
    pub(super) fn switch(
        &self,
        var: &'static str,
        default: bool,
        on_means: &str,
    ) -> Result<bool, ConfigError> {
        match self.get(var).as_deref() {
            None => Ok(default),
            Some("on") | Some("1") | Some("true") => Ok(true),
            Some("off") | Some("0") | Some("false") => Ok(false),
            Some(other) => Err(ConfigError {
                variable: var,
                value: other.to_owned(),
                reason: match on_means {
                    "" => "must be on or off".into(),
                    means => format!("must be on ({means}) or off"),
                },
            }),
        }
    }

    /// A socket address such as `127.0.0.1:8080`, if set.
    pub(super) fn addr(
        &self,
        var: &'static str,
        example: &str,
    ) -> Result<Option<std::net::SocketAddr>, ConfigError> {
        self.get(var)
            .map(|v| {
                v.parse().map_err(|_| ConfigError {
                    variable: var,
                    value: v.clone(),
                    reason: format!("must be an address and port such as {example}"),
                })
            })
            .transpose()
    }
}

/// The variables that hold secrets, each with its `_FILE` form.
pub const SECRET_VARIABLES: [(&str, &str); 5] = [
    ("KCL_AUTH_JWT_SECRET", "KCL_AUTH_JWT_SECRET_FILE"),
    ("KCL_DATABASE_URL", "KCL_DATABASE_URL_FILE"),
    ("KCL_DATABASE_READ_URL", "KCL_DATABASE_READ_URL_FILE"),
    ("KCL_CACHE_URL", "KCL_CACHE_URL_FILE"),
    ("KCL_METRICS_TOKEN", "KCL_METRICS_TOKEN_FILE"),
];

/// `vars` with every secret given as a `_FILE` read into its plain variable, or
/// `None` when no `_FILE` variable is set. Errors name the `_FILE` variable and
/// its path, never the file's contents.
pub(super) fn read_secret_files(
    vars: &HashMap<String, String>,
) -> Result<Option<HashMap<String, String>>, ConfigError> {
    let set = |k: &str| vars.get(k).filter(|v| !v.trim().is_empty());
    let mut resolved: Option<HashMap<String, String>> = None;
    for (plain, file_var) in SECRET_VARIABLES {
        let Some(path) = set(file_var) else { continue };
        let err = |reason: String| ConfigError {
            variable: file_var,
            value: path.clone(),
            reason,
        };
        if set(plain).is_some() {
            return Err(err(format!("{plain} is set too: set one of the two")));
        }
        let bytes = std::fs::read(path.trim()).map_err(|e| err(format!("cannot read: {e}")))?;
        let mut text =
            String::from_utf8(bytes).map_err(|_| err("the file is not UTF-8 text".into()))?;
        // One trailing newline, as `echo` and editors leave it.
        if text.ends_with('\n') {
            text.pop();
            if text.ends_with('\r') {
                text.pop();
            }
        }
        if text.trim().is_empty() {
            return Err(err("the file is empty".into()));
        }
        resolved
            .get_or_insert_with(|| vars.clone())
            .insert(plain.to_owned(), text);
    }
    Ok(resolved)
}

/// A URL with its password replaced by `***`, for messages.
pub(super) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The static name of a known variable (for errors), or `KCL_*`.
pub(super) fn known_variable(name: &str) -> &'static str {
    [
        "KCL_DATA_DIR",
        "KCL_HTTP_ADDR",
        "KCL_DATABASE_URL",
        "KCL_BLOBS",
        "KCL_QUEUE",
        "KCL_CACHE_URL",
        "KCL_CACHE_URL_FILE",
        "KCL_CACHE_CA_FILE",
        "KCL_DATABASE_URL_FILE",
        "KCL_DATABASE_READ_URL",
        "KCL_DATABASE_READ_URL_FILE",
        "KCL_DATABASE_MAX_CONNECTIONS",
        "KCL_DATABASE_MIGRATE",
        "KCL_DATABASE_SCHEMA",
        "KCL_AUTH_JWT_SECRET_FILE",
        "KCL_LIST_CACHE_TTL_SECS",
        "KCL_AUDIT",
        "KCL_STATUS",
        "KCL_AUTO_PROVISION",
        "KCL_THUMB_SIZE",
        "KCL_THUMB_STALE_SECS",
        "KCL_WORKER",
        "KCL_WORKER_CONCURRENCY",
        "KCL_WORKER_ADDR",
        "KCL_OCR_LANG",
        "KCL_OCR_PSM",
        "KCL_JOB_MAX_IMAGES",
        "KCL_JOB_RETENTION_SECS",
        "KCL_REPORTS",
        "KCL_SALES_INCOMING",
        "KCL_SALES_PARQUET",
        "KCL_SALES_MAX_BYTES",
        "KCL_SPOOL_DIR",
        "KCL_REPORT_SCHEDULE",
        "KCL_REPORT_TZ",
        "KCL_AUTH",
        "KCL_AUTH_JWT_SECRET",
        "KCL_AUTH_JWT_PUBLIC_KEY",
        "KCL_AUTH_JWT_ALG",
        "KCL_AUTH_JWT_ISSUER",
        "KCL_AUTH_JWT_AUDIENCE",
        "KCL_AUTH_USERS",
        "KCL_AUTH_PUBLIC_READS",
        "KCL_AUTH_SESSION_SECS",
        "KCL_AUTH_COOKIE_SECURE",
        "KCL_HTTP_BACKLOG",
        "KCL_HTTP_MAX_IN_FLIGHT",
        "KCL_HTTP_MAX_UPLOADS",
        "KCL_LOG_FORMAT",
        "KCL_METRICS",
        "KCL_METRICS_TOKEN",
        "KCL_METRICS_TOKEN_FILE",
        "KCL_TRUSTED_PROXIES",
    ]
    .into_iter()
    .find(|k| *k == name)
    .unwrap_or("KCL_*")
}
