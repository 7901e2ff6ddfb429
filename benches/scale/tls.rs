//! AutoMTLS as Terraform performs it: a fresh self-signed P-521 client certificate
//! handed to the plugin in `PLUGIN_CLIENT_CERT`, and a TLS client that trusts exactly
//! the certificate the plugin printed in its handshake line.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use cfaccess::tfplugin::transport::Conn;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use tonic::codegen::Service;
use tonic::codegen::http::Uri;
use tonic::transport::{Channel, Endpoint};

use crate::BoxError;

/// The client certificate and key Terraform would hold for one plugin launch.
pub struct ClientIdentity {
    /// PEM text for `PLUGIN_CLIENT_CERT`.
    pub cert_pem: String,
    cert_der: CertificateDer<'static>,
    key_pkcs8: Vec<u8>,
}

impl ClientIdentity {
    /// A certificate shaped like go-plugin's: ECDSA P-521, self-signed CA, `localhost`.
    pub fn generate() -> Result<ClientIdentity, BoxError> {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512)?;
        let mut params = CertificateParams::new(vec!["localhost".to_string()])?;
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
        let cert = params.self_signed(&key)?;
        Ok(ClientIdentity {
            cert_pem: cert.pem(),
            cert_der: cert.der().clone(),
            key_pkcs8: key.serialize_der(),
        })
    }

    fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_pkcs8.clone()))
    }
}

/// Accepts exactly one server certificate, byte for byte, and checks the handshake
/// signatures against it. go-plugin pins the handshake certificate as its only root;
/// a pin is used here instead of webpki because go-plugin's own server certificates
/// are CA certificates, which webpki refuses as end entities.
#[derive(Debug)]
struct PinnedServer {
    cert: CertificateDer<'static>,
    crypto: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.cert.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.crypto.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.crypto.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.crypto
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A TLS client configuration that trusts `server_cert` only, presents `client` and
/// speaks HTTP/2, as Terraform's gRPC client does.
pub fn client_config(
    server_cert: &[u8],
    client: &ClientIdentity,
) -> Result<Arc<rustls::ClientConfig>, BoxError> {
    let crypto = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(PinnedServer {
        cert: CertificateDer::from(server_cert.to_vec()),
        crypto: crypto.clone(),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(crypto)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(vec![client.cert_der.clone()], client.key())?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// Where a plugin listens, as its handshake line says: `unix` + path or `tcp` + address.
#[derive(Clone, Debug)]
pub struct PluginAddress {
    pub network: String,
    pub address: String,
}

/// Dials the plugin and runs the TLS client handshake on top.
#[derive(Clone)]
struct Connector {
    addr: PluginAddress,
    tls: tokio_rustls::TlsConnector,
}

impl Service<Uri> for Connector {
    type Response = TokioIo<Conn>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: Uri) -> Self::Future {
        let addr = self.addr.clone();
        let tls = self.tls.clone();
        Box::pin(async move {
            let raw = match addr.network.as_str() {
                "unix" => Conn::new(tokio::net::UnixStream::connect(&addr.address).await?),
                "tcp" => Conn::new(tokio::net::TcpStream::connect(&addr.address).await?),
                other => return Err(io::Error::other(format!("unknown network {other}"))),
            };
            let name = ServerName::try_from("localhost").map_err(io::Error::other)?;
            Ok(TokioIo::new(Conn::new(tls.connect(name, raw).await?)))
        })
    }
}

/// A gRPC channel to the plugin over mutual TLS.
pub async fn channel(
    addr: &PluginAddress,
    tls: Arc<rustls::ClientConfig>,
) -> Result<Channel, BoxError> {
    let connector = Connector {
        addr: addr.clone(),
        tls: tokio_rustls::TlsConnector::from(tls),
    };
    Ok(Endpoint::from_static("http://localhost")
        .connect_with_connector(connector)
        .await?)
}
