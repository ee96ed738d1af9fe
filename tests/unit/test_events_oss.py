"""OSS object events: native trigger (single and multi-record) and OSS through EventBridge.

Every sample is asserted field by field against its raw JSON (Powertools' test_s3_event style).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from pai_autopilot.events import (
    CloudEvent,
    CloudEventBatch,
    OssEvent,
    OssRecord,
    oss_records,
    parse_event,
)
from tests.conftest import load_event


def assert_record_matches(record: OssRecord, raw: dict) -> None:
    """Every OssRecord field equals the raw record's field (absent optional → default)."""
    oss, obj, bucket = raw["oss"], raw["oss"]["object"], raw["oss"]["bucket"]
    assert record.event_name == raw["eventName"]
    assert record.event_source == raw["eventSource"]
    assert record.event_time == raw["eventTime"]
    assert record.event_version == raw["eventVersion"]
    assert record.region == raw["region"]
    assert record.bucket == bucket["name"]
    assert record.bucket_arn == bucket["arn"]
    assert record.owner_id == bucket["ownerIdentity"]
    assert record.virtual_bucket == bucket["virtualBucket"]
    assert record.key == obj["key"]
    assert record.size == obj["size"]
    assert record.delta_size == obj["deltaSize"]
    assert record.etag == obj["eTag"]
    assert record.mime_type == obj.get("objectMeta", {}).get("mimeType")
    assert record.rule_id == oss.get("ruleId")
    assert record.schema_version == oss["ossSchemaVersion"]
    assert record.request_id == raw["responseElements"]["requestId"]
    assert record.source_ip == raw["requestParameters"]["sourceIPAddress"]
    assert record.principal_id == raw["userIdentity"]["principalId"]
    assert record.dedupe_key == f"{bucket['name']}/{obj['key']}@{obj['eTag']}"
    assert record.uri == f"oss://{bucket['name']}/{obj['key']}"
    assert record.raw == raw


def test_native_oss_event_single_record():
    # Given the native OSS trigger sample for the demo dataset marker
    raw = json.loads(load_event("ossObjectCreated.json"))
    # When it is parsed from the bytes FC delivers
    event = parse_event(load_event("ossObjectCreated.json"))
    # Then it is an OssEvent whose only record matches the raw JSON field by field
    assert isinstance(event, OssEvent)
    assert len(event) == 1
    (record,) = event
    assert_record_matches(record, raw["events"][0])
    assert record.event_name == "ObjectCreated:PutObject"
    assert record.bucket == "autopilot-demo"
    assert record.key == "datasets/demo/v1/_SUCCESS"
    assert record.owner_id == "1234567890123456"
    assert record.region == "cn-hangzhou"
    assert record.is_object_created
    assert record.event_datetime == datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)
    assert event.raw == raw


def test_native_oss_event_multi_record_keeps_order_and_optional_fields():
    # Given a delivery with three records, one without objectMeta and ruleId
    raw = json.loads(load_event("ossObjectCreatedMultiRecord.json"))
    # When parsed
    event = parse_event(load_event("ossObjectCreatedMultiRecord.json"))
    # Then every record is kept, in order, and matches its raw JSON
    assert isinstance(event, OssEvent)
    assert len(event.records) == len(raw["events"]) == 3
    for record, raw_record in zip(event.records, raw["events"], strict=True):
        assert_record_matches(record, raw_record)
    assert [r.event_name for r in event] == [
        "ObjectCreated:CompleteMultipartUpload",
        "ObjectCreated:PostObject",
        "ObjectCreated:PutObject",
    ]
    assert event.records[1].mime_type is None
    assert event.records[1].rule_id is None
    assert event.records[1].delta_size == 0
    assert event.records[0].size == 268435456


def test_keys_with_space_plus_percent_and_non_ascii_are_kept_as_is():
    # Given records whose keys contain a space, '+', '%20' and non-ASCII characters
    event = parse_event(load_event("ossObjectCreatedMultiRecord.json"))
    # When the keys are read
    keys = [r.key for r in event.records]
    # Then they are exactly as delivered: nothing is unquoted or re-encoded
    assert keys[0] == "datasets/demo/v2/part 0001+final%20copy.parquet"
    assert keys[1] == "datasets/demo/v2/标签-données.csv"
    assert "datasets/demo/v2/_SUCCESS" in keys


@pytest.mark.parametrize("key", ["a b.txt", "a+b.txt", "100%.txt", "a%2Fb", "données/数据.bin", "x/ /y"])
def test_any_key_round_trips_unchanged(key):
    # Given a minimal native record with an awkward key
    raw = {"events": [{"eventName": "ObjectCreated:PutObject",
                       "oss": {"bucket": {"name": "b"}, "object": {"key": key, "eTag": "E"}}}]}
    # When parsed from str (with non-ASCII kept as text)
    record = parse_event(json.dumps(raw, ensure_ascii=False)).records[0]
    # Then the key is the delivered string and the dedupe key embeds it verbatim
    assert record.key == key
    assert record.dedupe_key == f"b/{key}@E"


def test_minimal_record_gets_defaults():
    # Given a record with only the required fields
    record = OssRecord.from_json({"eventName": "ObjectRemoved:DeleteObject",
                                  "oss": {"bucket": {"name": "b"}, "object": {"key": "k"}}})
    # Then optional fields take their documented defaults
    assert (record.size, record.delta_size, record.etag, record.mime_type) == (0, None, "", None)
    assert (record.request_id, record.source_ip, record.principal_id) == ("", "", "")
    assert not record.is_object_created
    assert record.event_datetime is None


def test_eventbridge_oss_event():
    # Given the EventBridge-based OSS trigger sample
    raw = json.loads(load_event("eventbridgeOssObjectCreated.json"))
    # When parsed
    event = parse_event(load_event("eventbridgeOssObjectCreated.json"))
    # Then the envelope is a CloudEvent matching the raw JSON
    assert isinstance(event, CloudEvent)
    assert event.id == raw["id"]
    assert event.source == raw["source"] == "acs.oss"
    assert event.type == raw["type"] == "oss:ObjectCreated:PutObject"
    assert event.specversion == raw["specversion"]
    assert event.subject == raw["subject"]
    assert event.time == raw["time"]
    assert event.datacontenttype == raw["datacontenttype"]
    assert event.account_id == raw["aliyunaccountid"]
    assert event.original_account_id == raw["aliyunoriginalaccountid"]
    assert event.publish_time == raw["aliyunpublishtime"]
    assert event.event_bus_name == raw["aliyuneventbusname"]
    assert event.region_id == raw["aliyunregionid"]
    assert event.publish_addr == raw["aliyunpublishaddr"]
    assert event.data == raw["data"]
    assert event.dedupe_key == f"{raw['source']}/{raw['id']}"
    assert event.is_oss
    # And its data is ONE OSS record, with the same fields as a native record
    record = event.oss_record()
    assert_record_matches(record, raw["data"])
    assert record.key == "models/demo/v1/_SUCCESS"
    assert event.subject.endswith(f"{record.bucket}/{record.key}")
    assert oss_records(event) == [record]


def test_eventbridge_batch_of_oss_events():
    # Given a batched (event-streaming) delivery: a JSON array of CloudEvents
    raw = json.loads(load_event("eventbridgeBatch.json"))
    # When parsed
    batch = parse_event(load_event("eventbridgeBatch.json"))
    # Then each member matches its raw event and carries one OSS record
    assert isinstance(batch, CloudEventBatch)
    assert len(batch) == len(raw) == 2
    for event, raw_event in zip(batch, raw, strict=True):
        assert event.id == raw_event["id"]
        assert event.source == raw_event["source"]
        assert event.type == raw_event["type"]
        assert event.subject == raw_event["subject"]
        assert event.time == raw_event["time"]
        assert event.event_bus_name == raw_event["aliyuneventbusname"]
        assert event.raw == raw_event
        assert_record_matches(event.oss_record(), raw_event["data"])
    # And the +08:00 offset of the second event's time is honoured
    assert batch.events[1].event_datetime == datetime(2024, 5, 3, 10, 30, 6, tzinfo=timezone.utc)
    # And oss_records flattens the batch
    keys = [r.key for r in oss_records(batch)]
    assert keys == [e["data"]["oss"]["object"]["key"] for e in raw]


def test_oss_records_of_non_oss_events_is_empty():
    # Given events that carry no OSS record
    timer = parse_event(load_event("timerReconcile.json"))
    pai = parse_event(load_event("eventbridgeDlcJobStatus.json"))
    # Then oss_records returns nothing for them
    assert oss_records(timer) == []
    assert oss_records(pai) == []
