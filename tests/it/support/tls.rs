//! A throwaway certificate authority and a server certificate for
//! 127.0.0.1, for a Prometheus served over TLS.

/// PEM texts: the authority's certificate (what a client trusts), and the
/// server's certificate and key (what Prometheus serves).
pub struct TestCa {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

impl TestCa {
    /// A new authority and a certificate it signed for `127.0.0.1` and
    /// `localhost`.
    pub fn for_localhost() -> TestCa {
        let ca_key = rcgen::KeyPair::generate().expect("CA key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "runway test CA");
        let ca = ca_params.self_signed(&ca_key).expect("self-signed CA");
        let key = rcgen::KeyPair::generate().expect("server key");
        let params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                .expect("server params");
        let cert = params
            .signed_by(&key, &ca, &ca_key)
            .expect("server certificate");
        TestCa {
            ca_pem: ca.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}
