//! The DNS side of Cloud Map: what its DNS namespaces answer. [`Snapshot::build`] turns the
//! state into an immutable snapshot of zones and records; [`answer`] is a plain function from a
//! question and a snapshot to an answer, as Route 53 would give it for Cloud Map's records
//! (MULTIVALUE: up to eight healthy records; WEIGHTED: one at random; NXDOMAIN or NODATA with
//! the zone's SOA). `server` is the thin adapter to hickory-server and the sockets; queries
//! never take the state's lock.

pub mod server;

pub use server::Published;

use super::{Namespace, Service, State};
use crate::aws::Timestamp;
use crate::wire::servicediscovery::{HealthStatus, NamespaceType, RecordType, RoutingPolicy};
use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Route 53's SOA for private hosted zones: the record's TTL is the namespace's SOA TTL, which
/// resolvers use for negative caching.
const SOA_MNAME: &str = "ns-1536.awsdns-00.co.uk";
const SOA_RNAME: &str = "awsdns-hostmaster.amazon.com";
const SOA_TIMES: (u32, u32, u32, u32, u32) = (1, 7200, 900, 1_209_600, 86_400);

/// Route 53 answers a MULTIVALUE query with at most eight records.
const MULTIVALUE_MAX: usize = 8;

/// What the DNS server answers from: every DNS namespace's zone, as of one moment.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Longest name first, so that the first zone a name falls in is the closest one.
    zones: Vec<Zone>,
    /// Names outside any zone that answer A records: Service Connect's client aliases.
    aliases: HashMap<String, Vec<Ipv4Addr>>,
}

/// A name that answers the addresses behind it (a Service Connect client alias), with the TTL
/// below.
pub type Alias = (String, Vec<Ipv4Addr>);

/// Aliases follow their tasks closely: a short TTL.
const ALIAS_TTL: u32 = 5;

#[derive(Debug)]
struct Zone {
    /// Lowercase, without the trailing dot (`local`, `corp.example.com`).
    name: String,
    soa_ttl: u32,
    /// Owner names (lowercase, absolute, no trailing dot) and what they hold.
    names: HashMap<String, Node>,
}

#[derive(Debug, Default)]
struct Node {
    routing: Routing,
    a: Vec<Rec<Ipv4Addr>>,
    aaaa: Vec<Rec<Ipv6Addr>>,
    srv: Vec<Rec<Srv>>,
    cname: Vec<Rec<String>>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Routing {
    #[default]
    Multivalue,
    Weighted,
}

#[derive(Debug, Clone)]
struct Rec<T> {
    value: T,
    ttl: u32,
    healthy: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Srv {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: String,
}

/// The query types berth answers; anything else gets NODATA inside a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QType {
    A,
    Aaaa,
    Srv,
    Cname,
    Soa,
    Any,
    Other,
}

/// One record of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rr {
    pub owner: Owner,
    pub ttl: u32,
    pub data: RData,
}

/// Whose record: the name asked about (most answers: the adapter writes it once, without
/// parsing it again per record), or another (a zone's SOA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Query,
    /// Absolute, without the trailing dot.
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Srv(Srv),
    Cname(String),
    Soa {
        mname: String,
        rname: String,
        serial: u32,
        refresh: u32,
        retry: u32,
        expire: u32,
        minimum: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The name is in none of berth's zones: forward it or refuse it.
    Outside,
    /// berth is authoritative: the records (NOERROR), or none and the zone's SOA (NODATA, or
    /// NXDOMAIN when `exists` is false).
    Zone {
        exists: bool,
        answers: Vec<Rr>,
        soa: Option<Rr>,
    },
}

impl Snapshot {
    /// The zones of every DNS namespace that exists at `now`, with the records of their
    /// services' instances. Namespaces of the same name (two regions, two VPCs) answer as one.
    pub fn build<'a>(
        states: impl IntoIterator<Item = &'a State>,
        aliases: &[Alias],
        now: Timestamp,
    ) -> Snapshot {
        let mut zones: HashMap<String, Zone> = HashMap::new();
        for state in states {
            for ns in state.namespaces.values() {
                if ns.kind == NamespaceType::Http || !ns.exists(now) {
                    continue;
                }
                let zone_name = normalize(&ns.name);
                let zone = zones.entry(zone_name.clone()).or_insert_with(|| Zone {
                    name: zone_name,
                    soa_ttl: clamp_ttl(ns.soa_ttl.unwrap_or(15)),
                    names: HashMap::new(),
                });
                for svc in state.services.values().filter(|s| s.namespace_id == ns.id) {
                    add_service(zone, ns, svc);
                }
            }
        }
        let mut zones: Vec<Zone> = zones.into_values().collect();
        zones.sort_by(|a, b| b.name.len().cmp(&a.name.len()).then(a.name.cmp(&b.name)));
        let mut by_name: HashMap<String, Vec<Ipv4Addr>> = HashMap::new();
        for (name, ips) in aliases {
            by_name.entry(normalize(name)).or_default().extend(ips);
        }
        Snapshot {
            zones,
            aliases: by_name,
        }
    }

    /// How many owner names the snapshot holds (for the health document and tests).
    pub fn names(&self) -> usize {
        self.zones.iter().map(|z| z.names.len()).sum()
    }

    fn zone_of(&self, name: &str) -> Option<&Zone> {
        self.zones.iter().find(|z| {
            name == z.name
                || (name.len() > z.name.len()
                    && name.ends_with(z.name.as_str())
                    && name.as_bytes()[name.len() - z.name.len() - 1] == b'.')
        })
    }
}

/// Keeps the published snapshot current: the reconcile loop hands it every region's Cloud Map
/// after each pass, and it rebuilds the snapshot when one changed, or when a namespace's
/// creation or deletion has come due since the last build.
pub struct Publisher {
    published: Published,
    seen: Vec<(String, u64)>,
    aliases: Vec<Alias>,
    due: Option<Timestamp>,
}

impl Publisher {
    pub fn new(published: Published) -> Self {
        Publisher {
            published,
            seen: Vec::new(),
            aliases: Vec::new(),
            due: None,
        }
    }

    /// The state was replaced (a reset): the next refresh rebuilds whatever the versions say.
    pub fn invalidate(&mut self) {
        self.seen = vec![(String::new(), u64::MAX)];
    }

    pub fn refresh<'a>(
        &mut self,
        states: impl IntoIterator<Item = &'a State>,
        aliases: Vec<Alias>,
        now: Timestamp,
    ) {
        let states: Vec<&State> = states.into_iter().collect();
        let mut seen: Vec<(String, u64)> = states
            .iter()
            .map(|s| {
                let (region, version) = s.dns_version();
                (region.to_owned(), version)
            })
            .collect();
        seen.sort();
        if seen == self.seen && aliases == self.aliases && self.due.is_none_or(|due| now < due) {
            return;
        }
        self.due = states.iter().filter_map(|s| s.next_transition(now)).min();
        self.seen = seen;
        self.published
            .store(std::sync::Arc::new(Snapshot::build(states, &aliases, now)));
        self.aliases = aliases;
    }
}

fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn clamp_ttl(ttl: i64) -> u32 {
    u32::try_from(ttl.max(0)).unwrap_or(u32::MAX)
}

/// A service's records: at `service.namespace` its instances' A, AAAA, SRV or CNAME records;
/// for SRV, each target `instance.service.namespace` also gets the instance's A/AAAA records.
fn add_service(zone: &mut Zone, ns: &Namespace, svc: &Service) {
    let Some(config) = &svc.dns_config else {
        return;
    };
    let owner = normalize(&format!("{}.{}", svc.name, ns.name));
    let routing = match svc.routing() {
        RoutingPolicy::Weighted => Routing::Weighted,
        _ => Routing::Multivalue,
    };
    for (id, instance) in &svc.instances {
        let healthy = svc.health(instance) != HealthStatus::Unhealthy;
        let attr = |k: &str| instance.attributes.get(k);
        let ipv4 = attr("AWS_INSTANCE_IPV4").and_then(|v| v.parse::<Ipv4Addr>().ok());
        let ipv6 = attr("AWS_INSTANCE_IPV6").and_then(|v| v.parse::<Ipv6Addr>().ok());
        for record in &config.dns_records {
            let ttl = clamp_ttl(record.ttl);
            let node = zone.names.entry(owner.clone()).or_default();
            node.routing = routing;
            match record.r#type {
                RecordType::A => node.a.extend(ipv4.map(|value| Rec {
                    value,
                    ttl,
                    healthy,
                })),
                RecordType::Aaaa => node.aaaa.extend(ipv6.map(|value| Rec {
                    value,
                    ttl,
                    healthy,
                })),
                RecordType::Cname => node.cname.extend(attr("AWS_INSTANCE_CNAME").map(|c| Rec {
                    value: normalize(c),
                    ttl,
                    healthy,
                })),
                RecordType::Srv => {
                    let Some(port) = attr("AWS_INSTANCE_PORT").and_then(|p| p.parse().ok()) else {
                        continue;
                    };
                    let target = normalize(&format!("{id}.{owner}"));
                    node.srv.push(Rec {
                        value: Srv {
                            priority: 1,
                            weight: 1,
                            port,
                            target: target.clone(),
                        },
                        ttl,
                        healthy,
                    });
                    let host = zone.names.entry(target).or_default();
                    host.a.extend(ipv4.map(|value| Rec {
                        value,
                        ttl,
                        healthy,
                    }));
                    host.aaaa.extend(ipv6.map(|value| Rec {
                        value,
                        ttl,
                        healthy,
                    }));
                }
                RecordType::Unknown(_) => {}
            }
        }
    }
}

/// The answer to a question about `name` (any case, trailing dot or not). `seed` makes the
/// random choices (which eight of many, which one for WEIGHTED); any value will do.
pub fn answer(snapshot: &Snapshot, name: &str, qtype: QType, seed: u64) -> Answer {
    let name = normalize(name);
    let mut rng = SplitMix64(seed);
    if let Some(ips) = snapshot.aliases.get(&name) {
        let records: Vec<Rec<Ipv4Addr>> = ips
            .iter()
            .map(|&value| Rec {
                value,
                ttl: ALIAS_TTL,
                healthy: true,
            })
            .collect();
        let answers = match qtype {
            QType::A | QType::Any => pick(&records, Routing::Multivalue, &mut rng)
                .map(|r| Rr {
                    owner: Owner::Query,
                    ttl: r.ttl,
                    data: RData::A(r.value),
                })
                .collect(),
            _ => Vec::new(),
        };
        return Answer::Zone {
            exists: true,
            answers,
            soa: None,
        };
    }
    let Some(zone) = snapshot.zone_of(&name) else {
        return Answer::Outside;
    };
    let soa = || Rr {
        owner: Owner::Name(zone.name.clone()),
        ttl: zone.soa_ttl,
        data: RData::Soa {
            mname: SOA_MNAME.to_owned(),
            rname: SOA_RNAME.to_owned(),
            serial: SOA_TIMES.0,
            refresh: SOA_TIMES.1,
            retry: SOA_TIMES.2,
            expire: SOA_TIMES.3,
            minimum: SOA_TIMES.4,
        },
    };
    if name == zone.name && matches!(qtype, QType::Soa | QType::Any) {
        return Answer::Zone {
            exists: true,
            answers: vec![soa()],
            soa: None,
        };
    }
    let Some(node) = zone.names.get(&name) else {
        // The apex exists even without records of its own.
        return Answer::Zone {
            exists: name == zone.name,
            answers: Vec::new(),
            soa: Some(soa()),
        };
    };
    let mut answers = Vec::new();
    // A CNAME answers every type at its name.
    if !node.cname.is_empty() {
        answers.extend(pick(&node.cname, Routing::Weighted, &mut rng).map(|r| Rr {
            owner: Owner::Query,
            ttl: r.ttl,
            data: RData::Cname(r.value.clone()),
        }));
    } else {
        if matches!(qtype, QType::A | QType::Any) {
            answers.extend(pick(&node.a, node.routing, &mut rng).map(|r| Rr {
                owner: Owner::Query,
                ttl: r.ttl,
                data: RData::A(r.value),
            }));
        }
        if matches!(qtype, QType::Aaaa | QType::Any) {
            answers.extend(pick(&node.aaaa, node.routing, &mut rng).map(|r| Rr {
                owner: Owner::Query,
                ttl: r.ttl,
                data: RData::Aaaa(r.value),
            }));
        }
        if matches!(qtype, QType::Srv | QType::Any) {
            answers.extend(pick(&node.srv, node.routing, &mut rng).map(|r| Rr {
                owner: Owner::Query,
                ttl: r.ttl,
                data: RData::Srv(r.value.clone()),
            }));
        }
    }
    let soa = answers.is_empty().then(soa);
    Answer::Zone {
        exists: true,
        answers,
        soa,
    }
}

/// Route 53's choice among a name's records: the healthy ones (all of them when none is, as it
/// fails open), then up to eight at random (MULTIVALUE) or one at random (WEIGHTED, where every
/// Cloud Map instance has the same weight).
fn pick<'a, T>(
    records: &'a [Rec<T>],
    routing: Routing,
    rng: &mut SplitMix64,
) -> impl Iterator<Item = &'a Rec<T>> {
    let mut chosen: Vec<&Rec<T>> = records.iter().filter(|r| r.healthy).collect();
    if chosen.is_empty() {
        chosen = records.iter().collect();
    }
    let keep = match routing {
        Routing::Weighted => chosen.len().min(1),
        Routing::Multivalue => chosen.len().min(MULTIVALUE_MAX),
    };
    // A partial Fisher-Yates shuffle: the first `keep` are a uniform random choice in random
    // order, which spreads clients over the instances.
    for i in 0..keep {
        let j = i + (rng.next() % (chosen.len() - i) as u64) as usize;
        chosen.swap(i, j);
    }
    chosen.truncate(keep);
    chosen.into_iter()
}

/// SplitMix64: enough randomness for choosing records, no dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests;
