//! Static descriptions of a service, emitted by `codegen/` next to the wire types: which protocol
//! it speaks, its operations, its error shapes, and (for Query/EC2 services only) a shape table the
//! form and XML codecs walk, since those protocols name things differently from the JSON the typed
//! structs serialize to.

/// The protocol a botocore model declares (`metadata.protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// AWS JSON 1.1: POST /, `X-Amz-Target: <prefix>.<Op>`.
    Json,
    /// AWS Query: form in, XML out (`<OpResponse><OpResult>…`), lists as `member`.
    Query,
    /// EC2's Query variant: lists always flattened in, `item` lists out, no Result wrapper.
    Ec2,
}

/// One service as the generator saw it.
#[derive(Debug)]
pub struct ServiceDef {
    /// Module name under `wire::`, e.g. `ecs`, `application_autoscaling`.
    pub module: &'static str,
    pub protocol: Protocol,
    /// JSON services: the `X-Amz-Target` prefix (`AmazonEC2ContainerServiceV20141113`).
    pub target_prefix: Option<&'static str>,
    /// The SigV4 service name clients sign with (`ecs`, `elasticloadbalancing`, `sts` …).
    pub signing_name: &'static str,
    pub api_version: &'static str,
    /// Query/EC2 services: the namespace of every XML response.
    pub xml_namespace: Option<&'static str>,
    pub operations: &'static [OpDef],
    pub errors: &'static [&'static ErrorDef],
    /// Every shape the operations reach, indexed by `ShapeId`.
    pub shapes: &'static [Shape],
}

impl ServiceDef {
    pub fn operation(&self, name: &str) -> Option<&'static OpDef> {
        self.operations.iter().find(|op| op.name == name)
    }
}

/// Index into `ServiceDef::shapes`.
pub type ShapeId = u16;

#[derive(Debug)]
pub struct OpDef {
    pub name: &'static str,
    /// The input and output structure shapes.
    pub input: Option<ShapeId>,
    pub output: Option<ShapeId>,
    /// Query services: the element that wraps the output (`DescribeLoadBalancersResult`).
    pub result_wrapper: Option<&'static str>,
}

/// An error shape of the model: the `__type`/`<Code>` it is sent as and its HTTP status.
#[derive(Debug, PartialEq, Eq)]
pub struct ErrorDef {
    /// Shape name (`ClusterNotFoundException`).
    pub name: &'static str,
    /// Wire code: `error.code` of the model where set (Query services), else the shape name.
    pub code: &'static str,
    pub status: u16,
    pub sender_fault: bool,
}

#[derive(Debug)]
pub enum Shape {
    Structure {
        members: &'static [Member],
    },
    List {
        member: ShapeId,
        /// `locationName` of the list's member (`item`, `member`, or a custom name).
        member_name: Option<&'static str>,
        flattened: bool,
    },
    Map {
        key: ShapeId,
        value: ShapeId,
        key_name: Option<&'static str>,
        value_name: Option<&'static str>,
        flattened: bool,
    },
    String,
    Integer,
    Long,
    Boolean,
    Float,
    Double,
    Timestamp,
    Blob,
}

#[derive(Debug)]
pub struct Member {
    /// The member name: the key of this member in the JSON the typed structs (de)serialize.
    pub name: &'static str,
    pub shape: ShapeId,
    pub location_name: Option<&'static str>,
    /// EC2 only: the name used on input when it differs from the capitalised location name.
    pub query_name: Option<&'static str>,
    /// The member or its list/map shape is flattened.
    pub flattened: bool,
}
