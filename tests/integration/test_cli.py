"""The command line, as an operator meets it: every bad value is refused with the flag and
the value named, exit status 2 and a one-line hint; nothing starts."""
import subprocess

import pytest

from conftest import STATION


@pytest.mark.parametrize("args,flag,value", [
    (["--port", "abc"], "--port", '"abc"'),
    (["--port", "99999"], "--port", '"99999"'),
    (["--port", "-1"], "--port", '"-1"'),
    (["--workers", "0"], "--workers", '"0"'),
    (["--workers", "1000"], "--workers", '"1000"'),
    (["--shutdown-ms", "soon"], "--shutdown-ms", '"soon"'),
    (["--log-level", "verbose"], "--log-level", '"verbose"'),
    (["--log-format", "yaml"], "--log-format", '"yaml"'),
    (["--host", ""], "--host", "empty"),
    (["--spool-dir", ""], "--spool-dir", "empty"),
    (["send", "--repeat", "x", "station_one"], "--repeat", '"x"'),
    (["send", "--streams", "65", "station_one"], "--streams", '"65"'),
    (["send", "--linger-ms", "5000", "station_one"], "--linger-ms", '"5000"'),
])
def test_bad_values_are_named_and_refused(args, flag, value):
    p = subprocess.run([STATION] + args, capture_output=True, text=True, timeout=30)
    assert p.returncode == 2, p.stderr
    first, hint = p.stderr.strip().split("\n")
    assert flag in first and value in first, p.stderr
    assert hint.startswith("Try 'zerobus-station") and hint.endswith("--help'.")
    assert p.stdout == ""  # nothing started: no READY line


@pytest.mark.parametrize("args,words", [
    (["--bogus"], "unknown option --bogus"),
    (["--port"], "--port needs a value"),
    (["check", "--port", "1"], "--port is not an option of check"),
    (["proto"], "proto needs a TABLE argument"),
    (["proto", "a", "b"], "unexpected argument b"),
    (["spool", "sideways"], "say status, or dump TABLE"),
    (["help-config", "extra"], "unexpected argument extra"),
    (["nonsense"], 'unknown command "nonsense"'),
])
def test_usage_errors_exit_2(args, words):
    p = subprocess.run([STATION] + args, capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and words in p.stderr, p.stderr


def test_help_and_version_exit_0():
    for args in (["--help"], ["check", "--help"], ["spool", "--help"], ["--version"],
                 ["send", "--version"]):
        p = subprocess.run([STATION] + args, capture_output=True, text=True, timeout=30)
        assert p.returncode == 0 and p.stdout and not p.stderr, (args, p.stderr)
