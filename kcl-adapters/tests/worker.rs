//! The worker host's delivery rules, on the in-memory queue with a scripted handler:
//! done and failed tasks are acked, retries come back after their back-off, a task
//! that keeps asking for retries is given up (recorded) and dead-lettered, several
//! run at once, and shutdown releases what it cannot finish.
#![cfg(feature = "worker")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use kcl_adapters::worker::{run, Turn, WorkerConfig};
use kcl_core::memory::MemoryQueue;
use kcl_core::ports::{QueueConfig, TaskQueue};
use kcl_core::services::{TaskHandler, TaskOutcome};

/// Answers by the body: `done`, `fail`, `retry`, `slow` (sleeps 5 s), `concurrent`.
#[derive(Default)]
struct Script {
    running: AtomicUsize,
    max_running: AtomicUsize,
    given_up: Mutex<Vec<String>>,
    calls: AtomicUsize,
}

#[async_trait]
impl TaskHandler for Script {
    async fn handle(&self, body: &str) -> TaskOutcome {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now, Ordering::SeqCst);
        let out = match body {
            "done" => TaskOutcome::Done,
            "fail" => TaskOutcome::Failed("bad image".into()),
            "retry" => TaskOutcome::Retry("storage down".into()),
            "slow" => {
                tokio::time::sleep(Duration::from_secs(5)).await;
                TaskOutcome::Done
            }
            _ => {
                tokio::time::sleep(Duration::from_millis(300)).await;
                TaskOutcome::Done
            }
        };
        self.running.fetch_sub(1, Ordering::SeqCst);
        out
    }

    async fn give_up(&self, body: &str, reason: &str) {
        self.given_up
            .lock()
            .unwrap()
            .push(format!("{body}: {reason}"));
    }
}

fn config() -> WorkerConfig {
    WorkerConfig {
        concurrency: 4,
        wait: Duration::from_millis(100),
        visibility: Duration::from_secs(2),
        give_up_after: 2,
        task_deadline: Duration::from_secs(60),
        grace: Duration::from_millis(300),
    }
}

async fn until(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_retries_gives_up_and_runs_in_parallel() {
    let q = Arc::new(MemoryQueue::new(QueueConfig {
        visibility_timeout: Duration::from_secs(2),
        max_receives: 3,
    }));
    for body in [
        "done",
        "fail",
        "retry",
        "concurrent",
        "concurrent",
        "concurrent",
    ] {
        q.send(body).await.unwrap();
    }
    let script = Arc::new(Script::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(run(q.clone(), script.clone(), config(), async {
        let _ = stopped.await;
    }));
    // `retry` comes back after its 2 s back-off, is given up on its 2nd receive (the
    // last attempt), recorded again without a run on its 3rd (the last receive), and
    // the queue then dead-letters it.
    until("the retried task to be given up and recorded", || {
        script.given_up.lock().unwrap().len() == 2
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = q.stats().await.unwrap();
        if s.visible == 0 && s.in_flight == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the queue never emptied: {s:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = q.receive(1, Duration::ZERO).await.unwrap(); // the move to the DLQ happens on receive
    stop.send(()).unwrap();
    let stats = worker.await.unwrap();
    assert_eq!(stats.done, 4, "{stats:?}");
    assert_eq!(stats.failed, 1, "{stats:?}");
    assert_eq!(stats.retried, 1, "{stats:?}");
    assert_eq!(stats.given_up, 1, "{stats:?}");
    assert_eq!(stats.dead_lettered, 1, "{stats:?}");
    assert_eq!(
        script.given_up.lock().unwrap().as_slice(),
        [
            "retry: storage down".to_owned(),
            format!("retry: {}", Turn::LOST)
        ]
    );
    assert_eq!(
        script.calls.load(Ordering::SeqCst),
        7,
        "two attempts of `retry`, the last receive runs nothing"
    );
    assert!(
        script.max_running.load(Ordering::SeqCst) >= 3,
        "tasks run concurrently"
    );
    let qs = q.stats().await.unwrap();
    assert_eq!(
        (qs.visible, qs.in_flight, qs.dead_lettered),
        (0, 0, 1),
        "{qs:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_releases_unfinished_tasks_at_once() {
    let q = Arc::new(MemoryQueue::new(QueueConfig {
        visibility_timeout: Duration::from_secs(30),
        max_receives: 5,
    }));
    q.send("slow").await.unwrap();
    let script = Arc::new(Script::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(run(q.clone(), script.clone(), config(), async {
        let _ = stopped.await;
    }));
    until("the slow task to start", || {
        script.running.load(Ordering::SeqCst) == 1
    })
    .await;
    let started = Instant::now();
    stop.send(()).unwrap();
    let stats = worker.await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "shutdown waits only the grace period"
    );
    assert_eq!(stats.done, 0);
    // Released: another worker gets it now, not after the 30 s visibility timeout.
    let again = q.receive(1, Duration::from_millis(500)).await.unwrap();
    assert_eq!(again.len(), 1, "the unfinished task is visible again");
    assert_eq!(again[0].body, "slow");
}

/// A task whose worker died during every attempt (received, never answered) is
/// recorded as failed on the queue's last receive, without running it again, and
/// then dead-lettered: its cover or OCR item does not stay unfinished.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_receive_records_a_task_whose_attempts_were_all_lost() {
    let q = Arc::new(MemoryQueue::new(QueueConfig {
        visibility_timeout: Duration::from_millis(200),
        max_receives: 3,
    }));
    q.send("done").await.unwrap();
    // Two attempts lost: received, and their workers gone before any answer.
    for _ in 0..2 {
        let got = q.receive(1, Duration::from_secs(2)).await.unwrap();
        assert_eq!(got.len(), 1);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let script = Arc::new(Script::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(run(q.clone(), script.clone(), config(), async {
        let _ = stopped.await;
    }));
    until("the lost task to be recorded", || {
        !script.given_up.lock().unwrap().is_empty()
    })
    .await;
    // The worker's next receive moves it to the dead-letter queue.
    let deadline = Instant::now() + Duration::from_secs(20);
    while q.stats().await.unwrap().dead_lettered != 1 {
        assert!(Instant::now() < deadline, "never dead-lettered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(()).unwrap();
    let stats = worker.await.unwrap();
    assert_eq!(script.calls.load(Ordering::SeqCst), 0, "not run again");
    assert_eq!(
        script.given_up.lock().unwrap().as_slice(),
        [format!("done: {}", Turn::LOST)]
    );
    assert_eq!((stats.dead_lettered, stats.done), (1, 0), "{stats:?}");
}
