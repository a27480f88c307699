//! berth's wire-type generator: botocore `service-2.json` models in, one Rust module per service
//! out (`src/wire/<service>.rs`). The output is committed; `generate_all` is also what the
//! up-to-date test calls, so the committed files and a fresh generation must be byte-identical.

use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};

/// What we generate: the model directory under `codegen/models`, the Rust module name, and for the
/// large models the operations berth serves (the rest of such a model is never reached).
pub struct ServiceSpec {
    pub model: &'static str,
    pub module: &'static str,
    pub operations: Option<&'static [&'static str]>,
}

pub const SERVICES: &[ServiceSpec] = &[
    ServiceSpec {
        model: "ecs",
        module: "ecs",
        operations: None,
    },
    ServiceSpec {
        model: "servicediscovery",
        module: "servicediscovery",
        operations: None,
    },
    ServiceSpec {
        model: "logs",
        module: "logs",
        operations: None,
    },
    ServiceSpec {
        model: "elbv2",
        module: "elbv2",
        operations: None,
    },
    ServiceSpec {
        model: "sts",
        module: "sts",
        operations: None,
    },
    ServiceSpec {
        model: "application-autoscaling",
        module: "application_autoscaling",
        operations: None,
    },
    ServiceSpec {
        model: "ecr",
        module: "ecr",
        operations: None,
    },
    // IAM and EC2: what Terraform's AWS provider calls for an ECS stack (see
    // shared/reference/terraform-api-surface.md), plus the neighbours a user of those resources hits.
    ServiceSpec {
        model: "iam",
        module: "iam",
        operations: Some(&[
            "AddRoleToInstanceProfile",
            "AttachRolePolicy",
            "CreateInstanceProfile",
            "CreatePolicy",
            "CreatePolicyVersion",
            "CreateRole",
            "CreateServiceLinkedRole",
            "DeleteInstanceProfile",
            "DeletePolicy",
            "DeletePolicyVersion",
            "DeleteRole",
            "DeleteRolePermissionsBoundary",
            "DeleteRolePolicy",
            "DeleteServiceLinkedRole",
            "DetachRolePolicy",
            "GetInstanceProfile",
            "GetPolicy",
            "GetPolicyVersion",
            "GetRole",
            "GetRolePolicy",
            "GetServiceLinkedRoleDeletionStatus",
            "GetUser",
            "ListAttachedRolePolicies",
            "ListEntitiesForPolicy",
            "ListInstanceProfileTags",
            "ListInstanceProfiles",
            "ListInstanceProfilesForRole",
            "ListPolicies",
            "ListPolicyTags",
            "ListPolicyVersions",
            "ListRolePolicies",
            "ListRoleTags",
            "ListRoles",
            "PutRolePermissionsBoundary",
            "PutRolePolicy",
            "RemoveRoleFromInstanceProfile",
            "SetDefaultPolicyVersion",
            "TagInstanceProfile",
            "TagPolicy",
            "TagRole",
            "UntagInstanceProfile",
            "UntagPolicy",
            "UntagRole",
            "UpdateAssumeRolePolicy",
            "UpdateRole",
            "UpdateRoleDescription",
        ]),
    },
    ServiceSpec {
        model: "ec2",
        module: "ec2",
        operations: Some(&[
            "AuthorizeSecurityGroupEgress",
            "AuthorizeSecurityGroupIngress",
            "CreateSecurityGroup",
            "CreateSubnet",
            "CreateTags",
            "CreateVpc",
            "DeleteSecurityGroup",
            "DeleteSubnet",
            "DeleteTags",
            "DeleteVpc",
            "DescribeAccountAttributes",
            "DescribeAvailabilityZones",
            "DescribeNetworkAcls",
            "DescribeNetworkInterfaces",
            "DescribeRouteTables",
            "DescribeSecurityGroupRules",
            "DescribeSecurityGroups",
            "DescribeSubnets",
            "DescribeTags",
            "DescribeVpcAttribute",
            "DescribeVpcs",
            "ModifySubnetAttribute",
            "ModifyVpcAttribute",
            "RevokeSecurityGroupEgress",
            "RevokeSecurityGroupIngress",
        ]),
    },
];

#[derive(Debug)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

fn err(msg: impl Into<String>) -> Error {
    Error(msg.into())
}

/// The workspace root (the directory holding `codegen/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Every generated file: its path relative to the workspace root and its contents.
pub fn generate_all(root: &Path) -> Result<Vec<(PathBuf, String)>, Error> {
    let mut files = Vec::new();
    let mut mods = String::new();
    mods.push_str(HEADER_NOTE);
    mods.push_str(
        "//! Wire types of every service berth speaks, generated from botocore's models.\n\n",
    );
    for spec in SERVICES {
        let (version, model) = load_model(root, spec.model)?;
        let code = Generator::new(spec, &version, &model)?.generate()?;
        files.push((PathBuf::from(format!("src/wire/{}.rs", spec.module)), code));
        let _ = writeln!(
            mods,
            "#[rustfmt::skip]\n#[allow(clippy::all, non_upper_case_globals, non_snake_case, unused_variables, unused_imports)]\npub mod {};",
            spec.module
        );
    }
    files.push((PathBuf::from("src/wire/mod.rs"), mods));
    Ok(files)
}

const HEADER_NOTE: &str = "// @generated by berth-codegen (codegen/) from botocore models. Do not edit by hand:\n// change the generator and run `cargo run -p berth-codegen`.\n";

fn load_model(root: &Path, service: &str) -> Result<(String, Value), Error> {
    let dir = root.join("codegen/models").join(service);
    let mut versions: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| err(format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    versions.sort();
    let version = versions
        .pop()
        .ok_or_else(|| err(format!("no model version under {}", dir.display())))?;
    let path = dir.join(&version).join("service-2.json.gz");
    let file = std::fs::File::open(&path).map_err(|e| err(format!("{}: {e}", path.display())))?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .map_err(|e| err(format!("{}: {e}", path.display())))?;
    let model = serde_json::from_str(&text).map_err(|e| err(format!("{}: {e}", path.display())))?;
    Ok((version, model))
}

struct Generator<'a> {
    spec: &'a ServiceSpec,
    version: &'a str,
    metadata: &'a Map<String, Value>,
    operations: Vec<(&'a str, &'a Map<String, Value>)>,
    shapes: &'a Map<String, Value>,
    /// Shapes reachable from the operations, sorted by name.
    reachable: BTreeSet<&'a str>,
    /// Rust type names of structure/enum shapes.
    type_names: HashMap<&'a str, String>,
    /// (structure, member) pairs that must be boxed to break a recursion.
    boxed: BTreeSet<(&'a str, &'a str)>,
    protocol: &'a str,
}

/// Names the generated module imports or Rust reserves: a shape of that name gets a suffix.
const RESERVED_TYPE_NAMES: &[&str] = &[
    "String",
    "Option",
    "Result",
    "Box",
    "Vec",
    "Timestamp",
    "Blob",
    "Empty",
    "BTreeMap",
    "Api",
    "Codec",
    "ApiError",
    "RequestContext",
    "Shape",
    "Member",
    "OpDef",
    "ErrorDef",
    "ServiceDef",
    "Protocol",
    "Self",
    "Value",
    "Serialize",
    "Deserialize",
    "Default",
    "Clone",
    "Debug",
    "Some",
    "None",
    "Ok",
    "Err",
    "Send",
    "Sync",
    "Copy",
];

const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "box", "break", "const", "continue", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "static", "struct", "trait", "true", "try", "type", "unsafe", "use",
    "where", "while", "yield", "abstract", "become", "do", "final", "macro", "override", "priv",
    "typeof", "unsized", "virtual",
];

impl<'a> Generator<'a> {
    fn new(spec: &'a ServiceSpec, version: &'a str, model: &'a Value) -> Result<Self, Error> {
        let metadata = model
            .get("metadata")
            .and_then(Value::as_object)
            .ok_or_else(|| err("model without metadata"))?;
        let all_ops = model
            .get("operations")
            .and_then(Value::as_object)
            .ok_or_else(|| err("model without operations"))?;
        let shapes = model
            .get("shapes")
            .and_then(Value::as_object)
            .ok_or_else(|| err("model without shapes"))?;
        let mut operations = Vec::new();
        match spec.operations {
            None => {
                for (name, op) in all_ops {
                    operations.push((name.as_str(), obj(op)?));
                }
            }
            Some(list) => {
                for name in list {
                    let op = all_ops
                        .get(*name)
                        .ok_or_else(|| err(format!("{}: no operation {name}", spec.model)))?;
                    operations.push((*name, obj(op)?));
                }
            }
        }
        operations.sort_by_key(|(n, _)| *n);
        let protocol = metadata
            .get("protocol")
            .and_then(Value::as_str)
            .ok_or_else(|| err("model without protocol"))?;
        let mut g = Generator {
            spec,
            version,
            metadata,
            operations,
            shapes,
            reachable: BTreeSet::new(),
            type_names: HashMap::new(),
            boxed: BTreeSet::new(),
            protocol,
        };
        g.compute_reachable()?;
        g.compute_type_names();
        g.compute_boxed()?;
        Ok(g)
    }

    fn shape(&self, name: &str) -> Result<&'a Map<String, Value>, Error> {
        self.shapes
            .get(name)
            .and_then(Value::as_object)
            .ok_or_else(|| err(format!("{}: no shape {name}", self.spec.model)))
    }

    fn compute_reachable(&mut self) -> Result<(), Error> {
        let mut stack: Vec<&'a str> = Vec::new();
        for (_, op) in &self.operations {
            for key in ["input", "output"] {
                if let Some(s) = op
                    .get(key)
                    .and_then(|v| v.get("shape"))
                    .and_then(Value::as_str)
                {
                    stack.push(s);
                }
            }
        }
        while let Some(name) = stack.pop() {
            if !self.reachable.insert(name) {
                continue;
            }
            let shape = self.shape(name)?;
            for target in shape_targets(shape) {
                stack.push(target);
            }
        }
        Ok(())
    }

    fn compute_type_names(&mut self) {
        for name in &self.reachable {
            let Ok(shape) = self.shape(name) else {
                continue;
            };
            let kind = shape_type(shape);
            let is_enum = kind == "string" && shape.contains_key("enum");
            if matches!(kind, "structure" | "union") || is_enum {
                let mut rust = sanitize_type_name(name);
                if RESERVED_TYPE_NAMES.contains(&rust.as_str()) {
                    rust.push_str("Shape");
                }
                self.type_names.insert(name, rust);
            }
        }
    }

    /// Direct structure→structure edges that close a cycle are boxed.
    fn compute_boxed(&mut self) -> Result<(), Error> {
        let mut edges: BTreeMap<&'a str, Vec<(&'a str, &'a str)>> = BTreeMap::new();
        for name in &self.reachable {
            let shape = self.shape(name)?;
            if !matches!(shape_type(shape), "structure" | "union") {
                continue;
            }
            for (member, target) in members(shape) {
                if matches!(shape_type(self.shape(target)?), "structure" | "union") {
                    edges.entry(name).or_default().push((member, target));
                }
            }
        }
        for (from, list) in &edges {
            for (member, to) in list {
                if reaches(&edges, to, from) {
                    self.boxed.insert((from, member));
                }
            }
        }
        Ok(())
    }

    fn rust_type(&self, target: &str) -> Result<String, Error> {
        let shape = self.shape(target)?;
        Ok(match shape_type(shape) {
            "structure" | "union" => self.type_names[target].clone(),
            "string" if shape.contains_key("enum") => self.type_names[target].clone(),
            "string" => "String".into(),
            "list" => {
                let member = shape
                    .get("member")
                    .and_then(|m| m.get("shape"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| err(format!("list {target} without member")))?;
                format!("Vec<{}>", self.rust_type(member)?)
            }
            "map" => {
                let value = shape
                    .get("value")
                    .and_then(|m| m.get("shape"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| err(format!("map {target} without value")))?;
                format!("BTreeMap<String, {}>", self.rust_type(value)?)
            }
            "integer" => "i32".into(),
            "long" => "i64".into(),
            "boolean" => "bool".into(),
            "float" => "f32".into(),
            "double" => "f64".into(),
            "timestamp" => "Timestamp".into(),
            "blob" => "Blob".into(),
            "document" => "serde_json::Value".into(),
            other => return Err(err(format!("shape {target}: unsupported type {other}"))),
        })
    }

    fn generate(&self) -> Result<String, Error> {
        let mut out = String::new();
        let _ = writeln!(out, "{HEADER_NOTE}");
        let _ = writeln!(
            out,
            "//! {} ({} {}), protocol `{}`.\n",
            self.metadata
                .get("serviceFullName")
                .and_then(Value::as_str)
                .unwrap_or(self.spec.model),
            self.spec.model,
            self.version,
            self.protocol,
        );
        out.push_str("use crate::protocol::model::*;\n");
        out.push_str("use crate::aws::{ApiError, Blob, Empty, RequestContext, Timestamp};\n");
        out.push_str("use crate::protocol::Codec;\n");
        out.push_str("use serde::{Deserialize, Serialize};\nuse std::collections::BTreeMap;\n\n");
        self.gen_service(&mut out)?;
        self.gen_errors(&mut out)?;
        self.gen_shape_table(&mut out)?;
        self.gen_api(&mut out)?;
        self.gen_types(&mut out)?;
        Ok(out)
    }

    fn op_shape(op: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
        op.get(key)
            .and_then(|v| v.get("shape"))
            .and_then(Value::as_str)
    }

    fn gen_service(&self, out: &mut String) -> Result<(), Error> {
        let protocol = match self.protocol {
            "json" => "Json",
            "query" => "Query",
            "ec2" => "Ec2",
            other => return Err(err(format!("unsupported protocol {other}"))),
        };
        let meta_str = |k: &str| self.metadata.get(k).and_then(Value::as_str);
        let opt = |v: Option<&str>| match v {
            Some(s) => format!("Some({s:?})"),
            None => "None".into(),
        };
        let signing = meta_str("signingName")
            .or_else(|| meta_str("endpointPrefix"))
            .ok_or_else(|| err("model without signing name"))?;
        let _ = writeln!(
            out,
            "pub static SERVICE: ServiceDef = ServiceDef {{\n    module: {:?},\n    protocol: Protocol::{protocol},\n    target_prefix: {},\n    signing_name: {signing:?},\n    api_version: {:?},\n    xml_namespace: {},\n    operations: OPERATIONS,\n    errors: ERRORS,\n    shapes: SHAPES,\n}};\n",
            self.spec.module,
            opt(meta_str("targetPrefix")),
            meta_str("apiVersion").unwrap_or(self.version),
            opt(meta_str("xmlNamespace")),
        );
        let ids = self.shape_ids();
        out.push_str("pub static OPERATIONS: &[OpDef] = &[\n");
        for (name, op) in &self.operations {
            let id = |key: &str| match Self::op_shape(op, key) {
                Some(s) => format!("Some({})", ids[s]),
                None => "None".into(),
            };
            let wrapper = op
                .get("output")
                .and_then(|o| o.get("resultWrapper"))
                .and_then(Value::as_str);
            let _ = writeln!(
                out,
                "    OpDef {{ name: {name:?}, input: {}, output: {}, result_wrapper: {} }},",
                id("input"),
                id("output"),
                opt(wrapper)
            );
        }
        out.push_str("];\n\n");
        Ok(())
    }

    fn error_shapes(&self) -> Vec<&'a str> {
        let mut names: BTreeSet<&'a str> = BTreeSet::new();
        for (_, op) in &self.operations {
            for e in op
                .get("errors")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(s) = e.get("shape").and_then(Value::as_str)
                    && let Some((k, _)) = self.shapes.get_key_value(s)
                {
                    names.insert(k.as_str());
                }
            }
        }
        if self.spec.operations.is_none() {
            for (name, shape) in self.shapes {
                if shape.get("exception").and_then(Value::as_bool) == Some(true) {
                    names.insert(name.as_str());
                }
            }
        }
        names.into_iter().collect()
    }

    fn gen_errors(&self, out: &mut String) -> Result<(), Error> {
        out.push_str("/// The model's error shapes: wire code and HTTP status.\npub mod errors {\n    use crate::protocol::model::ErrorDef;\n");
        let names = self.error_shapes();
        for name in &names {
            let shape = self.shape(name)?;
            let error = shape.get("error");
            let code = error
                .and_then(|e| e.get("code"))
                .and_then(Value::as_str)
                .unwrap_or(name);
            // A model "fault" is the server's: 500 unless the model says otherwise.
            let fault = shape.get("fault").and_then(Value::as_bool).unwrap_or(false);
            let status = error
                .and_then(|e| e.get("httpStatusCode"))
                .and_then(Value::as_u64)
                .unwrap_or(if fault { 500 } else { 400 });
            let sender = error
                .and_then(|e| e.get("senderFault"))
                .and_then(Value::as_bool)
                .unwrap_or(status < 500);
            let ident = sanitize_type_name(name);
            let _ = writeln!(
                out,
                "    pub static {ident}: ErrorDef = ErrorDef {{ name: {name:?}, code: {code:?}, status: {status}, sender_fault: {sender} }};"
            );
        }
        out.push_str("}\n\npub static ERRORS: &[&ErrorDef] = &[\n");
        for name in &names {
            let _ = writeln!(out, "    &errors::{},", sanitize_type_name(name));
        }
        out.push_str("];\n\n");
        Ok(())
    }

    fn shape_ids(&self) -> HashMap<&'a str, usize> {
        self.reachable
            .iter()
            .enumerate()
            .map(|(i, n)| (*n, i))
            .collect()
    }

    fn gen_shape_table(&self, out: &mut String) -> Result<(), Error> {
        let ids = self.shape_ids();
        let opt = |v: Option<&str>| match v {
            Some(s) => format!("Some({s:?})"),
            None => "None".into(),
        };
        let target_of = |v: Option<&Value>| -> Result<usize, Error> {
            let s = v
                .and_then(|m| m.get("shape"))
                .and_then(Value::as_str)
                .ok_or_else(|| err("member without shape"))?;
            ids.get(s)
                .copied()
                .ok_or_else(|| err(format!("unreachable shape {s}")))
        };
        out.push_str(
            "/// The shape table, indexed by `ShapeId`: the Query codecs walk it, and the JSON codec checks
/// a request's structure against it (serde alone would take a JSON array for a structure).\npub static SHAPES: &[Shape] = &[\n",
        );
        for name in &self.reachable {
            let shape = self.shape(name)?;
            let _ = write!(out, "    /* {} {name} */ ", ids[name]);
            let flattened = shape
                .get("flattened")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            match shape_type(shape) {
                "structure" | "union" => {
                    out.push_str("Shape::Structure { members: &[");
                    for (mname, member) in shape
                        .get("members")
                        .and_then(Value::as_object)
                        .into_iter()
                        .flatten()
                    {
                        let target = target_of(Some(member))?;
                        let tshape =
                            self.shape(member.get("shape").and_then(Value::as_str).unwrap_or(""))?;
                        let flat = member
                            .get("flattened")
                            .and_then(Value::as_bool)
                            .unwrap_or(false)
                            || tshape
                                .get("flattened")
                                .and_then(Value::as_bool)
                                .unwrap_or(false);
                        let _ = write!(
                            out,
                            "Member {{ name: {mname:?}, shape: {target}, location_name: {}, query_name: {}, flattened: {flat} }}, ",
                            opt(member.get("locationName").and_then(Value::as_str)),
                            opt(member.get("queryName").and_then(Value::as_str)),
                        );
                    }
                    out.push_str("] },\n");
                }
                "list" => {
                    let member = shape.get("member");
                    let _ = writeln!(
                        out,
                        "Shape::List {{ member: {}, member_name: {}, flattened: {flattened} }},",
                        target_of(member)?,
                        opt(member
                            .and_then(|m| m.get("locationName"))
                            .and_then(Value::as_str)),
                    );
                }
                "map" => {
                    let key = shape.get("key");
                    let value = shape.get("value");
                    let _ = writeln!(
                        out,
                        "Shape::Map {{ key: {}, value: {}, key_name: {}, value_name: {}, flattened: {flattened} }},",
                        target_of(key)?,
                        target_of(value)?,
                        opt(key
                            .and_then(|m| m.get("locationName"))
                            .and_then(Value::as_str)),
                        opt(value
                            .and_then(|m| m.get("locationName"))
                            .and_then(Value::as_str)),
                    );
                }
                t => {
                    let kind = match t {
                        "string" => "String",
                        "integer" => "Integer",
                        "long" => "Long",
                        "boolean" => "Boolean",
                        "float" => "Float",
                        "double" => "Double",
                        "timestamp" => "Timestamp",
                        "blob" => "Blob",
                        other => return Err(err(format!("shape {name}: unsupported {other}"))),
                    };
                    let _ = writeln!(out, "Shape::{kind},");
                }
            }
        }
        out.push_str("];\n\n");
        Ok(())
    }

    fn io_type(&self, op: &'a Map<String, Value>, key: &str) -> Result<String, Error> {
        match Self::op_shape(op, key) {
            Some(s) => self.rust_type(s),
            _ => Ok("Empty".into()),
        }
    }

    fn gen_api(&self, out: &mut String) -> Result<(), Error> {
        out.push_str("/// One method per operation; an operation berth does not serve yet answers\n/// `NotImplementedException` through the default body.\npub trait Api {\n");
        for (name, op) in &self.operations {
            let _ = writeln!(
                out,
                "    fn {}(&self, ctx: &RequestContext, input: {}) -> Result<{}, ApiError> {{\n        Err(ApiError::not_implemented({name:?}))\n    }}",
                snake_case(name),
                self.io_type(op, "input")?,
                self.io_type(op, "output")?,
            );
        }
        out.push_str("}\n\n/// Decodes the input of `op`, calls the handler, encodes its output.\npub fn dispatch<A: Api + ?Sized, C: Codec>(api: &A, ctx: &RequestContext, op: &str, codec: &C) -> Result<Vec<u8>, ApiError> {\n    match op {\n");
        for (i, (name, _)) in self.operations.iter().enumerate() {
            let _ = writeln!(
                out,
                "        {name:?} => {{ let op = &OPERATIONS[{i}]; let output = api.{}(ctx, codec.decode(op)?)?; codec.encode(op, &output) }}",
                snake_case(name)
            );
        }
        out.push_str("        _ => Err(ApiError::unknown_operation(op)),\n    }\n}\n\n");
        Ok(())
    }

    fn gen_types(&self, out: &mut String) -> Result<(), Error> {
        for name in &self.reachable {
            let shape = self.shape(name)?;
            let kind = shape_type(shape);
            if kind == "string" {
                if let Some(values) = shape.get("enum").and_then(Value::as_array) {
                    let _ = writeln!(out, "crate::string_enum!({} {{", self.type_names[name]);
                    let mut used = BTreeSet::new();
                    for v in values.iter().filter_map(Value::as_str) {
                        let mut variant = variant_name(v);
                        while !used.insert(variant.clone()) {
                            variant.push('_');
                        }
                        let _ = writeln!(out, "    {variant} = {v:?},");
                    }
                    out.push_str("});\n\n");
                }
                continue;
            }
            if !matches!(kind, "structure" | "union") {
                continue;
            }
            let required: BTreeSet<&str> = shape
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let _ = writeln!(
                out,
                "#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]\npub struct {} {{",
                self.type_names[name]
            );
            let mut fields = BTreeSet::new();
            for (mname, target) in members(shape) {
                let mut ty = self.rust_type(target)?;
                if self.boxed.contains(&(*name, mname)) {
                    ty = format!("Box<{ty}>");
                }
                let mut field = field_name(mname);
                while !fields.insert(field.clone()) {
                    field.push('_');
                }
                if required.contains(mname) && kind == "structure" {
                    let _ = writeln!(
                        out,
                        "    #[serde(rename = {mname:?})]\n    pub {field}: {ty},"
                    );
                } else {
                    let _ = writeln!(
                        out,
                        "    #[serde(rename = {mname:?}, default, skip_serializing_if = \"Option::is_none\")]\n    pub {field}: Option<{ty}>,"
                    );
                }
            }
            out.push_str("}\n\n");
        }
        Ok(())
    }
}

fn obj(v: &Value) -> Result<&Map<String, Value>, Error> {
    v.as_object().ok_or_else(|| err("expected an object"))
}

fn shape_type(shape: &Map<String, Value>) -> &str {
    shape.get("type").and_then(Value::as_str).unwrap_or("")
}

/// (member name, target shape) of a structure.
fn members(shape: &Map<String, Value>) -> Vec<(&str, &str)> {
    shape
        .get("members")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(n, m)| Some((n.as_str(), m.get("shape")?.as_str()?)))
        .collect()
}

/// Every shape a shape refers to.
fn shape_targets(shape: &Map<String, Value>) -> Vec<&str> {
    let mut out: Vec<&str> = members(shape).into_iter().map(|(_, t)| t).collect();
    for key in ["member", "key", "value"] {
        if let Some(t) = shape
            .get(key)
            .and_then(|m| m.get("shape"))
            .and_then(Value::as_str)
        {
            out.push(t);
        }
    }
    out
}

fn reaches<'a>(
    edges: &BTreeMap<&'a str, Vec<(&'a str, &'a str)>>,
    from: &'a str,
    to: &str,
) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from];
    while let Some(n) = stack.pop() {
        if n == to {
            return true;
        }
        if !seen.insert(n) {
            continue;
        }
        for (_, next) in edges.get(n).into_iter().flatten() {
            stack.push(next);
        }
    }
    false
}

fn sanitize_type_name(name: &str) -> String {
    let mut s: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if s.chars().next().is_none_or(|c| c.is_ascii_digit()) {
        s.insert(0, 'T');
    }
    // Some models name shapes in lower camel case (IAM's `policyScopeType`).
    if let Some(first) = s.get(..1) {
        let upper = first.to_ascii_uppercase();
        s.replace_range(..1, &upper);
    }
    s
}

/// `CreateCluster` → `create_cluster`, `VPCId` → `vpc_id`, `awsvpcConfiguration` → `awsvpc_configuration`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = if i > 0 { Some(chars[i - 1]) } else { None };
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out
}

fn field_name(member: &str) -> String {
    let mut s = snake_case(member);
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, 'f');
    }
    match s.as_str() {
        "self" | "super" | "crate" | "Self" => format!("{s}_"),
        k if RUST_KEYWORDS.contains(&k) => format!("r#{s}"),
        _ => s,
    }
}

/// `FARGATE_SPOT` → `FargateSpot`, `awsvpc` → `Awsvpc`, `t2.micro` → `T2Micro`.
fn variant_name(value: &str) -> String {
    let mut out = String::new();
    for piece in value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
    {
        let all_upper = piece.chars().all(|c| !c.is_ascii_lowercase());
        let mut chars = piece.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            if all_upper {
                out.extend(chars.map(|c| c.to_ascii_lowercase()));
            } else {
                out.extend(chars);
            }
        }
    }
    if out.is_empty() {
        out.push_str("Empty");
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    if out == "Unknown" || out == "Self" {
        out.push_str("Value");
    }
    out
}
