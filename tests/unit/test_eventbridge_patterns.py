"""EventBridge event patterns: every operator positive and negative, and invalid patterns."""

from __future__ import annotations

import pytest

from localcloud.eventbridge.patterns import PatternError, matches, parse

OSS_EVENT = {
    "id": "6364D216511B143733C5A67B",
    "source": "acs.oss",
    "type": "oss:ObjectCreated:PutObject",
    "subject": "acs:oss:cn-hangzhou:1234567890123456:my-ckpts/run-42/step-1000/model.safetensors",
    "data": {
        "eventName": "ObjectCreated:PutObject",
        "region": "cn-hangzhou",
        "oss": {"bucket": {"name": "my-ckpts"}, "object": {"key": "run-42/step-1000/model.safetensors", "size": 13}},
        "requestParameters": {"sourceIPAddress": "10.0.0.7"},
        "tags": ["gpu", "spot"],
        "counts": [1, 7],
        "eventVersion": "",
        "responseElements": None,
        "retried": False,
        "items": [{"name": "a", "n": 1}, {"name": "b", "n": 2}],
    },
}


def check(pattern: dict, event: dict = OSS_EVENT) -> bool:
    return matches(parse(pattern), event)


# -- structure: AND across keys, OR within an array, nesting ----------------------------------
def test_keys_are_anded_and_array_values_are_ored():
    # Given an OSS event, when patterns combine keys and alternatives, then keys AND and values OR
    assert check({"source": ["acs.oss"], "type": ["oss:ObjectCreated:PutObject", "oss:ObjectRemoved:DeleteObject"]})
    assert not check({"source": ["acs.oss"], "type": ["oss:ObjectRemoved:DeleteObject"]})
    assert check({"source": ["acs.dlc", "acs.oss"]})


def test_nested_data_fields_match_and_missing_nesting_does_not():
    # Given nested patterns, then they follow the event's structure
    assert check({"data": {"oss": {"bucket": {"name": ["my-ckpts"]}}}})
    assert not check({"data": {"oss": {"bucket": {"name": ["other"]}}}})
    assert not check({"data": {"nowhere": {"name": ["my-ckpts"]}}})


def test_prefix_on_subject_and_suffix_on_key_combine_as_and():
    # Given the documented OSS trigger pattern (prefix on subject AND suffix on the key)
    pattern = {
        "source": ["acs.oss"],
        "subject": [{"prefix": "acs:oss:cn-hangzhou:1234567890123456:my-ckpts/"}],
        "data": {"oss": {"object": {"key": [{"suffix": ".safetensors"}]}}},
    }
    # Then the event matches, and a different key suffix does not
    assert check(pattern)
    pattern["data"]["oss"]["object"]["key"] = [{"suffix": ".bin"}]
    assert not check(pattern)


def test_several_operators_in_one_object_must_all_hold():
    # Given prefix and suffix in one matcher object (the CreateRule doc example), they are ANDed
    assert check({"subject": [{"prefix": "acs:oss:", "suffix": ".safetensors"}]})
    assert not check({"subject": [{"prefix": "acs:oss:", "suffix": ".txt"}]})


def test_empty_pattern_matches_everything():
    assert check({}) and matches(parse(None), {}) and matches(parse(""), OSS_EVENT)


def test_matching_is_case_sensitive():
    assert not check({"source": ["ACS.OSS"]})


# -- exact values -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"data": {"oss": {"object": {"size": [13]}}}}, True),
        ({"data": {"oss": {"object": {"size": [13.0]}}}}, True),
        ({"data": {"oss": {"object": {"size": [14]}}}}, False),
        ({"data": {"oss": {"object": {"size": ["13"]}}}}, False),
        ({"data": {"retried": [False]}}, True),
        ({"data": {"retried": [True]}}, False),
        ({"data": {"retried": [0]}}, False),
        ({"data": {"responseElements": [None]}}, True),
        ({"data": {"responseElements": [""]}}, False),
        ({"data": {"eventVersion": [""]}}, True),
        ({"data": {"eventVersion": [None]}}, False),
        ({"data": {"absent": [None]}}, False),
    ],
)
def test_exact_values_strings_numbers_booleans_null_and_empty_string(pattern, expected):
    # Given exact values of every JSON type, then they match by type-aware equality
    assert check(pattern) is expected


# -- array-valued event fields ------------------------------------------------------------------
def test_an_array_field_matches_when_any_element_matches():
    assert check({"data": {"tags": ["spot"]}})
    assert not check({"data": {"tags": ["cpu"]}})
    assert check({"data": {"counts": [{"numeric": [">", 5]}]}})
    assert not check({"data": {"counts": [{"numeric": [">", 7]}]}})


def test_a_nested_pattern_matches_any_object_in_an_array():
    assert check({"data": {"items": {"name": ["b"], "n": [2]}}})
    assert not check({"data": {"items": {"name": ["b"], "n": [1]}}})


# -- operators ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("matcher", "field", "expected"),
    [
        ({"prefix": "acs."}, "source", True),
        ({"prefix": "oss."}, "source", False),
        ({"suffix": ".safetensors"}, "subject", True),
        ({"suffix": ".bin"}, "subject", False),
        ({"contains": "ObjectCreated"}, "type", True),
        ({"contains": "ObjectRemoved"}, "type", False),
        ({"anything-but": "acs.dlc"}, "source", True),
        ({"anything-but": "acs.oss"}, "source", False),
        ({"anything-but": ["acs.dlc", "acs.eas"]}, "source", True),
        ({"anything-but": ["acs.dlc", "acs.oss"]}, "source", False),
        ({"anything-but": {"prefix": "acs.d"}}, "source", True),
        ({"anything-but": {"prefix": "acs."}}, "source", False),
    ],
)
def test_string_operators(matcher, field, expected):
    # Given one operator on a string field, then it matches exactly when its condition holds
    assert check({field: [matcher]}) is expected


def test_prefix_does_not_match_a_number():
    assert not check({"data": {"oss": {"object": {"size": [{"prefix": "1"}]}}}})


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ([">", 0, "<=", 13], True),
        ([">", 0, "<", 13], False),
        ([">=", 13], True),
        ([">", 13], False),
        (["=", 13], True),
        (["=", 12.5], False),
        (["<", 100], True),
    ],
)
def test_numeric_ranges(spec, expected):
    assert check({"data": {"oss": {"object": {"size": [{"numeric": spec}]}}}}) is expected


def test_numeric_does_not_match_a_numeric_string_or_a_boolean():
    assert not matches(parse({"n": [{"numeric": [">", 0]}]}), {"n": "5"})
    assert not matches(parse({"n": [{"numeric": [">", 0]}]}), {"n": True})


def test_anything_but_a_number_and_never_null_or_missing():
    size = {"data": {"oss": {"object": {"size": [{"anything-but": 12}]}}}}
    assert check(size)
    size["data"]["oss"]["object"]["size"] = [{"anything-but": 13}]
    assert not check(size)
    assert not check({"data": {"responseElements": [{"anything-but": "x"}]}})
    assert not check({"data": {"absent": [{"anything-but": "x"}]}})


@pytest.mark.parametrize(
    ("matcher", "field", "expected"),
    [
        ({"exists": True}, "subject", True),
        ({"exists": False}, "subject", False),
        ({"exists": False}, "dataschema", True),
        ({"exists": True}, "dataschema", False),
    ],
)
def test_exists(matcher, field, expected):
    assert check({field: [matcher]}) is expected


def test_exists_true_holds_for_a_null_value_and_nested_missing_parents():
    assert check({"data": {"responseElements": [{"exists": True}]}})
    assert check({"data": {"nowhere": {"deeper": [{"exists": False}]}}})


@pytest.mark.parametrize(
    ("cidr", "expected"),
    [("10.0.0.0/24", True), ("10.0.0.7/32", True), ("10.0.1.0/24", False), ("192.168.0.0/16", False)],
)
def test_cidr(cidr, expected):
    assert check({"data": {"requestParameters": {"sourceIPAddress": [{"cidr": cidr}]}}}) is expected


def test_cidr_does_not_match_a_value_that_is_not_an_address():
    assert not check({"source": [{"cidr": "10.0.0.0/8"}]})


# -- invalid patterns ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("{not json", "the pattern is not valid JSON"),
        ("[1, 2]", "a pattern must be a JSON object, got an array"),
        ({"source": "acs.oss"}, "source: the value must be an array of matchers or a nested object, got a string"),
        ({"source": []}, "source: the array of matchers must not be empty"),
        ({"data": {}}, "data: a nested pattern must not be empty"),
        ({"source": [{}]}, "source: an operator object must not be empty"),
        ({"source": [["a"]]}, "source: a matcher must be a value or an operator object, got an array"),
        ({"source": [{"regex": "a.*"}]}, "source: unsupported operator 'regex'"),
        ({"source": [{"prefix": 1}]}, "source: 'prefix' takes a string, got a number"),
        ({"source": [{"suffix": None}]}, "source: 'suffix' takes a string, got null"),
        ({"source": [{"contains": ["a"]}]}, "source: 'contains' takes a string, got an array"),
        ({"source": [{"exists": "yes"}]}, "source: 'exists' takes true or false, got a string"),
        ({"ip": [{"cidr": "10.0.0.0/33"}]}, "ip: 'cidr' '10.0.0.0/33' is not an IPv4 CIDR block"),
        ({"ip": [{"cidr": "fe80::/10"}]}, "ip: 'cidr' 'fe80::/10' is not an IPv4 CIDR block"),
        ({"n": [{"numeric": [">", 0, "<"]}]}, "n: 'numeric' takes [op, number] or [op, number, op, number]"),
        ({"n": [{"numeric": ["!=", 0]}]}, "n: 'numeric' operator '!=' is not one of"),
        ({"n": [{"numeric": [">", "0"]}]}, "n: 'numeric' bound \"0\" is not a number"),
        ({"n": [{"numeric": ["<", 5, ">", 0]}]}, "n: a 'numeric' range must be a lower bound"),
        ({"n": [{"numeric": [">", 5, "<", 0]}]}, "n: the 'numeric' range is empty (5 > 0)"),
        ({"s": [{"anything-but": []}]}, "s: 'anything-but' list must not be empty"),
        ({"s": [{"anything-but": [True]}]}, "s: 'anything-but' values must be strings or numbers, got a boolean"),
        ({"s": [{"anything-but": {"suffix": ".x"}}]}, "s: 'anything-but' takes a value, a list, or {\"prefix\": string}"),
        ({"data": {"key": [{"suffix": 3}]}}, "data.key: 'suffix' takes a string, got a number"),
    ],
)
def test_invalid_patterns_are_rejected_with_the_reason(pattern, reason):
    # Given an invalid pattern, when it is parsed, then PatternError names the field and the reason
    with pytest.raises(PatternError) as excinfo:
        parse(pattern)
    assert reason in str(excinfo.value)
    assert isinstance(excinfo.value, ValueError)
