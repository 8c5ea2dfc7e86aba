//! `--web.config.file`: TLS and bcrypt basic auth.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, Server, BIN};

/// A test CA and a leaf certificate for localhost signed by it.
fn openssl_cert(dir: &std::path::Path) -> bool {
    let run = |args: &[&str]| {
        Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .is_ok()
        && run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=test-ca",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ])
        && run(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "key.pem",
            "-out",
            "leaf.csr",
        ])
        && run(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-out",
            "cert.pem",
            "-extfile",
            "ext.cnf",
        ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_basic_auth_protect_every_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    if !openssl_cert(dir.path()) {
        assert!(
            std::env::var("PROMLITE_REQUIRE_PEERS").as_deref() != Ok("1"),
            "openssl is required to make a test certificate"
        );
        eprintln!("SKIP tls_and_basic_auth_protect_every_endpoint: openssl not available");
        return;
    }
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    std::fs::write(
        dir.path().join("web.yml"),
        format!("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\nbasic_auth_users:\n  alice: {hash}\n"),
    )
    .unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(BIN)
        .args(["--storage.in-memory", "--web.config.file=web.yml"])
        .arg(format!("--web.listen-address={addr}"))
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Server {
        child,
        addr: addr.clone(),
    };
    let ca =
        reqwest::Certificate::from_pem(&std::fs::read(dir.path().join("ca.pem")).unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let url = |p: &str| format!("https://localhost:{port}{p}");
    // Wait until it answers at all (401 without credentials).
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut status = None;
    let mut last_err = String::new();
    while Instant::now() < deadline {
        match client.get(url("/-/ready")).send().await {
            Ok(r) => {
                status = Some(r.status().as_u16());
                break;
            }
            Err(e) => last_err = format!("{e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, Some(401), "no credentials: 401 ({last_err})");
    let r = client
        .get(url("/api/v1/query?query=1"))
        .basic_auth("alice", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.headers().get("www-authenticate").unwrap(), "Basic");
    assert_eq!(
        r.text().await.unwrap(),
        "Unauthorized\n",
        "a wrong password gets nothing else"
    );
    let r = client
        .get(url("/api/v1/query?query=1"))
        .basic_auth("nobody", Some("s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = client
        .get(url("/api/v1/query?query=1"))
        .basic_auth("alice", Some("s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("\"resultType\":\"scalar\""));
    // Plain HTTP is not served on the TLS port.
    assert!(reqwest::get(format!("http://{addr}/-/ready"))
        .await
        .map(|r| r.status().as_u16() != 200)
        .unwrap_or(true));
}

#[test]
fn invalid_web_config_is_rejected_at_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("web.yml"),
        "basic_auth_users:\n  bob: plaintext\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args([
            "--storage.in-memory",
            "--web.config.file=web.yml",
            "--web.listen-address=127.0.0.1:0",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bcrypt"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(
        dir.path().join("web.yml"),
        "tls_server_config:\n  cert_file: c.pem\n  bogus: 1\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args([
            "--storage.in-memory",
            "--web.config.file=web.yml",
            "--web.listen-address=127.0.0.1:0",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bogus"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
