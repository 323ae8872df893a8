"""The error table: complete, consistent with the proto, the docs and the client."""

import re
from pathlib import Path

import grpc

from kizuna_server.calls.errors import REASON_CODES, reason_names, status_for
from kizuna_server.errors import KizunaError

ROOT = Path(__file__).resolve().parents[2]


def test_every_reason_has_exactly_one_status_code() -> None:
    assert sorted(REASON_CODES) == sorted(reason_names())


def test_proto_comments_name_the_same_code() -> None:
    """Each ErrorReason's comment starts with its status code, as the table maps it."""
    text = (ROOT / "proto/kizuna/v1/errors.proto").read_text()
    documented = {
        m.group(2): m.group(1)
        for m in re.finditer(r"// ([A-Z_]+)\..*\n(?:  //.*\n)*  ERROR_REASON_(\w+)", text)
    }
    assert {r: c.name for r, c in REASON_CODES.items()} == documented


def test_docs_table_matches_code() -> None:
    rows = re.findall(r"^\| `(\w+)` \| `(\w+)` \|", (ROOT / "docs/errors.md").read_text(), re.M)
    assert dict(rows) == {r: c.name for r, c in REASON_CODES.items()}


def test_status_carries_reason_and_metadata() -> None:
    class Sample(KizunaError):
        reason = "PEER_NOT_FOUND"

    code, message, details = status_for(Sample("no peer X", peer_id="X"))
    assert code == grpc.StatusCode.NOT_FOUND and message == "no peer X"
    from google.rpc import error_details_pb2, status_pb2

    status = status_pb2.Status.FromString(details)
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "PEER_NOT_FOUND",
        "kizuna.v1",
        {"peer_id": "X"},
    )
    assert status.code == grpc.StatusCode.NOT_FOUND.value[0]


def test_a_lockout_names_its_delay_in_metadata_and_in_retry_info() -> None:
    """PAIRING_LOCKED_OUT: `retry_after_secs` in ErrorInfo's metadata (the key its proto comment
    names) and the same delay as google.rpc.RetryInfo, the form generic clients understand."""
    from google.rpc import error_details_pb2, status_pb2

    from kizuna_server.core.pairing import PairingLockedOut

    code, _, details = status_for(PairingLockedOut(42))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    status = status_pb2.Status.FromString(details)
    info, retry = error_details_pb2.ErrorInfo(), error_details_pb2.RetryInfo()
    assert status.details[0].Unpack(info) and status.details[1].Unpack(retry)
    assert (info.reason, info.metadata["retry_after_secs"]) == ("PAIRING_LOCKED_OUT", "42")
    assert retry.retry_delay.seconds == 42
    errors_proto = Path(__file__).parents[2] / "proto/kizuna/v1/errors.proto"
    assert "Metadata: `retry_after_secs`" in errors_proto.read_text()
