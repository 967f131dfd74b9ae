//! Lambda metrics: the SQS handler records the task series, and a flush writes
//! them as CloudWatch Embedded Metric Format documents.

#![cfg(feature = "lambda")]

use async_trait::async_trait;
use kcl_adapters::lambda::{flush_emf_metrics, handle_sqs_event, install_emf_metrics};
use kcl_core::services::{TaskHandler, TaskOutcome};

struct Outcomes;

#[async_trait]
impl TaskHandler for Outcomes {
    async fn handle(&self, body: &str) -> TaskOutcome {
        match body {
            "ok" => TaskOutcome::Done,
            "bad" => TaskOutcome::Failed("unreadable".into()),
            _ => TaskOutcome::Retry("later".into()),
        }
    }

    async fn give_up(&self, _: &str, _: &str) {}

    fn kind(&self) -> &'static str {
        "thumbnail"
    }
}

fn sqs_event(bodies: &[&str]) -> aws_lambda_events::event::sqs::SqsEvent {
    let records: Vec<_> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            serde_json::json!({
                "messageId": format!("m{i}"),
                "body": b,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {}
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
}

#[tokio::test]
async fn task_metrics_are_written_as_emf_after_an_invocation() {
    std::env::set_var("AWS_LAMBDA_FUNCTION_NAME", "kcl-thumbnails");
    assert!(install_emf_metrics("KCL"));
    let response = handle_sqs_event(&Outcomes, sqs_event(&["ok", "ok", "bad", "retry"]), 5).await;
    assert_eq!(
        response.batch_item_failures.len(),
        1,
        "only the retry comes back"
    );

    let mut out = Vec::new();
    flush_emf_metrics(&mut out);
    let text = String::from_utf8(out).unwrap();
    let docs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON document per line"))
        .collect();
    let find = |outcome: &str| {
        docs.iter()
            .find(|d| d["outcome"] == outcome && d.get("kcl_tasks_total").is_some())
            .unwrap_or_else(|| panic!("no kcl_tasks_total for {outcome} in {text}"))
    };
    let done = find("done");
    assert_eq!(done["kcl_tasks_total"], 2);
    assert_eq!(done["kind"], "thumbnail");
    assert_eq!(done["function"], "kcl-thumbnails");
    assert_eq!(done["_aws"]["CloudWatchMetrics"][0]["Namespace"], "KCL");
    assert_eq!(find("failed")["kcl_tasks_total"], 1);
    assert_eq!(find("retried")["kcl_tasks_total"], 1);
    assert!(
        docs.iter()
            .any(|d| d.get("kcl_task_duration_seconds").is_some()),
        "durations too: {text}"
    );
}
