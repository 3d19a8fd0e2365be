//! `bcrypt`, `rsadecrypt`, `uuid` and `uuidv5`.
//!
//! `uuid` and `bcrypt` give a different answer on every call (bcrypt salts randomly), so like
//! `timestamp` they are unknown while planning and validating, as Terraform makes its impure
//! functions unpredictable outside an apply.

use base64::Engine;

use super::{Call, FuncError};
use crate::lang::value::Value;

/// Go's `bcrypt.GenerateFromPassword`: a cost below 4 means the default 10; above 31 is an
/// error; passwords longer than 72 bytes are refused rather than truncated.
pub fn bcrypt(c: &Call) -> Result<Value, FuncError> {
    if c.args.len() > 2 {
        return Err(c.fail("bcrypt() takes no more than two arguments"));
    }
    let mut cost = 10;
    if c.args.len() == 2 {
        let given = c.int(1)?;
        if given > 31 {
            return Err(c.fail(format!(
                "error occured generating password crypto/bcrypt: cost {given} is outside allowed range (4,31)"
            )));
        }
        if given >= 4 {
            cost = given as u32;
        }
    }
    if c.str(0).len() > 72 {
        return Err(c.fail("error occured generating password bcrypt: password length exceeds 72 bytes"));
    }
    if !c.ctx.clock.applying {
        return Ok(Value::unknown());
    }
    let parts = ::bcrypt::hash_with_result(c.str(0), cost)
        .map_err(|e| c.fail(format!("error occured generating password {e}")))?;
    Ok(Value::String(parts.format_for_version(::bcrypt::Version::TwoA)))
}

/// PKCS #1 v1.5 decryption with a PEM private key (PKCS #1 `RSA PRIVATE KEY` or PKCS #8
/// `PRIVATE KEY`), as Terraform's `rsadecrypt`.
pub fn rsadecrypt(c: &Call) -> Result<Value, FuncError> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    let ciphertext = base64::engine::general_purpose::STANDARD.decode(c.str(0)).map_err(|_| {
        c.err(0, format!("failed to decode input {}: cipher text must be base64-encoded", c.shown(0, c.str(0))))
    })?;
    let pem = c.str(1).trim();
    let key = if pem.contains("-----BEGIN RSA PRIVATE KEY-----") {
        rsa::RsaPrivateKey::from_pkcs1_pem(pem)
            .map_err(|e| c.err(1, format!("invalid ASN1 data in the given private key: {e}")))?
    } else if pem.contains("-----BEGIN PRIVATE KEY-----") {
        rsa::RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| c.err(1, format!("invalid private key: {e}")))?
    } else if pem.contains("-----BEGIN ") {
        return Err(c.err(1, "invalid private key type: only RSA keys can decrypt"));
    } else {
        return Err(c.err(1, "invalid private key: ssh: no key found"));
    };
    let plain = key
        .decrypt(rsa::Pkcs1v15Encrypt, &ciphertext)
        .map_err(|_| c.fail("failed to decrypt: crypto/rsa: decryption error"))?;
    String::from_utf8(plain).map(Value::String).map_err(|_| c.fail("the decrypted text is not valid UTF-8"))
}

pub fn uuid(c: &Call) -> Result<Value, FuncError> {
    if !c.ctx.clock.applying {
        return Ok(Value::unknown());
    }
    Ok(Value::String(uuid::Uuid::new_v4().to_string()))
}

/// A name-based (SHA-1) UUID; the namespace is `dns`, `url`, `oid`, `x500` or a UUID.
pub fn uuidv5(c: &Call) -> Result<Value, FuncError> {
    let namespace = match c.str(0) {
        "dns" => uuid::Uuid::NAMESPACE_DNS,
        "url" => uuid::Uuid::NAMESPACE_URL,
        "oid" => uuid::Uuid::NAMESPACE_OID,
        "x500" => uuid::Uuid::NAMESPACE_X500,
        other => uuid::Uuid::parse_str(other).map_err(|_| {
            c.fail(format!("uuidv5() doesn't support namespace {} (invalid UUID length: {})", other, other.len()))
        })?,
    };
    Ok(Value::String(uuid::Uuid::new_v5(&namespace, c.str(1).as_bytes()).to_string()))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{call, Clock, FuncContext};
    use crate::lang::value::Value;

    fn applying() -> FuncContext<'static> {
        FuncContext {
            base_dir: std::path::PathBuf::from("."),
            render_template: &no_template,
            clock: Clock::applying(None),
        }
    }

    #[test]
    fn uuidv5_matches_terraform_docs() {
        // developer.hashicorp.com/terraform/language/functions/uuidv5
        assert_eq!(ok("uuidv5", vec![s("dns"), s("www.terraform.io")]), s("a5008fae-b28c-5ba5-96cd-82b4c53552d6"));
        assert_eq!(
            ok("uuidv5", vec![s("url"), s("https://www.terraform.io/")]),
            s("9db6f67c-dd95-5ea0-aa5b-e70e5c5f7cf5")
        );
        assert_eq!(ok("uuidv5", vec![s("oid"), s("1.3.6.1.4")]), s("af9d40a5-7a36-5c07-b23a-851cd99fbfa5"));
        assert_eq!(ok("uuidv5", vec![s("x500"), s("CN=Example,C=GB")]), s("84e09961-4aa4-57f8-95b7-03edb1073253"));
        assert_eq!(
            ok("uuidv5", vec![s("6ba7b810-9dad-11d1-80b4-00c04fd430c8"), s("www.terraform.io")]),
            s("a5008fae-b28c-5ba5-96cd-82b4c53552d6")
        );
        assert!(err("uuidv5", vec![s("tada"), s("x")]).message.contains("doesn't support namespace tada"));
    }

    #[test]
    fn impure_functions_are_unknown_until_apply() {
        assert!(ok("uuid", vec![]).is_unknown());
        assert!(ok("bcrypt", vec![s("hello")]).is_unknown());
        let ctx = applying();
        let a = call("uuid", vec![], &ctx).expect("uuid");
        let b = call("uuid", vec![], &ctx).expect("uuid");
        assert_ne!(a, b);
        assert_eq!(a.as_str().map(str::len), Some(36));
        let h = call("bcrypt", vec![s("hello"), n(4.0)], &ctx).expect("bcrypt");
        let h = h.as_str().expect("a string").to_string();
        assert!(h.starts_with("$2a$04$") && h.len() == 60, "{h}");
        assert!(::bcrypt::verify("hello", &h).expect("verifies"));
        // Below the minimum cost Go uses its default.
        let h = call("bcrypt", vec![s("hello"), n(1.0)], &ctx).expect("bcrypt");
        assert!(h.as_str().is_some_and(|h| h.starts_with("$2a$10$")), "{h}");
        let e = call("bcrypt", vec![s("hello"), n(32.0)], &ctx).expect_err("cost 32");
        assert!(e.message.contains("cost 32 is outside allowed range (4,31)"), "{}", e.message);
        let e = call("bcrypt", vec![s("hello"), n(5.0), n(6.0)], &ctx).expect_err("three arguments");
        assert!(e.message.contains("takes no more than two arguments"), "{}", e.message);
    }

    #[test]
    fn rsadecrypt_round_trips_and_reports_terraforms_errors() {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::pkcs8::EncodePrivateKey;
        let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 1024).expect("a key");
        let pkcs1 = key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).expect("PKCS #1 PEM").to_string();
        let pkcs8 = key.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).expect("PKCS #8 PEM").to_string();
        let e = err("rsadecrypt", vec![s("notbase64!"), s(&pkcs1)]);
        assert_eq!(e.arg, Some(0));
        assert!(e.message.contains("cipher text must be base64-encoded"), "{}", e.message);
        let e = err("rsadecrypt", vec![s("dGVzdA=="), s("not a key")]);
        assert_eq!(e.arg, Some(1));
        assert!(e.message.contains("invalid private key: ssh: no key found"), "{}", e.message);
        let public = rsa::RsaPublicKey::from(&key);
        let sealed = public.encrypt(&mut rand::thread_rng(), rsa::Pkcs1v15Encrypt, b"message").expect("encrypts");
        let sealed = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, sealed);
        assert_eq!(ok("rsadecrypt", vec![Value::String(sealed.clone()), s(&pkcs1)]), s("message"));
        assert_eq!(ok("rsadecrypt", vec![Value::String(sealed), s(&pkcs8)]), s("message"));
        let e = err("rsadecrypt", vec![s("dGVzdA=="), s(&pkcs1)]);
        assert!(e.message.contains("failed to decrypt"), "{}", e.message);
    }
}
