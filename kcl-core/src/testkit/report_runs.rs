//! The [`ReportRuns`] contract.

use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use uuid::Uuid;

use crate::ports::{Clock, ReportRuns, ReportRunsError, SystemClock};

/// Runs every case. Schedule names are fresh per run, so a shared store is fine.
pub async fn run(runs: Arc<dyn ReportRuns>) {
    let schedule = format!("kit {}", &Uuid::new_v4().simple().to_string()[..12]);
    let s = schedule.as_str();
    let day = NaiveDate::from_ymd_opt(2026, 12, 5).expect("a day");
    let now = SystemClock.now();
    let lease = Duration::minutes(10);
    let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());

    assert_eq!(runs.last_finished(s).await.expect("last"), None);
    assert!(runs
        .claim(s, day, a, now, now + lease)
        .await
        .expect("claim"));
    assert!(
        !runs
            .claim(s, day, b, now, now + lease)
            .await
            .expect("claim"),
        "a live lease keeps the run"
    );
    assert!(
        !runs.finish(s, day, b, now, &[]).await.expect("finish"),
        "only the holder finishes"
    );
    // The lease runs out (the holder died): the next claim takes the run over, and
    // the old holder can no longer finish it.
    let later = now + lease;
    assert!(runs
        .claim(s, day, b, later, later + lease)
        .await
        .expect("take over"));
    assert!(!runs.finish(s, day, a, later, &[]).await.expect("finish"));
    let reports = vec!["reports/daily-2026-12-05-S1.csv".to_owned()];
    assert!(runs
        .finish(s, day, b, later, &reports)
        .await
        .expect("finish"));
    assert!(
        !runs
            .finish(s, day, b, later, &reports)
            .await
            .expect("finish"),
        "finished once"
    );
    let far = later + Duration::days(1);
    assert!(
        !runs
            .claim(s, day, c, far, far + lease)
            .await
            .expect("claim"),
        "a finished run is never claimed again"
    );
    let last = runs.last_finished(s).await.expect("last").expect("one");
    assert_eq!((last.day, last.reports, last.attempts), (day, reports, 2));
    assert_eq!(last.done_at, later, "kept to the microsecond");

    // Another day is another run; the latest finished day is the last.
    let next = day.succ_opt().expect("a day");
    assert!(runs
        .claim(s, next, c, far, far + lease)
        .await
        .expect("claim"));
    assert_eq!(
        runs.last_finished(s).await.expect("last").map(|r| r.day),
        Some(day),
        "an unfinished run is not the last"
    );
    assert!(runs.finish(s, next, c, far, &[]).await.expect("finish"));
    assert_eq!(
        runs.last_finished(s).await.expect("last").map(|r| r.day),
        Some(next)
    );
    assert_eq!(
        runs.last_finished("another schedule").await.expect("last"),
        None,
        "schedules are apart"
    );

    // A failed run is given back: the next claim takes it at once; only its holder
    // gives it back, and a finished run is never given back.
    let failed = NaiveDate::from_ymd_opt(2026, 12, 10).expect("a day");
    assert!(runs
        .claim(s, failed, a, now, now + lease)
        .await
        .expect("claim"));
    assert!(
        !runs.release(s, failed, b, now).await.expect("release"),
        "not b's"
    );
    assert!(runs.release(s, failed, a, now).await.expect("release"));
    assert!(
        runs.claim(s, failed, b, now, now + lease)
            .await
            .expect("claim"),
        "taken at once after a release"
    );
    assert!(runs.finish(s, failed, b, now, &[]).await.expect("finish"));
    assert!(
        !runs.release(s, failed, b, now).await.expect("release"),
        "finished"
    );

    // Many processes at once: exactly one holds the run.
    let race_day = NaiveDate::from_ymd_opt(2026, 12, 20).expect("a day");
    let claims = (0..20).map(|_| {
        let runs = runs.clone();
        let schedule = schedule.clone();
        tokio::spawn(async move {
            runs.claim(&schedule, race_day, Uuid::new_v4(), now, now + lease)
                .await
                .expect("claim")
        })
    });
    let mut won = 0;
    for c in claims {
        won += usize::from(c.await.expect("task"));
    }
    assert_eq!(won, 1, "one winner among racing claims");

    for bad in ["", &"x".repeat(65), "a\0b"] {
        assert!(
            matches!(
                runs.claim(bad, day, a, now, now + lease).await,
                Err(ReportRunsError::InvalidInput(_))
            ),
            "{bad:?}"
        );
    }
}
