//! go-plugin AutoMTLS, with the client really authenticated.
//!
//! Terraform generates a self-signed ECDSA P-521 certificate per plugin launch, passes
//! it in `PLUGIN_CLIENT_CERT`, and expects our server certificate (base64 DER) in the
//! handshake line. Both sides pin the other's certificate.
//!
//! The server side here:
//! - generates a fresh P-256 certificate per run with SAN `localhost` (Terraform checks
//!   that name) and a `not_before` in the past (clock skew);
//! - *requires* a client certificate whose DER is byte-equal to the pinned one — the
//!   certificate itself is public (it sits in our environment), so it is the
//!   CertificateVerify signature, checked with aws-lc-rs including P-521/SHA-512, that
//!   proves the peer holds Terraform's key;
//! - sends no acceptable-CA hints, so Go clients offer their certificate unfiltered;
//! - speaks ALPN `h2`, which newer gRPC-Go clients insist on.

use std::sync::Arc;

use base64::Engine as _;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum MtlsError {
    /// `PLUGIN_CLIENT_CERT` holds no PEM certificate.
    #[error("PLUGIN_CLIENT_CERT does not contain a PEM certificate")]
    NoClientCertificate,
    /// `PLUGIN_CLIENT_CERT` is not valid PEM.
    #[error("PLUGIN_CLIENT_CERT is not valid PEM: {0}")]
    BadPem(String),
    /// The server certificate could not be generated.
    #[error("could not generate the server certificate: {0}")]
    CertGeneration(#[from] rcgen::Error),
    /// rustls refused the configuration.
    #[error("TLS configuration error: {0}")]
    Tls(#[from] rustls::Error),
}

/// The certificate and key this process serves with; regenerated on every launch.
pub struct ServerIdentity {
    cert: CertificateDer<'static>,
    key_pkcs8: Vec<u8>,
}

impl ServerIdentity {
    /// Generates a self-signed P-256 certificate for `localhost`.
    pub fn generate() -> Result<Self, MtlsError> {
        use rcgen::{
            CertificateParams, DistinguishedName as Dn, DnType, ExtendedKeyUsagePurpose, IsCa,
            KeyPair, KeyUsagePurpose,
        };
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::new(vec!["localhost".to_string()])?;
        let mut dn = Dn::new();
        dn.push(DnType::CommonName, "localhost");
        dn.push(DnType::OrganizationName, "terraform-provider-cfaccess");
        params.distinguished_name = dn;
        // Backdated so that a client clock slightly behind ours still accepts it; the
        // certificate lives only as long as this process.
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::minutes(5);
        params.not_after = now + time::Duration::days(365);
        // Not a CA: the client pins this very certificate as its root, and Rust TLS
        // clients (webpki) refuse a CA certificate as the end entity.
        params.is_ca = IsCa::NoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params.self_signed(&key)?;
        Ok(ServerIdentity {
            cert: cert.der().clone(),
            key_pkcs8: key.serialize_der(),
        })
    }

    /// The certificate in DER form.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert
    }

    /// The certificate as the handshake line carries it: standard base64 **without
    /// padding** (go-plugin decodes with Go's `RawStdEncoding`; padding breaks it).
    pub fn handshake_field(&self) -> String {
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(self.cert.as_ref())
    }

    fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_pkcs8.clone()))
    }
}

/// Extracts the (first) certificate from the PEM text of `PLUGIN_CLIENT_CERT`.
pub fn parse_client_cert(pem: &str) -> Result<CertificateDer<'static>, MtlsError> {
    use rustls::pki_types::pem::{self, PemObject as _};
    match CertificateDer::from_pem_slice(pem.as_bytes()) {
        Ok(cert) => Ok(cert),
        Err(pem::Error::NoItemsFound) => Err(MtlsError::NoClientCertificate),
        Err(e) => Err(MtlsError::BadPem(e.to_string())),
    }
}

/// The crypto backend: aws-lc-rs, whose signature algorithms include ECDSA P-521 (the
/// curve of Terraform's client certificate; *ring* has none).
fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A rustls server configuration that requires the pinned client certificate.
pub fn server_config(
    identity: &ServerIdentity,
    client_cert: CertificateDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, MtlsError> {
    let provider = crypto_provider();
    let verifier = Arc::new(PinnedClientCert::new(
        client_cert,
        provider.signature_verification_algorithms,
    ));
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![identity.cert.clone()], identity.private_key())?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// Accepts exactly one client certificate, and only from a peer that proves it holds
/// the matching private key.
#[derive(Debug)]
pub struct PinnedClientCert {
    expected: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedClientCert {
    /// A verifier pinned to `expected`, checking handshake signatures with `algorithms`.
    pub fn new(expected: CertificateDer<'static>, algorithms: WebPkiSupportedAlgorithms) -> Self {
        PinnedClientCert {
            expected,
            algorithms,
        }
    }

    fn check_pinned(&self, cert: &CertificateDer<'_>) -> Result<(), rustls::Error> {
        if cert.as_ref() == self.expected.as_ref() {
            Ok(())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }
}

impl ClientCertVerifier for PinnedClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // No hints: a Go client then offers its certificate without filtering by issuer.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // Trust is the byte-equality with the certificate Terraform handed us, not a
        // chain; a chain sent along would be something other than Terraform's client.
        if !intermediates.is_empty() {
            return Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ));
        }
        self.check_pinned(end_entity)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.check_pinned(cert)?;
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.check_pinned(cert)?;
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p521_cert() -> (rcgen::Certificate, rcgen::KeyPair) {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
        let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        (params.self_signed(&key).unwrap(), key)
    }

    #[test]
    fn handshake_field_is_unpadded_standard_base64_of_the_der() {
        let id = ServerIdentity::generate().unwrap();
        let field = id.handshake_field();
        assert!(!field.ends_with('='));
        assert!(
            field.len() > 50,
            "go-plugin ignores a field of 50 chars or less"
        );
        let back = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(&field)
            .unwrap();
        assert_eq!(back, id.cert_der().as_ref());
    }

    #[test]
    fn pem_parsing_takes_the_certificate_and_rejects_garbage() {
        let (cert, _) = p521_cert();
        assert_eq!(parse_client_cert(&cert.pem()).unwrap(), *cert.der());
        assert!(matches!(
            parse_client_cert("hello"),
            Err(MtlsError::NoClientCertificate)
        ));
    }

    #[test]
    fn verifier_pins_the_exact_certificate_and_offers_p521() {
        let (pinned, _) = p521_cert();
        let (other, _) = p521_cert();
        let v = PinnedClientCert::new(
            pinned.der().clone(),
            crypto_provider().signature_verification_algorithms,
        );
        assert!(v.client_auth_mandatory());
        assert!(v.root_hint_subjects().is_empty());
        assert!(
            v.supported_verify_schemes()
                .contains(&SignatureScheme::ECDSA_NISTP521_SHA512)
        );
        let now = UnixTime::now();
        assert!(v.verify_client_cert(pinned.der(), &[], now).is_ok());
        assert!(v.verify_client_cert(other.der(), &[], now).is_err());
        assert!(
            v.verify_client_cert(pinned.der(), &[other.der().clone()], now)
                .is_err()
        );
    }

    #[test]
    fn server_config_builds_with_alpn_h2() {
        let id = ServerIdentity::generate().unwrap();
        let (client, _) = p521_cert();
        let cfg = server_config(&id, client.der().clone()).unwrap();
        assert_eq!(cfg.alpn_protocols, vec![b"h2".to_vec()]);
    }
}
