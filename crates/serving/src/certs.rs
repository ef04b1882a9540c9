//! Certificate generation: a [`CertificateAuthority`] that issues serving and
//! client certificates, and [`maybe_generate_self_signed`], the self-signed
//! serving certificate kube-apiserver writes to `--cert-dir` when no
//! `--tls-cert-file` is given.
//!
//! Mirrors `SecureServingOptions.MaybeDefaultWithSelfSignedCerts`
//! (`k8s.io/apiserver/pkg/server/options/serving.go`) and client-go's
//! `util/cert` (`GenerateSelfSignedCertKeyWithFixtures`, `CanReadCertAndKey`,
//! `WriteCert`, `keyutil.WriteKey`). Deliberate difference: keys are ECDSA
//! P-256 (rcgen with *ring* cannot generate RSA keys), where Go uses RSA 2048.

mod der;

use std::fmt;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use time::OffsetDateTime;

use crate::error::{Error, Result};

/// The validity of a CA made by [`CertificateAuthority::generate`]: ten
/// years, as kubeadm gives its cluster CA.
pub const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

/// The validity of the certificates [`maybe_generate_self_signed`] makes: one
/// year, as client-go's `GenerateSelfSignedCertKeyWithFixtures`.
pub const SELF_SIGNED_VALIDITY: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// How far in the past certificates start, so that a peer whose clock is a
/// little behind still accepts them (client-go uses one hour).
const CLOCK_SKEW: Duration = Duration::from_secs(60 * 60);

/// The file name, without extension, of the certificate pair in `--cert-dir`
/// (Go's `PairName`).
pub const CERT_DIR_PAIR_NAME: &str = "apiserver";

/// A certificate authority: its certificate and private key (PEM).
///
/// `Debug` shows the certificate, never the key.
#[derive(Clone)]
pub struct CertificateAuthority {
    cert_pem: String,
    key_pem: String,
}

/// A certificate issued by a [`CertificateAuthority`]: the leaf certificate
/// alone (no chain) and its private key (PKCS#8), both PEM.
#[derive(Clone)]
pub struct IssuedCert {
    /// The leaf certificate. Append the CA's `cert_pem` to serve a chain.
    pub cert_pem: String,
    /// The private key.
    pub key_pem: String,
}

/// What [`maybe_generate_self_signed`] found or wrote.
#[derive(Debug, Clone)]
pub struct SelfSignedFiles {
    /// `<cert-dir>/apiserver.crt`: the serving certificate followed by its CA.
    pub cert_file: PathBuf,
    /// `<cert-dir>/apiserver.key`: the serving key, mode 0600.
    pub key_file: PathBuf,
    /// The CA certificate clients should trust (the last certificate of the
    /// chain in `cert_file`).
    pub ca_pem: String,
    /// `true` when the files were written now, `false` when they were reused.
    pub generated: bool,
}

impl CertificateAuthority {
    /// A new self-signed CA named `common_name`, valid for [`CA_VALIDITY`].
    pub fn generate(common_name: &str) -> Result<Self> {
        Self::generate_with_validity(common_name, CA_VALIDITY)
    }

    /// A new self-signed CA named `common_name`, valid for `validity` from
    /// an hour ago.
    pub fn generate_with_validity(common_name: &str, validity: Duration) -> Result<Self> {
        let key = KeyPair::generate()?;
        let mut params = base_params(common_name, validity)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::KeyCertSign,
        ];
        let cert = params.self_signed(&key)?;
        Ok(Self {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Reads a CA certificate and key written by [`write`](Self::write) or
    /// any PEM pair whose first certificate is the CA.
    pub fn load(cert_file: &Path, key_file: &Path) -> Result<Self> {
        let failed = |source: Box<dyn std::error::Error + Send + Sync>| Error::LoadCertificate {
            cert: cert_file.to_owned(),
            key: key_file.to_owned(),
            source,
        };
        let cert_pem = std::fs::read_to_string(cert_file).map_err(|e| failed(Box::new(e)))?;
        let key_pem = std::fs::read_to_string(key_file).map_err(|e| failed(Box::new(e)))?;
        let ca = Self { cert_pem, key_pem };
        ca.issuer().map_err(|e| failed(Box::new(e)))?;
        Ok(ca)
    }

    /// The CA certificate (PEM).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA private key (PEM).
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// Writes the certificate (mode 0644) and the key (mode 0600), creating
    /// parent directories as needed.
    pub fn write(&self, cert_file: &Path, key_file: &Path) -> Result<()> {
        write_file(cert_file, self.cert_pem.as_bytes(), 0o644)?;
        write_file(key_file, self.key_pem.as_bytes(), 0o600)
    }

    /// Issues a serving certificate (`serverAuth`) for `dns_names` and `ips`,
    /// valid for `validity` from an hour ago.
    pub fn issue_serving(
        &self,
        common_name: &str,
        dns_names: &[String],
        ips: &[IpAddr],
        validity: Duration,
    ) -> Result<IssuedCert> {
        let mut params = base_params(common_name, validity)?;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        for name in dns_names {
            let name = name.clone().try_into()?;
            params.subject_alt_names.push(SanType::DnsName(name));
        }
        params
            .subject_alt_names
            .extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
        let key = KeyPair::generate()?;
        let issuer = self.issuer()?;
        let cert = params.signed_by(&key, &issuer)?;
        Ok(IssuedCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Issues a client certificate (`clientAuth`) whose subject carries the
    /// Kubernetes user (`common_name`) and groups (`organizations`, one
    /// `O=` attribute each, before `CN=` as Go orders them), valid for
    /// `validity` from an hour ago.
    pub fn issue_client(
        &self,
        common_name: &str,
        organizations: &[String],
        validity: Duration,
    ) -> Result<IssuedCert> {
        let mut params = base_params(common_name, validity)?;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate()?;
        let issuer = self.issuer()?;
        let cert = params.signed_by(&key, &issuer)?;
        // rcgen keeps one value per attribute type; Kubernetes groups need
        // one O= per group, so the subject is re-encoded and re-signed.
        let subject = der::encode_name(common_name, organizations);
        let der = der::replace_subject(cert.der(), &subject, issuer.key())?;
        let cert_pem = pem_encode("CERTIFICATE", &der);
        Ok(IssuedCert {
            cert_pem,
            key_pem: key.serialize_pem(),
        })
    }

    fn issuer(&self) -> Result<Issuer<'static, KeyPair>> {
        let key = KeyPair::from_pem(&self.key_pem)?;
        Ok(Issuer::from_ca_cert_pem(&self.cert_pem, key)?)
    }
}

impl fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("cert_pem", &self.cert_pem)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for IssuedCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCert")
            .field("cert_pem", &self.cert_pem)
            .finish_non_exhaustive()
    }
}

/// Reuses `<cert_dir>/apiserver.crt` and `apiserver.key` when both exist;
/// otherwise generates a CA and a serving certificate signed by it and
/// writes them there (the certificate followed by the CA, and the key with
/// mode 0600), as kube-apiserver does when no `--tls-cert-file` is given.
///
/// The certificate is named after `advertise` (or `localhost`), valid for
/// [`SELF_SIGNED_VALIDITY`], for `advertise` (an IP or a DNS name),
/// `localhost`, `127.0.0.1`, `::1`, `apiserver-loopback-client` and the extra
/// names and IPs. One file without the other is an error, as in Go.
pub fn maybe_generate_self_signed(
    cert_dir: &Path,
    advertise: Option<&str>,
    extra_dns: &[String],
    extra_ips: &[IpAddr],
) -> Result<SelfSignedFiles> {
    let cert_file = cert_dir.join(format!("{CERT_DIR_PAIR_NAME}.crt"));
    let key_file = cert_dir.join(format!("{CERT_DIR_PAIR_NAME}.key"));
    match (cert_file.is_file(), key_file.is_file()) {
        (true, true) => {
            let ca_pem = last_certificate(&cert_file, &key_file)?;
            return Ok(SelfSignedFiles {
                cert_file,
                key_file,
                ca_pem,
                generated: false,
            });
        }
        (true, false) | (false, true) => {
            let missing = if cert_file.is_file() {
                &key_file
            } else {
                &cert_file
            };
            return Err(Error::Io {
                action: "read",
                path: missing.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "certificate and key must be supplied as a pair",
                ),
            });
        }
        (false, false) => {}
    }

    let host = advertise.unwrap_or("localhost");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let ca = CertificateAuthority::generate_with_validity(
        &format!("{host}-ca@{now}"),
        SELF_SIGNED_VALIDITY,
    )?;

    let mut dns_names: Vec<String> = Vec::new();
    let mut ips: Vec<IpAddr> = Vec::new();
    match host.parse::<IpAddr>() {
        Ok(ip) => ips.push(ip),
        Err(_) => dns_names.push(host.to_owned()),
    }
    let defaults_dns = ["localhost", kapi_core::LOOPBACK_CLIENT_SERVER_NAME_OVERRIDE];
    for name in extra_dns.iter().map(String::as_str).chain(defaults_dns) {
        if !dns_names.iter().any(|n| n == name) {
            dns_names.push(name.to_owned());
        }
    }
    let default_ips = [
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ];
    for ip in extra_ips.iter().copied().chain(default_ips) {
        if !ips.contains(&ip) {
            ips.push(ip);
        }
    }
    let serving = ca.issue_serving(
        &format!("{host}@{now}"),
        &dns_names,
        &ips,
        SELF_SIGNED_VALIDITY,
    )?;

    let chain = format!("{}{}", serving.cert_pem, ca.cert_pem);
    write_file(&cert_file, chain.as_bytes(), 0o644)?;
    write_file(&key_file, serving.key_pem.as_bytes(), 0o600)?;
    tracing::info!(
        cert = %cert_file.display(),
        key = %key_file.display(),
        "generated self-signed cert"
    );
    Ok(SelfSignedFiles {
        cert_file,
        key_file,
        ca_pem: ca.cert_pem,
        generated: true,
    })
}

/// Certificate parameters every certificate here shares: subject CN, a
/// random serial, valid from an hour ago for `validity`.
fn base_params(common_name: &str, validity: Duration) -> Result<CertificateParams> {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    let mut serial = *uuid::Uuid::new_v4().as_bytes();
    // A positive, non-zero 127-bit serial.
    serial[0] = (serial[0] & 0x7f) | 0x01;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    params.not_before = OffsetDateTime::now_utc() - CLOCK_SKEW;
    params.not_after = params.not_before + validity;
    Ok(params)
}

/// The last certificate of a PEM chain file, re-encoded as PEM.
fn last_certificate(cert_file: &Path, key_file: &Path) -> Result<String> {
    let failed = |source: Box<dyn std::error::Error + Send + Sync>| Error::LoadCertificate {
        cert: cert_file.to_owned(),
        key: key_file.to_owned(),
        source,
    };
    let pem = std::fs::read(cert_file).map_err(|e| failed(Box::new(e)))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| failed(Box::new(e)))?;
    let last = certs
        .last()
        .ok_or_else(|| failed("no certificate found".into()))?;
    Ok(pem_encode("CERTIFICATE", last))
}

/// PEM with 64-column base64 lines.
fn pem_encode(label: &str, der: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in encoded.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Writes `contents` to `path` through a temporary file and a rename, so a
/// reader never sees half a file; creates parent directories.
fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let io = |action, path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io("create directory", parent))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(&tmp).map_err(io("write", &tmp))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The mode given to open() is reduced by the umask and ignored for
        // an existing file; set it explicitly.
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(io("chmod", &tmp))?;
    }
    file.write_all(contents).map_err(io("write", &tmp))?;
    file.sync_all().map_err(io("write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("rename", path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::prelude::*;

    fn parse(pem: &str) -> Vec<u8> {
        CertificateDer::from_pem_slice(pem.as_bytes())
            .unwrap()
            .as_ref()
            .to_vec()
    }

    #[test]
    fn ca_issues_client_certificates_with_every_group() {
        let ca = CertificateAuthority::generate("test-ca").unwrap();
        let client = ca
            .issue_client(
                "alice",
                &["system:masters".into(), "dev".into(), "ops".into()],
                Duration::from_secs(3600),
            )
            .unwrap();
        let der = parse(&client.cert_pem);
        let (_, cert) = parse_x509_certificate(&der).unwrap();
        let orgs: Vec<&str> = cert
            .subject()
            .iter_organization()
            .map(|o| o.as_str().unwrap())
            .collect();
        assert_eq!(orgs, ["system:masters", "dev", "ops"]);
        let cn: Vec<&str> = cert
            .subject()
            .iter_common_name()
            .map(|o| o.as_str().unwrap())
            .collect();
        assert_eq!(cn, ["alice"]);

        // The re-signed certificate still verifies against the CA.
        let ca_der = parse(ca.cert_pem());
        let (_, ca_cert) = parse_x509_certificate(&ca_der).unwrap();
        cert.verify_signature(Some(ca_cert.public_key())).unwrap();
        assert_eq!(cert.issuer(), ca_cert.subject());
    }

    #[test]
    fn ca_survives_a_write_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("a/ca.crt"), dir.path().join("a/ca.key"));
        let ca = CertificateAuthority::generate("round-trip").unwrap();
        ca.write(&cert, &key).unwrap();
        let loaded = CertificateAuthority::load(&cert, &key).unwrap();
        assert_eq!(loaded.cert_pem(), ca.cert_pem());
        assert_eq!(loaded.key_pem(), ca.key_pem());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!format!("{ca:?}").contains("PRIVATE KEY"));
    }

    #[test]
    fn pem_encoding_round_trips() {
        for len in [0usize, 1, 2, 3, 47, 48, 49, 100] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let pem = pem_encode("CERTIFICATE", &data);
            let back = CertificateDer::from_pem_slice(pem.as_bytes());
            match back {
                Ok(der) => assert_eq!(der.as_ref(), &data[..], "{len}"),
                Err(_) => assert_eq!(len, 0),
            }
        }
    }
}
