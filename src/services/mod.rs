//! Every AWS service berth speaks, one folder (or file) each, and the service table that puts
//! them behind the one port. A service owns its part of each region's state, its rules, its
//! handlers (the generated `Api` trait's impl) and its data plane. Services never import each
//! other: what crosses two of them lives in `links`.
//!
//! Adding a service is a folder here plus one line in the `service_table!` invocation below.

pub mod application_autoscaling;
pub mod ec2;
pub mod ecr;
pub mod ecs;
pub mod elbv2;
pub mod iam;
pub mod logs;
pub mod servicediscovery;
pub mod sts;

use crate::aws::{ApiError, RequestContext};
use crate::protocol::Codec;
use crate::protocol::model::ServiceDef;
use crate::store::{Part, RegionInfo, Store};
use crate::wire;

/// A service's handlers, built over the store.
pub trait Handler {
    /// Whether berth serves the service, rather than answering NotImplemented to each of its
    /// operations.
    const SERVED: bool = true;

    fn new(store: &Store) -> Self;
}

/// Stands in for a service whose issue has not landed yet: each modelled operation answers
/// NotImplemented (the generated traits' default bodies).
pub struct NotYet;

impl Handler for NotYet {
    const SERVED: bool = false;

    fn new(_: &Store) -> Self {
        NotYet
    }
}

/// The state that belongs to no region: IAM is global on AWS.
pub struct Global {
    pub iam: iam::State,
}

impl Global {
    pub(crate) fn new(account_id: &str) -> Self {
        Global {
            iam: iam::State::new(account_id),
        }
    }

    /// Puts `service`'s global part back to a new berth's (only IAM has one).
    pub(crate) fn reset(&mut self, service: &ServiceDef, account_id: &str) {
        if std::ptr::eq(service, &wire::iam::SERVICE) {
            self.iam = iam::State::new(account_id);
        }
    }
}

/// Declares the services: `wire module => handler` and, for a service with state, `, state`
/// (its part of every region). From it come [`Region`] and [`Handlers`].
macro_rules! service_table {
    ($($name:ident => $handler:ty $(, $state:ty)?;)*) => {
        /// One region of the state: each service's part of it.
        pub struct Region {
            $($(pub $name: $state,)?)*
        }

        impl Region {
            pub(crate) fn new(info: &RegionInfo) -> Self {
                Region {
                    $($($name: <$state as Part>::new(info),)?)*
                }
            }

            /// Puts `service`'s part back to a new region's (a stateless service has none).
            pub(crate) fn reset(&mut self, service: &ServiceDef, info: &RegionInfo) {
                $($(if std::ptr::eq(service, &wire::$name::SERVICE) {
                    self.$name = <$state as Part>::new(info);
                })?)*
                let _ = (service, info);
            }
        }

        /// The handlers of every service, and the routing from a service to its handler.
        pub struct Handlers {
            $($name: $handler,)*
        }

        impl Handlers {
            pub fn new(store: &Store) -> Self {
                Handlers {
                    $($name: <$handler as Handler>::new(store),)*
                }
            }

            /// Every service on the port, as its model describes it (protocol, JSON target
            /// prefix, SigV4 signing name).
            pub const SERVICES: &'static [&'static ServiceDef] = &[$(&wire::$name::SERVICE,)*];

            /// The service clients sign for as `name` (`ecs`, `logs`, `servicediscovery` …),
            /// the names `/_berth/health` lists.
            pub fn by_signing_name(name: &str) -> Option<&'static ServiceDef> {
                Self::SERVICES.iter().copied().find(|s| s.signing_name == name)
            }

            /// Whether berth serves `service` (as opposed to answering NotImplemented).
            pub fn serves(&self, service: &ServiceDef) -> bool {
                $(if std::ptr::eq(service, &wire::$name::SERVICE) {
                    return <$handler as Handler>::SERVED;
                })*
                false
            }

            /// Decodes the input of `op`, runs its handler and encodes the output.
            pub fn dispatch<C: Codec>(
                &self,
                service: &ServiceDef,
                ctx: &RequestContext,
                op: &str,
                codec: &C,
            ) -> Result<Vec<u8>, ApiError> {
                $(if std::ptr::eq(service, &wire::$name::SERVICE) {
                    return wire::$name::dispatch(&self.$name, ctx, op, codec);
                })*
                Err(ApiError::unknown_operation(op))
            }
        }
    };
}

service_table! {
    ecs => ecs::api::Ecs, ecs::State;
    servicediscovery => servicediscovery::api::CloudMap, servicediscovery::State;
    logs => logs::api::Logs, logs::State;
    elbv2 => elbv2::api::Elbv2, elbv2::State;
    sts => sts::Sts;
    application_autoscaling => application_autoscaling::api::AppAutoScaling, application_autoscaling::State;
    ecr => ecr::api::Ecr, ecr::State;
    iam => iam::api::Iam;
    ec2 => ec2::api::Ec2, ec2::State;
}
