from dataclasses import dataclass

import pytest

from seaway.config import ConfigError, KitSettings, check, load, setting


@dataclass(frozen=True)
class Example:
    table: str = setting(env="PRODUCTS_TABLE")
    ttl: int = setting(60, minimum=1)
    ratio: float = setting(0.5, maximum=1)
    enabled: bool = setting(False)
    url: str | None = setting(None)
    mode: str = setting("emf", choices=("emf", "api", "off"))


def test_values_are_read_from_upper_case_names_and_typed():
    settings = load(Example, {"PRODUCTS_TABLE": "t", "TTL": "5", "RATIO": "0.25", "ENABLED": "yes", "URL": "x"})
    assert settings == Example(table="t", ttl=5, ratio=0.25, enabled=True, url="x")


def test_defaults_apply_and_an_empty_optional_is_none():
    assert load(Example, {"PRODUCTS_TABLE": "t", "URL": ""}) == Example(table="t")


def test_every_problem_is_named_in_one_line():
    with pytest.raises(ConfigError) as error:
        load(Example, {"TTL": "0", "RATIO": "lots", "ENABLED": "maybe", "MODE": "xml"})
    message = str(error.value)
    assert "\n" not in message
    assert message == (
        "invalid configuration: PRODUCTS_TABLE is required; TTL must be at least 1 (got '0'); "
        "RATIO must be a number (got 'lots'); ENABLED must be true or false (got 'maybe'); "
        "MODE must be one of emf, api, off (got 'xml')"
    )


def test_check_reports_problems_across_several_classes():
    with pytest.raises(ConfigError, match=r"PORT must be at most 65535 .*PRODUCTS_TABLE is required"):
        check(KitSettings, Example, environ={"PORT": "70000"})


def test_kit_defaults_suit_a_container_behind_an_alb():
    kit = load(KitSettings, {})
    assert kit.port == 8080 and kit.host == "0.0.0.0"
    assert kit.keepalive_seconds > 60  # longer than the ALB's idle timeout
