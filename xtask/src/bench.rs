//! Benchmarks on generated data.

/// `cargo xtask bench list`.
pub fn list(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("bench list is not written yet")
}
