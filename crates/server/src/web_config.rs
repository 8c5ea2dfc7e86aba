//! `--web.config.file`: TLS and basic authentication for the web server, in
//! the format of Prometheus' exporter-toolkit.
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt
//!   key_file: server.key
//! basic_auth_users:
//!   alice: $2y$10$...   # bcrypt hash
//! ```

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use serde::Deserialize;

/// The parsed web configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebConfig {
    #[serde(default)]
    pub(crate) tls_server_config: Option<TlsServerConfig>,
    #[serde(default)]
    pub(crate) http_server_config: Option<HttpServerConfig>,
    #[serde(default)]
    pub(crate) basic_auth_users: BTreeMap<String, String>,
}

/// `tls_server_config`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TlsServerConfig {
    #[serde(default)]
    cert_file: String,
    #[serde(default)]
    key_file: String,
    #[serde(default)]
    client_auth_type: String,
    #[serde(default)]
    client_ca_file: String,
    #[serde(default)]
    min_version: String,
    #[serde(default)]
    max_version: String,
    #[serde(default)]
    cipher_suites: Vec<String>,
    #[serde(default)]
    prefer_server_cipher_suites: Option<bool>,
    #[serde(default)]
    curve_preferences: Vec<String>,
}

/// `http_server_config`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HttpServerConfig {
    #[serde(default)]
    http2: Option<bool>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

fn resolve(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

impl WebConfig {
    /// Reads and validates `path`.
    pub(crate) fn load(path: &Path) -> Result<WebConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        let mut cfg: WebConfig =
            serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        if let Some(t) = cfg.tls_server_config.as_mut() {
            if t.cert_file.is_empty() {
                return Err("missing cert_file".into());
            }
            if t.key_file.is_empty() {
                return Err("missing key_file".into());
            }
            t.cert_file = resolve(base, &t.cert_file).display().to_string();
            t.key_file = resolve(base, &t.key_file).display().to_string();
            if !t.client_ca_file.is_empty() {
                t.client_ca_file = resolve(base, &t.client_ca_file).display().to_string();
            }
            if !t.max_version.is_empty()
                || !t.cipher_suites.is_empty()
                || t.prefer_server_cipher_suites.is_some()
                || !t.curve_preferences.is_empty()
            {
                tracing::warn!(
                    "tls_server_config: max_version, cipher_suites, prefer_server_cipher_suites and \
                     curve_preferences are accepted but not applied; rustls' safe defaults are used"
                );
            }
            match t.client_auth_type.as_str() {
                "" | "NoClientCert" | "RequireAndVerifyClientCert" | "VerifyClientCertIfGiven" => {}
                other => return Err(format!("invalid ClientAuth: {other}")),
            }
        }
        for (user, hash) in &cfg.basic_auth_users {
            if !(hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$")) {
                return Err(format!(
                    "basic_auth_users: the password of {user:?} is not a bcrypt hash"
                ));
            }
        }
        Ok(cfg)
    }

    /// The rustls server configuration, if TLS is configured.
    pub(crate) fn tls(&self) -> Result<Option<Arc<rustls::ServerConfig>>, String> {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        let Some(t) = &self.tls_server_config else {
            return Ok(None);
        };
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&t.cert_file)
            .map_err(|e| format!("reading cert_file {}: {e}", t.cert_file))?
            .collect::<Result<_, _>>()
            .map_err(|e| format!("parsing cert_file {}: {e}", t.cert_file))?;
        let key = PrivateKeyDer::from_pem_file(&t.key_file)
            .map_err(|e| format!("reading key_file {}: {e}", t.key_file))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions: Vec<&'static rustls::SupportedProtocolVersion> = match t.min_version.as_str()
        {
            "TLS13" => vec![&rustls::version::TLS13],
            _ => vec![&rustls::version::TLS12, &rustls::version::TLS13],
        };
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| e.to_string())?;
        let builder = match t.client_auth_type.as_str() {
            "RequireAndVerifyClientCert" | "VerifyClientCertIfGiven" => {
                let mut roots = rustls::RootCertStore::empty();
                for c in CertificateDer::pem_file_iter(&t.client_ca_file)
                    .map_err(|e| format!("reading client_ca_file: {e}"))?
                {
                    roots
                        .add(c.map_err(|e| format!("parsing client_ca_file: {e}"))?)
                        .map_err(|e| e.to_string())?;
                }
                let v = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                );
                let v = if t.client_auth_type == "VerifyClientCertIfGiven" {
                    v.allow_unauthenticated()
                } else {
                    v
                };
                builder.with_client_cert_verifier(v.build().map_err(|e| e.to_string())?)
            }
            _ => builder.with_no_client_auth(),
        };
        let mut cfg = builder
            .with_single_cert(certs, key)
            .map_err(|e| format!("cert/key: {e}"))?;
        let http2 = self
            .http_server_config
            .as_ref()
            .and_then(|h| h.http2)
            .unwrap_or(true);
        cfg.alpn_protocols = if http2 {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        };
        Ok(Some(Arc::new(cfg)))
    }

    /// Extra response headers from `http_server_config.headers`.
    pub(crate) fn headers(&self) -> Vec<(String, String)> {
        self.http_server_config
            .as_ref()
            .map(|h| {
                h.headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Checks HTTP basic credentials against bcrypt hashes, remembering
/// credentials that verified (bcrypt is deliberately slow).
pub(crate) struct BasicAuth {
    users: BTreeMap<String, String>,
    verified: Mutex<HashSet<u64>>,
    /// A real hash checked for unknown users, so timing does not reveal names.
    dummy: String,
}

impl BasicAuth {
    pub(crate) fn new(users: BTreeMap<String, String>) -> Option<Arc<BasicAuth>> {
        (!users.is_empty()).then(|| {
            Arc::new(BasicAuth {
                users,
                verified: Mutex::new(HashSet::new()),
                dummy: bcrypt::hash("promlite", 10).unwrap_or_default(),
            })
        })
    }

    fn check(&self, user: &str, password: &str) -> bool {
        let Some(hash) = self.users.get(user) else {
            // Spend the same time as a real check, so user names cannot be probed.
            let _ = bcrypt::verify(password, &self.dummy);
            return false;
        };
        let key =
            xxhash_rust::xxh3::xxh3_64(format!("{user}\u{0}{password}\u{0}{hash}").as_bytes());
        if self.verified.lock().contains(&key) {
            return true;
        }
        let ok = bcrypt::verify(password, hash).unwrap_or(false);
        if ok {
            let mut v = self.verified.lock();
            if v.len() > 1024 {
                v.clear();
            }
            v.insert(key);
        }
        ok
    }
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Basic")],
        "Unauthorized\n",
    )
        .into_response()
}

fn credentials(req: &Request<Body>) -> Option<(String, String)> {
    use base64_lite::decode;
    let h = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = h.strip_prefix("Basic ")?;
    let raw = decode(b64.trim())?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// Middleware: requests without valid credentials get 401 and nothing else.
pub(crate) async fn require_basic_auth(
    auth: Arc<BasicAuth>,
    req: Request<Body>,
    next: Next,
) -> Response {
    let Some((user, password)) = credentials(&req) else {
        return unauthorized();
    };
    let a = auth.clone();
    let ok = tokio::task::spawn_blocking(move || a.check(&user, &password))
        .await
        .unwrap_or(false);
    if !ok {
        return unauthorized();
    }
    next.run(req).await
}

/// A minimal standard base64 decoder (the only use is the Basic header).
mod base64_lite {
    pub(super) fn decode(s: &str) -> Option<Vec<u8>> {
        let val = |c: u8| -> Option<u32> {
            Some(match c {
                b'A'..=b'Z' => (c - b'A') as u32,
                b'a'..=b'z' => (c - b'a' + 26) as u32,
                b'0'..=b'9' => (c - b'0' + 52) as u32,
                b'+' => 62,
                b'/' => 63,
                _ => return None,
            })
        };
        let bytes = s.trim_end_matches('=').as_bytes();
        let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
        let mut acc = 0u32;
        let mut bits = 0;
        for &c in bytes {
            acc = (acc << 6) | val(c)?;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
        Some(out)
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn decodes_basic_credentials() {
            assert_eq!(super::decode("YWxpY2U6c2VjcmV0").unwrap(), b"alice:secret");
            assert_eq!(super::decode("YTpi").unwrap(), b"a:b");
            assert_eq!(super::decode("YQ==").unwrap(), b"a");
            assert!(super::decode("!!").is_none());
        }
    }
}

/// Serves `router` over TLS on `listener` until `shutdown` completes.
pub(crate) async fn serve_tls(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    router: axum::Router,
    shutdown: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            _ = &mut shutdown => return,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed");
                    continue;
                }
            },
        };
        let acceptor = acceptor.clone();
        let svc = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let Ok(tls_stream) = acceptor.accept(stream).await else {
                return;
            };
            let _ = Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls_stream), svc)
                .await;
        });
    }
}
