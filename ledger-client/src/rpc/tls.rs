//! Mutual TLS to a FISCO BCOS node RPC (non-SM chains): the chain CA (`ca.crt`), the SDK certificate
//! (`sdk.crt`) and its key (`sdk.key`, RSA on non-SM chains), as `build_chain.sh` writes them to
//! `nodes/<ip>/sdk/`. Node certificates name the node, not its address, so the chain is verified against
//! the chain CA but the host name is not (as the official SDKs do).
//!
//! SM chains with SM TLS (TLCP, dual certificates) are not supported by rustls: run their RPC with
//! `disable_ssl=true` behind a private network, or a TLS-terminating proxy.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::RpcError;

/// Paths of the TLS material (PEM).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A rustls client configuration (ring provider) for `files`.
pub fn client_config(files: &TlsFiles) -> Result<rustls::ClientConfig, RpcError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    let cas = CertificateDer::pem_file_iter(&files.ca)
        .map_err(|e| RpcError::Tls(format!("{}: {e}", files.ca.display())))?;
    for ca in cas {
        let ca = ca.map_err(|e| RpcError::Tls(format!("{}: {e}", files.ca.display())))?;
        roots.add(ca).map_err(|e| RpcError::Tls(format!("{}: {e}", files.ca.display())))?;
    }
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| RpcError::Tls(format!("{}: {e}", files.cert.display())))?
        .collect::<Result<_, _>>()
        .map_err(|e| RpcError::Tls(format!("{}: {e}", files.cert.display())))?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| RpcError::Tls(format!("{}: {e}", files.key.display())))?;
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| RpcError::Tls(e.to_string()))?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| RpcError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ChainCaVerifier { inner }))
        .with_client_auth_cert(certs, key)
        .map_err(|e| RpcError::Tls(e.to_string()))?;
    Ok(config)
}

/// A ring-based configuration trusting nothing, for clients that only speak plain HTTP.
pub fn no_tls_config() -> Result<rustls::ClientConfig, RpcError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| RpcError::Tls(e.to_string()))?
        .with_root_certificates(RootCertStore::empty())
        .with_no_client_auth())
}

/// Full WebPKI chain and signature verification against the chain CA, except the host-name match.
#[derive(Debug)]
struct ChainCaVerifier {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainCaVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
