//! Rust's names for the target OS and architecture turned into Go's
//! `GOOS/GOARCH`, the form of `version.Info.platform` clients expect.

/// `<os>/<arch>` with Go's names for Rust's `std::env::consts::{OS, ARCH}`.
/// Names Go shares with Rust pass through unchanged.
pub(crate) fn go_platform(os: &str, arch: &str, little_endian: bool) -> String {
    let os = match os {
        "macos" => "darwin",
        other => other,
    };
    let arch = match (arch, little_endian) {
        ("x86_64", _) => "amd64",
        ("x86", _) => "386",
        ("aarch64", _) => "arm64",
        ("powerpc64", true) => "ppc64le",
        ("powerpc64", false) => "ppc64",
        ("powerpc", _) => "ppc",
        ("mips", true) => "mipsle",
        ("mips64", true) => "mips64le",
        ("loongarch64", _) => "loong64",
        ("wasm32", _) => "wasm",
        (other, _) => other,
    };
    format!("{os}/{arch}")
}

#[cfg(test)]
mod tests {
    use super::go_platform;

    #[test]
    fn maps_rust_targets_to_go_names() {
        let check = |os: &str, arch: &str, little_endian: bool, expected: &str| {
            assert_eq!(
                go_platform(os, arch, little_endian),
                expected,
                "{os} {arch}"
            );
        };
        check("linux", "x86_64", true, "linux/amd64");
        check("linux", "aarch64", true, "linux/arm64");
        check("linux", "arm", true, "linux/arm");
        check("linux", "x86", true, "linux/386");
        check("linux", "powerpc64", true, "linux/ppc64le");
        check("linux", "powerpc64", false, "linux/ppc64");
        check("linux", "s390x", false, "linux/s390x");
        check("linux", "riscv64", true, "linux/riscv64");
        check("linux", "loongarch64", true, "linux/loong64");
        check("linux", "mips", false, "linux/mips");
        check("linux", "mips", true, "linux/mipsle");
        check("linux", "mips64", true, "linux/mips64le");
        check("macos", "aarch64", true, "darwin/arm64");
        check("macos", "x86_64", true, "darwin/amd64");
        check("windows", "x86_64", true, "windows/amd64");
        check("freebsd", "x86_64", true, "freebsd/amd64");
        check("illumos", "x86_64", true, "illumos/amd64");
        check("android", "aarch64", true, "android/arm64");
        check("ios", "aarch64", true, "ios/arm64");
    }
}
