#!/usr/bin/env sh
# Self-signed alternative to cert-manager: makes a CA and a serving
# certificate for the webhook Service, stores them in the entitlegate-tls
# Secret, and prints the caBundle to patch into the ValidatingWebhookConfiguration.
#   ./gen-certs.sh [NAMESPACE] [SERVICE]
# Needs openssl and kubectl. Keys stay in a temp dir that is removed on exit.
set -eu
NS="${1:-entitlegate}"
SVC="${2:-entitlegate}"
DAYS="${DAYS:-365}"
DIR="$(mktemp -d)"
trap 'rm -rf "$DIR"' EXIT
cd "$DIR"

openssl req -x509 -newkey rsa:2048 -nodes -days "$DAYS" -keyout ca.key -out ca.crt -subj "/CN=entitlegate-ca" 2>/dev/null
cat > ext.cnf <<EXT
subjectAltName=DNS:${SVC}.${NS}.svc,DNS:${SVC}.${NS}.svc.cluster.local
extendedKeyUsage=serverAuth
keyUsage=digitalSignature,keyEncipherment
EXT
openssl req -newkey rsa:2048 -nodes -keyout tls.key -out tls.csr -subj "/CN=${SVC}.${NS}.svc" 2>/dev/null
openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days "$DAYS" -out tls.crt -extfile ext.cnf 2>/dev/null

kubectl -n "$NS" create secret tls entitlegate-tls --cert=tls.crt --key=tls.key --dry-run=client -o yaml | kubectl apply -f -

CA_BUNDLE="$(base64 < ca.crt | tr -d '\n')"
echo "caBundle: ${CA_BUNDLE}"
echo
echo "Patch it in (after removing the cert-manager.io/inject-ca-from annotation):"
echo "  kubectl patch validatingwebhookconfiguration entitlegate --type=json \\"
echo "    -p '[{\"op\":\"replace\",\"path\":\"/webhooks/0/clientConfig/caBundle\",\"value\":\"${CA_BUNDLE}\"}]'"
