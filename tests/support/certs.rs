//! Certificates as Terraform makes them for AutoMTLS (self-signed ECDSA P-521, CA,
//! SAN `localhost`) and rustls client configurations presenting them — or not.

use std::sync::Arc;

use rustls::client::ResolvesClientCert;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, SignatureScheme};

/// A client certificate and its private key.
pub struct ClientIdentity {
    pub cert_pem: String,
    pub cert_der: CertificateDer<'static>,
    pub key_pkcs8: Vec<u8>,
}

impl ClientIdentity {
    /// A fresh identity shaped like the one go-plugin generates for Terraform.
    pub fn terraform_like() -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "HashiCorp");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::KeyCertSign,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ClientAuth,
            ExtendedKeyUsagePurpose::ServerAuth,
        ];
        let cert = params.self_signed(&key).unwrap();
        ClientIdentity {
            cert_pem: cert.pem(),
            cert_der: cert.der().clone(),
            key_pkcs8: key.serialize_der(),
        }
    }

    fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_pkcs8.clone()))
    }
}

/// What the test client shows the server.
pub enum Presenting<'a> {
    /// This certificate, signing with its own key (a legitimate client).
    Cert(&'a ClientIdentity),
    /// No certificate at all.
    Nothing,
    /// `cert` (e.g. Terraform's public certificate), but signing with `key_of`'s key:
    /// someone who read the certificate from the environment but has no key.
    Impostor {
        cert: &'a ClientIdentity,
        key_of: &'a ClientIdentity,
    },
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A TLS client configuration that trusts exactly `server_cert` (as go-plugin does)
/// for the name `localhost`, speaks ALPN h2 and presents `presenting`.
pub fn client_config(server_cert: &[u8], presenting: Presenting<'_>) -> Arc<rustls::ClientConfig> {
    client_config_for(server_cert, presenting, rustls::DEFAULT_VERSIONS)
}

/// Like [`client_config`], restricted to the given TLS versions.
pub fn client_config_for(
    server_cert: &[u8],
    presenting: Presenting<'_>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<rustls::ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(server_cert.to_vec()))
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match presenting {
        Presenting::Cert(id) => builder
            .with_client_auth_cert(vec![id.cert_der.clone()], id.key())
            .unwrap(),
        Presenting::Nothing => builder.with_no_client_auth(),
        Presenting::Impostor { cert, key_of } => {
            let signing_key = provider()
                .key_provider
                .load_private_key(key_of.key())
                .unwrap();
            // CertifiedKey::new does not check that key and certificate belong together,
            // which is exactly what an impostor needs.
            let certified = CertifiedKey::new(vec![cert.cert_der.clone()], signing_key);
            builder.with_client_cert_resolver(Arc::new(FixedCert(Arc::new(certified))))
        }
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(config)
}

#[derive(Debug)]
struct FixedCert(Arc<CertifiedKey>);

impl ResolvesClientCert for FixedCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}
