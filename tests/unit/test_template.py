"""template.yaml: cfn-lint on the SAM template and on its offline CloudFormation translation, plus the
properties the design depends on, read from the translated resources (what CloudFormation would get)."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from barpath.aws import names
from barpath.detect.factory import DETECTOR_KINDS

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
FAKE_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/barpath:processvideofunction-test"


def _sam() -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse

    return dict(yaml_parse(TEMPLATE.read_text()))


def _packaged(sam: dict[str, Any]) -> dict[str, Any]:
    """What `sam package` hands CloudFormation: local paths replaced by S3 URIs, the image by its URI."""
    doc = copy.deepcopy(sam)
    for name, res in doc["Resources"].items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::Serverless::Function":
            if props.get("PackageType") == "Image":
                props["ImageUri"] = FAKE_IMAGE
            elif "CodeUri" in props:
                props["CodeUri"] = f"s3://artifacts/{name}.zip"
        if res["Type"] == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = f"s3://artifacts/{name}.zip"
    return doc


@pytest.fixture(scope="module")
def sam() -> dict[str, Any]:
    return _sam()


@pytest.fixture(scope="module")
def cfn(sam: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    out: dict[str, Any] = transform(_packaged(sam), {}, NoManagedPolicies())
    return out


def _resources(cfn: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in cfn["Resources"].items() if v["Type"] == type_}


def _cfn_lint(path: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("cfn-lint")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "cfnlint"]
    return subprocess.run([*cmd, str(path)], capture_output=True, text=True, timeout=300)


def test_cfn_lint_sam_template() -> None:
    r = _cfn_lint(TEMPLATE)
    assert r.returncode == 0, r.stdout + r.stderr


def test_cfn_lint_translated_template(cfn: dict[str, Any], tmp_path: Path) -> None:
    # Linting the CloudFormation output catches range errors cfn-lint cannot see on SAM resources.
    out = tmp_path / "translated.json"
    out.write_text(json.dumps(cfn))
    r = _cfn_lint(out)
    assert r.returncode == 0, r.stdout + r.stderr


def test_image_function_sizing_and_recursion(cfn: dict[str, Any]) -> None:
    fn = cfn["Resources"]["ProcessVideoFunction"]["Properties"]
    assert fn["PackageType"] == "Image"
    assert fn["Code"] == {"ImageUri": FAKE_IMAGE}
    assert fn["Timeout"] == 900
    assert fn["MemorySize"] >= 8192
    assert fn["EphemeralStorage"]["Size"] >= 8192
    assert fn["RecursiveLoop"] == "Terminate"
    assert "ReservedConcurrentExecutions" in fn
    # An image function may carry neither layers nor runtime/handler (cfn-lint E3685).
    for forbidden in ("Layers", "Runtime", "Handler"):
        assert forbidden not in fn


def test_image_build_metadata(sam: dict[str, Any]) -> None:
    meta = sam["Resources"]["ProcessVideoFunction"]["Metadata"]
    assert (REPO / meta["DockerContext"] / meta["Dockerfile"]).is_file()
    assert meta["DockerTag"]
    assert "Runtime" not in sam.get("Globals", {}).get("Function", {})
    assert "Layers" not in sam.get("Globals", {}).get("Function", {})


def test_s3_trigger_on_uploads_prefix_of_separate_bucket(cfn: dict[str, Any]) -> None:
    uploads = cfn["Resources"]["UploadsBucket"]["Properties"]
    results = cfn["Resources"]["ResultsBucket"]["Properties"]
    assert uploads["BucketName"] != results["BucketName"]
    configs = uploads["NotificationConfiguration"]["LambdaConfigurations"]
    assert len(configs) == 1
    rules = configs[0]["Filter"]["S3Key"]["Rules"]
    assert rules == [{"Name": "prefix", "Value": "uploads/"}]
    assert configs[0]["Event"] == "s3:ObjectCreated:*"
    assert "NotificationConfiguration" not in results  # results never trigger anything


def test_buckets_private_encrypted_tls_only(cfn: dict[str, Any]) -> None:
    bucket_policies = _resources(cfn, "AWS::S3::BucketPolicy").values()
    policies = {p["Properties"]["Bucket"]["Ref"]: p for p in bucket_policies}
    for name in ("UploadsBucket", "ResultsBucket"):
        props = cfn["Resources"][name]["Properties"]
        assert all(props["PublicAccessBlockConfiguration"].values())
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        statements = policies[name]["Properties"]["PolicyDocument"]["Statement"]
        deny = [s for s in statements if s["Effect"] == "Deny"]
        assert any(s["Condition"]["Bool"]["aws:SecureTransport"] == "false" for s in deny)


def test_on_failure_destination_and_deliberate_retries(cfn: dict[str, Any]) -> None:
    configs = _resources(cfn, "AWS::Lambda::EventInvokeConfig")
    mine = [c["Properties"] for c in configs.values()
            if c["Properties"]["FunctionName"] == {"Ref": "ProcessVideoFunction"}]
    assert len(mine) == 1
    assert mine[0]["MaximumRetryAttempts"] in (0, 1, 2)
    on_failure = mine[0]["DestinationConfig"]["OnFailure"]["Destination"]
    assert on_failure == {"Fn::GetAtt": ["FailedInvocationsQueue", "Arn"]}
    # ... and the notifier drains that queue.
    mappings = _resources(cfn, "AWS::Lambda::EventSourceMapping")
    drains = [m for m in mappings.values() if m["Properties"]["EventSourceArn"] == on_failure]
    assert [m["Properties"]["FunctionName"] for m in drains] == [{"Ref": "NotifyFailureFunction"}]


def test_idempotency_table_has_ttl(cfn: dict[str, Any]) -> None:
    table = cfn["Resources"]["IdempotencyTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


def _actions(doc: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for stmt in doc.get("Statement", []):
        if isinstance(stmt, dict) and "Fn::If" in stmt:
            stmt = stmt["Fn::If"][1]
        if not isinstance(stmt, dict) or stmt.get("Effect") != "Allow":
            continue
        acts = stmt["Action"]
        out.extend([acts] if isinstance(acts, str) else acts)
    return out


def _all_policy_documents(cfn: dict[str, Any]) -> list[dict[str, Any]]:
    docs = []
    for role in _resources(cfn, "AWS::IAM::Role").values():
        for pol in role["Properties"].get("Policies", []):
            if "Fn::If" in pol:
                pol = pol["Fn::If"][1]
            docs.append(pol["PolicyDocument"])
    return docs


def test_no_wildcard_actions(cfn: dict[str, Any]) -> None:
    actions = [a for doc in _all_policy_documents(cfn) for a in _actions(doc)]
    assert "batch:SubmitJob" in actions and "sns:Publish" in actions
    assert not [a for a in actions if "*" in a], actions


def test_batch_submit_scoped_to_queue_and_definition(cfn: dict[str, Any]) -> None:
    stmts = [s for doc in _all_policy_documents(cfn) for s in doc["Statement"]
             if isinstance(s, dict) and "batch:SubmitJob" in s.get("Action", [])]
    assert len(stmts) == 1
    resources = json.dumps(stmts[0]["Resource"])
    assert '"Ref": "GpuJobQueue"' in resources
    assert "job-definition/${AWS::StackName}-process-video" in resources
    assert '"*"' not in resources


def test_gpu_batch(cfn: dict[str, Any]) -> None:
    ce = cfn["Resources"]["GpuComputeEnvironment"]["Properties"]["ComputeResources"]
    assert ce["MinvCpus"] == 0
    assert all(t.startswith(("g4dn", "g5", "g6", "p3")) for t in ce["InstanceTypes"])
    assert "NVIDIA" in ce["Ec2Configuration"][0]["ImageType"]
    jd = cfn["Resources"]["ProcessVideoJobDefinition"]["Properties"]
    reqs = {r["Type"]: r["Value"] for r in jd["ContainerProperties"]["ResourceRequirements"]}
    assert reqs["GPU"] == "1"
    assert jd["PlatformCapabilities"] == ["EC2"]
    assert jd["Timeout"]["AttemptDurationSeconds"] > 900
    retry = jd["RetryStrategy"]["EvaluateOnExit"]
    assert retry[0] == {"OnStatusReason": "Host EC2*", "Action": "RETRY"}
    assert jd["ContainerProperties"]["Command"][:3] == ["python", "-m", "barpath.aws.batch"]
    # Same image as the function, read from the published version.
    assert jd["ContainerProperties"]["Image"] == {"Fn::GetAtt": ["ProcessImage", "ImageUri"]}


def test_failed_batch_jobs_rule_targets_notifier(cfn: dict[str, Any]) -> None:
    rules = _resources(cfn, "AWS::Events::Rule")
    patterns = [r["Properties"]["EventPattern"] for r in rules.values()]
    batch = [p for p in patterns if p.get("source") == ["aws.batch"]]
    assert len(batch) == 1
    assert batch[0]["detail"]["status"] == ["FAILED"]
    assert batch[0]["detail-type"] == ["Batch Job State Change"]


def test_notifier_is_zip_on_the_layer(cfn: dict[str, Any]) -> None:
    fn = cfn["Resources"]["NotifyFailureFunction"]["Properties"]
    assert fn["Runtime"].startswith("python3")
    assert len(fn["Layers"]) == 1
    layer = next(iter(_resources(cfn, "AWS::Lambda::LayerVersion").values()))
    assert fn["Layers"][0] == {"Ref": next(iter(_resources(cfn, "AWS::Lambda::LayerVersion")))}
    assert layer["Properties"]["CompatibleRuntimes"] == [fn["Runtime"]]
    req = (REPO / "layers/barpath/requirements.txt").read_text().lower()
    assert "opencv" not in req and "torch" not in req


def test_names_match_local_stack(sam: dict[str, Any]) -> None:
    """barpath.aws.names (used by the local moto stack) spells resources as the template does."""
    text = TEMPLATE.read_text()
    stack, account = "${AWS::StackName}", "${AWS::AccountId}"
    for expected in (names.uploads_bucket(stack, account), names.results_bucket(stack, account),
                     names.topic(stack), names.idempotency_table(stack), names.job_queue(stack),
                     names.job_definition(stack), names.failed_invocations_queue(stack)):
        assert f'"{expected}"' in text, expected


def test_outputs_and_parameters(cfn: dict[str, Any], sam: dict[str, Any]) -> None:
    for out in ("UploadsBucketName", "ResultsBucketName", "NotificationTopicArn", "ProcessVideoFunctionArn",
                "GpuJobQueueArn", "ProcessVideoJobDefinitionArn"):
        assert out in cfn["Outputs"]
    for param in ("Stage", "InlineMaxBytes", "InlineMaxSeconds", "ModelUri", "Detector", "GpuSubnetIds",
                  "GpuSecurityGroupIds"):
        assert param in sam["Parameters"]
    # The detector choice reaches both places a video is processed, as the name settings.py reads.
    assert sam["Parameters"]["Detector"]["AllowedValues"] == list(DETECTOR_KINDS)
    fn = cfn["Resources"]["ProcessVideoFunction"]["Properties"]["Environment"]["Variables"]
    job = cfn["Resources"]["ProcessVideoJobDefinition"]["Properties"]["ContainerProperties"]["Environment"]
    for env in (fn, {e["Name"]: e["Value"] for e in job}):
        assert env["DETECTOR"] == {"Ref": "Detector"} and env["MODEL_URI"] == {"Ref": "ModelUri"}
    assert sam["Parameters"]["GpuSubnetIds"]["Type"] == "List<AWS::EC2::Subnet::Id>"


@pytest.mark.slow
def test_sam_validate_lint_if_available() -> None:
    sam_cli = shutil.which("sam") or str(REPO / ".venv-sam/bin/sam")
    if not Path(sam_cli).exists():
        pytest.skip("aws-sam-cli not installed (optional: python -m venv .venv-sam && "
                    ".venv-sam/bin/pip install aws-sam-cli)")
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0"}
    r = subprocess.run([sam_cli, "validate", "--lint", "-t", str(TEMPLATE)], capture_output=True, text=True,
                       timeout=300, env=env, cwd=REPO)
    assert r.returncode == 0, r.stdout + r.stderr
