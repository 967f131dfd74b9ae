//! How tasks and uploads are processed: the worker, OCR, and the services' tunables
//! (`KCL_WORKER`, `KCL_WORKER_CONCURRENCY`, `KCL_WORKER_ADDR`, `KCL_OCR_LANG`,
//! `KCL_OCR_PSM`, `KCL_THUMB_*`, `KCL_JOB_*`, `KCL_SALES_*`, `KCL_SPOOL_DIR`,
//! `KCL_REPORT_SCHEDULE`, `KCL_REPORT_TZ`, `KCL_SALES_PROFILES`,
//! `KCL_LIST_CACHE_TTL_SECS`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use kcl_core::domain::{ReportSchedule, SalesProfileSpec, SalesProfiles};
use kcl_core::services::Settings;

use super::vars::Vars;
use super::ConfigError;

pub(super) struct Processing {
    pub(super) in_process_worker: bool,
    pub(super) worker_concurrency: usize,
    pub(super) worker_addr: Option<SocketAddr>,
    pub(super) ocr_language: String,
    pub(super) ocr_page_segmentation: u8,
    pub(super) settings: Settings,
}

pub(super) fn read(v: &Vars<'_>) -> Result<Processing, ConfigError> {
    let in_process_worker = v.switch("KCL_WORKER", true, "run the queue worker in the server")?;
    let worker_concurrency = v
        .number("KCL_WORKER_CONCURRENCY", 1..=64)?
        .map(|n| n as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let worker_addr = v.addr("KCL_WORKER_ADDR", "127.0.0.1:9090 or 0.0.0.0:9090")?;
    let ocr_language = v.get("KCL_OCR_LANG").unwrap_or_else(|| "eng".into());
    let lang_ok = ocr_language.split('+').all(|l| {
        !l.is_empty() && l.len() <= 32 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    });
    if !lang_ok {
        return Err(ConfigError {
            variable: "KCL_OCR_LANG",
            value: ocr_language,
            reason: "must be Tesseract language codes such as eng, por or eng+por".into(),
        });
    }
    let ocr_page_segmentation = match v.get("KCL_OCR_PSM").as_deref() {
        None => 6,
        Some(psm) => match psm.trim().parse::<u8>() {
            Ok(n @ (3 | 6 | 7 | 11)) => n,
            _ => {
                return Err(ConfigError {
                    variable: "KCL_OCR_PSM",
                    value: psm.to_owned(),
                    reason: "must be 6 (one block of text), 3 (automatic layout), \
                             7 (one line) or 11 (sparse text)"
                        .into(),
                })
            }
        },
    };
    Ok(Processing {
        in_process_worker,
        worker_concurrency,
        worker_addr,
        ocr_language,
        ocr_page_segmentation,
        settings: settings(v)?,
    })
}

/// The services' tunables.
fn settings(v: &Vars<'_>) -> Result<Settings, ConfigError> {
    let mut settings = Settings::default();
    if let Some(px) = v.number("KCL_THUMB_SIZE", 16..=2048)? {
        settings.covers.thumb_size = px as u32;
    }
    if let Some(secs) = v.number("KCL_THUMB_STALE_SECS", 600..=30 * 24 * 3600)? {
        settings.covers.stale_after = Duration::from_secs(secs);
    }
    if let Some(n) = v.number("KCL_JOB_MAX_IMAGES", 1..=1000)? {
        settings.jobs.max_images = n as usize;
    }
    if let Some(secs) = v.number("KCL_JOB_RETENTION_SECS", 60..=30 * 24 * 3600)? {
        settings.jobs.retention = Duration::from_secs(secs);
    }
    if let Some(n) = v.number("KCL_SALES_MAX_BYTES", 1..=1 << 40)? {
        settings.sales.max_file_bytes = n;
    }
    settings.sales.curated = v.on_off("KCL_SALES_PARQUET", settings.sales.curated)?;
    if let Some(dir) = v.get("KCL_SPOOL_DIR") {
        let path = PathBuf::from(&dir);
        if !path.is_dir() {
            return Err(ConfigError {
                variable: "KCL_SPOOL_DIR",
                value: dir,
                reason: "must be an existing folder".into(),
            });
        }
        settings.sales.spool_dir = Some(path);
    }
    let tz = v.get("KCL_REPORT_TZ");
    let zone = tz.as_deref().unwrap_or(kcl_core::domain::DEFAULT_REPORT_TZ);
    if let Err(reason) = ReportSchedule::parse("daily 00:00", zone) {
        return Err(ConfigError {
            variable: "KCL_REPORT_TZ",
            value: zone.to_owned(),
            reason,
        });
    }
    match v.get("KCL_REPORT_SCHEDULE") {
        None => {}
        Some(spec) if spec.trim().eq_ignore_ascii_case("off") => {}
        Some(spec) => {
            let schedule = ReportSchedule::parse(&spec, zone).map_err(|reason| ConfigError {
                variable: "KCL_REPORT_SCHEDULE",
                value: spec.clone(),
                reason,
            })?;
            settings.sales.schedule = Some(schedule);
        }
    }
    if let Some(path) = v.get("KCL_SALES_PROFILES") {
        settings.sales.profiles = sales_profiles(&path)?;
    }
    if let Some(secs) = v.get("KCL_LIST_CACHE_TTL_SECS") {
        let secs: u64 = secs
            .parse()
            .ok()
            .filter(|s| *s <= 86_400)
            .ok_or_else(|| ConfigError {
                variable: "KCL_LIST_CACHE_TTL_SECS",
                value: secs.clone(),
                reason: "must be a number of seconds from 0 (off) to 86400".into(),
            })?;
        settings.list_cache_ttl = Duration::from_secs(secs);
    }
    Ok(settings)
}

/// The largest `KCL_SALES_PROFILES` file read.
const MAX_PROFILES_BYTES: u64 = 1 << 20;

/// Reads the named formats of `KCL_SALES_PROFILES`: a TOML file of
/// `[profiles.NAME]` tables (`prefix`, `columns`, `date_order`, `tax_rate`).
fn sales_profiles(path: &str) -> Result<SalesProfiles, ConfigError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(default)]
        profiles: std::collections::BTreeMap<String, SalesProfileSpec>,
    }
    let fail = |reason: String| ConfigError {
        variable: "KCL_SALES_PROFILES",
        value: path.to_owned(),
        reason,
    };
    let size = std::fs::metadata(path)
        .map_err(|e| fail(format!("cannot read the file: {e}")))?
        .len();
    if size > MAX_PROFILES_BYTES {
        return Err(fail(format!("the file is over {MAX_PROFILES_BYTES} bytes")));
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read the file: {e}")))?;
    let file: File = toml::from_str(&text).map_err(|e| fail(format!("not valid TOML: {e}")))?;
    SalesProfiles::new(file.profiles).map_err(|e| fail(e.message))
}
