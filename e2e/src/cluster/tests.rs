//! The objects `create_namespace` and `create_tls_secret` send are the ones they wrote
//! as JSON literals before those moved to `e2e/objects/`: the literals, same inputs.

use super::*;

#[test]
fn the_namespace_is_the_one_the_json_literal_made() {
    let name = "kiada-e2e-0123abcd";
    let old: Namespace = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {
                "app.kubernetes.io/part-of": "kiada-suite",
                "app.kubernetes.io/managed-by": "kiada-e2e",
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
                "pod-security.kubernetes.io/warn": "restricted",
                "pod-security.kubernetes.io/warn-version": "latest",
            }
        }
    }))
    .unwrap();
    assert_eq!(namespace_object(name).unwrap(), old);
}

#[test]
fn the_tls_secret_is_the_one_the_json_literal_made() {
    let cert_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    let key_pem = "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n";
    let old: Secret = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {
            "name": "kiada-tls",
            "labels": {
                "app": "kiada",
                "app.kubernetes.io/name": "kiada",
                "app.kubernetes.io/part-of": "kiada-suite",
            }
        },
        "stringData": { "tls.crt": cert_pem, "tls.key": key_pem }
    }))
    .unwrap();
    let new = tls_secret(cert_pem, key_pem).unwrap();
    assert_eq!(new, old);
    // Compared as JSON too: the typed Secret would hide a field it has no place for.
    assert_eq!(
        serde_json::to_value(&new).unwrap(),
        serde_json::to_value(&old).unwrap()
    );
}
