//! The AWS reference stack (`deploy/aws/`) against the code that runs on it:
//!
//! - every `KCL_*` variable a template sets is one KCL knows, and each component's
//!   whole environment is accepted by `Config::from_vars` (the server's also by
//!   `http_options`);
//! - every resource name KCL derives from its configuration (the queue, `-dlq`,
//!   `-ocr`, `-ocr-dlq`; the bucket; the table and its key) exists in the templates,
//!   and the templates refuse what KCL would refuse (a queue name too long for the
//!   derived names, fewer than 2 receives, a JWT secret under 32 bytes);
//! - the IAM managed policies grant exactly the actions of
//!   `kcl-aws/src/sdk_calls.txt`, and that list names exactly the SDK calls the
//!   adapters make (a new call without its policy fails here);
//! - the rehearsal (ignored by default; `scripts/check-aws-stack.sh` deploys the data
//!   plane on a private moto server first, then runs it with `--include-ignored`).
//!
//! The templates are read as text (no YAML parser in the dependencies): the checks
//! rely on the templates' layout of two-space indents and one resource per block,
//! which cfn-lint keeps valid.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The text of every `.rs` file under `dir` (or of `dir` itself when it is a file),
/// with its path relative to `dir`.
fn rust_sources(dir: &str) -> Vec<(PathBuf, String)> {
    let root = repo().join(dir);
    let mut out = Vec::new();
    let mut todo = vec![root.clone()];
    while let Some(p) = todo.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                todo.push(e.unwrap().path());
            }
        } else if p.extension().is_some_and(|x| x == "rs") {
            let text = std::fs::read_to_string(&p).unwrap();
            out.push((p.strip_prefix(&root).unwrap_or(&p).to_path_buf(), text));
        }
    }
    out.sort();
    out
}

/// The configuration's source (`src/config.rs` or the `src/config/` module).
fn config_source() -> String {
    let mut text = String::new();
    for dir in ["src/config.rs", "src/config"] {
        if repo().join(dir).exists() {
            for (_, t) in rust_sources(dir) {
                text.push_str(&t);
            }
        }
    }
    assert!(!text.is_empty(), "no src/config.rs or src/config/");
    text
}

/// The lines of a top-level section's entry (`  Name:` at indent 2, until the next
/// line indented 2 or less), such as a resource or an output.
fn block<'a>(template: &'a str, name: &str) -> Vec<&'a str> {
    let head = format!("  {name}:");
    let mut lines = template.lines().skip_while(|l| l.trim_end() != head);
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("no {name} block in the template"));
    let mut out = vec![first];
    for l in lines {
        let indent = l.len() - l.trim_start().len();
        if !l.trim().is_empty() && indent <= 2 {
            break;
        }
        out.push(l);
    }
    out
}

/// The value of the first `key: value` line in `lines`, unquoted.
fn value_of<'a>(lines: &[&'a str], key: &str) -> &'a str {
    let prefix = format!("{key}:");
    lines
        .iter()
        .find_map(|l| l.trim().strip_prefix(&prefix))
        .map(|v| v.trim().trim_matches('"'))
        .unwrap_or_else(|| panic!("no {key} in {lines:?}"))
}

/// `KCL_*` (and `AWS_*`) variables set in `lines`: `NAME=value` lines of a `!Sub |`
/// block, or `NAME: value` entries of a Lambda function's `Variables` map.
fn variables(lines: &[&str]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for l in lines {
        let t = l.trim();
        if !(t.starts_with("KCL_") || t.starts_with("AWS_")) {
            continue;
        }
        let (k, v) = match (t.split_once('='), t.split_once(": ")) {
            (Some((k, v)), _) if !k.contains(':') => (k, v.to_owned()),
            (_, Some((k, v))) => (k, map_value(v)),
            _ => panic!("cannot read the variable in {t:?}"),
        };
        assert!(
            out.insert(k.to_owned(), v).is_none(),
            "{k} is set twice in {lines:?}"
        );
    }
    out
}

/// A `Variables` map entry's value: a plain or quoted scalar, `!Sub "..."`, or
/// `!Sub ["...", {...}]`.
fn map_value(v: &str) -> String {
    let v = v.trim();
    // `!If [Condition, value, !Ref AWS::NoValue]`: the value set when it holds.
    let v = match v.strip_prefix("!If [") {
        Some(rest) => rest.split_once(", ").map_or(rest, |(_, value)| value),
        None => v,
    };
    let v = v.strip_prefix("!Sub ").unwrap_or(v);
    let v = v.strip_prefix('[').unwrap_or(v);
    match v.strip_prefix('"') {
        Some(rest) => rest[..rest.find('"').expect("closing quote")].to_owned(),
        None => v.to_owned(),
    }
}

/// Stand-ins for the `${...}` of a `!Sub`: the template's parameter defaults, and
/// names shaped like the stack's for the rest.
fn substitute(value: &str, template: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closing brace") + start;
        let name = &rest[start + 2..end];
        let stand_in = match name {
            "Media" | "MediaBucket" | "B" => "kcl-media-123456789012-eu-west-1".to_owned(),
            "Reports" | "ReportsBucket" => "kcl-reports-123456789012-eu-west-1".to_owned(),
            "Queue" | "Q" | "QueueName" => "kcl-tasks".to_owned(),
            "Table" | "T" => "kcl-audit".to_owned(),
            "Worker" => "off".to_owned(),
            "SalesIncomingBucket" => "kcl-sales-data".to_owned(),
            "SalesIncomingPrefix" => "incoming".to_owned(),
            "AWS::Region" => "eu-west-1".to_owned(),
            other => parameter_default(template, other)
                .unwrap_or_else(|| panic!("no stand-in for ${{{other}}} in {value:?}")),
        };
        out.push_str(&stand_in);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

fn parameter_default(template: &str, name: &str) -> Option<String> {
    let params = template.split("\nParameters:\n").nth(1)?;
    let params = &params[..params
        .find("\nConditions:")
        .or(params.find("\nResources:"))?];
    let lines = block(params.split_once('\n').map_or(params, |_| params), name);
    lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("Default:"))
        .map(|v| v.trim().trim_matches('"').to_owned())
}

/// Every component's environment as the templates set it (variable -> value), with
/// stand-ins for stack values.
fn environments() -> BTreeMap<&'static str, BTreeMap<String, String>> {
    let data = read("deploy/aws/data-plane.yml");
    let app = read("deploy/aws/app.yml");
    let mut out = BTreeMap::new();
    for (component, template, resource) in [
        ("data plane (KclEnvironment)", &data, "KclEnvironment"),
        ("server", &app, "ServerEnvironment"),
        ("worker", &app, "WorkerEnvironment"),
        ("thumbnail function", &app, "ThumbnailFunction"),
        ("ingest function", &app, "IngestFunction"),
        ("reports function", &app, "ReportsFunction"),
    ] {
        let section = if resource == "KclEnvironment" {
            template.split("\nOutputs:\n").nth(1).unwrap()
        } else {
            template
        };
        let vars = variables(&block(section, resource))
            .into_iter()
            .map(|(k, v)| {
                let v = substitute(&v, template);
                (k, v)
            })
            .collect::<BTreeMap<_, _>>();
        assert!(
            vars.keys().any(|k| k.starts_with("KCL_")),
            "{component}: no KCL_ variable found"
        );
        out.insert(component, vars);
    }
    out
}

/// Files standing in for the secrets the boot script renders, named by the paths
/// the environments give.
fn secret_files(dir: &Path, vars: &mut HashMap<String, String>) {
    for (var, content) in [
        (
            "KCL_DATABASE_URL_FILE",
            "postgres://kcl:p%40ss@kcl-db.abc.eu-west-1.rds.amazonaws.com:5432/kcl?sslmode=verify-full&sslrootcert=/etc/kcl/rds-global-bundle.pem\n",
        ),
        ("KCL_CACHE_URL_FILE", "rediss://:0123456789abcdefghij@master.kcl-cache.abc.euw1.cache.amazonaws.com:6379\n"),
        // 64 letters and digits: what databases.yml's JwtSecret generates.
        ("KCL_AUTH_JWT_SECRET_FILE", "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1eF3hJ5kL7nP9rS1uV3xY5zA7cD9fG1hJ3\n"),
        ("KCL_METRICS_TOKEN_FILE", "m3tr1csT0kenFromSecretsManager0123456789\n"),
        // databases.yml's UsersFile before the first admin is put in.
        ("KCL_AUTH_USERS", "# kcl auth hash-password --name admin --role admin\n"),
    ] {
        if let Some(path) = vars.get(var) {
            let name = Path::new(path).file_name().unwrap();
            let file = dir.join(name);
            std::fs::write(&file, content).unwrap();
            vars.insert(var.to_owned(), file.display().to_string());
        }
    }
}

#[test]
fn every_kcl_variable_the_stack_sets_is_accepted_by_config() {
    let config_source = config_source();
    let envs = environments();
    for (component, vars) in &envs {
        let dir = tempfile::tempdir().unwrap();
        let mut vars: HashMap<String, String> = vars
            .iter()
            .filter(|(k, _)| k.starts_with("KCL_"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for k in vars.keys() {
            assert!(
                config_source.contains(&format!("\"{k}\"")),
                "{component}: {k} is not a variable KCL reads (src/config.rs)"
            );
        }
        // The functions' database URL is a Secrets Manager dynamic reference,
        // resolved at deploy time into the URL docs/deploy-aws.md renders.
        if let Some(url) = vars.get_mut("KCL_DATABASE_URL") {
            assert!(url.starts_with("{{resolve:secretsmanager:"), "{url}");
            *url = "postgres://kcl:p%40ss@kcl-db.abc.eu-west-1.rds.amazonaws.com:5432/kcl?sslmode=require".into();
        }
        if let Some(spool) = vars.get_mut("KCL_SPOOL_DIR") {
            assert_eq!(spool, "/tmp", "Lambda's writable folder");
            *spool = dir.path().display().to_string();
        }
        secret_files(dir.path(), &mut vars);
        let config = kcl::Config::from_vars(&vars)
            .unwrap_or_else(|e| panic!("{component}: Config::from_vars refused {e}"));
        assert!(!config.auto_provision, "{component}: KCL_AUTO_PROVISION=0");
        assert_eq!(
            config.queue,
            kcl::config::QueueKind::Sqs("kcl-tasks".into()),
            "{component}"
        );
        assert!(
            matches!(config.blobs, kcl::config::BlobsConfig::S3(ref b) if b == "s3://kcl-media-123456789012-eu-west-1"),
            "{component}: {:?}",
            config.blobs
        );
        assert_eq!(
            config.audit_table.as_deref(),
            Some("kcl-audit"),
            "{component}"
        );
        if component.contains("data plane") {
            continue;
        }
        assert!(
            matches!(config.database, kcl::config::DatabaseConfig::Postgres(_)),
            "{component}: {:?}",
            config.database
        );
        if *component == "server" {
            assert!(config
                .cache_url
                .as_deref()
                .unwrap()
                .starts_with("rediss://"));
            assert!(config.metrics_token.is_some());
            assert_eq!(config.http_addr.to_string(), "0.0.0.0:8080");
            assert!(!config.trusted_proxies.is_empty());
            #[cfg(feature = "http")]
            kcl::http_options(&config)
                .unwrap_or_else(|e| panic!("server: http_options refused the environment: {e}"));
        }
    }
    // The in-process worker is on exactly when no other kind of worker takes the
    // queue (WorkerMode server): never two kinds on one queue.
    let app = read("deploy/aws/app.yml");
    assert!(app.contains("Worker: !If [WorkersInServer, \"on\", \"off\"]"));
    for (resource, condition) in [
        ("WorkerGroup", "WorkersOnInstances"),
        ("ThumbnailEventSource", "WorkersOnLambda"),
    ] {
        assert_eq!(value_of(&block(&app, resource), "Condition"), condition);
    }
}

#[test]
fn a_secret_or_setting_kcl_would_refuse_is_refused_by_the_templates() {
    let databases = read("deploy/aws/databases.yml");
    let jwt = block(&databases, "JwtSecret");
    let length: usize = value_of(&jwt, "PasswordLength").parse().unwrap();
    assert!(
        length >= 32,
        "KCL refuses a JWT secret under 32 bytes; the stack generates {length}"
    );
    assert_eq!(
        value_of(&jwt, "ExcludePunctuation"),
        "true",
        "letters and digits: one byte each"
    );
    let short: HashMap<String, String> =
        [("KCL_AUTH_JWT_SECRET".to_owned(), "x".repeat(length - 1))].into();
    if length - 1 < 32 {
        assert!(kcl::Config::from_vars(&short).is_err());
    }
    let metrics = block(&databases, "MetricsToken");
    assert!(
        value_of(&metrics, "PasswordLength")
            .parse::<usize>()
            .unwrap()
            >= 16
    );

    let data = read("deploy/aws/data-plane.yml");
    let params = data.split("\nParameters:\n").nth(1).unwrap();
    // SQS names have at most 80 characters; KCL derives `{q}-ocr-dlq` (8 more).
    let queue = block(params, "QueueName");
    assert_eq!(value_of(&queue, "AllowedPattern"), r"^[A-Za-z0-9_-]{1,72}$");
    assert_eq!(72 + "-ocr-dlq".len(), 80);
    // A queue without a dead-letter queue cannot be made: queue-pair.yml always
    // gives the queue its redrive policy, and KCL's last receive needs 2 at least.
    let receives = block(params, "MaxReceiveCount");
    assert!(value_of(&receives, "MinValue").parse::<u32>().unwrap() >= 2);
    let pair = read("deploy/aws/queue-pair.yml");
    let queue_resource = block(&pair, "Queue");
    assert!(queue_resource
        .iter()
        .any(|l| l.contains("deadLetterTargetArn: !GetAtt DeadLetterQueue.Arn")));
    assert!(
        value_of(&block(&pair, "MaxReceiveCount"), "MinValue")
            .parse::<u32>()
            .unwrap()
            >= 2
    );
}

#[test]
fn every_resource_name_kcl_derives_exists_in_the_templates() {
    // How KCL derives its names, read from the code so a change there fails here.
    let sqs: String = rust_sources("kcl-aws/src")
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    let runtime: String = rust_sources("src").into_iter().map(|(_, t)| t).collect();
    assert!(
        sqs.contains("format!(\"{name}-dlq\")"),
        "the DLQ suffix changed"
    );
    assert!(
        runtime.contains("format!(\"{name}-ocr\")"),
        "the OCR queue suffix changed"
    );
    let derived = ["{q}", "{q}-dlq", "{q}-ocr", "{q}-ocr-dlq"];

    // What the templates make: queue-pair.yml names a queue and `-dlq`; data-plane.yml
    // uses it for {q} and {q}-ocr.
    let pair = read("deploy/aws/queue-pair.yml");
    assert_eq!(
        value_of(&block(&pair, "Queue"), "QueueName"),
        "!Ref QueueName"
    );
    assert_eq!(
        value_of(&block(&pair, "DeadLetterQueue"), "QueueName"),
        "!Sub \"${QueueName}-dlq"
    );
    let data = read("deploy/aws/data-plane.yml");
    let mut made = BTreeSet::new();
    for (resource, prefix) in [("TaskQueuePair", "{q}"), ("OcrQueuePair", "{q}-ocr")] {
        let b = block(&data, resource);
        let name = value_of(&b, "QueueName");
        let expected = if prefix == "{q}" {
            "!Ref QueueName"
        } else {
            "!Sub \"${QueueName}-ocr"
        };
        assert_eq!(name, expected, "{resource}");
        assert_eq!(value_of(&b, "TemplateURL"), "./queue-pair.yml");
        made.insert(prefix.to_owned());
        made.insert(format!("{prefix}-dlq"));
    }
    assert_eq!(made, derived.iter().map(|s| s.to_string()).collect());
    // The OCR pair only where OCR is built in.
    assert_eq!(
        value_of(&block(&data, "OcrQueuePair"), "Condition"),
        "WithOcr"
    );

    // KCL_QUEUE is the QueueName parameter; KCL_BLOBS, KCL_REPORTS and KCL_AUDIT
    // are the bucket and table resources.
    let outputs = data.split("\nOutputs:\n").nth(1).unwrap();
    let env = variables(&block(outputs, "KclEnvironment"));
    assert_eq!(env["KCL_QUEUE"], "sqs://${QueueName}");
    assert_eq!(env["KCL_BLOBS"], "s3://${MediaBucket}");
    assert_eq!(env["KCL_REPORTS"], "s3://${ReportsBucket}");
    assert_eq!(env["KCL_AUDIT"], "dynamodb://${Table}");
    for bucket in ["MediaBucket", "ReportsBucket"] {
        assert_eq!(value_of(&block(&data, bucket), "Type"), "AWS::S3::Bucket");
    }
    // The table has the key KCL checks at start (docs/dynamodb.md): pk HASH, sk RANGE.
    let table = block(&data, "Table").join("\n");
    assert!(table.contains("Type: AWS::DynamoDB::Table"));
    assert!(table.contains("{AttributeName: pk, KeyType: HASH}"));
    assert!(table.contains("{AttributeName: sk, KeyType: RANGE}"));
    assert!(table.contains("{AttributeName: pk, AttributeType: S}"));
    assert!(table.contains("{AttributeName: sk, AttributeType: S}"));
    // uploads/ goes to {q}, the queue KCL's workers read.
    let media = block(&data, "MediaBucket").join("\n");
    assert!(media.contains(
        "Queue: !Sub \"arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${QueueName}\"\n              Filter: {S3Key: {Rules: [{Name: prefix, Value: uploads/}]}}"
    ));
    assert!(media.contains("Value: sales/incoming/"));
}

/// One line of `kcl-aws/src/sdk_calls.txt`.
struct SdkCall {
    service: String,
    operation: String,
    actions: Vec<String>,
    runtime: bool,
    components: Vec<String>,
}

fn sdk_calls() -> Vec<SdkCall> {
    read("kcl-aws/src/sdk_calls.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 5, "sdk_calls.txt: {l:?}");
            assert!(f[3] == "runtime" || f[3] == "provision", "{l:?}");
            SdkCall {
                service: f[0].into(),
                operation: f[1].into(),
                actions: f[2].split(',').map(str::to_owned).collect(),
                runtime: f[3] == "runtime",
                components: f[4]
                    .split(',')
                    .filter(|c| *c != "-")
                    .map(str::to_owned)
                    .collect(),
            }
        })
        .collect()
}

/// `client.<operation>(` calls (whitespace and line breaks allowed around the dot)
/// in an adapter's source.
fn client_calls(source: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = source;
    while let Some(i) = rest.find("client") {
        let before_ok = i == 0
            || !rest.as_bytes()[i - 1].is_ascii_alphanumeric() && rest.as_bytes()[i - 1] != b'_';
        let after = rest[i + "client".len()..].trim_start();
        rest = &rest[i + "client".len()..];
        if !before_ok {
            continue;
        }
        let Some(after) = after.strip_prefix('.') else {
            continue;
        };
        let after = after.trim_start();
        let ident: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !ident.is_empty() && after[ident.len()..].trim_start().starts_with('(') {
            out.insert(ident);
        }
    }
    out
}

#[test]
fn iam_policies_grant_exactly_the_sdk_calls_the_adapters_make() {
    let calls = sdk_calls();
    // The list names exactly the calls the adapters make.
    // Each SDK client lives in its own file or folder of kcl-aws/src: s3.rs, sqs.rs,
    // dynamodb.rs or dynamodb/...; no other file may use an SDK client.
    let mut in_code = BTreeSet::new();
    for (path, text) in rust_sources("kcl-aws/src") {
        let first = path
            .components()
            .next()
            .map(|c| {
                c.as_os_str()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_owned()
            })
            .unwrap_or_default();
        match ["s3", "sqs", "dynamodb"].into_iter().find(|s| *s == first) {
            Some(service) => {
                for op in client_calls(&text) {
                    in_code.insert((service.to_string(), op));
                }
            }
            None => assert!(
                !text.contains("aws_sdk_"),
                "kcl-aws/src/{}: an SDK client outside s3, sqs and dynamodb; \
                 teach this test its service",
                path.display()
            ),
        }
    }
    let listed: BTreeSet<(String, String)> = calls
        .iter()
        .map(|c| (c.service.clone(), c.operation.clone()))
        .collect();
    let missing: Vec<_> = in_code.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&in_code).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "kcl-aws/src/sdk_calls.txt is out of date: calls missing from it {missing:?}, \
         entries no adapter makes {stale:?}"
    );
    assert!(in_code.len() >= 20, "too few calls found: {in_code:?}");

    // Each component's managed policy grants exactly its runtime actions.
    let data = read("deploy/aws/data-plane.yml");
    for (component, policy) in [
        ("server", "ServerPolicy"),
        ("worker", "WorkerPolicy"),
        ("thumbnails", "ThumbnailFunctionPolicy"),
        ("ingest", "IngestFunctionPolicy"),
    ] {
        let lines = block(&data, policy);
        let granted = granted_actions(&lines, policy);
        let wanted: BTreeSet<String> = calls
            .iter()
            .filter(|c| c.runtime && c.components.iter().any(|x| x == component))
            .flat_map(|c| c.actions.iter().cloned())
            .collect();
        assert_eq!(
            granted, wanted,
            "{policy} grants {granted:?}; sdk_calls.txt lists {wanted:?} for {component}"
        );
        assert!(
            !lines.iter().any(|l| l.trim() == "Resource: \"*\""),
            "{policy}: a Resource of *"
        );
    }
    // Provisioning calls (KCL_AUTO_PROVISION=1) are granted to nobody.
    for c in calls.iter().filter(|c| !c.runtime) {
        assert!(
            c.components.is_empty(),
            "{}: a provisioning call",
            c.operation
        );
        for a in &c.actions {
            assert!(!data.contains(a.as_str()), "{a} is granted somewhere");
        }
    }
    // Each role in app.yml attaches its component's policy, and no action anywhere
    // is a wildcard.
    let app = read("deploy/aws/app.yml");
    for (role, policy) in [
        ("ServerRole", "ServerPolicyArn"),
        ("WorkerRole", "WorkerPolicyArn"),
        ("ThumbnailFunctionRole", "ThumbnailFunctionPolicyArn"),
        ("IngestFunctionRole", "IngestFunctionPolicyArn"),
        // The report function needs what the ingest function needs.
        ("ReportsFunctionRole", "IngestFunctionPolicyArn"),
    ] {
        let b = block(&app, role).join("\n");
        assert!(
            b.contains(&format!("${{DataPlaneStack}}-{policy}")),
            "{role} does not attach {policy}"
        );
    }
    for (name, text) in [
        ("data-plane.yml", &data),
        ("app.yml", &app),
        ("databases.yml", &read("deploy/aws/databases.yml")),
    ] {
        for l in text.lines() {
            let t = l.trim();
            if let Some(actions) = t.strip_prefix("Action:") {
                let star = actions.contains('*');
                // The buckets' deny-without-TLS statements name "s3:*" on purpose.
                let deny_tls = star && actions.trim() == "\"s3:*\"";
                assert!(!star || deny_tls, "{name}: a wildcard action: {t}");
            }
        }
    }
}

/// The `service:Action` names of a policy's Allow statements.
fn granted_actions(lines: &[&str], policy: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut allow = false;
    for l in lines {
        let t = l.trim();
        if let Some(effect) = t.strip_prefix("Effect:") {
            allow = effect.trim() == "Allow";
            assert!(allow, "{policy}: only Allow statements expected");
        }
        if let Some(actions) = t.strip_prefix("Action:") {
            assert!(allow);
            for a in actions
                .trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .split(',')
            {
                let a = a.trim();
                assert!(
                    a.contains(':') && !a.contains('*'),
                    "{policy}: action {a:?}"
                );
                out.insert(a.to_owned());
            }
        }
    }
    out
}

#[cfg(all(feature = "aws", feature = "lambda", feature = "cli"))]
#[path = "support/kcl_proc.rs"]
mod kcl_proc;
#[cfg(all(feature = "aws", feature = "lambda", feature = "cli"))]
#[path = "support/pg.rs"]
mod pg;

/// The rehearsal on the emulator, after `scripts/check-aws-stack.sh` deployed the data
/// plane and applied its bucket notifications.
#[cfg(all(feature = "aws", feature = "lambda", feature = "cli"))]
mod rehearsal {
    use std::collections::HashMap;
    use std::net::SocketAddr;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use serde_json::Value;

    use super::{kcl_proc, pg};

    /// A ````sh rehearsal=NAME` block of docs/deploy-aws.md, as written.
    fn doc_block(name: &str) -> String {
        let doc = super::read("docs/deploy-aws.md");
        let fence = format!("```sh rehearsal={name}\n");
        let start = doc
            .find(&fence)
            .unwrap_or_else(|| panic!("docs/deploy-aws.md has no rehearsal={name} block"))
            + fence.len();
        let end = doc[start..].find("```").unwrap() + start;
        doc[start..end].to_owned()
    }

    /// Runs a document block with bash, with `vars` in its environment.
    fn run_doc_block(name: &str, vars: &[(&str, &str)]) {
        let text = doc_block(name);
        println!("--- docs/deploy-aws.md rehearsal={name}\n{text}");
        let status = Command::new("bash")
            .args(["-euo", "pipefail", "-c", &text])
            .envs(vars.iter().copied())
            .status()
            .expect("bash");
        assert!(status.success(), "rehearsal={name} failed: {status}");
    }

    struct Server {
        child: Child,
        addr: SocketAddr,
    }

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn start(env: &HashMap<String, String>) -> Server {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_kcl"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("OMP_THREAD_LIMIT", "1")
            .envs(env)
            .env("KCL_HTTP_ADDR", addr.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("kcl serve");
        Server { child, addr }
    }

    async fn ready(server: &mut Server, token: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) =
                kcl_proc::http(server.addr, token, "GET", "/health", "text/plain", b"").await
            {
                if r.status == 200 {
                    return;
                }
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("kcl serve exited: {status}");
            }
            assert!(Instant::now() < deadline, "kcl serve not ready in 60 s");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn required(var: &str) -> Option<String> {
        match std::env::var(var) {
            Ok(v) => Some(v),
            Err(_) => {
                assert!(
                    std::env::var("KCL_TEST_REQUIRE_ALL").as_deref() != Ok("1"),
                    "{var} is not set and KCL_TEST_REQUIRE_ALL=1 (run scripts/check-aws-stack.sh)"
                );
                println!("skipped: {var} is not set (scripts/check-aws-stack.sh sets it)");
                None
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs the data plane deployed on moto: scripts/check-aws-stack.sh runs it"]
    async fn rehearsal_two_servers_on_the_stack_outputs_a_dropped_cover_and_a_sales_file() {
        let (Some(env_file), Some(endpoint), Some(media), Some(sales_queue)) = (
            required("KCL_REHEARSAL_ENV_FILE"),
            required("KCL_REHEARSAL_ENDPOINT"),
            required("KCL_REHEARSAL_MEDIA_BUCKET"),
            required("KCL_REHEARSAL_SALES_QUEUE"),
        ) else {
            return;
        };
        let Some((db, db_url)) = pg::PgDb::create().await else {
            return;
        };
        // The SDK connects to the address moto listens on (the CLI's localhost name
        // is for moto's nested-template URLs).
        let endpoint = endpoint.replace("://localhost:", "://127.0.0.1:");
        let dir = tempfile::tempdir().unwrap();

        // The stack's KclEnvironment output, as is, plus what the databases stack
        // and the boot script add: the database URL and the JWT secret as files.
        let mut env: HashMap<String, String> = std::fs::read_to_string(&env_file)
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(env.get("KCL_AUTO_PROVISION").map(String::as_str), Some("0"));
        let secret = format!("rehearsal-{}", uuid::Uuid::new_v4().simple());
        std::fs::write(dir.path().join("database-url"), format!("{db_url}\n")).unwrap();
        std::fs::write(dir.path().join("jwt-secret"), format!("{secret}\n")).unwrap();
        for (k, v) in [
            (
                "KCL_DATABASE_URL_FILE",
                dir.path().join("database-url").display().to_string(),
            ),
            (
                "KCL_AUTH_JWT_SECRET_FILE",
                dir.path().join("jwt-secret").display().to_string(),
            ),
            ("KCL_DATA_DIR", dir.path().display().to_string()),
            ("KCL_SPOOL_DIR", dir.path().display().to_string()),
            ("KCL_LOG", "warn".into()),
            ("AWS_ENDPOINT_URL", endpoint.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "rehearsal".into()),
            ("AWS_SECRET_ACCESS_KEY", "rehearsal".into()),
        ] {
            env.insert(k.to_owned(), v);
        }

        let token = kcl::http::auth::TokenIssuer::hs256(secret.as_bytes())
            .expect("an HS256 secret")
            .issue(
                "rehearsal",
                kcl::http::auth::Role::Admin,
                Duration::from_secs(3600),
            );
        let mut a = start(&env);
        let mut b = start(&env);
        ready(&mut a, &token).await;
        ready(&mut b, &token).await;

        // A book on A; its cover dropped into the bucket with the document's command;
        // S3's notification, the queue and a worker (in either server) make it DONE,
        // as B reads it.
        let created = kcl_proc::http(
            a.addr,
            &token,
            "POST",
            "/api/books",
            "application/json",
            br#"{"title":"Memorias Postumas de Bras Cubas","author":"Machado de Assis","isbn":"9788535911664","year":1881,"copies":1}"#,
        )
        .await
        .unwrap();
        assert_eq!(created.status, 201, "{}", created.text());
        let id = created.json()["id"].as_str().unwrap().to_owned();
        let img = image::RgbImage::from_fn(800, 1200, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
        });
        let cover = dir.path().join("front.jpg");
        img.save(&cover).unwrap();
        let cover_path = cover.display().to_string();
        run_doc_block(
            "drop-cover",
            &[
                ("COVER", cover_path.as_str()),
                ("MEDIA_BUCKET", media.as_str()),
                ("BOOK_ID", id.as_str()),
            ],
        );
        let key = format!("uploads/{id}/front.jpg");
        let deadline = Instant::now() + Duration::from_secs(60);
        let last = loop {
            let st = kcl_proc::http(
                b.addr,
                &token,
                "GET",
                &format!("/api/processing?key={key}"),
                "text/plain",
                b"",
            )
            .await
            .unwrap();
            let j = st.json();
            match j["status"].as_str() {
                Some("DONE") => break j,
                Some("ERROR") => panic!("the dropped cover failed: {j}"),
                _ => {}
            }
            assert!(
                Instant::now() < deadline,
                "the dropped cover is not DONE in 60 s: {} {}",
                st.status,
                st.text()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        println!("cover {key}: {last}");
        let thumb = kcl_proc::http(
            b.addr,
            &token,
            "GET",
            &format!("/api/books/{id}/cover/thumb"),
            "text/plain",
            b"",
        )
        .await
        .unwrap();
        assert_eq!(thumb.status, 307, "the thumbnail, from S3: {}", thumb.head);

        // A sales file dropped with the document's command; the notification S3 sent
        // to the rehearsal-only queue, handed to the ingest handler of a KCL opened on
        // the same environment.
        let csv = dir.path().join("store-7.csv");
        std::fs::write(
            &csv,
            "loja;data;codigo;quantidade;preco_unitario\nS7;20/11/2026;9788535911664;2;39,90\nS7;21/11/2026;9788535911664;1;39,90\n",
        )
        .unwrap();
        let csv_path = csv.display().to_string();
        run_doc_block(
            "drop-sales",
            &[
                ("SALES_FILE", csv_path.as_str()),
                ("MEDIA_BUCKET", media.as_str()),
            ],
        );
        for (k, v) in &env {
            if k.starts_with("AWS_") {
                std::env::set_var(k, v);
            }
        }
        let mut vars = env.clone();
        vars.insert("KCL_WORKER".into(), "off".into());
        let config = kcl::Config::from_vars(&vars).unwrap();
        let kcl = kcl::Kcl::open(&config).await.expect("KCL on the stack");
        let sdk = kcl::aws::emulator_config(&endpoint).await;
        let queue = kcl::aws::SqsQueue::open(&sdk, &sales_queue).await.unwrap();
        use kcl::ports::TaskQueue as _;
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut loaded = None;
        while loaded.is_none() {
            assert!(
                Instant::now() < deadline,
                "no sales notification on {sales_queue} in 30 s"
            );
            for delivery in queue.receive(10, Duration::from_secs(2)).await.unwrap() {
                let payload: Value = serde_json::from_str(&delivery.body).unwrap();
                let event = kcl::lambda::lambda_runtime::LambdaEvent::new(
                    payload.clone(),
                    kcl::lambda::lambda_runtime::Context::default(),
                );
                let summary = kcl::lambda::handle_s3_ingest_event(
                    &kcl.services.sales,
                    kcl.blobs.as_ref(),
                    event,
                )
                .await
                .unwrap_or_else(|e| panic!("the ingest handler failed on {payload}: {e}"));
                queue.ack(&delivery.receipt).await.unwrap();
                for r in summary.records {
                    if r.key == "sales/incoming/store-7.csv" {
                        loaded = Some(r);
                    }
                }
            }
        }
        let r = loaded.unwrap();
        assert_eq!(
            (r.status, r.rows_loaded, r.rows_rejected),
            (kcl::lambda::RecordStatus::Loaded, 2, 0),
            "{r:?}"
        );
        println!(
            "sales file {}: {:?}, {} rows",
            r.key, r.status, r.rows_loaded
        );
        drop((a, b));
        db.drop_db().await;
    }
}
