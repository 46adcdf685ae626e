//! HTTPS end to end: the library's one TLS configuration (built once per process, shared by
//! every HTTP client) verifies the server against the system's roots and completes a real
//! rustls handshake. A TLS terminator in front of zoho-mock, with a certificate made here and
//! trusted through `SSL_CERT_FILE` (what the platform verifier reads on Linux).

mod common;

use std::sync::Arc;

use common::{Env, SCOPES};
use rcgen::{CertificateParams, KeyPair};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use zoho_oauth::{Client, ErrorCode, OAuthApp};

/// A self-signed certificate for `localhost`: (PEM of the certificate, server config).
fn server(names: &[&str]) -> (String, Arc<ServerConfig>) {
    let key = KeyPair::generate().expect("key");
    let cert = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .expect("params")
        .self_signed(&key)
        .expect("certificate");
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(cert.der().to_vec())], der)
        .expect("server config");
    // The mock speaks HTTP/1.1 only.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    (cert.pem(), Arc::new(config))
}

/// Accept TLS on a loopback port and relay the plain bytes to `target`; the port.
async fn terminator(config: Arc<ServerConfig>, target: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let acceptor = TlsAcceptor::from(config);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (acceptor, target) = (acceptor.clone(), target.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else { return };
                let Ok(mut plain) = TcpStream::connect(&target).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn https_token_and_api_requests_verify_the_server() {
    let (trusted_pem, trusted) = server(&["localhost"]);
    let (_, untrusted) = server(&["localhost"]);
    let dir = std::env::temp_dir().join(format!("zoho-oauth-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, trusted_pem).expect("write CA");
    // SAFETY: set before any thread of this test binary reads the environment (this binary
    // has this one test, and the first TLS configuration is built below).
    unsafe {
        std::env::set_var("SSL_CERT_FILE", &ca);
        std::env::remove_var("SSL_CERT_DIR");
    }

    let env = Env::start().await;
    let mock = env.url().trim_start_matches("http://").to_string();
    let good = terminator(trusted, mock.clone()).await;
    let bad = terminator(untrusted, mock).await;
    let app = |port: u16| {
        OAuthApp::builder(zoho_mock::DEFAULT_CLIENT_ID)
            .client_secret(zoho_mock::DEFAULT_CLIENT_SECRET)
            .client_type(zoho_oauth::ClientType::SelfClient)
            .accounts_url(format!("https://localhost:{port}"))
            .clock(env.clock.clone())
            .build()
            .expect("app")
    };

    // Token request and API request over TLS, for two apps (one shared configuration).
    for _ in 0..2 {
        let client = Client::builder(app(good), env.refresh_token(SCOPES))
            .api_domain(format!("https://localhost:{good}"))
            .allow_host(env.url()) // the api_domain the mock puts in its tokens
            .build()
            .expect("client");
        let r = client.get("/crm/v8/Leads").send().await.expect("GET over TLS");
        assert_eq!(r.status(), 200);
    }

    // A server whose certificate no root vouches for is refused, before any secret is sent.
    let before = env.refreshes();
    let client = Client::builder(app(bad), env.refresh_token(SCOPES)).build().expect("client");
    let e = client.access_token().await.expect_err("untrusted certificate");
    assert_eq!(e.code(), ErrorCode::Transport, "{e}");
    assert_eq!(env.refreshes(), before, "nothing reached the token endpoint");
    let _ = std::fs::remove_dir_all(&dir);
}
