"""Settings: argument > environment > default, validated with the offending value named."""

from __future__ import annotations

import pytest

from pai_autopilot.errors import SettingsError
from pai_autopilot.settings import Settings


def test_defaults_when_environment_is_empty():
    s = Settings.resolve(environ={})
    assert (s.endpoint, s.region, s.log_level, s.sdk_attempts, s.lease_seconds) == (None, "cn-hangzhou", "INFO", 3, 360)
    assert s.config_path == "autopilot.yaml"
    assert not s.is_local


def test_environment_overrides_default_and_argument_overrides_environment():
    env = {"ALIBABA_CLOUD_REGION_ID": "cn-beijing", "AUTOPILOT_SDK_ATTEMPTS": "5", "AUTOPILOT_ENDPOINT": "http://127.0.0.1:9800/"}
    s = Settings.resolve(environ=env, sdk_attempts=2)
    assert s.region == "cn-beijing"
    assert s.sdk_attempts == 2
    assert s.endpoint == "http://127.0.0.1:9800"  # trailing slash dropped
    assert s.is_local


def test_fc_region_is_a_fallback_and_code_path_sets_config_default():
    s = Settings.resolve(environ={"FC_REGION": "cn-shanghai", "FC_FUNC_CODE_PATH": "/code/"})
    assert s.region == "cn-shanghai"
    assert s.config_path == "/code/autopilot.yaml"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"AUTOPILOT_SDK_ATTEMPTS": "many"}, "AUTOPILOT_SDK_ATTEMPTS: expected an integer, got 'many'"),
        ({"AUTOPILOT_SDK_ATTEMPTS": "0"}, "expected 1..10, got 0"),
        ({"AUTOPILOT_ENDPOINT": "127.0.0.1:9800"}, "expected http(s)://host[:port]"),
        ({"AUTOPILOT_LOG_LEVEL": "loud"}, "got 'loud'"),
        ({"ALIBABA_CLOUD_REGION_ID": "Hangzhou"}, "expected a region id"),
        ({"AUTOPILOT_OSS_INTERNAL": "maybe"}, "expected true/false, got 'maybe'"),
    ],
)
def test_invalid_values_name_the_variable_and_value(env, fragment):
    with pytest.raises(SettingsError) as info:
        Settings.resolve(environ=env)
    assert fragment in str(info.value)


def test_unknown_argument_is_refused():
    with pytest.raises(SettingsError, match="unknown setting"):
        Settings.resolve(environ={}, colour="blue")
