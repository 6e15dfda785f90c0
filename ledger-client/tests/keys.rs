//! Key files as OpenSSL (and so FISCO's account scripts) write them: fixtures/fisco/keys/README.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use linli_ledger_client::crypto::CryptoSuite;
use linli_ledger_client::keys::{KeyError, load_signer};

fn path(name: &str) -> String {
    format!("{}/../fixtures/fisco/keys/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn secp256k1_pem_files_give_the_go_sdk_address() {
    for f in ["secp256k1-go-sdk.sec1.pem", "secp256k1-go-sdk.pkcs8.pem"] {
        let s = load_signer(CryptoSuite::Ecdsa, &path(f)).unwrap();
        assert_eq!(s.address().to_string(), "0xfbb18d54e9ee57529cda8c7c52242efe879f064f", "{f}");
    }
}

#[test]
fn sm2_pem_files_give_the_gmt_example_key() {
    for f in ["sm2-gmt-example.sec1.pem", "sm2-gmt-example.pkcs8.pem"] {
        let s = load_signer(CryptoSuite::Sm, &path(f)).unwrap();
        assert_eq!(
            hex::encode(s.public_key()),
            "09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020\
             ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13",
            "{f}"
        );
        assert_eq!(s.address().to_string(), "0x2119e1ecc071c2f3d915245c8d9c5a2cb131a89d", "{f}");
    }
}

#[test]
fn a_key_file_of_the_other_curve_is_refused() {
    assert!(matches!(
        load_signer(CryptoSuite::Sm, &path("secp256k1-go-sdk.pkcs8.pem")),
        Err(KeyError::WrongCurve { .. })
    ));
    assert!(matches!(
        load_signer(CryptoSuite::Ecdsa, &path("sm2-gmt-example.sec1.pem")),
        Err(KeyError::WrongCurve { .. })
    ));
}
