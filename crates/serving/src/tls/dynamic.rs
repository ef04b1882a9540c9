//! [`DynamicCertificates`]: the serving certificates chosen by SNI, reloaded
//! from their files when they change.
//!
//! Mirrors `k8s.io/apiserver/pkg/server/dynamiccertificates`: the serving
//! certificate and SNI certificate providers, `BuildNamedCertificates` and
//! `getCertificateNames` (which names a certificate is served for), and the
//! `GetCertificate` callback of `DynamicServingCertificateController` (which
//! certificate a handshake gets). Go watches the files with fsnotify and
//! re-checks every minute; here the files are polled.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_util::sync::CancellationToken;

use super::NamedCertKey;
use crate::error::{Error, Result};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serving certificates chosen by SNI, reloaded from their files when they
/// change.
///
/// Which certificate a handshake gets (Go's `GetCertificate`):
/// 1. without SNI certificates, the default certificate whatever the client
///    asked for;
/// 2. the certificate registered under the requested server name
///    (lowercased, trailing dots removed);
/// 3. a wildcard: the name's labels replaced by `*` one at a time from the
///    left (`a.b.c` tries `*.b.c`, then `*.*.c`, then `*.*.*`);
/// 4. the default certificate; without one the handshake fails.
///
/// Which names a certificate is registered under (Go's
/// `BuildNamedCertificates`): its explicit names when it has any, otherwise
/// its common name (when that is a DNS name, not an IP) and its DNS subject
/// alternative names; IP addresses are never used, SNI cannot carry them.
/// Explicit names win over names read from certificates; among equals the
/// earlier certificate wins. In-memory certificates ([`add_static`]) come
/// before the file ones, as Go prepends the loopback certificate.
///
/// [`add_static`]: Self::add_static
pub struct DynamicCertificates {
    /// What was loaded, to compare with the files and rebuild the selection.
    sources: Mutex<Sources>,
    /// What handshakes read: replaced as a whole on every change.
    selection: ArcSwap<Selection>,
}

impl DynamicCertificates {
    /// Loads the default certificate (`--tls-cert-file`,
    /// `--tls-private-key-file`) and the SNI certificates
    /// (`--tls-sni-cert-key`). Every file must load.
    pub fn load(default: Option<(PathBuf, PathBuf)>, sni: &[NamedCertKey]) -> Result<Arc<Self>> {
        let default = default
            .map(|(cert, key)| FileSource::load(cert, key, Vec::new()))
            .transpose()?;
        let sni = sni
            .iter()
            .map(|nck| {
                let names = nck.names.iter().map(|n| normalize(n)).collect();
                FileSource::load(nck.cert_file.clone(), nck.key_file.clone(), names)
            })
            .collect::<Result<Vec<_>>>()?;
        let sources = Sources {
            statics: Vec::new(),
            default,
            sni,
        };
        let selection = sources.selection();
        Ok(Arc::new(Self {
            sources: Mutex::new(sources),
            selection: ArcSwap::from_pointee(selection),
        }))
    }

    /// Adds an in-memory certificate served for `names` (the loopback
    /// certificate). It is never reloaded, and it ranks before the file SNI
    /// certificates, after in-memory certificates added earlier.
    pub fn add_static(&self, names: Vec<String>, cert_pem: &str, key_pem: &str) -> Result<()> {
        let names: Vec<String> = names.iter().map(|n| normalize(n)).collect();
        let entry = Entry::parse(cert_pem.as_bytes(), key_pem.as_bytes(), names.clone())
            .map_err(|source| Error::StaticCertificate { names, source })?;
        let mut sources = self.lock();
        sources.statics.push(entry);
        self.selection.store(Arc::new(sources.selection()));
        Ok(())
    }

    /// Re-reads the certificate files. Returns `true` when something changed
    /// and new handshakes now get the new certificates.
    ///
    /// The files are taken together, as Go's controller does: when one of
    /// them cannot be read or parsed (a half-written file, a key that does
    /// not match its certificate), nothing changes, the old certificates keep
    /// being served and the error is returned.
    pub fn reload(&self) -> Result<bool> {
        let mut sources = self.lock();
        let mut updates = Vec::new();
        for (index, source) in sources.files().enumerate() {
            if let Some(entry) = source.reread()? {
                updates.push((index, entry));
            }
        }
        if updates.is_empty() {
            return Ok(false);
        }
        for (index, update) in updates {
            if let Some(source) = sources.files_mut().nth(index) {
                tracing::info!(
                    cert = %source.cert_file.display(),
                    names = ?update.entry.names,
                    "reloaded serving certificate"
                );
                source.cert_pem = update.cert_pem;
                source.key_pem = update.key_pem;
                source.entry = update.entry;
            }
        }
        self.selection.store(Arc::new(sources.selection()));
        Ok(true)
    }

    /// Calls [`reload`](Self::reload) every `interval` until `stop` is
    /// cancelled, logging a warning when the files cannot be loaded (once
    /// per distinct error, not on every tick).
    pub fn spawn_reloader(
        self: &Arc<Self>,
        interval: Duration,
        stop: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first tick is immediate; the files were just loaded.
            ticker.tick().await;
            let mut last_error: Option<String> = None;
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = ticker.tick() => {}
                }
                let certs = Arc::clone(&this);
                let outcome = tokio::task::spawn_blocking(move || certs.reload()).await;
                match outcome {
                    Ok(Ok(_)) => last_error = None,
                    Ok(Err(err)) => {
                        let message = error_chain(&err);
                        if last_error.as_ref() != Some(&message) {
                            tracing::warn!(
                                error = %message,
                                "keeping the current serving certificates"
                            );
                            last_error = Some(message);
                        }
                    }
                    Err(join) => {
                        tracing::error!(error = %join, "certificate reload task failed");
                    }
                }
            }
        })
    }

    /// The names certificates are currently registered under, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.selection.load().by_name.keys().cloned().collect();
        names.sort();
        names
    }

    fn lock(&self) -> MutexGuard<'_, Sources> {
        // A panic while holding the lock leaves `Sources` consistent: every
        // update is assigned whole, after all fallible work.
        self.sources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl ResolvesServerCert for DynamicCertificates {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.selection.load().choose(client_hello.server_name())
    }
}

impl fmt::Debug for DynamicCertificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sources = self.lock();
        let default = sources
            .default
            .as_ref()
            .map(|s| (&s.cert_file, &s.key_file));
        let sni: Vec<_> = sources
            .sni
            .iter()
            .map(|s| (&s.cert_file, &s.key_file, &s.entry.explicit))
            .collect();
        let statics: Vec<_> = sources.statics.iter().map(|e| &e.explicit).collect();
        f.debug_struct("DynamicCertificates")
            .field("default", &default)
            .field("sni", &sni)
            .field("static", &statics)
            .finish_non_exhaustive()
    }
}

/// Everything loaded, in priority order.
struct Sources {
    statics: Vec<Entry>,
    default: Option<FileSource>,
    sni: Vec<FileSource>,
}

impl Sources {
    fn files(&self) -> impl Iterator<Item = &FileSource> {
        self.default.iter().chain(&self.sni)
    }

    fn files_mut(&mut self) -> impl Iterator<Item = &mut FileSource> {
        self.default.iter_mut().chain(&mut self.sni)
    }

    /// Builds the name map as `BuildNamedCertificates` does.
    fn selection(&self) -> Selection {
        let mut explicit: HashMap<String, Arc<CertifiedKey>> = HashMap::new();
        let mut derived: HashMap<String, Arc<CertifiedKey>> = HashMap::new();
        let named = self.statics.iter().chain(self.sni.iter().map(|s| &s.entry));
        for entry in named {
            let (map, names) = if entry.explicit.is_empty() {
                (&mut derived, &entry.names)
            } else {
                (&mut explicit, &entry.explicit)
            };
            for name in names {
                map.entry(name.clone())
                    .or_insert_with(|| Arc::clone(&entry.key));
            }
        }
        derived.extend(explicit);
        Selection {
            default: self.default.as_ref().map(|s| Arc::clone(&s.entry.key)),
            by_name: derived,
        }
    }
}

/// A certificate and key read from files, with the bytes they were read from.
struct FileSource {
    cert_file: PathBuf,
    key_file: PathBuf,
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    entry: Entry,
}

impl FileSource {
    fn load(cert_file: PathBuf, key_file: PathBuf, explicit: Vec<String>) -> Result<Self> {
        let (cert_pem, key_pem) = read_pair(&cert_file, &key_file)?;
        let entry = Entry::parse(&cert_pem, &key_pem, explicit).map_err(|source| {
            Error::LoadCertificate {
                cert: cert_file.clone(),
                key: key_file.clone(),
                source,
            }
        })?;
        Ok(Self {
            cert_file,
            key_file,
            cert_pem,
            key_pem,
            entry,
        })
    }

    /// Reads the files again: `None` when their bytes did not change,
    /// otherwise the new bytes and the entry parsed from them.
    fn reread(&self) -> Result<Option<Contents>> {
        let (cert_pem, key_pem) = read_pair(&self.cert_file, &self.key_file)?;
        if cert_pem == self.cert_pem && key_pem == self.key_pem {
            return Ok(None);
        }
        let entry =
            Entry::parse(&cert_pem, &key_pem, self.entry.explicit.clone()).map_err(|source| {
                Error::LoadCertificate {
                    cert: self.cert_file.clone(),
                    key: self.key_file.clone(),
                    source,
                }
            })?;
        Ok(Some(Contents {
            cert_pem,
            key_pem,
            entry,
        }))
    }
}

/// New file contents and what was parsed from them.
struct Contents {
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    entry: Entry,
}

/// One parsed certificate with the names it may be served for.
struct Entry {
    key: Arc<CertifiedKey>,
    /// Explicit names (lowercase), possibly empty.
    explicit: Vec<String>,
    /// Names read from the certificate (lowercase).
    names: Vec<String>,
}

impl Entry {
    fn parse(cert_pem: &[u8], key_pem: &[u8], explicit: Vec<String>) -> Result<Self, BoxError> {
        let chain =
            CertificateDer::pem_slice_iter(cert_pem).collect::<std::result::Result<Vec<_>, _>>()?;
        let Some(leaf) = chain.first() else {
            return Err("no certificate found in PEM data".into());
        };
        let names = certificate_names(leaf)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem)?;
        let key = CertifiedKey::from_der(chain, key, &rustls::crypto::ring::default_provider())?;
        Ok(Self {
            key: Arc::new(key),
            explicit,
            names,
        })
    }
}

/// What handshakes read.
struct Selection {
    default: Option<Arc<CertifiedKey>>,
    by_name: HashMap<String, Arc<CertifiedKey>>,
}

impl Selection {
    fn choose(&self, server_name: Option<&str>) -> Option<Arc<CertifiedKey>> {
        if self.by_name.is_empty() {
            return self.default.clone();
        }
        if let Some(name) = server_name.map(normalize).filter(|n| !n.is_empty()) {
            if let Some(key) = self.by_name.get(&name) {
                return Some(Arc::clone(key));
            }
            let mut labels: Vec<&str> = name.split('.').collect();
            for i in 0..labels.len() {
                labels[i] = "*";
                if let Some(key) = self.by_name.get(&labels.join(".")) {
                    return Some(Arc::clone(key));
                }
            }
        }
        self.default.clone()
    }
}

/// Lowercases a server name and removes trailing dots.
fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The names a certificate is served for when it has no explicit names (Go's
/// `getCertificateNames`): the common name when it is `*` or a DNS-1123
/// subdomain (optionally `*.`-prefixed) and not an IP, then the DNS subject
/// alternative names.
fn certificate_names(leaf: &CertificateDer<'_>) -> Result<Vec<String>, BoxError> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf)?;
    let mut names = Vec::new();
    if let Some(cn) = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|attr| attr.as_str().ok())
    {
        let is_ip = cn.parse::<IpAddr>().is_ok();
        let is_domain = cn == "*" || is_dns1123_subdomain(cn.strip_prefix("*.").unwrap_or(cn));
        if !is_ip && is_domain {
            names.push(normalize(cn));
        }
    }
    if let Some(san) = cert.subject_alternative_name()? {
        for name in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(dns) = name {
                names.push(normalize(dns));
            }
        }
    }
    Ok(names)
}

/// Kubernetes' `IsDNS1123Subdomain`: at most 253 characters of lowercase
/// labels made of `[a-z0-9-]`, each starting and ending alphanumerically.
fn is_dns1123_subdomain(value: &str) -> bool {
    let label_ok = |label: &str| {
        let bytes = label.as_bytes();
        match (bytes.first(), bytes.last()) {
            (Some(first), Some(last)) => {
                first.is_ascii_alphanumeric()
                    && last.is_ascii_alphanumeric()
                    && bytes
                        .iter()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
            }
            _ => false,
        }
    };
    !value.is_empty() && value.len() <= 253 && value.split('.').all(label_ok)
}

fn read_pair(cert_file: &Path, key_file: &Path) -> Result<(Vec<u8>, Vec<u8>)> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| Error::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })
    };
    Ok((read(cert_file)?, read(key_file)?))
}

/// An error and its sources on one line, for logs.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns1123_subdomains() {
        fn check(input: &str, expected: bool) {
            assert_eq!(is_dns1123_subdomain(input), expected, "{input:?}");
        }
        check("example.com", true);
        check("a-b.c0", true);
        check("localhost", true);
        check("Example.com", false);
        check("-a.com", false);
        check("a-.com", false);
        check("a..com", false);
        check("", false);
        check("a_b.com", false);
        check(&"a".repeat(254), false);
    }

    fn key(tag: u8) -> Arc<CertifiedKey> {
        // A CertifiedKey whose chain is a marker; choose() never looks inside.
        let signing = rustls::crypto::ring::sign::any_supported_type(
            &PrivateKeyDer::from_pem_slice(
                rcgen::KeyPair::generate()
                    .expect("key")
                    .serialize_pem()
                    .as_bytes(),
            )
            .expect("pem"),
        )
        .expect("signing key");
        Arc::new(CertifiedKey::new(
            vec![CertificateDer::from(vec![tag])],
            signing,
        ))
    }

    #[test]
    fn choose_follows_go_get_certificate() {
        let (default, exact, wildcard, deep) = (key(0), key(1), key(2), key(3));
        let selection = Selection {
            default: Some(default),
            by_name: HashMap::from([
                ("a.example.com".to_owned(), exact),
                ("*.example.com".to_owned(), wildcard),
                ("*.*.org".to_owned(), deep),
            ]),
        };
        let check = |name: Option<&str>, expected: Option<u8>| {
            let got = selection.choose(name).map(|k| k.cert[0].as_ref()[0]);
            assert_eq!(got, expected, "{name:?}");
        };
        check(Some("a.example.com"), Some(1));
        check(Some("A.Example.COM."), Some(1));
        check(Some("b.example.com"), Some(2));
        check(Some("x.b.example.com"), Some(0));
        check(Some("x.y.org"), Some(3));
        check(Some("example.com"), Some(0));
        check(Some("other.net"), Some(0));
        check(None, Some(0));

        let without_default = Selection {
            default: None,
            by_name: selection.by_name.clone(),
        };
        assert!(without_default.choose(Some("other.net")).is_none());
        assert!(without_default.choose(Some("a.example.com")).is_some());

        let only_default = Selection {
            default: Some(key(9)),
            by_name: HashMap::new(),
        };
        assert!(only_default.choose(Some("anything.example")).is_some());
    }
}
