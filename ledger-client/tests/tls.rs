//! Mutual TLS against a rustls server on 127.0.0.1 with certificates made for the test: the node's
//! certificate names "node0", not the address (as FISCO's do), and the SDK certificate is required.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use linli_ledger_client::rpc::tls::TlsFiles;
use linli_ledger_client::rpc::{RpcClient, RpcConfig, RpcError};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Ca {
    cert: CertificateDer<'static>,
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    Ca { cert: cert.der().clone(), pem: cert.pem(), issuer: Issuer::new(params, key) }
}

/// (certificate PEM, key PEM, certificate DER, key DER) of a leaf signed by `ca`.
fn leaf(ca: &Ca, name: &str) -> (String, String, CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    let der_key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    (cert.pem(), key.serialize_pem(), cert.der().clone(), der_key)
}

async fn node(chain_ca: &Ca) -> String {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(chain_ca.cert.clone()).unwrap();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build().unwrap();
    let (_, _, cert, key) = leaf(chain_ca, "node0");
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A handshake failure (untrusted client) just drops the connection.
                let Ok(mut tls) = acceptor.accept(sock).await else { return };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !String::from_utf8_lossy(&buf).contains("getBlockNumber") {
                    match tls.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let body = r#"{"id":1,"jsonrpc":"2.0","result":"0x2a"}"#;
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(resp.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    format!("https://127.0.0.1:{}", addr.port())
}

fn client(url: &str, dir: &std::path::Path, ca_pem: &str, cert_pem: &str, key_pem: &str) -> RpcClient {
    std::fs::write(dir.join("ca.crt"), ca_pem).unwrap();
    std::fs::write(dir.join("sdk.crt"), cert_pem).unwrap();
    std::fs::write(dir.join("sdk.key"), key_pem).unwrap();
    let mut cfg = RpcConfig::plain(url, "group0");
    cfg.timeout = std::time::Duration::from_secs(10);
    cfg.tls = Some(TlsFiles { ca: dir.join("ca.crt"), cert: dir.join("sdk.crt"), key: dir.join("sdk.key") });
    RpcClient::new(cfg).unwrap()
}

#[tokio::test]
async fn mutual_tls_with_the_chain_ca() {
    let chain = ca("chain-ca");
    let url = node(&chain).await;
    let (sdk_cert, sdk_key, _, _) = leaf(&chain, "sdk");
    let dir = tempfile::tempdir().unwrap();
    let c = client(&url, dir.path(), &chain.pem, &sdk_cert, &sdk_key);
    // "0x2a" as a hex string: the tolerant integer decoding gives 42.
    assert_eq!(c.get_block_number().await.unwrap(), 42);
}

#[tokio::test]
async fn a_node_outside_the_chain_ca_is_refused() {
    let chain = ca("chain-ca");
    let url = node(&chain).await;
    let other = ca("other-ca");
    let (sdk_cert, sdk_key, _, _) = leaf(&chain, "sdk");
    let dir = tempfile::tempdir().unwrap();
    let c = client(&url, dir.path(), &other.pem, &sdk_cert, &sdk_key);
    assert!(matches!(c.get_block_number().await, Err(RpcError::Transport(_))));
}

#[tokio::test]
async fn an_sdk_certificate_from_another_ca_is_refused_by_the_node() {
    let chain = ca("chain-ca");
    let url = node(&chain).await;
    let rogue = ca("rogue-ca");
    let (sdk_cert, sdk_key, _, _) = leaf(&rogue, "sdk");
    let dir = tempfile::tempdir().unwrap();
    let c = client(&url, dir.path(), &chain.pem, &sdk_cert, &sdk_key);
    assert!(c.get_block_number().await.is_err());
}

#[test]
fn missing_tls_files_are_a_configuration_error() {
    let mut cfg = RpcConfig::plain("https://127.0.0.1:1", "group0");
    cfg.tls = Some(TlsFiles { ca: "/nonexistent/ca.crt".into(), cert: "/nonexistent/sdk.crt".into(), key: "/nonexistent/sdk.key".into() });
    assert!(matches!(RpcClient::new(cfg), Err(RpcError::Tls(_))));
    let https_without_files = RpcConfig::plain("https://127.0.0.1:1", "group0");
    assert!(matches!(RpcClient::new(https_without_files), Err(RpcError::Tls(_))));
}
