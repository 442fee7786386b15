"""A simulated home's doors registered at a running hub through its API, as an installer's admin account would.

POST /api/v1/devices with an admin's bearer token, one door at a time. A door the hub already has with the same
key and rooms counts as registered (the sim restarted with its keys kept); with another key it is an error.
"""

import json
import urllib.error
import urllib.request
from typing import Any

from firmware_sim.home import SimulatedHome

TOKEN_ENV = "THRESHOLD_SIM_ADMIN_TOKEN"


class RegistrationError(Exception):
    """The hub refused a door, or could not be asked."""


def _call(method: str, url: str, token: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        text = error.read().decode("utf-8", "replace")
        try:
            return error.code, json.loads(text)
        except ValueError:
            return error.code, {"detail": text}
    except OSError as error:
        raise RegistrationError(f"cannot reach the hub at {url}: {error}") from None


def register_at_hub(home: SimulatedHome, hub_url: str, token: str) -> list[str]:
    """Register every door of `home`; one line per door saying what the hub made of it."""
    base = hub_url.rstrip("/")
    done: list[str] = []
    registered: dict[str, Any] | None = None
    for site, device, public_key, doors in home.devices():
        wanted = {"site": site, "device": device, "public_key": public_key, "doors": doors}
        status, answer = _call("POST", f"{base}/api/v1/devices", token, wanted)
        if status == 201:
            done.append(f"{device}: registered at {site}")
            continue
        if status != 409:
            raise RegistrationError(f"the hub refused {device}: HTTP {status} {answer.get('detail', answer)}")
        if registered is None:
            status, listed = _call("GET", f"{base}/api/v1/devices?site={site}", token)
            if status != 200:
                raise RegistrationError(f"cannot list {site}'s devices: HTTP {status} {listed}")
            registered = {entry["id"]: entry for entry in listed}
        known = registered.get(device, {})
        if (known.get("site"), known.get("public_key"), known.get("doors")) != (site, public_key, doors):
            raise RegistrationError(f"{device} is registered at the hub with another key, site or doors; retire it "
                                    "there, or give the sim the data folder holding its key")
        done.append(f"{device}: already registered at {site}")
    return done
