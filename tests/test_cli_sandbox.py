"""`wooxy-bulk sandbox` as a real process: it serves, says how to use it, and stops on Ctrl-C."""

from __future__ import annotations

import signal
import socket

import httpx
from conftest import cli_env, start_cli

BODY = {"domain": "shop.example.com", "phoneNumber": "+447400100000", "text": "Hi"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sandbox_serves_until_ctrl_c() -> None:
    """It prints its URL and how to point a campaign at it, serves the API, and stops cleanly."""
    port = free_port()
    proc = start_cli(
        "sandbox",
        "--port",
        port,
        "--token",
        "rehearsal",
        "--blacklist",
        "+447400100001",
        env=cli_env(key=None),
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = f"http://127.0.0.1:{port}/v3"
        assert first.strip() == f"Wooxy sandbox listening on {url}"
        assert (
            f"WOOXY_API_URL={url} WOOXY_API_KEY=rehearsal"
            in proc.stdout.readline() + proc.stdout.readline()
        )
        ok = httpx.post(f"{url}/sms/send", json=BODY, headers={"Access-Token": "rehearsal"})
        assert ok.json()["result"] is True
        refused = httpx.post(
            f"{url}/sms/send",
            json={**BODY, "phoneNumber": "+447400100001"},
            headers={"Access-Token": "rehearsal"},
        )
        assert refused.json() == {
            "result": False,
            "errors": ["Phone number +447400100001 is blacklisted"],
        }
        listed = httpx.get(f"http://127.0.0.1:{port}/sandbox/messages").json()
        assert [m["phoneNumber"] for m in listed] == ["+447400100000"]
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "Sandbox stopped." in out


def test_a_port_in_use_is_a_clear_error() -> None:
    """A busy port: exit 2 with a message naming the port, no traceback."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = start_cli("sandbox", "--port", port, env=cli_env(key=None))
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert err.startswith("Error: ") and str(port) in err
    assert "Traceback" not in err


def test_sandbox_delivery_and_balance_options() -> None:
    """--delivery-delay-s, --delivery-fail-rate and --balance shape sms/info and account/info."""
    port = free_port()
    options = ("--delivery-delay-s", 0, "--delivery-fail-rate", 1, "--balance", 3)
    proc = start_cli("sandbox", "--port", port, *options, env=cli_env(key=None))
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        url, headers = f"http://127.0.0.1:{port}/v3", {"Access-Token": "sandbox"}
        sms_id = httpx.post(f"{url}/sms/send", json=BODY, headers=headers).json()["sms_id"]
        info = httpx.post(f"{url}/sms/info", json={"ids": [sms_id]}, headers=headers).json()
        account = httpx.post(f"{url}/account/info", headers=headers).json()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert info["data"][sms_id]["status"] == "failed"
    assert account == {"result": True, "accountName": "sandbox", "accountBalance": 0.1}
