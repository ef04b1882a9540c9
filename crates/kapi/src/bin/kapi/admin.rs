//! The admin identity of `kapi serve`: a client CA of kapi's own, an admin
//! client certificate (CN `kapi-admin`, O `system:masters`) and the
//! `admin.kubeconfig` that carries it.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use kapi_serving::CertificateAuthority;

const CLIENT_CA_CERT: &str = "client-ca.crt";
const CLIENT_CA_KEY: &str = "client-ca.key";
const CLIENT_CA_BUNDLE: &str = "client-ca-bundle.crt";
const ADMIN_CERT: &str = "admin.crt";
const ADMIN_KEY: &str = "admin.key";
const ADMIN_VALIDITY: Duration = Duration::from_secs(365 * 24 * 3600);

/// kapi's client CA, loaded from the cert directory or generated there.
pub(crate) struct ClientCa {
    ca: CertificateAuthority,
}

impl ClientCa {
    pub(crate) fn load_or_generate(cert_dir: &Path) -> anyhow::Result<Self> {
        let cert = cert_dir.join(CLIENT_CA_CERT);
        let key = cert_dir.join(CLIENT_CA_KEY);
        let ca = if cert.exists() && key.exists() {
            CertificateAuthority::load(&cert, &key)?
        } else {
            let ca = CertificateAuthority::generate("kapi-client-ca")?;
            ca.write(&cert, &key)?;
            ca
        };
        Ok(Self { ca })
    }

    /// Writes the CA bundle the server trusts for client certificates:
    /// kapi's client CA plus the operator's `--client-ca-file`, if any.
    pub(crate) fn bundle(&self, cert_dir: &Path, extra: Option<&Path>) -> anyhow::Result<PathBuf> {
        let mut bundle = String::new();
        if let Some(extra) = extra {
            bundle.push_str(
                &fs::read_to_string(extra).with_context(|| format!("read {}", extra.display()))?,
            );
            if !bundle.ends_with('\n') {
                bundle.push('\n');
            }
        }
        bundle.push_str(self.ca.cert_pem());
        let path = cert_dir.join(CLIENT_CA_BUNDLE);
        fs::write(&path, bundle).with_context(|| format!("write {}", path.display()))?;
        Ok(path)
    }

    /// The admin client certificate and key, issued once and reused.
    fn admin_credentials(&self, cert_dir: &Path) -> anyhow::Result<(String, String)> {
        let cert = cert_dir.join(ADMIN_CERT);
        let key = cert_dir.join(ADMIN_KEY);
        if let (Ok(cert_pem), Ok(key_pem)) = (fs::read_to_string(&cert), fs::read_to_string(&key)) {
            return Ok((cert_pem, key_pem));
        }
        let issued =
            self.ca
                .issue_client("kapi-admin", &["system:masters".to_owned()], ADMIN_VALIDITY)?;
        fs::write(&cert, &issued.cert_pem).with_context(|| format!("write {}", cert.display()))?;
        write_private(&key, issued.key_pem.as_bytes())?;
        Ok((issued.cert_pem, issued.key_pem))
    }
}

/// Writes `admin.kubeconfig`: cluster `kapi` at `server`, user `kapi-admin`
/// with its client certificate, context `kapi` selected.
pub(crate) fn write_kubeconfig(
    path: &Path,
    server: &str,
    server_ca_pem: &str,
    client_ca: &ClientCa,
    cert_dir: &Path,
) -> anyhow::Result<()> {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let (cert_pem, key_pem) = client_ca.admin_credentials(cert_dir)?;
    let kubeconfig = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": "kapi",
            "cluster": {
                "server": server,
                "certificate-authority-data": b64(server_ca_pem.as_bytes()),
            }
        }],
        "users": [{
            "name": "kapi-admin",
            "user": {
                "client-certificate-data": b64(cert_pem.as_bytes()),
                "client-key-data": b64(key_pem.as_bytes()),
            }
        }],
        "contexts": [{
            "name": "kapi",
            "context": {"cluster": "kapi", "user": "kapi-admin"}
        }],
        "current-context": "kapi",
        "preferences": {},
    });
    let text = kapi_core::yaml::to_string(&kubeconfig)?;
    // Write beside and rename, so a reader never sees half a file.
    let tmp = path.with_extension("kubeconfig.tmp");
    write_private(&tmp, text.as_bytes())?;
    fs::rename(&tmp, path).with_context(|| format!("write {}", path.display()))?;
    Ok(())
}

fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("write {}", path.display()))?;
    file.write_all(contents)
        .with_context(|| format!("write {}", path.display()))?;
    Ok(())
}
