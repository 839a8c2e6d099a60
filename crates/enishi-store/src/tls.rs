//! TLS to PostgreSQL, with libpq's `sslmode` and `sslrootcert` URL parameters, for managed
//! databases that require encrypted connections:
//!
//! | `sslmode` | encrypted | server certificate checked |
//! |---|---|---|
//! | `disable` | no | — |
//! | `prefer` (the default) | when the server offers it | no |
//! | `require` | yes | no, or chained to `sslrootcert` when it is given (as libpq does) |
//! | `verify-ca` | yes | chained to `sslrootcert` |
//! | `verify-full` | yes | chained to `sslrootcert` and issued for the host connected to |
//!
//! `sslrootcert` is a PEM file of the certificate authorities to trust (the cloud provider's
//! CA bundle); the verify modes need it. The driver underneath knows only `disable`, `prefer`
//! and `require`, so the URL it gets has the verify modes mapped to `require` and
//! `sslrootcert` removed; the checking is done here, with rustls.

use crate::StoreError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// How much of the server's certificate is checked, against which authorities (a PEM file).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Check {
    /// Encryption only (libpq's `require` without a root certificate, and `prefer`).
    Nothing,
    /// The chain up to a trusted authority (`verify-ca`).
    Chain(String),
    /// The chain and the host name (`verify-full`).
    ChainAndName(String),
}

/// A PostgreSQL connection URL made ready for the driver: the URL it understands and the TLS
/// connector that checks what the URL asked for.
#[derive(Clone)]
pub(crate) struct PgTarget {
    /// The URL without the parameters handled here.
    pub(crate) url: String,
    /// Makes the TLS sessions.
    pub(crate) tls: MakeRustlsConnect,
}

fn refused(why: impl Into<String>) -> StoreError {
    StoreError::Open(why.into())
}

/// Reads `sslmode` and `sslrootcert` from a `postgres://` URL (a key=value connection string
/// is passed on as it is, with encryption when the server offers it).
pub(crate) fn target(url: &str) -> Result<PgTarget, StoreError> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) if url.contains("://") => (b, q),
        _ => return Ok(PgTarget { url: url.to_string(), tls: connector(Check::Nothing)? }),
    };
    let (mut mode, mut root) = (None, None);
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decoded = percent_encoding::percent_decode_str(value).decode_utf8_lossy().into_owned();
        match key {
            "sslmode" => mode = Some(decoded),
            "sslrootcert" => root = Some(decoded),
            _ => kept.push(pair),
        }
    }
    let needs_root = |m: &str| {
        refused(format!(
            "sslmode={m} needs sslrootcert=FILE: the PEM certificate of the authority that signed the \
             server's certificate (your provider publishes it)"
        ))
    };
    // As libpq: a root certificate, when given, is checked even by `prefer` and `require`.
    let chain_if_given = || root.clone().map_or(Check::Nothing, Check::Chain);
    let (driver_mode, check) = match mode.as_deref() {
        None | Some("prefer") => ("sslmode=prefer", chain_if_given()),
        Some("disable") => ("sslmode=disable", Check::Nothing),
        Some("require") => ("sslmode=require", chain_if_given()),
        Some("verify-ca") => ("sslmode=require", Check::Chain(root.clone().ok_or_else(|| needs_root("verify-ca"))?)),
        Some("verify-full") => {
            ("sslmode=require", Check::ChainAndName(root.clone().ok_or_else(|| needs_root("verify-full"))?))
        }
        Some(other) => {
            return Err(refused(format!(
                "sslmode={other} is not a mode (disable, prefer, require, verify-ca or verify-full)"
            )))
        }
    };
    kept.push(driver_mode);
    Ok(PgTarget { url: format!("{base}?{}", kept.join("&")), tls: connector(check)? })
}

fn connector(check: Check) -> Result<MakeRustlsConnect, StoreError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| refused(format!("TLS set-up: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = match check {
        Check::Nothing => Arc::new(EncryptionOnly(provider)),
        Check::Chain(file) => Arc::new(AnyName(chain_verifier(&file, provider)?)),
        Check::ChainAndName(file) => chain_verifier(&file, provider)?,
    };
    let config = builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// The standard WebPKI check against the authorities in the PEM file `file`.
fn chain_verifier(file: &str, provider: Arc<CryptoProvider>) -> Result<Arc<WebPkiServerVerifier>, StoreError> {
    let certs = CertificateDer::pem_file_iter(file)
        .map_err(|e| refused(format!("sslrootcert {file}: {e}")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| refused(format!("sslrootcert {file}: {e}")))?;
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(refused(format!("sslrootcert {file}: no certificate in it")));
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| refused(format!("sslrootcert {file}: {e}")))
}

/// Accepts any certificate but still checks that the server holds its key (the handshake
/// signatures): encryption against passive listeners, as libpq's `require`.
#[derive(Debug)]
struct EncryptionOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptionOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The chain check of `verify-ca`: a certificate issued for another name is accepted.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
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
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_of(url: &str) -> String {
        target(url).map(|t| t.url).unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn urls_keep_their_parameters_and_get_a_mode_the_driver_knows() {
        assert_eq!(url_of("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            url_of("postgres://u@h/db?options=x&sslmode=require"),
            "postgres://u@h/db?options=x&sslmode=require"
        );
        assert_eq!(url_of("postgres://u@h/db?sslmode=disable"), "postgres://u@h/db?sslmode=disable");
        assert_eq!(url_of("host=h user=u"), "host=h user=u");
        assert!(url_of("postgres://u@h/db?sslmode=verify-full").contains("needs sslrootcert"));
        assert!(url_of("postgres://u@h/db?sslmode=verify-ca").contains("needs sslrootcert"));
        assert!(url_of("postgres://u@h/db?sslmode=allow").contains("sslmode=allow is not a mode"));
        assert!(url_of("postgres://u@h/db?sslmode=verify-full&sslrootcert=/no/such.pem").contains("/no/such.pem"));
    }
}
