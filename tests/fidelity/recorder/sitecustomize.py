"""Records every AWS call of a Seaway service process, for tests/fidelity/test_iam.py; test processes only.

Python imports ``sitecustomize`` at start from ``sys.path``; the fidelity test puts this folder first on
``PYTHONPATH`` of the services it starts (and of nothing else), with ``SEAWAY_AWS_CALL_LOG`` naming a file.
Every botocore session then gets a ``before-parameter-build`` handler, which botocore emits once per API call
(not per retry) with the operation's model and the caller's parameters, before they are serialised. The
handler appends one JSON line: the service (``SEAWAY_SERVICE``), the identity it signs with
(``AWS_ACCESS_KEY_ID``), the region, the botocore service and operation, and the parameters that name a
resource.

Why here and not in the emulator: the moto server sees HTTP requests, from which the operation has to be
parsed back per protocol (S3's REST paths, query and JSON protocols), and its own IAM layer names some
operations with actions IAM does not have (``s3:HeadBucket``). The client knows the operation's name and its
parameters exactly, in every service, and nothing of this reaches the runtime kit (``services/seaway``).
"""

from __future__ import annotations

import json
import os

# The parameters that say which resource a call is on (and the condition keys the roles test).
_RESOURCE_PARAMETERS = ("TableName", "IndexName", "QueueUrl", "TopicArn", "TargetArn", "Bucket", "Key", "Namespace")


def _record(params=None, model=None, **kwargs) -> None:
    if model is None:
        return
    named = {key: params[key] for key in _RESOURCE_PARAMETERS if isinstance(params, dict) and key in params}
    if isinstance(params, dict) and isinstance(params.get("RequestItems"), dict):
        named["RequestItems"] = sorted(params["RequestItems"])  # batch operations: the table names
    line = {
        "service": os.environ.get("SEAWAY_SERVICE"),
        "identity": os.environ.get("AWS_ACCESS_KEY_ID"),
        "region": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        "pid": os.getpid(),
        "aws_service": model.service_model.service_name,
        "operation": model.name,
        "params": named,
    }
    descriptor = os.open(os.environ["SEAWAY_AWS_CALL_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, (json.dumps(line, sort_keys=True) + "\n").encode())  # one write: lines never mix
    finally:
        os.close(descriptor)


def _install() -> None:
    import botocore.session

    original = botocore.session.Session.__init__

    def init(self, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        self.register("before-parameter-build", _record, unique_id="seaway-fidelity-aws-call-log")

    botocore.session.Session.__init__ = init


if os.environ.get("SEAWAY_AWS_CALL_LOG") and os.environ.get("SEAWAY_SERVICE"):
    _install()
