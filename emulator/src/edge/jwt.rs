//! RS256 JWTs: signing with a key generated at start, verification, and the JWKS.

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{self, KeyPair, RsaKeyPair, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::clock::unix_now;
use crate::ids::hex;

/// `iss` of every token the emulated edge issues.
pub(crate) const ISSUER: &str = "https://emulator.cloudflareaccess.com";

/// The edge's signing key.
pub(crate) struct Signer {
    key: RsaKeyPair,
    kid: String,
    public_der: Vec<u8>,
    jwk: Value,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A fresh 2048-bit RSA key.
    pub fn generate() -> Result<Signer, String> {
        let key = RsaKeyPair::generate(KeySize::Rsa2048)
            .map_err(|e| format!("RSA key generation failed: {e}"))?;
        let public = key.public_key();
        let public_der = public.as_ref().to_vec();
        let kid = hex(&digest::digest(&digest::SHA256, &public_der).as_ref()[..16]);
        let components = PublicKeyComponents::<Vec<u8>>::from(public);
        let jwk = json!({
            "kid": kid,
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "e": URL_SAFE_NO_PAD.encode(&components.e),
            "n": URL_SAFE_NO_PAD.encode(&components.n),
        });
        Ok(Signer {
            key,
            kid,
            public_der,
            jwk,
        })
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// `header.claims.signature` with header `{alg: RS256, kid, typ: JWT}`.
    pub fn sign(&self, claims: &Value) -> Result<String, String> {
        let header = json!({"alg": "RS256", "kid": self.kid, "typ": "JWT"});
        let encode = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap_or_default());
        let input = format!("{}.{}", encode(&header), encode(claims));
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| "signing failed".to_string())?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }

    /// Checks format, key id, signature, issuer and validity window; returns the claims
    /// or the reason the token is refused.
    pub fn verify(&self, token: &str) -> Result<Map<String, Value>, String> {
        let parts: Vec<&str> = token.split('.').collect();
        let [header_b64, claims_b64, sig_b64] = parts.as_slice() else {
            return Err("malformed token: not a JWT (expected header.claims.signature)".into());
        };
        let decode_json = |part: &str, what: &str| -> Result<Map<String, Value>, String> {
            let bytes = URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| format!("malformed token: {what} is not base64url"))?;
            match serde_json::from_slice(&bytes) {
                Ok(Value::Object(m)) => Ok(m),
                _ => Err(format!("malformed token: {what} is not a JSON object")),
            }
        };
        let header = decode_json(header_b64, "header")?;
        if header.get("alg").and_then(Value::as_str) != Some("RS256") {
            return Err("bad signature: algorithm must be RS256".into());
        }
        if header.get("kid").and_then(Value::as_str) != Some(self.kid.as_str()) {
            return Err("bad signature: unknown signing key (kid)".into());
        }
        let sig = URL_SAFE_NO_PAD
            .decode(sig_b64)
            .map_err(|_| "malformed token: signature is not base64url".to_string())?;
        let input = format!("{header_b64}.{claims_b64}");
        UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &self.public_der)
            .verify(input.as_bytes(), &sig)
            .map_err(|_| {
                "bad signature: the token was not signed by this Access edge".to_string()
            })?;
        let claims = decode_json(claims_b64, "claims")?;
        let now = unix_now();
        match claims.get("exp").and_then(Value::as_i64) {
            Some(exp) if exp <= now => {
                return Err(format!("expired: the token expired at {exp} (now {now})"));
            }
            Some(_) => {}
            None => return Err("malformed token: no exp claim".into()),
        }
        if claims
            .get("nbf")
            .and_then(Value::as_i64)
            .is_some_and(|nbf| nbf > now)
        {
            return Err("token not valid yet (nbf)".into());
        }
        if claims.get("iss").and_then(Value::as_str) != Some(ISSUER) {
            return Err(format!("wrong issuer: expected {ISSUER}"));
        }
        Ok(claims)
    }
}

/// A stable user id derived from the e-mail, so one user always gets one `sub`.
pub(crate) fn subject_for(email: &str) -> String {
    let d = digest::digest(&digest::SHA256, email.to_ascii_lowercase().as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&d.as_ref()[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp_offset: i64) -> Value {
        let now = unix_now();
        json!({"aud": ["x"], "email": "a@example.com", "iss": ISSUER, "iat": now, "nbf": now - 1, "exp": now + exp_offset})
    }

    #[test]
    fn sign_verify_round_trip_and_refusals() {
        let s = Signer::generate().unwrap();
        let token = s.sign(&claims(60)).unwrap();
        let got = s.verify(&token).unwrap();
        assert_eq!(got["email"], json!("a@example.com"));

        let expired = s.sign(&claims(-5)).unwrap();
        assert!(s.verify(&expired).unwrap_err().starts_with("expired"));

        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        let mut forged = claims(60);
        forged["email"] = json!("mallory@example.com");
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert!(
            s.verify(&parts.join("."))
                .unwrap_err()
                .starts_with("bad signature")
        );

        let other = Signer::generate().unwrap();
        assert!(
            s.verify(&other.sign(&claims(60)).unwrap())
                .unwrap_err()
                .contains("kid")
        );
        assert!(s.verify("abc").unwrap_err().starts_with("malformed"));
        assert_eq!(s.jwk()["kty"], json!("RSA"));
    }

    #[test]
    fn subject_is_stable_uuid() {
        let a = subject_for("Ann@Example.com");
        assert_eq!(a, subject_for("ann@example.com"));
        assert!(crate::ids::is_uuid(&a));
        assert_ne!(a, subject_for("bob@example.com"));
    }
}
