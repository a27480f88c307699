//! AWS Query and its EC2 variant: form parameters in, XML out. Both directions go through the
//! JSON the generated structs (de)serialize, walked alongside the service's shape table, because
//! these protocols name and nest things differently from that JSON (`Names.member.1`,
//! `<vpcSet><item>`). The rules mirror botocore's `QuerySerializer`/`EC2Serializer` (requests)
//! and `QueryParser`/`EC2QueryParser` (responses), which is what the CLI and SDKs speak.

use super::codec::Codec;
use super::model::{Member, OpDef, Protocol, ServiceDef, Shape, ShapeId};
use crate::aws::ApiError;
use crate::aws::Timestamp;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Content type of every Query/EC2 response, errors included.
pub const CONTENT_TYPE: &str = "text/xml";

/// AWS prefixes EC2 responses with a declaration but not Query ones (STS, IAM, ELBv2).
const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// Longest parameter name, in dot-separated segments, that is looked at. No model nests that
/// deep, and the cap bounds the recursion of both the parameter tree and the decoder walking it.
const MAX_SEGMENTS: usize = 64;

/// How much of a rejected value is quoted back in an error message.
const MAX_QUOTED: usize = 256;

/// One Query/EC2 request: its decoded form parameters and the id its response carries.
#[derive(Debug, Clone)]
pub struct QueryCodec {
    service: &'static ServiceDef,
    params: Vec<(String, String)>,
    request_id: String,
}

impl QueryCodec {
    /// `params` are the form (or query string) pairs, already url-decoded, `Action` included.
    pub fn new(
        service: &'static ServiceDef,
        params: Vec<(String, String)>,
        request_id: String,
    ) -> Self {
        QueryCodec {
            service,
            params,
            request_id,
        }
    }

    /// The `Action` parameter: the operation to dispatch to.
    pub fn action(&self) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v.as_str())
    }

    pub fn request_id(&self) -> &str {
        &self.request_id
    }
}

impl Codec for QueryCodec {
    fn decode<T: DeserializeOwned>(&self, op: &'static OpDef) -> Result<T, ApiError> {
        let dec = Decoder {
            service: self.service,
        };
        let value = match op.input {
            Some(id) => {
                let root = Node::build(&self.params);
                dec.value(&root, id, false, "")?
            }
            None => None,
        }
        .unwrap_or_else(|| Value::Object(Map::new()));
        T::deserialize(&value).map_err(|e| dec.serde_error(op, &value, &e))
    }

    fn encode<T: Serialize>(&self, op: &'static OpDef, output: &T) -> Result<Vec<u8>, ApiError> {
        let value = serde_json::to_value(output)
            .map_err(|e| ApiError::internal(format!("cannot serialize {} output: {e}", op.name)))?;
        let w = Writer {
            service: self.service,
        };
        let mut out = String::with_capacity(512);
        let ns = self.service.xml_namespace.unwrap_or_default();
        if self.service.protocol == Protocol::Ec2 {
            out.push_str(XML_DECLARATION);
        }
        out.push('<');
        out.push_str(op.name);
        out.push_str("Response xmlns=\"");
        escape_into(&mut out, ns);
        out.push_str("\">");
        if self.service.protocol == Protocol::Ec2 {
            // EC2 has no result wrapper: the request id comes first, then the members.
            text_element(&mut out, "requestId", &self.request_id);
            match op.output {
                Some(id) => w.members(&mut out, id, &value)?,
                // What EC2 answers for actions without output (CreateTags, DeleteVpc …).
                None => out.push_str("<return>true</return>"),
            }
        } else {
            if let Some(id) = op.output {
                match op.result_wrapper {
                    Some(wrapper) => {
                        open(&mut out, wrapper);
                        w.members(&mut out, id, &value)?;
                        close(&mut out, wrapper);
                    }
                    None => w.members(&mut out, id, &value)?,
                }
            }
            out.push_str("<ResponseMetadata>");
            text_element(&mut out, "RequestId", &self.request_id);
            out.push_str("</ResponseMetadata>");
        }
        out.push_str("</");
        out.push_str(op.name);
        out.push_str("Response>");
        Ok(out.into_bytes())
    }
}

/// The XML body of an error, in the envelope each protocol's clients read the code from.
pub fn error_body(service: &ServiceDef, err: &ApiError, request_id: &str) -> Vec<u8> {
    let mut out = String::with_capacity(256);
    if service.protocol == Protocol::Ec2 {
        // EC2's own envelope; note `RequestID`, not `RequestId` (botocore's EC2QueryParser).
        out.push_str(XML_DECLARATION);
        out.push_str("<Response><Errors><Error>");
        text_element(&mut out, "Code", &err.code);
        text_element(&mut out, "Message", &err.message);
        out.push_str("</Error></Errors>");
        text_element(&mut out, "RequestID", request_id);
        out.push_str("</Response>");
    } else {
        out.push_str("<ErrorResponse");
        if let Some(ns) = service.xml_namespace {
            out.push_str(" xmlns=\"");
            escape_into(&mut out, ns);
            out.push('"');
        }
        out.push_str("><Error>");
        let fault = if err.sender_fault {
            "Sender"
        } else {
            "Receiver"
        };
        text_element(&mut out, "Type", fault);
        text_element(&mut out, "Code", &err.code);
        text_element(&mut out, "Message", &err.message);
        out.push_str("</Error>");
        text_element(&mut out, "RequestId", request_id);
        out.push_str("</ErrorResponse>");
    }
    out.into_bytes()
}

// ---------------------------------------------------------------------------------------------
// Decoding: flat `A.b.1.C=v` pairs → a tree of segments → JSON shaped like the typed struct.

/// The parameters as a tree of their dot-separated name segments.
#[derive(Debug, Default)]
struct Node<'a> {
    value: Option<&'a str>,
    children: BTreeMap<&'a str, Node<'a>>,
}

impl<'a> Node<'a> {
    fn build(params: &'a [(String, String)]) -> Self {
        let mut root = Node::default();
        for (key, value) in params {
            if key == "Action" || key == "Version" || key.split('.').count() > MAX_SEGMENTS {
                continue;
            }
            let mut node = &mut root;
            for segment in key.split('.') {
                node = node.children.entry(segment).or_default();
            }
            node.value = Some(value.as_str());
        }
        root
    }

    /// The children named by a list or map index, in numeric order (`10` after `9`).
    fn indexed(&self) -> Vec<(u32, &Node<'a>)> {
        let mut items: Vec<_> = self
            .children
            .iter()
            .filter(|(k, _)| k.bytes().all(|b| b.is_ascii_digit()))
            .filter_map(|(k, n)| k.parse::<u32>().ok().map(|i| (i, n)))
            .collect();
        items.sort_by_key(|(i, _)| *i);
        items
    }
}

struct Decoder {
    service: &'static ServiceDef,
}

/// One step of the path to a value, for error messages.
enum Step<'a> {
    Member(&'static Member),
    Index(usize),
    Key(&'a str),
}

impl Decoder {
    fn ec2(&self) -> bool {
        self.service.protocol == Protocol::Ec2
    }

    fn shape(&self, id: ShapeId) -> Result<&'static Shape, ApiError> {
        shape(self.service, id)
    }

    /// The parameter name of a structure member (botocore's `_get_serialized_name`).
    fn member_name(&self, m: &'static Member) -> Result<Cow<'static, str>, ApiError> {
        if self.ec2() {
            // EC2 capitalises a locationName on input (`dryRun` → `DryRun`), unless the model
            // gives a queryName.
            return Ok(match (m.query_name, m.location_name) {
                (Some(q), _) => Cow::Borrowed(q),
                (None, Some(l)) => Cow::Owned(capitalize(l)),
                (None, None) => Cow::Borrowed(m.name),
            });
        }
        // A flattened list whose member has a locationName is sent under that name instead.
        if let Shape::List {
            member_name: Some(n),
            flattened,
            ..
        } = self.shape(m.shape)?
            && (m.flattened || *flattened)
        {
            return Ok(Cow::Borrowed(n));
        }
        Ok(Cow::Borrowed(m.location_name.unwrap_or(m.name)))
    }

    /// A map's key or value element name: its locationName (capitalised by EC2) or the default.
    fn entry_name(&self, name: Option<&'static str>, default: &'static str) -> Cow<'static, str> {
        match name {
            Some(n) if self.ec2() => Cow::Owned(capitalize(n)),
            Some(n) => Cow::Borrowed(n),
            None => Cow::Borrowed(default),
        }
    }

    /// The JSON value of the parameters under `node` read as shape `id`; `None` when nothing
    /// was sent for it. Each call descends one level of the tree, so depth ≤ `MAX_SEGMENTS`.
    fn value(
        &self,
        node: &Node,
        id: ShapeId,
        flattened: bool,
        path: &str,
    ) -> Result<Option<Value>, ApiError> {
        let shape = self.shape(id)?;
        match shape {
            Shape::Structure { members } => {
                let mut obj = Map::new();
                for m in members.iter() {
                    let name = self.member_name(m)?;
                    if let Some(child) = node.children.get(name.as_ref()) {
                        let child_path = join(path, &name);
                        if let Some(v) = self.value(child, m.shape, m.flattened, &child_path)? {
                            obj.insert(m.name.to_owned(), v);
                        }
                    }
                }
                Ok(Some(Value::Object(obj)))
            }
            Shape::List {
                member,
                member_name,
                flattened: list_flattened,
            } => {
                // EC2 always sends lists flattened: `VpcId.1`, `Filter.1.Name`.
                let (items, items_path) = if self.ec2() || flattened || *list_flattened {
                    (Some(node), Cow::Borrowed(path))
                } else {
                    let name = member_name.unwrap_or("member");
                    (node.children.get(name), Cow::Owned(join(path, name)))
                };
                let indexed = items.map(Node::indexed).unwrap_or_default();
                if indexed.is_empty() {
                    // botocore sends an empty list as `Name=`.
                    return Ok(node
                        .value
                        .filter(|v| v.is_empty())
                        .map(|_| Value::Array(Vec::new())));
                }
                let mut out = Vec::with_capacity(indexed.len());
                for (i, item) in indexed {
                    let item_path = format!("{items_path}.{i}");
                    if let Some(v) = self.value(item, *member, false, &item_path)? {
                        out.push(v);
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            Shape::Map {
                value,
                key_name,
                value_name,
                flattened: map_flattened,
                ..
            } => {
                let (entries, entries_path) = if flattened || *map_flattened {
                    (Some(node), Cow::Borrowed(path))
                } else {
                    (node.children.get("entry"), Cow::Owned(join(path, "entry")))
                };
                let key_name = self.entry_name(*key_name, "key");
                let value_name = self.entry_name(*value_name, "value");
                let mut obj = Map::new();
                for (i, entry) in entries.map(Node::indexed).unwrap_or_default() {
                    let key = entry.children.get(key_name.as_ref()).and_then(|n| n.value);
                    let val = entry.children.get(value_name.as_ref());
                    if let (Some(key), Some(val)) = (key, val) {
                        let val_path = format!("{entries_path}.{i}.{value_name}");
                        if let Some(v) = self.value(val, *value, false, &val_path)? {
                            obj.insert(key.to_owned(), v);
                        }
                    }
                }
                Ok(Some(Value::Object(obj)))
            }
            scalar => match node.value {
                Some(text) => self.scalar(scalar, text, path).map(Some),
                None => Ok(None),
            },
        }
    }

    fn scalar(&self, shape: &Shape, text: &str, path: &str) -> Result<Value, ApiError> {
        let invalid = |expected: &str| self.invalid_value(path, text, expected);
        Ok(match shape {
            Shape::Integer => Value::from(text.parse::<i32>().map_err(|_| invalid("an integer"))?),
            Shape::Long => Value::from(text.parse::<i64>().map_err(|_| invalid("an integer"))?),
            Shape::Float | Shape::Double => text
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| invalid("a number"))?,
            Shape::Boolean => {
                if text.eq_ignore_ascii_case("true") {
                    Value::Bool(true)
                } else if text.eq_ignore_ascii_case("false") {
                    Value::Bool(false)
                } else {
                    return Err(invalid("a boolean (true or false)"));
                }
            }
            Shape::Timestamp => {
                // Kept as text for `Timestamp` to parse; checked here to name the parameter.
                let v = Value::String(text.to_owned());
                Timestamp::deserialize(&v).map_err(|_| invalid("an ISO 8601 timestamp"))?;
                v
            }
            Shape::Blob => {
                aws_smithy_types::base64::decode(text).map_err(|_| invalid("base64"))?;
                Value::String(text.to_owned())
            }
            _ => Value::String(text.to_owned()),
        })
    }

    fn invalid_value(&self, path: &str, text: &str, expected: &str) -> ApiError {
        let text = quote(text);
        if self.ec2() {
            ApiError::common(
                "InvalidParameterValue",
                400,
                format!("Value ({text}) for parameter {path} is invalid. Expected {expected}."),
            )
        } else {
            ApiError::common(
                "ValidationError",
                400,
                format!(
                    "1 validation error detected: Value '{text}' at '{path}' failed to satisfy \
                     constraint: Member must be {expected}"
                ),
            )
        }
    }

    /// What AWS answers when the typed struct rejects the JSON: almost always a missing
    /// required member, reported at its path the way each service family spells it.
    fn serde_error(&self, op: &OpDef, value: &Value, err: &serde_json::Error) -> ApiError {
        let msg = err.to_string();
        let Some(field) = missing_field(&msg) else {
            let code = if self.ec2() {
                "InvalidParameterValue"
            } else {
                "ValidationError"
            };
            return ApiError::common(code, 400, format!("1 validation error detected: {msg}"));
        };
        let mut steps = Vec::new();
        let found = op
            .input
            .is_some_and(|id| self.find_missing(id, value, field, &mut steps));
        if self.ec2() {
            let path = if found {
                self.wire_path(&steps)
            } else {
                field.to_owned()
            };
            ApiError::common(
                "MissingParameter",
                400,
                format!("The request must contain the parameter {path}"),
            )
        } else {
            let path = if found {
                aws_path(&steps)
            } else {
                lower_first(field)
            };
            ApiError::common(
                "ValidationError",
                400,
                format!(
                    "1 validation error detected: Value null at '{path}' failed to satisfy \
                     constraint: Member must not be null"
                ),
            )
        }
    }

    /// The first structure in `value` that lacks member `field`, outermost first.
    fn find_missing<'v>(
        &self,
        id: ShapeId,
        value: &'v Value,
        field: &str,
        steps: &mut Vec<Step<'v>>,
    ) -> bool {
        let Ok(shape) = self.shape(id) else {
            return false;
        };
        match (shape, value) {
            (Shape::Structure { members }, Value::Object(obj)) => {
                if let Some(m) = members.iter().find(|m| m.name == field)
                    && !obj.contains_key(field)
                {
                    steps.push(Step::Member(m));
                    return true;
                }
                for m in members.iter() {
                    if let Some(v) = obj.get(m.name) {
                        steps.push(Step::Member(m));
                        if self.find_missing(m.shape, v, field, steps) {
                            return true;
                        }
                        steps.pop();
                    }
                }
                false
            }
            (Shape::List { member, .. }, Value::Array(items)) => {
                for (i, v) in items.iter().enumerate() {
                    steps.push(Step::Index(i + 1));
                    if self.find_missing(*member, v, field, steps) {
                        return true;
                    }
                    steps.pop();
                }
                false
            }
            (Shape::Map { value: vs, .. }, Value::Object(obj)) => {
                for (k, v) in obj {
                    steps.push(Step::Key(k));
                    if self.find_missing(*vs, v, field, steps) {
                        return true;
                    }
                    steps.pop();
                }
                false
            }
            _ => false,
        }
    }

    /// The path as parameter names (EC2: `Filter.1.Name`).
    fn wire_path(&self, steps: &[Step]) -> String {
        let parts: Vec<String> = steps
            .iter()
            .map(|s| match s {
                Step::Member(m) => self
                    .member_name(m)
                    .map(Cow::into_owned)
                    .unwrap_or_else(|_| m.name.to_owned()),
                Step::Index(i) => i.to_string(),
                Step::Key(k) => (*k).to_owned(),
            })
            .collect();
        parts.join(".")
    }
}

/// The path as AWS's Query services' validation messages spell it: `tags.1.member.key`.
fn aws_path(steps: &[Step]) -> String {
    let parts: Vec<String> = steps
        .iter()
        .map(|s| match s {
            Step::Member(m) => lower_first(m.name),
            Step::Index(i) => format!("{i}.member"),
            Step::Key(k) => (*k).to_owned(),
        })
        .collect();
    parts.join(".")
}

/// serde's "missing field `X`" → `X`.
fn missing_field(msg: &str) -> Option<&str> {
    let rest = msg.strip_prefix("missing field `")?;
    rest.split('`').next()
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn quote(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(MAX_QUOTED) {
        Some((end, _)) => Cow::Owned(format!("{}…", &text[..end])),
        None => Cow::Borrowed(text),
    }
}

fn shape(service: &'static ServiceDef, id: ShapeId) -> Result<&'static Shape, ApiError> {
    service
        .shapes
        .get(usize::from(id))
        .ok_or_else(|| ApiError::internal(format!("{}: no shape {id}", service.module)))
}

// ---------------------------------------------------------------------------------------------
// Encoding: the output's JSON → XML elements named and nested as the shape table says.

struct Writer {
    service: &'static ServiceDef,
}

impl Writer {
    /// The members of structure `id`, in model order, without an enclosing element.
    fn members(&self, out: &mut String, id: ShapeId, value: &Value) -> Result<(), ApiError> {
        let Shape::Structure { members } = shape(self.service, id)? else {
            return Err(ApiError::internal("output shape is not a structure"));
        };
        let obj = match value {
            Value::Object(obj) => obj,
            Value::Null => return Ok(()),
            _ => return Err(ApiError::internal("output value is not an object")),
        };
        for m in members.iter() {
            if let Some(v) = obj.get(m.name) {
                let name = self.element_name(m)?;
                self.element(out, name, m.shape, m.flattened, v)?;
            }
        }
        Ok(())
    }

    /// botocore's `_member_key_name`: a flattened list is read under its member's locationName.
    fn element_name(&self, m: &'static Member) -> Result<&'static str, ApiError> {
        if let Shape::List {
            member_name: Some(n),
            flattened,
            ..
        } = shape(self.service, m.shape)?
            && (m.flattened || *flattened)
        {
            return Ok(n);
        }
        Ok(m.location_name.unwrap_or(m.name))
    }

    fn element(
        &self,
        out: &mut String,
        name: &str,
        id: ShapeId,
        flattened: bool,
        value: &Value,
    ) -> Result<(), ApiError> {
        if value.is_null() {
            return Ok(());
        }
        match shape(self.service, id)? {
            Shape::Structure { .. } => {
                open(out, name);
                self.members(out, id, value)?;
                close(out, name);
            }
            Shape::List {
                member,
                member_name,
                flattened: list_flattened,
            } => {
                let Value::Array(items) = value else {
                    return Err(ApiError::internal(format!("{name}: expected a list")));
                };
                if flattened || *list_flattened {
                    for item in items {
                        self.element(out, name, *member, false, item)?;
                    }
                } else {
                    let item_name = member_name.unwrap_or("member");
                    open(out, name);
                    for item in items {
                        self.element(out, item_name, *member, false, item)?;
                    }
                    close(out, name);
                }
            }
            Shape::Map {
                key,
                value: value_shape,
                key_name,
                value_name,
                flattened: map_flattened,
            } => {
                let Value::Object(entries) = value else {
                    return Err(ApiError::internal(format!("{name}: expected a map")));
                };
                let flat = flattened || *map_flattened;
                let entry_name = if flat { name } else { "entry" };
                let key_name = key_name.unwrap_or("key");
                let value_name = value_name.unwrap_or("value");
                if !flat {
                    open(out, name);
                }
                for (k, v) in entries {
                    open(out, entry_name);
                    self.element(out, key_name, *key, false, &Value::String(k.clone()))?;
                    self.element(out, value_name, *value_shape, false, v)?;
                    close(out, entry_name);
                }
                if !flat {
                    close(out, name);
                }
            }
            Shape::Timestamp => {
                let text = iso8601(value)
                    .ok_or_else(|| ApiError::internal(format!("{name}: invalid timestamp")))?;
                text_element(out, name, &text);
            }
            _ => {
                let text: Cow<str> = match value {
                    Value::String(s) => Cow::Borrowed(s),
                    Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
                    Value::Number(n) => Cow::Owned(n.to_string()),
                    _ => return Err(ApiError::internal(format!("{name}: expected a scalar"))),
                };
                text_element(out, name, &text);
            }
        }
        Ok(())
    }
}

/// A timestamp as AWS writes it in XML: ISO 8601, UTC, milliseconds (`2026-11-25T12:00:00.000Z`).
fn iso8601(value: &Value) -> Option<String> {
    let millis = match value {
        Value::Number(n) => match n.as_i64() {
            Some(secs) => secs.checked_mul(1000)?,
            None => {
                let ms = (n.as_f64()? * 1000.0).round();
                // `as` saturates; reject what does not fit rather than clamp silently.
                if !(i64::MIN as f64..=i64::MAX as f64).contains(&ms) {
                    return None;
                }
                ms as i64
            }
        },
        Value::String(s) => return Some(s.clone()),
        _ => return None,
    };
    let whole = DateTime::from_secs(millis.div_euclid(1000))
        .fmt(Format::DateTime)
        .ok()?;
    let base = whole.strip_suffix('Z')?;
    Some(format!("{base}.{:03}Z", millis.rem_euclid(1000)))
}

fn open(out: &mut String, name: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
}

fn close(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn text_element(out: &mut String, name: &str, text: &str) {
    open(out, name);
    escape_into(out, text);
    close(out, name);
}

/// XML-escapes `text`. `\r` is written as a reference so parsers do not fold `\r\n` into `\n`;
/// other control characters are not allowed in XML 1.0 at all, even as references, and would
/// make the SDK's parser reject the whole response, so they become U+FFFD.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{ec2, elbv2, iam, sts};
    use serde_json::json;

    fn codec(service: &'static ServiceDef, params: &[(&str, &str)]) -> QueryCodec {
        let params = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        QueryCodec::new(service, params, "req-1".to_owned())
    }

    fn op(service: &'static ServiceDef, name: &str) -> &'static OpDef {
        service.operation(name).expect("operation in model")
    }

    fn encode<T: Serialize>(service: &'static ServiceDef, name: &str, output: &T) -> String {
        let bytes = codec(service, &[])
            .encode(op(service, name), output)
            .expect("encodes");
        String::from_utf8(bytes).expect("utf-8")
    }

    #[test]
    fn describe_load_balancers_lists_keep_numeric_order() {
        let names: Vec<String> = (1..=12).map(|i| format!("lb-{i}")).collect();
        let keys: Vec<String> = (1..=12).map(|i| format!("Names.member.{i}")).collect();
        // Sent out of order, and 10..12 sort before 2 lexically.
        let mut params: Vec<(&str, &str)> = vec![
            ("Action", "DescribeLoadBalancers"),
            ("Version", "2015-12-01"),
            ("PageSize", "5"),
            ("SomethingUnknown.member.1", "ignored"),
        ];
        for i in (0..12).rev() {
            params.push((&keys[i], &names[i]));
        }
        let c = codec(&elbv2::SERVICE, &params);
        assert_eq!(c.action(), Some("DescribeLoadBalancers"));
        let input: elbv2::DescribeLoadBalancersInput = c
            .decode(op(&elbv2::SERVICE, "DescribeLoadBalancers"))
            .expect("decodes");
        assert_eq!(input.names, Some(names));
        assert_eq!(input.page_size, Some(5));
        assert_eq!(input.load_balancer_arns, None);
    }

    #[test]
    fn create_load_balancer_with_tags() {
        let c = codec(
            &elbv2::SERVICE,
            &[
                ("Action", "CreateLoadBalancer"),
                ("Name", "web"),
                ("Type", "application"),
                ("Subnets.member.1", "subnet-a"),
                ("Subnets.member.2", "subnet-b"),
                ("Tags.member.1.Key", "env"),
                ("Tags.member.1.Value", "dev & test"),
                ("Tags.member.2.Key", "team"),
            ],
        );
        let input: elbv2::CreateLoadBalancerInput = c
            .decode(op(&elbv2::SERVICE, "CreateLoadBalancer"))
            .expect("decodes");
        assert_eq!(input.name, "web");
        assert_eq!(
            input.r#type.as_ref().map(|t| t.as_str()),
            Some("application")
        );
        assert_eq!(
            input.subnets,
            Some(vec!["subnet-a".to_owned(), "subnet-b".to_owned()])
        );
        let tags = input.tags.expect("tags");
        assert_eq!(tags.len(), 2);
        assert_eq!(tags[0].key, "env");
        assert_eq!(tags[0].value.as_deref(), Some("dev & test"));
        assert_eq!(tags[1].key, "team");
        assert_eq!(tags[1].value, None);
    }

    #[test]
    fn create_listener_with_a_map() {
        let p = "DefaultActions.member.1.AuthenticateOidcConfig";
        let keys: Vec<String> = [
            "AuthorizationEndpoint",
            "ClientId",
            "Issuer",
            "TokenEndpoint",
            "UserInfoEndpoint",
            "SessionTimeout",
            "UseExistingClientSecret",
            "AuthenticationRequestExtraParams.entry.1.key",
            "AuthenticationRequestExtraParams.entry.1.value",
            "AuthenticationRequestExtraParams.entry.2.key",
            "AuthenticationRequestExtraParams.entry.2.value",
        ]
        .iter()
        .map(|k| format!("{p}.{k}"))
        .collect();
        let values = [
            "https://a",
            "client",
            "https://i",
            "https://t",
            "https://u",
            "3600",
            "true",
            "prompt",
            "login",
            "display",
            "page",
        ];
        let mut params: Vec<(&str, &str)> = vec![
            ("LoadBalancerArn", "arn:lb"),
            ("Port", "443"),
            ("DefaultActions.member.1.Type", "authenticate-oidc"),
            ("DefaultActions.member.1.Order", "1"),
        ];
        params.extend(keys.iter().map(String::as_str).zip(values));
        let input: elbv2::CreateListenerInput = codec(&elbv2::SERVICE, &params)
            .decode(op(&elbv2::SERVICE, "CreateListener"))
            .expect("decodes");
        assert_eq!(input.port, Some(443));
        let action = &input.default_actions[0];
        assert_eq!(action.order, Some(1));
        let oidc = action.authenticate_oidc_config.as_ref().expect("oidc");
        assert_eq!(oidc.session_timeout, Some(3600));
        assert_eq!(oidc.use_existing_client_secret, Some(true));
        let extra = oidc
            .authentication_request_extra_params
            .as_ref()
            .expect("map");
        assert_eq!(extra.get("prompt").map(String::as_str), Some("login"));
        assert_eq!(extra.get("display").map(String::as_str), Some("page"));
    }

    #[test]
    fn ec2_describe_vpcs_filters_are_flattened() {
        let c = codec(
            &ec2::SERVICE,
            &[
                ("Action", "DescribeVpcs"),
                ("Filter.1.Name", "tag:env"),
                ("Filter.1.Value.1", "dev"),
                ("Filter.1.Value.2", "prod"),
                ("Filter.2.Name", "is-default"),
                ("Filter.2.Value.1", "true"),
                ("VpcId.1", "vpc-1"),
                ("VpcId.2", "vpc-2"),
                ("MaxResults", "10"),
                ("DryRun", "false"),
            ],
        );
        let input: ec2::DescribeVpcsRequest = c
            .decode(op(&ec2::SERVICE, "DescribeVpcs"))
            .expect("decodes");
        assert_eq!(input.dry_run, Some(false));
        assert_eq!(input.max_results, Some(10));
        assert_eq!(
            input.vpc_ids,
            Some(vec!["vpc-1".to_owned(), "vpc-2".to_owned()])
        );
        let filters = input.filters.expect("filters");
        assert_eq!(filters[0].name.as_deref(), Some("tag:env"));
        assert_eq!(
            filters[0].values,
            Some(vec!["dev".to_owned(), "prod".to_owned()])
        );
        assert_eq!(filters[1].name.as_deref(), Some("is-default"));
    }

    #[test]
    fn iam_tag_role_and_an_empty_list() {
        let input: iam::TagRoleRequest = codec(
            &iam::SERVICE,
            &[
                ("RoleName", "app"),
                ("Tags.member.1.Key", "a"),
                ("Tags.member.1.Value", "1"),
            ],
        )
        .decode(op(&iam::SERVICE, "TagRole"))
        .expect("decodes");
        assert_eq!(input.role_name, "app");
        assert_eq!(input.tags.len(), 1);
        assert_eq!(
            (input.tags[0].key.as_str(), input.tags[0].value.as_str()),
            ("a", "1")
        );

        // botocore sends `TagKeys=[]` as `TagKeys=`.
        let input: iam::UntagRoleRequest =
            codec(&iam::SERVICE, &[("RoleName", "app"), ("TagKeys", "")])
                .decode(op(&iam::SERVICE, "UntagRole"))
                .expect("decodes");
        assert!(input.tag_keys.is_empty());
    }

    #[test]
    fn a_bad_integer_is_a_validation_error() {
        let err = codec(&elbv2::SERVICE, &[("PageSize", "abc")])
            .decode::<elbv2::DescribeLoadBalancersInput>(op(
                &elbv2::SERVICE,
                "DescribeLoadBalancers",
            ))
            .expect_err("rejected");
        assert_eq!((err.code.as_ref(), err.status), ("ValidationError", 400));
        assert!(err.sender_fault);
        assert!(
            err.message.contains("'abc' at 'PageSize'"),
            "{}",
            err.message
        );

        let err = codec(&elbv2::SERVICE, &[("PageSize", "99999999999")])
            .decode::<elbv2::DescribeLoadBalancersInput>(op(
                &elbv2::SERVICE,
                "DescribeLoadBalancers",
            ))
            .expect_err("out of i32 range");
        assert_eq!(err.code, "ValidationError");

        let err = codec(&ec2::SERVICE, &[("MaxResults", "abc"), ("DryRun", "yes")])
            .decode::<ec2::DescribeVpcsRequest>(op(&ec2::SERVICE, "DescribeVpcs"))
            .expect_err("rejected");
        assert_eq!(
            (err.code.as_ref(), err.status),
            ("InvalidParameterValue", 400)
        );
    }

    #[test]
    fn a_missing_required_member_is_named_like_aws() {
        let err = codec(&iam::SERVICE, &[("Action", "GetRole")])
            .decode::<iam::GetRoleRequest>(op(&iam::SERVICE, "GetRole"))
            .expect_err("rejected");
        assert_eq!((err.code.as_ref(), err.status), ("ValidationError", 400));
        assert_eq!(
            err.message,
            "1 validation error detected: Value null at 'roleName' failed to satisfy \
             constraint: Member must not be null"
        );

        let err = codec(
            &iam::SERVICE,
            &[("RoleName", "r"), ("Tags.member.1.Value", "v")],
        )
        .decode::<iam::TagRoleRequest>(op(&iam::SERVICE, "TagRole"))
        .expect_err("rejected");
        assert!(
            err.message.contains("'tags.1.member.key'"),
            "{}",
            err.message
        );

        let err = codec(&ec2::SERVICE, &[])
            .decode::<ec2::DeleteVpcRequest>(op(&ec2::SERVICE, "DeleteVpc"))
            .expect_err("rejected");
        assert_eq!(err.code, "MissingParameter");
        assert!(err.message.ends_with("VpcId"), "{}", err.message);
    }

    #[test]
    fn odd_parameters_never_panic() {
        let long = "a.".repeat(10_000);
        let params = [
            ("Names", "x"),
            ("Names.member", "x"),
            ("Names.member.", "x"),
            ("Names.member.99999999999999999999", "x"),
            ("Names.member.+1", "x"),
            ("Names.member.1.Deeper", "x"),
            ("LoadBalancerArns.member.0", "arn"),
            ("..", "x"),
            ("", ""),
            (long.as_str(), "x"),
        ];
        let input: elbv2::DescribeLoadBalancersInput = codec(&elbv2::SERVICE, &params)
            .decode(op(&elbv2::SERVICE, "DescribeLoadBalancers"))
            .expect("decodes");
        assert_eq!(input.names, Some(vec![]));
        assert_eq!(input.load_balancer_arns, Some(vec!["arn".to_owned()]));
    }

    #[test]
    fn encodes_get_caller_identity() {
        let out = sts::GetCallerIdentityResponse {
            account: Some("000000000000".to_owned()),
            arn: Some("arn:aws:iam::000000000000:root".to_owned()),
            user_id: Some("AKIA<&>".to_owned()),
        };
        assert_eq!(
            encode(&sts::SERVICE, "GetCallerIdentity", &out),
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
             <GetCallerIdentityResult><Account>000000000000</Account>\
             <Arn>arn:aws:iam::000000000000:root</Arn><UserId>AKIA&lt;&amp;&gt;</UserId>\
             </GetCallerIdentityResult>\
             <ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>\
             </GetCallerIdentityResponse>"
        );
    }

    #[test]
    fn encodes_load_balancers_with_a_timestamp() {
        let lb: elbv2::LoadBalancer = serde_json::from_value(json!({
            "LoadBalancerName": "web",
            "State": {"Code": "active"},
            "AvailabilityZones": [{"ZoneName": "us-east-1a", "SubnetId": "subnet-a"}],
            "SecurityGroups": [],
        }))
        .expect("typed");
        let out = elbv2::DescribeLoadBalancersOutput {
            load_balancers: Some(vec![elbv2::LoadBalancer {
                created_time: Some(Timestamp(DateTime::from_millis(1_795_608_000_123))),
                ..lb
            }]),
            next_marker: None,
        };
        let xml = encode(&elbv2::SERVICE, "DescribeLoadBalancers", &out);
        assert!(
            xml.contains(
                "<DescribeLoadBalancersResult><LoadBalancers><member><AvailabilityZones>\
                 <member><SubnetId>subnet-a</SubnetId><ZoneName>us-east-1a</ZoneName></member>\
                 </AvailabilityZones><CreatedTime>2026-11-25T12:00:00.123Z</CreatedTime>"
            ),
            "{xml}"
        );
        assert!(xml.contains("<SecurityGroups></SecurityGroups>"), "{xml}");
        assert!(xml.contains("<State><Code>active</Code></State>"), "{xml}");
        assert!(!xml.contains("NextMarker"), "{xml}");
    }

    #[test]
    fn encodes_iam_roles() {
        let out: iam::ListRolesResponse = serde_json::from_value(json!({
            "IsTruncated": false,
            "Roles": [{
                "Arn": "arn:aws:iam::000000000000:role/app",
                "CreateDate": 1795608000,
                "Path": "/",
                "RoleId": "AROA1",
                "RoleName": "app",
                "AssumeRolePolicyDocument": "{\"Version\":\"2012-10-17\"}",
                "Tags": [{"Key": "k", "Value": "v"}],
            }],
        }))
        .expect("typed");
        let xml = encode(&iam::SERVICE, "ListRoles", &out);
        assert!(xml.contains("<IsTruncated>false</IsTruncated>"), "{xml}");
        assert!(
            xml.contains("<CreateDate>2026-11-25T12:00:00.000Z</CreateDate>"),
            "{xml}"
        );
        assert!(
            xml.contains("{&quot;Version&quot;:&quot;2012-10-17&quot;}"),
            "{xml}"
        );
        assert!(
            xml.contains("<Tags><member><Key>k</Key><Value>v</Value></member></Tags>"),
            "{xml}"
        );
    }

    #[test]
    fn encodes_ec2_vpcs_with_item_lists() {
        let out: ec2::DescribeVpcsResult = serde_json::from_value(json!({
            "Vpcs": [{
                "VpcId": "vpc-1",
                "CidrBlock": "10.0.0.0/16",
                "IsDefault": true,
                "State": "available",
                "Tags": [{"Key": "Name", "Value": "main"}],
            }],
        }))
        .expect("typed");
        assert_eq!(
            encode(&ec2::SERVICE, "DescribeVpcs", &out),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <DescribeVpcsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15\">\
             <requestId>req-1</requestId><vpcSet><item><cidrBlock>10.0.0.0/16</cidrBlock>\
             <isDefault>true</isDefault><state>available</state>\
             <tagSet><item><key>Name</key><value>main</value></item></tagSet>\
             <vpcId>vpc-1</vpcId></item></vpcSet></DescribeVpcsResponse>"
        );

        let out: ec2::DescribeNetworkInterfacesResult = serde_json::from_value(json!({
            "NetworkInterfaces": [{"Attachment": {"AttachTime": 0, "DeviceIndex": 1}}],
        }))
        .expect("typed");
        let xml = encode(&ec2::SERVICE, "DescribeNetworkInterfaces", &out);
        assert!(
            xml.contains(
                "<attachment><attachTime>1970-01-01T00:00:00.000Z</attachTime>\
                 <deviceIndex>1</deviceIndex></attachment>"
            ),
            "{xml}"
        );
    }

    #[test]
    fn encodes_operations_without_output() {
        let empty = crate::aws::Empty {};
        assert_eq!(
            encode(&iam::SERVICE, "AttachRolePolicy", &empty),
            "<AttachRolePolicyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
             <ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>\
             </AttachRolePolicyResponse>"
        );
        assert!(encode(&ec2::SERVICE, "CreateTags", &empty).ends_with(
            "<CreateTagsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15\">\
                 <requestId>req-1</requestId><return>true</return></CreateTagsResponse>"
        ));
        // An output shape without members still gets its result element.
        assert!(
            encode(&elbv2::SERVICE, "AddTags", &empty)
                .contains("<AddTagsResult></AddTagsResult><ResponseMetadata>")
        );
    }

    #[test]
    fn scalars_by_shape() {
        let dec = Decoder {
            service: &iam::SERVICE,
        };
        // botocore sends timestamps as ISO 8601, with microseconds when there are any.
        for ok in [
            "2026-11-25T12:00:05.123000Z",
            "2026-11-25T12:00:05Z",
            "1795608005",
        ] {
            assert_eq!(
                dec.scalar(&Shape::Timestamp, ok, "T").expect(ok),
                Value::String(ok.to_owned())
            );
        }
        for (shape, bad) in [
            (Shape::Timestamp, "yesterday"),
            (Shape::Blob, "not base64!"),
            (Shape::Double, "NaN"),
            (Shape::Boolean, "1"),
            (Shape::Long, ""),
        ] {
            let err = dec.scalar(&shape, bad, "P").expect_err(bad);
            assert_eq!(err.code, "ValidationError", "{bad}");
        }
        assert_eq!(
            dec.scalar(&Shape::Double, "1.5", "P").expect("number"),
            json!(1.5)
        );
        assert_eq!(
            dec.scalar(&Shape::Boolean, "TRUE", "P").expect("bool"),
            json!(true)
        );
    }

    #[test]
    fn timestamps_and_escaping() {
        assert_eq!(
            iso8601(&json!(1795608000)).as_deref(),
            Some("2026-11-25T12:00:00.000Z")
        );
        assert_eq!(
            iso8601(&json!(1795608000.5)).as_deref(),
            Some("2026-11-25T12:00:00.500Z")
        );
        assert_eq!(
            iso8601(&json!(-0.001)).as_deref(),
            Some("1969-12-31T23:59:59.999Z")
        );
        assert_eq!(iso8601(&json!(1e300)), None);
        let mut s = String::new();
        escape_into(&mut s, "a&b<c>d\"e'f\r\n\u{1}g");
        assert_eq!(s, "a&amp;b&lt;c&gt;d&quot;e&apos;f&#xD;\n\u{FFFD}g");
    }

    #[test]
    fn error_envelopes() {
        let err = crate::api_err!(iam::NoSuchEntityException, "Role x cannot be found.");
        let body = String::from_utf8(error_body(&iam::SERVICE, &err, "req-9")).expect("utf-8");
        assert_eq!(
            body,
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error>\
             <Type>Sender</Type><Code>NoSuchEntity</Code>\
             <Message>Role x cannot be found.</Message></Error>\
             <RequestId>req-9</RequestId></ErrorResponse>"
        );
        let err = ApiError::common(
            "InvalidVpcID.NotFound",
            400,
            "The vpc ID 'v' does not exist",
        );
        let body = String::from_utf8(error_body(&ec2::SERVICE, &err, "req-9")).expect("utf-8");
        assert_eq!(
            body,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>\
             <Code>InvalidVpcID.NotFound</Code><Message>The vpc ID &apos;v&apos; does not \
             exist</Message></Error></Errors><RequestID>req-9</RequestID></Response>"
        );
        let err = ApiError::internal("boom");
        let body = String::from_utf8(error_body(&sts::SERVICE, &err, "r")).expect("utf-8");
        assert!(body.contains("<Type>Receiver</Type><Code>InternalFailure</Code>"));
    }
}
