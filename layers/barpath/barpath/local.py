"""The whole cloud flow on this machine, no AWS account and no Docker: a moto server on 127.0.0.1 plays
S3, SNS, SQS, DynamoDB and Batch; the real handler gets the real S3 event; the real Batch entry point
runs for long videos.

    barpath local VIDEO [-o OUTDIR]      process your own video through the local cloud
    barpath local --serve [--port 5000]  keep a provisioned endpoint up (for `sam local invoke`)

Resources carry the names template.yaml gives them (barpath.aws.names) for stack `barpath-local`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote_plus

from barpath.aws import names

STACK = "barpath-local"
ACCOUNT = "123456789012"  # moto's account
REGION = "us-east-1"
REPO = Path(__file__).resolve().parents[3]
HANDLER_FILE = REPO / "functions" / "process_video" / "app.py"
NOTIFIER_FILE = REPO / "functions" / "notify_failure" / "app.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LambdaContext:
    """The context object the Lambda runtime passes, with a real deadline."""

    function_name: str = "ProcessVideoFunction"
    timeout_s: float = 900.0
    memory_limit_in_mb: int = 10240
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"
    _start: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self._start)) * 1000))


@dataclass(frozen=True)
class Stack:
    endpoint: str
    uploads_bucket: str
    results_bucket: str
    topic_arn: str
    table: str
    job_queue: str
    job_definition: str
    tap_queue_url: str  # an SQS queue subscribed to the topic: how we read notifications
    failed_queue_url: str

    def env(self, **overrides: str) -> dict[str, str]:
        """The environment template.yaml gives the functions, pointed at the local endpoint."""
        env = {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "UPLOADS_BUCKET": self.uploads_bucket,
            "RESULTS_BUCKET": self.results_bucket,
            "TOPIC_ARN": self.topic_arn,
            "IDEMPOTENCY_TABLE": self.table,
            "JOB_QUEUE": self.job_queue,
            "JOB_DEFINITION": self.job_definition,
            "POWERTOOLS_SERVICE_NAME": "barpath",
            "POWERTOOLS_METRICS_NAMESPACE": "barpath",
            "MPLCONFIGDIR": os.environ.get("MPLCONFIGDIR", "/tmp"),
        }
        env.update(overrides)
        return env


class LocalCloud:
    """A moto server plus the stack's resources. Use as a context manager; it stops what it started."""

    def __init__(self, port: int | None = None, stack: str = STACK) -> None:
        self.port = port or free_port()
        self.stack_name = stack
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server: Any = None
        self.stack: Stack | None = None

    def __enter__(self) -> LocalCloud:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request drowns the flow
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        # moto keeps its state per process, not per server: start every endpoint empty.
        self._post("/moto-api/reset", {})
        # Batch jobs are recorded, not run in Docker: the Batch entry point runs them here instead.
        self._post("/moto-api/config", {"batch": {"use_docker": False}})

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def _post(self, path: str, body: dict[str, Any]) -> None:
        import urllib.request

        req = urllib.request.Request(self.endpoint + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION,  # type: ignore[call-overload]
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def provision(self) -> Stack:
        """Create what template.yaml creates, with the same names."""
        s3, sns, sqs, ddb = (self.client(s) for s in ("s3", "sns", "sqs", "dynamodb"))
        iam, batch = self.client("iam"), self.client("batch")
        st = self.stack_name
        uploads, results = names.uploads_bucket(st, ACCOUNT), names.results_bucket(st, ACCOUNT)
        for bucket in (uploads, results):
            s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=uploads, VersioningConfiguration={"Status": "Enabled"})
        topic_arn = sns.create_topic(Name=names.topic(st))["TopicArn"]
        tap = sqs.create_queue(QueueName=f"{st}-app-tap")["QueueUrl"]
        attrs = sqs.get_queue_attributes(QueueUrl=tap, AttributeNames=["QueueArn"])
        tap_arn = attrs["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=tap_arn)
        failed = sqs.create_queue(QueueName=names.failed_invocations_queue(st))["QueueUrl"]
        table = names.idempotency_table(st)
        ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
        ddb.update_time_to_live(TableName=table, TimeToLiveSpecification={
            "Enabled": True, "AttributeName": "expiration"})
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "batch.amazonaws.com"}}]}
        role = iam.create_role(RoleName=f"{st}-batch", AssumeRolePolicyDocument=json.dumps(trust))
        # UNMANAGED stands in for the GPU Spot environment: no instances exist here anyway.
        ce = batch.create_compute_environment(computeEnvironmentName=f"{st}-gpu", type="UNMANAGED",
                                              state="ENABLED", serviceRole=role["Role"]["Arn"])
        order = [{"order": 1, "computeEnvironment": ce["computeEnvironmentArn"]}]
        queue = batch.create_job_queue(jobQueueName=names.job_queue(st), state="ENABLED", priority=1,
                                       computeEnvironmentOrder=order)
        batch.register_job_definition(
            jobDefinitionName=names.job_definition(st), type="container", platformCapabilities=["EC2"],
            containerProperties={
                "image": "barpath-process-video:local",
                "command": ["python", "-m", "barpath.aws.batch", "--bucket", "Ref::bucket",
                            "--key", "Ref::key"],
                "resourceRequirements": [{"type": "VCPU", "value": "4"},
                                         {"type": "MEMORY", "value": "15000"},
                                         {"type": "GPU", "value": "1"}],
            },
            timeout={"attemptDurationSeconds": 7200},
        )
        self.stack = Stack(self.endpoint, uploads, results, topic_arn, table, queue["jobQueueArn"],
                           names.job_definition(st), tap, failed)
        return self.stack

    # -- the flow ---------------------------------------------------------------------------------
    def upload(self, video: Path, key: str) -> dict[str, Any]:
        """Put `video` at `key` in the uploads bucket; return the S3 event S3 would deliver for it."""
        assert self.stack is not None
        s3 = self.client("s3")
        with open(video, "rb") as fh:
            put = s3.put_object(Bucket=self.stack.uploads_bucket, Key=key, Body=fh)
        return s3_event(self.stack.uploads_bucket, key, size=video.stat().st_size,
                        etag=put["ETag"].strip('"'), version_id=put.get("VersionId"))

    def notifications(self, wait_s: float = 1.0) -> list[dict[str, Any]]:
        """Drain the app's view of the topic: the decoded `barpath/notification@1` messages."""
        assert self.stack is not None
        sqs = self.client("sqs")
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait_s
        while True:
            got = sqs.receive_message(QueueUrl=self.stack.tap_queue_url, MaxNumberOfMessages=10,
                                      WaitTimeSeconds=0).get("Messages", [])
            for m in got:
                envelope = json.loads(m["Body"])
                msg = json.loads(envelope["Message"])
                msg["_attributes"] = {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}
                out.append(msg)
                sqs.delete_message(QueueUrl=self.stack.tap_queue_url, ReceiptHandle=m["ReceiptHandle"])
            if not got and (out or time.monotonic() > deadline):
                return out
            if not got:
                time.sleep(0.1)

    def download_results(self, key: str, dest: Path) -> dict[str, Path]:
        from barpath.aws.keys import result_keys

        assert self.stack is not None
        dest.mkdir(parents=True, exist_ok=True)
        s3 = self.client("s3")
        got = {}
        for field_, k in result_keys(key).items():
            path = dest / Path(k).name
            s3.download_file(self.stack.results_bucket, k, str(path))
            got[field_] = path
        return got

    def run_batch_job(self, job_id: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        """Run a submitted job the way its container would: the job definition's command, with the
        job's parameters substituted, in a fresh process against the local endpoint."""
        job = self.client("batch").describe_jobs(jobs=[job_id])["jobs"][0]
        params = job.get("parameters", {})
        definition = self.client("batch").describe_job_definitions(
            jobDefinitions=[job["jobDefinition"]])["jobDefinitions"][0]
        command = [params.get(a[5:], a) if a.startswith("Ref::") else a
                   for a in definition["containerProperties"]["command"]]
        overrides = {e["name"]: e["value"] for e in job.get("container", {}).get("environment", [])}
        overrides.update({e["name"]: e["value"]
                          for e in job.get("containerOverrides", {}).get("environment", [])})
        run_env = {**os.environ, **env, **overrides, "AWS_BATCH_JOB_ID": job_id}
        if command[0] == "python":
            command[0] = sys.executable
        return subprocess.run(command, env=run_env, capture_output=True, text=True, timeout=3600)


def s3_event(bucket: str, key: str, *, size: int, etag: str, version_id: str | None = None,
             event_name: str = "ObjectCreated:Put") -> dict[str, Any]:
    """An S3 notification record, key URL-encoded as S3 sends it."""
    obj: dict[str, Any] = {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag,
                           "sequencer": "0062E99A88DC407460"}
    if version_id:
        obj["versionId"] = version_id
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": REGION,
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()), "eventName": event_name,
        "userIdentity": {"principalId": "AWS:LOCAL"}, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": uuid.uuid4().hex[:16].upper(), "x-amz-id-2": "local"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "Upload",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "LOCAL"},
                          "arn": f"arn:aws:s3:::{bucket}"},
               "object": obj},
    }]}


def load_function(path: Path, name: str) -> ModuleType:
    """Import a function's app.py from the repository (the same file the image or zip ships)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run from a checkout of the barpath repository")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def apply_env(env: dict[str, str]) -> None:
    """Point this process at the local endpoint; cached clients are rebuilt on next use."""
    from barpath.aws import clients, idempotency

    os.environ.update(env)
    clients.reset()
    idempotency.reset()


def run_flow(cloud: LocalCloud, video: Path, key: str, outdir: Path,
             say: Callable[[str], None] = print, **env_overrides: str) -> list[dict[str, Any]]:
    """Upload, deliver the S3 event to the real handler, run Batch if queued, print and fetch results."""
    stack = cloud.stack or cloud.provision()
    env = stack.env(**env_overrides)
    apply_env(env)
    event = cloud.upload(video, key)
    say(f"uploaded s3://{stack.uploads_bucket}/{key}  ({video.stat().st_size} bytes)")
    handler = load_function(HANDLER_FILE, "barpath_local_process_video").handler
    handler(event, LambdaContext())
    messages = cloud.notifications()
    for msg in list(messages):
        if msg["status"] == "queued" and msg.get("job_id"):
            say(f"queued on Batch as job {msg['job_id']}; running the Batch entry point locally")
            done = cloud.run_batch_job(msg["job_id"], env)
            if done.returncode != 0:
                say(done.stderr[-2000:])
            messages.extend(cloud.notifications())
    for msg in messages:
        shown = {k: v for k, v in msg.items() if not k.startswith("_")}
        say("SNS notification:\n" + json.dumps(shown, indent=2, ensure_ascii=False))
    if messages and messages[-1]["status"] == "succeeded":
        files = cloud.download_results(key, outdir)
        say("results downloaded:\n" + "\n".join(f"  {p}" for p in files.values()))
    return messages


def serve(port: int) -> None:
    with LocalCloud(port=port) as cloud:
        stack = cloud.provision()
        print(json.dumps({"ProcessVideoFunction": stack.env()}, indent=2))
        print(f"local AWS endpoint {cloud.endpoint} is up (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("video", nargs="?", type=Path, help="video to process through the local cloud")
    p.add_argument("-o", "--outdir", type=Path, default=Path("out/local"),
                   help="where results are downloaded")
    p.add_argument("--key", help="upload key (default uploads/<file name>)")
    p.add_argument("--serve", action="store_true", help="only start and provision the endpoint, then wait")
    p.add_argument("--port", type=int, default=None,
                   help="endpoint port (default: a free port; 5000 with --serve)")


def run(args: argparse.Namespace) -> int:
    if args.serve:
        serve(args.port or 5000)
        return 0
    if args.video is None or not args.video.is_file():
        print(f"barpath local: no such video: {args.video}", file=sys.stderr)
        return 2
    key = args.key or f"uploads/{args.video.name}"
    with LocalCloud(port=args.port) as cloud:
        messages = run_flow(cloud, args.video, key, args.outdir)
    return 0 if messages and messages[-1]["status"] == "succeeded" else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="barpath local", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
