"""docker-compose.yml held to what the project really has. No Docker engine runs on our machines, so the file is
parsed and every command, config file, mount, port and health check is checked against the repository."""

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from firmware_sim.cli import parser as sim_parser
from firmware_sim.home import device_name, tls_files
from hub.cli import _parser as hub_parser
from hub.core.config import HubSettings
from hub.environment_export import InfluxSettings, RoomReading
from hub.rules.environment import EnvironmentLimits

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
DOCKERFILE = (ROOT / "docker" / "Dockerfile").read_text()
HUB_SERVICES = ("migrate", "hub-worker", "hub-api")
DEMO_SERVICES = ("sim-certs", "sim-admin", "sim")


def mounts(service: str) -> dict[str, str]:
    """Container path → host source (a repo path, or a named volume)."""
    found = {}
    for volume in SERVICES[service].get("volumes", []):
        source, target = volume.split(":")[:2]
        found[target] = source
    return found


def entrypoint(target: str) -> list[str]:
    stage = DOCKERFILE.split(f" AS {target}\n")[1].split("\nFROM ")[0]
    (line,) = re.findall(r"^ENTRYPOINT (\[.*\])$", stage, flags=re.M)
    return yaml.safe_load(line)


@pytest.fixture(scope="module")
def made_certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("certs")
    subprocess.run(["sh", str(ROOT / "scripts" / "make-certs.sh"), "-d", str(folder), "all"], check=True,
                   capture_output=True)
    return folder


def test_the_stack_has_every_part_of_the_issue_and_the_sim_only_in_the_demo_profile() -> None:
    assert set(SERVICES) == {"mosquitto", "postgres", "influxdb", "grafana", "migrate", "hub-worker", "hub-api",
                             *DEMO_SERVICES}
    assert [name for name, service in SERVICES.items() if "profiles" in service] == list(DEMO_SERVICES)
    for name in DEMO_SERVICES:
        assert SERVICES[name]["profiles"] == ["demo"]


def test_images_are_built_from_the_repository_dockerfile_targets() -> None:
    for name in (*HUB_SERVICES, *DEMO_SERVICES):
        build = SERVICES[name]["build"]
        assert (ROOT / build["context"] / build["dockerfile"]).resolve() == ROOT / "docker" / "Dockerfile"
        assert f" AS {build['target']}\n" in DOCKERFILE
    for copied in re.findall(r"^COPY (\S+) ", DOCKERFILE, flags=re.M):
        assert (ROOT / copied).exists(), copied
    assert entrypoint("hub") == ["python", "-m", "hub"]
    assert entrypoint("sim") == ["python", "-m", "firmware_sim"]
    assert {SERVICES[name]["build"]["target"] for name in DEMO_SERVICES} == {"sim"}


def test_every_hub_command_is_one_the_hub_cli_has() -> None:
    assert SERVICES["migrate"]["command"] == ["migrate"]
    assert SERVICES["hub-worker"]["command"] == ["worker"]
    for name in HUB_SERVICES:
        args = hub_parser().parse_args(SERVICES[name]["command"])
        assert args.command == SERVICES[name]["command"][0]
    api = hub_parser().parse_args(SERVICES["hub-api"]["command"])
    assert (api.host, api.port) == ("0.0.0.0", 8000)
    assert SERVICES["hub-api"]["ports"] == [f"{api.port}:{api.port}"]
    assert f"http://127.0.0.1:{api.port}/api/v1/health" in " ".join(SERVICES["hub-api"]["healthcheck"]["test"])


def test_the_health_path_the_api_check_calls_is_a_route_of_the_api(tmp_path: Path) -> None:
    from hub.api.app import create_app

    check = " ".join(SERVICES["hub-api"]["healthcheck"]["test"])
    path = re.search(r"http://127\.0\.0\.1:8000(/[^'\"]*)", check).group(1)  # type: ignore[union-attr]
    app = create_app(HubSettings(database_url=f"sqlite:///{tmp_path / 'hub.db'}", _env_file=None))
    assert "get" in app.openapi()["paths"][path]


def test_the_simulated_home_goes_through_the_production_broker_each_door_as_its_own_identity() -> None:
    sim = SERVICES["sim"]
    args = sim_parser().parse_args(sim["command"])
    assert args.command == "run" and args.loop and args.rooms == 12
    assert "network_mode" not in sim, "the sim joins the compose network, as a door joins the home's"
    # The broker the stack runs, on the port its production config listens on.
    config = (ROOT / "config" / "mosquitto" / "production.conf").read_text()
    (port,) = re.findall(r"^listener (\d+)$", config, flags=re.M)
    assert (args.broker_host, args.broker_port) == ("mosquitto", int(port))
    assert sim["depends_on"]["mosquitto"]["condition"] == "service_healthy"
    # Its TLS folder holds the CA and the doors' certificates the sim-certs service issues into ./certs/devices.
    sim_mounts = mounts("sim")
    assert sim_mounts[str(args.tls_dir / "ca.crt")] == "./certs/ca.crt"
    assert sim_mounts[str(args.tls_dir / "devices")] == "./certs/devices"
    certs_mounts = mounts("sim-certs")
    workdir = Path(SERVICES["sim-certs"]["working_dir"])
    assert certs_mounts[str(workdir / "certs")] == "./certs"
    assert sim["depends_on"]["sim-certs"]["condition"] == "service_completed_successfully"


def test_the_sim_registers_its_doors_through_the_hub_api_with_the_token_sim_admin_makes() -> None:
    sim, admin = SERVICES["sim"], SERVICES["sim-admin"]
    args = sim_parser().parse_args(sim["command"])
    api = hub_parser().parse_args(SERVICES["hub-api"]["command"])
    assert args.register_at == f"http://hub-api:{api.port}"
    assert sim["depends_on"]["hub-api"]["condition"] == "service_healthy"
    assert sim["depends_on"]["sim-admin"]["condition"] == "service_completed_successfully"
    # sim-admin writes the token and the hub key into the volume the sim reads them from.
    (data,) = [target for target, source in mounts("sim").items() if source == "sim-data"]
    assert mounts("sim-admin")[data] == "sim-data" and "sim-data" in COMPOSE["volumes"]
    script = admin["command"][0]
    for written in (args.admin_token_file, args.hub_public_key_file):
        assert written.parent == Path(data)
        assert f"> {written}" in script
    # Each hub command in its script is one the hub CLI has, as the hub's own database and key see it.
    commands = [part.split(">")[0].split() for part in re.split(r"[;|&]+", script) if "python -m hub" in part]
    parsed = [hub_parser().parse_args(command[3:]) for command in commands]
    assert [(found.command, getattr(found, "action", None)) for found in parsed] == [
        ("account", "add"), ("token", "create"), ("hub-key", None)]
    assert parsed[0].role == "admin" and parsed[0].username == parsed[1].username
    assert {key: value for key, value in admin["environment"].items() if key.startswith("THRESHOLD_HUB_")} == \
        SERVICES["hub-worker"]["environment"]
    assert mounts("sim-admin")["/var/lib/threshold"] == "hub-data"
    assert admin["depends_on"]["hub-api"]["condition"] == "service_healthy"  # the API makes the hub key


def test_sim_certs_issues_every_door_its_own_certificate_from_the_hosts_ca(tmp_path: Path) -> None:
    """The service's own script, run against a CA made as the compose file's header says (from the repo root)."""
    host = tmp_path / "host"
    host.mkdir()
    subprocess.run(["sh", str(ROOT / "scripts" / "make-certs.sh"), "all", "mosquitto"], cwd=host, check=True,
                   capture_output=True)
    workdir = tmp_path / "container"
    workdir.mkdir()
    (workdir / "certs").symlink_to(host / "certs")  # the bind mount ./certs:{working_dir}/certs
    script = SERVICES["sim-certs"]["command"][0].replace("$$", "$").replace("/app/scripts/", f"{ROOT}/scripts/")
    assert SERVICES["sim-certs"]["entrypoint"] == ["sh", "-c"]

    for _ in range(2):  # a second `up` keeps what the first made
        done = subprocess.run(["sh", "-c", script], cwd=workdir, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    rooms = sim_parser().parse_args(SERVICES["sim"]["command"]).rooms
    for number in range(1, rooms + 1):
        files = tls_files(host / "certs", device_name(number))
        subject = subprocess.run(["openssl", "x509", "-in", str(files["tls_cert_file"]), "-noout", "-subject"],
                                 capture_output=True, text=True, check=True).stdout
        assert subject.strip() == f"subject=CN = {device_name(number)}"
    assert len(list((host / "certs" / "devices").glob("*.crt"))) == rooms


def test_migrations_run_once_before_any_hub_process_starts() -> None:
    assert SERVICES["migrate"]["restart"] == "no"
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("hub-worker", "hub-api"):
        depends = SERVICES[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"
    assert SERVICES["hub-worker"]["depends_on"]["mosquitto"]["condition"] == "service_healthy"
    assert SERVICES["hub-worker"]["deploy"]["replicas"] == 1
    assert "container_name" not in SERVICES["hub-api"], "the API must be free to scale"


def test_every_setting_given_to_the_hub_is_one_it_reads() -> None:
    known = {f"THRESHOLD_HUB_{name.upper()}" for name in HubSettings.model_fields}
    known |= {f"THRESHOLD_HUB_INFLUX_{name.upper()}" for name in InfluxSettings.model_fields}
    for name in HUB_SERVICES:
        environment = SERVICES[name]["environment"]
        assert set(environment) <= known, set(environment) - known
    environment = SERVICES["hub-worker"]["environment"]
    # The worker and the API (its live streams and what people do) both talk to the broker.
    for name in ("hub-worker", "hub-api"):
        for setting in ("MQTT_TLS_CA_FILE", "MQTT_TLS_CERT_FILE", "MQTT_TLS_KEY_FILE"):
            assert SERVICES[name]["environment"][f"THRESHOLD_HUB_{setting}"] in mounts(name)
        assert SERVICES[name]["depends_on"]["mosquitto"]["condition"] == "service_healthy"
    assert environment["THRESHOLD_HUB_MQTT_PORT"] == "8883"
    assert environment["THRESHOLD_HUB_MQTT_HOST"] == "mosquitto"
    assert environment["THRESHOLD_HUB_DATABASE_URL"].startswith("postgresql+psycopg://threshold:")
    assert environment["THRESHOLD_HUB_DATABASE_URL"].endswith("@postgres:5432/threshold")
    data = Path("/var/lib/threshold")
    assert mounts("hub-worker")[str(data)] == "hub-data"
    for setting in ("KEY_FILE", "INFLUX_SPOOL_FILE"):
        assert Path(environment[f"THRESHOLD_HUB_{setting}"]).parent == data


def test_every_variable_the_file_uses_is_in_env_example() -> None:
    example = {line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines()
               if line and not line.startswith("#")}
    used = set(re.findall(r"\$\{([A-Z_]+)", (ROOT / "docker-compose.yml").read_text()))
    assert used <= example, used - example


def test_mounted_repository_files_exist_and_certificates_are_what_make_certs_makes(made_certs: Path) -> None:
    for name, service in SERVICES.items():
        for target, source in mounts(name).items():
            if source in ("./certs", "./certs/devices"):
                continue  # folders: the one make-certs.sh writes, and the doors' certificates sim-certs issues
            if source.startswith("./certs/"):
                assert (made_certs / source.removeprefix("./certs/")).is_file(), f"{name}: {source}"
            elif source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: {source}"
            else:
                assert source in COMPOSE["volumes"], f"{name}: {source} is not a named volume"


def test_data_lives_in_named_volumes() -> None:
    assert mounts("postgres")["/var/lib/postgresql/data"] == "postgres-data"
    assert mounts("influxdb")["/var/lib/influxdb2"] == "influxdb-data"
    assert mounts("grafana")["/var/lib/grafana"] == "grafana-data"
    assert mounts("mosquitto")["/mosquitto/data"] == "mosquitto-data"


def test_the_broker_runs_the_production_config_with_every_file_it_names_mounted() -> None:
    command = SERVICES["mosquitto"]["command"]
    assert command[:2] == ["mosquitto", "-c"]
    broker_mounts = mounts("mosquitto")
    assert broker_mounts[command[2]] == "./config/mosquitto/production.conf"
    config = (ROOT / "config" / "mosquitto" / "production.conf").read_text()
    named = dict(re.findall(r"^(cafile|certfile|keyfile|crlfile|acl_file|persistence_location) (\S+)$", config,
                            flags=re.M))
    assert set(named) == {"cafile", "certfile", "keyfile", "crlfile", "acl_file", "persistence_location"}
    for key, path in named.items():
        assert path.rstrip("/") in broker_mounts, f"{key} {path} is not mounted"
    assert broker_mounts[named["acl_file"]] == "./config/mosquitto/acl"
    (port,) = re.findall(r"^listener (\d+)$", config, flags=re.M)
    assert SERVICES["mosquitto"]["ports"] == [f"{port}:{port}"]
    health = SERVICES["mosquitto"]["healthcheck"]["test"]
    assert health[health.index("-p") + 1] == port
    for flag in ("--cafile", "--cert", "--key"):
        assert health[health.index(flag) + 1] in broker_mounts


def test_every_service_that_serves_has_a_health_check() -> None:
    for name in ("mosquitto", "postgres", "influxdb", "grafana", "hub-api"):
        assert SERVICES[name]["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name


def test_grafana_reads_the_provisioned_datasource_and_the_dashboard_the_repo_has() -> None:
    grafana = mounts("grafana")
    assert grafana["/etc/grafana/provisioning"] == "./config/grafana/provisioning"
    provider = yaml.safe_load((ROOT / "config/grafana/provisioning/dashboards/threshold.yaml").read_text())
    dashboards_path = provider["providers"][0]["options"]["path"]
    assert grafana[dashboards_path] == "./config/grafana/dashboards"
    datasource = yaml.safe_load((ROOT / "config/grafana/provisioning/datasources/influxdb.yaml").read_text())
    (source,) = datasource["datasources"]
    assert source["url"] == SERVICES["hub-worker"]["environment"]["THRESHOLD_HUB_INFLUX_URL"]
    for variable in re.findall(r"\$\{(\w+)\}", yaml.safe_dump(source)):
        assert variable in SERVICES["grafana"]["environment"]


def test_the_dashboard_charts_what_the_export_writes_with_the_hubs_alert_limits() -> None:
    import json

    dashboard = json.loads((ROOT / "config/grafana/dashboards/room-environment.json").read_text())
    datasource = yaml.safe_load((ROOT / "config/grafana/provisioning/datasources/influxdb.yaml").read_text())
    uid = datasource["datasources"][0]["uid"]
    written = {line.split(",")[0]: line.split(" ")[1].split("=")[0] for line in RoomReading(
        home="h", room="r", device="d", ts_ms=0, temp_c_x100=2000, rh_x100=4000, co2_ppm=600).line_protocol()}
    charted = {}
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == uid
        (query,) = re.findall(r'r._measurement == "(\w+)" and r._field == "(\w+)"', panel["targets"][0]["query"])
        charted[query[0]] = (query[1], [step["value"] for step in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]])
    assert {measurement: field for measurement, (field, _) in charted.items()} == written
    limits = EnvironmentLimits()
    assert charted["temperature"][1][1:] == [limits.temp_min_c_x100 / 100, limits.temp_max_c_x100 / 100]
    assert charted["humidity"][1][1:] == [limits.rh_min_x100 / 100, limits.rh_max_x100 / 100]
