"""Item 6: security review as tests. Least privilege in the translated template, private encrypted
TLS-only storage, a topic policy, an image that runs unprivileged from hash-pinned dependencies, and
logs that never carry a secret or a presigned URL."""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import os
import re
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]

# Attached by SAM itself (logs, tracing, the SQS event source); AWS scopes these, we cannot name ARNs.
SAM_MANAGED = {
    "service-role/AWSLambdaBasicExecutionRole",
    "AWSXrayWriteOnlyAccess",
    "service-role/AWSLambdaSQSQueueExecutionRole",
    "service-role/AmazonEC2ContainerServiceforEC2Role",
}


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    # The template tests already know how to package and translate offline: reuse, don't copy.
    spec = importlib.util.spec_from_file_location("barpath_template_tests",
                                                  REPO / "tests/unit/test_template.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    out: dict[str, Any] = transform(mod._packaged(mod._sam()), {}, NoManagedPolicies())
    return out


def _of_type(cfn: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in cfn["Resources"].items() if v["Type"] == type_}


def _statements(cfn: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for name, role in _of_type(cfn, "AWS::IAM::Role").items():
        for pol in role.get("Policies", []):
            pol = pol["Fn::If"][1] if "Fn::If" in pol else pol
            for st in pol["PolicyDocument"]["Statement"]:
                st = st["Fn::If"][1] if isinstance(st, dict) and "Fn::If" in st else st
                if isinstance(st, dict):
                    out.append((name, st))
    return out


def _listify(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


@pytest.mark.unit
def test_iam_no_wildcard_action_and_no_wildcard_resource_where_the_arn_is_known(cfn: dict[str, Any]) -> None:
    stmts = [(n, s) for n, s in _statements(cfn) if s.get("Effect") == "Allow"]
    assert len(stmts) >= 8
    for role, st in stmts:
        for action in _listify(st["Action"]):
            assert "*" not in action, (role, action)
        for res in _listify(st["Resource"]):
            text = json.dumps(res)
            assert res != "*", (role, st["Action"])
            # A '*' may only stand for object names under a fixed prefix or a job-definition revision.
            for star in re.finditer(r"\*", text):
                before = text[: star.start()]
                assert before.endswith(("/uploads/", "/results/", "}/", ":")), (role, text)


@pytest.mark.unit
def test_only_sam_attached_managed_policies(cfn: dict[str, Any]) -> None:
    for name, role in _of_type(cfn, "AWS::IAM::Role").items():
        for arn in role.get("ManagedPolicyArns", []):
            text = arn if isinstance(arn, str) else arn.get("Fn::Sub", "")
            assert text.split(":policy/")[1] in SAM_MANAGED, (name, arn)


@pytest.mark.unit
def test_function_roles_cannot_touch_each_others_data(cfn: dict[str, Any]) -> None:
    by_role: dict[str, set[str]] = {}
    for role, st in _statements(cfn):
        if st.get("Effect") == "Allow":
            by_role.setdefault(role, set()).update(_listify(st["Action"]))
    # The notifier only publishes and records; it can read no video and write no result.
    assert not {a for a in by_role["NotifyFailureFunctionRole"] if a.startswith("s3:")}
    # The processing function reads uploads and writes results, and can delete neither.
    assert not {a for a in by_role["ProcessVideoFunctionRole"] if "Delete" in a and a.startswith("s3:")}


@pytest.mark.unit
def test_buckets_private_encrypted_and_tls_only(cfn: dict[str, Any]) -> None:
    buckets = _of_type(cfn, "AWS::S3::Bucket")
    assert len(buckets) >= 2
    policies = {json.dumps(p["Bucket"]): p["PolicyDocument"]
                for p in _of_type(cfn, "AWS::S3::BucketPolicy").values()}
    for name, props in buckets.items():
        block = props["PublicAccessBlockConfiguration"]
        assert all(block[k] is True for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls",
                                              "RestrictPublicBuckets"))
        rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
        doc = policies[json.dumps({"Ref": name})]
        assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
                   for s in doc["Statement"]), name


@pytest.mark.unit
def test_topic_encrypted_with_a_tls_only_policy(cfn: dict[str, Any]) -> None:
    (topic,) = _of_type(cfn, "AWS::SNS::Topic").values()
    assert topic["KmsMasterKeyId"]
    (policy,) = _of_type(cfn, "AWS::SNS::TopicPolicy").values()
    stmts = policy["PolicyDocument"]["Statement"]
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
               for s in stmts)
    for s in stmts:
        if s["Effect"] == "Allow":
            assert s["Principal"] != "*" and s["Principal"] != {"AWS": "*"}


@pytest.mark.unit
def test_queues_and_table_encrypted(cfn: dict[str, Any]) -> None:
    queues = _of_type(cfn, "AWS::SQS::Queue")
    named = {k: q for k, q in queues.items() if "QueueName" in q}  # ours; SAM's own DLQ has no name
    assert named and all(q.get("SqsManagedSseEnabled") or q.get("KmsMasterKeyId") for q in named.values())
    for table in _of_type(cfn, "AWS::DynamoDB::Table").values():
        assert table["SSESpecification"]["SSEEnabled"] is True


@pytest.mark.unit
def test_image_runs_as_non_root_and_installs_only_hash_pinned_dependencies() -> None:
    text = (REPO / "functions/process_video/Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0"), users
    installs = [ln for ln in re.findall(r"pip install[^\n]*", text) if "WITH_DETECTRON2" not in ln]
    locked = [ln for ln in installs if "--require-hashes" in ln and "requirements.lock" in ln]
    assert locked, installs
    # Anything else pip installs in the default image must bring no dependencies of its own.
    default = text.split('if [ "$WITH_DETECTRON2" = "1" ]; then \\\n      pip')[0]
    for ln in re.findall(r"RUN pip install[^\n]*", default):
        assert "--require-hashes" in ln or "--no-deps" in ln, ln


@pytest.mark.unit
def test_no_presigned_urls_anywhere_in_the_code() -> None:
    # Results are referenced as s3:// URIs; a presigned URL in a notification or a log is a credential.
    code = [*(REPO / "layers/barpath/barpath").rglob("*.py"), *(REPO / "functions").rglob("*.py")]
    for path in code:
        assert "generate_presigned" not in path.read_text(), path


@pytest.mark.integration
def test_logs_carry_no_secret_and_no_signature(cloud: Any, scratch: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    from .corpus import BY_NAME, Corpus
    from .harness import Flow

    secret = "S3cr3tKEYdoNotLog0123456789abcdefABCDEF"
    token = "TOKENdoNotLog" + "x" * 40
    flow = Flow(cloud, AWS_SECRET_ACCESS_KEY=secret, AWS_SESSION_TOKEN=token)
    corpus = Corpus(scratch.parent / "sec-corpus")
    # The most verbose level the template deploys (dev stages: DEBUG) on our logger; botocore keeps
    # the runtime's default (WARNING): its DEBUG output prints signed headers and is never switched on.
    assert "LOG_LEVEL: !If [IsProd, INFO, DEBUG]" in (REPO / "template.yaml").read_text()
    os.environ["LOG_LEVEL"] = "DEBUG"
    caplog.set_level(logging.DEBUG, logger="barpath")
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        ok = flow.deliver(flow.upload(corpus.path(BY_NAME["pdf_named_mp4"]), "uploads/secret.mp4"))
        os.environ["TOPIC_ARN"] = flow.stack.topic_arn + "-gone"  # the failure path logs too
        bad = flow.deliver(flow.upload(corpus.path(BY_NAME["text_named_mp4"]), "uploads/secret2.mp4"))
        flow.drain_failures()
    assert ok.errors == [] and bad.sent_to_on_failure
    logs = out.getvalue() + err.getvalue() + "\n".join(r.getMessage() for r in caplog.records)
    assert "upload handled" in logs  # we did capture the function's structured logs
    for needle in (secret, token, "X-Amz-Signature", "X-Amz-Credential", "Signature=",
                   "x-amz-security-token"):
        assert needle not in logs, needle
