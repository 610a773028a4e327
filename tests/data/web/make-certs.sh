#!/bin/sh
# make-certs.sh: generates the test CA, server certificate and key used by the web (TLS) tests.
# Run once; the outputs are committed. Long validity so the tests never expire; not for production.
# Outputs: ca.pem (test CA), server.pem (127.0.0.1, ::1 and localhost, signed by the CA), server-key.pem,
# other-ca.pem (an unrelated CA, for "wrong CA" checks), server2.pem/server2-key.pem (a second certificate
# from the same CA, for reload checks).
set -eu
cd "$(dirname "$0")"
days=36500
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ca() { # name subject
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/$1-key.pem" \
		-out "$1.pem" -days "$days" -subj "$2" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}

server() { # name serial-subject
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1-key.pem" \
		-out "$tmp/$1.csr" -subj "$2"
	printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost" >"$tmp/$1.ext"
	openssl x509 -req -in "$tmp/$1.csr" -CA ca.pem -CAkey "$tmp/ca-key.pem" -CAcreateserial \
		-CAserial "$tmp/ca.srl" -out "$1.pem" -days "$days" -extfile "$tmp/$1.ext"
	chmod 644 "$1-key.pem"
}

ca ca "/CN=deadline-cloud-exporter test CA"
server server "/CN=127.0.0.1"
server server2 "/CN=localhost"
ca other-ca "/CN=deadline-cloud-exporter unrelated test CA"
