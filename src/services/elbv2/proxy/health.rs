//! Health checks per target group, as ELB runs them: every `HealthCheckIntervalSeconds`, an
//! HTTP(S) GET of the path (its status must be one the matcher names) or a TCP connect, within
//! `HealthCheckTimeoutSeconds`. A new target is healthy at its first passing check (AWS waits
//! for HealthyThresholdCount of them; berth does not make a laptop wait minutes), unhealthy
//! after `UnhealthyThresholdCount` failures in a row, and healthy again after
//! `HealthyThresholdCount` passes in a row. Only changes are written to the state.

use super::Proxy;
use crate::services::elbv2::routing::{HealthTarget, parse_matcher};
use crate::services::elbv2::target_groups::Health;
use crate::services::elbv2::{HealthCheck, TargetKey};
use crate::wire::elbv2::{ProtocolEnum as Protocol, TargetHealthReasonEnum as Reason};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

type Id = (String, String, TargetKey);

/// What the checker remembers of a target.
struct Tracked {
    due: Instant,
    in_flight: bool,
    passes: i32,
    failures: i32,
    last: Option<Health>,
}

pub(super) async fn run(proxy: Arc<Proxy>, mut stop: watch::Receiver<bool>) {
    let mut tracked: HashMap<Id, Tracked> = HashMap::new();
    let (tx, mut rx) = mpsc::unbounded_channel::<(Id, Result<(), Health>)>();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            Some((id, outcome)) = rx.recv() => {
                let Some(t) = tracked.get_mut(&id) else { continue };
                t.in_flight = false;
                let snapshot = proxy.snapshot.load();
                let Some(target) = snapshot.health.iter().find(|h| same(h, &id)) else { continue };
                if let Some(health) = next_health(t, &target.check, outcome) {
                    t.last = Some(health.clone());
                    let (region, tg, key) = &id;
                    proxy.write_region(region, |s, _| s.report_health(tg, key, health));
                }
                continue;
            }
            _ = stop.changed() => return,
        }
        let snapshot = proxy.snapshot.load_full();
        let now = Instant::now();
        tracked.retain(|id, _| snapshot.health.iter().any(|h| same(h, id)));
        for target in &snapshot.health {
            let id = (
                target.region.clone(),
                target.target_group_arn.clone(),
                target.key.clone(),
            );
            let t = tracked.entry(id.clone()).or_insert(Tracked {
                due: now,
                in_flight: false,
                passes: 0,
                failures: 0,
                last: None,
            });
            if !target.check.enabled || t.in_flight || t.due > now {
                continue;
            }
            t.in_flight = true;
            t.due = now + Duration::from_secs(target.check.interval_seconds.max(1) as u64);
            let tx = tx.clone();
            let target = target.clone();
            tokio::spawn(async move {
                let outcome = check(&target).await;
                let _ = tx.send((id, outcome));
            });
        }
    }
}

fn same(h: &HealthTarget, (region, tg, key): &Id) -> bool {
    &h.region == region && &h.target_group_arn == tg && &h.key == key
}

/// The health to record after a check, if it changed.
fn next_health(
    t: &mut Tracked,
    check: &HealthCheck,
    outcome: Result<(), Health>,
) -> Option<Health> {
    let was_healthy = t
        .last
        .as_ref()
        .is_some_and(|h| h.state.as_str() == "healthy");
    let first = t
        .last
        .as_ref()
        .is_none_or(|h| h.state.as_str() == "initial");
    let next = match outcome {
        Ok(()) => {
            t.passes += 1;
            t.failures = 0;
            if was_healthy || first || t.passes >= check.healthy_threshold {
                Health::healthy()
            } else {
                return None;
            }
        }
        Err(failure) => {
            t.failures += 1;
            t.passes = 0;
            if t.failures >= check.unhealthy_threshold {
                failure
            } else if first {
                Health::initial_checking()
            } else {
                return None;
            }
        }
    };
    (t.last.as_ref() != Some(&next)).then_some(next)
}

async fn check(target: &HealthTarget) -> Result<(), Health> {
    let Some(addr) = target.addr else {
        return Err(Health::unhealthy(
            Reason::TargetIpUnusable,
            "berth forwards only to loopback and to its own tasks' addresses",
        ));
    };
    let port = match target.check.port.parse::<u16>() {
        Ok(p) => p,
        Err(_) => addr.port(),
    };
    let addr = SocketAddr::new(addr.ip(), port);
    let timeout = Duration::from_secs(target.check.timeout_seconds.max(1) as u64);
    match tokio::time::timeout(timeout, probe(addr, &target.check)).await {
        Err(_) => Err(Health::unhealthy(
            Reason::TargetTimeout,
            "Request timed out",
        )),
        Ok(r) => r,
    }
}

async fn probe(addr: SocketAddr, check: &HealthCheck) -> Result<(), Health> {
    let failed = || Health::unhealthy(Reason::TargetFailedHealthChecks, "Health checks failed");
    let mut stream = TcpStream::connect(addr).await.map_err(|_| failed())?;
    if check.protocol == Protocol::Tcp {
        return Ok(());
    }
    let path = check.path.as_deref().unwrap_or("/");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: ELB-HealthChecker/2.0\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|_| failed())?;
    // The status line is all a health check reads.
    let mut head = [0u8; 64];
    let mut n = 0;
    while n < 12 {
        let read = stream.read(&mut head[n..]).await.map_err(|_| failed())?;
        if read == 0 {
            break;
        }
        n += read;
    }
    let status: u16 = std::str::from_utf8(&head[..n])
        .ok()
        .and_then(|s| s.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(failed)?;
    let ranges = parse_matcher(check.matcher.as_deref().unwrap_or("200")).unwrap_or_default();
    if ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&status)) {
        Ok(())
    } else {
        Err(Health::unhealthy(
            Reason::TargetResponseCodeMismatch,
            format!("Health checks failed with these codes: [{status}]"),
        ))
    }
}
