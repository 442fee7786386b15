#!/bin/sh
# Threshold's private certificate authority for the broker (Mosquitto with TLS, an identity per client).
#
#   scripts/make-certs.sh [-d DIR] ca                   the CA (once per home or group) and an empty revocation list
#   scripts/make-certs.sh [-d DIR] broker [NAME|IP...]  the broker's certificate; the names clients dial it by
#                                                      (default: mosquitto localhost 127.0.0.1)
#   scripts/make-certs.sh [-d DIR] hub                  the hub's client certificate (identity threshold.hub)
#   scripts/make-certs.sh [-d DIR] device ID [CSR]      a door agent's certificate, CN = its device id; given the
#                                                      CSR the Pi made (scripts/install-pi.sh), its key never
#                                                      leaves the Pi; without one, a key is made here
#   scripts/make-certs.sh [-d DIR] revoke ID            revoke a device (or threshold.hub) and renew the list;
#                                                      restart the broker to load it
#   scripts/make-certs.sh [-d DIR] all [NAME|IP...]     ca, broker and hub for a new install (keeps what exists)
#
# DIR defaults to ./certs. Mosquitto takes each client's identity from its certificate's CN
# (use_identity_as_username), and the ACL (config/mosquitto/acl) grants by that identity. Device ids are
# [a-z0-9-], so no device can be issued the hub's or the broker's identity, which contain a dot.
set -eu

DIR=certs
if [ "${1:-}" = "-d" ]; then DIR=$2; shift 2; fi
# The CA's openssl.cnf records its own paths: absolute, so the script works from any folder.
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
COMMAND=${1:-}
[ -n "$COMMAND" ] || { sed -n '2,18p' "$0"; exit 2; }
shift

HUB_ID=threshold.hub
BROKER_ID=threshold.broker
CA_DAYS=${THRESHOLD_CA_DAYS:-3650}
CERT_DAYS=${THRESHOLD_CERT_DAYS:-825}
CADIR=$DIR/ca

die() { echo "make-certs: $*" >&2; exit 1; }

ca_config() {
	cat <<EOF
[ca]
default_ca = threshold_ca
[threshold_ca]
database = $CADIR/index.txt
new_certs_dir = $CADIR/issued
serial = $CADIR/serial
crlnumber = $CADIR/crlnumber
certificate = $DIR/ca.crt
private_key = $CADIR/ca.key
default_md = sha256
default_days = $CERT_DAYS
# The broker refuses every client once the list is past its next update: keep it long, renew on each revoke.
default_crl_days = 3650
policy = any_name
unique_subject = no
copy_extensions = none
[any_name]
commonName = supplied
EOF
}

ca() {
	if [ -f "$DIR/ca.crt" ]; then echo "CA exists: $DIR/ca.crt"; return; fi
	mkdir -p "$CADIR/issued"
	chmod 700 "$CADIR"
	: > "$CADIR/index.txt"
	echo 1000 > "$CADIR/serial"
	echo 1000 > "$CADIR/crlnumber"
	ca_config > "$CADIR/openssl.cnf"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$CADIR/ca.key" 2>/dev/null
	chmod 600 "$CADIR/ca.key"
	openssl req -x509 -new -key "$CADIR/ca.key" -sha256 -days "$CA_DAYS" -subj "/CN=Threshold private CA" \
		-addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out "$DIR/ca.crt"
	crl
	echo "CA: $DIR/ca.crt (its key stays in $CADIR: keep it offline and backed up)"
}

crl() {
	openssl ca -batch -config "$CADIR/openssl.cnf" -gencrl -out "$DIR/crl.pem" 2>/dev/null
}

# issue NAME CN EXTENSIONS [CSR]: sign a certificate for CN into $DIR/NAME.crt (and a key, unless given a CSR)
issue() {
	name=$1 cn=$2 extensions=$3 csr=${4:-}
	[ -f "$CADIR/ca.key" ] || die "no CA in $DIR (run: $0 -d $DIR ca)"
	mkdir -p "$(dirname "$DIR/$name")"
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	if [ -z "$csr" ]; then
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$DIR/$name.key" 2>/dev/null
		chmod 600 "$DIR/$name.key"
		openssl req -new -key "$DIR/$name.key" -subj "/CN=$cn" -out "$work/req.csr"
		csr=$work/req.csr
	else
		openssl req -in "$csr" -noout -verify 2>/dev/null || die "$csr is not a valid signing request"
		subject=$(openssl req -in "$csr" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p')
		[ "$subject" = "$cn" ] || die "the request names CN '$subject', not '$cn'"
	fi
	printf '%s\n' "[ext]" "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
		"$extensions" > "$work/ext.cnf"
	openssl ca -batch -notext -config "$CADIR/openssl.cnf" -extfile "$work/ext.cnf" -extensions ext \
		-subj "/CN=$cn" -in "$csr" -out "$DIR/$name.crt" 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
	echo "issued $DIR/$name.crt (CN=$cn)"
}

broker() {
	[ $# -gt 0 ] || set -- mosquitto localhost 127.0.0.1
	san=""
	for name in "$@"; do
		case $name in
			*[!0-9.]*) entry="DNS:$name" ;;
			*) entry="IP:$name" ;;
		esac
		san=${san:+$san,}$entry
	done
	# clientAuth too: the broker's health check connects with this identity (config/mosquitto/acl).
	issue broker "$BROKER_ID" "extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$san"
}

device() {
	id=${1:-}
	printf '%s' "$id" | grep -Eqx '[a-z0-9-]{1,64}' || die "device id '$id' is not 1-64 characters of [a-z0-9-]"
	[ ! -f "$DIR/devices/$id.crt" ] || die "$id already has a certificate; revoke it first to issue another"
	issue "devices/$id" "$id" "extendedKeyUsage=clientAuth" "${2:-}"
}

revoke() {
	id=${1:-}
	case $id in
		"$HUB_ID") cert=$DIR/hub.crt ;;
		*) cert=$DIR/devices/$id.crt ;;
	esac
	[ -f "$cert" ] || die "no certificate for '$id' in $DIR"
	openssl ca -batch -config "$CADIR/openssl.cnf" -revoke "$cert" 2>/dev/null
	mv "$cert" "$cert.revoked-$(date -u +%Y%m%dT%H%M%SZ)"
	crl
	echo "revoked $id; restart the broker so it loads $DIR/crl.pem"
}

case $COMMAND in
	ca) ca ;;
	broker) broker "$@" ;;
	hub) issue hub "$HUB_ID" "extendedKeyUsage=clientAuth" ;;
	device) device "$@" ;;
	revoke) revoke "$@" ;;
	all)
		ca
		[ -f "$DIR/broker.crt" ] || broker "$@"
		[ -f "$DIR/hub.crt" ] || issue hub "$HUB_ID" "extendedKeyUsage=clientAuth"
		;;
	*) die "unknown command '$COMMAND' (ca, broker, hub, device, revoke, all)" ;;
esac
