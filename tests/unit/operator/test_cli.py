"""`python -m handtracker_operator` options and the environment they fall back to."""

from __future__ import annotations

import pytest
from handtracker_operator.__main__ import parse_args
from handtracker_operator.settings import OPTIONS, OperatorConfig
from handtracker_operator.spec import DEFAULT_IMAGE


def test_defaults_are_local_and_clusterwide(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HANDTRACKER_LIVENESS", "HANDTRACKER_METRICS_PORT", "HANDTRACKER_PEERING",
                "HANDTRACKER_DEFAULT_IMAGE", "HANDTRACKER_METRICS_ADDRESS"):
        monkeypatch.delenv(var, raising=False)
    args = parse_args([])
    assert args.namespaces == []
    assert args.liveness == "http://127.0.0.1:8081/healthz"  # 8080 is the workload's port
    assert args.metrics_address == "127.0.0.1"
    assert args.peering == ""
    assert args.default_image == DEFAULT_IMAGE


def test_options_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDTRACKER_DEFAULT_IMAGE", "registry.example/ht:2")
    args = parse_args(["-n", "a", "--namespace", "b", "--peering", "ht", "--metrics-port", "0"])
    assert args.namespaces == ["a", "b"]
    assert args.peering == "ht" and args.metrics_port == 0
    assert args.concurrency == 4
    monkeypatch.setenv("HANDTRACKER_CONCURRENCY", "16")
    assert parse_args([]).concurrency == 16
    assert parse_args(["--concurrency", "2"]).concurrency == 2
    assert (args.api_qps, args.api_burst) == (100.0, 200)
    limited = parse_args(["--api-qps", "5", "--api-burst", "10"])
    assert (limited.api_qps, limited.api_burst) == (5.0, 10)
    assert args.default_image == "registry.example/ht:2"


def test_config_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDTRACKER_NAMESPACES", "x,y")
    monkeypatch.setenv("HANDTRACKER_RESYNC_SECONDS", "30")
    config = OperatorConfig.from_env()
    assert config.namespaces == ("x", "y") and config.resync_seconds == 30


def test_the_command_line_and_the_environment_are_one_settings_path() -> None:
    """Every option defaults to its variable, and then to the same default either way."""
    env = {"HANDTRACKER_METRICS_PORT": "9191", "HANDTRACKER_NAMESPACES": "a,b",
           "HANDTRACKER_API_QPS": "7.5"}
    for given in ({}, env):
        from_args = OperatorConfig.from_args(parse_args([], env=given))
        from_env = OperatorConfig.from_env(given)
        for option in OPTIONS:
            assert getattr(from_args, option.field) == getattr(from_env, option.field), (
                option.flag, given)
    assert OperatorConfig.from_env({}).metrics_port == 9090
    assert OperatorConfig.from_args(parse_args(["-n", "c"], env=env)).namespaces == ("c",)
