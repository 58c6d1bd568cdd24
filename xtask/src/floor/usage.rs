//! What a process cost, read from `/proc` the same way for Credence, the constant server and
//! the bare-connection floor: CPU time (`utime + stime` of `/proc/PID/stat`, all threads
//! together) and peak resident memory (`VmHWM` of `/proc/PID/status`).
//!
//! Linux only, like the benchmark. No `libc`: the clock tick comes from `getconf CLK_TCK`,
//! so the crate stays free of `unsafe`.

use std::process::Command;

use anyhow::{Context as _, bail};

/// A process's CPU time so far, in clock ticks.
pub(crate) fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    // The command name (field 2) is in parentheses and may hold spaces: count fields from
    // the last `)`. After it come field 3 (state) onwards; utime and stime are fields 14, 15.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .with_context(|| format!("{path}: no command name"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let (Some(utime), Some(stime)) = (fields.get(11), fields.get(12)) else {
        bail!("{path}: too few fields");
    };
    Ok(utime.parse::<u64>().context("utime")? + stime.parse::<u64>().context("stime")?)
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`), 100 on every Linux this runs on when
/// `getconf` is missing.
pub(crate) fn ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
        .filter(|&ticks: &u64| ticks > 0)
        .unwrap_or(100)
}

/// The process's peak resident set (`VmHWM`), in KiB.
pub(crate) fn peak_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.split_whitespace().next())
        .with_context(|| format!("{path}: no VmHWM"))?
        .parse()
        .context("VmHWM")
}

/// Resets the peak resident set to the current one (`echo 5 > /proc/PID/clear_refs`), so the
/// next [`peak_rss_kib`] is the peak of one workload, not of the process's whole life.
/// Returns whether the kernel allowed it.
pub(crate) fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// `/proc/loadavg`, as the machine reports it.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "unknown (no /proc/loadavg)".to_owned(),
        |line| line.trim().to_owned(),
    )
}
