#!/usr/bin/env bash
# Checks the AWS reference stack (deploy/aws/, deploy/monitoring/, docs/deploy-aws.md):
#
#   1. cfn-lint on every template: no error, no warning;
#   2. checkov on deploy/aws: no failed check, and every skipped check carries a
#      one-line reason (a `comment:`) in the template;
#   3. promtool check rules and promtool test rules on deploy/monitoring/;
#      the Grafana dashboard and the rules name only series KCL records;
#   4. tests/aws_stack.rs (environments, names, IAM against kcl-aws/src/sdk_calls.txt)
#      and the rehearsal: a private moto server, the `rehearsal=` blocks of
#      docs/deploy-aws.md run as written (artifact bucket, package, create-stack),
#      ListStackResources against deploy/aws/rehearsal-resources.txt, the template's
#      bucket notifications applied with PutBucketNotificationConfiguration, then two
#      `kcl serve` on the stack's outputs and PostgreSQL: a cover dropped in S3 to
#      DONE, and a sales file's notification handed to the ingest handler.
#
#   scripts/check-aws-stack.sh
#   KCL_AWS_STACK_CARGO_ARGS="-p kcl --features cli,aws,lambda" scripts/check-aws-stack.sh
#
# Installs what it needs: cfn-lint and checkov from PyPI into a venv
# (${KCL_DEPLOY_VENV:-~/.cache/kcl-venv}), the AWS CLI into another (the same path
# with -awscli), each made once then reused; promtool with
# Debian's `prometheus` package, moto through scripts/services.sh. Bounded: each step
# runs under `timeout`. Before trusting a clean result it proves each checker catches
# a broken file.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kcl-target}"
dir="${KCL_SERVICES_DIR:-$HOME/.cache/kcl-services}"
venv="${KCL_DEPLOY_VENV:-$HOME/.cache/kcl-venv}"
# The AWS CLI apart: checkov pins a boto3 that no current awscli accepts.
awsvenv="$venv-awscli"
# Pinned so that a new release's new rules do not fail CI on an unchanged template.
cfn_lint_version="1.58.0"
checkov_version="3.3.30"
awscli_version="1.45.11"

step() { printf '\n==> %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }
apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@"
}

step "tools"
# venv_with DIR SPEC...: DIR holds exactly these versions (made once, then reused).
venv_with() {
  local dir="$1"
  shift
  if ! "$dir/bin/python" - "$@" 2>/dev/null <<'EOF'
import sys
from importlib.metadata import version
for spec in sys.argv[1:]:
    name, v = spec.split("==")
    assert version(name) == v, spec
EOF
  then
    command -v python3 >/dev/null || apt_install python3 python3-venv
    python3 -m venv "$dir" || { apt_install python3-venv; python3 -m venv "$dir"; }
    timeout 900 "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
  fi
}
venv_with "$venv" "cfn-lint==$cfn_lint_version" "checkov==$checkov_version"
venv_with "$awsvenv" "awscli==$awscli_version"
command -v promtool >/dev/null || apt_install prometheus
command -v curl >/dev/null || apt_install curl
"$venv/bin/cfn-lint" --version
echo "checkov $("$venv/bin/checkov" --version)"
"$awsvenv/bin/aws" --version
promtool --version 2>&1 | head -1

tmp="$(mktemp -d)"
moto_pid=""
cleanup() {
  [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

step "cfn-lint"
printf 'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties: {VisibilityTimeout: -1, Bogus: 1}\n' >"$tmp/broken.yml"
if "$venv/bin/cfn-lint" "$tmp/broken.yml" >/dev/null 2>&1; then
  echo "cfn-lint passed a broken template: the check is void" >&2
  exit 1
fi
timeout 300 "$venv/bin/cfn-lint" deploy/aws/*.yml
echo "deploy/aws: cfn-lint clean ($(ls deploy/aws/*.yml | wc -l) templates)"

step "checkov"
printf 'Resources:\n  B:\n    Type: AWS::S3::Bucket\n' >"$tmp/broken.yml"
if "$venv/bin/checkov" -f "$tmp/broken.yml" --framework cloudformation --quiet --compact --skip-download >/dev/null 2>&1; then
  echo "checkov passed an unencrypted, unversioned bucket: the check is void" >&2
  exit 1
fi
# Every suppression is `- id: CKV...` followed by a one-line `comment:`.
"$venv/bin/python" - deploy/aws/*.yml <<'EOF'
import re, sys
bad = []
for path in sys.argv[1:]:
    lines = open(path).read().splitlines()
    for i, line in enumerate(lines):
        if re.match(r"\s*- id: CKV", line):
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            if not re.match(r"\s*comment: \S.{10,}$", nxt):
                bad.append(f"{path}:{i + 1}: {line.strip()} has no one-line comment: reason")
if bad:
    print("\n".join(bad)); sys.exit(1)
EOF
timeout 300 "$venv/bin/checkov" -d deploy/aws --framework cloudformation --quiet --compact --skip-download
echo "deploy/aws: checkov clean ($(grep -c -- '- id: CKV' deploy/aws/*.yml | awk -F: '{s+=$2} END {print s}') suppressions, each with its reason)"

step "promtool"
timeout 60 promtool check rules deploy/monitoring/prometheus-rules.yml
(cd deploy/monitoring && timeout 60 promtool test rules prometheus-rules.test.yml)
# The rules and the dashboard name only series KCL records (docs/operations.md's
# table is the list; histograms add _bucket).
"$venv/bin/python" - <<'EOF'
import json, re, sys
known = set(re.findall(r"^\| `(kcl_[a-z_]+)`", open("docs/operations.md").read(), re.M))
known |= {"kcl_build_info"}
exprs = [t["expr"] for p in json.load(open("deploy/monitoring/grafana-dashboard.json"))["panels"] for t in p["targets"]]
exprs.append(open("deploy/monitoring/prometheus-rules.yml").read())
used = {re.sub(r"_bucket$", "", m) for e in exprs for m in re.findall(r"\b(kcl_[a-z_]+)\b", e)}
unknown = sorted(used - known)
if unknown or not known:
    print("series not in docs/operations.md:", unknown); sys.exit(1)
print(f"deploy/monitoring: {len(used)} KCL series, all documented")
EOF

step "rehearsal on the emulator (moto)"
# PostgreSQL (and moto's venv) through scripts/services.sh, unless CI started them;
# left running for the other checks that share them.
[ -n "${KCL_TEST_POSTGRES_URL:-}" ] || eval "$(scripts/services.sh start)"
[ -x "$dir/moto-venv/bin/python" ] || { echo "no moto venv at $dir/moto-venv (scripts/services.sh start makes it)" >&2; exit 1; }
# A private moto: the rehearsal's stack never meets other tests' state. Addressed as
# localhost: moto reads a nested template's TemplateURL as http://localhost:PORT/bucket/key.
port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$dir/moto-venv/bin/python" scripts/moto_server.py -H 127.0.0.1 -p "$port" >"$tmp/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/moto-api/" 2>/dev/null && break
  sleep 0.1
done
export AWS_ENDPOINT_URL="http://localhost:$port" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=rehearsal AWS_SECRET_ACCESS_KEY=rehearsal AWS_PAGER=""
export PATH="$awsvenv/bin:$PATH"
# The rehearsal's values for the document's variables.
export NAME=kclr QUEUE=kclr-tasks ARTIFACT_BUCKET=kclr-artifacts SALES_TARGET=queue
export ACCOUNT=123456789012 REGION=us-east-1

# block NAME: the body of docs/deploy-aws.md's ```sh rehearsal=NAME block.
block() {
  awk -v name="$1" '
    $0 == "```sh rehearsal=" name { inside = 1; found = 1; next }
    inside && /^```/ { inside = 0; next }
    inside { print }
    END { if (!found) exit 1 }' docs/deploy-aws.md
}
run_block() {
  local text
  text="$(block "$1")" || { echo "docs/deploy-aws.md has no rehearsal=$1 block" >&2; exit 1; }
  printf -- '--- docs/deploy-aws.md rehearsal=%s\n%s\n' "$1" "$text" >&2
  # In $tmp, where deploy/ is the repository's (the document's paths), so the files
  # the commands write stay out of the repository.
  (cd "$tmp" && timeout 120 bash -euo pipefail -c "$text")
}
ln -s "$PWD/deploy" "$tmp/deploy"
for b in artifact-bucket package-data-plane deploy-data-plane; do run_block "$b"; done
run_block data-plane-env >"$tmp/data-plane-env.out"
sed -n '/^KCL_/p' "$tmp/data-plane-env.out" >"$tmp/kcl.env"
cat "$tmp/kcl.env"
grep -q "^KCL_QUEUE=sqs://$QUEUE$" "$tmp/kcl.env" || { echo "no KCL_QUEUE in the stack's outputs" >&2; exit 1; }

# ListStackResources against the expected list, nested stacks too.
"$venv/bin/python" - "$NAME-data" <<'EOF'
import json, os, subprocess, sys
from cfnlint.decode import cfn_yaml

def aws(*args):
    return json.loads(subprocess.run(["aws", *args, "--output", "json"], check=True,
                                     capture_output=True, text=True).stdout)

def expand(s):
    for k in ("NAME", "QUEUE", "ACCOUNT", "REGION"):
        s = s.replace("$" + k, os.environ[k])
    return s

root = sys.argv[1]
expected = {}
for line in open("deploy/aws/rehearsal-resources.txt"):
    if line.strip() and not line.startswith("#"):
        stack, lid, typ, name, state = line.split()
        expected.setdefault(stack, {})[lid] = (typ, expand(name), state)

failures = []
def listed(stack_name):
    out = aws("cloudformation", "list-stack-resources", "--stack-name", stack_name)
    return {r["LogicalResourceId"]: r for r in out["StackResourceSummaries"] if r.get("LogicalResourceId")}

def compare(label, actual, want):
    created = {lid for lid, (_, _, state) in want.items() if state == "created"}
    if set(actual) != created:
        failures.append(f"{label}: listed {sorted(actual)}, expected created {sorted(created)} "
                        f"(missing {sorted(created - set(actual))}, unexpected {sorted(set(actual) - created)})")
    for lid in created & set(actual):
        typ, name, _ = want[lid]
        r = actual[lid]
        if r["ResourceType"] != typ or r["ResourceStatus"] != "CREATE_COMPLETE":
            failures.append(f"{label}/{lid}: {r['ResourceType']} {r['ResourceStatus']}, expected {typ} CREATE_COMPLETE")
        phys = r.get("PhysicalResourceId", "")
        if name != "-" and phys != name and not phys.endswith("/" + name):
            failures.append(f"{label}/{lid}: named {phys!r}, expected {name!r}")

top = listed(root)
compare(root, top, expected.pop("data-plane"))
for stack, want in expected.items():
    if stack not in top:
        failures.append(f"nested stack {stack} not created"); continue
    compare(stack, listed(top[stack]["PhysicalResourceId"]), want)

# Every template resource is in the list (created or known skipped).
lines = [l.split() for l in open("deploy/aws/rehearsal-resources.txt") if l.strip() and not l.startswith("#")]
for path, stacks in (("deploy/aws/data-plane.yml", {"data-plane"}),
                     ("deploy/aws/queue-pair.yml", {"TaskQueuePair", "OcrQueuePair", "SalesRehearsalQueuePair"})):
    ids = set(cfn_yaml.load(path)["Resources"])
    covered = {l[1] for l in lines if l[0] in stacks}
    if ids != covered:
        failures.append(f"{path}: resources {sorted(ids - covered)} are not in rehearsal-resources.txt, "
                        f"{sorted(covered - ids)} are not in the template")
if failures:
    print("\n".join(failures)); sys.exit(1)
print(f"ListStackResources: as expected ({len(top)} resources in {root}, nested stacks included)")
EOF

# The template's notification configuration, with the rehearsal's parameters, applied
# as S3's API takes it.
media="$NAME-media-$ACCOUNT-$REGION"
"$venv/bin/python" - >"$tmp/notifications.json" <<'EOF'
import json, os, re
from cfnlint.decode import cfn_yaml

t = cfn_yaml.load("deploy/aws/data-plane.yml")
params = {k: str(v.get("Default", "")) for k, v in t["Parameters"].items()}
params.update(Name=os.environ["NAME"], QueueName=os.environ["QUEUE"], SalesNotificationTarget="queue",
              **{"AWS::Partition": "aws", "AWS::Region": os.environ["REGION"], "AWS::AccountId": os.environ["ACCOUNT"]})
conditions = {"SalesToQueue": True, "SalesToLambda": False, "WithOcr": True}
NOVALUE = object()

def resolve(v):
    if isinstance(v, dict) and len(v) == 1:
        (k, a), = v.items()
        if k == "Fn::If":
            return resolve(a[1] if conditions[a[0]] else a[2])
        if k == "Fn::Sub":
            return re.sub(r"\$\{([^}]+)\}", lambda m: params[m.group(1)], a)
        if k == "Ref":
            return NOVALUE if a == "AWS::NoValue" else params[a]
    if isinstance(v, dict):
        return {k: r for k, r in ((k, resolve(x)) for k, x in v.items()) if r is not NOVALUE}
    if isinstance(v, list):
        return [resolve(x) for x in v]
    return v

cfn = resolve(t["Resources"]["MediaBucket"]["Properties"]["NotificationConfiguration"])
rules = lambda f: {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in f["S3Key"]["Rules"]]}}
api = {}
if cfn.get("QueueConfigurations"):
    api["QueueConfigurations"] = [{"QueueArn": c["Queue"], "Events": [c["Event"]], "Filter": rules(c["Filter"])}
                                  for c in cfn["QueueConfigurations"]]
if cfn.get("LambdaConfigurations"):
    api["LambdaFunctionConfigurations"] = [{"LambdaFunctionArn": c["Function"], "Events": [c["Event"]],
                                            "Filter": rules(c["Filter"])} for c in cfn["LambdaConfigurations"]]
print(json.dumps(api, indent=1))
EOF
aws s3api put-bucket-notification-configuration --bucket "$media" \
  --notification-configuration "file://$tmp/notifications.json"
run_block show-notifications >"$tmp/shown.json"
"$venv/bin/python" - "$tmp/shown.json" <<'EOF'
import json, sys
shown = json.load(open(sys.argv[1]))
got = sorted((c["QueueArn"].rsplit(":", 1)[1], c["Filter"]["Key"]["FilterRules"][0]["Value"])
             for c in shown.get("QueueConfigurations", []))
import os
want = sorted([(os.environ["QUEUE"], "uploads/"), (os.environ["NAME"] + "-sales-rehearsal", "sales/incoming/")])
assert got == want, f"bucket notifications {got}, expected {want}"
print(f"bucket notifications: {got}")
EOF

# The servers, the cover and the sales file: tests/aws_stack.rs (with the static
# checks of environments, names and IAM).
export KCL_REHEARSAL_ENV_FILE="$tmp/kcl.env" KCL_REHEARSAL_ENDPOINT="$AWS_ENDPOINT_URL"
export KCL_REHEARSAL_MEDIA_BUCKET="$media" KCL_REHEARSAL_SALES_QUEUE="$NAME-sales-rehearsal"
export KCL_TEST_REQUIRE_ALL=1 OMP_THREAD_LIMIT=1
# KCL_AWS_STACK_CARGO_ARGS replaces the selection (CI's is the workspace with every
# feature, so this reuses its build; `-p kcl --features cli,aws,lambda` is the least
# the rehearsal needs).
read -r -a cargo_args <<<"${KCL_AWS_STACK_CARGO_ARGS:---workspace --all-features}"
timeout 900 cargo test --quiet "${cargo_args[@]}" --test aws_stack -- --include-ignored
step "done"
