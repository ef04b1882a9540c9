//! `cargo xtask`: kapi's development tasks.

fn main() -> anyhow::Result<()> {
    Ok(())
}
