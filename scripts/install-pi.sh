#!/bin/sh
# Install the Threshold door agent on Raspberry Pi OS (run as root from a checkout of this repository):
#
#   sudo scripts/install-pi.sh --device door-01 --site home-1 --broker hub.home.lan --hub-key <hub public key>
#
# It makes a virtual environment with only the edge extra (no web or database libraries), a `threshold-edge`
# system user, /etc/threshold/edge.toml (kept if it exists), the persistent data folder /var/lib/threshold-edge
# (device key, outbox, last good config, TLS key), and the systemd unit, which makes the device key on first start
# and restarts the agent whenever it stops. It prints what the admin needs: the device id, its public key (to
# register at the hub) and a certificate request (to sign with scripts/make-certs.sh device ID CSR).
# See docs/PI_INSTALL.md for the wiring and the provisioning steps.
set -eu

DEVICE="" SITE="" BROKER="" HUB_KEY="" PORT=8883
PREFIX=/opt/threshold-edge
CONF_DIR=/etc/threshold
DATA_DIR=/var/lib/threshold-edge
SOURCE=$(cd "$(dirname "$0")/.." && pwd)

while [ $# -gt 0 ]; do
	case $1 in
		--device) DEVICE=$2; shift 2 ;;
		--site) SITE=$2; shift 2 ;;
		--broker) BROKER=$2; shift 2 ;;
		--port) PORT=$2; shift 2 ;;
		--hub-key) HUB_KEY=$2; shift 2 ;;
		*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done
for value in "$DEVICE" "$SITE"; do
	printf '%s' "$value" | grep -Eqx '[a-z0-9-]{1,64}' || { echo "--device and --site: 1-64 characters of [a-z0-9-]" >&2; exit 2; }
done
[ -n "$BROKER" ] && [ -n "$HUB_KEY" ] || { echo "--broker and --hub-key are required" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "run as root (sudo)" >&2; exit 1; }

apt-get install -y -qq python3-venv python3-lgpio openssl >/dev/null
id threshold-edge >/dev/null 2>&1 || useradd --system --home-dir "$DATA_DIR" --shell /usr/sbin/nologin threshold-edge
for group in gpio i2c; do getent group "$group" >/dev/null && usermod -aG "$group" threshold-edge; done

# --system-site-packages: lgpio comes from Raspberry Pi OS's own package, built for its kernel.
python3 -m venv --system-site-packages "$PREFIX"
"$PREFIX/bin/pip" install -q --upgrade pip
"$PREFIX/bin/pip" install -q "$SOURCE[edge]"
# The room sensor (BME280 over I2C) needs smbus2; edge/env_sensor.py imports it only when configured.
"$PREFIX/bin/pip" install -q smbus2
ln -sf "$PREFIX/bin/threshold-edge" /usr/local/bin/threshold-edge

install -d -m 0755 "$CONF_DIR"
install -d -m 0700 -o threshold-edge -g threshold-edge "$DATA_DIR" "$DATA_DIR/tls"
if [ ! -f "$CONF_DIR/edge.toml" ]; then
	cat > "$CONF_DIR/edge.toml" <<TOML
# Threshold door agent (edge/settings.py AgentSettings). Pins are BCM numbers: see docs/PI_INSTALL.md.
device_id = "$DEVICE"
site = "$SITE"
data_dir = "$DATA_DIR"
broker_host = "$BROKER"
broker_port = $PORT
tls_ca_file = "$DATA_DIR/tls/ca.crt"
tls_cert_file = "$DATA_DIR/tls/device.crt"
tls_key_file = "$DATA_DIR/tls/device.key"
hub_public_key = "$HUB_KEY"
env_sensor = "bme280"

[doors.d1]
contact = 17
knock = 27
come_in = 22
not_now = 23
dnd = 24
help = 25
led_red = 5
led_green = 6
led_blue = 13
buzzer = 19
motion = 26
TOML
fi

# The TLS key is made here and never leaves the Pi; the admin signs the request.
if [ ! -f "$DATA_DIR/tls/device.key" ]; then
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$DATA_DIR/tls/device.key" 2>/dev/null
	openssl req -new -key "$DATA_DIR/tls/device.key" -subj "/CN=$DEVICE" -out "$DATA_DIR/tls/device.csr"
	chown threshold-edge:threshold-edge "$DATA_DIR/tls/device.key" "$DATA_DIR/tls/device.csr"
	chmod 600 "$DATA_DIR/tls/device.key"
fi

install -m 0644 "$SOURCE/edge/systemd/threshold-edge.service" /etc/systemd/system/threshold-edge.service
systemctl daemon-reload
systemctl enable threshold-edge >/dev/null

# The device key, made now as the agent's own user (the unit's ExecStartPre does the same on every start).
runuser -u threshold-edge -- /usr/local/bin/threshold-edge keygen --config "$CONF_DIR/edge.toml"
echo
echo "Register this door at the hub:  threshold-hub device add --site $SITE --device $DEVICE --public-key <key above> --door d1=<room>"
echo "Sign its broker identity:       scripts/make-certs.sh device $DEVICE device.csr   (the request is below)"
cat "$DATA_DIR/tls/device.csr"
echo "Then copy ca.crt and devices/$DEVICE.crt to $DATA_DIR/tls/ca.crt and $DATA_DIR/tls/device.crt and run:"
echo "  systemctl start threshold-edge"
