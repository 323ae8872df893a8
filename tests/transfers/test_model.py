"""Transfer records survive the round trip to JSON exactly, however trimmed or compacted."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna_server.transfers.model import (
    SKIPPED_LISTED,
    Entry,
    FileState,
    Skipped,
    SkipReason,
    State,
    Transfer,
)

_ints = st.integers(min_value=0, max_value=2**63 - 1)
_entries = st.builds(
    Entry,
    path=st.text(min_size=1, max_size=20),
    directory=st.booleans(),
    size=_ints,
    mode=st.integers(min_value=0, max_value=0o777),
    mtime_ns=_ints,
    state=st.sampled_from(FileState),
    bytes_done=_ints,
    content_hash=st.sampled_from(["", "ab" * 32]),
    saved_path=st.text(max_size=10),
    source=st.text(max_size=10),
    identity=st.tuples(_ints, _ints, _ints, _ints),
    offered=st.integers(min_value=-1, max_value=2**40),
)


@settings(max_examples=300, derandomize=True)
@given(_entries)
def test_an_entry_comes_back_from_its_record_unchanged(entry: Entry) -> None:
    record = json.loads(json.dumps(entry.to_json()))
    assert Entry.from_json(record) == entry


def test_a_default_entry_is_stored_in_five_fields() -> None:
    """An incoming offer's entries are mostly defaults; records are parsed at every start."""
    entry = Entry("junk/000001", False, 1, 0o644, 1_700_000_000_000_000_000)
    assert set(entry.to_json()) == {"path", "directory", "size", "mode", "mtime_ns"}


def test_a_trimmed_transfer_keeps_its_totals_through_its_record() -> None:
    entries = [Entry(f"d/{n}", False, 10, 0o644, 0) for n in range(250)]
    transfer = Transfer(
        "0" * 32, "P" * 52, "peer", False, [Entry("d", True, 0, 0o755, 0), *entries]
    )
    transfer.trim(100)
    transfer.state = State.FAILED

    again = Transfer.from_json(json.loads(json.dumps(transfer.to_json())))

    assert (len(again.entries), again.entry_count) == (100, 251)
    assert (again.total_files, again.total_bytes) == (250, 2500)


def test_what_a_folder_left_out_is_listed_up_to_a_limit_and_counted() -> None:
    skipped = Skipped()
    for n in range(SKIPPED_LISTED + 5):
        skipped.add(f"d/link-{n}", SkipReason.SYMLINK)
    skipped.add("d/fifo", SkipReason.SPECIAL_FILE)
    transfer = Transfer("0" * 32, "P" * 52, "peer", True, [], skipped=skipped)

    again = Transfer.from_json(json.loads(json.dumps(transfer.to_json())))

    assert again.skipped == skipped
    assert again.skipped.count == SKIPPED_LISTED + 6
    assert len(again.skipped.listed) == SKIPPED_LISTED
    assert again.skipped.listed[0] == ("d/link-0", SkipReason.SYMLINK)


def test_a_record_without_skipped_entries_stores_none() -> None:
    transfer = Transfer("0" * 32, "P" * 52, "peer", True, [])

    record = transfer.to_json()

    assert "skipped" not in record  # records written before the field read the same
    assert Transfer.from_json(record).skipped == Skipped()
