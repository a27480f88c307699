//! The agent's address, 169.254.170.2, made local so that berth can listen on it.

use std::net::Ipv4Addr;

/// Makes `ip` (normally 169.254.170.2) a local address of the host, on `lo`, so containers on
/// any Docker bridge reach it through their gateway and berth can listen on it. Idempotent; a
/// concurrent berth adding it first is fine. `Err` says why not (no `ip`, not root …) so the
/// caller can log it and fall back.
pub fn claim_address(ip: Ipv4Addr) -> Result<(), String> {
    let shown = std::process::Command::new("ip")
        .args(["-4", "addr", "show", "dev", "lo"])
        .output()
        .map_err(|e| format!("cannot run `ip`: {e}"))?;
    if shown.status.success() && lists_address(&String::from_utf8_lossy(&shown.stdout), ip) {
        return Ok(());
    }
    let added = std::process::Command::new("ip")
        .args(["addr", "add", &format!("{ip}/32"), "dev", "lo"])
        .output()
        .map_err(|e| format!("cannot run `ip`: {e}"))?;
    let stderr = String::from_utf8_lossy(&added.stderr);
    if added.status.success() || is_already_assigned(&stderr) {
        Ok(())
    } else {
        Err(format!("ip addr add {ip}/32 dev lo: {}", stderr.trim()))
    }
}

/// Whether `ip -4 addr show` output lists `ip` (`inet 169.254.170.2/32 scope global lo`).
pub(super) fn lists_address(output: &str, ip: Ipv4Addr) -> bool {
    output.lines().any(|line| {
        let mut words = line.split_whitespace();
        words.next() == Some("inet")
            && words
                .next()
                .and_then(|cidr| cidr.split('/').next())
                .and_then(|addr| addr.parse::<Ipv4Addr>().ok())
                == Some(ip)
    })
}

/// `RTNETLINK answers: File exists`: someone (another berth) added it between show and add.
pub(super) fn is_already_assigned(stderr: &str) -> bool {
    stderr.contains("File exists") || stderr.contains("already assigned")
}
